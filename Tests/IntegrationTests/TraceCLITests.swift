import Foundation
import KeelCore
import KeelKit
import Testing

/// `keel trace` as a script runs it: statuses, short messages, standard input, FIFOs, failed
/// writes. Needs only build/bin/keel (no firmware, no QEMU).
@Suite("keel trace: inputs, outputs and exit statuses")
struct TraceCLITests {
    let scratch: String

    init() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("keel-trace-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    func file(_ name: String, _ data: Data) -> String {
        let path = scratch + "/" + name
        FileManager.default.createFile(atPath: path, contents: data)
        return path
    }

    /// `keel` with its standard input and output where the test says.
    func keel(_ arguments: [String], stdin: FileHandle = .nullDevice, stdout: FileHandle? = nil) throws -> KeelRun {
        let out = scratch + "/stdout-\(UUID().uuidString)", err = scratch + "/stderr-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: out, contents: nil)
        FileManager.default.createFile(atPath: err, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Repo.keel)
        process.arguments = arguments
        process.standardInput = stdin
        process.standardOutput = try stdout ?? FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        try process.run()
        process.waitUntilExit()
        return KeelRun(status: process.terminationStatus, stdout: try String(contentsOfFile: out, encoding: .utf8),
                       stderr: try String(contentsOfFile: err, encoding: .utf8))
    }

    /// One line, no usage block, no Foundation error dump.
    func isShort(_ run: KeelRun) -> Bool {
        run.stderr.hasPrefix("keel: ") && run.stderr.split(separator: "\n").count == 1
            && !run.stderr.contains("Usage:") && !run.stderr.contains("Error Domain")
    }

    @Test("a missing file, a directory and an empty file: 66 and one line, for each subcommand",
          arguments: [["decode"], ["stats"], ["export", "--chrome", "/dev/null"]])
    func noInput(_ subcommand: [String]) throws {
        let empty = file("empty.trace", Data())
        for (input, says) in [(scratch + "/missing.trace", "does not exist"), (scratch, "is a directory"), (empty, "is empty")] {
            let run = try keel(["trace", subcommand[0], input] + subcommand.dropFirst())
            #expect(run.status == 66, "\(input): \(run.stderr)")
            #expect(isShort(run) && run.stderr.contains(says), "\(run.stderr)")
        }
        let stdin = try keel(["trace", subcommand[0], "-"] + subcommand.dropFirst())
        #expect(stdin.status == 66 && stdin.stderr.contains("standard input was empty"))
    }

    @Test("a file with no frames is a data error: 65, no usage")
    func notATrace() throws {
        let run = try keel(["trace", "decode", file("text.trace", Data("just console text\n".utf8))])
        #expect(run.status == 65 && isShort(run) && run.stderr.contains("holds no Keel trace frames"))
    }

