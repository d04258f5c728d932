import Foundation
import KeelBoards
import KeelKit
import Testing

/// Keel on QEMU 10's `raspi4b` (4 Cortex-A72, GIC-400, PL011) with Debian's
/// bcm2711-rpi-4-b.dtb: its own firmware (build/hyp-raspberry-pi-4), the secondary CPUs released
/// from the DTB's spin table (no PSCI below Keel on a Pi), power-off through the BCM2835
/// watchdog (QEMU then exits 0), and the SD card folder's kernel8.img.
@Suite("raspberry-pi-4")
struct RaspberryPi4Tests {
    static let firmware = Repo.path("build/hyp-raspberry-pi-4/keel.bin")
    static let dtb = Repo.path(".cache/linux/dtb/bcm2711-rpi-4-b.dtb")

    /// Keel's first lines on the Pi: the DTB QEMU filled in (960 MiB, four spin-table CPUs, no
    /// PSCI), the three secondaries started, the VM in the slot at 0x1000_0000.
    static func bootLines(vcpus: Int) -> [String] {
        [
            "[keel] Keel 0.1.0 on raspberry-pi-4, CPU 0 at EL2, DTB at 0x8000000",
            "[keel] DTB: no /psci: CPUs only from a spin table, no power-off but the Pi's watchdog; CPUs listed 4",
            "[keel] DTB: 960 MiB RAM at 0x0, 4 CPUs by spin table, no PSCI, GICv2 at 0xff841000, console at 0xfe201000",
            "[keel] CPUs 1 to 3 started from their spin table (cpu-release-addr)",
            "[keel] GICv2, 4 list registers per CPU",
            "[keel] vm0: \(vcpus) vCPU\(vcpus == 1 ? "" : "s"), 256 MiB RAM at IPA 0x40000000 (PA 0x10000000), console at IPA 0x9000000, VTCR_EL2 0x80043558",
        ]
    }

    static let poweredOff = ["[keel] no PSCI: powering off through the power management watchdog"]

    static func requireBuilt() throws {
        try #require(FileManager.default.fileExists(atPath: firmware), "run `make`")
        try #require(FileManager.default.fileExists(atPath: dtb), "no Debian DTB in .cache/linux/dtb: run `make linux`")
    }

    /// `[keel] vm0/vcpuN exits: ...` of `run` as a dictionary.
    static func exits(_ run: KeelRun, vcpu: Int) -> [String: Int] {
        let prefix = "[keel] vm0/vcpu\(vcpu) exits:"
        guard let line = run.lines.first(where: { $0.hasPrefix(prefix) }) else { return [:] }
        var counters: [String: Int] = [:]
        for item in line.dropFirst(prefix.count).split(separator: " ") {
            let parts = item.split(separator: "=")
            if parts.count == 2, let n = Int(parts[1]) { counters[String(parts[0])] = n }
        }
        return counters
    }

    @Test("keel run --board raspberry-pi-4 --guest: the demo guest on raspi4b with Debian's DTB, QEMU's exit 0 from the watchdog")
    func demo() throws {
        try Self.requireBuilt()
        let run = try runKeel(["run", "--board", "raspberry-pi-4", "--guest", Repo.guest("demo"), "--timeout", "60", "--print-cmd"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let command = try #require(run.lines.first)
        #expect(command.hasPrefix("qemu-system-aarch64 -M raspi4b -cpu cortex-a72 -smp 4 -m 2048M -display none -monitor none -serial stdio -kernel \(Self.firmware) -device loader,file="), "\(command)")
        #expect(command.hasSuffix(",addr=0x20000000,force-raw=on -dtb .cache/linux/dtb/bcm2711-rpi-4-b.dtb"), "\(command)")
        #expect(run.stderr.contains("QEMU's raspi4b always has 4 CPUs"), "\(run.stderr)")
        let expected = Self.bootLines(vcpus: 4) + ["[keel] vm0/vcpu0: entering at 0x40000000 (EL1h, x0 = 0x0)"]
            + ZCU102Tests.demoLines + Self.poweredOff
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        #expect(run.exitCounters["HVC64"] == 3)
    }

    @Test("uart_race on 4 vCPUs: every CPU released from the spin table runs its vCPU (160000 trapped UART accesses each)")
    func fourCPUs() throws {
        try Self.requireBuilt()
        let run = try runKeel(["run", "--board", "raspberry-pi-4", "--guest", Repo.guest("uart_race"), "--smp", "4", "--timeout", "180"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(3000))")
        let expected = Self.bootLines(vcpus: 4) + ["uart_race: start", "uart_race: vcpus=0x4", "uart_race: done", "[keel] vm0: PSCI SYSTEM_OFF",
                                                   "[keel] all VMs are off: powering off"] + Self.poweredOff
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout.suffix(3000))")
        for vcpu in 1...3 {
            #expect(Self.exits(run, vcpu: vcpu)["DABT_LOW"] == 160_000, "vCPU \(vcpu): \(Self.exits(run, vcpu: vcpu))")
        }
    }

    @Test("Debian's Linux on 4 vCPUs with its generated DTB: all CPUs online, the workload on each, power-off")
    func linux() throws {
        try Self.requireBuilt()
        let run = try LinuxTests.boot(board: "raspberry-pi-4", smp: 4, timeout: 400)
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(3000))")
        let expected = Self.bootLines(vcpus: 4) + LinuxTests.initLines(cpus: 4) + Self.poweredOff
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout.suffix(3000))")
        #expect(!run.stdout.contains("Kernel panic"))
    }

