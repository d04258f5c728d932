import Foundation
import KeelKit
import Testing

/// Issue 12: what one VM can do to Keel's shared emulated state with all its vCPUs at once, and
/// to other VMs through Keel (doorbells, console input), shown by bare-metal guests under QEMU.
@Suite("Containment (issue 12)")
struct ContainmentTests {
    func run(_ vms: String, timeout: Int = 120) throws -> KeelRun {
        let scratch = try PackTests.Scratch()
        return try runKeel(["run", "--config", try scratch.config(MultiVMTests.config(vms)), "--timeout", String(timeout)])
    }

    /// Guest lines behind `[vmN] `: each must carry exactly one prefix.
    static func cutLines(_ run: KeelRun) -> [String] {
        run.lines.filter { $0.hasPrefix("[vm") && $0.dropFirst(5).contains("[vm") }
    }

    @Test("three vCPUs of one VM store to its UART data register at once, no newline, beside a second VM: no panic, every byte arrives, one prefix per line")
    func uartRace() throws {
        let run = try run(MultiVMTests.rawVM("race", guest: "uart_race", cpus: "[0, 1, 2]") + MultiVMTests.rawVM("hvc", guest: "hvc", cpus: "[3]"))
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(3000))")
        #expect(!run.stdout.contains("PANIC"), "\(run.stdout.suffix(3000))")
        #expect(run.containsInOrder(["[vm0] uart_race: start", "[vm0] uart_race: vcpus=0x3", "[vm0] uart_race: done", "[keel] vm0: PSCI SYSTEM_OFF"]),
                "\(run.stdout.suffix(3000))")
        #expect(run.containsInOrder(["[vm1] hvc: start", "[vm1] hvc: done", "[keel] vm1: PSCI SYSTEM_OFF"]))
        #expect(Self.cutLines(run).isEmpty, "\(Self.cutLines(run).prefix(3))")
        // The racing VM's bytes: whole lines of at most 120 letters behind its prefix, and all of
        // them (3 vCPUs x 20000 rounds x 4 stores to DR): none lost, none written twice.
        let letters = run.lines.filter { $0.hasPrefix("[vm0] ") }.map { $0.dropFirst(6) }
            .filter { !$0.isEmpty && $0.allSatisfy { "abc".contains($0) } }
        #expect(letters.allSatisfy { $0.count <= 120 })
        #expect(letters.reduce(0) { $0 + $1.count } == 3 * 20000 * 4)
        // Every other line is Keel's, or the guests' own.
        let stray = run.lines.filter { !$0.isEmpty && !$0.hasPrefix("[keel] ") && !$0.hasPrefix("[vm0] ") && !$0.hasPrefix("[vm1] ") }
        #expect(stray.isEmpty, "\(stray.prefix(3))")
        #expect(run.lines.last { !$0.isEmpty } == "[keel] all VMs are off: powering off")
    }

    @Test("console input for a VM whose vCPU waits in WFI for its UART interrupt wakes it, though another VM's UART read took the input")
    func consoleInputWakesWFI() throws {
        let scratch = try PackTests.Scratch()
        let config = try scratch.config(MultiVMTests.config(MultiVMTests.rawVM("rx", guest: "uart_rx_wfi", cpus: "[0]")
                                                            + MultiVMTests.rawVM("echo", guest: "echo", cpus: "[1]")))
        let image = scratch.path("rx.img")
        #expect(try runKeel(["pack", "--config", config, "-o", image]).status == 0)
        let qemu = InteractiveQEMU(image: image, cpus: 2)
        try qemu.start()
        defer { qemu.stop() }
        // vm0 sleeps in WFI with its UART interrupt enabled; vm1 (echo) polls its own UART all
        // along, which is where Keel takes the console input, for vm0 (the focus).
        #expect(qemu.wait(for: "[vm0] rx_wfi: ready") && qemu.wait(for: "[vm1] echo: ready"), "\(qemu.text)")
        qemu.type("wake up\n")
        #expect(qemu.wait(for: "[vm0] rx_wfi: got wake up", seconds: 20), "vm0 was never woken: \(qemu.text)")
        #expect(qemu.wait(for: "[keel] vm0: PSCI SYSTEM_OFF"))
        // Then vm1 gets its own line and the machine powers off.
        qemu.type("\u{01}1")
        #expect(qemu.wait(for: "[keel] console input: vm1"))
        qemu.type("bye\n")
        #expect(qemu.wait(for: "[vm1] echo: got bye"), "\(qemu.text)")
        #expect(qemu.wait(for: "[keel] all VMs are off: powering off"))
        #expect(!qemu.text.contains("PANIC"))
    }

    @Test("a VM reading its UART in a loop takes its UART receive interrupt (a level line), EOIs it, and carries on to the line it was typed")
    func levelInterruptEOI() throws {
        let scratch = try PackTests.Scratch()
        let config = try scratch.config(MultiVMTests.config(MultiVMTests.rawVM("rx", guest: "uart_rx_poll", cpus: "[0]")))
        let image = scratch.path("rx.img")
        #expect(try runKeel(["pack", "--config", config, "-o", image]).status == 0)
        let qemu = InteractiveQEMU(image: image, cpus: 1)
        try qemu.start()
        defer { qemu.stop() }
        #expect(qemu.wait(for: "rx_poll: ready"), "\(qemu.text)")
        qemu.type("level\n")
        // The handler's EOI leaves the list register invalid with its EOI maintenance request:
        // Keel must retire it, or the vCPU never gets past Keel's maintenance interrupt.
        #expect(qemu.wait(for: "rx_poll: got level"), "\(qemu.text)")
        #expect(qemu.wait(for: "[keel] all VMs are off: powering off"))
        #expect(!qemu.text.contains("PANIC"))
    }

    /// Three VMs (`Tests/Guests/lib/doorbell_acl.h`): the ringer shares "pair" with the victim,
    /// the victim "side" with the outsider; the ringer shares nothing with the outsider.
    static func doorbellVMs(ringer: String = "", victim: String = "") -> String {
        MultiVMTests.rawVM("ringer", guest: "doorbell_ringer", cpus: "[0]") + ringer
            + MultiVMTests.rawVM("victim", guest: "doorbell_victim", cpus: "[1]") + victim
            + MultiVMTests.rawVM("outsider", guest: "doorbell_outsider", cpus: "[2]") + """

            [[shared_memory]]
            name = "pair"
            size = "4K"
            ipa = 0x7000_0000
            vms = ["ringer", "victim"]

            [[shared_memory]]
            name = "side"
            size = "4K"
            ipa = 0x7010_0000
            vms = ["victim", "outsider"]

            """
    }

    /// IRQ exits of VM `vm`'s vCPU 0, from its counters at power-off.
    static func irqExits(_ run: KeelRun, vm: Int) -> Int? {
        guard let line = run.lines.first(where: { $0.hasPrefix("[keel] vm\(vm)/vcpu0 exits:") }),
              let item = line.split(separator: " ").first(where: { $0.hasPrefix("irq=") }) else { return nil }
        return Int(item.dropFirst(4))
    }

    @Test("only VMs that share memory ring each other: a VM sharing nothing, or none at all, gets NOT_SUPPORTED; a VM that never enabled its doorbell takes no IRQ exit for it, and the latched doorbell arrives once enabled")
    func doorbellPeers() throws {
        let run = try run(Self.doorbellVMs())
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(3000))")
        #expect(!run.stdout.contains("PANIC"))
        #expect(run.containsInOrder(["[vm0] ringer: peer_rings_answered_0=0x3e8", "[vm0] ringer: outsider_rings_refused=0x3e8",
                                     "[vm0] ringer: self=0x0", "[vm0] ringer: outsider=0xffffffffffffffff",
                                     "[vm0] ringer: no_such_vm=0xffffffffffffffff", "[vm0] ringer: huge=0xffffffffffffffff", "[vm0] ringer: done"]),
                "\(run.stdout.suffix(3000))")
        #expect(run.lines.contains("[vm2] outsider: ring_ringer=0xffffffffffffffff"))
        // A thousand rings of the victim, its SPI disabled: pending latched, no kick.
        #expect(Self.irqExits(run, vm: 1) == 0, "\(run.lines.filter { $0.contains("exits:") })")
        #expect(run.containsInOrder(["[vm1] victim: ringer done", "[vm1] victim: latched doorbells taken=0x1"]))
        #expect(Self.irqExits(run, vm: 2) == 0, "\(run.lines.filter { $0.contains("exits:") })")
        #expect(run.lines.contains("[vm2] outsider: done"))
        #expect(run.lines.last { !$0.isEmpty } == "[keel] all VMs are off: powering off")
    }

    @Test("doorbell_peers replaces the shared-memory default: the ringer may ring only the VM it names, the victim none but itself")
    func doorbellPeersFromConfig() throws {
        let run = try run(Self.doorbellVMs(ringer: "doorbell_peers = [\"outsider\"]\n", victim: "doorbell_peers = []\n"))
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(3000))")
        #expect(run.containsInOrder(["[vm0] ringer: peer_rings_answered_0=0x0", "[vm0] ringer: outsider_rings_refused=0x0",
                                     "[vm0] ringer: self=0x0", "[vm0] ringer: outsider=0x0", "[vm0] ringer: no_such_vm=0xffffffffffffffff"]),
                "\(run.stdout.suffix(3000))")
        // The outsider shares no memory with the ringer and names no peers: still refused.
        #expect(run.lines.contains("[vm2] outsider: ring_ringer=0xffffffffffffffff"))
        #expect(run.lines.contains("[vm1] victim: latched doorbells taken=0x0"))
        // Rung a thousand times with its doorbell disabled: no IRQ exit.
        #expect(Self.irqExits(run, vm: 2) == 0, "\(run.lines.filter { $0.contains("exits:") })")
        #expect(run.lines.last { !$0.isEmpty } == "[keel] all VMs are off: powering off")
    }

    @Test("a thousand SGIs to a vCPU that has not enabled them force no IRQ exit on it; enabled, the latched one arrives once")
    func sgiToDisabled() throws {
        let run = try boot("sgi_disabled", ["--smp", "2"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(2000))")
        #expect(run.lines.contains("sgi: taken by vcpu1 after enabling=0x1"), "\(run.stdout.suffix(2000))")
        let vcpu1 = run.lines.first { $0.hasPrefix("[keel] vm0/vcpu1 exits:") } ?? ""
        #expect(vcpu1.contains(" irq=0 "), "\(vcpu1)")
    }

    @Test("keel run --append \"\" boots Linux with an empty command line; without --append, console=ttyAMA0")
    func emptyAppend() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        // Only the kernel's first lines matter: the runs are cut short (no root, no initrd).
        for (append, expected) in [([String]?.some(["--append", ""]), "Kernel command line: "), (nil, "Kernel command line: console=ttyAMA0")] {
            let run = try runKeel(["run", "--guest", LinuxTests.kernel, "--timeout", "30"] + (append ?? []))
            let line = run.lines.first { $0.contains("Kernel command line:") }
            #expect(line.map { String($0[$0.range(of: "Kernel command line:")!.lowerBound...]) } == expected,
                    "\(append ?? []): \(run.stdout.prefix(3000))")
        }
    }
}

/// QEMU run directly with Keel's packed `image`, its serial console a pipe the test types into
/// (as `ConsoleInputTests` does).
final class InteractiveQEMU {
    let process = Process()
    let input = Pipe(), output = Pipe()
    private let buffer = Locked("")

    init(image: String, cpus: Int) {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["qemu-system-aarch64", "-M", "virt,virtualization=on,gic-version=3", "-cpu", "cortex-a72", "-smp", String(cpus),
                             "-m", "1024M", "-display", "none", "-monitor", "none", "-serial", "stdio", "-kernel", image]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
    }

    func start() throws {
        let buffer = self.buffer
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { buffer.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try process.run()
    }

    /// SIGKILL: QEMU inherits the test runner's blocked signals, SIGTERM included.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        output.fileHandleForReading.readabilityHandler = nil
    }

    var text: String { buffer.withLock { $0 } }

    func type(_ text: String) { input.fileHandleForWriting.write(Data(text.utf8)) }

    /// True once `marker` was printed, false after `seconds`.
    func wait(for marker: String, seconds: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if text.contains(marker) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return text.contains(marker)
    }
}
