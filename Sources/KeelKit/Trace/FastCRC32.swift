import KeelCore

/// CRC-32 (the same as KeelCore's `CRC32`) eight bytes at a time ("slicing-by-8"), for the host
/// decoder's throughput. The firmware keeps the small one-table version.
enum FastCRC32 {
    /// tables[k][n]: the CRC of byte n followed by k zero bytes.
    static let tables: [[UInt32]] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
            tables[0][n] = c
        }
        for n in 0..<256 {
            for k in 1..<8 { tables[k][n] = (tables[k - 1][n] >> 8) ^ tables[0][Int(tables[k - 1][n] & 0xFF)] }
        }
        return tables
    }()

    /// The same 2 KiB... 8 KiB of tables, flattened for unchecked indexing.
    static let flat: [UInt32] = tables.flatMap { $0 }

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
