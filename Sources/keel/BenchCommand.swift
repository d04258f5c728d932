import ArgumentParser
import Foundation
import KeelCore
import KeelKit

/// `keel bench`: the benchmark figures, as a table and as JSON (`keel bench` alone is
/// `keel bench guest`).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks under QEMU -icount: the bench guest and trace decoder (default), Linux boot, the device-model VM, or virtio-net.",
        subcommands: [BenchGuest.self, BenchLinux.self, BenchDM.self, BenchVirtioNet.self],
        defaultSubcommand: BenchGuest.self
    )
}

/// `keel bench [guest]`: exit round trips measured by the bench guest, and the trace decoder.
struct BenchGuest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guest",
        abstract: "Run the benchmark guest under QEMU -icount and the trace decoder benchmark."
    )

    @Option(help: "The benchmark guest.") var guest = "build/guests/bench.bin"
    @Option(help: "The interrupt benchmark guest's ELF (run natively; Keel loads the .bin beside it).")
    var irqGuest = "build/guests/benchirq.elf"
    @Option(help: "The Keel firmware image (default: build/hyp/keel.bin).") var firmware: String?
    @Option(help: "The firmware's ELF, for the size figures (default: keel.elf beside the image).") var elf: String?
    @Option(help: "Where to write the JSON results.") var json = "build/bench/results.json"
    @Option(help: ArgumentHelp("Keel's boot arguments besides keel.trace= (QEMU -append), e.g. keel.test.entry=clrbhb for the test firmware's forced vector table.",
                               discussion: "The results go under the key \"bootargs <ARGUMENTS>\" of the JSON."))
    var bootargs = ""
    @Option(help: "Records for the decoder throughput figure.") var records = 1_000_000
    @Flag(help: "Only the trace decoder figures (no QEMU).") var decoderOnly = false

    func run() throws {
        if decoderOnly {
            let decoder = Bench.decoderThroughput(records: records)
            print(String(format: "trace decoder: %.2f M records per second, one core", decoder.recordsPerSecond / 1e6))
            let command = try decodeCommand()
            print(String(format: "keel trace decode, whole command: %d records in %.2f s (%.2f s CPU), %.2f M records per second",
                         records, command.seconds, command.cpuSeconds, command.recordsPerSecond / 1e6))
            return
        }
        let firmwarePath: String
        do { firmwarePath = try Firmware.locate(explicit: firmware) } catch let error as KeelError { throw failure(error) }

        var results: [String: Any] = ["icount": "shift=0", "board": "qemu-virt", "cpu": "cortex-a72"]
        var trips: [[String]] = [["figure", "counters", "full trace", "memory trace", "unit"]]
        var rows: [[String]] = [["figure", "native", "Keel", "unit"]]

        let counters = Bench.parse(try Bench.runGuest(firmware: firmwarePath, guest: guest, traceMode: .counters, bootargs: bootargs))
        let full = Bench.parse(try Bench.runGuest(firmware: firmwarePath, guest: guest, traceMode: .full, bootargs: bootargs))
        let memory = Bench.parse(try Bench.runGuest(firmware: firmwarePath, guest: guest, traceMode: .memory, bootargs: bootargs))
        guard let hz = counters.counterHz, !counters.figures.isEmpty else { throw failure("the bench guest printed no figures", .dataError) }
        let base = Bench.instructionsPerIteration(counters.figures, counterHz: hz)
        let traced = Bench.instructionsPerIteration(full.figures, counterHz: full.counterHz ?? hz)
        let inMemory = Bench.instructionsPerIteration(memory.figures, counterHz: memory.counterHz ?? hz)
        var round: [String: Any] = [:]
        for name in base.keys.sorted() {
            round[name] = ["counters": base[name]!, "full_trace": traced[name] ?? 0, "memory_trace": inMemory[name] ?? 0]
            trips.append([name, String(format: "%.1f", base[name]!), String(format: "%.1f", traced[name] ?? 0),
                          String(format: "%.1f", inMemory[name] ?? 0), "instructions per round trip"])
        }
        results["round_trip_instructions"] = round
        if let a = base["hvc_null"], let b = traced["hvc_null"], let c = inMemory["hvc_null"] {
            results["full_trace_cost_per_exit_instructions"] = b - a
            results["memory_trace_cost_per_exit_instructions"] = c - a
            trips.append(["trace cost per exit", "", String(format: "%.1f", b - a), String(format: "%.1f", c - a), "instructions (hvc_null)"])
        }

        // Interrupts: the same guest natively and under Keel.
        let native: [String: Double], keel: [String: Double]
        do {
            native = try IRQBench.run(.native, elf: irqGuest, firmware: firmwarePath)
            keel = try IRQBench.run(.keel, elf: irqGuest, firmware: firmwarePath, bootargs: bootargs)
        } catch let error as KeelError {
            throw failure(error)
        }
        var interrupts: [String: Any] = [:]
        for name in IRQBench.figureNames {
            let (n, k) = (native[name]!, keel[name]!)
            interrupts[name] = ["native": n, "keel": k, "keel_minus_native": k - n, "description": IRQBench.descriptions[name]!]
            rows.append([name, String(format: "%.1f", n), String(format: "%.1f", k), "instructions: " + IRQBench.descriptions[name]!])
        }
        results["interrupt_instructions"] = interrupts

        // Size: sections and static pools, from the ELF.
        let elfPath = elf ?? (firmwarePath as NSString).deletingPathExtension + ".elf"
        let size: FirmwareFootprint
        do { size = try FirmwareFootprint(elf: elfPath) } catch let error as KeelError { throw failure(error) }
        results["firmware_bytes"] = ["text": size.text, "rodata": size.rodata, "data": size.data, "bss": size.bss,
                                     "text_rodata_data": size.loaded]
        results["ram_bytes"] = ["per_vcpu": size.ramPerVCPU, "vcpu_slot": size.vcpuSlot, "stack_per_cpu": size.stackPerCPU,
                                "per_vm_structure": size.vmStructure, "stage2_page_pool": size.pagePool,
                                "trace_rings": size.traceRings, "max_cpus": size.maxCPUs]
        rows.append(["firmware text + rodata + data", "", "\(size.loaded)", "bytes (text \(size.text), rodata \(size.rodata), data \(size.data)); bss \(size.bss)"])
        let reach: FirmwareReach
        do { reach = try FirmwareReach(elf: elfPath) } catch let error as KeelError { throw failure(error) }
        results["firmware_text_after_boot"] = [
            "resident": reach.residentBytes, "boot_only": reach.bootOnlyBytes, "unreached": reach.unreachedBytes,
            "description": "bytes of .text reachable after boot (from the vectors, the entries of CPUs started later and every function whose address data holds) and reachable from the boot entry only (FirmwareReach: direct branches and calls, ADR, ADRP + ADD and literal loads, data words)",
        ]
        rows.append(["firmware text after boot", "", "\(reach.residentBytes)",
                     "bytes reachable after boot; \(reach.bootOnlyBytes) only at boot, \(reach.unreachedBytes) from neither"])
        rows.append(["RAM per vCPU", "", "\(size.ramPerVCPU)", "bytes (vCPU slot \(size.vcpuSlot) + stack \(size.stackPerCPU))"])
        rows.append(["RAM per VM", "", "\(size.vmStructure)", "bytes (VM slot) + stage-2 tables from a \(size.pagePool / 1024) KiB shared pool"])

        let decoder = Bench.decoderThroughput(records: records)
        results["decoder_records_per_second"] = decoder.recordsPerSecond
        rows.append(["trace decoder", "", String(format: "%.2f M", decoder.recordsPerSecond / 1e6), "records per second, one core"])
        let command = try decodeCommand()
        results["decode_command"] = ["records": records, "seconds": command.seconds, "records_per_second": command.recordsPerSecond,
                                     "cpu_seconds": command.cpuSeconds,
                                     "description": "keel trace decode of a generated trace, whole command, output to /dev/null"]
        rows.append(["keel trace decode (whole command)", "", String(format: "%.2f M", command.recordsPerSecond / 1e6),
                     String(format: "records per second (%d records in %.2f s, %.2f s CPU)", records, command.seconds, command.cpuSeconds)])

        printTable(trips)
        printTable(rows)
        if !bootargs.isEmpty { results["bootargs"] = bootargs }
        try Bench.mergeResults(bootargs.isEmpty ? results : ["bootargs \(bootargs)": results], into: json)
        print("results: \(json)")
    }
}

