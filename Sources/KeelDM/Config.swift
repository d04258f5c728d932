// /etc/keel-dm.conf (docs/device-model.md), written by `keel pack`: one device per line, in
// request-page order; `#` starts a comment.
//
//     blk <device> <path>        a raw image, e.g. /disks/0.img
//     net <device> <mac>         aa:bb:cc:dd:ee:ff
//     console <device> [name]    output lines behind `[name] ` (default `[vmN] `, N the frontend)

enum ConfKind: Equatable {
    case blk(path: String)
    case net(mac: UInt64)
    case console(name: String?)

    /// The virtio device ID the request page must give the device.
    var typeID: UInt32 {
        switch self {
        case .net: 1
        case .blk: 2
        case .console: 3
        }
    }
}

struct ConfEntry {
    var device: Int
    var kind: ConfKind
    var line: Int
}

/// Splits a line into words at spaces and tabs.
func words(_ line: ArraySlice<UInt8>) -> [String] {
    var out: [String] = []
    var current: [UInt8] = []
    for byte in line {
        if byte == 0x20 || byte == 0x09 || byte == 0x0D {
            if !current.isEmpty { out.append(String(decoding: current, as: UTF8.self)); current = [] }
        } else {
            current.append(byte)
        }
    }
    if !current.isEmpty { out.append(String(decoding: current, as: UTF8.self)) }
    return out
}

func parseDecimal(_ text: String) -> Int? {
    var value = 0
    var any = false
    for byte in text.utf8 {
        guard byte >= 0x30, byte <= 0x39, value < 1_000_000 else { return nil }
        value = value * 10 + Int(byte - 0x30)
        any = true
    }
    return any ? value : nil
}

/// "aa:bb:cc:dd:ee:ff" as a 48-bit number (first octet most significant).
func parseMAC(_ text: String) -> UInt64? {
    var mac: UInt64 = 0
    var digits = 0, octets = 0
    for byte in text.utf8 {
        if byte == 0x3A {
            guard digits == 2 else { return nil }
            digits = 0
            continue
        }
        let nibble: UInt64
        switch byte {
        case 0x30...0x39: nibble = UInt64(byte - 0x30)
        case 0x61...0x66: nibble = UInt64(byte - 0x61 + 10)
        case 0x41...0x46: nibble = UInt64(byte - 0x41 + 10)
        default: return nil
        }
        guard digits < 2 else { return nil }
        if digits == 0 { octets += 1 }
        digits += 1
        mac = mac << 4 | nibble
    }
    guard octets == 6, digits == 2, text.utf8.count == 17 else { return nil }
    return mac
}

/// The configuration's entries, or the first problem as "line N: what is wrong (what to write)".
func parseConf(_ bytes: [UInt8]) -> Result<[ConfEntry], Failure> {
    var entries: [ConfEntry] = []
    var lineNumber = 0
    var start = 0
    while start <= bytes.count {
        var end = start
        while end < bytes.count && bytes[end] != 0x0A { end += 1 }
        lineNumber += 1
        var line = bytes[start..<end]
        if let hash = line.firstIndex(of: 0x23) { line = line[line.startIndex..<hash] }
        start = end + 1
        let w = words(line)
        if w.isEmpty { continue }
        func bad(_ what: String) -> Result<[ConfEntry], Failure> {
            .failure(Failure("line \(lineNumber): \(what)"))
        }
        guard w.count >= 2, let device = parseDecimal(w[1]), device < 16 else {
            return bad("expected `blk|net|console <device 0-15> ...`")
        }
        if entries.contains(where: { $0.device == device }) { return bad("device \(device) is configured twice") }
        let kind: ConfKind
        switch w[0] {
        case "blk":
            guard w.count == 3 else { return bad("expected `blk <device> <path of a raw image>`") }
            kind = .blk(path: w[2])
        case "net":
            guard w.count == 3, let mac = parseMAC(w[2]) else { return bad("expected `net <device> <mac aa:bb:cc:dd:ee:ff>`") }
            guard mac >> 40 & 1 == 0 else { return bad("\(w[2]) is a multicast MAC (the first octet must be even)") }
            kind = .net(mac: mac)
        case "console":
            guard w.count <= 3 else { return bad("expected `console <device> [name]`") }
            kind = .console(name: w.count == 3 ? w[2] : nil)
        default:
            return bad("unknown device type `\(w[0])` (blk, net or console)")
        }
        entries.append(ConfEntry(device: device, kind: kind, line: lineNumber))
    }
    if entries.isEmpty { return .failure(Failure("no device is configured")) }
    return .success(entries)
}
