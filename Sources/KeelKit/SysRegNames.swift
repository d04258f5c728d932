import KeelCore

/// Names of the system registers a guest at EL1/EL0 touches, by encoding, for reports.
public enum SysRegNames {
    public static func name(of encoding: SysRegEncoding) -> String? {
        table[encoding]
    }

    private static let fixed: [(String, UInt32, UInt32, UInt32, UInt32, UInt32)] = [
        // Identification
        ("MIDR_EL1", 3, 0, 0, 0, 0), ("MPIDR_EL1", 3, 0, 0, 0, 5), ("REVIDR_EL1", 3, 0, 0, 0, 6),
        ("ID_PFR0_EL1", 3, 0, 0, 1, 0), ("ID_PFR1_EL1", 3, 0, 0, 1, 1), ("ID_DFR0_EL1", 3, 0, 0, 1, 2),
        ("ID_AFR0_EL1", 3, 0, 0, 1, 3), ("ID_MMFR0_EL1", 3, 0, 0, 1, 4), ("ID_MMFR1_EL1", 3, 0, 0, 1, 5),
        ("ID_MMFR2_EL1", 3, 0, 0, 1, 6), ("ID_MMFR3_EL1", 3, 0, 0, 1, 7), ("ID_ISAR0_EL1", 3, 0, 0, 2, 0),
        ("ID_ISAR1_EL1", 3, 0, 0, 2, 1), ("ID_ISAR2_EL1", 3, 0, 0, 2, 2), ("ID_ISAR3_EL1", 3, 0, 0, 2, 3),
        ("ID_ISAR4_EL1", 3, 0, 0, 2, 4), ("ID_ISAR5_EL1", 3, 0, 0, 2, 5), ("ID_MMFR4_EL1", 3, 0, 0, 2, 6),
        ("ID_ISAR6_EL1", 3, 0, 0, 2, 7), ("MVFR0_EL1", 3, 0, 0, 3, 0), ("MVFR1_EL1", 3, 0, 0, 3, 1),
        ("MVFR2_EL1", 3, 0, 0, 3, 2), ("ID_PFR2_EL1", 3, 0, 0, 3, 4), ("ID_DFR1_EL1", 3, 0, 0, 3, 5),
        ("ID_MMFR5_EL1", 3, 0, 0, 3, 6), ("ID_AA64PFR0_EL1", 3, 0, 0, 4, 0), ("ID_AA64PFR1_EL1", 3, 0, 0, 4, 1),
        ("ID_AA64PFR2_EL1", 3, 0, 0, 4, 2), ("ID_AA64ZFR0_EL1", 3, 0, 0, 4, 4), ("ID_AA64SMFR0_EL1", 3, 0, 0, 4, 5),
        ("ID_AA64DFR0_EL1", 3, 0, 0, 5, 0), ("ID_AA64DFR1_EL1", 3, 0, 0, 5, 1), ("ID_AA64AFR0_EL1", 3, 0, 0, 5, 4),
        ("ID_AA64AFR1_EL1", 3, 0, 0, 5, 5), ("ID_AA64ISAR0_EL1", 3, 0, 0, 6, 0), ("ID_AA64ISAR1_EL1", 3, 0, 0, 6, 1),
        ("ID_AA64ISAR2_EL1", 3, 0, 0, 6, 2), ("ID_AA64MMFR0_EL1", 3, 0, 0, 7, 0), ("ID_AA64MMFR1_EL1", 3, 0, 0, 7, 1),
        ("ID_AA64MMFR2_EL1", 3, 0, 0, 7, 2), ("ID_AA64MMFR3_EL1", 3, 0, 0, 7, 3), ("ID_AA64MMFR4_EL1", 3, 0, 0, 7, 4),
        ("CCSIDR_EL1", 3, 1, 0, 0, 0), ("CLIDR_EL1", 3, 1, 0, 0, 1), ("AIDR_EL1", 3, 1, 0, 0, 7),
        ("CSSELR_EL1", 3, 2, 0, 0, 0), ("CTR_EL0", 3, 3, 0, 0, 1), ("DCZID_EL0", 3, 3, 0, 0, 7),
        // System control and memory
        ("SCTLR_EL1", 3, 0, 1, 0, 0), ("ACTLR_EL1", 3, 0, 1, 0, 1), ("CPACR_EL1", 3, 0, 1, 0, 2),
        ("TTBR0_EL1", 3, 0, 2, 0, 0), ("TTBR1_EL1", 3, 0, 2, 0, 1), ("TCR_EL1", 3, 0, 2, 0, 2),
        ("APIAKEYLO_EL1", 3, 0, 2, 1, 0), ("APIAKEYHI_EL1", 3, 0, 2, 1, 1),
        ("SPSR_EL1", 3, 0, 4, 0, 0), ("ELR_EL1", 3, 0, 4, 0, 1), ("SP_EL0", 3, 0, 4, 1, 0),
        ("ICC_PMR_EL1", 3, 0, 4, 6, 0),
        ("AFSR0_EL1", 3, 0, 5, 1, 0), ("AFSR1_EL1", 3, 0, 5, 1, 1), ("ESR_EL1", 3, 0, 5, 2, 0),
        ("FAR_EL1", 3, 0, 6, 0, 0), ("PAR_EL1", 3, 0, 7, 4, 0),
        ("MAIR_EL1", 3, 0, 10, 2, 0), ("AMAIR_EL1", 3, 0, 10, 3, 0),
        ("VBAR_EL1", 3, 0, 12, 0, 0), ("ISR_EL1", 3, 0, 12, 1, 0),
        ("CONTEXTIDR_EL1", 3, 0, 13, 0, 1), ("TPIDR_EL1", 3, 0, 13, 0, 4),
        ("TPIDR_EL0", 3, 3, 13, 0, 2), ("TPIDRRO_EL0", 3, 3, 13, 0, 3),
        // GICv3 CPU interface
        ("ICC_IAR0_EL1", 3, 0, 12, 8, 0), ("ICC_EOIR0_EL1", 3, 0, 12, 8, 1), ("ICC_HPPIR0_EL1", 3, 0, 12, 8, 2),
        ("ICC_BPR0_EL1", 3, 0, 12, 8, 3), ("ICC_DIR_EL1", 3, 0, 12, 11, 1), ("ICC_RPR_EL1", 3, 0, 12, 11, 3),
        ("ICC_SGI1R_EL1", 3, 0, 12, 11, 5), ("ICC_ASGI1R_EL1", 3, 0, 12, 11, 6), ("ICC_SGI0R_EL1", 3, 0, 12, 11, 7),
        ("ICC_IAR1_EL1", 3, 0, 12, 12, 0), ("ICC_EOIR1_EL1", 3, 0, 12, 12, 1), ("ICC_HPPIR1_EL1", 3, 0, 12, 12, 2),
        ("ICC_BPR1_EL1", 3, 0, 12, 12, 3), ("ICC_CTLR_EL1", 3, 0, 12, 12, 4), ("ICC_SRE_EL1", 3, 0, 12, 12, 5),
        ("ICC_IGRPEN0_EL1", 3, 0, 12, 12, 6), ("ICC_IGRPEN1_EL1", 3, 0, 12, 12, 7),
        // Performance monitors
        ("PMINTENSET_EL1", 3, 0, 9, 14, 1), ("PMINTENCLR_EL1", 3, 0, 9, 14, 2), ("PMMIR_EL1", 3, 0, 9, 14, 6),
        ("PMCR_EL0", 3, 3, 9, 12, 0), ("PMCNTENSET_EL0", 3, 3, 9, 12, 1), ("PMCNTENCLR_EL0", 3, 3, 9, 12, 2),
        ("PMOVSCLR_EL0", 3, 3, 9, 12, 3), ("PMSWINC_EL0", 3, 3, 9, 12, 4), ("PMSELR_EL0", 3, 3, 9, 12, 5),
        ("PMCEID0_EL0", 3, 3, 9, 12, 6), ("PMCEID1_EL0", 3, 3, 9, 12, 7), ("PMCCNTR_EL0", 3, 3, 9, 13, 0),
        ("PMXEVTYPER_EL0", 3, 3, 9, 13, 1), ("PMXEVCNTR_EL0", 3, 3, 9, 13, 2), ("PMUSERENR_EL0", 3, 3, 9, 14, 0),
        ("PMOVSSET_EL0", 3, 3, 9, 14, 3), ("PMCCFILTR_EL0", 3, 3, 14, 15, 7),
        // Generic timer
        ("CNTKCTL_EL1", 3, 0, 14, 1, 0), ("CNTFRQ_EL0", 3, 3, 14, 0, 0), ("CNTPCT_EL0", 3, 3, 14, 0, 1),
        ("CNTVCT_EL0", 3, 3, 14, 0, 2), ("CNTP_TVAL_EL0", 3, 3, 14, 2, 0), ("CNTP_CTL_EL0", 3, 3, 14, 2, 1),
        ("CNTP_CVAL_EL0", 3, 3, 14, 2, 2), ("CNTV_TVAL_EL0", 3, 3, 14, 3, 0), ("CNTV_CTL_EL0", 3, 3, 14, 3, 1),
        ("CNTV_CVAL_EL0", 3, 3, 14, 3, 2),
        // Debug
        ("OSDTRRX_EL1", 2, 0, 0, 0, 2), ("MDSCR_EL1", 2, 0, 0, 2, 2), ("OSDTRTX_EL1", 2, 0, 0, 3, 2),
        ("OSECCR_EL1", 2, 0, 0, 6, 2), ("MDRAR_EL1", 2, 0, 1, 0, 0), ("OSLAR_EL1", 2, 0, 1, 0, 4),
        ("OSLSR_EL1", 2, 0, 1, 1, 4), ("OSDLR_EL1", 2, 0, 1, 3, 4), ("DBGPRCR_EL1", 2, 0, 1, 4, 4),
        ("DBGCLAIMSET_EL1", 2, 0, 7, 8, 6), ("DBGCLAIMCLR_EL1", 2, 0, 7, 9, 6),
        ("DBGAUTHSTATUS_EL1", 2, 0, 7, 14, 6), ("MDCCSR_EL0", 2, 3, 0, 1, 0), ("DBGDTR_EL0", 2, 3, 0, 4, 0),
    ]

