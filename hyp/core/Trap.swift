import KeelHW

/// A handler for one exception class: the exiting vCPU (whose frame the vectors saved) and the
/// raw ESR_EL2. Thin functions, so the table below is static data, not code that runs at boot.
typealias TrapHandler = @convention(thin) (_ vcpu: VCPUHandle, _ esr: UInt64) -> Void

/// The trap table: ESR_EL2.EC -> handler. Whatever Keel does not emulate becomes an Undefined
/// Instruction exception in the guest; no exception class can reach a panic.
let trapTable: [64 of TrapHandler] = [
    /* 0x00 UNKNOWN     */ trapUndefined,
    /* 0x01 WFx         */ trapWFx,
    /* 0x02             */ trapUndefined,
    /* 0x03 CP15_32     */ trapUndefined,
    /* 0x04 CP15_64     */ trapUndefined,
    /* 0x05 CP14_MR     */ trapUndefined,
    /* 0x06 CP14_LS     */ trapUndefined,
    /* 0x07 FP_ASIMD    */ trapUndefined,
    /* 0x08 CP10_ID     */ trapUndefined,
    /* 0x09 PAC         */ trapUndefined,
    /* 0x0A OTHER       */ trapUndefined,
    /* 0x0B             */ trapUndefined,
    /* 0x0C CP14_64     */ trapUndefined,
    /* 0x0D BTI         */ trapUndefined,
    /* 0x0E ILL         */ trapUndefined,
    /* 0x0F             */ trapUndefined,
    /* 0x10             */ trapUndefined,
    /* 0x11 SVC32       */ trapUndefined,
    /* 0x12 HVC32       */ trapUndefined,
    /* 0x13 SMC32       */ trapUndefined,
    /* 0x14 SYS128      */ trapUndefined,
    /* 0x15 SVC64       */ trapUndefined,
    /* 0x16 HVC64       */ trapHVC,
    /* 0x17 SMC64       */ trapSMC,
    /* 0x18 SYS64       */ trapSysReg,
    /* 0x19 SVE         */ trapUndefined,
    /* 0x1A ERET        */ trapUndefined,
    /* 0x1B TSTART      */ trapUndefined,
    /* 0x1C FPAC        */ trapUndefined,
    /* 0x1D SME         */ trapUndefined,
    /* 0x1E             */ trapUndefined,
    /* 0x1F IMP_DEF     */ trapUndefined,
    /* 0x20 IABT_LOW    */ trapInstructionAbort,
    /* 0x21 IABT_CUR    */ trapUndefined,
    /* 0x22 PC_ALIGN    */ trapUndefined,
    /* 0x23             */ trapUndefined,
    /* 0x24 DABT_LOW    */ trapDataAbort,
    /* 0x25 DABT_CUR    */ trapUndefined,
    /* 0x26 SP_ALIGN    */ trapUndefined,
    /* 0x27 MOPS        */ trapUndefined,
    /* 0x28 FP_EXC32    */ trapUndefined,
    /* 0x29             */ trapUndefined,
    /* 0x2A             */ trapUndefined,
    /* 0x2B             */ trapUndefined,
    /* 0x2C FP_EXC64    */ trapUndefined,
    /* 0x2D GCS         */ trapUndefined,
    /* 0x2E             */ trapUndefined,
    /* 0x2F SERROR      */ trapUndefined,
    /* 0x30 BREAKPT_LOW */ trapUndefined,
    /* 0x31 BREAKPT_CUR */ trapUndefined,
    /* 0x32 SOFTSTP_LOW */ trapUndefined,
    /* 0x33 SOFTSTP_CUR */ trapUndefined,
    /* 0x34 WATCHPT_LOW */ trapUndefined,
    /* 0x35 WATCHPT_CUR */ trapUndefined,
    /* 0x36             */ trapUndefined,
    /* 0x37             */ trapUndefined,
    /* 0x38 BKPT32      */ trapUndefined,
    /* 0x39             */ trapUndefined,
    /* 0x3A VECTOR32    */ trapUndefined,
    /* 0x3B             */ trapUndefined,
    /* 0x3C BRK64       */ trapUndefined,
    /* 0x3D PROFILING   */ trapUndefined,
    /* 0x3E             */ trapUndefined,
    /* 0x3F             */ trapUndefined,
]

