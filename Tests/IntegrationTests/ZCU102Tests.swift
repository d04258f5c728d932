import Foundation
import KeelBoards
import KeelKit
import Testing

/// Keel on QEMU's `xlnx-zcu102` (4 Cortex-A53, GIC-400, Cadence UART): its own firmware
/// (build/hyp-xlnx-zcu102), the same guests as on qemu-virt, and QEMU's PSCI below Keel
/// (SMC from EL2: CPU_ON for the secondaries, SYSTEM_OFF ends QEMU with status 0).
@Suite("xlnx-zcu102")
struct ZCU102Tests {
    static let firmware = Repo.path("build/hyp-xlnx-zcu102/keel.bin")

    static let demoLines = [
        "Hello from a bare-metal guest at EL1, running on Keel.",
        "demo: hypervisor UID word 0 = 0x6c65656b",
        "demo: PSCI version = 0x10001",
        "demo: MPIDR_EL1 = 0x80000000",
        "demo: CurrentEL = 0x1",
        "demo: powering off",
        "[keel] vm0: PSCI SYSTEM_OFF",
        "[keel] all VMs are off: powering off",
    ]

    /// Keel's first lines on this board, with `cpus` vCPUs: its banner on the Cadence UART, the
    /// GIC-400 found as a GICv2, the VM's RAM in the board's DDR.
    static func bootLines(cpus: Int) -> [String] {
        [
            "[keel] Keel 0.1.0 on xlnx-zcu102, CPU 0 at EL2, DTB at 0x100",
            "[keel] GICv2, 4 list registers per CPU",
            "[keel] vm0: \(cpus) vCPU\(cpus == 1 ? "" : "s"), 256 MiB RAM at IPA 0x40000000 (PA 0x10000000), console at IPA 0x9000000, VTCR_EL2 0x80023558",
        ]
    }

