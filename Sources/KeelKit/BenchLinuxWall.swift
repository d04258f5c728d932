import Foundation
import KeelBoards

/// The Linux boot benchmark in wall time: the boot of `LinuxBench` (same kernel, initramfs,
/// bootargs, device tree shape) without -icount, so QEMU runs each vCPU on its own host thread
/// (multi-threaded TCG) as a user's `keel run` does, and the figures are what a person waits.
/// Two clocks: the guest's uptime when its /init powers off (the kernel's printk timestamp of
/// "reboot: Power down", counted from `time_init`: Linux's own run), and the host's wall clock
/// from QEMU's start to its exit (that plus QEMU's start-up and, under Keel, Keel's boot and its
/// copy of the images into the VM). Both sides get a fresh `rng-seed` in their device tree, as
/// `keel run` and QEMU give their guests.
///
/// Wall time depends on the host: its cores (vCPUs beyond them share one), and whatever else
/// runs. Runs are one at a time, native and Keel alternately, and the figure of each side is
/// the median of its runs. A benchmark figure, never a test's pass or fail.
public enum LinuxWallBench {
    /// The configurations of issue 14: GICv3, 1, 2 and 4 vCPUs.
    public static let defaultConfigs = [1, 2, 4].map { LinuxBench.Config(smp: $0, gic: 3) }
    /// Keel / native that the benchmark aims at, on either clock.
    public static let goalRatio = 1.2

    /// One boot: guest uptime at power-off and host wall clock, in seconds.
    public struct Run: Equatable, Sendable {
        public var uptime: Double
        public var wall: Double
        public init(uptime: Double, wall: Double) { self.uptime = uptime; self.wall = wall }
    }

    /// One configuration's runs, both sides.
    public struct Figures: Sendable {
        public var config: LinuxBench.Config
        public var native: [Run]
        public var keel: [Run]
        public init(config: LinuxBench.Config, native: [Run], keel: [Run]) {
            self.config = config; self.native = native; self.keel = keel
        }

        public var nativeUptime: Double { LinuxWallBench.median(native.map(\.uptime)) }
        public var keelUptime: Double { LinuxWallBench.median(keel.map(\.uptime)) }
        public var nativeWall: Double { LinuxWallBench.median(native.map(\.wall)) }
        public var keelWall: Double { LinuxWallBench.median(keel.map(\.wall)) }
        public var uptimeRatio: Double { keelUptime / nativeUptime }
        public var wallRatio: Double { keelWall / nativeWall }
        public var meetsGoal: Bool { uptimeRatio <= LinuxWallBench.goalRatio }

        public var json: [String: Any] {
            [
                "smp": config.smp, "gic": config.gic, "runs": native.count,
                "native_uptime_s": nativeUptime, "keel_uptime_s": keelUptime, "uptime_ratio": uptimeRatio,
                "native_wall_s": nativeWall, "keel_wall_s": keelWall, "wall_ratio": wallRatio,
                "meets_goal": meetsGoal,
                "native_runs_uptime_s": native.map(\.uptime), "keel_runs_uptime_s": keel.map(\.uptime),
                "native_runs_wall_s": native.map(\.wall), "keel_runs_wall_s": keel.map(\.wall),
            ]
        }

        /// The table's row: config, native and Keel uptime and ratio, native and Keel wall and ratio.
        public var row: [String] {
            [config.description, String(format: "%.2f", nativeUptime), String(format: "%.2f", keelUptime),
             String(format: "%.2f", uptimeRatio), String(format: "%.2f", nativeWall), String(format: "%.2f", keelWall),
             String(format: "%.2f", wallRatio)]
        }
    }

    public static let header = ["config", "native uptime s", "Keel uptime s", "ratio", "native wall s", "Keel wall s", "ratio"]

    /// The middle value (the mean of the two middle ones for an even count); nan for none.
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// The goal line under the table.
    public static func summary(_ results: [Figures]) -> String {
        let worst = results.map(\.uptimeRatio).max() ?? .nan
        let met = !results.isEmpty && results.allSatisfy(\.meetsGoal)
        return String(format: "goal Keel / native <= %.2f in guest uptime, no -icount: %@ (worst %.2f)", goalRatio,
                      met ? "met" : "NOT met", worst)
    }

