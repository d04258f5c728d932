import Foundation
import Testing

/// Issue 12's hostile guests with every vCPU attacking at once (`Tests/Guests/attack_smp_*.S`,
/// `lib/smp.h`): all the VM's vCPUs hammer the same emulated state from their own xorshift
/// seeds (the PL011; the GIC distributor, redistributors and SGIs while taking interrupts;
/// PSCI CPU_ON/CPU_OFF/CPU_SUSPEND/AFFINITY_INFO on each other and the doorbell), the VM resets
/// itself with PSCI SYSTEM_RESET mid-attack a bounded number of times (one vCPU while the others
/// attack on, then all of them at once), and each guest reports what it saw against what the
/// architecture requires. Each runs as a VM on CPUs 2-3
/// beside Debian's Linux on CPUs 0-1, which must finish its workload; and alone on four vCPUs.
/// Together they make well over a million trapped accesses (Keel's exit counters say how many).
@Suite("Hostile multi-vCPU attackers beside Linux (issue 12)")
struct HostileSMPTests {
    /// An attacker: its guest, the name its lines start with, the SYSTEM_RESETs it makes, the
    /// trapped accesses (exits, all its vCPUs) it must make at least, and what else it must say.
    struct Attack: CustomTestStringConvertible, Sendable {
        var guest: String
        var name: String
        var resets: Int
        var minimumExits: Int
        /// Counters that must read zero: each is a violation the guest counted.
        var zero: [String]
        /// Counters that must be above zero: the attack really happened.
        var nonzero: [String]
        /// Lines that must appear as they are (without the console prefix).
        var lines: [String]
        var testDescription: String { guest }
    }

    static let attacks = [
        // Every vCPU storing letters to DR with no newline, and FR, IMSC, CR... read and written.
        Attack(guest: "attack_smp_uart", name: "uart", resets: 2, minimumExits: 1_000_000,
               zero: ["uart_irqs"], nonzero: ["dr_stores"], lines: []),
        // Chaos on GICD/GICR/SGIs, then checked concurrent SGIs and SPIs, then re-route probes.
        Attack(guest: "attack_smp_gic", name: "gic", resets: 2, minimumExits: 1_000_000,
               zero: ["sgi_lost", "spi_lost", "spi_wrong_cpu", "readback_wrong", "invariant_broken", "bad_intid", "reroute_lost"],
               nonzero: ["sgis_sent", "spis_sent"], lines: []),
        // PSCI on each other and doorbells to any VM; at the end interrupts routed to vCPU 0.
        Attack(guest: "attack_smp_psci", name: "psci", resets: 3, minimumExits: 800_000,
               zero: ["affinity_bad", "cpu_on_bad", "suspend_bad", "cpu_off_returned", "doorbell_bad", "context_bad", "bad_intid"],
               nonzero: ["cpu_offs", "suspend_resumes", "spi40_irqs", "sgi_irqs"],
               lines: ["psci: final_spi40_taken=1", "psci: final_spi47_taken=1", "psci: final_sgi_taken=1"]),
    ]

