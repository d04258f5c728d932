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

    /// `keel.test.entry=clrbhb|wa1|wa3` in /chosen/bootargs (QEMU: `-append`): every CPU's
    /// vectors take that way in from a guest (`SpectreProfile.Entry`: CLRBHB, or the firmware's
    /// ARCH_WORKAROUND_1 or _3 by SMC) whatever the CPU needs. No core QEMU models selects those
    /// two tables itself (none has CLRBHB without ECBHB, and QEMU's PSCI offers no workaround),
    /// so this is how their vectors boot guests under test (MitigationTests). `none`: not forced.
    nonisolated(unsafe) private static var forcedEntry = SpectreProfile.Entry.none
    nonisolated(unsafe) private static var forcedCall: UInt32 = 0

    /// Reads `keel.test.entry=` from the DTB at `dtb`; on CPU 0, before any CPU installs its
    /// mitigations (`Spectre.install`).
    @_optimize(size)
    static func readForcedEntry(_ dtb: UInt64) {
        let found: (SpectreProfile.Entry, UInt32, StaticString)?? = BootDTB.open(dtb) { fdt in
            guard let bootargs = fdt.property(path: "/chosen", name: "bootargs"),
                  let range = BootArguments.value(of: "keel.test.entry", in: bootargs) else { return nil }
            let value = bootargs.extracting(range)
            if FDT.equal(value, "clrbhb") { return (.clearBHB, 0, "CLRBHB") }
            if FDT.equal(value, "wa1") { return (.firmwareCall, SMCCC.archWorkaround1, "the firmware's WORKAROUND_1") }
            if FDT.equal(value, "wa3") { return (.firmwareCall, SMCCC.archWorkaround3, "the firmware's WORKAROUND_3") }
            Console.log("test hook: keel.test.entry= is not clrbhb, wa1 or wa3: ignored")
            return nil
        }
        guard let found, let (entry, call, what) = found else { return }
        forcedEntry = entry
        forcedCall = call
        Console.begin()
        Console.print("test hook: keel.test.entry: every CPU runs ")
        Console.print(what)
        Console.print(" on entry from a guest, whatever it needs")
        Console.newline()
    }

    /// `profile` with the forced way in, if any (the answers to a guest stay the CPU's own).
    static func force(_ profile: inout SpectreProfile) {
        guard forcedEntry != .none else { return }
        profile.entry = forcedEntry
        profile.entryFirmwareCall = forcedCall
        profile.bhbLoopCount = 0
    }

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
