import Foundation
import KeelKit
import Testing

/// keel-dm.ko (Sources/KeelDMDriver, built by `make` against the fetched kernel's headers) in
/// Debian's own kernel: loaded under Keel, and probed on QEMU's virt machine with a
/// `keel,device-model` node, where keel-dm-check (Tests/DeviceModel) exercises /dev/keel-dm.
@Suite("keel-dm.ko, the device-model VM's driver")
struct DeviceModelDriverTests {
    static let module = Repo.path("build/keel-dm/keel-dm.ko")
    static let check = Repo.path("build/keel-dm/keel-dm-check")
    static let marker = "KEEL-DMDRV: "

    /// What loading the module may print: Debian's kernel taints itself for an unsigned,
    /// out-of-tree module, and the probe says what it found.
    static let taints = ["keel_dm: loading out-of-tree module taints kernel.",
                         "keel_dm: module verification failed: signature and/or required key missing - tainting kernel"]

    static func initScript(checkArguments: String) -> String {
        """
        #!/bin/busybox sh
        # /init of DeviceModelDriverTests: load keel-dm.ko, say what the kernel made of it.
        export PATH=/bin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        echo "\(marker)started"
        if insmod /lib/modules/keel-dm.ko; then echo "\(marker)insmod ok"; else echo "\(marker)insmod failed"; fi
        dmesg | grep -E 'keel[_-]dm' | while read -r line; do echo "\(marker)dmesg $line"; done
        [ -d /sys/bus/platform/drivers/keel-dm ] && echo "\(marker)driver keel-dm registered"
        if [ -c /dev/keel-dm ]; then
            set -- $(ls -l /dev/keel-dm)
            echo "\(marker)/dev/keel-dm $1"
            keel-dm-check \(checkArguments)
        else
            echo "\(marker)no /dev/keel-dm"
        fi
        echo "\(marker)done"
        poweroff -f

        """
    }

    /// Debian's busybox, keel-dm.ko, keel-dm-check and the /init above.
    static func initramfs(at path: String, checkArguments: String = "") throws {
        for file in [module, check] {
            try #require(FileManager.default.fileExists(atPath: file), "\(file) is missing: run `make` (make test does)")
        }
        try #require(FileManager.default.fileExists(atPath: PassthroughTests.busybox), "no busybox in .cache/linux: run `make linux`")
        var archive = CPIOArchive()
        for directory in ["bin", "dev", "proc", "sys", "lib", "lib/modules"] {
            try archive.addDirectory(directory, permissions: 0o755)
        }
        try archive.addCharacterDevice("dev/console", major: 5, minor: 1, permissions: 0o600)
        try archive.addFile("bin/busybox", contents: try Data(contentsOf: URL(fileURLWithPath: PassthroughTests.busybox)), permissions: 0o755)
        for applet in ["sh", "mount", "insmod", "dmesg", "grep", "ls", "poweroff"] {
            try archive.addSymlink("bin/\(applet)", target: "busybox")
        }
        try archive.addFile("bin/keel-dm-check", contents: try Data(contentsOf: URL(fileURLWithPath: check)), permissions: 0o755)
        try archive.addFile("lib/modules/keel-dm.ko", contents: try Data(contentsOf: URL(fileURLWithPath: module)), permissions: 0o644)
        try archive.addFile("init", contents: Data(initScript(checkArguments: checkArguments).utf8), permissions: 0o755)
        try archive.encoded().write(to: URL(fileURLWithPath: path))
    }

    /// The kernel messages the /init relayed (without the timestamp).
    static func kernelMessages(_ lines: [String]) -> [String] {
        lines.compactMap { line in
            guard let at = line.range(of: marker + "dmesg ") else { return nil }
            let message = line[at.upperBound...]
            return String(message.range(of: "] ").map { message[$0.upperBound...] } ?? message)
        }
    }