    private static let table: [SysRegEncoding: String] = {
        var table: [SysRegEncoding: String] = [:]
        for (name, op0, op1, crn, crm, op2) in fixed {
            table[SysRegEncoding(op0: op0, op1: op1, crn: crn, crm: crm, op2: op2)] = name
        }
        for n in UInt32(0)..<16 {
            table[SysRegEncoding(op0: 2, op1: 0, crn: 0, crm: n, op2: 4)] = "DBGBVR\(n)_EL1"
            table[SysRegEncoding(op0: 2, op1: 0, crn: 0, crm: n, op2: 5)] = "DBGBCR\(n)_EL1"
            table[SysRegEncoding(op0: 2, op1: 0, crn: 0, crm: n, op2: 6)] = "DBGWVR\(n)_EL1"
            table[SysRegEncoding(op0: 2, op1: 0, crn: 0, crm: n, op2: 7)] = "DBGWCR\(n)_EL1"
        }
        for n in UInt32(0)..<31 {
            table[SysRegEncoding(op0: 3, op1: 3, crn: 14, crm: 8 + n / 8, op2: n % 8)] = "PMEVCNTR\(n)_EL0"
            table[SysRegEncoding(op0: 3, op1: 3, crn: 14, crm: 12 + n / 8, op2: n % 8)] = "PMEVTYPER\(n)_EL0"
        }
        for n in UInt32(0)..<4 {
            table[SysRegEncoding(op0: 3, op1: 0, crn: 12, crm: 8, op2: 4 + n)] = "ICC_AP0R\(n)_EL1"
            table[SysRegEncoding(op0: 3, op1: 0, crn: 12, crm: 9, op2: n)] = "ICC_AP1R\(n)_EL1"
        }
        return table
    }()
}
