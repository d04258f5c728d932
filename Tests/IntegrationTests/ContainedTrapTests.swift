import Foundation
import KeelKit
import Testing

/// Issue 13, contained traps: a failed Swift check at EL2 while Keel handles VM N's exit stops
/// VM N only. The test firmware (build/hyp-test/keel.bin, `-D KEEL_TEST_HOOKS`) has a hypercall
/// that fails a bounds check with the VM's UART and vGIC locks and the console lock held
/// (hyp/core/TestHooks.swift); the shipped firmware has none.
@Suite("Contained traps: a fault in Keel stops only the VM whose exit it handled (issue 13)")
struct ContainedTrapTests {
    static var testFirmware: String { Repo.path("build/hyp-test/keel.bin") }

    /// VM 0 Debian's Linux on CPU 0; VM 1 the failing guest on CPUs 1-2 (its vCPU 1 spins
    /// without exits, so stopping the VM must kick it out, and its way out takes the vGIC lock
    /// the fault left held).
    static func config() -> String {
        MultiVMTests.config(MultiVMTests.linuxVM(cpus: "[0]") + MultiVMTests.rawVM("trap", guest: "contained_trap", cpus: "[1, 2]"))
    }

    /// The first index of a line containing `text` at or after `from`.
    static func index(_ lines: [String], _ text: String, from: Int = 0) -> Int? {
        lines[from...].firstIndex { $0.contains(text) }
    }

