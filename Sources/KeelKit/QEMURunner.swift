import Foundation

/// Runs QEMU, streams its console to a sink as it arrives, and turns what happened into one
/// outcome: the guest powered off (QEMU's status), Keel panicked, the run timed out, or QEMU
/// could not start.
///
/// Foundation learns that a child exited through a descriptor the child inherits, so a process
/// QEMU left behind would delay that; QEMU starts none.
public struct QEMURunner {
    public enum Outcome: Equatable {
        case exited(Int32)
        case hypervisorPanic
        case timedOut(seconds: Double)
        /// QEMU died of signal N, or caught it and quit ("terminating on signal N"): not a
        /// clean power-off.
        case killed(signal: Int32)
    }

    /// What marks a hypervisor panic on the console.
    public static let panicMarker = "[keel] PANIC"

    public var command: QEMUCommand
    public var timeout: Double
    /// Receives console output as it arrives (by default, this process's standard output).
    public var output: @Sendable (Data) -> Void
    /// Called once QEMU listens on this TCP port of 127.0.0.1 (its gdb stub), not before: a
    /// QEMU that cannot bind it exits instead, and says why on the console.
    public var whenListening: (port: Int, action: @Sendable () -> Void)?

    public init(command: QEMUCommand, timeout: Double, output: @escaping @Sendable (Data) -> Void = { FileHandle.standardOutput.write($0) }) {
        self.command = command
        self.timeout = timeout
        self.output = output
    }

    public func run() throws -> Outcome {
        let process = Process()
        process.executableURL = try Self.resolve(command.executable)
        process.arguments = command.arguments
        process.environment = ProcessInfo.processInfo.environment.merging(command.environment) { _, new in new }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        // A person at a terminal types to the guests (Keel's console input); anything else
        // (CI, pipes, tests) gives QEMU no input.
        process.standardInput = isatty(STDIN_FILENO) != 0 ? FileHandle.standardInput : FileHandle.nullDevice

        let state = RunState()
        let exit = ExitLatch()
        process.terminationHandler = { _ in exit.open() }
        let sink = output
        let endOfOutput = DispatchSemaphore(value: 0)
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                handle.readabilityHandler = nil
                endOfOutput.signal()
                return
            }
            sink(data)
            // Let the panic's register dump reach the console before QEMU goes.
            if state.scan(data) {
                DispatchQueue.global().asyncAfter(deadline: .now() + 1) { Self.stop(process, exit: exit) }
            }
        }

        do {
            try process.run()
        } catch {
            throw KeelError("cannot start \(command.executable): \(InputFile.reason(of: error))", status: .failure)
        }
        // A signal to keel, or a closed output, ends QEMU with it.
        let pid = process.processIdentifier
        // SIGTERM first: QEMU then puts a terminal it set raw (-serial stdio) back as it was.
        RunCleanup.shared.setChild(pid, stop: {
            kill(pid, SIGTERM)
            if !exit.wait(seconds: 1) {
                kill(pid, SIGKILL)
                _ = exit.wait(seconds: 5)
            }
        })
        defer { RunCleanup.shared.setChild(pid, stop: nil) }
        if let (port, action) = whenListening {
            DispatchQueue.global().async {
                while !exit.isOpen {
                    if GDBAttach.isListening(pid: pid, port: port) { return action() }
                    usleep(20_000)
                }
            }
        }
        let timedOut = !exit.wait(seconds: timeout)
        RunCleanup.shared.holdIfExiting()
        if timedOut { Self.stop(process, exit: exit) }
        // What QEMU wrote last is still in the pipe, read by a dispatch thread that a loaded
        // machine may run late (2 s cut off a test's last lines on a busy 2-core host); a child
        // QEMU left behind may hold the pipe open, so the wait is bounded all the same.
        _ = endOfOutput.wait(timeout: .now() + 10)
        if state.sawPanic { return .hypervisorPanic }
        if timedOut { return .timedOut(seconds: timeout) }
        if process.terminationReason == .uncaughtSignal { return .killed(signal: process.terminationStatus) }
        if let signal = state.quitOnSignal { return .killed(signal: signal) }
        return .exited(process.terminationStatus)
    }

    /// SIGTERM, and SIGKILL when that has not ended the process within a second (SIGTERM has
    /// been seen not to reach QEMU when the runner itself runs under a test harness).
    /// Returns once the process is gone.
    static func stop(_ process: Process, exit: ExitLatch) {
        guard !exit.isOpen else { return }
        process.terminate()
        if !exit.wait(seconds: 1) {
            kill(process.processIdentifier, SIGKILL)
            _ = exit.wait(seconds: .infinity)
        }
    }

    /// `name` on PATH, or as given when it contains a slash.
    static func resolve(_ name: String) throws -> URL {
        if let url = findExecutable(name) { return url }
        throw KeelError("\(name) is not installed (run `make deps`, or apt-get install qemu-system-arm)")
    }
}

/// Console scanning shared between the reader thread and the caller.
private final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    private var tail = Data()
    private var panicked = false
    /// The end of the output, where QEMU's last words are.
    private var last = Data()

    var sawPanic: Bool { lock.withLock { panicked } }

    /// QEMU catches SIGINT, SIGTERM and SIGHUP and exits 0 after saying
    /// "qemu-system-aarch64: terminating on signal 15 from pid 1234 (kill)": the signal's number.
    var quitOnSignal: Int32? {
        lock.withLock {
            let text = String(decoding: last, as: UTF8.self)
            guard let range = text.range(of: ": terminating on signal ", options: .backwards) else { return nil }
            return Int32(text[range.upperBound...].prefix { $0.isNumber })
        }
    }

    /// Feed console bytes; true the first time a panic marker appears (the marker may straddle
    /// two reads).
    func scan(_ data: Data) -> Bool {
        lock.withLock {
            last.append(data)
            if last.count > 512 { last = last.suffix(512) }
            guard !panicked else { return false }
            tail.append(data)
            let marker = Data(QEMURunner.panicMarker.utf8)
            if tail.range(of: marker) != nil {
                panicked = true
                return true
            }
            if tail.count > marker.count { tail = tail.suffix(marker.count) }
            return false
        }
    }
}

/// Opens once, when the process has exited; any number of threads may wait for it.
final class ExitLatch: @unchecked Sendable {
    private let condition = NSCondition()
    private var opened = false

    var isOpen: Bool { condition.withLock { opened } }

    func open() {
        condition.withLock {
            opened = true
            condition.broadcast()
        }
    }

    /// True when the latch opened within `seconds`.
    func wait(seconds: Double) -> Bool {
        // No `wait(until: .distantFuture)`: corelibs Foundation traps on it.
        let deadline = seconds.isFinite ? Date(timeIntervalSinceNow: seconds) : nil
        return condition.withLock {
            while !opened {
                if let deadline {
                    if !condition.wait(until: deadline) { return opened }
                } else {
                    condition.wait()
                }
            }
            return true
        }
    }
}

/// `name` on PATH, or as given when it contains a slash; nil when there is no such program.
func findExecutable(_ name: String) -> URL? {
    if name.contains("/") { return URL(fileURLWithPath: name) }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
    }
    return nil
}
