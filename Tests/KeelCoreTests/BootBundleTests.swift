import Testing
@testable import KeelCore

/// The firmware's bundle reader against bundles encoded here from the format's description
/// (KeelCoreTests cannot see KeelKit's `BootBundleWriter`; KeelKitTests/LinuxBootTests.swift
/// round-trips the writer's output through the reader).
@Suite("Boot bundles: the firmware's reader")
struct BootBundleTests {
    static let ramIPA: UInt64 = 0x4000_0000
    static let ramSize: UInt64 = 0x1000_0000
    static var ramEnd: UInt64 { ramIPA + ramSize }

    // MARK: An encoder written from the format's description

    struct Image {
        var kind: UInt32
        var bytes: [UInt8]
        var load: UInt64
    }

    /// Header (64 bytes): magic "KEELBOOT", version u32, header size u32, total size u64, entry
    /// IPA u64, x0 u64, count u32, flags u32, CRC-32 u32 at 48 (header with this field zero, then
    /// the table), reserved to 64. Entries (32 bytes): kind u32, CRC-32 of the image u32, offset
    /// u64, size u64, load IPA u64. Images at 4 KiB aligned offsets. Version 2.
    static func encode(_ images: [Image], entry: UInt64, x0: UInt64 = 0, flags: UInt32 = 0) -> [UInt8] {
        func align(_ v: Int) -> Int { (v + 4095) / 4096 * 4096 }
        var offsets: [Int] = []
        var cursor = align(64 + 32 * images.count)
        for image in images {
            offsets.append(cursor)
            cursor = align(cursor + image.bytes.count)
        }
        var out = [UInt8](repeating: 0, count: cursor)
        out.replaceSubrange(0..<8, with: Array("KEELBOOT".utf8))
        put(&out, 8, 2, 4)
        put(&out, 12, 64, 4)
        put(&out, 16, UInt64(cursor), 8)
        put(&out, 24, entry, 8)
        put(&out, 32, x0, 8)
        put(&out, 40, UInt64(images.count), 4)
        put(&out, 44, UInt64(flags), 4)
        for (i, image) in images.enumerated() {
            let at = 64 + 32 * i
            put(&out, at, UInt64(image.kind), 4)
            put(&out, at + 4, UInt64(crc32(image.bytes)), 4)
            put(&out, at + 8, UInt64(offsets[i]), 8)
            put(&out, at + 16, UInt64(image.bytes.count), 8)
            put(&out, at + 24, image.load, 8)
            out.replaceSubrange(offsets[i]..<offsets[i] + image.bytes.count, with: image.bytes)
        }
        reseal(&out)
        return out
    }

    static func put(_ bytes: inout [UInt8], _ at: Int, _ value: UInt64, _ width: Int) {
        for i in 0..<width { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    static func get(_ bytes: [UInt8], _ at: Int, _ width: Int) -> UInt64 {
        (0..<width).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
    }

    /// Rewrites the checksum for the count the header holds (when the table fits the bytes).
    static func reseal(_ bytes: inout [UInt8]) {
        let count = Int(get(bytes, 40, 4))
        guard count <= 64, 64 + 32 * count <= bytes.count else { return }
        var covered = Array(bytes[0..<(64 + 32 * count)])
        put(&covered, 48, 0, 4)
        put(&bytes, 48, UInt64(crc32(covered)), 4)
    }

    /// Bitwise CRC-32 (IEEE, reflected, polynomial 0xEDB88320).
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? crc >> 1 ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// What the reader returned, copied out while the bytes are alive.
    struct Opened: Equatable {
        var totalSize: UInt64
        var entryIPA: UInt64
        var x0: UInt64
        var flags: UInt32
        var isLinux: Bool
        var entries: [BootBundle.Entry]
    }

    static func open(_ bytes: [UInt8], limit: UInt64? = nil, ramIPA: UInt64 = ramIPA,
                     ramSize: UInt64 = ramSize) -> Result<Opened, BootBundle.Problem> {
        do {
            do throws(BootBundle.Problem) {
                let readable = Int(min(limit ?? UInt64(bytes.count), UInt64(bytes.count)))
                let b = try BootBundle.open(bytes.span.extracting(0..<readable), ramIPA: ramIPA, ramSize: ramSize)
                return .success(Opened(totalSize: b.totalSize, entryIPA: b.entryIPA, x0: b.x0, flags: b.flags,
                                       isLinux: b.isLinux, entries: (0..<b.count).map { b.entry($0) }))
            } catch {
                return .failure(error)
            }
        }
    }

    static func problem(_ result: Result<Opened, BootBundle.Problem>) -> BootBundle.Problem? {
        if case .failure(let p) = result { return p }
        return nil
    }

    /// A Linux-style bundle: kernel, initrd, DTB.
    static let kernel = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
    static let initrd = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 3) }
    static let dtb = (0..<300).map { UInt8(truncatingIfNeeded: $0 ^ 0xD0) }
    static func linux() -> [UInt8] {
        encode([Image(kind: 2, bytes: kernel, load: 0x4008_0000), Image(kind: 3, bytes: initrd, load: 0x4F00_0000),
                Image(kind: 4, bytes: dtb, load: 0x4FE0_0000)],
               entry: 0x4008_0000, x0: 0x4FE0_0000, flags: 1)
    }

