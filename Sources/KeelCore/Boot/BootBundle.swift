/// The images one VM boots from, as the host tool packs them and the firmware unpacks them:
/// a header, a table of entries, then the images. Keel copies each image from the bundle into
/// the VM's RAM at boot and again on PSCI SYSTEM_RESET, so the bundle is the VM's pristine copy.
///
/// All fields little-endian. Header (64 bytes):
///
///     0  magic "KEELBOOT"       24  entry IPA (where vCPU 0 starts)
///     8  version (2)            32  x0 of vCPU 0 (the DTB's IPA for Linux)
///    12  header size (64)       40  entry count
///    16  total size             44  flags (bit 0: Linux boot protocol)
///                               48  CRC-32 of header (this field zero) and entry table
///
/// Entry (32 bytes): kind, CRC-32 of the image's bytes, offset (from the bundle's start), size,
/// load IPA.
///
/// The header checksum covers the header and the entry table, each entry's checksum its image,
/// so any flipped byte of the manifest or of an image is found before the VM starts. Reading is
/// bounds-checked and never allocates: the firmware runs it on whatever memory the board
/// loaded, so a damaged bundle gives an error, never a fault.
public struct BootBundle {
    public static let magic: UInt64 = 0x544F_4F42_4C45_454B  // "KEELBOOT" little-endian
    /// 2: entries carry their image's CRC-32.
    public static let version: UInt32 = 2
    public static let headerSize = 64
    public static let entrySize = 32
    public static let maxEntries = 8
    /// Images are placed at multiples of this inside the bundle.
    public static let alignment = 4096

    public enum Kind: UInt32, Sendable {
        case raw = 1, kernel = 2, initrd = 3, deviceTree = 4
    }

    public struct Entry: Equatable, Sendable {
        public var kind: Kind
        public var offset: UInt64
        public var size: UInt64
        public var loadIPA: UInt64
        /// CRC-32 of the image's bytes.
        public var checksum: UInt32
        public init(kind: Kind, offset: UInt64, size: UInt64, loadIPA: UInt64, checksum: UInt32 = 0) {
            self.kind = kind
            self.offset = offset
            self.size = size
            self.loadIPA = loadIPA
            self.checksum = checksum
        }
    }

    public enum Problem: Error, Equatable, Sendable {
        case tooSmall, badMagic, badVersion, badHeaderSize, badChecksum
        case tooManyEntries, badKind(Int), entryOutsideBundle(Int), loadOutsideRAM(Int), overlap(Int, Int)
        case entryOutsideRAM, badImageChecksum(Int)

        /// One line for a console.
        public var message: StaticString {
            switch self {
            case .tooSmall: "shorter than its header says"
            case .badMagic: "no KEELBOOT magic"
            case .badVersion: "unknown version"
            case .badHeaderSize: "wrong header size"
            case .badChecksum: "header checksum mismatch"
            case .tooManyEntries: "too many images"
            case .badKind: "an image of unknown kind"
            case .entryOutsideBundle: "an image extends past the bundle's end"
            case .loadOutsideRAM: "an image does not fit the VM's RAM"
            case .overlap: "two images overlap in the VM's RAM"
            case .entryOutsideRAM: "the entry point is outside the VM's RAM"
            case .badImageChecksum: "an image's checksum does not match its bytes (the image is damaged)"
            }
        }
    }

    public let base: UnsafeRawPointer
    public let totalSize: UInt64
    public let entryIPA: UInt64
    public let x0: UInt64
    public let flags: UInt32
    public let count: Int

    public var isLinux: Bool { flags & 1 != 0 }

    /// Validates the bundle at `base` (at most `limit` bytes readable) for a VM whose RAM is
    /// `[ramIPA, ramIPA + ramSize)`.
    public static func open(_ base: UnsafeRawPointer, limit: UInt64, ramIPA: UInt64, ramSize: UInt64) throws(Problem) -> BootBundle {
        if let problem = check(base, limit: limit, ramIPA: ramIPA, ramSize: ramSize) { throw problem }
        return BootBundle(base)
    }

