import Foundation
import KeelBoards

/// The Linux boot benchmark: the same kernel, initramfs, bootargs and device tree booted on the
/// same QEMU natively (the kernel at EL1, PSCI through QEMU's HVC conduit) and under Keel, both
/// under `-icount shift=0,sleep=off`, where one instruction (guest or hypervisor) is one
/// nanosecond of virtual time and a run repeats exactly. The figures are kernel log timestamps:
/// the kernel's printk clock, which starts at 0 when `time_init` registers the architected
/// timer as sched_clock, moments after kernel entry.
public enum LinuxBench {
    /// One board configuration: CPUs and GIC version.
    public struct Config: Equatable, Hashable, Sendable, CustomStringConvertible {
        public var smp: Int
        public var gic: Int
        public init(smp: Int, gic: Int) { self.smp = smp; self.gic = gic }

        /// "smp4-gicv3".
        public var description: String { "smp\(smp)-gicv\(gic)" }

        /// "4:3" (CPUs:GIC version), or nil.
        public init?(argument: String) {
            let parts = argument.split(separator: ":")
            guard parts.count == 2, let smp = Int(parts[0]), let gic = Int(parts[1]),
                  (1...GuestDeviceTree.maxVCPUs).contains(smp), gic == 2 || gic == 3 else { return nil }
            self.init(smp: smp, gic: gic)
        }
    }

    public static let defaultConfigs = [Config(smp: 1, gic: 3), Config(smp: 4, gic: 3), Config(smp: 2, gic: 2)]
    public static let bootargs = "console=ttyAMA0 quiet panic=-1"
    /// Keel / native of the time to /init that the benchmark aims at.
    public static let goalRatio = 1.05
    /// The CPU-bound workload's goal: within 0.1 % of native.
    public static let workloadGoalRatio = 1.001
    /// What both sides get on top of their machine: deterministic virtual time, and nothing
    /// that differs from run to run (the RTC's start, QEMU's DTB seeds).
    public static let determinism = ["-icount", icount, "-rtc", "base=2020-01-01T00:00:00,clock=vm"]
    public static let icount = "shift=0,sleep=off"
    /// QEMU virt's RAM for the native run: the VM's (IPA 0x40000000, 256 MiB), so the same
    /// device tree describes both.
    static let layout = qemuVirtDefaultVM
    static let powerDownMarker = "reboot: Power down"

    /// Kernel log timestamps of one run, in microseconds (the printk clock's resolution).
    public struct Times: Equatable, Sendable {
        public var initMicroseconds: Int64?
        public var powerDownMicroseconds: Int64?
        /// What /init counted (`KEEL-INIT: cpus online N`); not a figure, a check.
        public var cpusOnline: Int?
        /// Around /init's CPU-bound workload (one sha256sum job per CPU).
        public var workloadStartMicroseconds: Int64?
        public var workloadEndMicroseconds: Int64?

        public var workloadMicroseconds: Int64? {
            guard let start = workloadStartMicroseconds, let end = workloadEndMicroseconds else { return nil }
            return end - start
        }
    }

    /// The timestamps of the `/init` marker and of `reboot: Power down` in a console transcript.
    public static func parse(_ console: String) -> Times {
        var times = Times()
        for line in console.split(whereSeparator: \.isNewline) {
            if times.initMicroseconds == nil, line.contains(Initramfs.Marker.kernelLog) {
                times.initMicroseconds = timestamp(line)
            } else if times.powerDownMicroseconds == nil, line.contains(powerDownMarker) {
                times.powerDownMicroseconds = timestamp(line)
            } else if times.workloadStartMicroseconds == nil, line.contains(Initramfs.Marker.workloadStartLog) {
                times.workloadStartMicroseconds = timestamp(line)
            } else if times.workloadEndMicroseconds == nil, line.contains(Initramfs.Marker.workloadEndLog) {
                times.workloadEndMicroseconds = timestamp(line)
            } else if let range = line.range(of: Initramfs.Marker.cpusOnline) {
                times.cpusOnline = Int(line[range.upperBound...].trimmingCharacters(in: .whitespaces))
            }
        }
        return times
    }

