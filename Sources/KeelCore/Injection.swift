/// What the hardware would have done had an exception been taken to EL1: the values Keel writes
/// into the guest's `ELR_EL1`, `SPSR_EL1`, `ESR_EL1`, `FAR_EL1`, and where the guest resumes.
///
/// Pure computation, so it is unit-tested on the host; the firmware only writes the registers.
public struct EL1Exception: Equatable, Sendable {
    /// `ELR_EL2` to return to: `VBAR_EL1` plus the vector offset.
    public var vector: UInt64
    /// `SPSR_EL2` to return with: EL1h, all of DAIF masked.
    public var pstate: UInt64
    /// `SPSR_EL1`: the interrupted PSTATE.
    public var spsr: UInt64
    /// `ELR_EL1`: the interrupted PC.
    public var elr: UInt64
    public var esr: ESR

    /// PSTATE.M values.
    public static let modeEL0t: UInt64 = 0b0000
    public static let modeEL1t: UInt64 = 0b0100
    public static let modeEL1h: UInt64 = 0b0101
    /// D, A, I and F set.
    public static let daifMasked: UInt64 = 0b1111 << 6

    /// Offset of the synchronous entry of the vector group the exception uses, from the
    /// interrupted PSTATE (Arm ARM D1.10.2).
    public static func vectorOffset(fromPSTATE pstate: UInt64) -> UInt64 {
        if pstate & 0x10 != 0 { return 0x600 }  // lower EL, AArch32
        switch pstate & 0xF {
        case modeEL1t: return 0x000  // current EL, SP_EL0
        case modeEL1h: return 0x200  // current EL, SP_EL1
        default: return 0x400  // lower EL (EL0), AArch64
        }
    }

    /// True when the interrupted state was EL1 (so the abort is "same EL").
    public static func fromEL1(_ pstate: UInt64) -> Bool {
        pstate & 0x10 == 0 && (pstate & 0xC) == 0x4
    }

    init(vbar: UInt64, interrupted pstate: UInt64, pc: UInt64, esr: ESR) {
        vector = vbar &+ EL1Exception.vectorOffset(fromPSTATE: pstate)
        self.pstate = EL1Exception.modeEL1h | EL1Exception.daifMasked
        spsr = pstate
        elr = pc
        self.esr = esr
    }

    /// An Undefined Instruction exception for the instruction at `pc` (EC 0, as hardware reports
    /// an UNDEFINED encoding). `il` is the length of the instruction that trapped.
    public static func undefined(vbar: UInt64, pstate: UInt64, pc: UInt64, il: Bool = true) -> EL1Exception {
        EL1Exception(vbar: vbar, interrupted: pstate, pc: pc, esr: ESR(ec: .unknown, il: il, iss: 0))
    }

    /// A synchronous external abort for an access Keel refused: a data abort keeps the access's
    /// WnR and CM bits, an instruction abort has none. FAR_EL1 gets the faulting VA.
    public static func externalAbort(vbar: UInt64, pstate: UInt64, pc: UInt64, trapped: ESR) -> EL1Exception {
        let sameEL = fromEL1(pstate)
        let ec: ExceptionClass
        var iss = UInt32(FaultStatus.syncExternalAbort.rawValue)
        if trapped.ec == .iabtLow || trapped.ec == .iabtCur {
            ec = sameEL ? .iabtCur : .iabtLow
        } else {
            ec = sameEL ? .dabtCur : .dabtLow
            iss |= trapped.iss & (1 << 6 | 1 << 8)  // WnR, CM
        }
        return EL1Exception(vbar: vbar, interrupted: pstate, pc: pc, esr: ESR(ec: ec, il: trapped.il, iss: iss))
    }
}

/// What a guest's load or store that trapped on stage 2 did, decoded from a data abort ISS with
/// ISV set. Used by MMIO emulation.
public struct MMIOAccess: Equatable, Sendable {
    public var isWrite: Bool
    public var bytes: Int
    /// Register number; 31 is the zero register.
    public var register: Int
    public var signExtend: Bool
    public var is64Bit: Bool

    @inline(__always)
    public init?(_ iss: DataAbortISS) {
        guard iss.isv else { return nil }
        isWrite = iss.wnr
        bytes = iss.accessBytes
        register = iss.srt
        signExtend = iss.sse
        is64Bit = iss.sf
    }

    /// The bits an access of this width covers. Wrapping shifts: `bytes` is 1, 2, 4 or 8 by
    /// construction, and the trap path must not carry overflow checks.
    @inline(__always)
    public var mask: UInt64 { ~UInt64(0) &>> UInt64(64 &- bytes &* 8) }

    /// The value a store writes, from the source register's contents, cut to the access width.
    @inline(__always)
    public func storedValue(register value: UInt64) -> UInt64 {
        value & mask
    }

    /// The value to put in the destination register for a load that returned `value`:
    /// sign-extended when SSE says so, then cut to 32 bits for a W register.
    @inline(__always)
    public func loadedValue(_ value: UInt64) -> UInt64 {
        var v = value & mask
        if signExtend {
            let shift = UInt64(64 &- bytes &* 8)
            v = UInt64(bitPattern: Int64(bitPattern: v &<< shift) &>> Int64(shift))
        }
        return is64Bit ? v : v & 0xFFFF_FFFF
    }
}
