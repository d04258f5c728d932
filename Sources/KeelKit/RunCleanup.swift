import Foundation

/// What `keel run` must undo however it ends: the QEMU it started and the temporary files it
/// wrote. On SIGINT, SIGTERM or SIGHUP it stops QEMU, removes the files and exits 128 + N; a
/// closed standard output (`keel run | head`) is EPIPE on write (SIGPIPE is ignored), handled
/// the same way with 128 + SIGPIPE = 141.
public final class RunCleanup: @unchecked Sendable {
    public static let shared = RunCleanup()

    private let lock = NSLock()
    private var paths: Set<String> = []
    private var stopChild: (() -> Void)?
    private var sources: [DispatchSourceSignal] = []
    private var exiting = false

    public static let handledSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Catch the signals that end a run (once per process); ignore SIGPIPE so a closed output
    /// shows as EPIPE where the write can clean up.
    public func install() {
        lock.withLock {
            guard sources.isEmpty else { return }
            signal(SIGPIPE, SIG_IGN)
            for number in Self.handledSignals {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { [unowned self] in self.exit(status: ExitStatus.signalBase + number) }
                source.resume()
                sources.append(source)
            }
        }
    }

    public func register(path: String) { lock.withLock { _ = paths.insert(path) } }
    public func unregister(path: String) { lock.withLock { _ = paths.remove(path) } }

    /// `stop` ends the running child and returns once it is gone; nil once it has exited.
    public func setChild(stop: (() -> Void)?) { lock.withLock { stopChild = stop } }

    /// Stop the child, remove the files, exit with `status`. The first caller wins; any other
    /// thread that gets here waits for the exit.
    public func exit(status: Int32) -> Never {
        let (stop, files, first) = lock.withLock { () -> ((() -> Void)?, Set<String>, Bool) in
            defer { exiting = true; stopChild = nil; paths = [] }
            return (stopChild, paths, !exiting)
        }
        guard first else { while true { sleep(1) } }
        stop?()
        for path in files { unlink(path) }
        Foundation.exit(status)
    }

    /// Writes all of `data` to standard output; a reader that went away ends the run (141).
    public func writeToStandardOutput(_ data: Data) {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(STDOUT_FILENO, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    if errno == EPIPE { self.exit(status: ExitStatus.signalBase + SIGPIPE) }
                    return
                }
                offset += written
            }
        }
    }
}
