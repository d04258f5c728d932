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
    var regs = keel_regs()
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
        guard n < 31 else { return 0 }
        checkSaved(n)
        return withUnsafeMutablePointer(to: &regs.x) { VCPU.registers(in: $0)[n] }
    }

    @inline(__always)
    mutating func setX(_ n: Int, _ value: UInt64) {
        guard n < 31 else { return }
        checkSaved(n)
        withUnsafeMutablePointer(to: &regs.x) { VCPU.registers(in: $0)[n] = value }
    }

    /// The frame's x0-x30 as a typed, aligned pointer: one ldr/str per access (raw-byte
    /// loads and stores are unaligned to the compiler, which under -mstrict-align splits them
    /// into bytes). Safety: `keel_regs.x` is a C array of 31 UInt64s stored inline.
    @inline(__always)
    private static func registers<T>(in tuple: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<UInt64> {
        UnsafeMutableRawPointer(tuple).assumingMemoryBound(to: UInt64.self)
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

    var vmPointer: UnsafeMutablePointer<VM> { VMs.pointer(vm) }

    /// The state PSCI CPU_ON (and a first boot) enters a vCPU with: all registers zero but x0,
    /// EL1h with DAIF masked. EL1 system registers are reset by `EL2.run`.
    mutating func reset(entry: UInt64, x0: UInt64) {
        regs = keel_regs()
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

extension UnsafeMutablePointer where Pointee == VCPU {
    /// Safety: `power` is a stored property of a vCPU in the static pool; its address is stable.
    var powerWord: UnsafeMutablePointer<UInt32> {
        withUnsafeMutablePointer(to: &pointee.power) { $0 }
    }

    var powerState: PowerState { PowerState(rawValue: keel_load_acquire32(powerWord)) ?? .off }

    /// Safety: as `powerWord`.
    var stopWord: UnsafeMutablePointer<UInt32> {
        withUnsafeMutablePointer(to: &pointee.stop) { $0 }
    }
}

/// The static pool of vCPUs: one per physical CPU (KEEL_MAX_CPUS), pinned 1:1.
enum VCPUs {
    static let count = Int(KEEL_MAX_CPUS)

    /// Storage of vCPU `index`: slot `index` of `keel_vcpu_pool` (mm/pool.S). Safety: the pool
    /// is BSS, so its address is stable and all-zero bytes before `create` (a valid, trivial
    /// `VCPU`: every field is plain data); `checkLayout` proves a VCPU fits its slot.
    @inline(__always)
    static func pointer(_ index: Int) -> UnsafeMutablePointer<VCPU> {
        precondition(index >= 0 && index < count)
        return UnsafeMutableRawPointer(bitPattern: keel_vcpu_pool_base() + UInt(index) * keel_vcpu_slot_size())!
            .assumingMemoryBound(to: VCPU.self)
    }

    /// The vCPU whose exit is being handled: the frame pointer the vectors passed in.
    @inline(__always)
    static func from(_ frame: UnsafeMutableRawPointer) -> UnsafeMutablePointer<VCPU> {
        frame.assumingMemoryBound(to: VCPU.self)
    }

    /// The assembly reaches the frame through the vCPU's address; prove that `regs` sits at
    /// offset 0 of `VCPU` before any guest runs.
    static func checkLayout() {
        if MemoryLayout<VCPU>.stride > Int(keel_vcpu_slot_size()) { panic("VCPU outgrew KEEL_VCPU_SLOT") }
        let vcpu = pointer(0)
        let regs = withUnsafeMutablePointer(to: &vcpu.pointee.regs) { UnsafeMutableRawPointer($0) }
        if regs != UnsafeMutableRawPointer(vcpu) { panic("VCPU.regs is not at offset 0: the vectors would corrupt it") }
    }

    /// vCPU `index` of VM `vm`, reset to start at `entry` (EL1h, interrupts masked, MMU off)
    /// with `x0` as its first argument.
    @inline(never) @_optimize(size)  // cold, and a VCPU literal is long straight-line code
    static func create(index: Int, vm: UnsafeMutablePointer<VM>, entry: UInt64, x0: UInt64) -> UnsafeMutablePointer<VCPU> {
        let vcpu = pointer(index)
        vcpu.pointee = VCPU()
        vcpu.pointee.id = vm.pointee.vcpuCount
        vcpu.pointee.physicalCPU = index
        vcpu.pointee.vm = vm.pointee.id
        vcpu.pointee.reset(entry: entry, x0: x0)
        vm.pointee.vcpuCount += 1
        return vcpu
    }
}