    @Test("standard output that cannot be written (/dev/full): 74 with the reason")
    func fullOutput() throws {
        let trace = file("t.trace", TraceGenerator.stream(records: 100))
        for subcommand in ["decode", "stats"] {
            let run = try keel(["trace", subcommand, trace], stdout: try #require(FileHandle(forWritingAtPath: "/dev/full")))
            #expect(run.status == 74, "\(subcommand): \(run.stderr)")
            #expect(run.stderr.contains("keel: cannot write standard output: No space left on device"))
        }
    }

    @Test("export --chrome: a directory is 73, a full device 74, a symlink is written through and stays a symlink")
    func exportTargets() throws {
        let trace = file("t.trace", TraceGenerator.stream(records: 10))
        let directory = try keel(["trace", "export", trace, "--chrome", scratch])
        #expect(directory.status == 73 && isShort(directory) && directory.stderr.contains("is a directory"))
        let full = try keel(["trace", "export", trace, "--chrome", "/dev/full"])
        #expect(full.status == 74 && full.stderr.contains("No space left on device"))
        let target = scratch + "/real.json", link = scratch + "/link.json"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let written = try keel(["trace", "export", trace, "--chrome", link])
        #expect(written.status == 0)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
        let chrome = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: target))) as? [String: Any]
        #expect((chrome?["traceEvents"] as? [Any])?.isEmpty == false)
    }

    @Test("'-' decodes standard input as the file decodes")
    func standardInput() throws {
        let trace = file("t.trace", TraceGenerator.stream(records: 500))
        let fromFile = try keel(["trace", "decode", trace])
        let fromStdin = try keel(["trace", "decode", "-"], stdin: try #require(FileHandle(forReadingAtPath: trace)))
        #expect(fromFile.status == 0 && fromStdin.status == 0)
        #expect(fromStdin.stdout == fromFile.stdout)
        #expect(fromFile.lines.count == 501)
    }

    @Test("a FIFO is decoded as it arrives: the first records print before the writer closes it")
    func fifo() throws {
        let fifo = scratch + "/live.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let stream = TraceGenerator.stream(records: 1000)
        let out = scratch + "/live.out"
        FileManager.default.createFile(atPath: out, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Repo.keel)
        process.arguments = ["trace", "decode", fifo]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = FileHandle.nullDevice
        try process.run()
        let writer = try #require(FileHandle(forWritingAtPath: fifo))  // opens once keel has opened it to read
        try writer.write(contentsOf: stream.prefix(5000))  // the header and about 50 records
        var early = 0
        for _ in 0..<200 where early == 0 {  // up to 20 s on a loaded machine
            Thread.sleep(forTimeInterval: 0.1)
            early = (try String(contentsOfFile: out, encoding: .utf8)).split(separator: "\n").count
        }
        #expect(early > 0, "nothing printed before the end of the input")
        #expect(process.isRunning)
        try writer.write(contentsOf: stream.dropFirst(5000))
        try writer.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect((try String(contentsOfFile: out, encoding: .utf8)).split(separator: "\n").count == 1000)
    }

    @Test("--elf with a section-header offset of 0x7fff...: refused with 65, not a crash; a missing ELF is 66")
    func craftedELF() throws {
        var elf = [UInt8](repeating: 0, count: 64)
        elf.replaceSubrange(0..<6, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1])
        for i in 0..<8 { elf[0x28 + i] = i == 7 ? 0x7F : 0xFF }
        elf[0x3A] = 64
        elf[0x3C] = 1
        let trace = file("t.trace", TraceGenerator.stream(records: 10))
        let run = try keel(["trace", "decode", trace, "--elf", file("crafted.elf", Data(elf))])
        #expect(run.status == 65 && isShort(run) && run.stderr.contains("is damaged: the section header table"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        let missing = try keel(["trace", "stats", trace, "--elf", scratch + "/none.elf"])
        #expect(missing.status == 66 && isShort(missing))
    }

    @Test("keel bench --decoder-only times the whole keel trace decode command on a generated trace")
    func decodeCommandBench() throws {
        let run = try keel(["bench", "--decoder-only", "--records", "20000"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("keel trace decode, whole command: 20000 records in "), "\(run.stdout)")
    }

    @Test("stats on exits whose entry counter precedes their exit counter: a warning and 0 ticks, status 0")
    func backwardCounters() throws {
        var data = Data()
        for (sequence, exit, entry) in [(UInt32(0), UInt64(1000), UInt64(10)), (1, 2000, 5), (2, 3000, 3040)] {
            var r = TraceRecord()
            r.sequence = sequence
            r.exitTime = exit
            r.entryTime = entry
            r.esr = 0x5A00_0000
            r.action = .hypercall
            data += FrameDemux.encode(r)
        }
        let trace = file("backward.trace", data)
        let stats = try keel(["trace", "stats", trace])
        #expect(stats.status == 0, "\(stats.stderr)")
        #expect(stats.stdout.contains("warning: 2 records re-enter the guest before they exit"))
        let json = try keel(["trace", "stats", "--json", trace])
        #expect(json.status == 0 && json.stdout.contains("\"backward_records\":2"))
        let decode = try keel(["trace", "decode", trace])
        #expect(decode.lines.first?.hasSuffix(" 0 ticks") == true)
    }
}