    /// `[   12.345678] ...` -> 12345678. The first bracket of the line (a serial line can start
    /// with stray bytes before it).
    static func timestamp(_ line: Substring) -> Int64? {
        guard let open = line.firstIndex(of: "["), let close = line[open...].firstIndex(of: "]") else { return nil }
        let parts = line[line.index(after: open)..<close].trimmingCharacters(in: .whitespaces).split(separator: ".")
        guard parts.count == 2, parts[1].count == 6, let seconds = Int64(parts[0]), let micros = Int64(parts[1]) else { return nil }
        return seconds * 1_000_000 + micros
    }

    /// The device tree both sides boot with (GuestDeviceTree, for the VM's RAM, `config`'s CPUs
    /// and GIC, the VM's UART). No initrd properties: natively QEMU adds them for `-initrd`,
    /// under Keel `LinuxGuest` does.
    /// `rngSeed`: none for the -icount runs (both sides boot without one, as they must to
    /// repeat exactly); a fresh one for the wall-time runs (`LinuxWallBench`).
    public static func deviceTree(_ config: Config, bootargs: String = bootargs, rngSeed: [UInt8]? = nil) throws -> [UInt8] {
        var tree = GuestDeviceTree(ramIPA: layout.ramIPA, ramSize: layout.ramSize, vcpus: config.smp, gic: gic(config),
                                   uartIPA: layout.uartIPA, uartSPI: layout.uartINTID - 32, bootargs: bootargs)
        tree.rngSeed = rngSeed
        return try tree.blob()
    }

    static func gic(_ config: Config) -> GuestDeviceTree.GIC {
        config.gic == 3 ? .v3(distributor: layout.gicDistributorIPA, redistributors: layout.gicRedistributorIPA)
            : .v2(distributor: layout.gicDistributorIPA, cpuInterface: layout.gicCPUInterfaceIPA)
    }

    /// Writes each configuration's device tree as `<directory>/linux-<config>.dtb` (kept, so a
    /// native run can be repeated by hand).
    public static func writeDeviceTrees(_ configs: [Config], directory: String) throws -> [Config: String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var paths: [Config: String] = [:]
        for config in configs {
            let path = (directory as NSString).appendingPathComponent("linux-\(config).dtb")
            try Data(try deviceTree(config)).write(to: URL(fileURLWithPath: path))
            paths[config] = path
        }
        return paths
    }

    /// The native QEMU command line (without the executable); `icount: false` for wall time.
    public static func nativeArguments(_ config: Config, dtb: String, kernel: String, initrd: String, bootargs: String = bootargs,
                                       icount: Bool = true) -> [String] {
        [
            "-M", "virt,gic-version=\(config.gic),dtb-randomness=off",
            "-cpu", qemuVirt.qemuCPU.description,
            "-smp", String(config.smp),
            "-m", "\(layout.ramSize >> 20)M",
        ] + (icount ? determinism : []) + [
            "-display", "none",
            "-monitor", "none",
            "-serial", "stdio",
            "-dtb", dtb,
            "-kernel", kernel,
            "-initrd", initrd,
            "-append", bootargs,
        ]
    }

    /// A boot under Keel: its QEMU command and the bundle it loads (keep it alive while QEMU
    /// runs).
    public static func keelCommand(_ config: Config, firmware: String, kernel: String, initrd: String,
                                   bootargs: String = bootargs, icount: Bool = true,
                                   rngSeed: [UInt8]? = nil) throws -> (QEMUCommand, TemporaryBundle) {
        let bundle = try LinuxGuest.bundle(kernel: kernel, initrd: initrd, bootargs: bootargs, vcpus: config.smp,
                                           gic: gic(config), layout: layout, board: qemuVirt, rngSeed: rngSeed)
        var command = QEMUCommand(firmware: firmware, bundle: bundle.path, board: qemuVirt, layout: layout,
                                  gicVersion: config.gic, smp: config.smp)
        // QEMU merges -M options into one machine.
        command.extraArguments = ["-M", "dtb-randomness=off"] + (icount ? determinism : [])
        return (command, bundle)
    }

    public enum Side: String, Sendable { case native, keel }

