import Foundation
import Testing

/// A CPU with nothing to run gives its host thread back. Under QEMU's multi-threaded TCG, WFE and
/// YIELD do not wait at all: an idle loop built on them kept one host thread busy per idle CPU
/// (issue 14: with more vCPUs than host cores, Linux ran several times slower under Keel).
@Suite("Idle CPUs")
struct IdleCPUTests {
    /// `keel run` through bash's `time`: user + system CPU seconds of keel and its QEMU, and the
    /// wall seconds.
    static func timed(_ arguments: [String]) throws -> (run: KeelRun, cpu: Double, wall: Double) {
        let quoted = ([Repo.keel] + arguments).map { "'" + $0 + "'" }.joined(separator: " ")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("keel-idle-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let times = scratch.path + ".times"
        defer { try? FileManager.default.removeItem(atPath: times) }
        let script = "TIMEFORMAT='%U %S %R'; { time \(quoted) ; } 2> '\(times)'"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = Repo.root
        process.standardInput = FileHandle.nullDevice
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let fields = try String(contentsOfFile: times, encoding: .utf8).split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
        try #require(fields.count == 3, "bash's time printed \(fields)")
        return (KeelRun(status: process.terminationStatus, stdout: stdout, stderr: ""), fields[0] + fields[1], fields[2])
    }

    @Test("three CPUs whose vCPUs never start, and one vCPU asleep in WFI for 3 s: QEMU stays nearly idle")
    func idleCPUsSleep() throws {
        try #require(FileManager.default.fileExists(atPath: Repo.guest("idle_cpus")), "build/guests/idle_cpus.bin is missing: run `make`")
        let (run, cpu, wall) = try Self.timed(["run", "--guest", Repo.guest("idle_cpus"), "--smp", "4", "--timeout", "60"])
        #expect(run.status == 0)
        #expect(run.containsInOrder(["idle: start", "idle: done"]), "\(run.stdout)")
        // Spinning, the three idle CPUs alone took at least half a host core over the 3 s (two
        // cores, however loaded); waiting, the whole run takes a few hundredths.
        #expect(wall >= 3)
        #expect(cpu < 0.25 * wall, "keel + QEMU used \(cpu) s of CPU in \(wall) s")
    }
}