/// Synchronous exception from the guest: count it, dispatch on EC. Called by the lower-EL
/// vectors with the saved frame and ESR_EL2; the guest resumes when this returns. The untraced
/// path is the hot one (hyp/HOTPATH.md): one counter, one indirect call, one check for work
/// before entry.
@inline(__always)
func handleLowerSync(_ vcpu: VCPUHandle, _ esr: UInt64) {
    let ec = Int(truncatingIfNeeded: esr >> 26) & 0x3F
    vcpu.state.exits.byEC[ec] &+= 1
    vcpu.state.exitESR = esr
    if _slowPath(Trace.recording) { return handleTraced(vcpu, esr, ec) }
    trapTable[ec](vcpu, esr)
    beforeEntry(vcpu)
}

/// The same with the trace record opened before the handler and closed after it.
@inline(never)
private func handleTraced(_ vcpu: VCPUHandle, _ esr: UInt64, _ ec: Int) {
    Trace.begin(vcpu, kind: .exit, esr: esr)
    trapTable[ec](vcpu, esr)
    VGIC.beforeEntry(vcpu)
    Trace.end(vcpu)
    VirtualPSCI.stopIfRequested(vcpu)
}

/// Work left for the way back into the guest: list registers to refill, or a stop request from
/// another vCPU (SYSTEM_RESET). One test of both flags when there is none; plain loads are
/// enough for the test, the acquire happens in `stopIfRequested`.
@inline(__always)
private func beforeEntry(_ vcpu: VCPUHandle) {
    if _slowPath(vcpu.state.vgic.dirty | vcpu.state.stop != 0) {
        VGIC.beforeEntry(vcpu)
        VirtualPSCI.stopIfRequested(vcpu)
    }
}

/// A physical IRQ while the guest ran (HCR_EL2.IMO routes them all to Keel), acknowledged by the
/// vector (`vectorIAR`) or here (`IRQFastPath.acknowledged`):
///   - the virtual or EL1 physical timer: forwarded to the vCPU as the same INTID, linked to
///     the physical interrupt, which stays active until the guest deactivates the virtual one;
///   - a passed-through device's SPI: forwarded the same way to the VM that owns it;
///   - list-register maintenance and Keel's kick SGI: deactivated at once; the list registers
///     are refilled on the way back into the guest when they need it.
func handleLowerIRQ(_ vcpu: VCPUHandle, iar vectorIAR: UInt64) {
    vcpu.state.exits.irq &+= 1
    Trace.begin(vcpu, kind: .interrupt, esr: 0)
    let iar = IRQFastPath.acknowledged(vectorIAR)
    let intid = GIC.intid(of: iar)
    if intid < GIC.spurious {
        routePhysicalIRQ(vcpu, iar: iar, intid: intid)
        vcpu.state.trace.arg0 = UInt64(intid)
    }
    VGIC.beforeEntry(vcpu)
    Trace.end(vcpu)
    VirtualPSCI.stopIfRequested(vcpu)
}

/// One acknowledged physical IRQ (`intid` below spurious), as Keel routes them all: the
/// guest's timers and passed-through SPIs raised for their vCPU or VM, the rest (maintenance,
/// Keel's kick and alarm) retired. Shared by the IRQ exit and a vCPU parked on its device model
/// (`Forwarding.takeInterrupts`).
@inline(__always)
func routePhysicalIRQ(_ vcpu: VCPUHandle, iar: UInt32, intid: UInt32) {
    GIC.dropPriority(iar)
    if intid == GIC.virtualTimerPPI || intid == GIC.physicalTimerPPI {
        if !VGIC.raiseHardwareFast(vcpu, intid) { VGIC.raiseHardware(vcpu, intid) }
    } else if intid >= 32, let owner = Passthrough.owner(of: intid, running: vcpu) {
        // A passed-through device's SPI: it stays active until its guest deactivates it.
        VGIC.raiseShared(owner, intid: intid, from: vcpu)
    } else {
        GIC.deactivate(iar)
        // Maintenance: list registers to retire or refill. Keel's kick needs nothing here:
        // its sender set this vCPU's `dirty` (or `stop`) before sending it, and a vCPU that
        // already refilled since (on its way out of WFI) has nothing left to do.
        if intid == GIC.maintenancePPI { vcpu.state.vgic.dirty = 1 }
    }
}