    /// Boots once and returns the timestamps; the native side boots with `dtb(config)` (see
    /// `writeDeviceTrees`). Throws, with the end of the console, when the run did not reach
    /// /init or did not power off cleanly.
    public static func run(_ side: Side, _ config: Config, kernel: String, initrd: String, firmware: String, dtb: (Config) -> String,
                           qemu: String = "qemu-system-aarch64", timeout: Double) throws -> Times {
        let arguments: [String]
        var keep: TemporaryBundle?
        switch side {
        case .native:
            arguments = nativeArguments(config, dtb: dtb(config), kernel: kernel, initrd: initrd)
        case .keel:
            let (command, bundle) = try keelCommand(config, firmware: firmware, kernel: kernel, initrd: initrd)
            keep = bundle
            arguments = command.arguments
        }
        let (status, console) = try runProcess(qemu, arguments, timeout: timeout)
        withExtendedLifetime(keep) {}
        let times = parse(console)
        let what = "\(side.rawValue) \(config)"
        guard !console.contains(QEMURunner.panicMarker) else { throw KeelError("\(what): the hypervisor panicked\n\(tail(console))") }
        guard let status else { throw KeelError("\(what): no power-off within \(Int(timeout)) s\n\(tail(console))") }
        guard times.initMicroseconds != nil else { throw KeelError("\(what): the kernel never reached /init (QEMU status \(status))\n\(tail(console))") }
        guard times.cpusOnline == config.smp else {
            throw KeelError("\(what): /init saw \(times.cpusOnline.map(String.init) ?? "no") CPUs online, not \(config.smp)\n\(tail(console))")
        }
        guard status == 0 else { throw KeelError("\(what): QEMU exited with status \(status)\n\(tail(console))") }
        return times
    }

