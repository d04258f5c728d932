/// One CPU's exposure to the Spectre variants a guest can aim at Keel or at other guests
/// through the branch predictors (variant 2, branch target injection; Spectre-BHB, branch
/// history injection) and the store buffer (variant 4, speculative store bypass), what Keel does
/// about each, and what it answers a guest's SMCCC_ARCH_FEATURES for ARCH_WORKAROUND_1/2/3 (Arm
/// DEN 0028). Pure: decided from the CPU's MIDR and ID registers and from what the firmware below
/// Keel answered, the way Linux decides for itself and KVM for its guests
/// (arch/arm64/kernel/proton-pack.c, arch/arm64/kvm/hypercalls.c). Each vCPU is pinned to one
/// physical CPU, so unlike KVM, Keel answers for that CPU alone.
///
/// The answers, as SMCCC and Linux read them:
/// - WORKAROUND_1 and _3: 0 (SUCCESS) when the call does the mitigation, 1 when this CPU does not
///   need it, NOT_SUPPORTED (-1) when nothing mitigates it.
/// - WORKAROUND_2: NOT_REQUIRED (-2) when this CPU is not affected or the firmware's mitigation
///   is on for good (Keel turns it on at boot and never off, as KVM does); NOT_SUPPORTED when it
///   is vulnerable, or has SSBS, with which the guest mitigates for itself (PSTATE.SSBS).
public struct SpectreProfile: Equatable, Sendable {
    /// The identification registers the decision reads (as EL2 reads them).
    public struct CPU: Equatable, Sendable {
        public var midr: UInt64
        /// ID_AA64PFR0_EL1: CSV2 [59:56] (branch targets cannot cross contexts; 3: nor can the
        /// branch history).
        public var pfr0: UInt64
        /// ID_AA64PFR1_EL1: SSBS [7:4], the PSTATE bit that disables speculative store bypass.
        public var pfr1: UInt64
        /// ID_AA64MMFR1_EL1: ECBHB [63:60], every exception entry clears the branch history.
        public var mmfr1: UInt64
        /// ID_AA64ISAR2_EL1: CLRBHB [31:28], the CLRBHB instruction.
        public var isar2: UInt64

        public init(midr: UInt64, pfr0: UInt64 = 0, pfr1: UInt64 = 0, mmfr1: UInt64 = 0, isar2: UInt64 = 0) {
            self.midr = midr
            self.pfr0 = pfr0
            self.pfr1 = pfr1
            self.mmfr1 = mmfr1
            self.isar2 = isar2
        }

        var csv2: UInt64 { (pfr0 >> 56) & 0xF }
        var ssbs: Bool { (pfr1 >> 4) & 0xF != 0 }
        var ecbhb: Bool { (mmfr1 >> 60) & 0xF != 0 }
        var clearBHB: Bool { (isar2 >> 28) & 0xF != 0 }
    }

    /// What the firmware below Keel answered to SMCCC_ARCH_FEATURES for each workaround, on this
    /// CPU; NOT_SUPPORTED when it has no SMCCC 1.1 (`none`: QEMU's built-in PSCI, no firmware).
    public struct Firmware: Equatable, Sendable {
        public var workaround1: Int64
        public var workaround2: Int64
        public var workaround3: Int64

        public init(workaround1: Int64 = SMCCC.notSupported, workaround2: Int64 = SMCCC.notSupported,
                    workaround3: Int64 = SMCCC.notSupported) {
            self.workaround1 = workaround1
            self.workaround2 = workaround2
            self.workaround3 = workaround3
        }

        public static let none = Firmware()
    }

    public enum State: UInt8, Sendable {
        case unaffected, mitigated, vulnerable
    }

    /// What Keel's exception vectors run on every entry from a guest, before any indirect branch
    /// (hyp/arch/vectors.S: one vector table each; `none` is the plain one).
    public enum Entry: UInt8, Sendable {
        case none = 0
        /// The branch loop that overwrites the branch history, `bhbLoopCount` taken branches.
        case bhbLoop = 1
        /// The CLRBHB instruction.
        case clearBHB = 2
        /// An SMC to the firmware's `entryFirmwareCall` (WORKAROUND_3, else WORKAROUND_1).
        case firmwareCall = 3
    }

