import KeelHW

/// PSCI 1.1 as the guest sees it, over HVC and trapped SMC. Keel answers every call itself;
/// the real firmware below is only reached when the whole machine must power off.
///
/// vCPU power states change only by compare-and-swap (`PowerState`), so concurrent CPU_ON,
/// CPU_OFF and AFFINITY_INFO from several vCPUs see one consistent state machine:
/// off -> starting (claimed by one CPU_ON) -> onPending (entry state written) -> on (its CPU
/// entered it) -> off (CPU_OFF).
enum VirtualPSCI {
    /// PSCI_FEATURES: 0 for what is implemented here (CPU_SUSPEND: original power-state format,
    /// no OS-initiated mode, so its flags are 0 too), NOT_SUPPORTED for the rest.
    private static func implemented(_ function: UInt32) -> Bool {
        switch function {
        case PSCI.version, PSCI.cpuSuspend32, PSCI.cpuSuspend64, PSCI.cpuOff, PSCI.cpuOn32, PSCI.cpuOn64,
             PSCI.affinityInfo32, PSCI.affinityInfo64, PSCI.migrateInfoType, PSCI.systemOff, PSCI.systemReset,
             PSCI.features, SMCCC.version:
            true
        default:
            false
        }
    }

    static func call(_ vcpu: VCPUHandle, _ function: UInt32) {
        let is32 = function & 0x4000_0000 == 0
        // SMC32/HVC32 calls take 32-bit arguments.
        func argument(_ n: Int) -> UInt64 {
            let value = vcpu.state.x(n)
            return is32 ? value & 0xFFFF_FFFF : value
        }
        switch function {
        case PSCI.version:
            vcpu.state.setX(0, PSCI.version1_1)
        case PSCI.features:
            vcpu.state.setResult(implemented(UInt32(truncatingIfNeeded: argument(1))) ? PSCI.success : PSCI.notSupported)
        case PSCI.cpuOn32, PSCI.cpuOn64:
            vcpu.state.setResult(cpuOn(vcpu, target: argument(1), entry: argument(2), context: argument(3)))
        case PSCI.cpuOff:
            cpuOff(vcpu)
        case PSCI.affinityInfo32, PSCI.affinityInfo64:
            vcpu.state.setResult(affinityInfo(vcpu, target: argument(1), level: argument(2)))
        case PSCI.cpuSuspend32, PSCI.cpuSuspend64:
            cpuSuspend(vcpu, powerState: argument(1), entry: argument(2), context: argument(3))
        case PSCI.migrateInfoType:
            vcpu.state.setResult(2)  // no Trusted OS that would need migrating
        case PSCI.systemOff:
            systemOff(vcpu)
        case PSCI.systemReset:
            systemReset(vcpu)
        default:
            vcpu.state.setResult(PSCI.notSupported)
        }
    }

    /// The vCPU of `vcpu`'s VM that an MPIDR-style target names, or nil. Only the affinity
    /// fields may be set (Aff3 [39:32], Aff2..Aff0 [23:0]); Keel's vCPUs live in Aff0.
    private static func target(_ vcpu: VCPUHandle, _ mpidr: UInt64) -> VCPUHandle? {
        guard mpidr & ~0xFF_00FF_FFFF == 0, mpidr & 0xFF_00FF_FF00 == 0 else { return nil }
        let index = Int(mpidr & 0xFF)
        let vm = vcpu.state.vmHandle
        guard index < vm.state.vcpuCount else { return nil }
        return vm.state.vcpu(nospec(index, below: vm.state.vcpuCount))
    }

    @_optimize(size)
    private static func cpuOn(_ caller: VCPUHandle, target mpidr: UInt64, entry: UInt64, context: UInt64) -> Int64 {
        guard let vcpu = target(caller, mpidr) else { return PSCI.invalidParameters }
        guard caller.state.vmHandle.state.layout.containsRAM(entry), entry & 3 == 0 else { return PSCI.invalidAddress }
        return start(vcpu, entry: entry, context: context)
    }

