import ArgumentParser
import Foundation
import KeelKit

/// `keel trace decode|stats|export`: explain a trace captured with `keel run --trace`.
struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode a Keel trap trace (from keel run --trace, or a raw serial capture).",
        discussion: """
            Exit status: 0 done, 65 not a trace (or a damaged --elf), 66 the input is missing, a \
            directory or empty, 73 the output file cannot be created, 74 a read or write failed.
            """,
        subcommands: [Decode.self, Stats.self, Export.self]
    )
}

/// The trace file and the firmware it should come from; shared by the trace subcommands.
struct TraceInput: ParsableArguments {
    @Argument(help: "The trace file (frames, or a whole serial capture with text around them); '-', a pipe or a FIFO is read as it arrives.")
    var file: String

    @Option(help: "The firmware ELF the trace should come from; warns on a build id mismatch.")
    var elf: String?

    /// The ELF's build id, or nil without --elf: a missing ELF is 66, a damaged one 65.
    func elfBuildID() throws(TraceFailure) -> [UInt8]? {
        guard let elf else { return nil }
        let data: Data
        do { data = try InputFile.read(elf, what: "ELF") } catch let error as KeelError { throw TraceFailure(error) } catch { throw .ioError("\(error)") }
        do { return try ELFBuildID.read(data, path: elf) } catch { throw .dataError(error.message) }
    }

    /// The whole trace in memory (stats and export need every record before they report).
    func load() throws -> TraceLog {
        let elfID = try elfBuildID()
        let input = try TraceInputFile(path: file)
        var log = try TraceLog.decode(input)
        if input.bytesRead == 0 { throw TraceFailure.noInput("\(input.name) was empty: no trace to read") }
        if let elfID { log.check(elfBuildID: elfID) }
        if log.records.isEmpty && log.header == nil {
            throw TraceFailure.dataError("\(input.name) holds no Keel trace frames (\(log.lossSummary))")
        }
        return log
    }
}

extension Trace {
    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One line per event, printed as it is decoded.",
            discussion: """
                Time 0 is the earliest record of a file. A pipe, a FIFO or '-' is decoded as it \
                arrives (a live serial capture): its time 0 is its first record.
                """
        )
        @OptionGroup var input: TraceInput
        @Flag(help: "JSON Lines; the first line names the schema and its version.") var json = false

        func run() throws {
            try reportingFailures {
                let elfID = try input.elfBuildID()
                let outcome = try TraceDecodeStream.run(try TraceInputFile(path: input.file), json: json, output: TraceOutput())
                if !json {
                    var warnings = outcome.decoder.warnings
                    if let elfID, let header = outcome.decoder.header, let warning = TraceLog.buildIDWarning(header, elfBuildID: elfID) {
                        warnings.append(warning)
                    }
                    warn(outcome.decoder.lossSummary, warnings)
                }
            }
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Exits by reason and key, latencies, per-vCPU time, histogram.")
        @OptionGroup var input: TraceInput
        @Flag(help: "JSON Lines; the first line names the schema and its version.") var json = false

        func run() throws {
            try reportingFailures {
                let reports = TraceReports(try input.load())
                let output = TraceOutput()
                for line in json ? reports.statsJSONLines : [reports.statsText] { try output.line(line) }
                try output.flush()
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write Chrome/Perfetto trace events.")
        @OptionGroup var input: TraceInput
        @Option(help: "Output file (Chrome trace event JSON, opens in ui.perfetto.dev).") var chrome: String

        func run() throws {
            try reportingFailures {
                let log = try input.load()
                let reports = TraceReports(log)
                try OutputFile.write(to: chrome, what: "trace export") { descriptor in
                    let file = TraceOutput(descriptor: descriptor, name: "trace export '\(chrome)'")
                    try reports.writeChrome { (piece) throws(TraceFailure) in try file.text(piece) }
                    try file.flush()
                }
                let output = TraceOutput()
                try output.line("wrote \(log.records.count) events to \(chrome)")
                try output.flush()
                warn(log.lossSummary, log.warnings)
            }
        }
    }
}

/// A trace failure is `keel: MESSAGE` on standard error and its exit status: no usage text.
private func reportingFailures(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as TraceFailure {
        throw failure(error.message, ExitStatus(rawValue: error.status) ?? .failure)
    } catch let error as KeelError {
        throw failure(error)
    }
}

/// Loss and build-id warnings go to standard error.
private func warn(_ summary: String, _ warnings: [String]) {
    var lines = [summary]
    lines += warnings.map { "warning: \($0)" }
    printError(lines.joined(separator: "\n"))
}