    @Test("VM 1 fails a bounds check in Keel; Keel reports it, releases its locks and stops VM 1; Linux in VM 0 finishes its workload; keel run names VM 1 (status 71)")
    func besideLinux() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        try #require(FileManager.default.fileExists(atPath: Self.testFirmware), "run `make` (it builds build/hyp-test)")
        let scratch = try PackTests.Scratch()
        let run = try runKeel(["run", "--config", try scratch.config(Self.config()), "--firmware", Self.testFirmware, "--timeout", "300"])
        let lines = run.lines
        let summary = lines.filter { !$0.hasPrefix("[vm0] ") || $0.contains("KEEL-INIT") }.joined(separator: "\n")
        // The report: the failing check decoded, Keel's registers, the guest's.
        let fault = try #require(Self.index(lines, "[keel] vm1/vcpu0: FAULT in Keel (a failed Swift check) while handling this vCPU's exit: Keel stops vm1"), "\(summary)")
        #expect(lines[fault + 1].hasPrefix("[keel] ESR_EL2 0xf2000001 (BRK64 #0x1)  ELR_EL2 0x"), "\(summary)")
        #expect(lines[fault + 2].hasPrefix("[keel]  x0 0x"), "\(summary)")
        #expect(Self.index(lines, "[keel] x28 0x", from: fault)! < fault + 12, "\(summary)")
        let guest = try #require(Self.index(lines, "[keel] vm1/vcpu0 guest: pc 0x", from: fault), "\(summary)")
        #expect(lines[guest].contains("exit ESR_EL2 0x5a000000 (HVC64)"), "\(summary)")
        #expect(lines[guest + 1].contains("x0 0x86000f00") && lines[guest + 1].contains("x1 0x5"), "\(summary)")
        // Stopped: three locks released (its UART's, its vGIC's, the console's), its other vCPU off.
        let stopped = try #require(Self.index(lines, "[keel] vm1: stopped by a fault in Keel"), "\(summary)")
        #expect(lines[stopped] == "[keel] vm1: stopped by a fault in Keel (ESR_EL2 0xf2000001, BRK64: a failed Swift check) while handling its vCPU 0's exit; 3 locks released; the other VMs run on", "\(summary)")
        #expect(Self.index(lines, "[keel] vm1/vcpu1 exits:", from: stopped) != nil, "\(summary)")
        #expect(Self.index(lines, "did not stop") == nil, "vm1/vcpu1 never got the vGIC lock back: \(summary)")
        // The stop completed: vCPU 1 went off and CPU 1 gave its list registers back, both under
        // the vGIC lock the fault left held; before Linux was done.
        let contained = try #require(Self.index(lines, "[keel] vm1: contained: every vCPU is off; CPU 1 idles", from: stopped), "\(summary)")
        #expect(Self.index(lines, "trap: the hook returned") == nil, "\(summary)")
        // Linux ran on: it printed after the fault (the console lock the fault held came back),
        // finished its workload and powered off; the machine with it.
        let done = try #require(Self.index(lines, "[vm0] KEEL-INIT: workload done 1 jobs"), "\(summary)")
        #expect(done > stopped, "\(summary)")
        let off = try #require(Self.index(lines, "[keel] vm0: PSCI SYSTEM_OFF", from: done), "\(summary)")
        #expect(contained < off, "\(summary)")
        #expect(Self.index(lines, "[keel] all VMs are off: powering off", from: off) != nil, "\(summary)")
        #expect(!run.stdout.contains("PANIC"), "\(summary)")
        for line in lines where line.hasPrefix("[vm0] ") {
            for word in ["Oops", "BUG:", "Kernel panic", "Call trace"] { #expect(!line.contains(word), "Linux: \(line)") }
        }
        // keel run: status 71, and its last line names the VM and why.
        #expect(run.status == 71, "status \(run.status): \(run.stderr)")
        let last = run.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last == "keel: Keel stopped vm1 (trap) after a fault of its own (ESR_EL2 0xf2000001, BRK64: a failed Swift check) while handling its vCPU 0's exit; 3 locks released; the other VMs ran on",
                "\(run.stderr)")
    }

    @Test("with --trace, the fault report lists this CPU's last trace records and the trace records the stop")
    func traced() throws {
        try #require(FileManager.default.fileExists(atPath: Self.testFirmware), "run `make` (it builds build/hyp-test)")
        let scratch = try PackTests.Scratch()
        let config = MultiVMTests.config(MultiVMTests.rawVM("trap", guest: "contained_trap", cpus: "[0, 1]") + MultiVMTests.rawVM("hvc", guest: "hvc", cpus: "[2]"))
        let trace = scratch.path("run.trace")
        let run = try runKeel(["run", "--config", try scratch.config(config), "--firmware", Self.testFirmware, "--trace", trace, "--timeout", "120"])
        #expect(run.status == 71, "status \(run.status): \(run.stderr)")
        let lines = run.lines
        let records = lines.filter { $0.hasPrefix("[keel] trace #") }
        // The guest's last exits before the hook: its UART writes.
        #expect(records.count == 8, "\(run.stdout)")
        #expect(records.last?.contains("vm0/vcpu0 exit DABT_LOW") == true, "\(records)")
        #expect(lines.contains { $0.hasPrefix("[vm1] hvc: done") }, "the other VM ran: \(run.stdout)")
        let decoded = try runKeel(["trace", "decode", trace])
        #expect(decoded.stdout.contains("vm0/vcpu0 VM stopped by Keel: a fault in Keel while it handled the VM's exit"), "\(decoded.stdout.suffix(2000))")
        #expect(decoded.stdout.contains("HVC function 0x86000f00"), "the failed exit is recorded too")
    }

    @Test("a fault Keel cannot attribute to a VM's exit stops the machine, with the same report (status 70)")
    func outsideAnyExit() throws {
        try #require(FileManager.default.fileExists(atPath: Self.testFirmware), "run `make` (it builds build/hyp-test)")
        let run = try runKeel(["run", "--guest", Repo.guest("fault_outside_exit"), "--firmware", Self.testFirmware, "--timeout", "60"])
        #expect(run.status == 70, "status \(run.status): \(run.stderr)")
        let lines = run.lines
        let panic = try #require(Self.index(lines, "[keel] PANIC: a failed Swift check in the hypervisor"), "\(run.stdout)")
        #expect(lines[panic + 1].hasPrefix("[keel] ESR_EL2 0xf2000001 (BRK64 #0x1)  ELR_EL2 0x"), "\(run.stdout)")
        #expect(lines[panic + 2].hasPrefix("[keel]  x0 0x"), "\(run.stdout)")
        #expect(!run.stdout.contains("stopped by a fault in Keel"), "\(run.stdout)")
        #expect(!run.stdout.contains("outside: the hook returned"), "\(run.stdout)")
    }

    @Test("a fault while Keel's CPU itself holds the VM's stop (inside SYSTEM_RESET or the power-off path) still finishes the VM off: the machine powers off, status 71")
    func whileHoldingTheStop() throws {
        try #require(FileManager.default.fileExists(atPath: Self.testFirmware), "run `make` (it builds build/hyp-test)")
        // Before: the failing vCPU only powered down (its own CPU held the stop, so the claim
        // failed), nobody finished the VM off and the run timed out (124).
        let run = try runKeel(["run", "--guest", Repo.guest("fault_while_stopping"), "--smp", "2", "--firmware", Self.testFirmware, "--timeout", "60"])
        #expect(run.status == 71, "status \(run.status): \(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("[keel] vm0: stopped by a fault in Keel (ESR_EL2 0xf2000001, BRK64: a failed Swift check)"), "\(run.stdout)")
        #expect(run.stdout.contains("[keel] all VMs are off: powering off"), "\(run.stdout)")
        #expect(!run.stdout.contains("stopping: the hook returned"), "\(run.stdout)")
        #expect(!run.stdout.contains("[keel] PANIC"), "\(run.stdout)")
    }

    @Test("the shipped firmware has no test hypercall: its symbols have none, and the guest's call is NOT_SUPPORTED")
    func shippedFirmwareHasNoHook() throws {
        try #require(FileManager.default.fileExists(atPath: Self.testFirmware), "run `make` (it builds build/hyp-test)")
        let shipped = try HostCommand(PackTests.llvmNM, [Repo.path("build/hyp/keel.elf")]).run()
        let test = try HostCommand(PackTests.llvmNM, [Repo.path("build/hyp-test/keel.elf")]).run()
        #expect(!shipped.contains("TestHooks"))
        #expect(test.contains("4Keel9TestHooksO9failCheck"), "the test firmware's hook is where this test looks for it")
        // Real, not only symbols: on the shipped firmware the call is an unknown vendor call.
        let run = try runKeel(["run", "--guest", Repo.guest("contained_trap"), "--smp", "2", "--timeout", "60"])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        #expect(run.lines.contains("trap: the hook returned 0xffffffffffffffff"), "\(run.stdout)")
        #expect(!run.stdout.contains("FAULT in Keel"))
    }
}