    /// QEMU's arguments for one side, without -icount; `dtb` (native) and the bundle (Keel)
    /// each carry a fresh seed.
    static func arguments(_ side: LinuxBench.Side, _ config: LinuxBench.Config, kernel: String, initrd: String,
                          firmware: String, scratch: String) throws -> ([String], TemporaryBundle?) {
        switch side {
        case .native:
            let dtb = (scratch as NSString).appendingPathComponent("linux-wall-\(config).dtb")
            let tree = try LinuxBench.deviceTree(config, rngSeed: LinuxGuest.freshRNGSeed())
            try Data(tree).write(to: URL(fileURLWithPath: dtb))
            return (LinuxBench.nativeArguments(config, dtb: dtb, kernel: kernel, initrd: initrd, icount: false), nil)
        case .keel:
            let (command, bundle) = try LinuxBench.keelCommand(config, firmware: firmware, kernel: kernel, initrd: initrd,
                                                               icount: false, rngSeed: LinuxGuest.freshRNGSeed())
            return (command.arguments, bundle)
        }
    }

    /// One boot of one side, timed. Throws as `LinuxBench.run` does for a boot that failed.
    static func run(_ side: LinuxBench.Side, _ config: LinuxBench.Config, kernel: String, initrd: String, firmware: String,
                    scratch: String, qemu: String, timeout: Double) throws -> Run {
        let (arguments, bundle) = try arguments(side, config, kernel: kernel, initrd: initrd, firmware: firmware, scratch: scratch)
        let start = DispatchTime.now()
        let (status, console) = try LinuxBench.runProcess(qemu, arguments, timeout: timeout)
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        withExtendedLifetime(bundle) {}
        let times = LinuxBench.parse(console)
        let what = "\(side.rawValue) \(config) (wall time)"
        guard !console.contains(QEMURunner.panicMarker) else { throw KeelError("\(what): the hypervisor panicked\n\(LinuxBench.tail(console))") }
        guard status == 0, let off = times.powerDownMicroseconds else {
            throw KeelError("\(what): no clean power-off (QEMU status \(status.map(String.init) ?? "none"))\n\(LinuxBench.tail(console))")
        }
        guard times.cpusOnline == config.smp else {
            throw KeelError("\(what): /init saw \(times.cpusOnline.map(String.init) ?? "no") CPUs online, not \(config.smp)")
        }
        return Run(uptime: Double(off) / 1e6, wall: wall)
    }

    /// Every configuration, `runs` boots of each side, one QEMU at a time, native and Keel
    /// alternately (so that a burst of host load falls on both).
    public static func measure(_ configs: [LinuxBench.Config], runs: Int, kernel: String, initrd: String, firmware: String,
                               scratch: String, qemu: String, timeout: Double,
                               progress: (String) -> Void) throws -> [Figures] {
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        return try configs.map { config in
            var figures = Figures(config: config, native: [], keel: [])
            for n in 0..<runs {
                for side in [LinuxBench.Side.native, .keel] {
                    let run = try run(side, config, kernel: kernel, initrd: initrd, firmware: firmware, scratch: scratch,
                                      qemu: qemu, timeout: timeout)
                    if side == .native { figures.native.append(run) } else { figures.keel.append(run) }
                    progress(String(format: "%@ %@ wall run %d: power-off at %.2f s uptime, %.2f s wall", config.description,
                                    side.rawValue, n + 1, run.uptime, run.wall))
                }
            }
            return figures
        }
    }

    public static func jsonSection(_ results: [Figures]) -> [String: Any] {
        [
            "icount": "none (multi-threaded TCG)", "bootargs": LinuxBench.bootargs, "cpu": qemuVirt.qemuCPU.description,
            "host_cores": ProcessInfo.processInfo.activeProcessorCount,
            "uptime_clock": "guest printk timestamp of 'reboot: Power down' (init's end), from time_init",
            "wall_clock": "host, QEMU start to exit", "statistic": "median of the runs", "goal_ratio": goalRatio,
            "goal_met": !results.isEmpty && results.allSatisfy(\.meetsGoal),
            "configs": Dictionary(uniqueKeysWithValues: results.map { ($0.config.description, $0.json) }),
        ]
    }
}
