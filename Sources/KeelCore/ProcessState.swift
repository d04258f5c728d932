/// PSTATE fields at their positions in SPSR_ELx (Arm ARM C5.2.18; AArch64 layout unless noted).
/// The fields exception entry reads or writes sit at the same positions whether the exception
/// came from AArch64 or AArch32 (N, Z, C, V, DIT, PAN, SS, IL, M[4]).
public enum ProcessState {
    public static let nzcv: UInt64 = 0xF << 28
    /// FEAT_GCS: exception return lock.
    public static let exlock: UInt64 = 1 << 34
    /// FEAT_MTE: tag check override.
    public static let tco: UInt64 = 1 << 25
    /// FEAT_DIT: data-independent timing.
    public static let dit: UInt64 = 1 << 24
    /// FEAT_UAO: user access override.
    public static let uao: UInt64 = 1 << 23
    /// FEAT_PAN: privileged access never.
    public static let pan: UInt64 = 1 << 22
    /// Software step, illegal execution state.
    public static let ss: UInt64 = 1 << 21
    public static let il: UInt64 = 1 << 20
    /// FEAT_NMI: all interrupts masked.
    public static let allint: UInt64 = 1 << 13
    /// FEAT_SSBS: speculative store bypass safe.
    public static let ssbs: UInt64 = 1 << 12
    /// FEAT_BTI: branch type.
    public static let btype: UInt64 = 3 << 10
    /// D, A, I and F.
    public static let daif: UInt64 = 0xF << 6
    /// M[4]: the state was AArch32.
    public static let nRW: UInt64 = 1 << 4
    /// AArch32 layout: T32 (else A32); IT[1:0] at [26:25], IT[7:2] at [15:10].
    public static let thumb: UInt64 = 1 << 5
    public static let itLow: UInt64 = 3 << 25
    public static let itHigh: UInt64 = 0x3F << 10
}

/// What Keel must do for an AArch32 guest (EL0 under an AArch64 EL1) that the hardware would have
/// done had the instruction executed: the condition check of a trapped conditional instruction,
/// and the IT-block state after one instruction. Pure, so unit-tested.
public enum AArch32 {
    /// PSTATE.IT[7:0] of an AArch32 SPSR.
    @inline(__always)
    public static func itState(_ spsr: UInt64) -> UInt64 {
        (spsr >> 8) & 0xFC | (spsr >> 25) & 0x3
    }

    /// `spsr` with PSTATE.IT replaced by `it`.
    @inline(__always)
    public static func withITState(_ spsr: UInt64, _ it: UInt64) -> UInt64 {
        spsr & ~(ProcessState.itLow | ProcessState.itHigh) | (it & 0xFC) << 8 | (it & 0x3) << 25
    }

    /// ITAdvance (Arm ARM): after the last instruction of a block (IT[2:0] == 0) the block is
    /// over, else the mask IT[4:0] shifts left by one and IT[7:5] (the base condition) stays.
    @inline(__always)
    public static func advanceIT(_ it: UInt64) -> UInt64 {
        it & 0x7 == 0 ? 0 : it & 0xE0 | (it << 1) & 0x1F
    }

    /// ConditionHolds (Arm ARM) for `cond` against the flags `nzcv` (N at bit 3).
    public static func conditionHolds(_ cond: UInt32, nzcv: UInt64) -> Bool {
        let n = nzcv & 8 != 0, z = nzcv & 4 != 0, c = nzcv & 2 != 0, v = nzcv & 1 != 0
        let result: Bool
        switch (cond >> 1) & 7 {
        case 0: result = z  // EQ, NE
        case 1: result = c  // CS, CC
        case 2: result = n  // MI, PL
        case 3: result = v  // VS, VC
        case 4: result = c && !z  // HI, LS
        case 5: result = n == v  // GE, LT
        case 6: result = n == v && !z  // GT, LE
        default: result = true  // AL, and 0b1111 (unconditional)
        }
        return cond & 1 == 1 && cond != 0xF ? !result : result
    }

    /// Whether an instruction that trapped with syndrome `esr` from the state `spsr` passed its
    /// condition. An AArch32 conditional instruction that fails its check may still trap (it is
    /// IMPLEMENTATION DEFINED), and must then do nothing but be stepped over. Only exception
    /// classes below 0x10 carry CV and COND (ISS[24], ISS[23:20]); without CV, a T32 instruction
    /// takes its condition from the IT block, and outside one it is unconditional. From AArch64,
    /// every trapped instruction is unconditional.
    public static func conditionPassed(_ esr: ESR, spsr: UInt64) -> Bool {
        guard spsr & ProcessState.nRW != 0, esr.ec.rawValue < 0x10 else { return true }
        let iss = esr.iss
        let cond: UInt32
        if iss & (1 << 24) != 0 {
            cond = (iss >> 20) & 0xF
        } else {
            let it = itState(spsr)
            if it == 0 { return true }
            cond = UInt32(truncatingIfNeeded: it >> 4)
        }
        return conditionHolds(cond, nzcv: spsr >> 28)
    }

    /// The return address and SPSR after stepping over the trapped AArch32 instruction at `pc`:
    /// 2 bytes for a 16-bit T32 instruction (ESR.IL clear), else 4, within the 32-bit address
    /// space; in T32, the IT state advanced as executing the instruction would have.
    public static func step(pc: UInt64, spsr: UInt64, il: Bool) -> (pc: UInt64, spsr: UInt64) {
        guard spsr & ProcessState.thumb != 0 else { return ((pc &+ 4) & 0xFFFF_FFFF, spsr) }
        let next = (pc &+ (il ? 4 : 2)) & 0xFFFF_FFFF
        let it = itState(spsr)
        return (next, it == 0 ? spsr : withITState(spsr, advanceIT(it)))
    }
}
