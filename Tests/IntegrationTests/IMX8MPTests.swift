import Foundation
import KeelBoards
import KeelKit
import Testing

/// Keel on QEMU 10's `imx8mp-evk` (4 Cortex-A53, GICv3, i.MX UARTs): its own firmware
/// (build/hyp-imx8mp-evk), Debian's imx8mp-evk.dtb handed to QEMU (`keel linux fetch` puts it in
/// .cache/linux/dtb), Keel's console on UART2 (QEMU's second serial port), QEMU's PSCI over SMC
/// below Keel, and the same guests as on qemu-virt.
@Suite("imx8mp-evk")
struct IMX8MPTests {
    static let firmware = Repo.path("build/hyp-imx8mp-evk/keel.bin")
    static let dtb = Repo.path(".cache/linux/dtb/imx8mp-evk.dtb")

    static let demoLines = ZCU102Tests.demoLines

    /// Keel's first lines on this board, with `cpus` vCPUs: its banner on the i.MX UART, the
    /// machine read from Debian's DTB (QEMU rewrote /memory to the 2 GiB asked for), the GICv3,
    /// the VM's RAM in DRAM above Keel.
    static func bootLines(cpus: Int) -> [String] {
        [
            "[keel] Keel 0.1.0 on imx8mp-evk, CPU 0 at EL2, DTB at 0x48000000",
            "[keel] DTB: 2048 MiB RAM at 0x40000000, 4 CPUs by PSCI, GICv3 at 0x38800000, console at 0x30890000",
            "[keel] GICv3, 4 list registers per CPU",
            "[keel] vm0: \(cpus) vCPU\(cpus == 1 ? "" : "s"), 256 MiB RAM at IPA 0x40000000 (PA 0x50000000), console at IPA 0x9000000, VTCR_EL2 0x80023558",
        ]
    }

    static func requireBuilt() throws {
        try #require(FileManager.default.fileExists(atPath: firmware), "run `make`")
        try #require(FileManager.default.fileExists(atPath: dtb), "run `make linux` (keel linux fetch takes the board's DTB)")
    }

