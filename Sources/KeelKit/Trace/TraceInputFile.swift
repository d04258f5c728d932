import Foundation
import KeelCore

/// Where `keel trace` reads a trace from: a file read whole, or a stream (`-` for standard
/// input, a FIFO, a serial device) read as its bytes arrive, so a live capture is decoded
/// while it runs. Missing, directory and empty inputs are refused up front with status 66.
public final class TraceInputFile {
    public let path: String
    /// What the messages call the input (`'capture.trace'`, `standard input`).
    public let name: String
    /// A regular file: it can be read twice (once for time 0, once to print).
    public let isRegularFile: Bool
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    /// Bytes read so far.
    public private(set) var bytesRead = 0

    /// Bytes asked for per read: a frame is 100 bytes, a read returns what a pipe holds.
    static let chunkSize = 1 << 16

    public init(path: String) throws(TraceFailure) {
        self.path = path
        if path == "-" {
            (descriptor, ownsDescriptor, name) = (STDIN_FILENO, false, "standard input")
        } else {
            name = "'\(path)'"
            // Missing, a directory, empty: said as for every input file keel reads.
            if let problem = InputFile.problem(path, what: "trace file") { throw TraceFailure(problem) }
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { throw .noInput("cannot read the trace \(name): \(String(cString: strerror(errno)))") }
            (descriptor, ownsDescriptor) = (fd, true)
        }
        var info = stat()
        isRegularFile = fstat(descriptor, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }

    deinit { if ownsDescriptor { close(descriptor) } }

    /// Calls `body` with each chunk as it is read, until the end of the input. A memory trace
    /// dump (`TraceMemoryDump`) is read whole and handed on as the stream it holds. The input's
    /// first bytes are held until there are enough to tell a dump from a stream (a pipe or a
    /// serial device may hand them over a few at a time), or until the input ends.
    public func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var start = Data()
        var decided = false
        var dump: Data?
        try forEachRawChunk { chunk in
            if decided {
                if dump != nil { dump!.append(contentsOf: chunk) } else { try body(chunk) }
                return
            }
            start.append(contentsOf: chunk)
            guard start.count >= TraceHeader.size else { return }
            decided = true
            if start.withUnsafeBytes({ TraceMemoryDump.isDump($0) }) { dump = start } else { try start.withUnsafeBytes { try body($0) } }
        }
        if !decided && !start.isEmpty { try start.withUnsafeBytes { try body($0) } }
        if let dump { try TraceMemoryDump.stream(dump).withUnsafeBytes { try body($0) } }
    }

    private func forEachRawChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var buffer = [UInt8](repeating: 0, count: Self.chunkSize)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw TraceFailure.ioError("cannot read the trace \(name): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return }
            bytesRead += count
            try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }

    /// Reads a regular file again from its start (for the second pass over it).
    public func rewind() throws(TraceFailure) {
        guard isRegularFile, lseek(descriptor, 0, SEEK_SET) == 0 else {
            throw .ioError("cannot read the trace \(name) again: \(String(cString: strerror(errno)))")
        }
        bytesRead = 0
    }
}
