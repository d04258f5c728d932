import Foundation

/// Splits a live console into what a person reads (text, passed on) and the trace (frames,
/// written to a file): `keel run --trace FILE`.
///
/// The file is opened as it is and written through: a symlink, a FIFO (a live `keel trace
/// decode FIFO` reading it) or a device stays what it is; it is never replaced by a new
/// regular file. A failed write (a full disk) stops the trace, not the run: `writeError`
/// says why.
public final class TraceCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var demux = FrameDemux()
    private let descriptor: Int32
    private let path: String
    private let text: @Sendable (Data) -> Void
    private var closed = false
    public private(set) var frames = 0
    /// Why the trace file stopped taking frames, if it did.
    public private(set) var writeError: String?

    public init(path: String, text: @escaping @Sendable (Data) -> Void) throws {
        var info = stat()
        if stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR {
            throw KeelError("cannot write the trace file '\(path)': it is a directory")
        }
        // A FIFO's open waits for its reader: start `keel trace decode FIFO` first.
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw KeelError("cannot write the trace file '\(path)': \(String(cString: strerror(errno)))") }
        descriptor = fd
        self.path = path
        self.text = text
    }

    deinit { if !closed { close(descriptor) } }

    public func feed(_ data: Data) {
        lock.withLock {
            for piece in demux.feed(data) {
                switch piece {
                case .text(let bytes): text(bytes)
                case .frame(let type, let payload):
                    write(FrameDemux.encode(type: type, payload: payload))
                case .unknownFrame: break
                }
            }
        }
    }

    /// Writes one frame whole, or records why it could not (and writes nothing more).
    private func write(_ frame: Data) {
        guard writeError == nil, !closed else { return }
        frame.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let count = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    writeError = "cannot write the trace file '\(path)': \(String(cString: strerror(errno)))"
                    return
                }
                offset += count
            }
        }
        if writeError == nil { frames += 1 }
    }

    /// Closes the file; returns how many frames it holds and how many were damaged on the way.
    public func finish() -> (frames: Int, damaged: Int) {
        lock.withLock {
            demux.finish()
            if !closed {
                close(descriptor)
                closed = true
            }
            return (frames, demux.corruptFrames)
        }
    }
}
