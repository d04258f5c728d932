import KeelCore

/// CRC-32 (the same as KeelCore's `CRC32`) eight bytes at a time ("slicing-by-8"), for the host
/// decoder's throughput. The firmware keeps the small one-table version.
enum FastCRC32 {
    /// Eight 256-entry tables, one after the other: flat[k * 256 + n] is the CRC of byte n
    /// followed by k zero bytes.
    static let flat: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
            t[n] = c
        }
        for k in 1..<8 {
            for n in 0..<256 { t[k * 256 + n] = (t[(k - 1) * 256 + n] >> 8) ^ t[Int(t[(k - 1) * 256 + n] & 0xFF)] }
        }
        return t
    }()

    /// The eight tables in memory that is never freed. A demux keeps this pointer, so its hot
    /// loop reads no global (no lazy-initialisation check, no array retain) per frame. Written
    /// once, then only read: safe to share.
    nonisolated(unsafe) static let tables: UnsafePointer<UInt32> = {
        let p = UnsafeMutablePointer<UInt32>.allocate(capacity: 8 * 256)
        flat.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: 8 * 256) }
        return UnsafePointer(p)
    }()

    static func checksum(_ bytes: UnsafeRawPointer, count: Int) -> UInt32 {
        checksum(bytes, count: count, tables: tables)
    }

    /// Invariant: `bytes` points at `count` readable bytes; `t` at the 2,048 entries of `tables`
    /// (every index below is a byte plus k * 256, k < 8).
    @inline(__always)
    static func checksum(_ bytes: UnsafeRawPointer, count: Int, tables t: UnsafePointer<UInt32>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        var p = bytes
        var left = count
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

    /// COBS decoding of a zero-free candidate of 1 to 254 bytes (every frame: a record's is
    /// 86). No block can hold 254 data bytes, so every code but the first stands for a zero:
    /// the decoded bytes are the input shifted by one with those zeros put back, count - 1 of
    /// them. One bulk copy, then a walk along the codes. Nil when a code runs past the end.
    ///
    /// Invariant: `input` points at `count` readable bytes (1 ... 254, none zero), `output` at
    /// `count` writable ones; every write below is at an index below count - 1.
    @inline(__always)
    static func cobsDecodeShort(_ input: UnsafeRawPointer, count: Int, into output: UnsafeMutableRawPointer) -> Int? {
        var i = Int(input.load(as: UInt8.self))
        guard i <= count else { return nil }
        output.copyMemory(from: input + 1, byteCount: count - 1)
        while i < count {
            // A code of 0xFF cannot fit in fewer than 255 bytes: the guard refuses it.
            let code = Int(input.load(fromByteOffset: i, as: UInt8.self))
            guard code <= count - i else { return nil }
            output.storeBytes(of: 0, toByteOffset: i - 1, as: UInt8.self)
            i += code
        }
        return count - 1
    }

    /// COBS decoding for input known to hold no zero byte (the demux split it at zeros): each
    /// block is one bulk copy. Nil when a code runs past the end or the output would not fit.
    static func cobsDecodeZeroFree(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        guard let base = input.baseAddress else { return 0 }
        let count = input.count
        var i = 0
        var out = 0
        while i < count {
            let code = Int(base.load(fromByteOffset: i, as: UInt8.self))
            guard i + code <= count, out + code <= capacity else { return nil }
            (output + out).copyMemory(from: base + i + 1, byteCount: code - 1)
            out += code - 1
            i += code
            if code != 0xFF && i < count {
                output.storeBytes(of: 0, toByteOffset: out, as: UInt8.self)
                out += 1
            }
        }
        return out
    }
}
