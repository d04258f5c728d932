import ArgumentParser
import Foundation
import KeelCore
import KeelKit

/// `keel bench`: the benchmark figures, as a table and as JSON.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run the benchmark guest under QEMU -icount and the trace decoder benchmark."
    )

    @Option(help: "The benchmark guest.") var guest = "build/guests/bench.bin"
    @Option(help: "The Keel firmware image (default: build/hyp/keel.bin).") var firmware: String?
    @Option(help: "Where to write the JSON results.") var json = "build/bench/results.json"
    @Option(help: "Records for the decoder throughput figure.") var records = 1_000_000
    @Flag(help: "Only the trace decoder figure (no QEMU).") var decoderOnly = false

    func run() throws {
        if decoderOnly {
            let decoder = Bench.decoderThroughput(records: records)
            print(String(format: "trace decoder: %.2f M records per second, one core", decoder.recordsPerSecond / 1e6))
            return
        }
        let firmwarePath: String
        do { firmwarePath = try Firmware.locate(explicit: firmware) } catch let error as KeelError { throw ValidationError(error.message) }

        var results: [String: Any] = ["icount": "shift=0", "board": "qemu-virt", "cpu": "cortex-a72"]
        var rows: [[String]] = [["figure", "counters", "full trace", "unit"]]

        let counters = Bench.parse(try Bench.runGuest(firmware: firmwarePath, guest: guest, traceMode: .counters))
        let full = Bench.parse(try Bench.runGuest(firmware: firmwarePath, guest: guest, traceMode: .full))
        guard let hz = counters.counterHz, !counters.figures.isEmpty else { throw ValidationError("the bench guest printed no figures") }
        let base = Bench.instructionsPerIteration(counters.figures, counterHz: hz)
        let traced = Bench.instructionsPerIteration(full.figures, counterHz: full.counterHz ?? hz)
        var round: [String: Any] = [:]
        for name in base.keys.sorted() {
            round[name] = ["counters": base[name]!, "full_trace": traced[name] ?? 0]
            rows.append([name, String(format: "%.1f", base[name]!), String(format: "%.1f", traced[name] ?? 0), "instructions per round trip"])
        }
        results["round_trip_instructions"] = round
        if let a = base["hvc_null"], let b = traced["hvc_null"] {
            results["full_trace_cost_per_exit_instructions"] = b - a
            rows.append(["full trace cost per exit", "", String(format: "%.1f", b - a), "instructions (hvc_null)"])
        }

        let decoder = Bench.decoderThroughput(records: records)
        results["decoder_records_per_second"] = decoder.recordsPerSecond
        rows.append(["trace decoder", "", String(format: "%.2f M", decoder.recordsPerSecond / 1e6), "records per second, one core"])

        let width = (0..<4).map { c in rows.map { $0[c].count }.max()! }
        for row in rows {
            print(row.enumerated().map { $0.offset == 0 ? $0.element.padding(toLength: width[0], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: width[$0.offset] - $0.element.count) + $0.element }.joined(separator: "  "))
        }
        try FileManager.default.createDirectory(atPath: (json as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys, .prettyPrinted])
        try data.write(to: URL(fileURLWithPath: json))
        print("results: \(json)")
    }
}
