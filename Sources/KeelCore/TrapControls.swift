/// EL2 trap controls that exist only with a feature and reset to UNKNOWN values: the
/// fine-grained traps (FEAT_FGT: HFGRTR_EL2, HFGWTR_EL2, HFGITR_EL2, HDFGRTR_EL2, HDFGWTR_EL2,
/// HAFGRTR_EL2 with FEAT_AMUv1; FEAT_FGT2: their *2_EL2 companions) and HCRX_EL2 (FEAT_HCX).
/// Left alone they would trap, or not, whatever the CPU came out of reset with.
///
/// The policy, as Linux's EL2 set-up and KVM choose it:
///   - a bit whose 1 traps (most of them) is 0: what HCR_EL2, MDCR_EL2 and CPTR_EL2 trap is all
///     Keel wants trapped;
///   - a bit whose 0 traps (the nXXX bits, which guard registers of later features) is 1 only
///     where the CPU has the feature and Keel leaves it visible in the guest's ID registers.
///     Features Keel hides (SME, SPE, BRBE, the PMU) keep trapping, and their registers come
///     back UNDEF as on a CPU without them;
///   - an HCRX_EL2 enable is 1 for a feature the CPU has and the guest is shown.
/// Pure, so unit-tested; `EL2.configureTraps` writes the values on CPUs that have the registers.
public enum TrapControls {
    /// HFGRTR_EL2 and HFGWTR_EL2 (same layout): the negative-polarity bits of visible features.
    public static func hfgxtr(_ cpu: CPUFeatures) -> UInt64 {
        var v: UInt64 = 0
        if cpu.hasAIE { v |= 1 << 63 | 1 << 62 }  // nAMAIR2_EL1, nMAIR2_EL1
        if cpu.hasS2POE { v |= 1 << 61 }  // nS2POR_EL1
        if cpu.hasS1POE { v |= 1 << 60 | 1 << 59 }  // nPOR_EL1, nPOR_EL0
        if cpu.hasS1PIE { v |= 1 << 58 | 1 << 57 }  // nPIR_EL1, nPIRE0_EL1
        if cpu.hasTHE { v |= 1 << 56 }  // nRCWMASK_EL1
        // 55 nTPIDR2_EL0, 54 nSMPRI_EL1: SME is hidden (CPTR_EL2.TSM), so they trap.
        if cpu.hasGCS { v |= 1 << 53 | 1 << 52 }  // nGCS_EL1, nGCS_EL0
        if cpu.ls64 >= 3 { v |= 1 << 50 }  // nACCDATA_EL1 (FEAT_LS64_ACCDATA)
        return v
    }

    /// HFGITR_EL2: GCS's instructions where GCS is visible; BRBE's (nBRBIALL, nBRBINJ) trap.
    public static func hfgitr(_ cpu: CPUFeatures) -> UInt64 {
        cpu.hasGCS ? 1 << 59 | 1 << 58 | 1 << 57 : 0  // nGCSEPP, nGCSSTR_EL1, nGCSPUSHM_EL1
    }

    /// HDFGRTR_EL2 and HDFGWTR_EL2: nothing extra trapped; their negative bits (nPMSNEVFR_EL1,
    /// nBRBDATA, nBRBCTL, nBRBIDR) guard SPE and BRBE, which Keel hides.
    public static let hdfgxtr: UInt64 = 0
    /// HAFGRTR_EL2: the activity monitors already trap as a whole (CPTR_EL2.TAM).
    public static let hafgrtr: UInt64 = 0
    /// The FEAT_FGT2 registers: every bit of a feature Keel does not know. Positive ones off,
    /// negative ones trapping (their registers UNDEF).
    public static let fgt2: UInt64 = 0

    /// HCRX_EL2: the enables of visible features; everything else (NMI virtualization, SME
    /// priority mapping, 128-bit registers, the error-trap controls) off.
    public static func hcrx(_ cpu: CPUFeatures) -> UInt64 {
        var v: UInt64 = 0
        if cpu.ls64 >= 3 { v |= 1 << 0 }  // EnAS0: ST64BV0
        if cpu.ls64 >= 1 { v |= 1 << 1 }  // EnALS: LD64B, ST64B
        if cpu.ls64 >= 2 { v |= 1 << 2 }  // EnASR: ST64BV
        if cpu.hasMOPS { v |= 1 << 11 }  // MSCEn: CPY*, SET* (MCE2 clear: their exceptions go to EL1)
        if cpu.hasTCR2 { v |= 1 << 14 }  // TCR2En
        if cpu.hasSCTLR2 { v |= 1 << 15 }  // SCTLR2En
        if cpu.hasGCS { v |= 1 << 22 }  // GCSEn
        if cpu.hasFPMR { v |= 1 << 23 }  // EnFPM
        return v
    }
}