    @Test("keel run --board xlnx-zcu102 --guest: the demo guest, its bundle at the board's address")
    func demo() throws {
        try #require(FileManager.default.fileExists(atPath: Self.firmware), "run `make`")
        let run = try runKeel(["run", "--board", "xlnx-zcu102", "--guest", Repo.guest("demo"), "--timeout", "60", "--print-cmd"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let command = try #require(run.lines.first)
        #expect(command.hasPrefix("qemu-system-aarch64 -M xlnx-zcu102,virtualization=on -cpu cortex-a53 -smp 1 -m 2048M -display none -monitor none -serial stdio -audio none -kernel \(Self.firmware) -device loader,file="), "\(command)")
        #expect(command.hasSuffix(",addr=0x20000000,force-raw=on"), "\(command)")
        let expected = Self.bootLines(cpus: 1) + ["[keel] vm0/vcpu0: entering at 0x40000000 (EL1h, x0 = 0x0)"] + Self.demoLines
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        #expect(run.exitCounters["HVC64"] == 3)
        // Nothing of QEMU's own (audio, UART) complaints on the console.
        // (QEMU 10 reads only -audio none, in the command line: the console after it.)
        let console = run.lines.dropFirst().joined(separator: "\n")
        #expect(!console.contains("ALSA") && !console.contains("alsa") && !console.contains("audio") && !console.contains("pw.conf"), "\(run.stdout)")
    }

    @Test("the hvc guest on all four A53s: every CPU started through QEMU's PSCI, exit counters per vCPU")
    func hvcOnFourCPUs() throws {
        let run = try runKeel(["run", "--board", "xlnx-zcu102", "--guest", Repo.guest("hvc"), "--smp", "4", "--timeout", "60"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let expected = Self.bootLines(cpus: 4) + [
            "hvc: smccc_version=0x10001",
            "hvc: uid0=0x6c65656b",
            "hvc: preserved_sum=0x93",
            "hvc: exceptions=0x0",
            "hvc: done",
            "[keel] vm0: PSCI SYSTEM_OFF",
            "[keel] vm0/vcpu3 exits: irq=0 total=0",
            "[keel] all VMs are off: powering off",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        #expect(run.exitCounters["HVC64"] == 10)  // nine calls and SYSTEM_OFF
        #expect(run.exitCounters["DABT_LOW"] ?? 0 > 0)
    }

    @Test("keel pack --board xlnx-zcu102 + keel run IMAGE --board xlnx-zcu102: the bundle travels in the image")
    func packAndRun() throws {
        let scratch = try PackTests.Scratch()
        let config = try scratch.config(PackTests.demoConfig(board: "xlnx-zcu102"))
        let out = scratch.path("keel.img")
        let pack = try runKeel(["pack", "--config", config, "-o", out])
        #expect(pack.status == 0, "\(pack.stderr)")
        #expect(pack.stdout.contains("for xlnx-zcu102 into \(out)"), "\(pack.stdout)")
        // Packed around the board's firmware, not qemu-virt's.
        let image = try Data(contentsOf: URL(fileURLWithPath: out))
        let firmware = try Data(contentsOf: URL(fileURLWithPath: Self.firmware))
        #expect(image.count > firmware.count)
        #expect(image.prefix(16) == firmware.prefix(16))  // then image_size, raised to cover the bundle
        #expect(image[24..<firmware.count] == firmware[24...])
        let run = try runKeel(["run", out, "--board", "xlnx-zcu102", "--timeout", "60", "--print-cmd"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        #expect(run.lines.first == "qemu-system-aarch64 -M xlnx-zcu102,virtualization=on -cpu cortex-a53 -smp 1 -m 2048M -display none -monitor none -serial stdio -audio none -kernel \(out)")
        let expected = Self.bootLines(cpus: 1) + Self.demoLines
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
    }

    @Test("Debian's Linux on 2 vCPUs: the timer's interrupts through the GIC-400's GICV frame, and SGIs between vCPUs")
    func linux() throws {
        let run = try LinuxTests.boot(board: "xlnx-zcu102", smp: 2, timeout: 300)
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(3000))")
        let expected = Self.bootLines(cpus: 2) + LinuxTests.initLines(cpus: 2)
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout.suffix(3000))")
        #expect(run.exitCounters["irq"] ?? 0 > 0, "\(run.exitCounters)")
    }

    @Test("--board refusals: a board Keel has no firmware for, a GIC the SoC does not have, more CPUs than it has")
    func refusals() throws {
        let unknown = try runKeel(["run", "--board", "no-such-board", "--guest", Repo.guest("demo")])
        #expect(unknown.status == 64 && unknown.stderr.contains("--board no-such-board: Keel's firmware runs under QEMU on qemu-virt, qemu-virt-gicv2, xlnx-zcu102"), "\(unknown.stderr)")
        let gic = try runKeel(["run", "--board", "xlnx-zcu102", "--guest", Repo.guest("demo"), "--gic", "3"])
        #expect(gic.status != 0 && gic.stderr.contains("--gic 3 is not possible: xlnx-zcu102 has a GICv2"), "\(gic.stderr)")
        let smp = try runKeel(["run", "--board", "xlnx-zcu102", "--guest", Repo.guest("demo"), "--smp", "5"])
        #expect(smp.status != 0 && smp.stderr.contains("--smp 5 is not possible: xlnx-zcu102 has 1 to 4 CPUs"), "\(smp.stderr)")
        // The trace mode travels in the bootargs of a DTB this QEMU machine does not give Keel.
        let trace = try runKeel(["run", "--board", "xlnx-zcu102", "--guest", Repo.guest("demo"), "--trace", "/tmp/keel-zcu-trace.bin"])
        #expect(trace.status != 0 && trace.stderr.contains("--trace is not possible on xlnx-zcu102: QEMU gives Keel no device tree there"), "\(trace.stderr)")
        #expect(!trace.stdout.contains("[keel]"))
    }
}
