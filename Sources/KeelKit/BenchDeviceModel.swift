import Foundation
import KeelBoards

/// `keel bench dm` (issue 15): what a device served by keel-dm in a Linux device-model VM costs.
/// - The forwarded MMIO round trip: the bare-metal frontend `dm_bench` reads and writes a
///   register of a virtio-blk transport that keel-dm serves, under QEMU `-icount
///   shift=0,sleep=off` (a tick of the 62.5 MHz counter is 16 instructions, guest or Keel, of
///   either VM), with keel-dm waiting for Keel's request interrupt and with it polling
///   (`device_model_poll = true`). Each round trip is timed alone; the figure is the median.
/// - virtio-blk sequential read, in wall time (no `-icount`): in one run, the device-model VM
///   reads its disk image itself (`dd`, before keel-dm starts), then a Linux frontend reads the
///   same image through `/dev/vda`; each side twice, the faster kept; the figure is the
///   device model's time over the frontend's (1: the frontend reads as fast as keel-dm's disk).
public enum DeviceModelBench {
    /// Goals of issue 15, in instructions per round trip.
    public static let interruptGoal = 5_000.0
    public static let pollingGoal = 2_000.0
    /// The frontend's read against the device model's own, wall time: at least this.
    public static let readRatioGoal = 0.5
    public static let icount = "shift=0,sleep=off"
    public static let bootargs = "console=ttyAMA0 quiet panic=-1"

    /// One mode's round trips, in instructions.
    public struct RoundTrip: Sendable {
        public var polling: Bool
        public var readSamples: [Double]
        public var writeSamples: [Double]
        /// The whole loop's average (`bench:` lines, as `keel bench` reports its own).
        public var readMean: Double
        public var writeMean: Double

        public var mode: String { polling ? "polling" : "interrupt" }
        public var readMedian: Double { DeviceModelBench.median(readSamples) }
        public var writeMedian: Double { DeviceModelBench.median(writeSamples) }
        public var goal: Double { polling ? pollingGoal : interruptGoal }
        public var meetsGoal: Bool { readMedian <= goal && writeMedian <= goal }
    }

    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    // MARK: the round trip

    /// The system: the Linux device model on CPU 0 (its only vCPU), the bare-metal frontend on
    /// CPU 1 with one blk device (a 1 MiB disk nobody reads), powering everything off when done.
    static func roundTripConfig(kernel: String, frontend: String, polling: Bool) -> String {
        """
        board = "qemu-virt"
        power_off_with = "fe"

        [[vm]]
        name = "dm"
        cpus = [0]
        memory = { base = 0x4000_0000, size = "128M" }
        kernel = "\(kernel)"
        device_model = true
        device_model_poll = \(polling)
        bootargs = "\(bootargs)"

        [[vm]]
        name = "fe"
        cpus = [1]
        memory = { base = 0x4000_0000, size = "16M" }
        kernel = "\(frontend)"
        kind = "raw"

        [[vm.virtio]]
        type = "blk"
        served_by = "dm"
        disk = "disk.img"
        # The frontend's first access waits while the device model boots under -icount.
        timeout_ms = 600000

        """
    }

