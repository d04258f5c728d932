import KeelHW

/// Contained faults. An exception Keel takes at EL2 (most often a failed Swift check: bounds,
/// overflow, unwrap, a `brk #1`) while this CPU handles an exit of a VM's vCPU stops that VM
/// only, as PSCI SYSTEM_OFF would, and the other VMs run on. Anywhere else (boot, the idle
/// loop, a fault while containing one) it stops the machine, with the same report.
///
/// Which vCPU's exit this CPU is handling costs nothing to track: TPIDR_EL2 holds the vCPU's
/// frame from its first entry (`EL2.run`) and is cleared whenever the CPU leaves its guest for
/// good (`SMP.leaveGuest`) and at boot (start.S), so at EL2 it is non-zero exactly while an exit
/// of that vCPU is being handled.
///
/// Containing a fault:
///  1. the report (`FaultReport`): ESR/ELR/FAR decoded, Keel's registers, the guest's, its
///     last trace records;
///  2. the locks this CPU held are released: it never returns to the handler that took them
///     (each lock word holds its owner, keel/atomic.h);
///  3. the VM goes off as after SYSTEM_OFF (`VirtualPSCI.stopAfterFault`): its exit reports,
///     a `vmStopped` trace record (reason 3), its other vCPUs stopped, the machine off when it
///     was the last VM (or `power_off_with` names it); this CPU drops the failed handler's stack
///     and idles.
///
/// What the fault leaves behind: the failing VM's state (its vGIC, its UART) may be half
/// updated, which is why the VM stops. A handler that had taken another VM's lock (the doorbell
/// takes the rung VM's vGIC lock) may leave that VM's state half updated too; the fault names
/// both.
enum Containment {
    /// Per physical CPU: the VM (+1) whose stop it carries out after a fault, 0 when none. A
    /// fault then is a fault in the containment itself: the machine stops.
    nonisolated(unsafe) private static var containing: [8 of UInt8] = [0, 0, 0, 0, 0, 0, 0, 0]  // KEEL_MAX_CPUS

    /// What `keel run` looks for: `[keel] vmN: stopped by a fault in Keel ...` (KeelKit's
    /// `ContainedFault`).
    static let stoppedMarker: StaticString = ": stopped by a fault in Keel"

    /// Entered from the current-EL vectors (`keel_hyp_exception`). Never returns.
    @_optimize(size)
    static func handle(_ fault: HypFault) -> Never {
        let cpu = SMP.currentCPU & 7
        let nested = containing[cpu] != 0
        containing[cpu] = 0xFF
        guard !nested, let vcpu = VCPUs.current else { return stopMachine(fault, nested: nested) }
        let vm = vcpu.state.vm
        containing[cpu] = UInt8(truncatingIfNeeded: vm &+ 1)
        let released = releaseHeldLocks()
        FaultReport.header(fault, vm: vm, vcpu: vcpu.state.id)
        FaultReport.registers(fault)
        FaultReport.guest(vcpu)
        FaultReport.traceTail()
        Console.begin()
        Console.print("vm")
        Console.dec(vm)
        Console.print(stoppedMarker)
        Console.print(" (ESR_EL2 ")
        Console.hex(fault.esr.rawValue)
        Console.print(", ")
        Console.print(fault.esr.ec.name ?? "unallocated EC")
        Console.print(fault.isFailedCheck ? ": a failed Swift check" : "")
        Console.print(") while handling its vCPU ")
        Console.dec(vcpu.state.id)
        Console.print("'s exit; ")
        Console.dec(UInt64(released))
        Console.print(released == 1 ? " lock" : " locks")
        Console.print(" released; the other VMs run on")
        Console.newline()
        VirtualPSCI.stopAfterFault(vcpu)
    }

    /// This CPU leaves its guest for good (CPU_OFF, a VM stopped or reset): from here until its
    /// next vCPU entry a fault is not any VM's. Cold: not on any exit that returns to the guest.
    /// After a fault, this is where its VM's stop is complete: every other vCPU of the VM went
    /// off, and this one gave its list registers back under the VM's vGIC lock, which only the
    /// release above can have let it take.
    static func leftGuest(cpu: Int) {
        write_tpidr_el2(0)
        let vm = containing[cpu & 7]
        guard vm != 0 else { return }
        containing[cpu & 7] = 0
        Console.begin()
        Console.print("vm")
        Console.dec(UInt64(vm - 1))
        Console.print(": contained: every vCPU is off; CPU ")
        Console.dec(cpu)
        Console.print(" idles")
        Console.newline()
    }

    /// A fault outside any VM's exit, or during containment: the machine stops, with the report.
    /// `[keel] PANIC` is what `keel run` reports as a hypervisor panic (status 70).
    @_optimize(size)
    private static func stopMachine(_ fault: HypFault, nested: Bool) -> Never {
        if nested { _ = releaseHeldLocks() }  // the console may be held by the first report
        FaultReport.panicHeader(fault, nested: nested)
        FaultReport.registers(fault)
        if !nested { FaultReport.traceTail() }
        Platform.park()
    }

    /// Every lock this CPU holds: the console's and its input's, and each VM's UART and vGIC
    /// locks. Returns how many it held.
    @_optimize(size)
    private static func releaseHeldLocks() -> Int {
        var released = Int(keel_release_console_lock())
        if StaticWords.consoleInputLock.releaseIfMine() { released += 1 }
        for id in 0..<VMs.capacity {
            let vm = VMHandle(id: id)
            if vm.uartLock.releaseIfMine() { released += 1 }
            if vm.vgicLock.releaseIfMine() { released += 1 }
            if vm.dmLock.releaseIfMine() { released += 1 }
        }
        return released
    }
}

extension VCPUs {
    /// The vCPU whose exit this CPU is handling: the one TPIDR_EL2 points at, when it points at
    /// a slot of the pool of a vCPU that belongs to a VM; nil at boot and in the idle loop.
    static var current: VCPUHandle? {
        let tpidr = UInt(read_tpidr_el2())
        let base = keel_vcpu_pool_base(), slot = keel_vcpu_slot_size()
        guard tpidr >= base, (tpidr - base) % slot == 0 else { return nil }
        let index = (tpidr - base) / slot
        guard index < UInt(count) else { return nil }
        let vcpu = VCPUHandle(index: Int(index))
        let vm = vcpu.state.vm
        guard vm >= 0, vm < VMs.capacity, VMHandle(id: vm).state.vcpuCount > vcpu.state.id else { return nil }
        return vcpu
    }
}
