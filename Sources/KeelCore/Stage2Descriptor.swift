/// Stage-2 translation table descriptors, VMSAv8-64 with a 4 KiB granule.
///
/// Level 1 blocks map 1 GiB, level 2 blocks 2 MiB, level 3 pages 4 KiB. Bits (Arm ARM D8.3):
/// [1:0] type (01 block, 11 table or page), [5:2] MemAttr, [7:6] S2AP, [9:8] SH, [10] AF,
/// [47:12] output address, [54:53] XN.
public struct Stage2Descriptor: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let granule: UInt64 = 4096
    public static let addressMask: UInt64 = 0x0000_FFFF_FFFF_F000

    /// Stage-2 memory types (MemAttr[3:0] with HCR_EL2.FWB == 0).
    public enum Memory: UInt64, Sendable {
        /// Normal, outer and inner write-back cacheable.
        case normal = 0b1111
        /// Device-nGnRE.
        case device = 0b0001
    }

    /// S2AP: what the guest may do.
    public enum Access: UInt64, Sendable {
        case none = 0b00, readOnly = 0b01, writeOnly = 0b10, readWrite = 0b11
    }

    public static let invalid = Stage2Descriptor(rawValue: 0)

    /// Bytes one entry maps at `level` (1, 2 or 3).
    public static func blockSize(level: Int) -> UInt64 { 1 << UInt64(12 + 9 * (3 - level)) }

    /// Index of `ipa` in a table at `level` (1, 2 or 3). Level-1 root tables may be concatenated,
    /// so the index is not masked to 9 bits there.
    public static func index(of ipa: UInt64, level: Int) -> Int {
        let shift = UInt64(12 + 9 * (3 - level))
        return level == 1 ? Int(truncatingIfNeeded: ipa >> shift) : Int(truncatingIfNeeded: (ipa >> shift) & 511)
    }

    /// A pointer to the next-level table.
    public static func table(at address: UInt64) -> Stage2Descriptor {
        Stage2Descriptor(rawValue: (address & addressMask) | 0b11)
    }

    /// A leaf: a block at level 1 or 2, a page at level 3.
    public static func leaf(level: Int, output: UInt64, memory: Memory, access: Access, executable: Bool) -> Stage2Descriptor {
        var raw = (output & addressMask) | (level == 3 ? 0b11 : 0b01)
        raw |= memory.rawValue << 2
        raw |= access.rawValue << 6
        raw |= (memory == .normal ? 0b11 : 0b00) << 8  // inner shareable for RAM
        raw |= 1 << 10  // AF: no access-flag faults
        if !executable { raw |= 0b10 << 53 }  // XN: not executable at EL1 or EL0
        return Stage2Descriptor(rawValue: raw)
    }

    public var isValid: Bool { rawValue & 1 != 0 }
    /// At levels 1-2: true for a table pointer. At level 3 every valid entry has this shape.
    public var isTableOrPage: Bool { rawValue & 0b11 == 0b11 }
    public var outputAddress: UInt64 { rawValue & Stage2Descriptor.addressMask }
    public var memory: Memory? { Memory(rawValue: (rawValue >> 2) & 0xF) }
    public var access: Access { Access(rawValue: (rawValue >> 6) & 3)! }
    public var accessFlag: Bool { rawValue & (1 << 10) != 0 }
    public var executable: Bool { (rawValue >> 53) & 3 == 0 }
}

/// The shape of a VM's stage-2 translation: IPA width, starting level, root table size, and the
/// `VTCR_EL2` value that describes it.
public struct Stage2Geometry: Equatable, Sendable {
    /// IPA bits. Keel gives guests at most 40 bits (1 TiB), as KVM does by default.
    public var ipaBits: Int
    /// `ID_AA64MMFR0_EL1.PARange` as read from the hardware.
    public var paRange: UInt64

    /// PARange encodings to bits.
    public static func bits(ofPARange field: UInt64) -> Int {
        switch field & 0xF {
        case 0: 32
        case 1: 36
        case 2: 40
        case 3: 42
        case 4: 44
        case 5: 48
        default: 52
        }
    }

    /// Bits to the PARange encoding that covers them.
    public static func paRange(ofBits bits: Int) -> UInt64 {
        switch bits {
        case ...32: 0
        case ...36: 1
        case ...40: 2
        case ...42: 3
        case ...44: 4
        case ...48: 5
        default: 6
        }
    }

    public init(paRange: UInt64, maxIPABits: Int = 40) {
        self.paRange = min(paRange & 0xF, 5)  // 52-bit output needs LPA2 descriptors: not used
        ipaBits = min(maxIPABits, Stage2Geometry.bits(ofPARange: self.paRange))
    }

    /// The walk starts at level 1; with more than 39 IPA bits the root is 2^(ipaBits-39)
    /// concatenated level-1 tables.
    public var rootEntries: Int { 1 << (ipaBits - 30) }
    public var rootBytes: Int { max(4096, rootEntries * 8) }
    public var ipaLimit: UInt64 { 1 << UInt64(ipaBits) }

    /// VTCR_EL2: T0SZ [5:0], SL0 [7:6] = 1 (start at level 1 with 4 KiB pages), IRGN0 and ORGN0
    /// [11:8] write-back write-allocate, SH0 [13:12] inner shareable, TG0 [15:14] 4 KiB,
    /// PS [18:16] from PARange, and bit 31 RES1.
    public var vtcr: UInt64 {
        let t0sz = UInt64(64 - ipaBits)
        return t0sz | 1 << 6 | 1 << 8 | 1 << 10 | 3 << 12 | 0 << 14 | paRange << 16 | 1 << 31
    }
}
