/// What the CPU implements, from its feature ID registers as they read at EL2: the hardware's
/// values, not the sanitized view a guest gets (`FeatureID`). An exception entry the CPU performs
/// follows what the CPU has, whatever Keel tells the guest, so Keel's own injected entries do
/// too; and EL2 controls of a feature the CPU lacks are RES0 or UNDEFINED to touch.
///
/// Pure, so unit-tested; the firmware fills it from `keel_read_id_reg` (the indexes below).
public struct CPUFeatures: Equatable, Sendable {
    /// ID_AA64PFR0_EL1, ID_AA64PFR1_EL1, ID_AA64PFR2_EL1.
    public var pfr0: UInt64
    public var pfr1: UInt64
    public var pfr2: UInt64
    /// ID_AA64MMFR0_EL1, ID_AA64MMFR1_EL1, ID_AA64MMFR2_EL1, ID_AA64MMFR3_EL1.
    public var mmfr0: UInt64
    public var mmfr1: UInt64
    public var mmfr2: UInt64
    public var mmfr3: UInt64
    /// ID_AA64ISAR1_EL1, ID_AA64ISAR2_EL1.
    public var isar1: UInt64
    public var isar2: UInt64

    public init(pfr0: UInt64 = 0, pfr1: UInt64 = 0, pfr2: UInt64 = 0, mmfr0: UInt64 = 0, mmfr1: UInt64 = 0,
                mmfr2: UInt64 = 0, mmfr3: UInt64 = 0, isar1: UInt64 = 0, isar2: UInt64 = 0) {
        self.pfr0 = pfr0
        self.pfr1 = pfr1
        self.pfr2 = pfr2
        self.mmfr0 = mmfr0
        self.mmfr1 = mmfr1
        self.mmfr2 = mmfr2
        self.mmfr3 = mmfr3
        self.isar1 = isar1
        self.isar2 = isar2
    }

    /// Each register's index in the feature ID space (CRm * 8 + op2), as `keel_read_id_reg`
    /// takes it.
    public static let pfr0Index: UInt32 = 4 * 8 + 0
    public static let pfr1Index: UInt32 = 4 * 8 + 1
    public static let pfr2Index: UInt32 = 4 * 8 + 2
    public static let isar1Index: UInt32 = 6 * 8 + 1
    public static let isar2Index: UInt32 = 6 * 8 + 2
    public static let mmfr0Index: UInt32 = 7 * 8 + 0
    public static let mmfr1Index: UInt32 = 7 * 8 + 1
    public static let mmfr2Index: UInt32 = 7 * 8 + 2
    public static let mmfr3Index: UInt32 = 7 * 8 + 3

    /// The 4-bit field [low+3:low]. Every field used here is unsigned: 0 means not implemented.
    @inline(__always)
    static func field(_ value: UInt64, _ low: UInt64) -> UInt64 { (value >> low) & 0xF }

    // ID_AA64PFR0_EL1
    /// FEAT_RAS (RAS [31:28]; a RAS_frac without it means nothing).
    public var hasRAS: Bool { Self.field(pfr0, 28) != 0 }
    /// FEAT_AMUv1 (AMU [47:44]).
    public var hasAMU: Bool { Self.field(pfr0, 44) != 0 }
    /// FEAT_DIT (DIT [51:48]).
    public var hasDIT: Bool { Self.field(pfr0, 48) != 0 }

    // ID_AA64PFR1_EL1
    /// FEAT_BTI (BT [3:0]).
    public var hasBTI: Bool { Self.field(pfr1, 0) != 0 }
    /// FEAT_SSBS (SSBS [7:4]).
    public var hasSSBS: Bool { Self.field(pfr1, 4) != 0 }
    /// FEAT_MTE (MTE [11:8]; 1 is the instructions-only FEAT_MTE, which has PSTATE.TCO too).
    public var hasMTE: Bool { Self.field(pfr1, 8) != 0 }
    /// FEAT_NMI (NMI [39:36]): PSTATE.ALLINT.
    public var hasNMI: Bool { Self.field(pfr1, 36) != 0 }
    /// FEAT_GCS (GCS [47:44]): PSTATE.EXLOCK, GCSCR_EL1.
    public var hasGCS: Bool { Self.field(pfr1, 44) != 0 }
    /// FEAT_THE (THE [51:48]): RCWMASK_EL1.
    public var hasTHE: Bool { Self.field(pfr1, 48) != 0 }

    // ID_AA64PFR2_EL1
    /// FEAT_FPMR (FPMR [35:32]).
    public var hasFPMR: Bool { Self.field(pfr2, 32) != 0 }

    // ID_AA64MMFR0_EL1
    /// FEAT_FGT (FGT [59:56]: 1 FEAT_FGT, 2 FEAT_FGT2 as well).
    public var hasFGT: Bool { Self.field(mmfr0, 56) != 0 }
    public var hasFGT2: Bool { Self.field(mmfr0, 56) >= 2 }

    // ID_AA64MMFR1_EL1
    /// FEAT_LOR (LO [19:16]).
    public var hasLOR: Bool { Self.field(mmfr1, 16) != 0 }
    /// FEAT_PAN (PAN [23:20]).
    public var hasPAN: Bool { Self.field(mmfr1, 20) != 0 }
    /// FEAT_HCX (HCX [43:40]): HCRX_EL2.
    public var hasHCX: Bool { Self.field(mmfr1, 40) != 0 }

    // ID_AA64MMFR2_EL1
    /// FEAT_UAO (UAO [7:4]).
    public var hasUAO: Bool { Self.field(mmfr2, 4) != 0 }

    // ID_AA64MMFR3_EL1
    /// FEAT_TCR2 (TCRX [3:0]), FEAT_SCTLR2 (SCTLRX [7:4]).
    public var hasTCR2: Bool { Self.field(mmfr3, 0) != 0 }
    public var hasSCTLR2: Bool { Self.field(mmfr3, 4) != 0 }
    /// FEAT_S1PIE (S1PIE [11:8]), FEAT_S1POE (S1POE [19:16]), FEAT_S2POE (S2POE [23:20]),
    /// FEAT_AIE (AIE [27:24]).
    public var hasS1PIE: Bool { Self.field(mmfr3, 8) != 0 }
    public var hasS1POE: Bool { Self.field(mmfr3, 16) != 0 }
    public var hasS2POE: Bool { Self.field(mmfr3, 20) != 0 }
    public var hasAIE: Bool { Self.field(mmfr3, 24) != 0 }

    // ID_AA64ISAR1_EL1, ID_AA64ISAR2_EL1
    /// FEAT_LS64 (LS64 [63:60] >= 1), FEAT_LS64_V (>= 2), FEAT_LS64_ACCDATA (>= 3).
    public var ls64: UInt64 { Self.field(isar1, 60) }
    /// FEAT_MOPS (MOPS [19:16]).
    public var hasMOPS: Bool { Self.field(isar2, 16) != 0 }
}
