import Foundation
import Testing

/// Debian's own arm64 kernel (`keel linux fetch`, which `make test` runs) booted under Keel to
/// its /init, which counts CPUs, runs one job per CPU and powers off.
@Suite("Debian Linux guests")
struct LinuxTests {
    static let kernel = Repo.path(".cache/linux/Image")
    static let initramfs = Repo.path(".cache/linux/initramfs.cpio")

    /// Words that must not appear in the guest's log (the command line aside).
    static let trouble = ["BUG", "WARNING", "Oops", "stall", "panic", "Call trace"]

    /// What the initramfs's /init prints on `cpus` vCPUs, up to Keel's power-off.
    static func initLines(cpus: Int) -> [String] {
        [
            "KEEL-INIT: started",
            "KEEL-INIT: cpus online \(cpus)",
            "KEEL-INIT: workload done \(cpus) jobs",
            "KEEL-INIT: powering off",
            "[keel] vm0: PSCI SYSTEM_OFF",
            "[keel] all VMs are off: powering off",
        ]
    }

    /// Debian's kernel and the initramfs under `keel run --guest` on `board`, `smp` vCPUs.
    static func boot(board: String, smp: Int, timeout: Int) throws -> KeelRun {
        try #require(FileManager.default.fileExists(atPath: kernel), "no Debian kernel in .cache/linux: run `make linux`")
        return try runKeel(["run", "--board", board, "--guest", kernel, "--initrd", initramfs,
                            "--append", "console=ttyAMA0 panic=-1", "--smp", String(smp), "--timeout", String(timeout)])
    }

    func bootLinux(smp: Int, gic: Int, append: String = "console=ttyAMA0 panic=-1") throws -> KeelRun {
        try #require(FileManager.default.fileExists(atPath: Self.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        return try runKeel(["run", "--guest", Self.kernel, "--initrd", Self.initramfs, "--append", append,
                            "--smp", String(smp), "--gic", String(gic), "--timeout", "300"])
    }

    @Test("boots to /init, sees every vCPU, runs the workload and powers off",
          arguments: [(gic: 3, smp: 1), (gic: 3, smp: 2), (gic: 3, smp: 4), (gic: 2, smp: 2)])
    func boots(_ config: (gic: Int, smp: Int)) throws {
        let run = try bootLinux(smp: config.smp, gic: config.gic)
        #expect(run.status == 0, "QEMU status \(run.status): \(run.stderr)\n\(run.stdout.suffix(3000))")
        let expected = [
            "[keel] GICv\(config.gic), 4 list registers per CPU",
            "[keel] vm0/vcpu0: entering at 0x40000000 (EL1h, Linux boot protocol, x0 = 0x4fe00000)",
        ] + Self.initLines(cpus: config.smp)
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout.suffix(3000))")
        #expect(run.lines.contains { $0.contains("Machine model: Keel VM") })
        #expect(run.lines.contains { $0.contains("psci: PSCIv1.1 detected in firmware.") })
        #expect(run.lines.contains { $0.contains("arch_timer: cp15 timer(s) running at") && $0.contains("(virt)") })
        if config.smp > 1 {
            #expect(run.lines.contains { $0.contains("smp: Brought up 1 node, \(config.smp) CPUs") })
        }
        for line in run.lines where !line.contains("Kernel command line:") {
            for word in Self.trouble {
                #expect(!line.contains(word), "guest log: \(line)")
            }
        }
        #expect(!run.stdout.contains("[keel] PANIC"))
        // Every vCPU took interrupts (its timer, IPIs) through the virtual GIC.
        for vcpu in 0..<config.smp {
            let line = run.lines.first { $0.hasPrefix("[keel] vm0/vcpu\(vcpu) exits:") } ?? ""
            #expect(line.contains(" irq="), "\(line)")
        }
    }

    @Test("an initrd that does not fit the VM's RAM is refused before QEMU starts")
    func initrdTooBig() throws {
        try #require(FileManager.default.fileExists(atPath: Self.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let big = FileManager.default.temporaryDirectory.appendingPathComponent("keel-big-\(UUID().uuidString).cpio")
        FileManager.default.createFile(atPath: big.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: big) }
        let handle = try FileHandle(forWritingTo: big)
        try handle.truncate(atOffset: 300 << 20)  // sparse: 300 MiB for a 256 MiB VM
        try handle.close()
        let run = try runKeel(["run", "--guest", Self.kernel, "--initrd", big.path])
        #expect(run.status != 0)
        #expect(run.stderr.contains("the initrd (300.0 MiB) does not fit the VM's memory"), "\(run.stderr)")
        #expect(!run.stdout.contains("[keel]"))
    }

    @Test("--initrd with a guest that is not an arm64 Image is refused")
    func notAnImage() throws {
        let run = try runKeel(["run", "--guest", Repo.guest("demo"), "--initrd", Repo.guest("hvc")])
        #expect(run.status != 0)
        #expect(run.stderr.contains("is a raw binary (no arm64 Image header)"), "\(run.stderr)")
    }
}
