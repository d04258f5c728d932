#if KEEL_TEST_HOOKS
import KeelHW

/// Test-only hypercalls, compiled into the test firmware alone (`make` builds it with
/// `-D KEEL_TEST_HOOKS` into build/hyp-test/keel.bin); the shipped firmware has none of this
/// file (a test checks its symbols).
enum TestHooks {
    /// Vendor hypervisor range (owner 6), SMC32 fast call: x1 = an index into a 4-entry
    /// table. With x1 >= 4 Keel's own bounds check fails at EL2 while handling this exit, with
    /// the VM's UART lock, its vGIC lock and the console lock held: what a contained fault must
    /// survive (`Containment`).
    static let failCheck: UInt32 = 0x8600_0F00
    /// The same failure outside any VM's exit, as far as Keel can tell: TPIDR_EL2 (the vCPU whose
    /// exit this CPU handles) is cleared first, as in the idle loop. It must stop the machine.
    static let failOutsideExit: UInt32 = 0x8600_0F01
    /// The same failure while this CPU holds its VM's stop (as inside SYSTEM_RESET or the
    /// power-off path): nobody else will finish the VM off, so containment must.
    static let failWhileStopping: UInt32 = 0x8600_0F02

    private static let table: [4 of UInt64] = [0x10, 0x11, 0x12, 0x13]

    @inline(never) @_optimize(size)
    static func failCheck(_ vcpu: VCPUHandle) {
        let vm = vcpu.state.vmHandle
        let index = Int(truncatingIfNeeded: vcpu.state.x(1))
        let value = GuestUART.locked(vm) { () -> UInt64 in
            VGIC.lock(vm)
            // A message left unfinished: the console lock stays this CPU's until `newline`.
            Console.begin(vm: vcpu.state.vm, vcpu: vcpu.state.id)
            Console.print(": test hook: reading entry ")
            Console.dec(index)
            Console.print(" of a 4-entry table, holding the VM's UART, vGIC and console locks")
            let value = table[index]  // the guest's index, unchecked on purpose
            Console.newline()
            VGIC.unlock(vm)
            return value
        }
        vcpu.state.setX(0, value)
    }

    @inline(never) @_optimize(size)
    static func failWhileStopping(_ vcpu: VCPUHandle) {
        let index = Int(truncatingIfNeeded: vcpu.state.x(1))
        guard VirtualPSCI.claimStopForTest(vcpu.state.vmHandle, from: vcpu) else { return vcpu.state.setResult(PSCI.denied) }
        vcpu.state.setX(0, table[index])
    }

    @inline(never) @_optimize(size)
    static func failOutsideExit(_ vcpu: VCPUHandle) {
        let index = Int(truncatingIfNeeded: vcpu.state.x(1))
        write_tpidr_el2(0)
        vcpu.state.setX(0, table[index])
    }
}
#endif
