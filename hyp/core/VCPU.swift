import KeelHW

/// Per-exit-reason counters, always on: one add per exit.
struct ExitCounters {
    var byEC: [64 of UInt32] = .init(repeating: 0)
    var irq: UInt32 = 0
    var fiq: UInt32 = 0
    var serror: UInt32 = 0
}

/// A virtual CPU, pinned to one physical CPU.
struct VCPU {
    /// The frame the vectors save and restore. Must stay the first stored property: TPIDR_EL2
    /// points at the vCPU and the assembly treats that address as a `keel_regs` (checked by
    /// `VCPUs.checkLayout()` at boot).
    var regs = GuestFrame()
    var id = 0
    var vm = 0
    /// The physical CPU it is pinned to (also its index in the pool).
    var physicalCPU = 0
    /// Its side of the virtual GIC: private interrupts, list registers.
    var vgic = VGICCPU()
    /// `PowerState`, changed only with atomics: other vCPUs read and claim it (PSCI CPU_ON,
    /// AFFINITY_INFO) while this one runs.
    var power: UInt32 = PowerState.off.rawValue
    /// Set by another vCPU resetting the VM: leave the guest at the next exit.
    var stop: UInt32 = 0
    var exits = ExitCounters()
    /// ESR_EL2 of the synchronous exit being handled (or the last one), for a fault report
    /// (`FaultReport.guest`): one store per exit.
    var exitESR: UInt64 = 0
    /// The trace record of the exit being handled (full tracing); handlers say what they did.
    var trace = TraceRecord()
    /// Guest faults (unhandled system registers, aborts) reported on the console so far; after
    /// `VCPU.maxFaultReports` they are only counted, so a hostile guest cannot flood the console.
    var faultReports = 0
    static let maxFaultReports = 8
    /// The forwarded MMIO access this vCPU is parked on (hyp/devmodel), and its answer.
    var forward = ForwardedAccess()

    /// True while this vCPU may still print a fault report; counts the report.
    mutating func mayReportFault() -> Bool {
        guard faultReports < VCPU.maxFaultReports else { return false }
        faultReports += 1
        return true
    }

    /// Register `n`; 31 is the zero register in the encodings that trap. Mutating only so
    /// that it reads the frame in place: a non-mutating read copies all 31 registers.
    @inline(__always)
    mutating func x(_ n: Int) -> UInt64 {
        guard n >= 0 && n < 31 else { return 0 }
        checkSaved(n)
        return regs.x[n]
    }

    @inline(__always)
    mutating func setX(_ n: Int, _ value: UInt64) {
        guard n >= 0 && n < 31 else { return }
        checkSaved(n)
        regs.x[n] = value
    }

    /// x20-x29 are in the frame only after a full exit (keel/context.h): a handler of a light
    /// exception class that named one would read stale values and lose what it wrote. That is a
    /// Keel bug, never a guest's doing (registers named by the guest's instruction come from
    /// full exits), so it stops Keel rather than corrupt the guest. Folds away for constant `n`.
    @inline(__always)
    private func checkSaved(_ n: Int) {
        if n >= 20 && n <= 29 && regs.restore_all == 0 { panic("a light exit's handler used x20-x29") }
    }

    /// SMCCC results: x0 (and x1-x3 when a call returns several values).
    mutating func setResult(_ value: Int64) { setX(0, UInt64(bitPattern: value)) }

    var pc: UInt64 {
        get { regs.elr_el2 }
        set { regs.elr_el2 = newValue }
    }

    /// Step over the instruction that trapped. An AArch64 guest pays one test of SPSR.M[4]: its
    /// instructions are 4 bytes. AArch32 (EL0 under an AArch64 EL1) is the cold path.
    @inline(__always)
    mutating func skipInstruction(_ esr: ESR) {
        if _slowPath(regs.spsr_el2 & ProcessState.nRW != 0) { return skipAArch32(esr) }
        pc &+= 4
    }

