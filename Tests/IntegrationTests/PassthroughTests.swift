import Foundation
import KeelCore
import KeelKit
import Testing

/// Device passthrough on QEMU virt: QEMU's own virtio-mmio disk (the last transport,
/// 0x0A003E00, INTID 79) given to a Linux VM with identity-mapped RAM, beside a bare-metal VM
/// that reads the same address.
@Suite("Devices passed through to a VM")
struct PassthroughTests {
    static let modules = Repo.path(".cache/linux/modules")
    static let busybox = Repo.path(".cache/linux/busybox")

    /// A 1 MiB disk of bytes from a fixed xorshift sequence, and its SHA-256 as `sha256sum` says.
    static func disk(at path: String) throws -> String {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        for i in stride(from: 0, to: bytes.count, by: 8) {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            for k in 0..<8 { bytes[i + k] = UInt8(truncatingIfNeeded: state >> (8 * UInt64(k))) }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(output.prefix { $0 != " " })
    }

    /// QEMU's words for the disk; `disk.img` relative to the config in its `[qemu] args`.
    static func diskArguments(_ path: String) -> [String] {
        ["-drive", "if=none,id=disk,file=\(path),format=raw", "-device", "virtio-blk-device,drive=disk"]
    }

    /// With `qemuTable` the disk comes from the config's `[qemu] args`, else from `--qemu-arg`.
    static func config(board: String, initrd: String, qemuTable: Bool) -> String {
        """
        board = "\(board)"
        \(qemuTable ? "[qemu]\nargs = [\(diskArguments("disk.img").map { "\"\($0)\"" }.joined(separator: ", "))]" : "")

        [[vm]]
        name = "linux"
        cpus = [0]
        memory = { base = 0x6000_0000, size = "192M", identity = true }
        kernel = "\(LinuxTests.kernel)"
        initrd = "\(initrd)"
        bootargs = "console=ttyAMA0 panic=-1"
        devices = [{ name = "virtio-mmio", mmio = [{ base = 0x0A00_3000, size = 0x1000 }], interrupts = [79] }, "rtc"]

        [[vm]]
        name = "probe"
        cpus = [1]
        memory = { base = 0x4000_0000, size = "16M" }
        kernel = "\(Repo.guest("passthru_probe"))"
        kind = "raw"

        """
    }

    /// On GICv3 with the disk from the config's [qemu] table, on GICv2 from --qemu-arg. (On GICv2
    /// under load this hung in Linux's poweroff before `GIC.refreshBeforeWait`.)
    @Test("Linux reads the passed-through virtio disk (its hash matches, through its interrupt); the other VM's read of it is an external abort",
          arguments: ["qemu-virt", "qemu-virt-gicv2"])
    func virtioDisk(board: String) throws {
        let qemuTable = board == "qemu-virt"
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        try #require(VirtioModules.present(in: Self.modules), "no virtio modules in .cache/linux/modules: run `make linux`")
        let scratch = try PackTests.Scratch()
        let hash = try Self.disk(at: scratch.path("disk.img"))
        let busybox = try Data(contentsOf: URL(fileURLWithPath: Self.busybox))
        let archive = try PassthroughInitramfs.archive(busybox: busybox, modules: try VirtioModules.load(from: Self.modules))
        try archive.encoded().write(to: URL(fileURLWithPath: scratch.path("pt.cpio")))
        let extra = qemuTable ? [] : Self.diskArguments(scratch.path("disk.img")).flatMap { ["--qemu-arg", $0] }
        let run = try runKeel(["run", "--config", try scratch.config(Self.config(board: board, initrd: "pt.cpio", qemuTable: qemuTable)),
                               "--timeout", "300"] + extra)
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(4000))")
        #expect(!run.stdout.contains("PANIC"))
        // Keel maps the page and forwards the interrupt, and places Linux's RAM at IPA = PA.
        #expect(run.lines.contains("[keel] vm0: device at IPA 0xa003000 (PA 0xa003000, 4 KiB) passed through"), "\(run.stdout.prefix(3000))")
        #expect(run.lines.contains("[keel] vm0: INTID 79 passed through to CPU 0"))
        #expect(run.lines.contains { $0.hasPrefix("[keel] vm0: 1 vCPU on CPU 0, 192 MiB RAM at IPA 0x60000000 (PA 0x60000000)") })
        // Linux found the disk and read back exactly what the host wrote.
        #expect(run.containsInOrder(["[vm0] \(PassthroughInitramfs.Marker.started)",
                                     "[vm0] \(PassthroughInitramfs.Marker.sectors)2048",
                                     "[vm0] \(PassthroughInitramfs.Marker.sha256)\(hash)",
                                     "[vm0] \(PassthroughInitramfs.Marker.done)"]), "\(run.stdout.suffix(4000))")
        // Its PL031 RTC too (an AMBA PrimeCell in its device tree), bound by Linux's driver.
        #expect(run.lines.contains { $0.hasPrefix("[vm0] [") && $0.hasSuffix("rtc-pl031 9010000.pl031: registered as rtc0") }, "\(run.stdout.suffix(3000))")
        // Through its interrupt: the virtio line of /proc/interrupts counts some.
        let irq = run.lines.first { $0.hasPrefix("[vm0] \(PassthroughInitramfs.Marker.interrupts)") && $0.contains("virtio0") } ?? ""
        let count = irq.dropFirst("[vm0] \(PassthroughInitramfs.Marker.interrupts)".count).split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        #expect(count > 0, "no virtio interrupt counted: \(irq)\n\(run.stdout.suffix(3000))")
        // The other VM: a synchronous external abort at EL1 (EC 0x25, DFSC 0x10), FAR the address.
        #expect(run.containsInOrder(["[vm1] probe: start", "[vm1] probe: faults=0x1", "[vm1] probe: esr=0x96000010",
                                     "[vm1] probe: far=0xa003e00", "[vm1] probe: w3=0x5a5a", "[vm1] probe: still running"]),
                "\(run.lines.filter { $0.hasPrefix("[vm1]") })")
    }

    /// Two raw VMs, the first given the RTC (0x0901_0000, INTID 34).
    static let rtcConfig = """
        board = "qemu-virt"

        [[vm]]
        name = "a"
        cpus = [0]
        memory = { base = 0x4000_0000, size = "16M" }
        kernel = "\(Repo.guest("hvc"))"
        kind = "raw"
        devices = ["rtc"]

        [[vm]]
        name = "b"
        cpus = [1]
        memory = { base = 0x4000_0000, size = "16M" }
        kernel = "\(Repo.guest("demo"))"
        kind = "raw"

        """

    @Test("a VM table whose device lies over the GIC, or whose interrupt is Keel's, is refused by the firmware, status 76",
          arguments: [(field: 0, value: UInt64(0x0800_0000), reason: "a passed-through device range overlaps Keel's console or the GIC"),
                      (field: 1, value: UInt64(47), reason: "a passed-through interrupt is not an SPI Keel can give a VM (INTIDs 32-95, not 33 or 47, which Keel uses)")])
    func refusedTable(_ damage: (field: Int, value: UInt64, reason: String)) throws {
        let scratch = try PackTests.Scratch()
        let image = scratch.path("two.img")
        #expect(try runKeel(["pack", "--config", try scratch.config(Self.rtcConfig), "-o", image]).status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: image))
        let manifest = Int(try PackTests.appendedBundleAddress() - 0x4008_0000)
        #expect(bytes[manifest..<(manifest + 8)] == Data("KEELSYST".utf8))
        // The device table follows the two VM records; the interrupt table the one range.
        let devices = manifest + SystemManifest.tablesSize(count: 2, regions: 0)
        let at = damage.field == 0 ? devices : devices + SystemManifest.deviceSize
        let width = damage.field == 0 ? 8 : 4
        if damage.field == 0 {
            #expect(bytes[at..<(at + 4)] == Data([0x00, 0x00, 0x01, 0x09]))  // PA 0x0901_0000
        } else {
            #expect(bytes[at] == 34)
        }
        for i in 0..<width { bytes[at + i] = UInt8(truncatingIfNeeded: damage.value >> (8 * UInt64(i))) }
        let crc = SystemManifest.headerChecksum([UInt8](bytes[manifest...]).span, count: 2, devices: 1, interrupts: 1)
        for i in 0..<4 { bytes[manifest + 28 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        try bytes.write(to: URL(fileURLWithPath: image))

        let run = try runKeel(["run", image, "--smp", "2", "--timeout", "60"])
        #expect(run.status == 76, "\(run.stderr)\n\(run.stdout)")
        let address = "0x" + String(try PackTests.appendedBundleAddress(), radix: 16)
        #expect(run.lines.contains("[keel] ERROR: the VM table appended to Keel's image (\(address)) is unusable: \(damage.reason); no VM is started"), "\(run.stdout)")
        #expect(!run.lines.contains { $0.hasPrefix("[vm") })
    }

    @Test("a bare-metal guest given the RTC takes its alarm as a hardware interrupt, twice (its EOI deactivates the line), none while it has the SPI disabled, and the held one once it enables it",
          arguments: ["qemu-virt", "qemu-virt-gicv2"])
    func rtcAlarm(board: String) throws {
        let scratch = try PackTests.Scratch()
        let config = try scratch.config("""
            board = "\(board)"

            [[vm]]
            name = "rtc"
            cpus = [0]
            memory = { base = 0x4000_0000, size = "16M" }
            kernel = "\(Repo.guest("passthru_rtc"))"
            kind = "raw"
            devices = ["rtc"]
            """)
        let run = try runKeel(["run", "--config", config, "--timeout", "120"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let expected = ["[keel] vm0: device at IPA 0x9010000 (PA 0x9010000, 4 KiB) passed through",
                        "[keel] vm0: INTID 34 passed through to CPU 0",
                        "rtc: start", "rtc: first=0x1", "rtc: second=0x1", "rtc: while_disabled=0x0", "rtc: after_enable=0x1",
                        "rtc: exceptions=0x0", "rtc: done", "[keel] vm0: PSCI SYSTEM_OFF"]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        #expect(!run.stdout.contains("PANIC"))
    }
}
