/// A read-only view of a flattened device tree (DTB), as a boot loader passes it in x0.
///
/// Every read is bounds-checked against the header's sizes: a malformed or hostile blob yields
/// nil, never a fault. No allocation: usable in the firmware and on the host.
public struct FDT {
    public static let magic: UInt32 = 0xD00D_FEED

    /// Structure block tokens.
    private enum Token {
        static let beginNode: UInt32 = 1
        static let endNode: UInt32 = 2
        static let prop: UInt32 = 3
        static let nop: UInt32 = 4
        static let end: UInt32 = 9
    }

    public let base: UnsafeRawPointer
    public let totalSize: Int
    let structOffset: Int
    let structSize: Int
    let stringsOffset: Int
    let stringsSize: Int

    /// Validates the header of the blob at `base`, which may be at most `limit` bytes long.
    public init?(_ base: UnsafeRawPointer, limit: Int) {
        guard limit >= 40 else { return nil }
        guard FDT.be32(base, 0) == FDT.magic else { return nil }
        let total = Int(FDT.be32(base, 4))
        let offStruct = Int(FDT.be32(base, 8)), offStrings = Int(FDT.be32(base, 12))
        let version = FDT.be32(base, 20)
        let sizeStrings = Int(FDT.be32(base, 32)), sizeStruct = Int(FDT.be32(base, 36))
        guard version >= 17, total >= 40, total <= limit,
              offStruct <= total, sizeStruct <= total - offStruct,
              offStrings <= total, sizeStrings <= total - offStrings else { return nil }
        self.base = base
        totalSize = total
        structOffset = offStruct
        structSize = sizeStruct
        stringsOffset = offStrings
        stringsSize = sizeStrings
    }

    @inline(__always)
    static func be32(_ p: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(p.load(fromByteOffset: offset + i, as: UInt8.self)) }
        return v
    }

    /// The value of property `name` of the node at `path` (e.g. "/chosen", "bootargs").
    /// Path components match node names up to any `@unit-address`.
    public func property(path: StaticString, name: StaticString) -> UnsafeRawBufferPointer? {
        path.withUTF8Buffer { pathBytes in
            name.withUTF8Buffer { nameBytes in property(path: UnsafeRawBufferPointer(pathBytes), name: UnsafeRawBufferPointer(nameBytes)) }
        }
    }

    public func property(path: UnsafeRawBufferPointer, name: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let components = FDT.componentCount(path)
        let limit = structOffset + structSize
        var offset = structOffset
        // `level` of the node being read (the root is 0, -1 before it); `matched`: how many path
        // components the open nodes match, from the root down.
        var level = -1
        var matched = 0
        while offset + 4 <= limit {
            let token = FDT.be32(base, offset)
            offset += 4
            switch token {
            case Token.beginNode:
                guard let nameEnd = stringEnd(from: offset, limit: limit) else { return nil }
                level += 1
                if level >= 1 && level <= components && matched == level - 1 {
                    let nodeName = UnsafeRawBufferPointer(start: base + offset, count: nameEnd - offset)
                    if FDT.nodeName(nodeName, matches: FDT.component(path, level - 1)) { matched = level }
                }
                offset = (nameEnd + 1 + 3) & ~3
            case Token.endNode:
                guard level >= 0 else { return nil }
                if matched == level && level > 0 { matched -= 1 }
                level -= 1
            case Token.prop:
                guard offset + 8 <= limit else { return nil }
                let length = Int(FDT.be32(base, offset))
                let nameOffset = Int(FDT.be32(base, offset + 4))
                offset += 8
                guard length <= limit - offset else { return nil }
                if level == components && matched == components,
                   let propName = string(at: nameOffset), FDT.equal(propName, name) {
                    return UnsafeRawBufferPointer(start: base + offset, count: length)
                }
                offset = (offset + length + 3) & ~3
            case Token.nop:
                continue
            default:  // Token.end, or garbage
                return nil
            }
        }
        return nil
    }

    /// End (index of the NUL) of a string in the structure block.
    private func stringEnd(from start: Int, limit: Int) -> Int? {
        var i = start
        while i < limit {
            if base.load(fromByteOffset: i, as: UInt8.self) == 0 { return i }
            i += 1
        }
        return nil
    }

    /// A property name in the strings block.
    private func string(at nameOffset: Int) -> UnsafeRawBufferPointer? {
        guard nameOffset < stringsSize else { return nil }
        let start = stringsOffset + nameOffset
        var i = start
        while i < stringsOffset + stringsSize {
            if base.load(fromByteOffset: i, as: UInt8.self) == 0 {
                return UnsafeRawBufferPointer(start: base + start, count: i - start)
            }
            i += 1
        }
        return nil
    }

    static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }

    /// Components of "/a/b": 2; of "/": 0.
    static func componentCount(_ path: UnsafeRawBufferPointer) -> Int {
        var count = 0
        var inComponent = false
        for byte in path {
            if byte == UInt8(ascii: "/") { inComponent = false } else if !inComponent { inComponent = true; count += 1 }
        }
        return count
    }

    static func component(_ path: UnsafeRawBufferPointer, _ index: Int) -> UnsafeRawBufferPointer {
        var count = -1
        var start = 0
        var i = 0
        var inComponent = false
        while i < path.count {
            if path[i] == UInt8(ascii: "/") {
                if inComponent && count == index { return UnsafeRawBufferPointer(rebasing: path[start..<i]) }
                inComponent = false
            } else if !inComponent {
                inComponent = true
                count += 1
                start = i
            }
            i += 1
        }
        return UnsafeRawBufferPointer(rebasing: path[start..<path.count])
    }

    /// "memory@40000000" matches "memory" and "memory@40000000".
    static func nodeName(_ node: UnsafeRawBufferPointer, matches component: UnsafeRawBufferPointer) -> Bool {
        if equal(node, component) { return true }
        guard node.count > component.count, node[component.count] == UInt8(ascii: "@") else { return false }
        return equal(UnsafeRawBufferPointer(rebasing: node[0..<component.count]), component)
    }
}
