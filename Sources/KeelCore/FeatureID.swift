/// The feature ID registers a guest reads, as Keel presents them: the hardware's values with
/// what Keel does not give guests taken out, the way KVM sanitizes them. Pure, so unit-tested.
public enum FeatureID {
    /// Field [low+3:low] of `value` replaced by `field`.
    @inline(__always)
    static func setting(_ value: UInt64, field low: UInt64, to field: UInt64) -> UInt64 {
        (value & ~(0xF << low)) | (field & 0xF) << low
    }

    /// `hardware` is what the register reads at EL2; `ipaBits` the VM's IPA width.
    public static func sanitize(_ encoding: SysRegEncoding, hardware: UInt64, ipaBits: Int) -> UInt64 {
        var v = hardware
        switch encoding {
        case .idAA64PFR0:
            v = setting(v, field: 28, to: 0)  // RAS: error records trapped by HCR_EL2.TERR
            v = setting(v, field: 32, to: 0)  // SVE: trapped by CPTR_EL2.TZ
            v = setting(v, field: 40, to: 0)  // MPAM
            v = setting(v, field: 44, to: 0)  // AMU: trapped by CPTR_EL2.TAM
        case .idAA64PFR1:
            v = setting(v, field: 8, to: 0)  // MTE
            v = setting(v, field: 12, to: 0)  // RAS_frac
            v = setting(v, field: 16, to: 0)  // MPAM_frac
            v = setting(v, field: 24, to: 0)  // SME: trapped by CPTR_EL2.TSM
        case .idAA64DFR0:
            v = setting(v, field: 8, to: 0)  // PMUVer: PMU trapped by MDCR_EL2.TPM
            v = setting(v, field: 32, to: 0)  // PMSVer (SPE)
            v = setting(v, field: 44, to: 0)  // TraceBuffer
            v = setting(v, field: 48, to: 0)  // MTPMU
            v = setting(v, field: 52, to: 0)  // BRBE
        case .idDFR0:
            v = setting(v, field: 24, to: 0)  // PerfMon (AArch32 view of the PMU)
        case .idPFR0:
            v = setting(v, field: 28, to: 0)  // RAS (AArch32 view)
        case .idPFR2:
            v = setting(v, field: 8, to: 0)  // RAS_frac (AArch32 view)
        case .idAA64MMFR1:
            v = setting(v, field: 16, to: 0)  // LO: LORegion registers trapped by HCR_EL2.TLOR
        case .idAA64MMFR0:
            // PARange: the guest's physical address space is its IPA space.
            let hw = v & 0xF
            v = setting(v, field: 0, to: min(hw, Stage2Geometry.paRange(ofBits: ipaBits)))
        default:
            break
        }
        return v
    }
}
