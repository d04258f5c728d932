import ArgumentParser
import Foundation
import KeelKit

/// `keel trace decode|stats|export`: explain a trace captured with `keel run --trace`.
struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode a Keel trap trace (from keel run --trace, or a raw serial capture).",
        subcommands: [Decode.self, Stats.self, Export.self]
    )
}

/// The trace file and the firmware it should come from; shared by the trace subcommands.
struct TraceInput: ParsableArguments {
    @Argument(help: "The trace file (frames, or a whole serial capture with text around them).")
    var file: String

    @Option(help: "The firmware ELF the trace should come from; warns on a build id mismatch.")
    var elf: String?

    func load() throws -> TraceLog {
        let data: Data
        do { data = try InputFile.read(file, what: "trace file") } catch let error as KeelError { throw failure(error) }
        var log = TraceLog.decode(data)
        if let elf {
            do { log.check(elfBuildID: try ELFBuildID.read(elf)) } catch let error as KeelError { throw failure(error) }
        }
        if log.records.isEmpty && log.header == nil {
            throw failure("'\(file)' holds no Keel trace frames (\(log.lossSummary))", .dataError)
        }
        return log
    }
}

extension Trace {
    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per event.")
        @OptionGroup var input: TraceInput
        @Flag(help: "JSON Lines; the first line names the schema and its version.") var json = false

        func run() throws {
            let log = try input.load()
            let reports = TraceReports(log)
            for line in json ? reports.decodeJSONLines : reports.decodeLines { print(line) }
            if !json { warn(log) }
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Exits by reason and key, latencies, per-vCPU time, histogram.")
        @OptionGroup var input: TraceInput
        @Flag(help: "JSON Lines; the first line names the schema and its version.") var json = false

        func run() throws {
            let log = try input.load()
            let reports = TraceReports(log)
            if json { reports.statsJSONLines.forEach { print($0) } } else { print(reports.statsText) }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write Chrome/Perfetto trace events.")
        @OptionGroup var input: TraceInput
        @Option(help: "Output file (Chrome trace event JSON, opens in ui.perfetto.dev).") var chrome: String

        func run() throws {
            let log = try input.load()
            do { try OutputFile.write(Data(TraceReports(log).chromeJSON.utf8), to: chrome, what: "trace export") } catch let error as KeelError { throw failure(error) }
            print("wrote \(log.records.count) events to \(chrome)")
            warn(log)
        }
    }
}

/// Loss and build-id warnings go to standard error.
private func warn(_ log: TraceLog) {
    var lines = [log.lossSummary]
    lines += log.warnings.map { "warning: \($0)" }
    FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
}