    /// off -> starting -> onPending: the vCPU's own CPU enters it from its idle loop.
    @_optimize(size)
    private static func start(_ vcpu: VCPUHandle, entry: UInt64, context: UInt64) -> Int64 {
        guard vcpu.powerWord.compareExchange(PowerState.off.rawValue, PowerState.starting.rawValue) else {
            return vcpu.powerState == .on ? PSCI.alreadyOn : PSCI.onPending
        }
        // A stop of the VM in progress may already have looked at this vCPU and found it off: a
        // vCPU started now would run on, unseen. Give the claim back instead. The stopper sets
        // `stopping` before it looks at any vCPU, and this claim and that store are both
        // release-then-acquire, so one side always sees the other (`stopOthers`).
        if vcpu.state.vmHandle.stoppingWord.loadAcquire() != 0 {
            vcpu.powerWord.storeRelease(PowerState.off.rawValue)
            return PSCI.denied
        }
        vcpu.state.reset(entry: entry, x0: context)
        vcpu.powerWord.storeRelease(PowerState.onPending.rawValue)
        SMP.wake(vcpu)
        return PSCI.success
    }

    /// CPU_OFF: the calling vCPU stops; its CPU goes back to waiting for the next CPU_ON.
    @_optimize(size)
    private static func cpuOff(_ vcpu: VCPUHandle) {
        vcpu.state.trace.arg1 = 0
        Trace.end(vcpu)
        powerDown(vcpu)
    }

    /// The calling vCPU leaves its guest for good: what its list registers hold goes back to
    /// the VM (`VGIC.leaveCPU`), then it is off and its CPU waits for the next CPU_ON.
    @_optimize(size)
    private static func powerDown(_ vcpu: VCPUHandle) -> Never {
        VGIC.leaveCPU(vcpu)
        vcpu.powerWord.storeRelease(PowerState.off.rawValue)
        SMP.leaveGuest()
    }

    /// Makes the calling vCPU the one that stops its VM: false when another already is (a
    /// second SYSTEM_RESET or SYSTEM_OFF at the same time); the caller then just goes off, as
    /// the other's stop would make it. Once claimed, no CPU_ON succeeds until `stopping` is
    /// cleared (after a reset) or ever again (the VM is off).
    @_optimize(size)
    private static func claimStop(_ vm: VMHandle, from caller: VCPUHandle) -> Bool {
        guard vm.stoppingWord.compareExchange(0, stopToken) else { return false }
        // A device model that stops answers no more: its frontends' requests fail now.
        DeviceModelFailure.serverStopping(vm, from: caller)
        return true
    }

    /// What `stopping` holds once claimed: the claiming CPU + 1, so a fault in the middle of a
    /// stop can tell that its own CPU holds it (`stopAfterFault`).
    private static var stopToken: UInt32 { UInt32(truncatingIfNeeded: SMP.currentCPU) &+ 1 }

#if KEEL_TEST_HOOKS
    /// `TestHooks.failWhileStopping`: the stop claimed as SYSTEM_RESET claims it.
    static func claimStopForTest(_ vm: VMHandle, from caller: VCPUHandle) -> Bool { claimStop(vm, from: caller) }
#endif

    /// AFFINITY_INFO: 0 on, 1 off, 2 on pending. Only affinity level 0 (a single vCPU).
    @_optimize(size)
    private static func affinityInfo(_ caller: VCPUHandle, target mpidr: UInt64, level: UInt64) -> Int64 {
        guard level == 0, let vcpu = target(caller, mpidr) else { return PSCI.invalidParameters }
        switch vcpu.powerState {
        case .on: return 0
        case .off: return 1
        case .starting, .onPending: return 2
        }
    }

    /// CPU_SUSPEND. Standby returns at once, as after an immediate wake-up; power-down resumes
    /// at `entry` with `context` in x0 and the MMU off, as after a wake-up from power-down.
    private static func cpuSuspend(_ vcpu: VCPUHandle, powerState: UInt64, entry: UInt64, context: UInt64) {
        let powerDown = powerState & (1 << 16) != 0
        guard powerDown else { return vcpu.state.setResult(PSCI.success) }
        // The same entry check as CPU_ON's: in the VM's RAM and word-aligned (an A64 entry).
        guard vcpu.state.vmHandle.state.layout.containsRAM(entry), entry & 3 == 0 else {
            return vcpu.state.setResult(PSCI.invalidAddress)
        }
        vcpu.state.reset(entry: entry, x0: context)
        write_sctlr_el1(SCTLR_EL1.reset)
    }

