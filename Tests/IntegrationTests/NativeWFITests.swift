import Foundation
import Testing

/// A vCPU's WFIs run natively once it has waited in one (hyp/arch/NativeWFI.swift): on a GICv3
/// with nothing recording exits, Keel traps the first WFI of `wfi_native`'s 64 timer waits and
/// none after; with a GICv2 or a trace, every one. Either way the guest takes each of its 64
/// timer interrupts, and a vCPU asleep for good in a native WFI (every interrupt disabled)
/// does not keep SYSTEM_OFF from powering the machine off.
@Suite("Native WFI after the first wait", .serialized)
struct NativeWFITests {
    static let waits = 64

    func expectGuestDone(_ run: KeelRun) {
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let expected = ["wfi_native: wakeups=0x40", "wfi_native: cpu1 asleep", "wfi_native: done"]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
    }

    @Test("GICv3, counters: one WFI exit per vCPU, each timer interrupt an IRQ exit, and SYSTEM_OFF stops a vCPU asleep for good",
          arguments: ["cortex-a72", "cortex-a53"])  // the BHB-loop table's timer and kick paths, and the plain ones
    func native(cpu: String) throws {
        let run = try boot("wfi_native", ["--smp", "2", "--cpu", cpu])
        expectGuestDone(run)
        let vcpu0 = run.exitCounters, vcpu1 = run.exitCounters(vcpu: 1)
        #expect(vcpu0["WFx"] == 1, "\(vcpu0)")
        #expect((vcpu0["irq"] ?? 0) >= Self.waits, "\(vcpu0)")
        // vCPU 1's wait for its timer traps; its last WFI, with nothing enabled, is native.
        #expect(vcpu1["WFx"] == 1, "\(vcpu1)")
    }

    @Test("traced or on a GICv2, every WFI traps", arguments: ["trace", "gicv2"])
    func trapped(_ variant: String) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keel-wfi-native-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let options = variant == "trace" ? ["--trace", file] : ["--gic", "2"]
        let run = try boot("wfi_native", ["--smp", "2"] + options)
        expectGuestDone(run)
        // QEMU skips the trap when an interrupt is already pending: not always all 64.
        let vcpu0 = run.exitCounters
        #expect((vcpu0["WFx"] ?? 0) >= Self.waits / 2, "\(vcpu0)")
    }
}
