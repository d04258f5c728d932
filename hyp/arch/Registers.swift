import KeelHW

/// HCR_EL2: what traps from the guest to Keel and how its EL1 runs. Bits per Arm ARM D17.2.48.
struct HCR: OptionSet {
    var rawValue: UInt64

    /// Stage-2 translation on: the guest sees IPAs, Keel decides what backs them.
    static let vm = HCR(rawValue: 1 << 0)
    /// Set/way invalidation by the guest becomes clean+invalidate, so it cannot discard data
    /// that another agent still needs.
    static let swio = HCR(rawValue: 1 << 1)
    /// Physical FIQ, IRQ and SError route to EL2: interrupts belong to Keel, the guest sees
    /// virtual ones.
    static let fmo = HCR(rawValue: 1 << 3)
    static let imo = HCR(rawValue: 1 << 4)
    static let amo = HCR(rawValue: 1 << 5)
    /// Pending virtual SError: set to deliver an SError to the guest.
    static let vse = HCR(rawValue: 1 << 8)
    /// Guest TLB and I-cache maintenance is broadcast inner shareable, so it stays correct when a
    /// VM has several CPUs.
    static let fb = HCR(rawValue: 1 << 9)
    /// Barriers in the guest are at least inner shareable.
    static let bsuInnerShareable = HCR(rawValue: 1 << 10)
    /// WFI and WFE trap: a vCPU that waits gives its CPU to Keel.
    static let twi = HCR(rawValue: 1 << 13)
    static let twe = HCR(rawValue: 1 << 14)
    /// Feature ID registers trap, so Keel hides what it does not give the guest (PMU, SVE, ...).
    static let tid3 = HCR(rawValue: 1 << 18)
    /// SMC traps: the guest never reaches the secure firmware below Keel.
    static let tsc = HCR(rawValue: 1 << 19)
    /// IMPLEMENTATION DEFINED system registers trap (no guest may poke core internals).
    static let tidcp = HCR(rawValue: 1 << 20)
    /// ACTLR_EL1 traps: auxiliary control is the hypervisor's to decide.
    static let tacr = HCR(rawValue: 1 << 21)
    /// EL1 is AArch64.
    static let rw = HCR(rawValue: 1 << 31)
    /// LORegion registers (LORSA/LOREA/LORN/LORC/LORID_EL1) trap: Keel gives guests no
    /// LORegions and says so (ID_AA64MMFR1.LO = 0). Only with FEAT_LOR: RES0 without it.
    static let tlor = HCR(rawValue: 1 << 35)
    /// Error record registers (ERRIDR_EL1, ERRSELR_EL1, ERX*_EL1) trap: they reach the RAS
    /// error records the whole machine shares, which no guest may read or clear (and
    /// ID_AA64PFR0.RAS reads 0). Only with FEAT_RAS: RES0 without it.
    static let terr = HCR(rawValue: 1 << 36)
    /// Pointer authentication instructions and key registers do not trap: with FEAT_PAuth the
    /// guest owns its keys (they live in EL1 registers Keel never shares).
    static let apk = HCR(rawValue: 1 << 40)
    static let api = HCR(rawValue: 1 << 41)

    /// What every guest runs with.
    static let guest: HCR = [.vm, .swio, .fmo, .imo, .amo, .fb, .bsuInnerShareable, .twi, .twe,
                             .tid3, .tsc, .tidcp, .tacr, .rw]
}

/// MDCR_EL2: debug and performance monitor traps.
struct MDCR: OptionSet {
    var rawValue: UInt64
    /// PMCR_EL0 and every other PMU register trap: guests get no PMU yet, and the ID registers
    /// say so.
    static let tpmcr = MDCR(rawValue: 1 << 5)
    static let tpm = MDCR(rawValue: 1 << 6)

    /// HPMN [4:0] must not exceed PMCR_EL0.N, so it is set to exactly N.
    static func hpmn(_ counters: UInt64) -> MDCR { MDCR(rawValue: counters & 0x1F) }
}

/// CPTR_EL2 (HCR_EL2.E2H == 0 layout): traps of FP/SIMD, SVE, SME, trace and AMU.
struct CPTR: OptionSet {
    var rawValue: UInt64
    /// Bits that are RES1 in this layout: 13, 9 and 7:0.
    static let res1 = CPTR(rawValue: 0x22FF)
    /// SVE and SME trap: hidden from the guest (and their state would be Keel's to switch).
    static let tz = CPTR(rawValue: 1 << 8)
    static let tsm = CPTR(rawValue: 1 << 12)
    /// Trace and activity monitors trap.
    static let tta = CPTR(rawValue: 1 << 20)
    static let tam = CPTR(rawValue: 1 << 30)
    // TFP (bit 10) stays clear: the guest owns FP/SIMD; Keel is built -mgeneral-regs-only and
    // never touches those registers.

    static let guest: CPTR = [.res1, .tz, .tsm, .tta, .tam]
}

/// CNTHCTL_EL2 (E2H == 0): EL1 access to the physical counter and timer; the event stream.
struct CNTHCTL: OptionSet {
    var rawValue: UInt64
    static let el1pcten = CNTHCTL(rawValue: 1 << 0)
    static let el1pcen = CNTHCTL(rawValue: 1 << 1)
    /// An event (a WFE wake-up) each time counter bit EVNTI (bits 7:4) goes from 0 to 1.
    static let evnten = CNTHCTL(rawValue: 1 << 2)
    static func evnti(_ bit: Int) -> CNTHCTL { CNTHCTL(rawValue: UInt64(bit & 0xF) << 4) }
}

/// SPSR_EL2 / PSTATE values Keel builds.
enum PSTATE {
    /// EL1h with D, A, I and F masked: how a vCPU starts (Linux boot protocol).
    static let el1hMasked: UInt64 = 0x3C5
}

/// ID_AA64ISAR1_EL1 fields that say whether pointer authentication exists.
enum ISAR1 {
    static func hasPAuth(_ value: UInt64) -> Bool {
        let apa = (value >> 4) & 0xF, api = (value >> 8) & 0xF
        let gpa = (value >> 24) & 0xF, gpi = (value >> 28) & 0xF
        return apa | api | gpa | gpi != 0
    }
}

/// SCTLR_EL1 at vCPU reset: RES1 bits only, MMU and caches off.
enum SCTLR_EL1 {
    static let reset: UInt64 = 0x30D0_0800
}

/// The value a trapped guest access reports as its IPA: HPFAR_EL2.FIPA holds IPA[47:12] in
/// bits [39:4], FAR_EL2 the low 12 bits.
@inline(__always)
func faultingIPA(hpfar: UInt64, far: UInt64) -> UInt64 {
    ((hpfar >> 4) & 0xF_FFFF_FFFF) << 12 | (far & 0xFFF)
}
