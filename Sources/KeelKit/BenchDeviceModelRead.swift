import Foundation
import KeelBoards

/// `keel bench dm`'s virtio-blk sequential read (`DeviceModelBench`): in one run without
/// `-icount`, the device-model VM reads its 64 MiB image itself, then a Linux frontend reads it
/// through `/dev/vda`, buffered (through its page cache) and with direct I/O (`iflag=direct`, as
/// fio's `direct=1` benchmarks of virtio-blk read: no page-cache copy in the frontend). The
/// reference: the same frontend on QEMU alone, its disk on QEMU's own virtio-blk device.
extension DeviceModelBench {
    /// The sequential read, in seconds of each guest's own clock (kernel log timestamps).
    public struct SequentialRead: Sendable {
        public var bytes: Int
        /// The device-model VM's `dd` of its own image, each run.
        public var deviceModelSeconds: [Double]
        /// The frontend's buffered `dd` of /dev/vda, each run (caches dropped between).
        public var frontendSeconds: [Double]
        /// The frontend's `dd iflag=direct` of /dev/vda, each run.
        public var frontendDirectSeconds: [Double]
        /// The frontend's read of the same bytes from a file in its tmpfs: its own copy alone.
        public var frontendMemorySeconds: Double
        /// The frontend's /sys/block/vda/stat after its reads, then its read-ahead and largest
        /// request (KiB): how many requests the reads became.
        public var frontendBlockStats: String?
        /// The same frontend (kernel, /init, disk) booted by QEMU alone, no hypervisor, its disk
        /// on QEMU's own virtio-blk device (served by QEMU in the host, as QEMU serves a KVM
        /// guest): what the frontend's reads take when the device costs next to nothing. Nil
        /// when not measured.
        public var qemuDevice: FrontendReads?

        /// The device model's best read over the frontend's best buffered read.
        public var ratio: Double { (deviceModelSeconds.min() ?? .nan) / (frontendSeconds.min() ?? .nan) }
        /// The device model's best read over the frontend's best direct-I/O read.
        public var directRatio: Double { (deviceModelSeconds.min() ?? .nan) / (frontendDirectSeconds.min() ?? .nan) }
        /// QEMU's own device's best buffered read over Keel's frontend's (1: as fast as QEMU's).
        public var qemuDeviceRatio: Double? { qemuDevice.map { ($0.bufferedSeconds.min() ?? .nan) / (frontendSeconds.min() ?? .nan) } }
        /// The same for direct I/O.
        public var qemuDeviceDirectRatio: Double? { qemuDevice.map { ($0.directSeconds.min() ?? .nan) / (frontendDirectSeconds.min() ?? .nan) } }
        /// `ratio` with QEMU's own device in Keel's place: the device model's best read over that
        /// frontend's best buffered read. What the goal's figure is when the device costs next to
        /// nothing, so the frontend alone sets it.
        public var qemuDeviceGoalRatio: Double? { qemuDevice.map { (deviceModelSeconds.min() ?? .nan) / ($0.bufferedSeconds.min() ?? .nan) } }
        /// The same for direct I/O.
        public var qemuDeviceGoalDirectRatio: Double? { qemuDevice.map { (deviceModelSeconds.min() ?? .nan) / ($0.directSeconds.min() ?? .nan) } }

        public var meetsGoal: Bool { ratio >= readRatioGoal }
        public var directMeetsGoal: Bool { directRatio >= readRatioGoal }
        public func mibPerSecond(_ seconds: [Double]) -> Double { Double(bytes) / Double(1 << 20) / (seconds.min() ?? .nan) }
    }

    /// A frontend's timed reads: /dev/vda buffered and direct (each run), a tmpfs file.
    public struct FrontendReads: Sendable {
        public var bufferedSeconds: [Double]
        public var directSeconds: [Double]
        public var memorySeconds: Double
    }

    static let selfReadStart = "keel-bench: dm read start", selfReadEnd = "keel-bench: dm read end"
    static let frontendReadStart = "keel-bench: frontend read start", frontendReadEnd = "keel-bench: frontend read end"
    static let directReadStart = "keel-bench: frontend direct read start", directReadEnd = "keel-bench: frontend direct read end"
    /// Printed by either guest when a `dd` fails: its time would measure nothing.
    static let ddFailed = "keel-bench: dd failed"
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
            dd if=\(DeviceModelInitramfs.diskPath(device: 0)) of=/dev/null bs=1M 2> /dev/null || echo "\(ddFailed): dm run $run"
            echo "<2>\(selfReadEnd) $run" > /dev/kmsg
        done
        umount /dev
        umount /proc
        exec /init