    @Test("keel pack --board raspberry-pi-4: the SD card folder's kernel8.img boots under keel run")
    func packedFolder() throws {
        try Self.requireBuilt()
        let scratch = try PackTests.Scratch()
        let folder = scratch.path("boot")
        let pack = try runKeel(["pack", "--config", try scratch.config(PackTests.demoConfig(board: "raspberry-pi-4")), "-o", folder])
        #expect(pack.status == 0, "\(pack.stderr)")
        #expect(!pack.stdout.contains("does not boot a Pi"), "\(pack.stdout)")
        let kernel = folder + "/kernel8.img"
        let run = try runKeel(["run", kernel, "--board", "raspberry-pi-4", "--timeout", "60", "--print-cmd"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        #expect(run.lines.first == "qemu-system-aarch64 -M raspi4b -cpu cortex-a72 -smp 4 -m 2048M -display none -monitor none -serial stdio -kernel \(kernel) -dtb .cache/linux/dtb/bcm2711-rpi-4-b.dtb")
        // The packed VM has the one vCPU its config names (cpus = [0]), in a VM table: Keel
        // starts all four CPUs, and the other three wait.
        let expected = Self.bootLines(vcpus: 1) + ZCU102Tests.demoLines + Self.poweredOff
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
    }

    @Test("A DTB whose release address points into Keel's image: that CPU is not released, Keel runs on the CPUs before it")
    func releaseAddressInsideKeel() throws {
        try Self.requireBuilt()
        let scratch = try PackTests.Scratch()
        // CPU 2's cpu-release-addr moved onto Keel's Image header (0x80000).
        let dts = try HostCommand("dtc", ["-q", "-I", "dtb", "-O", "dts", Self.dtb]).run()
        let bad = dts.replacingOccurrences(of: "cpu-release-addr = <0x00 0xe8>;", with: "cpu-release-addr = <0x00 0x80000>;")
        #expect(bad != dts)
        let source = scratch.path("bad.dts"), blob = scratch.path("bad.dtb")
        try bad.write(toFile: source, atomically: true, encoding: .utf8)
        try HostCommand("dtc", ["-q", "-I", "dts", "-O", "dtb", "-o", blob, source]).run()
        let run = try runKeel(["run", "--board", "raspberry-pi-4", "--dtb", blob, "--guest", Repo.guest("demo"), "--timeout", "60"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let expected = [
            "[keel] DTB: a spin-table CPU's cpu-release-addr is missing, unaligned, outside DRAM or inside Keel: not written, CPUs from there left off; it is 0x80000",
            "[keel] DTB: 960 MiB RAM at 0x0, 2 CPUs by spin table, no PSCI, GICv2 at 0xff841000, console at 0xfe201000",
            "[keel] CPU 1 started from its spin table (cpu-release-addr)",
            "[keel] vm0: 2 vCPUs, 256 MiB RAM at IPA 0x40000000 (PA 0x10000000), console at IPA 0x9000000, VTCR_EL2 0x80043558",
        ] + ZCU102Tests.demoLines + Self.poweredOff
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
    }
}

extension RaspberryPi4Tests {
    @Test("The ZCU102's firmware (also linked at 0x80000) on --board raspberry-pi-4, and the Pi's on the ZCU102: refused by the name in the banner")
    func otherBoardsFirmware() throws {
        try Self.requireBuilt()
        let zcu = try runKeel(["run", "--board", "raspberry-pi-4", "--guest", Repo.guest("demo"), "--firmware", ZCU102Tests.firmware, "--timeout", "20"])
        #expect(zcu.status == 65, "\(zcu.stderr)")
        #expect(zcu.stderr.contains("is built for xlnx-zcu102 (linked at 0x80000), not raspberry-pi-4"), "\(zcu.stderr)")
        let pi = try runKeel(["run", "--board", "xlnx-zcu102", "--guest", Repo.guest("demo"), "--firmware", Self.firmware, "--timeout", "20"])
        #expect(pi.status == 65 && pi.stderr.contains("is built for raspberry-pi-4 (linked at 0x80000), not xlnx-zcu102"), "\(pi.stderr)")
    }
}
