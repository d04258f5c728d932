import Foundation

/// Buffered writes to a file descriptor (standard output by default) that report a failed
/// write, which `print` does not: `keel trace decode > /dev/full` exits 74 with a message
/// instead of 0 with nothing written. `flush` after each chunk of a live input shows its
/// records as they arrive.
public final class TraceOutput {
    private let descriptor: Int32
    private let name: String
    private var buffer: [UInt8] = []
    /// Bytes written through to the descriptor so far.
    public private(set) var bytesWritten = 0

    static let flushThreshold = 1 << 16

    public init(descriptor: Int32 = STDOUT_FILENO, name: String = "standard output") {
        self.descriptor = descriptor
        self.name = name
        buffer.reserveCapacity(Self.flushThreshold + 4096)
    }

    /// Appends a line (a newline is added).
    public func line(_ text: String) throws(TraceFailure) {
        var text = text
        text.withUTF8 { buffer.append(contentsOf: $0) }
        buffer.append(0x0A)
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    /// Appends a line that `body` writes straight into the buffer (a newline is added).
    public func line(_ body: (inout [UInt8]) -> Void) throws(TraceFailure) {
        body(&buffer)
        buffer.append(0x0A)
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    /// Appends text as it is (no newline).
    public func text(_ text: String) throws(TraceFailure) {
        var text = text
        text.withUTF8 { buffer.append(contentsOf: $0) }
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    /// Appends bytes as they are.
    public func bytes(_ data: Data) throws(TraceFailure) {
        buffer.append(contentsOf: data)
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    public func flush() throws(TraceFailure) {
        var written = 0
        defer { buffer.removeAll(keepingCapacity: true) }
        while written < buffer.count {
            let count = buffer.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .ioError("cannot write \(name): \(String(cString: strerror(errno)))")
            }
            written += count
            bytesWritten += count
        }
    }
}
