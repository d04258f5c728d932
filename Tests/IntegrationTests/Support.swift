import Foundation
import Testing

/// Paths in the repository and the artifacts `make` builds (`make test` builds them first).
enum Repo {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    static var keel: String { path("build/bin/keel") }
    static func guest(_ name: String) -> String { path("build/guests/\(name).bin") }
    static var firmware: String { path("build/hyp/keel.bin") }
}

/// What one run of the `keel` executable printed and returned.
struct KeelRun {
    var status: Int32
    var stdout: String
    var stderr: String

    /// Output lines. The console ends lines with CR LF, which Swift treats as one Character.
    var lines: [String] {
        stdout.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n").map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : $0
        }
    }

    /// `[keel] vm0/vcpu0 exits: HVC64=3 DABT_LOW=120 irq=0 total=123` as a dictionary.
    var exitCounters: [String: Int] { exitCounters(vcpu: 0) }

    /// The exit report's counters of VM 0's vCPU `vcpu`, by name.
    func exitCounters(vcpu: Int) -> [String: Int] {
        let prefix = "[keel] vm0/vcpu\(vcpu) exits:"
        guard let line = lines.first(where: { $0.hasPrefix(prefix) }) else { return [:] }
        var counters: [String: Int] = [:]
        for item in line.dropFirst(prefix.count).split(separator: " ") {
            let parts = item.split(separator: "=")
            if parts.count == 2, let n = Int(parts[1]) { counters[String(parts[0])] = n }
        }
        return counters
    }

    /// Every expected line appears, in this order (other lines may come between).
    func containsInOrder(_ expected: [String]) -> Bool {
        var remaining = expected[...]
        for line in lines where remaining.first == line { remaining = remaining.dropFirst() }
        return remaining.isEmpty
    }

    func missing(_ expected: [String]) -> [String] { expected.filter { !lines.contains($0) } }
}

/// Runs `build/bin/keel` with `arguments`; output goes to files so neither pipe can fill up.
func runKeel(_ arguments: [String]) throws -> KeelRun {
    try #require(FileManager.default.isExecutableFile(atPath: Repo.keel), "build/bin/keel is missing: run `make` (make test does)")
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("keel-it-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let out = scratch.appendingPathComponent("stdout"), err = scratch.appendingPathComponent("stderr")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)

    let process = Process()
    process.executableURL = URL(fileURLWithPath: Repo.keel)
    process.arguments = arguments
    process.currentDirectoryURL = Repo.root
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    process.waitUntilExit()
    return KeelRun(
        status: process.terminationStatus,
        stdout: try String(contentsOf: out, encoding: .utf8),
        stderr: try String(contentsOf: err, encoding: .utf8)
    )
}

/// Boots Keel with one of the test guests.
func boot(_ guest: String, _ extra: [String] = []) throws -> KeelRun {
    try #require(FileManager.default.fileExists(atPath: Repo.guest(guest)), "build/guests/\(guest).bin is missing: run `make`")
    return try runKeel(["run", "--guest", Repo.guest(guest), "--timeout", "60"] + extra)
}

/// `keel` with `arguments`, started and left running: its process and its console (stdout and
/// stderr together) as it grows.
func startKeel(_ arguments: [String]) throws -> (Process, Output) {
    let keel = Process()
    keel.executableURL = URL(fileURLWithPath: Repo.keel)
    keel.arguments = arguments
    keel.currentDirectoryURL = Repo.root
    let out = Pipe()
    keel.standardOutput = out
    keel.standardError = out
    keel.standardInput = FileHandle.nullDevice
    let console = Output()
    out.fileHandleForReading.readabilityHandler = { console.append($0.availableData) }
    try keel.run()
    return (keel, console)
}
