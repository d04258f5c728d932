import Foundation

/// Splits a live console into what a person reads (text, passed on) and the trace (frames,
/// written to a file): `keel run --trace FILE`.
public final class TraceCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var demux = FrameDemux()
    private let file: FileHandle
    private let text: @Sendable (Data) -> Void
    public private(set) var frames = 0

    public init(path: String, text: @escaping @Sendable (Data) -> Void) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw KeelError("cannot write the trace file '\(path)'")
        }
        file = handle
        self.text = text
    }

    public func feed(_ data: Data) {
        lock.withLock {
            for piece in demux.feed(data) {
                switch piece {
                case .text(let bytes): text(bytes)
                case .frame(let type, let payload):
                    file.write(FrameDemux.encode(type: type, payload: payload))
                    frames += 1
                case .unknownFrame: break
                }
            }
        }
    }

    /// Closes the file; returns how many frames it holds and how many were damaged on the way.
    public func finish() -> (frames: Int, damaged: Int) {
        lock.withLock {
            demux.finish()
            try? file.close()
            return (frames, demux.corruptFrames)
        }
    }
}