extension BenchGuest {
    /// `keel trace decode` of a generated trace by this very executable, timed as a whole.
    func decodeCommand() throws -> (recordsPerSecond: Double, seconds: Double, cpuSeconds: Double) {
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        do { return try Bench.decodeCommandThroughput(records: records, executable: executable) } catch let error as KeelError {
            throw ValidationError(error.message)
        }
    }
}

/// `keel bench linux`: time from kernel entry to /init, natively and under Keel.
struct BenchLinux: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linux",
        abstract: "Boot the same Linux kernel and initramfs natively and under Keel (QEMU -icount, then wall time); compare.",
        discussion: """
            Both sides run qemu-system-aarch64 -M virt with -icount shift=0,sleep=off (one \
            instruction, guest or Keel, is 1 ns of virtual time), the same device tree \
            (GuestDeviceTree), kernel, initramfs and bootargs "\(LinuxBench.bootargs)". The figures \
            are the kernel's printk timestamps of "\(Initramfs.Marker.kernelLog)" and of \
            "reboot: Power down". Then the wall-time figures: the same boots without -icount \
            (multi-threaded TCG), one at a time, each side with a fresh rng-seed: the guest's \
            uptime at "reboot: Power down" and the host's wall clock, the median of --wall-runs \
            boots of each side.
            """
    )

    @Option(help: "The Linux arm64 Image.") var kernel = LinuxFetch(cache: LinuxFetch.defaultCache).imagePath
    @Option(help: "The initramfs (its /init logs \"\(Initramfs.Marker.kernelLog)\").") var initrd = LinuxFetch(cache: LinuxFetch.defaultCache).initramfsPath
    @Option(help: "The Keel firmware image (default: build/hyp/keel.bin).") var firmware: String?
    @Option(help: "Where to merge the JSON results (key linux_boot).") var json = "build/bench/results.json"
    @Option(name: .customLong("config"), help: "CPUS:GIC, repeatable (default: 1:3, 4:3, 2:2).") var configs: [String] = []
    @Option(help: "Boots of each side of each configuration (they should agree exactly).") var runs = 2
    @Option(help: "QEMUs at a time (default: the host's cores).") var jobs = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Seconds before a boot that has not powered off is stopped.") var timeout: Double = 600
    @Option(help: "The QEMU executable.") var qemu = "qemu-system-aarch64"
    @Option(help: "Wall-time boots (no -icount) of each side of each wall-time configuration, one QEMU at a time; 0: none.")
    var wallRuns = 3
    @Option(name: .customLong("wall-config"), help: "CPUS:GIC for the wall-time figures, repeatable (default: 1:3, 2:3, 4:3).")
    var wallConfigs: [String] = []
    @Flag(help: "Only the wall-time figures (no -icount boots).") var wallOnly = false

    func run() throws {
        var parsed: [LinuxBench.Config] = []
        for argument in configs {
            guard let config = LinuxBench.Config(argument: argument) else {
                throw ValidationError("--config \(argument): expected CPUS:GIC, CPUS 1 to \(GuestDeviceTree.maxVCPUs), GIC 2 or 3")
            }
            parsed.append(config)
        }
        let chosen = parsed.isEmpty ? LinuxBench.defaultConfigs : parsed
        var wallParsed: [LinuxBench.Config] = []
        for argument in wallConfigs {
            guard let config = LinuxBench.Config(argument: argument) else {
                throw ValidationError("--wall-config \(argument): expected CPUS:GIC, CPUS 1 to \(GuestDeviceTree.maxVCPUs), GIC 2 or 3")
            }
            wallParsed.append(config)
        }
        let wallChosen = wallParsed.isEmpty ? LinuxWallBench.defaultConfigs : wallParsed
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard wallRuns >= 0 else { throw ValidationError("--wall-runs must be 0 or more") }
        guard !wallOnly || wallRuns >= 1 else { throw ValidationError("--wall-only needs --wall-runs of 1 or more") }
        for (what, path) in [("kernel", kernel), ("initramfs", initrd)] where !FileManager.default.fileExists(atPath: path) {
            throw failure("no \(what) at \(path): run `make linux` (or `keel linux fetch`) first", .noInput)
        }
        let firmwarePath: String
        do { firmwarePath = try Firmware.locate(explicit: firmware) } catch let error as KeelError { throw failure(error) }

        let scratch = { let d = (json as NSString).deletingLastPathComponent; return d.isEmpty ? "." : d }()
        if !wallOnly { try icountFigures(chosen, firmware: firmwarePath, scratch: scratch) }
        if wallRuns > 0 { try wallFigures(wallChosen, firmware: firmwarePath, scratch: scratch) }
    }

    /// The -icount figures: time to /init, the workload and power-off, exactly repeatable.
    private func icountFigures(_ chosen: [LinuxBench.Config], firmware firmwarePath: String, scratch: String) throws {
        let start = Date()
        let results: [LinuxBench.Figures]
        do {
            results = try LinuxBench.measure(chosen, runs: runs, jobs: jobs, kernel: kernel, initrd: initrd, firmware: firmwarePath,
                                             dtbDirectory: scratch, qemu: qemu, timeout: timeout, progress: { print("  \($0)") })
        } catch let error as KeelError {
            throw failure(error)
        }
        let wall = Date().timeIntervalSince(start)

        func s(_ value: Double?) -> String { value.map { String(format: "%.6f", $0) } ?? "-" }
        func r(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "-" }
        var rows = [["config", "native /init s", "Keel /init s", "ratio", "native work s", "Keel work s", "ratio",
                     "native off s", "Keel off s", "ratio", "repeats"]]
        for result in results {
            rows.append([result.config.description, s(result.nativeInit), s(result.keelInit), r(result.initRatio),
                         s(result.nativeWorkload), s(result.keelWorkload), r(result.workloadRatio),
                         s(result.nativePowerDown), s(result.keelPowerDown), r(result.powerDownRatio),
                         result.repeated ? "exactly (\(runs) runs)" : "NO"])
        }
        printTable(rows)
        let worst = results.map(\.initRatio).max() ?? .nan
        let met = results.allSatisfy(\.meetsGoal)
        print(String(format: "goal Keel / native <= %.2f to /init: %@ (worst %.4f)", LinuxBench.goalRatio, met ? "met" : "NOT met", worst))
        let worstWork = results.compactMap(\.workloadRatio).max() ?? .nan
        print(String(format: "goal Keel / native <= %.3f for the workload: %@ (worst %.4f)", LinuxBench.workloadGoalRatio,
                     worstWork <= LinuxBench.workloadGoalRatio ? "met" : "NOT met", worstWork))
        if !results.allSatisfy(\.repeated) { print("warning: some runs did not repeat exactly (see \(json))") }
        print(String(format: "wall time %.0f s", wall))

        let release = (try? String(contentsOfFile: (kernel as NSString).deletingLastPathComponent + "/kernel-version", encoding: .utf8))
            .flatMap { $0.split(separator: "\n").first.map(String.init) }
        var section = LinuxBench.jsonSection(results, kernelRelease: release)
        section["goal_met"] = met
        section["wall_seconds"] = wall
        try Bench.mergeResults(["linux_boot": section], into: json)
        print("results: \(json)")
    }

    /// The wall-time figures: the same boots without -icount, one at a time (LinuxWallBench).
    private func wallFigures(_ chosen: [LinuxBench.Config], firmware firmwarePath: String, scratch: String) throws {
        print("wall time, no -icount (multi-threaded TCG), \(ProcessInfo.processInfo.activeProcessorCount) host cores, median of \(wallRuns) runs:")
        let results: [LinuxWallBench.Figures]
        do {
            results = try LinuxWallBench.measure(chosen, runs: wallRuns, kernel: kernel, initrd: initrd, firmware: firmwarePath,
                                                 scratch: scratch, qemu: qemu, timeout: timeout, progress: { print("  \($0)") })
        } catch let error as KeelError {
            throw failure(error)
        }
        printTable([LinuxWallBench.header] + results.map(\.row))
        print(LinuxWallBench.summary(results))
        try Bench.mergeResults(["linux_wall": LinuxWallBench.jsonSection(results)], into: json)
        print("results: \(json)")
    }
}

