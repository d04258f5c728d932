/// How trace frames travel on a serial line shared with console text.
///
/// A frame is `0x00, COBS(payload + CRC-32(payload) little-endian), 0x00`. Console text never
/// contains a zero byte and COBS output never does, so zeros delimit frames; the CRC rejects a
/// candidate that is really text or was damaged, and the decoder resynchronises at the next
/// zero. Payload: one type byte (`FrameType`) and the header or record.
public enum TraceFraming {
    public static let delimiter: UInt8 = 0
    /// Largest payload: type byte + record.
    public static let maxPayload = 1 + TraceRecord.size
    /// Largest encoded frame body (without the two delimiters): payload + CRC + COBS overhead.
    public static let maxEncoded = maxPayload + 4 + 2

    /// Consistent Overhead Byte Stuffing: encodes `count` bytes at `input` into `output` (room
    /// for `count + count / 254 + 1` bytes) with no zero byte; returns the encoded length.
    public static func cobsEncode(_ input: UnsafeRawPointer, count: Int, into output: UnsafeMutableRawPointer) -> Int {
        var codeIndex = 0
        var out = 1
        var code: UInt8 = 1
        for i in 0..<count {
            let byte = input.load(fromByteOffset: i, as: UInt8.self)
            if byte == 0 {
                output.storeBytes(of: code, toByteOffset: codeIndex, as: UInt8.self)
                codeIndex = out
                out += 1
                code = 1
            } else {
                output.storeBytes(of: byte, toByteOffset: out, as: UInt8.self)
                out += 1
                code += 1
                if code == 0xFF {
                    output.storeBytes(of: code, toByteOffset: codeIndex, as: UInt8.self)
                    codeIndex = out
                    out += 1
                    code = 1
                }
            }
        }
        output.storeBytes(of: code, toByteOffset: codeIndex, as: UInt8.self)
        return out
    }

    /// Decodes COBS; nil when the input holds a zero or a code runs past its end.
    public static func cobsDecode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        var i = 0
        var out = 0
        while i < input.count {
            let code = Int(input[i])
            guard code != 0, i + code <= input.count else { return nil }
            for j in 1..<code {
                let byte = input[i + j]
                guard byte != 0, out < capacity else { return nil }
                output.storeBytes(of: byte, toByteOffset: out, as: UInt8.self)
                out += 1
            }
            i += code
            if code != 0xFF && i < input.count {
                guard out < capacity else { return nil }
                output.storeBytes(of: 0, toByteOffset: out, as: UInt8.self)
                out += 1
            }
        }
        return out
    }
}

/// The first byte of a frame's payload.
public enum FrameType: UInt8, Sendable {
    case header = 0x48  // "H"
    case record = 0x52  // "R"
}

/// CRC-32 (IEEE 802.3, reflected, as zlib computes it), bitwise: small and table-free for the
/// firmware.
public enum CRC32 {
    public static func checksum(_ bytes: UnsafeRawPointer, count: Int, initial: UInt32 = 0) -> UInt32 {
        var crc = ~initial
        for i in 0..<count {
            crc ^= UInt32(bytes.load(fromByteOffset: i, as: UInt8.self))
            for _ in 0..<8 {
                crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1)))
            }
        }
        return ~crc
    }
}