    public var v2: State
    public var v4: State
    public var bhb: State
    public var entry: Entry
    /// Branches in the BHB loop this CPU needs (0: none). The vectors run the largest of all
    /// CPUs' (one loop count for the machine, as Linux patches one).
    public var bhbLoopCount: Int
    /// The firmware call the vectors make (`Entry.firmwareCall`); 0 otherwise.
    public var entryFirmwareCall: UInt32
    /// Keel calls the firmware's WORKAROUND_2 (enable) once at boot on this CPU.
    public var enableFirmwareWorkaround2: Bool
    /// This CPU has SSBS: the guest controls speculative store bypass itself.
    public var hasSSBS: Bool

    @_optimize(size)
    public init(cpu: CPU, firmware: Firmware = .none) {
        let model = SpectreProfile.model(cpu.midr)

        // Variant 2: CSV2 or a core known to be safe; else the firmware's WORKAROUND_1.
        var v2 = State.vulnerable
        if cpu.csv2 != 0 || SpectreProfile.isV2Safe(model) {
            v2 = .unaffected
        } else if firmware.workaround1 == 0 {
            v2 = .mitigated
        } else if firmware.workaround1 == 1 {
            v2 = .unaffected
        }

        // Variant 4: a core known to be safe; SSBS; else the firmware's WORKAROUND_2.
        var v4 = State.vulnerable
        var enableWA2 = false
        if SpectreProfile.isV4Safe(model) {
            v4 = .unaffected
        } else if cpu.ssbs {
            v4 = .mitigated
        } else if firmware.workaround2 == 0 {
            v4 = .mitigated
            enableWA2 = true
        } else if firmware.workaround2 == 1 || firmware.workaround2 == SMCCC.notRequired {
            v4 = .unaffected
        }

        // Spectre-BHB: CSV2 = 3, a core known to be safe, or ECBHB (exception entry clears the
        // history: nothing to do on entry); else CLRBHB, the loop, or the firmware's WORKAROUND_3.
        var bhb = State.vulnerable
        var entry = Entry.none
        let k = SpectreProfile.bhbLoopCount(midr: cpu.midr)
        if cpu.csv2 == 3 || SpectreProfile.isBHBSafe(model) || cpu.ecbhb {
            bhb = .unaffected
        } else if cpu.clearBHB {
            bhb = .mitigated
            entry = .clearBHB
        } else if k > 0 {
            bhb = .mitigated
            entry = .bhbLoop
        } else if firmware.workaround3 == 0 {
            bhb = .mitigated
            entry = .firmwareCall
        } else if firmware.workaround3 == 1 {
            bhb = .unaffected
        }

        // Variant 2 mitigated by the firmware: the vectors call it on every entry (WORKAROUND_3
        // where it has it, which covers variant 2 too). On the cores that also need the loop
        // (Cortex-A57, A72), Arm's WORKAROUND_1 invalidates the branch history as well, so the
        // call alone does for both, as in Linux's hyp vectors.
        var call: UInt32 = 0
        if v2 == .mitigated || entry == .firmwareCall {
            call = firmware.workaround3 == 0 ? SMCCC.archWorkaround3 : SMCCC.archWorkaround1
            entry = .firmwareCall
        }

        self.v2 = v2
        self.v4 = v4
        self.bhb = bhb
        self.entry = entry
        self.bhbLoopCount = entry == .bhbLoop ? k : 0
        self.entryFirmwareCall = call
        self.enableFirmwareWorkaround2 = enableWA2
        self.hasSSBS = cpu.ssbs
    }

    /// The answer to SMCCC_ARCH_FEATURES(`function`) for the three workarounds; nil for any
    /// other function.
    public func features(_ function: UInt32) -> Int64? {
        switch function {
        case SMCCC.archWorkaround1:
            switch v2 {
            case .unaffected: return SMCCC.workaroundUnaffected
            case .mitigated: return 0
            case .vulnerable: return SMCCC.notSupported
            }
        case SMCCC.archWorkaround2:
            // SSBS: the guest has PSTATE.SSBS, which no call of Keel's could do better.
            if v4 == .vulnerable || (v4 == .mitigated && hasSSBS) { return SMCCC.notSupported }
            return SMCCC.notRequired
        case SMCCC.archWorkaround3:
            switch bhb {
            case .unaffected: return SMCCC.workaroundUnaffected
            case .mitigated: return 0
            case .vulnerable: return SMCCC.notSupported
            }
        default:
            return nil
        }
    }

