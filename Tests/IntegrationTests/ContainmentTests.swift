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
