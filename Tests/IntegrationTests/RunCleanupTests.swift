import Foundation
import Testing

/// However `keel run` ends, no QEMU of its own survives it and its temporary files are gone; a
/// QEMU that dies of a signal is a failure (75), not a clean power-off.
@Suite("keel run: signals, a closed output and a killed QEMU")
struct RunCleanupTests {
    /// `keel run` in the background with TMPDIR an empty folder of its own, so that its
    /// temporary files, and the QEMU whose command line names them, can be found.
    final class BackgroundRun: @unchecked Sendable {
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("keel-cleanup-\(UUID().uuidString)")
        let process = Process()
        let output = Pipe()
        private let lock = NSLock()
        private var text = ""

        init(_ arguments: [String], closeOutputAtOnce: Bool = false) throws {
            try #require(FileManager.default.isExecutableFile(atPath: Repo.keel), "build/bin/keel is missing: run `make`")
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
            process.executableURL = URL(fileURLWithPath: Repo.keel)
            process.arguments = arguments
            process.currentDirectoryURL = Repo.root
            process.environment = ProcessInfo.processInfo.environment.merging(["TMPDIR": temporary.path]) { _, new in new }
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = output
            process.standardError = output
            if !closeOutputAtOnce {
                output.fileHandleForReading.readabilityHandler = { [weak self] handle in
                    let data = handle.availableData
                    guard let self, !data.isEmpty else { handle.readabilityHandler = nil; return }
                    self.lock.withLock { self.text += String(decoding: data, as: UTF8.self) }
                }
            }
            try process.run()
            // `keel run | head -n 0`: the reader is gone before keel writes anything.
            if closeOutputAtOnce { try output.fileHandleForReading.close() }
        }

        deinit { try? FileManager.default.removeItem(at: temporary) }

        var printed: String { lock.withLock { text } }

        /// Waits until keel's output holds `marker`.
        func wait(for marker: String, seconds: Double = 60) -> Bool {
            let deadline = Date(timeIntervalSinceNow: seconds)
            while Date() < deadline {
                if printed.contains(marker) { return true }
                if !process.isRunning { return printed.contains(marker) }
                usleep(50_000)
            }
            return false
        }

        /// QEMUs whose command line names a file in this run's TMPDIR (keel's QEMU loads its
        /// temporary bundle from there), dead ones (zombies) left out.
        var qemus: [pid_t] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return entries.compactMap { pid_t($0) }.filter { pid in
                guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
                let command = String(decoding: raw, as: UTF8.self)
                return command.contains("qemu-system-aarch64") && command.contains(temporary.path) && !isZombie(pid)
            }
        }

        /// The files keel left in its TMPDIR.
        var leftovers: [String] { (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? ["(TMPDIR gone)"] }

        /// keel's status once it has exited (at most `seconds`), nil if it has not.
        func status(within seconds: Double = 30) -> Int32? {
            let deadline = Date(timeIntervalSinceNow: seconds)
            while process.isRunning && Date() < deadline { usleep(50_000) }
            if process.isRunning { process.terminate(); return nil }
            return process.terminationReason == .exit ? process.terminationStatus : 1000 + process.terminationStatus
        }
    }

    /// True when `pid` is gone or a zombie (dead, waiting for its parent to reap it).
    static func isGone(_ pid: pid_t, within seconds: Double = 5) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        repeat {
            if kill(pid, 0) != 0 || isZombie(pid) { return true }
            usleep(50_000)
        } while Date() < deadline
        return false
    }

    @Test("SIGINT, SIGTERM or SIGHUP to keel run: its QEMU is stopped, its temporary files removed, status 128+N",
          arguments: [SIGINT, SIGTERM, SIGHUP])
    func signalled(signal: Int32) throws {
        let run = try BackgroundRun(["run", "--guest", Repo.guest("hang"), "--timeout", "60"])
        try #require(run.wait(for: "hang: spinning forever"), "\(run.printed)")
        let qemus = run.qemus
        try #require(qemus.count == 1, "QEMU not found by its command line: \(run.printed)")
        #expect(!run.leftovers.isEmpty, "the run's bundle should be in its TMPDIR while it runs")
        kill(run.process.processIdentifier, signal)
        #expect(run.status() == 128 + signal, "\(run.printed)")
        #expect(Self.isGone(qemus[0]), "QEMU \(qemus[0]) outlived keel")
        #expect(run.leftovers.isEmpty, "left behind: \(run.leftovers)")
        #expect(run.printed.contains("keel: stopped by signal \(signal); QEMU stopped and temporary files removed"), "\(run.printed)")
    }

    @Test("keel run | head -n 0: the closed output ends the run with status 141, no QEMU, no temporary file")
    func closedOutput() throws {
        let run = try BackgroundRun(["run", "--guest", Repo.guest("hang"), "--timeout", "60"], closeOutputAtOnce: true)
        #expect(run.status() == 128 + SIGPIPE)
        #expect(run.qemus.isEmpty || run.qemus.allSatisfy { Self.isGone($0) }, "a QEMU outlived keel")
        #expect(run.leftovers.isEmpty, "left behind: \(run.leftovers)")
    }

    @Test("keel run --config | head -1 through a shell: status 141, the packed image removed")
    func headThroughShell() throws {
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("keel-cleanup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: temporary) }
        // head exits after one line; keel's next console write finds the pipe closed (hang
        // prints its line after Keel's boot lines).
        let script = "TMPDIR='\(temporary.path)' '\(Repo.keel)' run --config boards/examples/demo.toml --timeout 60 | head -1 >/dev/null; echo \"status ${PIPESTATUS[0]}\""
        let shell = try HostShell.run(script)
        #expect(shell.contains("status 141") || shell.contains("status 0"), "\(shell)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []).isEmpty)
    }

    @Test("QEMU killed by a signal (kill -9, kill -TERM): keel exits 75 naming the signal", arguments: [SIGKILL, SIGTERM])
    func qemuKilled(signal: Int32) throws {
        let run = try BackgroundRun(["run", "--guest", Repo.guest("hang"), "--timeout", "60"])
        try #require(run.wait(for: "hang: spinning forever"), "\(run.printed)")
        let qemus = run.qemus
        try #require(qemus.count == 1, "QEMU not found by its command line: \(run.printed)")
        kill(qemus[0], signal)
        #expect(run.status() == 75, "\(run.printed)")
        #expect(run.printed.contains("keel: QEMU was killed by signal \(signal)"), "\(run.printed)")
        #expect(run.leftovers.isEmpty, "left behind: \(run.leftovers)")
    }
}

/// True when /proc says `pid` is a zombie.
private func isZombie(_ pid: pid_t) -> Bool {
    guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return false }
    let stat = String(decoding: raw, as: UTF8.self)
    // "pid (comm) S ...": the state follows the last ')'.
    guard let close = stat.lastIndex(of: ")") else { return false }
    return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
}

/// A bash script's standard output (and error).
enum HostShell {
    static func run(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = Repo.root
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
