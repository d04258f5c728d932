import Foundation
import KeelCore
import KeelKit
import Testing

/// virtio when something breaks (issue 15): the device-model VM powering off in the middle of a
/// frontend's I/O, and a hostile frontend beside an honest one, both served by the real keel-dm
/// in a Linux device-model VM (as in VirtioDiskTests).
@Suite("virtio faults: a device model that dies, a hostile frontend")
struct VirtioFaultTests {
    /// The device model's /init for the power-off test, a test hook: this initrd follows the one
    /// `keel pack` makes, so its /init replaces keel pack's (LinuxGuest.writer). It starts keel-dm
    /// in the background, waits until the frontend wrote "GO" at sector 1 of its disk (keel-dm
    /// writes the disk file in the initramfs), lets the frontend's reads run 2 s, and powers off.
    static let dyingServerInit = """
        #!/bin/busybox sh
        export PATH=/bin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        insmod /lib/modules/keel-dm.ko || echo "DMTEST: insmod failed"
        /bin/keel-dm --conf /etc/keel-dm.conf &
        until [ "$(dd if=/disks/0.img bs=512 skip=1 count=1 2>/dev/null | head -c 2)" = "GO" ]; do sleep 1; done
        echo "DMTEST: the frontend is reading"
        sleep 2
        echo "DMTEST: powering off"
        poweroff -f

        """

    /// The frontend's /init for the power-off test: it writes "GO", reads its whole disk again
    /// and again (caches dropped) until a read fails, prints when that read started and ended
    /// (uptime), and runs on.
    static let readerInit = """
        #!/bin/busybox sh
        export PATH=/bin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        for m in virtio_ring virtio virtio_mmio virtio_blk; do insmod /lib/modules/$m.ko || echo "APP: insmod $m failed"; done
        tries=0
        while [ ! -b /dev/vda ] && [ "$tries" -lt 30 ]; do sleep 1; tries=$((tries + 1)); done
        [ -b /dev/vda ] || { echo "APP: no /dev/vda"; poweroff -n -f; }
        echo GO | dd of=/dev/vda bs=512 seek=1 conv=fsync 2>/dev/null
        echo "APP: GO written"
        n=0
        while :; do
            echo 3 > /proc/sys/vm/drop_caches
            read start rest < /proc/uptime
            dd if=/dev/vda of=/dev/null bs=64k 2>/dev/null || break
            n=$((n + 1))
        done
        read end rest < /proc/uptime
        echo "APP: read failed after $n whole reads, from $start to $end"
        set -- $(sha256sum /bin/busybox); echo "APP: still running, busybox sha256 $1"
        echo "APP: done"
        poweroff -n -f

        """

    /// A disk of `size` random bytes at `path`.
    static func randomDisk(_ path: String, size: Int) throws {
        try VirtioFrontendInitramfs.randomBytes(size).write(to: URL(fileURLWithPath: path))
    }

    @Test("the device-model VM powers off in the middle of a frontend's reads: the read fails within the timeout, the frontend runs on")
    func serverOff() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let scratch = try PackTests.Scratch()
        try Self.randomDisk(scratch.path("raw.img"), size: 8 << 20)
        try VirtioFrontendInitramfs.write(to: scratch.path("app.cpio"), cache: Repo.path(LinuxFetch.defaultCache),
                                          applets: ["sh", "mount", "insmod", "sleep", "sha256sum", "dd", "poweroff"], initScript: Self.readerInit)
        var hook = CPIOArchive()
        try hook.addDirectory("bin", permissions: 0o755)
        for applet in ["sleep", "dd", "head"] { try hook.addSymlink("bin/\(applet)", target: "busybox") }
        try hook.addFile("init", contents: Data(Self.dyingServerInit.utf8), permissions: 0o755)
        try hook.encoded().write(to: URL(fileURLWithPath: scratch.path("dm.cpio")))

