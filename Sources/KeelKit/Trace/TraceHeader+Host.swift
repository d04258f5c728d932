import KeelCore

extension TraceHeader {
    /// The build id as the 20 bytes of the ELF note. (Host only: arrays allocate.)
    public var buildIDBytes: [UInt8] {
        var bytes: [UInt8] = []
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: buildID.0 >> (8 * UInt64(i)))) }
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: buildID.1 >> (8 * UInt64(i)))) }
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: buildID.2 >> (8 * UInt32(i)))) }
        return bytes
    }

    public var buildIDHex: String { hexString(buildIDBytes) }
}

/// Bytes as lower-case hex, two digits each (how build ids are written).
func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).leftPadded(2) }.joined()
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
