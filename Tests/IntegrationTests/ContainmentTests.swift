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
}