    /// `bench-sample: <name> <ticks>` lines (console prefixes like `[vm1] ` removed), in ticks.
    static func samples(_ output: String) -> [String: [UInt64]] {
        var samples: [String: [UInt64]] = [:]
        for line in unprefixed(output).split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count == 3, words[0] == "bench-sample:", let ticks = Bench.hexOrDecimal(words[2]) else { continue }
            samples[String(words[1]), default: []].append(ticks)
        }
        return samples
    }

    /// The console without Keel's `[vmN] ` / `[name] ` line prefixes.
    static func unprefixed(_ output: String) -> String {
        output.replacingOccurrences(of: "\r", with: "").split(separator: "\n", omittingEmptySubsequences: false).map { line in
            if line.hasPrefix("[vm"), let close = line.firstIndex(of: "]") { return String(line[line.index(after: close)...].drop { $0 == " " }) }
            return String(line)
        }.joined(separator: "\n")
    }

    /// Boots the round-trip system in interrupt (`polling` false) or polling mode.
    public static func roundTrip(polling: Bool, kernel: String, frontend: String, firmware: String, scratch: String,
                                 timeout: Double) throws -> RoundTrip {
        let folder = try Folder(in: scratch, name: "dm-roundtrip-\(polling ? "poll" : "irq")")
        try Data(count: 1 << 20).write(to: URL(fileURLWithPath: folder.path + "/disk.img"))
        let config = roundTripConfig(kernel: absolute(kernel), frontend: absolute(frontend), polling: polling)
        let output = try run(config, in: folder, firmware: firmware, icount: true, timeout: timeout)
        let (figures, hz) = Bench.parse(unprefixed(output))
        let perIteration = hz.map { Bench.instructionsPerIteration(figures, counterHz: $0) } ?? [:]
        guard let hz, let readMean = perIteration["mmio_forwarded_read"], let writeMean = perIteration["mmio_forwarded_write"] else {
            throw KeelError("the round-trip frontend printed no figures:\n\(output.suffix(3000))", status: .dataError)
        }
        let nsPerTick = 1e9 / Double(hz)
        let samples = samples(output)
        guard let reads = samples["mmio_forwarded_read"], let writes = samples["mmio_forwarded_write"], !reads.isEmpty, !writes.isEmpty else {
            throw KeelError("the round-trip frontend printed no samples:\n\(output.suffix(3000))", status: .dataError)
        }
        guard output.contains("keel-dm: serving 1 devices (\(polling ? "polling" : "interrupts"))") else {
            throw KeelError("keel-dm did not say it served in \(polling ? "polling" : "interrupt") mode:\n\(output.suffix(3000))", status: .dataError)
        }
        // Timed answers must be right ones: Version is 2.
        let lines = output.split(whereSeparator: \.isNewline)
        guard lines.contains(where: { $0.hasSuffix("dm-bench: read=0x2") }) else {
            throw KeelError("the round-trip frontend did not read Version 2 from keel-dm:\n\(output.suffix(3000))", status: .dataError)
        }
        // Polling, keel-dm answers through its answer page (what the polling figure measures).
        if polling, let line = lines.first(where: { $0.contains("keel-dm: no answer page") }) {
            throw KeelError("keel-dm polled without its answer page (\(line)): the polling figure would measure KEEL_DM_COMPLETE", status: .dataError)
        }
        return RoundTrip(polling: polling, readSamples: reads.map { Double($0) * nsPerTick }, writeSamples: writes.map { Double($0) * nsPerTick },
                         readMean: readMean, writeMean: writeMean)
    }

    // MARK: running a system

    /// A fresh folder under `scratch` for one system's config and files.
    struct Folder {
        let path: String
        init(in scratch: String, name: String) throws {
            path = URL(fileURLWithPath: scratch).appendingPathComponent(name).standardizedFileURL.path
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
    }

    static func absolute(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    /// Packs `config` (written into `folder`) as `keel run --config` does and boots it on its
    /// board; returns the console once every VM is off.
    static func run(_ config: String, in folder: Folder, firmware: String, icount: Bool, timeout: Double) throws -> String {
        let configPath = folder.path + "/system.toml"
        try Data(config.utf8).write(to: URL(fileURLWithPath: configPath))
        let system = try SystemPack.load(configPath)
        // Each Linux VM gets a fresh rng-seed, as `keel run --config` gives it: without one, Debian's
        // 6.1 kernel takes every syscall's random stack offset from its not-ready generator's slow
        // path, which tripled the round trip (docs/benchmarks.md).
        let packed = try SystemPack.image(system, firmware: firmware, freshRNGSeeds: true)
        let file = try TemporaryFile(packed.bytes, suffix: ".img")
        defer { withExtendedLifetime(file) {} }
        var command = QEMUCommand(firmware: file.path, bundle: nil, board: system.board.board, layout: FirmwareSupport.layout(for: system.board.name),
                                  smp: system.vms.map { ($0.config.cpus.max() ?? 0) + 1 }.max() ?? 1)
        if icount { command.extraArguments += ["-icount", DeviceModelBench.icount] }
        let text = ConsoleText()
        let outcome = try QEMURunner(command: command, timeout: timeout, output: { text.append($0) }).run()
        guard outcome == .exited(0) else {
            throw KeelError("the device-model bench system did not power off: \(outcome)\n\(text.string.suffix(4000))", status: .dataError)
        }
        return text.string
    }
}