/// `keel bench dm`: a virtio device served by keel-dm in a Linux device-model VM (issue 15).
struct BenchDM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dm",
        abstract: "The forwarded MMIO round trip to keel-dm (interrupt and polling mode, -icount) and virtio-blk sequential read (wall time).",
        discussion: """
            Round trip: the bare-metal frontend dm_bench reads (Version) and writes (config \
            space) a virtio-blk transport served by keel-dm in a Linux device-model VM with one \
            vCPU, under QEMU -icount \(DeviceModelBench.icount); each round trip is timed alone \
            and the median is the figure (goals: <= \(Int(DeviceModelBench.interruptGoal)) \
            instructions in interrupt mode, <= \(Int(DeviceModelBench.pollingGoal)) polling). \
            Sequential read: in one run without -icount, the device-model VM reads its 64 MiB \
            image itself, then a Linux frontend reads it through /dev/vda (dd bs=1M buffered, \
            then with iflag=direct; twice each, the faster kept); the figures are the device \
            model's time over the frontend's buffered read and over its direct read, each the \
            median of --read-runs boots (goal >= \(DeviceModelBench.readRatioGoal)). After each \
            boot, the same frontend boots on QEMU alone with its disk on QEMU's own virtio-blk \
            device (--no-qemu-device: not): the reference, a device that costs the frontend next \
            to nothing, reported as its read time over Keel's frontend's (1: as fast).
            """
    )

    @Option(help: "The Linux arm64 Image of both Linux VMs.") var kernel = LinuxFetch(cache: LinuxFetch.defaultCache).imagePath
    @Option(help: "Where `keel linux fetch` keeps busybox and the virtio modules.") var linuxCache = LinuxFetch.defaultCache
    @Option(help: "The round-trip frontend (raw binary).") var frontend = "build/guests/dm_bench.bin"
    @Option(help: "The Keel firmware image (default: build/hyp/keel.bin).") var firmware: String?
    @Option(help: "Where to merge the JSON results (key device_model).") var json = "build/bench/results.json"
    @Option(help: "Seconds before a run that has not powered off is stopped.") var timeout: Double = 900
    @Option(help: "Boots for the sequential read (the figure is the median ratio).") var readRuns = 3
    @Flag(help: "Only the round trips.") var roundTripOnly = false
    @Flag(help: "Only the sequential read.") var readOnly = false
    @Flag(inversion: .prefixedNo, help: "After each sequential-read boot, boot the frontend on QEMU alone with its disk on QEMU's own virtio-blk device (the reference: no hypervisor, the device served in the host).")
    var qemuDevice = true

    func run() throws {
        guard !(roundTripOnly && readOnly) else { throw ValidationError("--round-trip-only and --read-only exclude each other") }
        guard readRuns >= 1 else { throw ValidationError("--read-runs must be at least 1") }
        for (what, path) in [("kernel", kernel), ("round-trip frontend", frontend)] where !FileManager.default.fileExists(atPath: path) {
            throw failure("no \(what) at \(path): run `make all linux` first", .noInput)
        }
        let firmwarePath: String
        do { firmwarePath = try Firmware.locate(explicit: firmware) } catch let error as KeelError { throw failure(error) }
        let scratch = { let d = (json as NSString).deletingLastPathComponent; return d.isEmpty ? "." : d }()
        var section: [String: Any] = [:]
        do {
            if !readOnly {
                var rows = [["round trip", "median read", "median write", "mean read", "mean write", "samples", "goal"]]
                var trips: [String: Any] = [:]
                for polling in [false, true] {
                    let trip = try DeviceModelBench.roundTrip(polling: polling, kernel: kernel, frontend: frontend, firmware: firmwarePath,
                                                              scratch: scratch, timeout: timeout)
                    rows.append([trip.mode, String(format: "%.0f", trip.readMedian), String(format: "%.0f", trip.writeMedian),
                                 String(format: "%.0f", trip.readMean), String(format: "%.0f", trip.writeMean),
                                 "\(trip.readSamples.count) + \(trip.writeSamples.count)",
                                 String(format: "<= %.0f: %@", trip.goal, trip.meetsGoal ? "met" : "NOT met")])
                    trips[trip.mode] = ["read_median": trip.readMedian, "write_median": trip.writeMedian, "read_mean": trip.readMean,
                                        "write_mean": trip.writeMean, "read_min": trip.readSamples.min() ?? 0, "read_max": trip.readSamples.max() ?? 0,
                                        "samples": trip.readSamples.count, "goal": trip.goal, "goal_met": trip.meetsGoal]
                }
                printTable(rows)
                print("(instructions per forwarded round trip under -icount \(DeviceModelBench.icount), Keel and both VMs counted)")
                trips["unit"] = "instructions per round trip (frontend dm_bench -> Keel -> keel-dm in a 1-vCPU Linux VM -> Keel -> frontend), -icount \(DeviceModelBench.icount)"
                section["mmio_round_trip"] = trips
            }
            if !roundTripOnly {
                var boots: [DeviceModelBench.SequentialRead] = []
                for boot in 1...readRuns {
                    print("  sequential read, boot \(boot) of \(readRuns)")
                    boots.append(try DeviceModelBench.sequentialRead(kernel: kernel, linuxCache: linuxCache, firmware: firmwarePath,
                                                                     scratch: scratch, timeout: timeout, qemuDevice: qemuDevice))
                }
                func times(_ values: [Double]) -> String { values.map { String(format: "%.3f", $0) }.joined(separator: " ") }
                var rows = [["sequential read, \(boots[0].bytes >> 20) MiB", "keel-dm's VM, own image (s)", "frontend, /dev/vda buffered (s)",
                             "frontend, /dev/vda direct (s)", "frontend, tmpfs file (s)", "ratio buffered", "ratio direct",
                             "MiB/s dm, buffered, direct"]]
                for (i, read) in boots.enumerated() {
                    rows.append(["boot \(i + 1)", times(read.deviceModelSeconds), times(read.frontendSeconds), times(read.frontendDirectSeconds),
                                 String(format: "%.3f", read.frontendMemorySeconds), String(format: "%.2f", read.ratio),
                                 String(format: "%.2f", read.directRatio),
                                 String(format: "%.0f, %.0f, %.0f", read.mibPerSecond(read.deviceModelSeconds), read.mibPerSecond(read.frontendSeconds),
                                        read.mibPerSecond(read.frontendDirectSeconds))])
                }
                if qemuDevice {
                    rows.append(["QEMU's own virtio-blk, no Keel", "", "frontend, /dev/vda buffered (s)", "frontend, /dev/vda direct (s)",
                                 "frontend, tmpfs file (s)", "ratio buffered", "ratio direct", "its time / Keel's, buffered, direct"])
                    for (i, read) in boots.enumerated() {
                        guard let own = read.qemuDevice else { continue }
                        rows.append(["boot \(i + 1)", "", times(own.bufferedSeconds), times(own.directSeconds), String(format: "%.3f", own.memorySeconds),
                                     String(format: "%.2f", read.qemuDeviceGoalRatio ?? .nan), String(format: "%.2f", read.qemuDeviceGoalDirectRatio ?? .nan),
                                     String(format: "%.2f, %.2f", read.qemuDeviceRatio ?? .nan, read.qemuDeviceDirectRatio ?? .nan)])
                    }
                }
                printTable(rows)
                let ratio = DeviceModelBench.median(boots.map(\.ratio))
                let directRatio = DeviceModelBench.median(boots.map(\.directRatio))
                for (what, value) in [("buffered (dd bs=1M)", ratio), ("direct I/O (dd bs=1M iflag=direct)", directRatio)] {
                    print(String(format: "goal frontend / keel-dm's own read >= %.1f, frontend %@ (wall time, median of %d boots): %@ (%.2f)",
                                 DeviceModelBench.readRatioGoal, what, boots.count, value >= DeviceModelBench.readRatioGoal ? "met" : "NOT met", value))
                }
                // The reference's medians, over the boots that measured it: printed and kept.
                var qemuOwn: [String: Any] = [:]
                let measured = boots.filter { $0.qemuDevice != nil }
                if !measured.isEmpty {
                    func median(_ figure: (DeviceModelBench.SequentialRead) -> Double?) -> Double { DeviceModelBench.median(measured.compactMap(figure)) }
                    let goal = median(\.qemuDeviceGoalRatio), goalDirect = median(\.qemuDeviceGoalDirectRatio)
                    let time = median(\.qemuDeviceRatio), timeDirect = median(\.qemuDeviceDirectRatio)
                    print(String(format: "reference, the same frontend on QEMU alone with its disk on QEMU's own virtio-blk (median of %d boots): keel-dm's own read / its read: buffered %.2f, direct %.2f; its read time / Keel's frontend's (1: Keel's as fast): buffered %.2f, direct %.2f",
                                 measured.count, goal, goalDirect, time, timeDirect))
                    qemuOwn = ["qemu_device_ratio_median": time, "qemu_device_direct_ratio_median": timeDirect,
                               "qemu_device_goal_ratio_median": goal, "qemu_device_goal_direct_ratio_median": goalDirect]
                }
                if let stats = boots.last?.frontendBlockStats { print("frontend /sys/block/vda/stat after its reads: \(stats)") }
                section["blk_sequential_read"] = qemuOwn.merging([
                    "bytes": boots[0].bytes, "ratio_median": ratio, "goal": DeviceModelBench.readRatioGoal,
                    "goal_met": ratio >= DeviceModelBench.readRatioGoal,
                    "direct_ratio_median": directRatio, "direct_goal_met": directRatio >= DeviceModelBench.readRatioGoal,
                    "boots": boots.map { ["device_model_seconds": $0.deviceModelSeconds, "frontend_seconds": $0.frontendSeconds,
                                          "frontend_direct_seconds": $0.frontendDirectSeconds,
                                          "frontend_tmpfs_seconds": $0.frontendMemorySeconds, "ratio": $0.ratio, "direct_ratio": $0.directRatio,
                                          "frontend_block_stat": $0.frontendBlockStats ?? "",
                                          "qemu_device_seconds": $0.qemuDevice?.bufferedSeconds ?? [],
                                          "qemu_device_direct_seconds": $0.qemuDevice?.directSeconds ?? [],
                                          "qemu_device_tmpfs_seconds": $0.qemuDevice?.memorySeconds ?? 0] as [String: Any] },
                    "description": "wall time (no -icount), guest kernel-log timestamps around dd bs=1M; ratio = the device-model VM's read of its own image / the frontend's buffered read of /dev/vda (caches dropped, through its page cache); direct_ratio = the same over the frontend's dd iflag=direct read (O_DIRECT, no page-cache copy in the frontend); best of two each per boot, medians over boots; tmpfs = the frontend's read of the same bytes from a file in its tmpfs (its own copy without block layer and virtio); qemu_device = the same frontend booted on QEMU alone (no hypervisor, one vCPU, 256 MiB, cortex-a72) with the disk on QEMU's own virtio-blk device, served in the host; qemu_device_ratio = its best buffered read time / Keel's frontend's (1: Keel's frontend as fast), qemu_device_direct_ratio the same for direct I/O; qemu_device_goal_ratio = ratio with that frontend in place of Keel's (the device model's best read / its best buffered read: the figure when the device costs next to nothing), qemu_device_goal_direct_ratio the same for direct I/O",
                ]) { $1 }
            }
        } catch let error as KeelError {
            throw failure(error)
        }
        // Merged key by key: a --round-trip-only run keeps the last read figure, and the reverse.
        var merged = section
        if let data = FileManager.default.contents(atPath: json),
           let existing = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["device_model"] as? [String: Any] {
            merged = existing.merging(section) { $1 }
        }
        try Bench.mergeResults(["device_model": merged], into: json)
        print("results: \(json)")
    }
}

/// Rows as a table: the first column left-aligned, the others right-aligned, two spaces apart.
private func printTable(_ rows: [[String]]) {
    guard let first = rows.first else { return }
    let width = first.indices.map { c in rows.map { $0[c].count }.max()! }
    for row in rows {
        print(row.enumerated().map { $0.offset == 0 ? $0.element.padding(toLength: width[0], withPad: " ", startingAt: 0)
            : String(repeating: " ", count: width[$0.offset] - $0.element.count) + $0.element }.joined(separator: "  "))
    }
}
