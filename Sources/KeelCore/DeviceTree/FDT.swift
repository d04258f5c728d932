/// A read-only view of a flattened device tree (DTB), as a boot loader passes it in x0.
///
/// Every read is bounds-checked against the header's sizes: a malformed or hostile blob yields
/// nil, never a fault. No allocation: usable in the firmware and on the host. `forEachNode`
/// (FDTWalk.swift) walks the nodes; `DeviceTreeMachine` reads what Keel needs from them.
public struct FDT {
    public static let magic: UInt32 = 0xD00D_FEED

    /// Structure block tokens.
    enum Token {
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
    @_optimize(size)
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

    /// The blob's total size as its header gives it, or nil when `base` holds no DTB header.
    /// Reads 8 bytes: enough to learn how much may be read before calling `init(_:limit:)`.
    @_optimize(size)
    public static func declaredSize(_ base: UnsafeRawPointer) -> Int? {
        guard be32(base, 0) == magic else { return nil }
        return Int(be32(base, 4))
    }

    @inline(__always)
    static func be32(_ p: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(p.load(fromByteOffset: offset + i, as: UInt8.self)) }
        return v
    }

    /// The value of property `name` of the node at `path` (e.g. "/chosen", "bootargs").
    /// Path components match node names up to any `@unit-address`.
    @_optimize(size)
    public func property(path: StaticString, name: StaticString) -> UnsafeRawBufferPointer? {
        walk(to: path)?.property(name)
    }

    @_optimize(size)
    public func property(path: StaticString, name: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        walk(to: path)?.property(name)
    }

    @_optimize(size)
    public func property(path: UnsafeRawBufferPointer, name: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        walk(to: path)?.property(name)
    }

    /// End (index of the NUL) of a string in the structure block.
    @_optimize(size)
    func stringEnd(from start: Int, limit: Int) -> Int? {
        var i = start
        while i < limit {
            if base.load(fromByteOffset: i, as: UInt8.self) == 0 { return i }
            i += 1
        }
        return nil
    }

    /// A property name in the strings block.
    @_optimize(size)
    func string(at nameOffset: Int) -> UnsafeRawBufferPointer? {
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

    @_optimize(size)
    static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }

    /// Components of "/a/b": 2; of "/": 0.
    @_optimize(size)
    static func componentCount(_ path: UnsafeRawBufferPointer) -> Int {
        var count = 0
        var inComponent = false
        for byte in path {
            if byte == UInt8(ascii: "/") { inComponent = false } else if !inComponent { inComponent = true; count += 1 }
        }
        return count
    }

    @_optimize(size)
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

    @_optimize(size)
    static func nodeName(_ node: UnsafeRawBufferPointer, matches component: StaticString) -> Bool {
        component.withUTF8Buffer { nodeName(node, matches: UnsafeRawBufferPointer($0)) }
    }

    /// "memory@40000000" matches "memory" and "memory@40000000".
    @_optimize(size)
    static func nodeName(_ node: UnsafeRawBufferPointer, matches component: UnsafeRawBufferPointer) -> Bool {
        if equal(node, component) { return true }
        guard node.count > component.count, node[component.count] == UInt8(ascii: "@") else { return false }
        return equal(UnsafeRawBufferPointer(rebasing: node[0..<component.count]), component)
    }
}