    static func tail(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).suffix(30).joined(separator: "\n")
    }

    /// Runs a process to its end or `timeout` (then kills it: status nil); returns its
    /// standard output and error together.
    static func runProcess(_ executable: String, _ arguments: [String], timeout: Double) throws -> (Int32?, String) {
        let process = Process()
        process.executableURL = try QEMURunner.resolve(executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let exit = ExitLatch()
        process.terminationHandler = { _ in exit.open() }
        let text = Locked(Data())
        let endOfOutput = DispatchSemaphore(value: 0)
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                handle.readabilityHandler = nil
                endOfOutput.signal()
                return
            }
            text.withLock { $0.append(data) }
        }
        do { try process.run() } catch { throw KeelError("cannot start \(executable): \(InputFile.reason(of: error))") }
        let finished = exit.wait(seconds: timeout)
        if !finished { QEMURunner.stop(process, exit: exit) }
        _ = endOfOutput.wait(timeout: .now() + 2)
        return (finished ? process.terminationStatus : nil, String(decoding: text.withLock { $0 }, as: UTF8.self))
    }

    /// One configuration's figures, both sides, `runs` times each.
    public struct Figures: Sendable {
        public var config: Config
        public var native: [Times]
        public var keel: [Times]

        /// Every run of a side gave the same timestamps.
        public var repeated: Bool { Set(native.map(\.initMicroseconds)).count == 1 && Set(keel.map(\.initMicroseconds)).count == 1
            && Set(native.map(\.workloadMicroseconds)).count == 1 && Set(keel.map(\.workloadMicroseconds)).count == 1
            && Set(native.map(\.powerDownMicroseconds)).count == 1 && Set(keel.map(\.powerDownMicroseconds)).count == 1 }
        public var nativeInit: Double { seconds(native.first?.initMicroseconds) ?? .nan }
        public var keelInit: Double { seconds(keel.first?.initMicroseconds) ?? .nan }
        public var initRatio: Double { keelInit / nativeInit }
        public var nativePowerDown: Double? { seconds(native.first?.powerDownMicroseconds) }
        public var keelPowerDown: Double? { seconds(keel.first?.powerDownMicroseconds) }
        public var powerDownRatio: Double? { nativePowerDown.flatMap { n in keelPowerDown.map { $0 / n } } }
        public var meetsGoal: Bool { initRatio <= LinuxBench.goalRatio }
        public var nativeWorkload: Double? { seconds(native.first?.workloadMicroseconds) }
        public var keelWorkload: Double? { seconds(keel.first?.workloadMicroseconds) }
        public var workloadRatio: Double? { nativeWorkload.flatMap { n in keelWorkload.map { $0 / n } } }

        func seconds(_ micros: Int64?) -> Double? { micros.map { Double($0) / 1e6 } }

        public var json: [String: Any] {
            var out: [String: Any] = [
                "smp": config.smp, "gic": config.gic,
                "native_init_s": nativeInit, "keel_init_s": keelInit, "init_ratio": initRatio,
                "meets_goal": meetsGoal, "runs": native.count, "repeated_exactly": repeated,
            ]
            if let nativePowerDown { out["native_power_down_s"] = nativePowerDown }
            if let keelPowerDown { out["keel_power_down_s"] = keelPowerDown }
            if let powerDownRatio { out["power_down_ratio"] = powerDownRatio }
            if let nativeWorkload { out["native_workload_s"] = nativeWorkload }
            if let keelWorkload { out["keel_workload_s"] = keelWorkload }
            if let workloadRatio { out["workload_ratio"] = workloadRatio }
            if !repeated {
                out["native_runs_init_us"] = native.map { $0.initMicroseconds ?? -1 }
                out["keel_runs_init_us"] = keel.map { $0.initMicroseconds ?? -1 }
                out["native_runs_power_down_us"] = native.map { $0.powerDownMicroseconds ?? -1 }
                out["keel_runs_power_down_us"] = keel.map { $0.powerDownMicroseconds ?? -1 }
            }
            return out
        }
    }

    /// Runs every configuration on both sides `runs` times, `jobs` QEMUs at a time (each is
    /// one host thread under -icount; virtual time does not depend on host load).
    public static func measure(_ configs: [Config], runs: Int, jobs: Int, kernel: String, initrd: String, firmware: String,
                               dtbDirectory: String, qemu: String, timeout: Double, progress: @escaping @Sendable (String) -> Void) throws -> [Figures] {
        struct Job: Sendable { var config: Config; var side: Side; var run: Int }
        let work = configs.flatMap { c in (0..<runs).flatMap { r in [Job(config: c, side: .native, run: r), Job(config: c, side: .keel, run: r)] } }
        let dtbs = try writeDeviceTrees(configs, directory: dtbDirectory)
        let results = Locked<[Int: Swift.Result<Times, any Error>]>([:])
        let next = Locked(0)
        let group = DispatchGroup()
        for _ in 0..<max(1, min(jobs, work.count)) {
            DispatchQueue.global().async(group: group) {
                while true {
                    let i = next.withLock { n -> Int in defer { n += 1 }; return n }
                    guard i < work.count else { return }
                    let job = work[i]
                    let outcome = Swift.Result { try run(job.side, job.config, kernel: kernel, initrd: initrd, firmware: firmware, dtb: { dtbs[$0]! },
                                                               qemu: qemu, timeout: timeout) }
                    if case .success(let t) = outcome {
                        progress("\(job.config) \(job.side.rawValue) run \(job.run + 1): /init at \(t.initMicroseconds.map { String(format: "%.6f s", Double($0) / 1e6) } ?? "?")")
                    }
                    results.withLock { $0[i] = outcome }
                }
            }
        }
        group.wait()
        let all = results.withLock { $0 }
        return try configs.map { config in
            var result = Figures(config: config, native: [], keel: [])
            for (i, job) in work.enumerated() where job.config == config {
                let times = try all[i]!.get()
                if job.side == .native { result.native.append(times) } else { result.keel.append(times) }
            }
            return result
        }
    }

    public static func jsonSection(_ results: [Figures], kernelRelease: String?) -> [String: Any] {
        var section: [String: Any] = [
            "icount": icount, "bootargs": bootargs, "cpu": qemuVirt.qemuCPU.description, "vm_ram_mib": Int(layout.ramSize >> 20),
            "clock": "kernel printk timestamps (sched_clock from time_init)", "goal_ratio": goalRatio,
            "configs": Dictionary(uniqueKeysWithValues: results.map { ($0.config.description, $0.json) }),
        ]
        if let kernelRelease { section["kernel_release"] = kernelRelease }
        return section
    }
}

/// A value shared between threads behind a lock.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    public init(_ value: Value) { self.value = value }
    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T { try lock.withLock { try body(&value) } }
}