    /// SYSTEM_RESET restarts the calling VM from its boot images: every other vCPU is stopped
    /// (kicked out of its guest, it goes off as after CPU_OFF), the images are copied from the
    /// pristine boot bundle into the VM's RAM again, the virtual devices reset, and vCPU 0
    /// starts at the bundle's entry as at boot. RAM outside the images keeps its contents, as
    /// after a warm reset.
    ///
    /// One reset at a time: a vCPU that asks while another carries one out goes off at once, as
    /// that reset would switch it off (SYSTEM_RESET never returns). Two resets at once would
    /// each wait in vain for the other to stop, then copy the images and reset the devices
    /// under a VM the first had already restarted.
    @_optimize(size)
    private static func systemReset(_ vcpu: VCPUHandle) {
        let vm = vcpu.state.vmHandle
        vm.state.resets &+= 1
        if vm.state.resetLimit != 0 && vm.state.resets >= vm.state.resetLimit {
            stopByPolicy(vcpu, reason: 2, count: vm.state.resets, limit: "reset_limit")
        }
        guard claimStop(vm, from: vcpu) else { powerDown(vcpu) }  // another vCPU is stopping the VM already
        Console.begin(vm: vm.state.id, vcpu: vcpu.state.id)
        Console.print(": PSCI SYSTEM_RESET: restarting the VM from its boot images")
        Console.newline()
        stopOthers(vcpu, what: "SYSTEM_RESET: a vCPU did not stop; resetting anyway")
        // A SYSTEM_OFF or policy stop that came while this reset held the stop: the VM goes off.
        if vm.state.poweredOff { finishOff(vcpu, event: .vmPoweredOff, arg0: 0) }
        VGIC.leaveCPU(vcpu)  // before the distributor is reset under it
        DeviceModelFailure.serverReset(vm)
        if let bundle = BootLoader.reopen(vm) {
            BootLoader.load(bundle, into: vm.state.layout)
        }
        VGIC.lock(vm)
        VGIC.resetDistributor(vm)
        VGIC.unlock(vm)
        GuestUART.reset(vm)
        for index in 0..<vm.state.vcpuCount { vm.state.vcpu(index).stopWord.storeRelease(0) }
        vcpu.state.trace.arg1 = 0
        Trace.end(vcpu)
        Trace.event(.vmCreated, vm: vm.state.id, vcpu: 0, arg0: vm.state.layout.ramSize)
        // The caller goes off too; vCPU 0's CPU (maybe this one) starts the VM again. Every
        // other vCPU is off, so nothing can start one between the release and vCPU 0's start.
        vcpu.powerWord.storeRelease(PowerState.off.rawValue)
        vm.stoppingWord.storeRelease(0)
        _ = start(vm.state.vcpu(0), entry: vm.state.entry, context: vm.state.entryX0)
        SMP.leaveGuest()
    }

    /// Every other vCPU of `vcpu`'s VM leaves its guest (kicked out, it goes off as after
    /// CPU_OFF); waits, bounded, for each. `what` is said for one that does not. The caller
    /// holds the VM's stop (`claimStop`): no vCPU can be started behind this loop's back.
    @_optimize(size)
    private static func stopOthers(_ vcpu: VCPUHandle, what: StaticString) {
        let vm = vcpu.state.vmHandle
        for index in 0..<vm.state.vcpuCount where index != vcpu.state.id {
            let other = vm.state.vcpu(index)
            // A vCPU still being started by CPU_ON finishes that first, then sees the request.
            while other.powerState == .starting || other.powerState == .onPending {
                if other.powerWord.compareExchange(PowerState.onPending.rawValue, PowerState.off.rawValue) { break }
            }
            other.stopWord.storeRelease(1)
            if other.powerState == .on { GIC.kick(cpu: other.state.physicalCPU) }
        }
        for index in 0..<vm.state.vcpuCount where index != vcpu.state.id {
            let other = vm.state.vcpu(index)
            var spins = 0
            while other.powerState != .off && spins < 100_000_000 { spins += 1 }
            if other.powerState != .off { Console.log(what) }
        }
    }

    /// A vCPU told to stop (another vCPU reset the VM) leaves its guest as after CPU_OFF. Called
    /// after the exit's trace record is closed.
    @inline(__always)
    static func stopIfRequested(_ vcpu: VCPUHandle) {
        guard vcpu.stopWord.loadAcquire() != 0 else { return }
        vcpu.stopWord.storeRelease(0)
        powerDown(vcpu)
    }

