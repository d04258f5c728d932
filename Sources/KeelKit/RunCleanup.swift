import Foundation

/// What `keel run` must undo however it ends: the QEMU it started and the temporary files it
/// wrote. On SIGINT, SIGTERM or SIGHUP it stops QEMU, removes the files and exits 128 + N; a
/// closed standard output (`keel run | head`) is EPIPE on write (SIGPIPE is ignored), handled
/// the same way with 128 + SIGPIPE = 141.
public final class RunCleanup: @unchecked Sendable {
    public static let shared = RunCleanup()

    private let lock = NSLock()
    private var paths: Set<String> = []
    /// How to stop each running child (`keel bench linux` runs several QEMUs at once).
    private var children: [pid_t: () -> Void] = [:]
    private var sources: [DispatchSourceSignal] = []
    private var exiting = false

    public static let handledSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Catch the signals that end a run (once per process); ignore SIGPIPE so a closed output
    /// shows as EPIPE where the write can clean up.
    public func install() {
        lock.withLock {
            guard sources.isEmpty else { return }
            // A parent may start keel with signals blocked (a thread of a test runner or CI
            // tool): QEMU would inherit that mask and never see SIGTERM. Start it with none.
            var none = sigset_t()
            sigemptyset(&none)
            sigprocmask(SIG_SETMASK, &none, nil)
            signal(SIGPIPE, SIG_IGN)
            for number in Self.handledSignals {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { [unowned self] in
                    self.exit(status: ExitStatus.signalBase + number, saying: "keel: stopped by signal \(number); QEMU stopped and temporary files removed")
                }
                source.resume()
                sources.append(source)
            }
        }
    }

    /// The temporary files registered now (sorted).
    public var temporaryPaths: [String] { lock.withLock { paths.sorted() } }

    public func register(path: String) { lock.withLock { _ = paths.insert(path) } }
    public func unregister(path: String) { lock.withLock { _ = paths.remove(path) } }

    /// `stop` ends child `pid` and returns once it is gone; nil once it has exited.
    public func setChild(_ pid: pid_t, stop: (() -> Void)?) { lock.withLock { children[pid] = stop } }

    /// Stop the child, remove the files, exit with `status`. The first caller wins; any other
    /// thread that gets here waits for the exit.
    public func exit(status: Int32, saying message: String? = nil) -> Never {
        let (stops, files, first) = lock.withLock { () -> ([() -> Void], Set<String>, Bool) in
            defer { exiting = true; children = [:]; paths = [] }
            return (Array(children.values), paths, !exiting)
        }
        guard first else { parkForever() }
        for stop in stops { stop() }
        for path in files { unlink(path) }
        if let message { Self.writeToStandardError(message + "\n") }
        Foundation.exit(status)
    }

    /// Called where a run would go on to report how QEMU ended: when QEMU ended because keel is
    /// exiting, nothing more is said (this thread waits for the exit).
    public func holdIfExiting() {
        if lock.withLock({ exiting }) { parkForever() }
    }

    private func parkForever() -> Never {
        while true { sleep(60) }
    }

    /// Writes all of `data` to standard output; a reader that went away ends the run (141).
    public func writeToStandardOutput(_ data: Data) {
        if Self.write(data, to: STDOUT_FILENO) == EPIPE {
            exit(status: ExitStatus.signalBase + SIGPIPE, saying: "keel: standard output was closed; QEMU stopped and temporary files removed")
        }
    }

    /// A message on standard error; a closed or failing standard error is not worth a crash
    /// (FileHandle traps on EPIPE).
    public static func writeToStandardError(_ text: String) {
        _ = write(Data(text.utf8), to: STDERR_FILENO)
    }

    /// Writes all of `data` to `descriptor`; the errno that stopped it, or 0.
    static func write(_ data: Data, to descriptor: Int32) -> Int32 {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Int32 in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return 0
        }
    }
}