    /// 2 bytes for a 16-bit T32 instruction (ESR.IL clear), else 4, and in an IT block the IT
    /// state advanced, as executing the instruction would have (KeelCore `AArch32.step`).
    @inline(never)
    private mutating func skipAArch32(_ esr: ESR) {
        let next = AArch32.step(pc: pc, spsr: regs.spsr_el2, il: esr.il)
        pc = next.pc
        regs.spsr_el2 = next.spsr
    }

    /// Whether the trapped instruction passed its condition: always from AArch64; from
    /// AArch32 by ESR.CV/COND or the IT state (KeelCore `AArch32.conditionPassed`). Mutating
    /// only to read the frame in place.
    @inline(__always)
    mutating func conditionPassed(_ esr: ESR) -> Bool {
        regs.spsr_el2 & ProcessState.nRW == 0 || AArch32.conditionPassed(esr, spsr: regs.spsr_el2)
    }

    var vmHandle: VMHandle { VMHandle(id: vm) }

    /// The state PSCI CPU_ON (and a first boot) enters a vCPU with: all registers zero but x0,
    /// EL1h with DAIF masked. EL1 system registers are reset by `EL2.run`.
    mutating func reset(entry: UInt64, x0: UInt64) {
        regs = GuestFrame()
        regs.restore_all = 1  // every register comes from the frame on the next entry
        pc = entry
        regs.spsr_el2 = PSTATE.el1hMasked
        setX(0, x0)
    }

    /// Notes in the trace record what the handler did with this exit.
    mutating func noteAction(_ action: TraceRecord.Action, arg0: UInt64 = 0, arg1: UInt64 = 0) {
        trace.action = action
        trace.arg0 = arg0
        trace.arg1 = arg1
    }
}

/// A vCPU's PSCI power state.
enum PowerState: UInt32 {
    case off = 0
    /// CPU_ON claimed it and is writing its entry state.
    case starting = 1
    /// Ready: its physical CPU will enter it.
    case onPending = 2
    case on = 3
}

/// The static pool of vCPUs: one per physical CPU (KEEL_MAX_CPUS), pinned 1:1.
enum VCPUs {
    static let count = Int(KEEL_MAX_CPUS)

    /// The assembly reaches the frame through the vCPU's address; prove that `regs` sits at
    /// offset 0 of `VCPU` before any guest runs.
    static func checkLayout() {
        if MemoryLayout<VCPU>.stride > Int(keel_vcpu_slot_size()) { panic("VCPU outgrew KEEL_VCPU_SLOT") }
        if !GuestFrame.layoutMatchesAssembly { panic("GuestFrame does not match keel_regs: the vectors would corrupt it") }
        if !VCPUHandle(index: 0).frameIsFirst { panic("VCPU.regs is not at offset 0: the vectors would corrupt it") }
        if !HVCFastPath.matchesSwift { panic("keel/hvcfast.h does not match VCPU or the hypercall answers: the HVC fast path would corrupt the vCPU") }
        if !IRQFastPath.matchesSwift { panic("keel/irqfast.h does not match VCPU or VM: the timer fast path would read the wrong state") }
        if !SGIFastPath.matchesSwift { panic("keel/sgifast.h does not match VCPU, VM or the kick: the SGI fast path would corrupt the vGIC") }
        if !UARTFastPath.matchesSwift { panic("keel/uartfast.h does not match VM or VirtualPL011: the UART fast path would corrupt the UART") }
        if !MMIOFastPath.matchesSwift { panic("keel/mmiofast.h does not match the data-abort decoding: the MMIO fast path would answer other accesses") }
    }

    /// vCPU `index` of VM `vm`, reset to start at `entry` (EL1h, interrupts masked, MMU off)
    /// with `x0` as its first argument.
    @inline(never) @_optimize(size)  // cold, and a VCPU literal is long straight-line code
    static func create(index: Int, vm: VMHandle, entry: UInt64, x0: UInt64) -> VCPUHandle {
        let vcpu = VCPUHandle(index: index)
        vcpu.state = VCPU()
        vcpu.state.id = vm.state.vcpuCount
        vcpu.state.physicalCPU = index
        vcpu.state.vm = vm.state.id
        vcpu.state.reset(entry: entry, x0: x0)
        vm.state.vcpuCount += 1
        return vcpu
    }
}
