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

    /// The sequential read, in seconds of each guest's own clock (kernel log timestamps).
    public struct SequentialRead: Sendable {
        public var bytes: Int
        /// The device-model VM's `dd` of its own image, each run.
        public var deviceModelSeconds: [Double]
        /// The frontend's `dd` of /dev/vda, each run (caches dropped between).
        public var frontendSeconds: [Double]
        /// The frontend's read of the same bytes from a file in its tmpfs: its own copy alone.
        public var frontendMemorySeconds: Double
        /// The frontend's /sys/block/vda/stat after its reads, then its read-ahead and largest
        /// request (KiB): how many requests the reads became.
        public var frontendBlockStats: String?

        public var ratio: Double { (deviceModelSeconds.min() ?? .nan) / (frontendSeconds.min() ?? .nan) }
        public var meetsGoal: Bool { ratio >= readRatioGoal }
        public func mibPerSecond(_ seconds: [Double]) -> Double { Double(bytes) / Double(1 << 20) / (seconds.min() ?? .nan) }
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
        return RoundTrip(polling: polling, readSamples: reads.map { Double($0) * nsPerTick }, writeSamples: writes.map { Double($0) * nsPerTick },
                         readMean: readMean, writeMean: writeMean)
    }

    // MARK: the sequential read

    static let selfReadStart = "keel-bench: dm read start", selfReadEnd = "keel-bench: dm read end"
    static let frontendReadStart = "keel-bench: frontend read start", frontendReadEnd = "keel-bench: frontend read end"
    static let runs = 2
    static let frontendStats = "keel-bench: vda stat "
    static let memoryReadStart = "keel-bench: frontend tmpfs read start", memoryReadEnd = "keel-bench: frontend tmpfs read end"

    /// Added to the device model's initramfs (its config's `initrd`, unpacked after keel pack's):
    /// `rdinit=/bench-init` runs it first; it waits for the frontend to boot (its driver's first
    /// access then waits for keel-dm), reads the disk twice between kernel-log markers, and goes
    /// on to keel pack's /init.
    static let deviceModelInit = """
        #!/bin/busybox sh
        export PATH=/bin
        mount -t proc proc /proc
        mount -t devtmpfs devtmpfs /dev
        sleep 3
        for run in \((1...runs).map(String.init).joined(separator: " ")); do
            echo "<2>\(selfReadStart) $run" > /dev/kmsg
            dd if=\(DeviceModelInitramfs.diskPath(device: 0)) of=/dev/null bs=1M 2> /dev/null
            echo "<2>\(selfReadEnd) $run" > /dev/kmsg
        done
        umount /dev
        umount /proc
        exec /init

        """

    /// The frontend's /init: the virtio modules, then /dev/vda read twice, caches dropped first.
    static let frontendInit = """
        #!/bin/busybox sh
        export PATH=/bin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        for m in \(VirtioModules.requiredFiles.filter { !$0.contains("net") && !$0.hasPrefix("failover") }.map { String($0.dropLast(3)) }.joined(separator: " ")); do
            insmod /lib/modules/$m.ko || echo "keel-bench: insmod $m failed"
        done
        tries=0
        while [ ! -b /dev/vda ] && [ "$tries" -lt 120 ]; do sleep 1; tries=$((tries + 1)); done
        for run in \((1...runs).map(String.init).joined(separator: " ")); do
            echo 3 > /proc/sys/vm/drop_caches
            echo "<2>\(frontendReadStart) $run" > /dev/kmsg
            dd if=/dev/vda of=/dev/null bs=1M 2> /dev/null
            echo "<2>\(frontendReadEnd) $run" > /dev/kmsg
        done
        # The same bytes from a file in the frontend's tmpfs, as the device model reads its own:
        # what the frontend's copy alone costs, without the block layer and virtio.
        dd if=/dev/vda of=/tmp/disk bs=1M 2> /dev/null
        echo "<2>\(memoryReadStart)" > /dev/kmsg
        dd if=/tmp/disk of=/dev/null bs=1M 2> /dev/null
        echo "<2>\(memoryReadEnd)" > /dev/kmsg
        # What the block layer made of it (reads, merges, sectors, ...; Documentation/block/stat.rst).
        read -r stat < /sys/block/vda/stat; read -r ra < /sys/block/vda/queue/read_ahead_kb
        read -r max < /sys/block/vda/queue/max_sectors_kb
        echo "\(frontendStats)$(echo $stat) read_ahead_kb $ra max_sectors_kb $max"
        poweroff -f

        """

    static func readConfig(kernel: String) -> String {
        """
        board = "qemu-virt"
        power_off_with = "app"

        [[vm]]
        name = "dm"
        cpus = [0]
        memory = { base = 0x4000_0000, size = "384M" }
        kernel = "\(kernel)"
        initrd = "dm-bench.cpio"
        device_model = true
        bootargs = "\(bootargs) rdinit=/bench-init"

        [[vm]]
        name = "app"
        cpus = [1]
        memory = { base = 0x4000_0000, size = "256M" }
        kernel = "\(kernel)"
        initrd = "app.cpio"
        bootargs = "\(bootargs)"

        [[vm.virtio]]
        type = "blk"
        served_by = "dm"
        disk = "disk.img"
        timeout_ms = 60000

        """
    }

    /// Boots the sequential-read system once (wall time, no -icount); `mib` MiB of random bytes.
    public static func sequentialRead(mib: Int = 64, kernel: String, linuxCache: String, firmware: String, scratch: String,
                                      timeout: Double) throws -> SequentialRead {
        let folder = try Folder(in: scratch, name: "dm-read")
        let bytes = mib << 20
        guard let random = FileHandle(forReadingAtPath: "/dev/urandom") else { throw KeelError("cannot read /dev/urandom") }
        try random.readData(ofLength: bytes).write(to: URL(fileURLWithPath: folder.path + "/disk.img"))
        let fetch = LinuxFetch(cache: linuxCache)
        guard let busybox = FileManager.default.contents(atPath: fetch.busyboxPath) else {
            throw KeelError("no busybox at \(fetch.busyboxPath): run `make linux` (keel linux fetch)", status: .noInput)
        }

        var dm = CPIOArchive()
        try dm.addDirectory("bin", permissions: 0o755)  // keel pack's is there already; the archive wants its own
        for applet in ["dd", "sleep", "umount"] { try dm.addSymlink("bin/\(applet)", target: "busybox") }
        try dm.addFile("bench-init", contents: Data(deviceModelInit.utf8), permissions: 0o755)
        try dm.encoded().write(to: URL(fileURLWithPath: folder.path + "/dm-bench.cpio"))

        var app = CPIOArchive()
        for directory in ["bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules"] { try app.addDirectory(directory, permissions: 0o755) }
        try app.addCharacterDevice("dev/console", major: 5, minor: 1, permissions: 0o600)
        try app.addFile("bin/busybox", contents: busybox, permissions: 0o755)
        for applet in ["sh", "mount", "insmod", "sleep", "dd", "poweroff"] { try app.addSymlink("bin/\(applet)", target: "busybox") }
        for module in try VirtioModules.load(from: fetch.modulesPath) {
            try app.addFile("lib/modules/\(module.name)", contents: module.contents, permissions: 0o644)
        }
        try app.addFile("init", contents: Data(frontendInit.utf8), permissions: 0o755)
        try app.encoded().write(to: URL(fileURLWithPath: folder.path + "/app.cpio"))

        let output = try run(readConfig(kernel: absolute(kernel)), in: folder, firmware: firmware, icount: false, timeout: timeout)
        let text = unprefixed(output)
        func duration(_ start: String, _ end: String) throws -> Double {
            guard let a = kernelTimestamp(of: start, in: text), let b = kernelTimestamp(of: end, in: text), b > a else {
                throw KeelError("no kernel timestamps around '\(start)' and its end:\n\(output.suffix(4000))", status: .dataError)
            }
            return b - a
        }
        func durations(_ start: String, _ end: String) throws -> [Double] {
            try (1...runs).map { try duration("\(start) \($0)", "\(end) \($0)") }
        }
        let stats = text.split(separator: "\n").first { $0.hasPrefix(frontendStats) }.map { String($0.dropFirst(frontendStats.count)) }
        return SequentialRead(bytes: bytes, deviceModelSeconds: try durations(selfReadStart, selfReadEnd),
                              frontendSeconds: try durations(frontendReadStart, frontendReadEnd),
                              frontendMemorySeconds: try duration(memoryReadStart, memoryReadEnd), frontendBlockStats: stats)
    }

    /// The kernel's timestamp, in seconds, of the log line containing `marker` exactly (followed
    /// by the line's end).
    static func kernelTimestamp(of marker: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasSuffix(marker) {
            guard let micros = LinuxBench.timestamp(line) else { continue }
            return Double(micros) / 1e6
        }
        return nil
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