    @Test("under Keel, Debian's kernel loads keel-dm.ko (only the taint messages) and registers the platform driver; with no keel,device-model node nothing probes")
    func loadsUnderKeel() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let scratch = try PackTests.Scratch()
        try Self.initramfs(at: scratch.path("dm.cpio"))
        let run = try runKeel(["run", "--guest", LinuxTests.kernel, "--initrd", scratch.path("dm.cpio"),
                               "--append", "console=ttyAMA0 panic=-1", "--timeout", "300"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(3000))")
        let expected = ["\(Self.marker)started", "\(Self.marker)insmod ok", "\(Self.marker)driver keel-dm registered",
                        "\(Self.marker)no /dev/keel-dm", "\(Self.marker)done", "[keel] vm0: PSCI SYSTEM_OFF"]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout.suffix(3000))")
        #expect(Self.kernelMessages(run.lines) == Self.taints, "\(run.lines.filter { $0.contains(Self.marker) })")
        #expect(!run.stdout.contains("PANIC"))
    }

    /// QEMU virt's own device tree (for the same -cpu and -m) with a `keel,device-model` node
    /// whose request page and window are RAM kept from Linux (`no-map`): 0x5F00_0000 (one page)
    /// and 0x5F10_0000 (1 MiB).
    static func virtDTB(in scratch: PackTests.Scratch, pageSize: String = "0x1000") throws -> String {
        let dtc = try #require(DeviceTreeBootTests.dtc, "dtc is missing: run `make deps`")
        let dumped = scratch.path("virt.dtb")
        _ = try DeviceTreeBootTests.run("/usr/bin/env", ["qemu-system-aarch64"] + qemuMachine + ["-machine", "dumpdtb=\(dumped)", "-display", "none"])
        let source = try DeviceTreeBootTests.run(dtc, ["-q", "-I", "dtb", "-O", "dts", dumped])
        let node = """
            / {
            \treserved-memory {
            \t\t#address-cells = <2>;
            \t\t#size-cells = <2>;
            \t\tranges;
            \t\tkeel-dm-test@5f000000 { reg = <0 0x5f000000 0 0x1000000>; no-map; };
            \t};
            \tkeel-dm@5f000000 {
            \t\tcompatible = "keel,device-model";
            \t\treg = <0 0x5f000000 0 \(pageSize)>, <0 0x5f100000 0 0x100000>;
            \t\tinterrupts = <0 56 1>;
            \t};
            };

            """
        try (source + node).write(toFile: scratch.path("keel-dm.dts"), atomically: true, encoding: .utf8)
        _ = try DeviceTreeBootTests.run(dtc, ["-q", "-I", "dts", "-O", "dtb", "-o", scratch.path("keel-dm.dtb"), scratch.path("keel-dm.dts")])
        return scratch.path("keel-dm.dtb")
    }

    static let qemuMachine = ["-M", "virt,gic-version=3", "-cpu", "cortex-a72", "-m", "512M"]

    /// Debian's kernel straight on QEMU (no Keel: nothing at EL2 answers a hypercall there), the
    /// request page holding the magic "KEELDMRQ" (QEMU's loader device).
    static func bootNatively(dtb: String, initramfs: String, in scratch: PackTests.Scratch) throws -> KeelRun {
        try Data("KEELDMRQ".utf8).write(to: URL(fileURLWithPath: scratch.path("page.bin")))
        let out = scratch.path("qemu.out")
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-s", "KILL", "300", "qemu-system-aarch64"] + qemuMachine + [
            "-nographic", "-no-reboot", "-dtb", dtb, "-kernel", LinuxTests.kernel, "-initrd", initramfs,
            "-append", "console=ttyAMA0 panic=-1",
            "-device", "loader,file=\(scratch.path("page.bin")),addr=0x5f000000,force-raw=on"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = process.standardOutput
        try process.run()
        process.waitUntilExit()
        return KeelRun(status: process.terminationStatus, stdout: try String(contentsOfFile: out, encoding: .utf8), stderr: "")
    }

    @Test("with a keel,device-model node it probes: /dev/keel-dm (0600) maps the page read-only and the window read-write, refuses other offsets, foreign hypercall ids and private or executable maps")
    func probes() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let scratch = try PackTests.Scratch()
        try Self.initramfs(at: scratch.path("dm.cpio"), checkArguments: "--touch --no-hvc")
        let run = try Self.bootNatively(dtb: try Self.virtDTB(in: scratch), initramfs: scratch.path("dm.cpio"), in: scratch)
        #expect(run.status == 0, "\(run.stdout.suffix(3000))")
        let probe = "keel-dm 5f000000.keel-dm: request page [mem 0x5f000000-0x5f000fff], 1 window(s), irq "
        let messages = Self.kernelMessages(run.lines)
        #expect(messages.count == 3 && Array(messages.prefix(2)) == Self.taints && messages.last?.hasPrefix(probe) == true, "\(messages)")
        let checks = ["open", "ioctl-foreign-id", "ioctl-id-above", "ioctl-id-below", "ioctl-other-command", "ioctl-bad-pointer",
                      "mmap-page", "mprotect-page-write", "page-magic", "mmap-page-write", "mmap-page-exec", "mmap-page-two-pages",
                      "mmap-offset-8192", "mmap-answers-private", "mmap-answers-two-pages", "mmap-window", "mmap-window-again", "window-write-read", "mmap-window-past-end",
                      "mmap-window-before", "mmap-window-private", "mmap-window-exec", "read-short", "read-nonblocking", "poll-idle"]
        let expected = ["\(Self.marker)insmod ok", "\(Self.marker)driver keel-dm registered", "\(Self.marker)/dev/keel-dm crw-------"]
            + checks.map { "KEEL-DMCHECK: ok \($0)" } + ["KEEL-DMCHECK: finished with 0 failures", "\(Self.marker)done"]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.lines.filter { $0.contains("KEEL-") })")
        #expect(run.lines.contains("KEEL-DMCHECK: windows 1"))
        #expect(!run.lines.contains { $0.contains("KEEL-DMCHECK: FAIL") })
        for line in run.lines where !line.contains("Kernel command line:") {
            for word in LinuxTests.trouble { #expect(!line.contains(word), "guest log: \(line)") }
        }
    }

    @Test("a node whose first reg is not one 4 KiB page is refused at probe: no /dev/keel-dm")
    func refusesBadPage() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let scratch = try PackTests.Scratch()
        try Self.initramfs(at: scratch.path("dm.cpio"))
        let run = try Self.bootNatively(dtb: try Self.virtDTB(in: scratch, pageSize: "0x2000"), initramfs: scratch.path("dm.cpio"), in: scratch)
        #expect(run.status == 0, "\(run.stdout.suffix(3000))")
        #expect(Self.kernelMessages(run.lines) == Self.taints + ["keel-dm 5f000000.keel-dm: reg[0] must be the 4 KiB request page",
                                                                 "keel-dm: probe of 5f000000.keel-dm failed with error -22"],
                "\(run.lines.filter { $0.contains(Self.marker) })")
        #expect(run.containsInOrder(["\(Self.marker)insmod ok", "\(Self.marker)driver keel-dm registered", "\(Self.marker)no /dev/keel-dm", "\(Self.marker)done"]),
                "\(run.lines.filter { $0.contains(Self.marker) })")
    }
}