    // MARK: Well-formed bundles

    @Test("the test's CRC-32 is the standard one, and the reader's agrees with it")
    func checksum() {
        #expect(BootBundleTests.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        let bytes = BootBundleTests.linux()
        let reader = BootBundle.headerChecksum(bytes.span, count: 3)
        #expect(UInt64(reader) == BootBundleTests.get(bytes, 48, 4))
        #expect(BootBundle.magic == BootBundleTests.get(Array("KEELBOOT".utf8), 0, 8))
    }

    @Test("a Linux bundle opens with every field and entry as written")
    func roundTrip() throws {
        let bytes = BootBundleTests.linux()
        // Header page, kernel 3 pages (0x1000-0x4000), initrd 2 (0x4000-0x6000), DTB 1.
        #expect(bytes.count == 7 * 4096)
        let opened = try BootBundleTests.open(bytes).get()
        #expect(opened.totalSize == UInt64(bytes.count))
        #expect(opened.entryIPA == 0x4008_0000)
        #expect(opened.x0 == 0x4FE0_0000)
        #expect(opened.flags == 1 && opened.isLinux)
        #expect(opened.entries == [
            BootBundle.Entry(kind: .kernel, offset: 0x1000, size: 10_000, loadIPA: 0x4008_0000, checksum: BootBundleTests.crc32(BootBundleTests.kernel)),
            BootBundle.Entry(kind: .initrd, offset: 0x4000, size: 5_000, loadIPA: 0x4F00_0000, checksum: BootBundleTests.crc32(BootBundleTests.initrd)),
            BootBundle.Entry(kind: .deviceTree, offset: 0x6000, size: 300, loadIPA: 0x4FE0_0000, checksum: BootBundleTests.crc32(BootBundleTests.dtb)),
        ])
        for (entry, image) in zip(opened.entries, [BootBundleTests.kernel, BootBundleTests.initrd, BootBundleTests.dtb]) {
            #expect(Array(bytes[Int(entry.offset)..<Int(entry.offset + entry.size)]) == image)
        }
    }

    @Test("a raw bundle, an empty one, a full one, other flag bits")
    func otherShapes() throws {
        let raw = try BootBundleTests.open(BootBundleTests.encode([Image(kind: 1, bytes: [1, 2, 3], load: 0x4000_0000)],
                                                                 entry: 0x4000_0000)).get()
        #expect(!raw.isLinux && raw.flags == 0 && raw.x0 == 0)
        #expect(raw.entries == [BootBundle.Entry(kind: .raw, offset: 0x1000, size: 3, loadIPA: 0x4000_0000, checksum: BootBundleTests.crc32([1, 2, 3]))])

        let empty = try BootBundleTests.open(BootBundleTests.encode([], entry: 0x4000_0000)).get()
        #expect(empty.entries.isEmpty && empty.totalSize == 4096)

        var images: [Image] = []
        for i in 0..<BootBundle.maxEntries {
            let payload: [UInt8] = (0..<9).map { (j: Int) -> UInt8 in UInt8(i * 16 + j) }
            images.append(Image(kind: UInt32(i % 4 + 1), bytes: payload, load: 0x4000_0000 + UInt64(i) * 0x1_0000))
        }
        let full = try BootBundleTests.open(BootBundleTests.encode(images, entry: 0x4000_0000)).get()
        #expect(full.entries.count == 8)
        #expect(full.entries.map(\.loadIPA) == images.map(\.load))

        let flags = try BootBundleTests.open(BootBundleTests.encode([], entry: 0x4000_0000, flags: 6)).get()
        #expect(flags.flags == 6 && !flags.isLinux)
        #expect(try BootBundleTests.open(BootBundleTests.encode([], entry: 0x4000_0000, flags: 7)).get().isLinux)
    }

    @Test("edges that are still inside: last byte of RAM, adjacent images, an empty image at the bundle's end")
    func edges() throws {
        let end = BootBundleTests.ramEnd
        // An image ending exactly at the end of RAM, another right below it, entry at the last byte.
        let tight = BootBundleTests.encode([Image(kind: 1, bytes: [UInt8](repeating: 1, count: 0x1000), load: end - 0x1000),
                                            Image(kind: 1, bytes: [UInt8](repeating: 2, count: 0x1000), load: end - 0x2000)],
                                           entry: end - 1)
        #expect(try BootBundleTests.open(tight).get().entries.count == 2)
        // The limit may exceed the total size.
        #expect(try BootBundleTests.open(tight, limit: 1 << 30).get().totalSize == UInt64(tight.count))
        // A zero-size entry at the bundle's end and at RAM's end.
        var empty = BootBundleTests.encode([Image(kind: 1, bytes: [], load: end)], entry: BootBundleTests.ramIPA)
        BootBundleTests.put(&empty, 64 + 8, UInt64(empty.count), 8)
        BootBundleTests.reseal(&empty)
        #expect(try BootBundleTests.open(empty).get().entries == [BootBundle.Entry(kind: .raw, offset: 4096, size: 0, loadIPA: end)])
    }

    @Test("a flipped byte in any image is found by that image's checksum; padding is not covered")
    func payloadChecked() throws {
        let bytes = BootBundleTests.linux()
        for (at, entry) in [(0x1000, 0), (0x1000 + 9_999, 0), (0x4000 + 2_500, 1), (0x6000 + 299, 2)] {
            var damaged = bytes
            damaged[at] ^= 0x01
            #expect(BootBundleTests.open(damaged) == .failure(.badImageChecksum(entry)), "byte \(at)")
        }
        var padding = bytes
        padding[0x1000 + 10_000] ^= 0xFF  // after the kernel, before the initrd's page
        #expect(try BootBundleTests.open(padding).get().entries.count == 3)
    }

    // MARK: Each problem

    @Test("too small: a limit below the header or below the total size, a total below the table")
    func tooSmall() {
        let bytes = BootBundleTests.linux()
        for limit: UInt64 in [0, 1, 8, 63] {
            #expect(BootBundleTests.open(bytes, limit: limit) == .failure(.tooSmall), "limit \(limit)")
        }
        #expect(BootBundleTests.open(bytes, limit: 64) == .failure(.tooSmall))
        #expect(BootBundleTests.open(bytes, limit: UInt64(bytes.count) - 1) == .failure(.tooSmall))
        for total: UInt64 in [0, 64, 64 + 3 * 32 - 1, UInt64(bytes.count) + 1, UInt64.max] {
            var damaged = bytes
            BootBundleTests.put(&damaged, 16, total, 8)
            BootBundleTests.reseal(&damaged)
            #expect(BootBundleTests.open(damaged) == .failure(.tooSmall), "total \(total)")
        }
        // A header-only bundle whose total is exactly the table's end is fine.
        var bare = [UInt8](repeating: 0, count: 64)
        bare.replaceSubrange(0..<8, with: Array("KEELBOOT".utf8))
        BootBundleTests.put(&bare, 8, 2, 4)
        BootBundleTests.put(&bare, 12, 64, 4)
        BootBundleTests.put(&bare, 16, 64, 8)
        BootBundleTests.put(&bare, 24, BootBundleTests.ramIPA, 8)
        BootBundleTests.reseal(&bare)
        #expect((try? BootBundleTests.open(bare).get())?.entries == [])
    }

    @Test("bad magic, version, header size")
    func badHeader() {
        let bytes = BootBundleTests.linux()
        for i in 0..<8 {
            var damaged = bytes
            damaged[i] ^= 0x20
            #expect(BootBundleTests.open(damaged) == .failure(.badMagic), "byte \(i)")
        }
        for version: UInt64 in [0, 1, 3, 0x100, 0xFFFF_FFFF] {
            var damaged = bytes
            BootBundleTests.put(&damaged, 8, version, 4)
            BootBundleTests.reseal(&damaged)
            #expect(BootBundleTests.open(damaged) == .failure(.badVersion), "version \(version)")
        }
        for size: UInt64 in [0, 32, 63, 65, 128] {
            var damaged = bytes
            BootBundleTests.put(&damaged, 12, size, 4)
            BootBundleTests.reseal(&damaged)
            #expect(BootBundleTests.open(damaged) == .failure(.badHeaderSize), "header size \(size)")
        }
    }

    @Test("a flipped bit in the header or the table is a checksum mismatch")
    func badChecksum() {
        let bytes = BootBundleTests.linux()
        // Entry IPA, x0, flags, the checksum itself, reserved bytes, every table byte.
        let offsets = Array(24..<40) + Array(44..<64) + Array(64..<(64 + 3 * 32))
        for i in offsets {
            for bit: UInt8 in [0x01, 0x80] {
                var damaged = bytes
                damaged[i] ^= bit
                #expect(BootBundleTests.open(damaged) == .failure(.badChecksum), "byte \(i) ^ \(bit)")
            }
        }
        // A count lowered within range is caught too (the checksum covers fewer entries).
        var fewer = bytes
        BootBundleTests.put(&fewer, 40, 2, 4)
        #expect(BootBundleTests.open(fewer) == .failure(.badChecksum))
    }

    @Test("more than eight entries")
    func tooManyEntries() {
        for count: UInt64 in [9, 64, 0xFFFF_FFFF] {
            var damaged = BootBundleTests.linux()
            BootBundleTests.put(&damaged, 40, count, 4)
            BootBundleTests.reseal(&damaged)
            #expect(BootBundleTests.open(damaged) == .failure(.tooManyEntries), "count \(count)")
        }
    }

    @Test("an unknown kind names its entry")
    func badKind() {
        for (index, kind) in [(0, UInt64(0)), (1, 5), (2, 0xFFFF_FFFF), (1, 0x1_0000)] {
            var damaged = BootBundleTests.linux()
            BootBundleTests.put(&damaged, 64 + 32 * index, kind, 4)
            BootBundleTests.reseal(&damaged)
            #expect(BootBundleTests.open(damaged) == .failure(.badKind(index)), "entry \(index) kind \(kind)")
        }
    }

    @Test("an entry past the bundle's end names its entry")
    func entryOutsideBundle() {
        let total = UInt64(BootBundleTests.linux().count)
        let cases: [(Int, UInt64, UInt64)] = [
            (0, 0x1000, total - 0x1000 + 1),  // one byte past the end
            (1, total + 1, 0),  // starts past the end
            (2, total, 1),
            (1, UInt64.max, 2),  // offset + size wraps
            (0, 0x1000, UInt64.max),
            (2, UInt64.max - 0xFFF, 0x1000),
        ]
        for (index, offset, size) in cases {
            var damaged = BootBundleTests.linux()
            BootBundleTests.put(&damaged, 64 + 32 * index + 8, offset, 8)
            BootBundleTests.put(&damaged, 64 + 32 * index + 16, size, 8)
            BootBundleTests.reseal(&damaged)
            #expect(BootBundleTests.open(damaged) == .failure(.entryOutsideBundle(index)), "entry \(index) at \(offset) size \(size)")
        }
        // The whole bundle (header included) as one image is inside: it passes every bound and
        // fails only the image checksum, checked last (it cannot hold its own CRC).
        var whole = BootBundleTests.encode([Image(kind: 1, bytes: [], load: BootBundleTests.ramIPA)], entry: BootBundleTests.ramIPA)
        BootBundleTests.put(&whole, 64 + 8, 0, 8)
        BootBundleTests.put(&whole, 64 + 16, UInt64(whole.count), 8)
        BootBundleTests.reseal(&whole)
        #expect(BootBundleTests.open(whole) == .failure(.badImageChecksum(0)))
    }

    @Test("an image loaded outside RAM names its entry")
    func loadOutsideRAM() {
        let end = BootBundleTests.ramEnd
        let cases: [(Int, UInt64)] = [
            (0, BootBundleTests.ramIPA - 1), (0, 0), (1, end), (1, end - 4999),  // initrd is 5000 bytes
            (2, end + 0x1000), (2, UInt64.max - 10), (1, UInt64.max), (0, 0x8000_0000),
        ]
        for (index, load) in cases {
            var damaged = BootBundleTests.linux()
            BootBundleTests.put(&damaged, 64 + 32 * index + 24, load, 8)
            BootBundleTests.reseal(&damaged)
            #expect(BootBundleTests.open(damaged) == .failure(.loadOutsideRAM(index)), "entry \(index) at \(load)")
        }
        // The same bundle opened for a smaller VM: the initrd at 0x4F00_0000 is outside 128 MiB.
        #expect(BootBundleTests.open(BootBundleTests.linux(), ramSize: 0x800_0000) == .failure(.loadOutsideRAM(1)))
        // ... and for a VM whose RAM starts higher, the kernel is below it.
        #expect(BootBundleTests.open(BootBundleTests.linux(), ramIPA: 0x4010_0000, ramSize: 0x1000_0000) == .failure(.loadOutsideRAM(0)))
    }

    @Test("two overlapping images name both entries")
    func overlap() {
        let a = [UInt8](repeating: 0xA, count: 0x3000)
        let b = [UInt8](repeating: 0xB, count: 0x1000)
        let base = BootBundleTests.ramIPA
        let cases: [([Image], BootBundle.Problem)] = [
            ([Image(kind: 2, bytes: a, load: base), Image(kind: 3, bytes: b, load: base + 0x2FFF)], .overlap(0, 1)),
            ([Image(kind: 2, bytes: a, load: base + 0x1000), Image(kind: 3, bytes: b, load: base + 0x1)], .overlap(0, 1)),
            ([Image(kind: 2, bytes: a, load: base), Image(kind: 3, bytes: b, load: base + 0x1000)], .overlap(0, 1)),  // inside
            ([Image(kind: 3, bytes: b, load: base + 0x1000), Image(kind: 2, bytes: a, load: base)], .overlap(0, 1)),  // around
            ([Image(kind: 2, bytes: b, load: base), Image(kind: 3, bytes: b, load: base + 0x8000),
              Image(kind: 4, bytes: b, load: base + 0x8800)], .overlap(1, 2)),
            ([Image(kind: 2, bytes: b, load: base), Image(kind: 3, bytes: b, load: base + 0x8000),
              Image(kind: 4, bytes: b, load: base)], .overlap(0, 2)),
        ]
        for (images, problem) in cases {
            #expect(BootBundleTests.open(BootBundleTests.encode(images, entry: base)) == .failure(problem), "\(problem)")
        }
        // Touching is not overlapping; neither is an empty image at another's start.
        let touching = [Image(kind: 2, bytes: a, load: base), Image(kind: 3, bytes: b, load: base + 0x3000),
                        Image(kind: 1, bytes: [], load: base)]
        #expect((try? BootBundleTests.open(BootBundleTests.encode(touching, entry: base)).get())?.entries.count == 3)
    }

    @Test("an entry point outside RAM")
    func entryOutsideRAM() {
        for entry: UInt64 in [0, BootBundleTests.ramIPA - 1, BootBundleTests.ramEnd, BootBundleTests.ramEnd + 0x1000, UInt64.max] {
            let bytes = BootBundleTests.encode([Image(kind: 1, bytes: [0], load: BootBundleTests.ramIPA)], entry: entry)
            #expect(BootBundleTests.open(bytes) == .failure(.entryOutsideRAM), "entry \(entry)")
        }
    }

    @Test("every problem has a console line")
    func messages() {
        let problems: [BootBundle.Problem] = [.tooSmall, .badMagic, .badVersion, .badHeaderSize, .badChecksum, .tooManyEntries,
                                              .badKind(0), .entryOutsideBundle(0), .loadOutsideRAM(0), .overlap(0, 1), .entryOutsideRAM,
                                              .badImageChecksum(0)]
        let lines = problems.map { $0.message.description }
        #expect(Set(lines).count == problems.count)
        #expect(lines.allSatisfy { !$0.isEmpty && !$0.contains("\n") })
    }

    // MARK: Random damage

    /// SplitMix64: deterministic, so a failure names a reproducible seed.
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// What an accepted bundle must satisfy, whatever its bytes.
    static func sane(_ opened: Opened, limit: UInt64) -> Bool {
        guard opened.totalSize <= limit, opened.entries.count <= BootBundle.maxEntries else { return false }
        guard opened.entryIPA >= ramIPA, opened.entryIPA < ramEnd else { return false }
        for (i, e) in opened.entries.enumerated() {
            let (bundleEnd, o1) = e.offset.addingReportingOverflow(e.size)
            let (loadEnd, o2) = e.loadIPA.addingReportingOverflow(e.size)
            guard !o1, !o2, bundleEnd <= opened.totalSize, e.loadIPA >= ramIPA, loadEnd <= ramEnd else { return false }
            for other in opened.entries[..<i] where e.loadIPA < other.loadIPA + other.size && other.loadIPA < loadEnd {
                return false
            }
        }
        return true
    }

    @Test("random single-byte damage of the header and table: an error or a sane bundle", arguments: [1, 2, 3])
    func randomDamage(seed: UInt64) {
        let bytes = BootBundleTests.linux()
        let tableEnd = 64 + 3 * 32
        var rng = SplitMix(state: seed)
        var rejected = 0
        for _ in 0..<150 {
            var damaged = bytes
            let at = rng.below(tableEnd)
            damaged[at] ^= UInt8(1 + rng.below(255))
            switch BootBundleTests.open(damaged) {
            case .failure: rejected += 1
            case .success(let opened): #expect(BootBundleTests.sane(opened, limit: UInt64(damaged.count)), "seed \(seed) byte \(at)")
            }
        }
        // CRC-32 catches every single-byte error, and the fields it does not guard come first.
        #expect(rejected == 150)
    }

    @Test("random damage with the checksum recomputed: an error or a sane bundle", arguments: [4, 5, 6])
    func randomResealedDamage(seed: UInt64) {
        let bytes = BootBundleTests.linux()
        let tableEnd = 64 + 3 * 32
        var rng = SplitMix(state: seed)
        var outcomes: [String: Int] = [:]
        let interesting: [UInt8] = [0, 1, 0x10, 0x3F, 0x40, 0x4F, 0x50, 0x7F, 0x80, 0xFE, 0xFF]
        for _ in 0..<200 {
            var damaged = bytes
            var where_: [Int] = []
            for _ in 0..<(1 + rng.below(3)) {
                let at = 16 + rng.below(tableEnd - 16)  // past magic, version and header size
                damaged[at] = rng.below(2) == 0 ? interesting[rng.below(interesting.count)] : UInt8(rng.below(256))
                where_.append(at)
            }
            BootBundleTests.reseal(&damaged)
            let limit = UInt64(damaged.count - rng.below(2) * rng.below(4096))
            switch BootBundleTests.open(damaged, limit: limit) {
            case .failure(let problem): outcomes["\(problem)".prefix { $0 != "(" }.description, default: 0] += 1
            case .success(let opened):
                outcomes["ok", default: 0] += 1
                #expect(BootBundleTests.sane(opened, limit: limit), "seed \(seed) bytes \(where_)")
            }
        }
        // The damage reached past the checksum into the checks behind it.
        #expect(outcomes.keys.count >= 4, "\(outcomes)")
    }
}
