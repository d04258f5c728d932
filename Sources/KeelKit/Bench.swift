import Foundation
import KeelBoards
import KeelCore

/// Benchmarks: figures measured inside a guest under QEMU `-icount shift=0`, where each
/// instruction the CPU executes (guest or hypervisor) is one nanosecond of virtual time, so a
/// figure repeats exactly from run to run and converts to instructions.
public enum Bench {
    /// One `bench: <name> <iterations> <ticks>` line of the bench guest.
    public struct GuestFigure: Equatable {
        public var name: String
        public var iterations: Int
        public var ticks: UInt64
    }

    /// Parses the bench guest's output: its figures and its counter frequency.
    public static func parse(_ output: String) -> (figures: [GuestFigure], counterHz: UInt64?) {
        var figures: [GuestFigure] = []
        var hz: UInt64?
        for line in output.replacingOccurrences(of: "\r", with: "").split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.first == "bench:" else { continue }
            if words.count == 3, words[1] == "cntfrq" { hz = hexOrDecimal(words[2]) }
            if words.count == 4, let n = Int(words[2]), let t = hexOrDecimal(words[3]) {
                figures.append(GuestFigure(name: String(words[1]), iterations: n, ticks: t))
            }
        }
        return (figures, hz)
    }

    static func hexOrDecimal(_ word: Substring) -> UInt64? {
        word.hasPrefix("0x") ? UInt64(word.dropFirst(2), radix: 16) : UInt64(word)
    }

    /// Instructions per iteration of each figure, less the empty loop's.
    public static func instructionsPerIteration(_ figures: [GuestFigure], counterHz: UInt64) -> [String: Double] {
        let nsPerTick = 1e9 / Double(counterHz)
        let perIteration = Dictionary(uniqueKeysWithValues: figures.map { ($0.name, Double($0.ticks) * nsPerTick / Double($0.iterations)) })
        let baseline = perIteration["loop_baseline"] ?? 0
        return perIteration.filter { $0.key != "loop_baseline" }.mapValues { $0 - baseline }
    }

    /// Runs the bench guest under Keel with the given trace mode and any other of Keel's boot
    /// arguments (`bootargs`, QEMU's `-append` after `keel.trace=`); returns the console text.
    /// (The trace itself, on the UART, is dropped.)
    public static func runGuest(firmware: String, guest: String, traceMode: TraceMode, bootargs: String = "",
                                timeout: Double = 300) throws -> String {
        let bundle = try TemporaryBundle(rawGuest: guest, layout: qemuVirtDefaultVM, board: qemuVirt)
        var command = QEMUCommand(firmware: firmware, bundle: bundle.path, board: qemuVirt, layout: qemuVirtDefaultVM)
        defer { withExtendedLifetime(bundle) {} }
        command.extraArguments = ["-icount", "shift=0", "-append", "keel.trace=\(traceMode.bootArgument)" + (bootargs.isEmpty ? "" : " " + bootargs)]
        let text = ConsoleText()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("keel-bench-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let capture = try TraceCapture(path: scratch, text: { text.append($0) })
        let outcome = try QEMURunner(command: command, timeout: timeout, output: { capture.feed($0) }).run()
        _ = capture.finish()
        guard outcome == .exited(0) else { throw KeelError("the bench guest did not finish: \(outcome)\n\(text.string)") }
        return text.string
    }

    /// Writes `results` into the JSON object at `path`, keeping the keys of other benchmarks
    /// already there (`keel bench` and `keel bench linux` share one file).
    public static func mergeResults(_ results: [String: Any], into path: String) throws {
        var merged: [String: Any] = [:]
        if let data = FileManager.default.contents(atPath: path),
           let existing = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            merged = existing
        }
        merged.merge(results) { $1 }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        try JSONSerialization.data(withJSONObject: merged, options: [.sortedKeys, .prettyPrinted]).write(to: URL(fileURLWithPath: path))
    }

    /// Decodes `records` synthetic records framed as the firmware frames them; returns records
    /// per second on this core.
    public static func decoderThroughput(records: Int) -> (recordsPerSecond: Double, seconds: Double) {
        let stream = TraceGenerator.stream(records: records)
        let start = DispatchTime.now()
        let log = TraceLog.decode(stream)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        precondition(log.records.count == records, "decoder lost records in its own benchmark")
        return (Double(records) / seconds, seconds)
    }
}

/// Console bytes collected from QEMU's output callback (also `DeviceModelBench`'s).
final class ConsoleText: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ more: Data) { lock.withLock { data.append(more) } }
    var string: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}
