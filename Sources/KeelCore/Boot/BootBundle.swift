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
        @_optimize(size)
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

    /// The header's fields and the entry table, read and checked by `open`: a plain value,
    /// holding no reference to the bundle's bytes.
    public let totalSize: UInt64
    public let entryIPA: UInt64
    public let x0: UInt64
    public let flags: UInt32
    public let count: Int
    var entries = InlineArray<8, Entry>(repeating: Entry(kind: .raw, offset: 0, size: 0, loadIPA: 0))

    public var isLinux: Bool { flags & 1 != 0 }

    /// True when `bytes` starts with the bundle's magic (at least 8 bytes of them).
    public static func present(_ bytes: Span<UInt8>) -> Bool {
        bytes.count >= 8 && u64(bytes, 0) == magic
    }

    /// Validates the bundle at the start of `bytes` (all that may be read) for a VM whose RAM is
    /// `[ramIPA, ramIPA + ramSize)`. Every image lies inside `bytes` after it.
    @_optimize(size)
    public static func open(_ bytes: Span<UInt8>, ramIPA: UInt64, ramSize: UInt64) throws(Problem) -> BootBundle {
        if let problem = check(bytes, ramIPA: ramIPA, ramSize: ramSize) { throw problem }
        return BootBundle(bytes)
    }

    /// Reads the header and entry table; `check` has found them inside `bytes`.
    @_optimize(size)
    private init(_ bytes: Span<UInt8>) {
        totalSize = BootBundle.u64(bytes, 16)
        entryIPA = BootBundle.u64(bytes, 24)
        x0 = BootBundle.u64(bytes, 32)
        count = min(Int(BootBundle.u32(bytes, 40)), BootBundle.maxEntries)
        flags = BootBundle.u32(bytes, 44)
        for i in 0..<count {
            let at = BootBundle.headerSize + i * BootBundle.entrySize
            entries[i] = Entry(kind: Kind(rawValue: BootBundle.u32(bytes, at)) ?? .raw,
                               offset: BootBundle.u64(bytes, at + 8),
                               size: BootBundle.u64(bytes, at + 16),
                               loadIPA: BootBundle.u64(bytes, at + 24),
                               checksum: BootBundle.u32(bytes, at + 4))
        }
    }

    /// Entry `index` (below `count`).
    public func entry(_ index: Int) -> Entry { entries[index] }

    @_optimize(size)  // at boot and SYSTEM_RESET: small beats fast
    private static func check(_ bytes: Span<UInt8>, ramIPA: UInt64, ramSize: UInt64) -> Problem? {
        guard bytes.count >= headerSize else { return .tooSmall }
        guard u64(bytes, 0) == magic else { return .badMagic }
        guard u32(bytes, 8) == version else { return .badVersion }
        guard u32(bytes, 12) == UInt32(headerSize) else { return .badHeaderSize }
        let total = u64(bytes, 16)
        let count = Int(u32(bytes, 40))
        guard count <= maxEntries else { return .tooManyEntries }
        let tableEnd = headerSize + count * entrySize
        guard total <= UInt64(bytes.count), total >= UInt64(tableEnd) else { return .tooSmall }
        guard u32(bytes, 48) == headerChecksum(bytes, count: count) else { return .badChecksum }
        let bundle = BootBundle(bytes)
        for i in 0..<count {
            let kind = u32(bytes, headerSize + i * entrySize)
            guard Kind(rawValue: kind) != nil else { return .badKind(i) }
            let e = bundle.entry(i)
            guard e.offset <= total, e.size <= total - e.offset else { return .entryOutsideBundle(i) }
            guard e.loadIPA >= ramIPA, e.loadIPA - ramIPA <= ramSize, e.size <= ramSize - (e.loadIPA - ramIPA) else {
                return .loadOutsideRAM(i)
            }
            for j in 0..<i {
                let other = bundle.entry(j)
                if Interval.overlap(e.loadIPA, e.size, other.loadIPA, other.size) { return .overlap(j, i) }
            }
        }
        // Last: the images' bytes, once every bound is known to be sane.
        for i in 0..<count {
            let e = bundle.entry(i)
            let start = Int(e.offset)
            guard CRC32.checksum(bytes.extracting(start..<(start + Int(e.size)))) == e.checksum else { return .badImageChecksum(i) }
        }
        let entry = bundle.entryIPA
        guard entry >= ramIPA, entry - ramIPA < ramSize else { return .entryOutsideRAM }
        return nil
    }

    /// CRC-32 of the header with its checksum field read as zero, then the entry table of
    /// `count` entries (`bytes` holds at least both).
    public static func headerChecksum(_ bytes: Span<UInt8>, count: Int) -> UInt32 {
        var crc = CRC32.checksum(bytes.extracting(0..<48))
        crc = CRC32.checksumOfZeros(4, initial: crc)
        return CRC32.checksum(bytes.extracting(52..<(headerSize + count * entrySize)), initial: crc)
    }

    static func u64(_ bytes: Span<UInt8>, _ offset: Int) -> UInt64 { LittleEndian.load(8, at: offset, in: bytes) }
    static func u32(_ bytes: Span<UInt8>, _ offset: Int) -> UInt32 { UInt32(LittleEndian.load(4, at: offset, in: bytes)) }
}

/// Interval arithmetic on untrusted 64-bit bounds, without a sum that could overflow.
public enum Interval {
    /// `x < y + z` computed as if without overflow (true when the sum is past UInt64.max).
    @inline(__always)
    public static func isBelow(_ x: UInt64, sumOf y: UInt64, _ z: UInt64) -> Bool { x < y || x - y < z }

    /// `a < b + t && b < a + s` as if without overflow: `[a, a + s)` and `[b, b + t)` overlap
    /// (a size-0 range overlaps a range that holds its start past the other's start).
    @inline(__always)
    public static func overlap(_ a: UInt64, _ s: UInt64, _ b: UInt64, _ t: UInt64) -> Bool {
        isBelow(a, sumOf: b, t) && isBelow(b, sumOf: a, s)
    }
}