    /// The result of the guest's call of `function` (one of the three workarounds), nil for any
    /// other. A workaround offered (answer 0 or 1) returns 0: its work was done by the vectors on
    /// the way in (the loop, CLRBHB or the firmware call), or this CPU needs none. One not
    /// offered (NOT_SUPPORTED, NOT_REQUIRED) is not implemented: NOT_SUPPORTED.
    public func call(_ function: UInt32) -> Int64? {
        guard let answer = features(function) else { return nil }
        return answer >= 0 ? 0 : SMCCC.notSupported
    }

    // MARK: Cores, as Linux lists them

    /// A MIDR without its variant and revision: implementer [31:24], architecture [19:16], part
    /// number [15:4] (Linux's MIDR_CPU_MODEL). Literals: the firmware has no lazy globals.
    static func model(_ midr: UInt64) -> UInt64 { midr & 0xFF0F_FFF0 }

    static let cortexA35: UInt64 = 0x410F_D040, cortexA53: UInt64 = 0x410F_D030, cortexA55: UInt64 = 0x410F_D050
    static let cortexA57: UInt64 = 0x410F_D070, cortexA72: UInt64 = 0x410F_D080, cortexA76: UInt64 = 0x410F_D0B0
    static let neoverseN1: UInt64 = 0x410F_D0C0, cortexA77: UInt64 = 0x410F_D0D0, cortexA76AE: UInt64 = 0x410F_D0E0
    static let neoverseV1: UInt64 = 0x410F_D400, cortexA78: UInt64 = 0x410F_D410, cortexA78AE: UInt64 = 0x410F_D420
    static let cortexX1: UInt64 = 0x410F_D440, cortexA510: UInt64 = 0x410F_D460, cortexA710: UInt64 = 0x410F_D470
    static let cortexX2: UInt64 = 0x410F_D480, neoverseN2: UInt64 = 0x410F_D490, cortexA78C: UInt64 = 0x410F_D4B0
    static let cortexA715: UInt64 = 0x410F_D4D0, cortexX3: UInt64 = 0x410F_D4E0, neoverseV2: UInt64 = 0x410F_D4F0
    static let cortexA520: UInt64 = 0x410F_D800, cortexA720: UInt64 = 0x410F_D810
    static let brahmaB53: UInt64 = 0x420F_1000, hisiTSV110: UInt64 = 0x480F_D010
    static let kryo2XXSilver: UInt64 = 0x510F_8010, kryo3XXSilver: UInt64 = 0x510F_8030
    static let kryo4XXGold: UInt64 = 0x510F_8040, kryo4XXSilver: UInt64 = 0x510F_8050
    static let ampere1: UInt64 = 0xC00F_AC30

    /// Cores whose branch predictor cannot be trained across contexts (Linux's
    /// spectre_v2_safe_list).
    static func isV2Safe(_ model: UInt64) -> Bool {
        switch model {
        case cortexA35, cortexA53, cortexA55, brahmaB53, hisiTSV110, kryo2XXSilver, kryo3XXSilver, kryo4XXSilver: true
        default: false
        }
    }

    /// Cores that do not bypass stores speculatively (spectre_v4_safe_list).
    static func isV4Safe(_ model: UInt64) -> Bool {
        switch model {
        case cortexA35, cortexA53, cortexA55, brahmaB53, kryo3XXSilver, kryo4XXSilver: true
        default: false
        }
    }

    /// Cores whose branch history cannot steer another context (spectre_bhb_safe_list).
    static func isBHBSafe(_ model: UInt64) -> Bool {
        switch model {
        case cortexA35, cortexA53, cortexA55, cortexA510, cortexA520, brahmaB53, kryo2XXSilver, kryo3XXSilver, kryo4XXSilver: true
        default: false
        }
    }

    /// Branches of the loop that overwrites a core's branch history (Arm's Spectre-BHB
    /// guidance; Linux's `spectre_bhb_loop_affected`), 0 for a core without a known count.
    @_optimize(size)
    public static func bhbLoopCount(midr: UInt64) -> Int {
        switch model(midr) {
        case cortexX3, neoverseV2: 132
        case cortexA715, cortexA720: 38
        case cortexA78, cortexA78AE, cortexA78C, cortexX1, cortexA710, cortexX2, neoverseN2, neoverseV1: 32
        case cortexA76, cortexA76AE, cortexA77, neoverseN1, kryo4XXGold: 24
        case ampere1: 11
        case cortexA72, cortexA57: 8
        default: 0
        }
    }
}
