/// DFSC/IFSC, ISS[5:0] of a data or instruction abort: what kind of fault, at which level of the
/// translation walk. Values as the Arm ARM lists them (see shared/reference/fault-status-codes.tsv):
/// 0x29 is an address size fault at level -1 (FEAT_LPA2) and 0x25 a granule protection fault at
/// level 1 (FEAT_RME), which some headers get wrong.
public struct FaultStatus: RawRepresentable, Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case addressSize, translation, accessFlag, permission
        case syncExternal, syncExternalOnWalk, tagCheck
        case parity, parityOnWalk, alignment
        case granuleProtectionOnWalk, granuleProtection
        case tlbConflict, unsupportedAtomicUpdate, lockdown, unsupportedExclusive
        case reserved

        public var name: StaticString {
            switch self {
            case .addressSize: "Address size fault"
            case .translation: "Translation fault"
            case .accessFlag: "Access flag fault"
            case .permission: "Permission fault"
            case .syncExternal: "Synchronous External abort"
            case .syncExternalOnWalk: "Synchronous External abort on translation table walk"
            case .tagCheck: "Synchronous Tag Check Fault"
            case .parity: "Synchronous parity or ECC error"
            case .parityOnWalk: "Synchronous parity or ECC error on translation table walk"
            case .alignment: "Alignment fault"
            case .granuleProtectionOnWalk: "Granule Protection Fault on translation table walk"
            case .granuleProtection: "Granule Protection Fault"
            case .tlbConflict: "TLB conflict abort"
            case .unsupportedAtomicUpdate: "Unsupported atomic hardware update fault"
            case .lockdown: "IMPLEMENTATION DEFINED fault (Lockdown)"
            case .unsupportedExclusive: "IMPLEMENTATION DEFINED fault (Unsupported Exclusive or Atomic access)"
            case .reserved: "reserved fault status code"
            }
        }
    }

    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x3F }

    public static let syncExternalAbort = FaultStatus(rawValue: 0x10)

    /// The kind and the translation level (-2 ... 3), or nil where the kind has no level.
    public var decoded: (kind: Kind, level: Int8?) {
        let code = rawValue
        let low = Int8(code & 3)
        switch code {
        case 0x00...0x03: return (.addressSize, low)
        case 0x04...0x07: return (.translation, low)
        case 0x08...0x0B: return (.accessFlag, low)
        case 0x0C...0x0F: return (.permission, low)
        case 0x10: return (.syncExternal, nil)
        case 0x11: return (.tagCheck, nil)
        case 0x12: return (.syncExternalOnWalk, -2)
        case 0x13: return (.syncExternalOnWalk, -1)
        case 0x14...0x17: return (.syncExternalOnWalk, low)
        case 0x18: return (.parity, nil)
        case 0x1B: return (.parityOnWalk, -1)
        case 0x1C...0x1F: return (.parityOnWalk, low)
        case 0x21: return (.alignment, nil)
        case 0x22: return (.granuleProtectionOnWalk, -2)
        case 0x23: return (.granuleProtectionOnWalk, -1)
        case 0x24...0x27: return (.granuleProtectionOnWalk, low)
        case 0x28: return (.granuleProtection, nil)
        case 0x29: return (.addressSize, -1)
        case 0x2A: return (.translation, -2)
        case 0x2B: return (.translation, -1)
        case 0x2C: return (.addressSize, -2)
        case 0x30: return (.tlbConflict, nil)
        case 0x31: return (.unsupportedAtomicUpdate, nil)
        case 0x34: return (.lockdown, nil)
        case 0x35: return (.unsupportedExclusive, nil)
        default: return (.reserved, nil)
        }
    }

    public var kind: Kind { decoded.kind }
    public var level: Int8? { decoded.level }
    /// A stage-2 translation fault is how an access to an unmapped IPA arrives.
    public var isTranslationFault: Bool { kind == .translation }
}
