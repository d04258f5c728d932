/// A system register's encoding (op0, op1, CRn, CRm, op2), packed as in the MRS/MSR instruction
/// and in Linux's `sys_reg()`: op0 [20:19], op1 [18:16], CRn [15:12], CRm [11:8], op2 [7:5].
public struct SysRegEncoding: Equatable, Hashable, Sendable {
    public var packed: UInt32

    public init(op0: UInt32, op1: UInt32, crn: UInt32, crm: UInt32, op2: UInt32) {
        packed = (op0 & 3) << 19 | (op1 & 7) << 16 | (crn & 15) << 12 | (crm & 15) << 8 | (op2 & 7) << 5
    }

    public var op0: UInt32 { (packed >> 19) & 3 }
    public var op1: UInt32 { (packed >> 16) & 7 }
    public var crn: UInt32 { (packed >> 12) & 15 }
    public var crm: UInt32 { (packed >> 8) & 15 }
    public var op2: UInt32 { (packed >> 5) & 7 }

    /// The feature ID space, op0=3 op1=0 CRn=0 CRm=1..7, that `HCR_EL2.TID3` traps. Registers in
    /// it that are not allocated read as zero.
    public var isFeatureID: Bool { op0 == 3 && op1 == 0 && crn == 0 && crm >= 1 && crm <= 7 }

    public static let actlrEL1 = SysRegEncoding(op0: 3, op1: 0, crn: 1, crm: 0, op2: 1)
    /// GICv3 SGI generation: writes trap to EL2 whenever HCR_EL2.IMO/FMO route interrupts there.
    public static let iccSGI1R = SysRegEncoding(op0: 3, op1: 0, crn: 12, crm: 11, op2: 5)
    public static let iccASGI1R = SysRegEncoding(op0: 3, op1: 0, crn: 12, crm: 11, op2: 6)
    public static let iccSGI0R = SysRegEncoding(op0: 3, op1: 0, crn: 12, crm: 11, op2: 7)
    /// EL1 physical timer, which the guest owns (CNTHCTL_EL2.EL1PCEN): only traps if that changes.
    public static let cntpCtlEL0 = SysRegEncoding(op0: 3, op1: 3, crn: 14, crm: 2, op2: 1)
    public static let idAA64PFR0 = SysRegEncoding(op0: 3, op1: 0, crn: 0, crm: 4, op2: 0)
    public static let idAA64PFR1 = SysRegEncoding(op0: 3, op1: 0, crn: 0, crm: 4, op2: 1)
    public static let idAA64DFR0 = SysRegEncoding(op0: 3, op1: 0, crn: 0, crm: 5, op2: 0)
    public static let idAA64MMFR0 = SysRegEncoding(op0: 3, op1: 0, crn: 0, crm: 7, op2: 0)
    public static let idAA64MMFR1 = SysRegEncoding(op0: 3, op1: 0, crn: 0, crm: 7, op2: 1)
    public static let idDFR0 = SysRegEncoding(op0: 3, op1: 0, crn: 0, crm: 1, op2: 2)
    public static let idPFR0 = SysRegEncoding(op0: 3, op1: 0, crn: 0, crm: 1, op2: 0)
    public static let idPFR2 = SysRegEncoding(op0: 3, op1: 0, crn: 0, crm: 3, op2: 4)

    /// The performance monitor registers (PMCR_EL0 ... PMCCFILTR_EL0, PMEV*_EL0, PMINTEN*_EL1,
    /// PMUSERENR_EL0), which `MDCR_EL2.TPM` traps.
    public var isPMU: Bool {
        if op0 != 3 { return false }
        // PMINTENSET_EL1 / PMINTENCLR_EL1 / PMMIR_EL1: op1=0 CRn=9 CRm=14.
        if op1 == 0 && crn == 9 && crm == 14 { return true }
        guard op1 == 3 else { return false }
        // PMCR..PMUSERENR: CRn=9 CRm=12..14; PMEVCNTR/PMEVTYPER: CRn=14 CRm=8..15.
        return (crn == 9 && crm >= 12 && crm <= 14) || (crn == 14 && crm >= 8)
    }
}