    private init(_ base: UnsafeRawPointer) {
        self.base = base
        totalSize = BootBundle.u64(base, 16)
        entryIPA = BootBundle.u64(base, 24)
        x0 = BootBundle.u64(base, 32)
        count = Int(BootBundle.u32(base, 40))
        flags = BootBundle.u32(base, 44)
    }

    public func entry(_ index: Int) -> Entry {
        let at = BootBundle.headerSize + index * BootBundle.entrySize
        return Entry(kind: Kind(rawValue: BootBundle.u32(base, at)) ?? .raw,
                     offset: BootBundle.u64(base, at + 8),
                     size: BootBundle.u64(base, at + 16),
                     loadIPA: BootBundle.u64(base, at + 24),
                     checksum: BootBundle.u32(base, at + 4))
    }

    @_optimize(size)  // at boot and SYSTEM_RESET: small beats fast
    private static func check(_ base: UnsafeRawPointer, limit: UInt64, ramIPA: UInt64, ramSize: UInt64) -> Problem? {
        guard limit >= UInt64(headerSize) else { return .tooSmall }
        guard BootBundle.u64(base, 0) == magic else { return .badMagic }
        guard BootBundle.u32(base, 8) == version else { return .badVersion }
        guard BootBundle.u32(base, 12) == UInt32(headerSize) else { return .badHeaderSize }
        let total = BootBundle.u64(base, 16)
        let count = Int(BootBundle.u32(base, 40))
        guard count <= maxEntries else { return .tooManyEntries }
        let tableEnd = headerSize + count * entrySize
        guard total <= limit, total >= UInt64(tableEnd) else { return .tooSmall }
        guard BootBundle.u32(base, 48) == headerChecksum(base, count: count) else { return .badChecksum }
        let bundle = BootBundle(base)
        for i in 0..<count {
            let kind = BootBundle.u32(base, headerSize + i * entrySize)
            guard Kind(rawValue: kind) != nil else { return .badKind(i) }
            let e = bundle.entry(i)
            guard e.offset <= total, e.size <= total - e.offset else { return .entryOutsideBundle(i) }
            guard e.loadIPA >= ramIPA, e.loadIPA - ramIPA <= ramSize, e.size <= ramSize - (e.loadIPA - ramIPA) else {
                return .loadOutsideRAM(i)
            }
            for j in 0..<i {
                let other = bundle.entry(j)
                if e.loadIPA < other.loadIPA &+ other.size && other.loadIPA < e.loadIPA &+ e.size { return .overlap(j, i) }
            }
        }
        // Last: the images' bytes, once every bound is known to be sane.
        for i in 0..<count {
            let e = bundle.entry(i)
            guard CRC32.checksum(base + Int(e.offset), count: Int(e.size)) == e.checksum else { return .badImageChecksum(i) }
        }
        let entry = bundle.entryIPA
        guard entry >= ramIPA, entry - ramIPA < ramSize else { return .entryOutsideRAM }
        return nil
    }

    /// CRC-32 of the header with its checksum field read as zero, then the entry table.
    public static func headerChecksum(_ base: UnsafeRawPointer, count: Int) -> UInt32 {
        var zero: UInt32 = 0
        var crc = CRC32.checksum(base, count: 48)
        crc = withUnsafeBytes(of: &zero) { CRC32.checksum($0.baseAddress!, count: 4, initial: crc) }
        return CRC32.checksum(base + 52, count: headerSize + count * entrySize - 52, initial: crc)
    }

    static func u64(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 { LittleEndian.load(8, at: offset, in: base) }
    static func u32(_ base: UnsafeRawPointer, _ offset: Int) -> UInt32 { UInt32(LittleEndian.load(4, at: offset, in: base)) }
}
