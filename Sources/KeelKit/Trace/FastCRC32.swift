import KeelCore

/// CRC-32 (the same as KeelCore's `CRC32`) sixteen bytes at a time ("slicing-by-16"), for the
/// host decoder's throughput. The firmware keeps the small one-table version.
enum FastCRC32 {
    /// Sixteen 256-entry tables, one after the other: flat[k * 256 + n] is the CRC of byte n
    /// followed by k zero bytes.
    static let flat: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 16 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
            t[n] = c
        }
        for k in 1..<16 {
            for n in 0..<256 { t[k * 256 + n] = (t[(k - 1) * 256 + n] >> 8) ^ t[Int(t[(k - 1) * 256 + n] & 0xFF)] }
        }
        return t
    }()

    /// The sixteen tables in memory that is never freed. A demux keeps this pointer, so its hot
    /// loop reads no global (no lazy-initialisation check, no array retain) per frame. Written
    /// once, then only read: safe to share.
    nonisolated(unsafe) static let tables: UnsafePointer<UInt32> = {
        let p = UnsafeMutablePointer<UInt32>.allocate(capacity: 16 * 256)
        flat.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: 16 * 256) }
        return UnsafePointer(p)
    }()

    static func checksum(_ bytes: UnsafeRawPointer, count: Int) -> UInt32 {
        checksum(bytes, count: count, tables: tables)
    }

    /// Invariant: `bytes` points at `count` readable bytes; `t` at the 4,096 entries of `tables`
    /// (every index below is a byte plus k * 256, k < 16).
    @inline(__always)
    static func checksum(_ bytes: UnsafeRawPointer, count: Int, tables t: UnsafePointer<UInt32>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        var p = bytes
        var left = count
        // Sixteen bytes a step: the chain from one step's CRC to the next is one round of
        // lookups whatever the width, so wider steps are fewer rounds.
        while left >= 16 {
            let a = UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)) ^ crc
            let b = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let c = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            let d = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
            let ab = t[15 * 256 + Int(a & 0xFF)] ^ t[14 * 256 + Int((a >> 8) & 0xFF)]
                ^ t[13 * 256 + Int((a >> 16) & 0xFF)] ^ t[12 * 256 + Int(a >> 24)]
                ^ t[11 * 256 + Int(b & 0xFF)] ^ t[10 * 256 + Int((b >> 8) & 0xFF)]
                ^ t[9 * 256 + Int((b >> 16) & 0xFF)] ^ t[8 * 256 + Int(b >> 24)]
            let cd = t[7 * 256 + Int(c & 0xFF)] ^ t[6 * 256 + Int((c >> 8) & 0xFF)]
                ^ t[5 * 256 + Int((c >> 16) & 0xFF)] ^ t[4 * 256 + Int(c >> 24)]
                ^ t[3 * 256 + Int(d & 0xFF)] ^ t[2 * 256 + Int((d >> 8) & 0xFF)]
                ^ t[1 * 256 + Int((d >> 16) & 0xFF)] ^ t[Int(d >> 24)]
            crc = ab ^ cd
            p += 16
            left -= 16
        }
        while left >= 8 {
            let lo = UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)) ^ crc
            let hi = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            crc = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
            p += 8
            left -= 8
        }
        while left > 0 {
            crc = (crc >> 8) ^ t[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xFF)]
            p += 1
            left -= 1
        }
        return ~crc
    }

    /// Templates of the COBS codes of recent frames, for `cobsDecodeInPlace`: `templateEntries`
    /// entries of `templateStride` words each: the candidate's length (0: empty), then
    /// `templateWords` words of mask (0xFF at each code's offset) and as many of the codes there.
    static let templateEntries = 32
    static let templateWords = 12
    static let templateStride = 1 + 2 * templateWords
    /// Longest candidate `cobsDecodeInPlace` takes: what the template words hold.
    static let inPlaceLimit = 8 * templateWords

    /// Decodes a zero-free COBS candidate of 1 to `inPlaceLimit` bytes in place: the bytes
    /// stay where they are and each code becomes a zero, so the decoded bytes are
    /// `s[1 ..< count]` (no block can hold 254 data bytes, so every code but the first stands
    /// for a zero). False when a code runs past the end.
    ///
    /// Walking from code to code is a chain of dependent loads, one per zero of the frame
    /// (about 60 in a record), which was most of the decoder's time. Records of one kind put
    /// their zeros in the same places, so the codes of a frame decoded before are kept as a
    /// template under a key read from a few bytes; when the candidate has the same codes at
    /// the template's places (word-wide checks, none depending on another), its chain is the
    /// template's, and the codes are cleared with a mask. Otherwise the chain is walked and
    /// becomes the template.
    ///
    /// Invariant: `s` points at `count` bytes (1 ... inPlaceLimit, none zero) followed by slack
    /// up to `inPlaceLimit` bytes in all, 8-byte aligned; `templates` at `templateEntries *
    /// templateStride` words. Word reads and writes stay below `inPlaceLimit` bytes; the mask
    /// is 0 past `count`, so the bytes there are neither checked nor changed.
    @inline(__always)
    static func cobsDecodeInPlace(_ s: UnsafeMutableRawPointer, count: Int, templates: UnsafeMutablePointer<UInt64>) -> Bool {
        let words = (count + 7) >> 3
        let bytes = s.assumingMemoryBound(to: UInt8.self)
        // The key: the length, the first code, the frame type's and record kind's places, and
        // the record's action byte's place (a code or the action: the same for one shape).
        var key = count &* 0x9E37 ^ Int(bytes[0]) &* 0x61 ^ Int(bytes[2]) &* 0x3B
        if count > 59 { key ^= Int(bytes[58]) &* 0x11 ^ Int(bytes[59]) }
        let entry = templates + (key & (templateEntries - 1)) * templateStride
        let mask = entry + 1, codes = entry + 1 + templateWords
        let w = s.assumingMemoryBound(to: UInt64.self)
        if entry[0] == UInt64(count) {
            var differ: UInt64 = 0
            for k in 0..<words { differ |= (w[k] & mask[k]) ^ codes[k] }
            if differ == 0 {
                for k in 0..<words { w[k] &= ~mask[k] }
                return true
            }
        }
        // Walk the chain; it becomes this key's template if it is sound.
        entry[0] = 0
        for k in 0..<templateWords { mask[k] = 0; codes[k] = 0 }
        let maskBytes = UnsafeMutableRawPointer(mask).assumingMemoryBound(to: UInt8.self)
        let codeBytes = UnsafeMutableRawPointer(codes).assumingMemoryBound(to: UInt8.self)
        var i = 0
        while i < count {
            let code = bytes[i]
            // A code of 0xFF cannot fit in fewer than 255 bytes: the guard refuses it.
            guard Int(code) <= count - i else { return false }
            maskBytes[i] = 0xFF
            codeBytes[i] = code
            bytes[i] = 0
            i += Int(code)
        }
        entry[0] = UInt64(count)
        return true
    }
}