    @Test("keel run --board imx8mp-evk --guest: the demo guest; Debian's DTB and -serial null -serial stdio on the command line")
    func demo() throws {
        try Self.requireBuilt()
        let run = try runKeel(["run", "--board", "imx8mp-evk", "--guest", Repo.guest("demo"), "--timeout", "60", "--print-cmd"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let command = try #require(run.lines.first)
        #expect(command.hasPrefix("qemu-system-aarch64 -M imx8mp-evk -cpu cortex-a53 -smp 1 -m 2048M -display none -monitor none -serial null -serial stdio -kernel \(Self.firmware) -device loader,file="), "\(command)")
        #expect(command.contains(",addr=0x60000000,force-raw=on"), "\(command)")
        #expect(command.hasSuffix(" -dtb .cache/linux/dtb/imx8mp-evk.dtb"), "\(command)")
        let expected = Self.bootLines(cpus: 1) + ["[keel] vm0/vcpu0: entering at 0x40000000 (EL1h, x0 = 0x0)"] + Self.demoLines
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        #expect(run.exitCounters["HVC64"] == 3)
    }

    @Test("the hvc guest on all four A53s: every CPU started through QEMU's PSCI over SMC, exit counters per vCPU")
    func hvcOnFourCPUs() throws {
        try Self.requireBuilt()
        let run = try runKeel(["run", "--board", "imx8mp-evk", "--guest", Repo.guest("hvc"), "--smp", "4", "--timeout", "60"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let expected = Self.bootLines(cpus: 4) + [
            "hvc: smccc_version=0x10001",
            "hvc: uid0=0x6c65656b",
            "hvc: preserved_sum=0x93",
            "hvc: exceptions=0x0",
            "hvc: done",
            "[keel] vm0: PSCI SYSTEM_OFF",
            "[keel] vm0/vcpu1 exits: irq=0 total=0",
            "[keel] vm0/vcpu2 exits: irq=0 total=0",
            "[keel] vm0/vcpu3 exits: irq=0 total=0",
            "[keel] all VMs are off: powering off",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        #expect(run.exitCounters["HVC64"] == 10)  // nine calls and SYSTEM_OFF
    }

    @Test("PSCI for the guest: a vCPU started, stopped and restarted on the second A53")
    func psci() throws {
        try Self.requireBuilt()
        let run = try runKeel(["run", "--board", "imx8mp-evk", "--guest", Repo.guest("psci"), "--smp", "2", "--timeout", "60"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let expected = [
            "psci: cpu1 up, context=0x1234", "psci: cpu1 mpidr=0x80000001", "psci: cpu_on(1)=0x0",
            "psci: cpu1 is off", "psci: cpu1 up, context=0x5678", "psci: cpu1 is off again",
            "psci: exceptions=0x0", "psci: done", "[keel] all VMs are off: powering off",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
    }

    /// QEMU 10's imx8mp SoC does not connect the GIC's virtual IRQ outputs to the CPUs: without
    /// Keel's HCR_EL2.VI (hyp/vgic/VirtualIRQLine.swift) every "interrupt received" check fails.
    @Test("the timers' interrupts reach the guest (kvm-unit-tests' timer checks): Keel signals the virtual IRQ itself")
    func timers() throws {
        try Self.requireBuilt()
        let run = try runKeel(["run", "--board", "imx8mp-evk", "--guest", Repo.guest("vgic_timer"), "--timeout", "60"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let expected = [
            "timer: vtimer: interrupt received: PASS",
            "timer: vtimer: interrupt received after TVAL/WFI: PASS",
            "timer: ptimer: interrupt received: PASS",
            "timer: ptimer: interrupt received after TVAL/WFI: PASS",
            "timer: failures=0x0",
            "timer: unexpected_interrupts=0x0",
            "timer: done",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        #expect(!run.stdout.contains("FAIL"), "\(run.stdout)")
    }

    /// An edge SPI raised again while its previous instance is active: on this board Keel keeps
    /// the new one in software until the guest deactivates the old (no pending+active register,
    /// which NPIE cannot follow: the maintenance interrupt stormed and the guest never ran on).
    @Test("an SPI held by a vCPU that goes off, raised again, taken elsewhere (the vGIC's SPI/CPU_OFF checks)")
    func spiAndCPUOff() throws {
        try Self.requireBuilt()
        let run = try runKeel(["run", "--board", "imx8mp-evk", "--guest", Repo.guest("vgic_spi_off"), "--smp", "2", "--timeout", "60"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let expected = [
            "spi: pending_in_lr_then_cpu_off_arrives_on_cpu0=0x1",
            "spi: raised_while_off_arrives_after_cpu_on=0x1",
            "spi: cpu1 took it and went off in its handler, count=0x1",
            "spi: active_in_lr_then_cpu_off_arrives_on_cpu0=0x1",
            "spi: after_cpu_off_in_handler_cpu_on_gets_it=0x1",
            "spi: exceptions=0x0",
            "spi: done",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
    }

    @Test("keel pack --board imx8mp-evk + keel run IMAGE --board imx8mp-evk: the bundle travels in the image")
    func packAndRun() throws {
        try Self.requireBuilt()
        let scratch = try PackTests.Scratch()
        let config = try scratch.config(PackTests.demoConfig(board: "imx8mp-evk"))
        let out = scratch.path("keel.img")
        let pack = try runKeel(["pack", "--config", config, "-o", out])
        #expect(pack.status == 0, "\(pack.stderr)")
        #expect(pack.stdout.contains("for imx8mp-evk into \(out)"), "\(pack.stdout)")
        let image = try Data(contentsOf: URL(fileURLWithPath: out))
        let firmware = try Data(contentsOf: URL(fileURLWithPath: Self.firmware))
        #expect(image.count > firmware.count && image.prefix(16) == firmware.prefix(16))
        let run = try runKeel(["run", out, "--board", "imx8mp-evk", "--timeout", "60", "--print-cmd"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        #expect(run.lines.first == "qemu-system-aarch64 -M imx8mp-evk -cpu cortex-a53 -smp 1 -m 2048M -display none -monitor none -serial null -serial stdio -kernel \(out) -dtb .cache/linux/dtb/imx8mp-evk.dtb")
        let expected = Self.bootLines(cpus: 1) + Self.demoLines
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
    }

    @Test("console input through the i.MX UART: what is typed on UART2 reaches the guest's emulated PL011")
    func consoleInput() throws {
        try Self.requireBuilt()
        let scratch = try PackTests.Scratch()
        let config = try scratch.config(MultiVMTests.config(MultiVMTests.rawVM("rx", guest: "uart_rx_poll", cpus: "[0]"))
            .replacingOccurrences(of: "board = \"qemu-virt\"", with: "board = \"imx8mp-evk\""))
        let image = scratch.path("rx.img")
        let pack = try runKeel(["pack", "--config", config, "-o", image])
        #expect(pack.status == 0 && pack.stdout.contains("for imx8mp-evk"), "\(pack.stderr)\n\(pack.stdout)")
        let qemu = InteractiveQEMU(image: image, cpus: 1)
        qemu.process.arguments = ["qemu-system-aarch64", "-M", "imx8mp-evk", "-smp", "1", "-m", "2048M", "-display", "none",
                                  "-monitor", "none", "-serial", "null", "-serial", "stdio", "-kernel", image, "-dtb", Self.dtb]
        try qemu.start()
        defer { qemu.stop() }
        #expect(qemu.wait(for: "rx_poll: ready"), "\(qemu.text)")
        qemu.type("imx\n")
        #expect(qemu.wait(for: "rx_poll: got imx"), "\(qemu.text)")
        #expect(qemu.wait(for: "[keel] all VMs are off: powering off"))
        #expect(!qemu.text.contains("PANIC"))
    }

    @Test("Debian's Linux on 4 vCPUs with its generated DTB: SMP, the timer and SGIs through the GICv3, power-off")
    func linux() throws {
        try Self.requireBuilt()
        let run = try LinuxTests.boot(board: "imx8mp-evk", smp: 4, timeout: 400)
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(3000))")
        let expected = Self.bootLines(cpus: 4) + LinuxTests.initLines(cpus: 4)
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout.suffix(3000))")
        #expect(run.exitCounters["irq"] ?? 0 > 0, "\(run.exitCounters)")
    }

    @Test("keel dtb on Debian's imx8mp-evk.dtb: what the firmware reads, and no disagreement with the board file")
    func dtbCommand() throws {
        let run = try runKeel(["dtb", Repo.path("Tests/KeelKitTests/DeviceTrees/imx8mp-evk.dtb"), "--board", "imx8mp-evk"])
        #expect(run.status == 0, "\(run.stderr)")
        let expected = [
            "memory: 3072 MiB at 0x40000000, 3072 MiB at 0x100000000",
            "CPUs: 4 (MPIDR 0x0 0x1 0x2 0x3), enable-method psci",
            "GIC: GICv3, GICD 0x38800000, GICR 0x38880000, maintenance INTID 25",
            "stdout: i.MX at 0x30890000; UARTs: i.MX at 0x30890000",
            "PSCI: 1.0 over SMC",
            "Keel on imx8mp-evk: 3072 MiB RAM at 0x40000000, 4 CPUs by PSCI, GICv3 at 0x38800000, console at 0x30890000",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        #expect(!run.stdout.contains("the board file says"), "\(run.stdout)")
    }

    @Test("--board refusals: a GIC the SoC does not have, more CPUs than it has")
    func refusals() throws {
        let gic = try runKeel(["run", "--board", "imx8mp-evk", "--guest", Repo.guest("demo"), "--gic", "2"])
        #expect(gic.status != 0 && gic.stderr.contains("--gic 2 is not possible: imx8mp-evk has a GICv3"), "\(gic.stderr)")
        let smp = try runKeel(["run", "--board", "imx8mp-evk", "--guest", Repo.guest("demo"), "--smp", "5"])
        #expect(smp.status != 0 && smp.stderr.contains("--smp 5 is not possible: imx8mp-evk has 1 to 4 CPUs"), "\(smp.stderr)")
        #expect(!smp.stdout.contains("[keel]"))
    }
}
