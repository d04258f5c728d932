/// What an exception entry to AArch64 EL1 depends on besides the interrupted PSTATE: the
/// guest's SCTLR_EL1, what the CPU implements, and GCSCR_EL1 (read only with FEAT_GCS, else 0).
public struct EL1EntryControls: Equatable, Sendable {
    public var sctlr: UInt64
    public var features: CPUFeatures
    public var gcscr: UInt64

    public init(sctlr: UInt64, features: CPUFeatures, gcscr: UInt64 = 0) {
        self.sctlr = sctlr
        self.features = features
        self.gcscr = gcscr
    }

    /// A CPU with none of the optional PSTATE fields (Cortex-A53, A57, A72).
    public static let baseline = EL1EntryControls(sctlr: 0, features: CPUFeatures())

    /// SCTLR_EL1 fields exception entry reads.
    public static let span: UInt64 = 1 << 23
    public static let dssbs: UInt64 = 1 << 44
    public static let spintmask: UInt64 = 1 << 45
    /// GCSCR_EL1.EXLOCKEN.
    public static let exlocken: UInt64 = 1 << 6
}

/// What the hardware would have done had an exception been taken to EL1: the values Keel writes
/// into the guest's `ELR_EL1`, `SPSR_EL1`, `ESR_EL1`, `FAR_EL1`, and where the guest resumes.
///
/// Pure computation, so it is unit-tested on the host; the firmware only writes the registers.
public struct EL1Exception: Equatable, Sendable {
    /// `ELR_EL2` to return to: `VBAR_EL1` plus the vector offset.
    public var vector: UInt64
    /// `SPSR_EL2` to return with: the PSTATE the CPU's own exception entry would give
    /// (`entryPSTATE`).
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

    /// PSTATE after an exception entry to AArch64 EL1 from the state `interrupted` (AArch64 EL0
    /// or EL1, or AArch32 EL0), as AArch64.TakeException in the Arm ARM computes it:
    ///   - EL1h, D, A, I and F set; SS, IL, UAO and BTYPE clear; IT and T gone with AArch32;
    ///   - N, Z, C, V and DIT unchanged (they sit at the same positions in both SPSR layouts);
    ///   - PAN unchanged, or set when SCTLR_EL1.SPAN is 0 (FEAT_PAN);
    ///   - SSBS = SCTLR_EL1.DSSBS (FEAT_SSBS); TCO set (FEAT_MTE);
    ///   - ALLINT = NOT SCTLR_EL1.SPINTMASK (FEAT_NMI);
    ///   - EXLOCK = GCSCR_EL1.EXLOCKEN from EL1, clear from EL0 (FEAT_GCS).
    /// A field of a feature the CPU lacks stays clear. (PM, PPEND and UINJ, of FEAT_EBEP,
    /// FEAT_SEBEP and FEAT_UINJ, are not modelled: they stay clear.)
    public static func entryPSTATE(interrupted old: UInt64, _ c: EL1EntryControls) -> UInt64 {
        let f = c.features
        var new = modeEL1h | daifMasked | old & ProcessState.nzcv
        if f.hasDIT { new |= old & ProcessState.dit }
        if f.hasPAN {
            new |= old & ProcessState.pan
            if c.sctlr & EL1EntryControls.span == 0 { new |= ProcessState.pan }
        }
        if f.hasSSBS && c.sctlr & EL1EntryControls.dssbs != 0 { new |= ProcessState.ssbs }
        if f.hasMTE { new |= ProcessState.tco }
        if f.hasNMI && c.sctlr & EL1EntryControls.spintmask == 0 { new |= ProcessState.allint }
        if f.hasGCS && fromEL1(old) && c.gcscr & EL1EntryControls.exlocken != 0 { new |= ProcessState.exlock }
        return new
    }

    init(vbar: UInt64, interrupted pstate: UInt64, pc: UInt64, esr: ESR, controls: EL1EntryControls) {
        vector = vbar &+ EL1Exception.vectorOffset(fromPSTATE: pstate)
        self.pstate = EL1Exception.entryPSTATE(interrupted: pstate, controls)
        spsr = pstate
        elr = pc
        self.esr = esr
    }

    /// An Undefined Instruction exception for the instruction at `pc` (EC 0, as hardware reports
    /// an UNDEFINED encoding). ESR.IL is 1 for EC 0 whatever the instruction's length (Arm ARM:
    /// IL is RES1 for exceptions reported with EC 0b000000).
    public static func undefined(vbar: UInt64, pstate: UInt64, pc: UInt64,
                                 controls: EL1EntryControls = .baseline) -> EL1Exception {
        EL1Exception(vbar: vbar, interrupted: pstate, pc: pc, esr: ESR(ec: .unknown, il: true, iss: 0), controls: controls)
    }

    /// A synchronous external abort for an access Keel refused: a data abort keeps the access's
    /// WnR and CM bits, an instruction abort has none. FAR_EL1 gets the faulting VA. ESR.IL is 1:
    /// RES1 for instruction aborts and for data aborts without a valid ISS, as this one.
    public static func externalAbort(vbar: UInt64, pstate: UInt64, pc: UInt64, trapped: ESR,
                                     controls: EL1EntryControls = .baseline) -> EL1Exception {
        let sameEL = fromEL1(pstate)
        let ec: ExceptionClass
        var iss = UInt32(FaultStatus.syncExternalAbort.rawValue)
        if trapped.ec == .iabtLow || trapped.ec == .iabtCur {
            ec = sameEL ? .iabtCur : .iabtLow
        } else {
            ec = sameEL ? .dabtCur : .dabtLow
            iss |= trapped.iss & (1 << 6 | 1 << 8)  // WnR, CM
        }
        return EL1Exception(vbar: vbar, interrupted: pstate, pc: pc, esr: ESR(ec: ec, il: true, iss: iss), controls: controls)
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