    @Test("every vCPU of the attacker hammers the same state while Linux beside it finishes its workload; nothing panics",
          arguments: attacks)
    func beside(_ attack: Attack) throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let attacker = """
            [[vm]]
            name = "attacker"
            cpus = [2, 3]
            memory = { base = 0x4000_0000, size = "256M" }
            kernel = "\(Repo.guest(attack.guest))"
            kind = "raw"

            """
        let scratch = try PackTests.Scratch()
        let run = try runKeel(["run", "--config", try scratch.config(MultiVMTests.config(MultiVMTests.linuxVM(cpus: "[0, 1]") + attacker)),
                               "--timeout", "300"])
        Self.expectAttack(run, attack, vm: 1, vcpus: 2)
        #expect(run.containsInOrder(["[vm0] KEEL-INIT: cpus online 2", "[vm0] KEEL-INIT: workload done 2 jobs", "[keel] vm0: PSCI SYSTEM_OFF"]),
                "\(attack.guest): \(Self.summary(run))")
        for line in run.lines where line.hasPrefix("[vm0] ") {
            for word in ["Oops", "BUG:", "Kernel panic", "Call trace"] { #expect(!line.contains(word), "Linux: \(line)") }
        }
    }

    @Test("alone on four vCPUs (no line-buffered console: the attack itself is sound), every check holds",
          arguments: attacks)
    func alone(_ attack: Attack) throws {
        try #require(FileManager.default.fileExists(atPath: Repo.guest(attack.guest)), "build/guests/\(attack.guest).bin is missing: run `make`")
        let run = try runKeel(["run", "--guest", Repo.guest(attack.guest), "--smp", "4", "--timeout", "300"])
        Self.expectAttack(run, attack, vm: 0, vcpus: 4)
    }

    /// Containment and the guest's own report: Keel never panicked, the attacker powered itself
    /// off after `resets` resets with every vCPU done and no mismatch, its counters say what
    /// they must, and Keel counted the exits.
    static func expectAttack(_ run: KeelRun, _ attack: Attack, vm: Int, vcpus: Int,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        let guestPrefix = vm == 0 ? "" : "[vm\(vm)] "
        let name = attack.name
        let context = "\(attack.guest): \(summary(run))"
        #expect(run.status == 0, "keel run exited \(run.status)\n\(run.stderr)\n\(context)", sourceLocation: sourceLocation)
        #expect(!run.stdout.contains("PANIC"), "\(context)", sourceLocation: sourceLocation)
        #expect(!run.lines.contains { $0.contains("unexpected exception") || $0.contains("SYSTEM_OFF returned") }, "\(context)",
                sourceLocation: sourceLocation)
        // It ended by itself, after exactly its resets.
        let ending = ["\(guestPrefix)\(name): report", "\(guestPrefix)\(name): boots=\(attack.resets)",
                      "\(guestPrefix)\(name): unfinished_vcpus=0", "\(guestPrefix)\(name): done", "[keel] vm\(vm): PSCI SYSTEM_OFF"]
        #expect(run.containsInOrder(ending), "missing: \(run.missing(ending))\n\(context)", sourceLocation: sourceLocation)
        // One reset each time, though every vCPU asked at once in the second (lib/smp.h).
        let resets = run.lines.filter { $0.hasPrefix("[keel] vm\(vm)/vcpu") && $0.hasSuffix(": PSCI SYSTEM_RESET: restarting the VM from its boot images") }
        #expect(resets.count == attack.resets, "\(context)", sourceLocation: sourceLocation)
        #expect(!run.lines.contains { $0.contains("did not stop") }, "\(context)", sourceLocation: sourceLocation)
        #expect(run.lines.last { !$0.isEmpty } == "[keel] all VMs are off: powering off", "\(context)", sourceLocation: sourceLocation)
        // Every vCPU finished its rounds and saw nothing the architecture forbids.
        for vcpu in 0..<vcpus {
            let line = run.lines.first { $0.hasPrefix("\(guestPrefix)\(name): vcpu\(vcpu) ops=") } ?? ""
            #expect(line.contains(" mismatches=0 ") && line.contains(" done=1 "), "vcpu\(vcpu): '\(line)'\n\(context)", sourceLocation: sourceLocation)
        }
        #expect(counter(run, "\(guestPrefix)\(name): total ", "mismatches") == 0, "\(context)", sourceLocation: sourceLocation)
        // After each SYSTEM_RESET every vCPU but 0 is off: CPU_ON of each at boot succeeds.
        #expect(counter(run, "\(guestPrefix)\(name): total ", "boot_cpu_on_bad") == 0, "\(context)", sourceLocation: sourceLocation)
        for key in attack.zero {
            #expect(counter(run, "\(guestPrefix)\(name): ", key) == 0, "\(key)\n\(context)", sourceLocation: sourceLocation)
        }
        for key in attack.nonzero {
            #expect((counter(run, "\(guestPrefix)\(name): ", key) ?? 0) > 0, "\(key)\n\(context)", sourceLocation: sourceLocation)
        }
        let lines = attack.lines.map { guestPrefix + $0 }
        #expect(run.containsInOrder(lines), "missing: \(run.missing(lines))\n\(context)", sourceLocation: sourceLocation)
        // Keel's own count of what the VM's vCPUs made it do.
        let exits = (0..<vcpus).map { exitTotal(run, vm: vm, vcpu: $0) }
        #expect(exits.allSatisfy { $0 > 0 }, "\(exits)\n\(context)", sourceLocation: sourceLocation)
        #expect(exits.reduce(0, +) >= attack.minimumExits, "\(exits)\n\(context)", sourceLocation: sourceLocation)
    }

    /// `key=N` from the first line starting with `prefix` and holding it, as a number.
    static func counter(_ run: KeelRun, _ prefix: String, _ key: String) -> Int? {
        for line in run.lines where line.hasPrefix(prefix) {
            for item in line.dropFirst(prefix.count).split(separator: " ") where item.hasPrefix("\(key)=") {
                return Int(item.dropFirst(key.count + 1))
            }
        }
        return nil
    }

    /// `total=N` of `[keel] vmV/vcpuC exits: ...`, 0 when missing.
    static func exitTotal(_ run: KeelRun, vm: Int, vcpu: Int) -> Int {
        let line = run.lines.first { $0.hasPrefix("[keel] vm\(vm)/vcpu\(vcpu) exits:") } ?? ""
        return counter(KeelRun(status: 0, stdout: line, stderr: ""), "[keel] vm\(vm)/vcpu\(vcpu) exits:", "total") ?? 0
    }

    /// Keel's lines and the attacker's report, without its lines of letters and Linux's boot log.
    static func summary(_ run: KeelRun) -> String {
        run.lines.filter { line in
            line.hasPrefix("[keel]") || line.contains("KEEL-INIT") || line.contains(": ") && !line.hasPrefix("[vm0] [")
        }.suffix(80).joined(separator: "\n")
    }
}