        let timeoutMs = 20_000
        let config = try scratch.config("""
            board = "qemu-virt"
            power_off_with = "app"

            \(DeviceModelSystem.deviceModelVM(initrd: "dm.cpio"))
            \(DeviceModelSystem.linuxFrontend(initrd: "app.cpio"))
            \(DeviceModelSystem.blk(disk: "raw.img", timeoutMs: timeoutMs))
            """)
        let run = try runKeel(["run", "--config", config, "--timeout", "300"])
        let out = run.stdout
        #expect(run.status == 0, "\(run.stderr)\n\(out.suffix(4000))")
        #expect(out.contains("APP: GO written") && out.contains("DMTEST: powering off"), "\(out.suffix(4000))")
        #expect(out.contains("[keel] vm0: PSCI SYSTEM_OFF"), "\(out.suffix(4000))")
        #expect(out.contains("[keel] vm1: virtio blk at IPA 0xb000000: vm0 did not answer; the device needs a reset"), "\(out.suffix(4000))")
        // The failing read: it began before the device model went off (whole reads were done
        // first) and ended within the timeout.
        let failed = run.lines.compactMap { line -> String? in
            guard let range = line.range(of: "APP: read failed after ") else { return nil }
            return String(line[range.lowerBound...]).trimmingCharacters(in: .whitespacesAndNewlines)
        }.first
        let words = failed?.split(separator: " ") ?? []
        try #require(words.count == 11, "\(out.suffix(4000))")
        let reads = Int(words[4]) ?? -1
        let start: Double = Double(String(words[8])) ?? 0, end: Double = Double(String(words[10])) ?? 0
        #expect(reads >= 1, "\(failed ?? "")")
        #expect(end - start < Double(timeoutMs) / 1000.0, "\(failed ?? "")")
        #expect(out.contains("I/O error, dev vda"), "the frontend's kernel saw the I/O error")
        // Keel's InterruptStatus of a given-up device: no configuration change, so the disk
        // keeps its size (all ones read as the capacity once made the failing read a short one).
        #expect(!out.contains("detected capacity change"), "\(out.suffix(4000))")
        #expect(out.contains("APP: still running, busybox sha256 ") && out.contains("APP: done"), "\(out.suffix(4000))")
        #expect(!out.contains("PANIC"))
    }

    /// The honest frontend's /init for the hostile test: hashes its disk three times (while the
    /// hostile guest's two vCPUs race on its own device), then waits long enough for the hostile
    /// guest to finish before the run ends (the hostile guest races 10 s).
    static let hasherInit = """
        #!/bin/busybox sh
        export PATH=/bin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        for m in virtio_ring virtio virtio_mmio virtio_blk; do insmod /lib/modules/$m.ko || echo "APP: insmod $m failed"; done
        tries=0
        while [ ! -b /dev/vda ] && [ "$tries" -lt 60 ]; do sleep 1; tries=$((tries + 1)); done
        for i in 1 2 3; do
            echo 3 > /proc/sys/vm/drop_caches
            set -- $(sha256sum /dev/vda); echo "APP: vda sha256 $1"
        done
        sleep 20
        echo "APP: done"
        poweroff -f

        """

    /// The hex value after `label` in the first line holding it (whatever VM prefix it has).
    static func value(_ run: KeelRun, _ label: String) -> UInt64? {
        for line in run.lines {
            guard let range = line.range(of: label) else { continue }
            let text = line[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
            return UInt64(text.hasPrefix("0x") ? String(text.dropFirst(2)) : text, radix: 16)
        }
        return nil
    }

    /// The attacks of Tests/Guests/dm_hostile_blk.S, as it names them.
    static let attacks = ["loop", "below-ram", "past-ram", "wrap-address", "length-overflow", "bad-head", "bad-next",
                          "avail-jump", "avail-wrap", "size-6", "size-256", "desc-below-ram", "used-past-ram", "avail-wrap-address"]

    @Test("a hostile bare-metal frontend attacks its virtio-blk device: keel-dm refuses each attack with DEVICE_NEEDS_RESET and survives, a Linux frontend served by the same keel-dm reads its disk right")
    func hostileFrontend() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        try #require(FileManager.default.fileExists(atPath: Repo.guest("dm_hostile_blk")), "build/guests/dm_hostile_blk.bin is missing: run `make`")
        let scratch = try PackTests.Scratch()
        try Self.randomDisk(scratch.path("raw.img"), size: 2 << 20)
        let rawHash = try HostSHA256.file(scratch.path("raw.img"))
        var hostileDisk = Data("HOSTILE!".utf8)
        hostileDisk.append(Data(count: 4096 - hostileDisk.count))
        try hostileDisk.write(to: URL(fileURLWithPath: scratch.path("hostile.img")))
        try VirtioFrontendInitramfs.write(to: scratch.path("app.cpio"), cache: Repo.path(LinuxFetch.defaultCache),
                                          applets: ["sh", "mount", "insmod", "sleep", "sha256sum", "poweroff"], initScript: Self.hasherInit)
        let config = try scratch.config("""
            board = "qemu-virt"
            power_off_with = "app"

            \(DeviceModelSystem.deviceModelVM())
            \(DeviceModelSystem.linuxFrontend(initrd: "app.cpio"))
            \(DeviceModelSystem.blk(disk: "raw.img"))
            [[vm]]
            name = "hostile"
            cpus = [2, 3]
            memory = { base = 0x4000_0000, size = "16M" }
            kernel = "\(Repo.guest("dm_hostile_blk"))"
            kind = "raw"

            [[vm.virtio]]
            type = "blk"
            served_by = "dm"
            disk = "hostile.img"
            timeout_ms = 2000

            """)
        let run = try runKeel(["run", "--config", config, "--timeout", "400"])
        let out = run.stdout
        #expect(run.status == 0, "\(run.stderr)\n\(out.suffix(4000))")
        #expect(out.contains("keel-dm: serving 2 devices"), "\(out.suffix(4000))")
        // Every attack: keel-dm's own Status (DRIVER_OK and the rest the driver set) with
        // DEVICE_NEEDS_RESET; Keel's answer for a device it gave up would be 0x40 alone.
        for attack in Self.attacks {
            #expect(Self.value(run, "hostile: attack \(attack) status=") == 0x4F, "\(attack)")
        }
        #expect(Self.value(run, "hostile: race status=") == 0x4F, "\(out.suffix(4000))")
        // After a reset its device serves it again: sector 0 starts "HOSTILE!".
        #expect(Self.value(run, "hostile: honest read status=") == 0)
        #expect(Self.value(run, "hostile: honest read data=") == 0x2145_4C49_5453_4F48)
        #expect(out.contains("hostile: done"))
        // The honest frontend, served by the same keel-dm all along.
        #expect(out.components(separatedBy: "APP: vda sha256 \(rawHash)").count == 4, "\(out.suffix(4000))")
        #expect(out.contains("APP: done"))
        // The honest frontend read while the hostile guest's vCPUs raced.
        let lines = run.lines
        let race = lines.firstIndex { $0.contains("hostile: cpu_on=") }, raced = lines.firstIndex { $0.contains("hostile: race status=") }
        let read = lines.firstIndex { $0.contains("APP: vda sha256 ") }
        #expect(race != nil && read != nil && raced != nil && race! < read! && read! < raced!, "\(out.suffix(4000))")
        // keel-dm never died: it is the device model's init, so its end would panic the kernel.
        #expect(!out.contains("Attempted to kill init") && !out.contains("Kernel panic"))
        #expect(out.components(separatedBy: "KEEL-DM: started").count == 2, "the device model booted once")
        #expect(!out.contains("PANIC"))
    }
}