@_optimize(size)
func handleLowerFIQ(_ vcpu: VCPUHandle) {
    vcpu.state.exits.fiq &+= 1
}

/// A physical SError while the guest ran: most likely the guest's own doing, so it gets a
/// virtual SError (HCR_EL2.VSE) and Keel carries on. Reported like the other guest faults, the
/// first few times per vCPU (`VCPU.mayReportFault`), so a guest cannot flood the console; the
/// exit report counts them all.
@_optimize(size)
func handleLowerSError(_ vcpu: VCPUHandle) {
    vcpu.state.exits.serror &+= 1
    if vcpu.state.mayReportFault() {
        Console.begin()
        Console.print("vm")
        Console.dec(vcpu.state.vm)
        Console.print(": SError while the guest ran; injecting a virtual SError")
        Console.newline()
    }
    write_hcr_el2(read_hcr_el2() | HCR.vse.rawValue)
    Trace.begin(vcpu, kind: .interrupt, esr: 0)
    vcpu.state.noteAction(.serrorInjected)
    Trace.end(vcpu)
}

/// Anything Keel does not emulate: an Undefined Instruction exception in the guest, as if the
/// instruction did not exist. Except an AArch32 conditional instruction that failed its
/// condition (CP15/CP14 accesses and the like may trap anyway): it only steps over it.
func trapUndefined(_ vcpu: VCPUHandle, _ esr: UInt64) {
    let syndrome = ESR(rawValue: esr)
    guard vcpu.state.conditionPassed(syndrome) else { return vcpu.state.skipInstruction(syndrome) }
    vcpu.state.injectUndefined(syndrome)
}

/// WFI/WFE. A WFI with nothing to deliver waits on the physical CPU (the vCPU owns it) until
/// an interrupt arrives: its timer, or another CPU's kick; that interrupt is then taken as soon
/// as the guest is re-entered. A WFE, or a WFI of a guest with no interrupt enabled (nothing
/// could end the wait), completes at once, as WFx may; a WFE also executes YIELD, since its
/// guest is most likely spinning on another vCPU (a hint on hardware; under QEMU's
/// round-robin TCG, as with -icount, it lets the other CPUs run instead of this spin; QEMU's
/// multi-threaded TCG neither traps WFE nor waits on it).
/// An AArch32 WFx that failed its condition (it may trap anyway) is only stepped over.
func trapWFx(_ vcpu: VCPUHandle, _ esr: UInt64) {
    let syndrome = ESR(rawValue: esr)
    let isWFI = esr & 1 == 0
    vcpu.state.noteAction(.wfx, arg0: isWFI ? 0 : 1)
    let passed = vcpu.state.conditionPassed(syndrome)
    vcpu.state.skipInstruction(syndrome)
    if !passed {
        return
    } else if !isWFI {
        keel_yield()
    } else if VGIC.mayWait(vcpu) {
        GIC.refreshBeforeWait()
        keel_wfi()
        takeWakingInterrupt(vcpu)
        NativeWFI.afterWait()
    }
}

/// The interrupt that ended a WFI's wait (Keel's kick from another vCPU, the guest's timer) is
/// taken here, as the IRQ exit that would follow the re-entry at once would take it: one exit
/// for the wake-up instead of two (an SGI's receiver saves a whole IRQ exit). Not with full
/// tracing, whose record of that IRQ exit says what woke the vCPU; whatever else is pending
/// still exits as before. Counted as the IRQ exit it replaces (`exits.irq`), so that the exit
/// report reads as before: every IRQ Keel took for the vCPU.
@inline(__always)
private func takeWakingInterrupt(_ vcpu: VCPUHandle) {
    guard !Trace.recording else { return }
    let iar = GIC.acknowledge()
    let intid = GIC.intid(of: iar)
    guard intid < GIC.spurious else { return }
    vcpu.state.exits.irq &+= 1
    routePhysicalIRQ(vcpu, iar: iar, intid: intid)
}