    /// SYSTEM_OFF powers off the calling VM; when no VM is left running, the machine.
    @_optimize(size)
    private static func systemOff(_ vcpu: VCPUHandle) {
        let vm = vcpu.state.vmHandle
        Console.begin()
        Console.print("vm")
        Console.dec(vm.state.id)
        Console.print(": PSCI SYSTEM_OFF")
        Console.newline()
        // This exit never returns to the guest: close its record here.
        vcpu.state.trace.arg1 = UInt64(bitPattern: PSCI.success)
        turnOff(vcpu, event: .vmPoweredOff, arg0: 0)
    }

    /// Keel stops `vcpu`'s VM by its containment policy (`reason` 1: fault limit, 2: reset
    /// limit, as the config set them); the other VMs run on.
    @_optimize(size)
    static func stopByPolicy(_ vcpu: VCPUHandle, reason: UInt64, count: UInt32, limit: StaticString) {
        let vm = vcpu.state.vmHandle
        Console.begin()
        Console.print("vm")
        Console.dec(vm.state.id)
        Console.print(": ")
        Console.dec(UInt64(count))
        Console.print(reason == 1 ? " faults injected" : " resets")
        Console.print(", its ")
        Console.print(limit)
        Console.print(": Keel stops the VM")
        Console.newline()
        vcpu.state.trace.arg1 = UInt64(count)
        turnOff(vcpu, event: .vmStopped, arg0: reason)
    }

    /// Keel stops `vcpu`'s VM after a fault of its own while handling the vCPU's exit
    /// (`Containment`, which has reported it): as SYSTEM_OFF, with a `vmStopped` record, reason 3.
    @_optimize(size)
    static func stopAfterFault(_ vcpu: VCPUHandle) -> Never {
        vcpu.state.trace.arg1 = 0
        let vm = vcpu.state.vmHandle
        // The fault came while this CPU itself held the VM's stop (inside SYSTEM_RESET or the
        // power-off path): nobody else will finish the VM off, so this CPU does.
        if vm.stoppingWord.loadAcquire() == stopToken {
            vm.state.poweredOff = true
            finishOff(vcpu, event: .vmStopped, arg0: 3)
        }
        turnOff(vcpu, event: .vmStopped, arg0: 3)
    }

    /// The VM of `vcpu` is off: its exit report, its trace records, its other vCPUs stopped, this
    /// CPU waiting (for good: no other VM can start it); the machine off with the last VM.
    @_optimize(size)
    private static func turnOff(_ vcpu: VCPUHandle, event: TraceRecord.Kind, arg0: UInt64) -> Never {
        let vm = vcpu.state.vmHandle
        vm.state.poweredOff = true
        // Another vCPU holds the stop (a SYSTEM_RESET): once this one is off it sees
        // `poweredOff` and turns the VM off instead of restarting it.
        guard claimStop(vm, from: vcpu) else { powerDown(vcpu) }
        finishOff(vcpu, event: event, arg0: arg0)
    }

    /// `turnOff` once the caller holds the VM's stop, which it keeps: the VM stays off.
    @_optimize(size)
    private static func finishOff(_ vcpu: VCPUHandle, event: TraceRecord.Kind, arg0: UInt64) -> Never {
        let vm = vcpu.state.vmHandle  // `poweredOff` is set already: by `turnOff`, or seen by `systemReset`
        for index in 0..<vm.state.vcpuCount { ExitReport.print(vm.state.vcpu(index)) }
        Trace.end(vcpu)
        Trace.event(event, vm: vm.state.id, vcpu: vcpu.state.id, arg0: arg0)
        Trace.flush()
        // The VM's other vCPUs stop before the machine goes off, so that their CPUs' memory
        // trace rings are still when they drain.
        stopOthers(vcpu, what: "a stopping VM's vCPU did not stop")
        vm.offReportedWord.storeRelease(1)
        if VMs.allPoweredOff || VMs.powerOffWith == vm.state.id {
            Platform.waitAtMostASecond { VMs.allOffReported }
            Trace.finish()
        }
        if VMs.allPoweredOff { Platform.powerOff() }
        if VMs.powerOffWith == vm.state.id { Platform.powerOff("power_off_with names this VM: powering off") }
        for index in 0..<vm.state.vcpuCount { vm.state.vcpu(index).stopWord.storeRelease(0) }
        powerDown(vcpu)
    }
}


