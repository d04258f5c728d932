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

    static func checksum(_ bytes: UnsafeRawPointer, count: Int) -> UInt32 {
        flat.withUnsafeBufferPointer { t in
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