        """

    /// The frontend's /init: the virtio modules, then /dev/vda read twice buffered (caches dropped
    /// first) and twice with direct I/O.
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
            dd if=/dev/vda of=/dev/null bs=1M 2> /dev/null || echo "\(ddFailed): frontend run $run"
            echo "<2>\(frontendReadEnd) $run" > /dev/kmsg
        done
        # O_DIRECT: the block layer maps dd's (page-aligned) buffer for the device, no page-cache
        # copy; a 1 MiB read becomes requests of at most seg_max pages, in flight together.
        for run in \((1...runs).map(String.init).joined(separator: " ")); do
            echo 3 > /proc/sys/vm/drop_caches
            echo "<2>\(directReadStart) $run" > /dev/kmsg
            dd if=/dev/vda of=/dev/null bs=1M iflag=direct 2> /dev/null || echo "\(ddFailed): frontend direct run $run"
            echo "<2>\(directReadEnd) $run" > /dev/kmsg
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
    /// With `qemuDevice`, then boots the frontend once more on QEMU alone with the same disk on
    /// QEMU's own virtio-blk device (`qemuDeviceRead`).
    public static func sequentialRead(mib: Int = 64, kernel: String, linuxCache: String, firmware: String, scratch: String,
                                      timeout: Double, qemuDevice: Bool = true) throws -> SequentialRead {
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
        let text = try readConsole(output)
        let frontend = try frontendReads(text, output)
        return SequentialRead(bytes: bytes, deviceModelSeconds: try durations(selfReadStart, selfReadEnd, in: text, output),
                              frontendSeconds: frontend.bufferedSeconds, frontendDirectSeconds: frontend.directSeconds,
                              frontendMemorySeconds: frontend.memorySeconds,
                              frontendBlockStats: text.split(separator: "\n").first { $0.hasPrefix(frontendStats) }
                                  .map { String($0.dropFirst(frontendStats.count)) },
                              qemuDevice: qemuDevice ? try qemuDeviceRead(kernel: kernel, folder: folder, timeout: timeout) : nil)
    }

    /// QEMU's arguments for the frontend alone: the kernel at EL1 on the virt board QEMU
    /// describes itself (its virtio-mmio transports among it), the CPU, RAM and vCPU count of
    /// the frontend VM under Keel, and `disk` (read-only) on QEMU's own virtio-blk device behind
    /// one of those transports. No -icount: wall time, as the run under Keel.
    static func qemuDeviceArguments(kernel: String, initrd: String, disk: String) -> [String] {
        ["-M", "virt,gic-version=3", "-cpu", qemuVirt.qemuCPU.description, "-smp", "1", "-m", "256M",
         "-display", "none", "-monitor", "none", "-serial", "stdio",
         "-kernel", kernel, "-initrd", initrd, "-append", bootargs,
         "-drive", "file=\(disk),if=none,format=raw,id=disk0,readonly=on", "-device", "virtio-blk-device,drive=disk0"]
    }

    /// The frontend of `folder` (its app.cpio and disk.img, as the sequential read wrote them)
    /// booted on QEMU alone, its disk on QEMU's own virtio-blk device.
    static func qemuDeviceRead(kernel: String, folder: Folder, timeout: Double) throws -> FrontendReads {
        let arguments = qemuDeviceArguments(kernel: absolute(kernel), initrd: folder.path + "/app.cpio", disk: folder.path + "/disk.img")
        let (status, output) = try LinuxBench.runProcess("qemu-system-aarch64", arguments, timeout: timeout)
        guard status == 0 else {
            throw KeelError("the frontend on QEMU's own virtio-blk did not power off (status \(status.map(String.init) ?? "none, stopped")):\n\(output.suffix(4000))",
                            status: .dataError)
        }
        return try frontendReads(try readConsole(output), output)
    }

    /// The console without Keel's prefixes; throws when a guest said a `dd` failed.
    static func readConsole(_ output: String) throws -> String {
        let text = unprefixed(output)
        if let failed = text.split(separator: "\n").first(where: { $0.contains(ddFailed) }) {
            throw KeelError("a read of the bench failed (\(failed)):\n\(output.suffix(4000))", status: .dataError)
        }
        return text
    }

    /// The frontend's timed reads in `text` (its /init's markers).
    static func frontendReads(_ text: String, _ output: String) throws -> FrontendReads {
        FrontendReads(bufferedSeconds: try durations(frontendReadStart, frontendReadEnd, in: text, output),
                       directSeconds: try durations(directReadStart, directReadEnd, in: text, output),
                       memorySeconds: try duration(memoryReadStart, memoryReadEnd, in: text, output))
    }

    /// Seconds between a start marker and its end in kernel-log timestamps.
    static func duration(_ start: String, _ end: String, in text: String, _ output: String) throws -> Double {
        guard let a = kernelTimestamp(of: start, in: text), let b = kernelTimestamp(of: end, in: text), b > a else {
            throw KeelError("no kernel timestamps around '\(start)' and its end:\n\(output.suffix(4000))", status: .dataError)
        }
        return b - a
    }

    /// `duration` of each numbered run.
    static func durations(_ start: String, _ end: String, in text: String, _ output: String) throws -> [Double] {
        try (1...runs).map { try duration("\(start) \($0)", "\(end) \($0)", in: text, output) }
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
}
