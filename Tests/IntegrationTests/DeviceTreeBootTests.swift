import Foundation
import Testing

/// The firmware takes the machine from the DTB it is booted with (memory, CPUs, GIC, UART,
/// PSCI), the board file as the cross-check: QEMU's own DTB under `-m`/`-smp`, QEMU's DTB edited
/// with dtc, and Debian's real ZCU102 DTB handed to QEMU's xlnx-zcu102 with `-dtb`.
@Suite("Boot DTB in the firmware")
struct DeviceTreeBootTests {
    static let dtc: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").map { $0 + "/dtc" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    static let zcu102DTB = Repo.path("Tests/KeelKitTests/DeviceTrees/zynqmp-zcu102-rev1.0.dtb")

    static func summary(ram: Int, at base: String = "0x40000000", cpus: Int, psci: Bool = true, gic: Int = 3,
                        distributor: String = "0x8000000", console: String = "0x9000000") -> String {
        "[keel] DTB: \(ram) MiB RAM at \(base), \(cpus) CPU\(cpus == 1 ? "" : "s")\(psci ? " by PSCI" : ", no PSCI"), GICv\(gic) at \(distributor), console at \(console)"
    }

    /// Runs `command` (a path and arguments); its stdout, or a failed expectation.
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(executable) \(arguments.joined(separator: " ")) failed")
        return String(decoding: data, as: UTF8.self)
    }

    /// QEMU virt's own DTB for `-smp smp` (and GIC version `gic`), as source, changed by `edit`, compiled again.
    static func editedVirtDTB(smp: Int, gic: Int = 3, _ edit: (String) -> String) throws -> String {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("keel-dtb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let dumped = scratch.appendingPathComponent("qemu.dtb").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["qemu-system-aarch64", "-M", "virt,virtualization=on,gic-version=\(gic),dumpdtb=\(dumped)",
                             "-cpu", "cortex-a72", "-smp", String(smp), "-m", "1024M", "-display", "none"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let source = try run(dtc!, ["-q", "-I", "dtb", "-O", "dts", dumped])
        let edited = edit(source)
        #expect(edited != source, "the edit changed nothing")
        let dts = scratch.appendingPathComponent("edited.dts").path
        try edited.write(toFile: dts, atomically: true, encoding: .utf8)
        let out = scratch.appendingPathComponent("edited.dtb").path
        _ = try run(dtc!, ["-q", "-I", "dts", "-O", "dtb", "-o", out, dts])
        return out
    }

    /// `source` without the node whose first line is `header` (a line ending in " {").
    static func removingNode(_ header: String, from source: String) -> String {
        var lines = source.components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == header }) else { return source }
        let indent = lines[start].prefix { $0 == "\t" || $0 == " " }
        guard let end = lines[(start + 1)...].firstIndex(where: { $0 == indent + "};" }) else { return source }
        lines.removeSubrange(start...end)
        return lines.joined(separator: "\n")
    }

    @Test("QEMU virt, GICv3 and GICv2: RAM from -m, CPUs from -smp, the GIC and the console from QEMU's DTB", arguments: [3, 2])
    func virt(gic: Int) throws {
        let run = try boot("hvc", ["--smp", "2", "--memory", "1536", "--gic", String(gic)])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        #expect(run.lines.contains(Self.summary(ram: 1536, cpus: 2, gic: gic)), "\(run.stdout)")
        // One firmware for both virt boards: a GICv2 machine is held against qemu-virt-gicv2's file.
        #expect(!run.lines.contains { $0.hasPrefix("[keel] DTB: GIC version") }, "\(run.stdout)")
        #expect(run.lines.contains { $0.hasPrefix("[keel] vm0: 2 vCPUs, 256 MiB RAM at IPA 0x40000000 (PA 0x50000000),") }, "\(run.stdout)")
        #expect(run.lines.contains("hvc: done"))
    }

    @Test("Too little RAM for the VM (QEMU -m 256): a clear refusal, status 76, no guest")
    func tooLittleMemory() throws {
        let run = try runKeel(["run", "--config", Repo.path("boards/examples/demo.toml"), "--memory", "256", "--timeout", "60"])
        #expect(run.status == 76, "\(run.stderr)\n\(run.stdout)")
        #expect(run.lines.contains(Self.summary(ram: 256, cpus: 1)), "\(run.stdout)")
        #expect(run.lines.contains("[keel] ERROR: DTB: the VM's RAM (PA 0x50000000, 256 MiB) is not all in the machine's RAM (256 MiB at 0x40000000): give the machine more memory"), "\(run.stdout)")
        #expect(!run.stdout.contains("Hello from a bare-metal guest"))
        #expect(run.stderr.contains("Keel cannot run on the machine its DTB describes"))
    }

    @Test("RAM for the VM but not for the board's bundle address (QEMU -m 512): the bundle is refused, status 76")
    func bundleAddressOutsideMemory() throws {
        let run = try boot("demo", ["--memory", "512"])
        #expect(run.status == 76, "\(run.stderr)\n\(run.stdout)")
        #expect(run.lines.contains("[keel] ERROR: the boot bundle at the board's bundle address (0x60000000) is not in RAM, and none is appended to Keel's image; no VM is started"), "\(run.stdout)")
        #expect(!run.stdout.contains("Hello from a bare-metal guest"))
    }

    @Test("A DTB listing 2 of QEMU's 4 CPUs: Keel starts only those", .enabled(if: dtc != nil, "dtc is not installed"))
    func fewerCPUsThanTheMachine() throws {
        let dtb = try Self.editedVirtDTB(smp: 4) { Self.removingNode("cpu@3 {", from: Self.removingNode("cpu@2 {", from: $0)) }
        let run = try boot("hvc", ["--smp", "4", "--dtb", dtb])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        #expect(run.lines.contains(Self.summary(ram: 1024, cpus: 2)), "\(run.stdout)")
        #expect(run.lines.contains { $0.hasPrefix("[keel] vm0: 2 vCPUs,") }, "\(run.stdout)")
        #expect(run.lines.contains("hvc: done"))
    }

    /// (QEMU rewrites a DTB's /psci to its own SMC conduit, so a DTB without usable PSCI cannot
    /// be shown here; MachineCheck's tests cover that case.)
    @Test("A DTB whose CPUs start by spin-table but name no cpu-release-addr: Keel writes nowhere and runs on CPU 0 alone", .enabled(if: dtc != nil, "dtc is not installed"))
    func spinTableCPUs() throws {
        let dtb = try Self.editedVirtDTB(smp: 2) { $0.replacingOccurrences(of: "enable-method = \"psci\";", with: "enable-method = \"spin-table\";") }
        let run = try boot("demo", ["--smp", "2", "--dtb", dtb])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        #expect(run.containsInOrder([
            "[keel] DTB: a spin-table CPU's cpu-release-addr is missing, unaligned, outside DRAM or inside Keel: not written, CPUs from there left off; it is 0x0",
            "[keel] DTB: 1024 MiB RAM at 0x40000000, 1 CPU by spin table, GICv3 at 0x8000000, console at 0x9000000",
            "demo: powering off",
            "[keel] all VMs are off: powering off",
        ]), "\(run.stdout)")
        #expect(run.lines.contains { $0.hasPrefix("[keel] vm0: 1 vCPU, 256 MiB RAM at IPA 0x40000000") }, "\(run.stdout)")
    }

    @Test("xlnx-zcu102 with Debian's ZCU102 DTB (-dtb): a real board's tree agrees with the board file")
    func zcu102RealTree() throws {
        try #require(FileManager.default.fileExists(atPath: Repo.path("build/hyp-xlnx-zcu102/keel.bin")), "run `make`")
        let run = try runKeel(["run", "--board", "xlnx-zcu102", "--dtb", Self.zcu102DTB, "--guest", Repo.guest("hvc"), "--smp", "4", "--timeout", "60"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        #expect(run.lines.contains(Self.summary(ram: 2048, at: "0x0", cpus: 4, gic: 2, distributor: "0xf9010000", console: "0xff000000")), "\(run.stdout)")
        // The GIC-400's 128 KiB frames are used at +0xF000, as the board file has them: no difference.
        #expect(!run.lines.contains { $0.hasPrefix("[keel] DTB: GIC") }, "\(run.stdout)")
        #expect(!run.lines.contains { $0.contains("DTB at 0x100") })
        #expect(run.lines.contains("[keel] vm0: 4 vCPUs, 256 MiB RAM at IPA 0x40000000 (PA 0x10000000), console at IPA 0x9000000, VTCR_EL2 0x80023558"))
        #expect(run.lines.contains("hvc: done"))
    }

    @Test("xlnx-zcu102 without a DTB (QEMU passes none): the board file, said so")
    func zcu102NoTree() throws {
        let run = try runKeel(["run", "--board", "xlnx-zcu102", "--guest", Repo.guest("demo"), "--timeout", "60"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        #expect(run.lines.contains("[keel] no DTB at 0x100: the machine is the board file's"), "\(run.stdout)")
    }

    @Test("keel run --dtb with a file that is not a DTB: refused before QEMU starts")
    func notADTB() throws {
        let run = try runKeel(["run", "--guest", Repo.guest("demo"), "--dtb", Repo.path("README.md")])
        #expect(run.status != 0)
        #expect(run.stderr.contains("README.md is not a device tree blob"), "\(run.stderr)")
    }

    @Test("keel dtb: what the firmware reads from Debian's Raspberry Pi 4 DTB, and the board file's view")
    func keelDTB() throws {
        let run = try runKeel(["dtb", Repo.path("Tests/KeelKitTests/DeviceTrees/bcm2711-rpi-4-b.dtb"), "--board", "raspberry-pi-4"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        #expect(run.lines.contains("CPUs: 4 (MPIDR 0x0 0x1 0x2 0x3), enable-method spin-table, cpu-release-addr 0xd8 0xe0 0xe8 0xf0"), "\(run.stdout)")
        #expect(run.lines.contains("GIC: GICv2, GICD 0xff841000, GICC 0xff842000 (8 KiB), GICH 0xff844000, GICV 0xff846000 (8 KiB), maintenance INTID 25"))
        #expect(run.lines.contains("no /psci: CPUs only from a spin table, no power-off but the Pi's watchdog; CPUs listed 4"))
        #expect(run.lines.contains("Keel on raspberry-pi-4: 948 MiB RAM at 0x0, 4 CPUs by spin table, no PSCI, GICv2 at 0xff841000, console at 0xfe201000"))
        // A board file that is not the tree's: every field that differs is named.
        let wrong = try runKeel(["dtb", Repo.path("Tests/KeelKitTests/DeviceTrees/zynqmp-zcu102-rev1.0.dtb"), "--board", "qemu-virt"])
        #expect(wrong.status == 0, "\(wrong.stdout)")
        #expect(wrong.containsInOrder([
            "no enabled UART of the board's kind: the board file's at 0x9000000",
            "DRAM at 0x0; the board file says 0x40000000",
            "GIC distributor at 0xf9010000; the board file says 0x8000000",
            "GIC CPU interface at 0xf902f000; the board file says 0x8010000",
        ]), "\(wrong.stdout)")
        #expect(try runKeel(["dtb", Repo.path("README.md")]).status != 0)
    }
}
