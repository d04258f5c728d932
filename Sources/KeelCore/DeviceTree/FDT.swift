#if canImport(KeelStaticBytes)
import KeelStaticBytes
#endif

/// A read-only view of a flattened device tree (DTB), as a boot loader passes it in x0.
///
/// It borrows the blob's bytes (a `Span`: ~Escapable, so it cannot outlive them) and reads them
/// with checked indexing only, after checking the header's sizes: a malformed or hostile blob
/// yields nil, never a fault. No allocation: usable in the firmware and on the host. `Walk`
/// (FDTWalk.swift) walks the nodes; `DeviceTreeMachine` reads what Keel needs from them.
public struct FDT: ~Escapable {
    public static let magic: UInt32 = 0xD00D_FEED

    /// Structure block tokens.
    enum Token {
        static let beginNode: UInt32 = 1
        static let endNode: UInt32 = 2
        static let prop: UInt32 = 3
        static let nop: UInt32 = 4
        static let end: UInt32 = 9
    }

    /// The blob: exactly `totalSize` bytes.
    public let bytes: Span<UInt8>
    public var totalSize: Int { bytes.count }
    let structOffset: Int
    let structSize: Int
    let stringsOffset: Int
    let stringsSize: Int

    /// Validates the header of the blob at the start of `bytes` (which may be longer).
    @_optimize(size)
    @_lifetime(copy bytes)
    public init?(_ bytes: Span<UInt8>) {
        guard bytes.count >= 40 else { return nil }
        guard FDT.be32(bytes, 0) == FDT.magic else { return nil }
        let total = Int(FDT.be32(bytes, 4))
        let offStruct = Int(FDT.be32(bytes, 8)), offStrings = Int(FDT.be32(bytes, 12))
        let version = FDT.be32(bytes, 20)
        let sizeStrings = Int(FDT.be32(bytes, 32)), sizeStruct = Int(FDT.be32(bytes, 36))
        guard version >= 17, total >= 40, total <= bytes.count,
              offStruct <= total, sizeStruct <= total - offStruct,
              offStrings <= total, sizeStrings <= total - offStrings else { return nil }
        self.bytes = bytes.extracting(0..<total)
        structOffset = offStruct
        structSize = sizeStruct
        stringsOffset = offStrings
        stringsSize = sizeStrings
    }

    /// The blob's total size as its header gives it, or nil when `header` (at least its first
    /// 8 bytes) holds no DTB header: how much to read before calling `init(_:)`.
    @_optimize(size)
    public static func declaredSize(_ header: Span<UInt8>) -> Int? {
        guard header.count >= 8, be32(header, 0) == magic else { return nil }
        return Int(be32(header, 4))
    }

    /// The big-endian word at `offset`; the caller has checked `offset + 4 <= bytes.count`
    /// (a failed check would trap, never read outside).
    @inline(__always)
    static func be32(_ bytes: Span<UInt8>, _ offset: Int) -> UInt32 {
        var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(bytes[offset &+ i]) }
        return v
    }

    /// The value of property `name` of the node at `path` (e.g. "/chosen", "bootargs").
    /// Path components match node names up to any `@unit-address`.
    @_optimize(size)
    @_lifetime(copy self)
    public func property(path: StaticString, name: StaticString) -> Span<UInt8>? {
        guard let node = walk(to: path) else { return nil }
        return node.property(name)
    }

    @_optimize(size)
    @_lifetime(copy self)
    public func property(path: StaticString, name: Span<UInt8>) -> Span<UInt8>? {
        guard let node = walk(to: path) else { return nil }
        return node.property(name)
    }

    @_optimize(size)
    @_lifetime(copy self)
    public func property(path: Span<UInt8>, name: Span<UInt8>) -> Span<UInt8>? {
        guard let node = walk(to: path) else { return nil }
        return node.property(name)
    }

    /// End (index of the NUL) of a string in `[start, limit)`, or nil.
    @_optimize(size)
    func stringEnd(from start: Int, limit: Int) -> Int? {
        guard start >= 0 else { return nil }
        var i = start
        let end = min(limit, bytes.count)
        while i < end {
            if bytes[i] == 0 { return i }
            i &+= 1
        }
        return nil
    }

    /// A property name in the strings block, as offsets into `bytes`.
    @_optimize(size)
    func string(at nameOffset: Int) -> Range<Int>? {
        guard nameOffset >= 0, nameOffset < stringsSize else { return nil }
        let start = stringsOffset &+ nameOffset
        guard let end = stringEnd(from: start, limit: stringsOffset &+ stringsSize) else { return nil }
        return start..<end
    }

    @_optimize(size)
    static func equal(_ a: Span<UInt8>, _ b: Span<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }

    /// True when `a` holds the bytes of `b`.
    @_optimize(size)
    static func equal(_ a: Span<UInt8>, _ b: StaticString) -> Bool {
        b.withBytes { equal(a, $0) }
    }

    /// Components of "/a/b": 2; of "/": 0.
    @_optimize(size)
    static func componentCount(_ path: Span<UInt8>) -> Int {
        var count = 0
        var inComponent = false
        for i in 0..<path.count {
            if path[i] == UInt8(ascii: "/") { inComponent = false } else if !inComponent { inComponent = true; count += 1 }
        }
        return count
    }

    /// Component `index` of `path`, as offsets into it.
    @_optimize(size)
    static func component(_ path: Span<UInt8>, _ index: Int) -> Range<Int> {
        var count = -1
        var start = 0
        var i = 0
        var inComponent = false
        while i < path.count {
            if path[i] == UInt8(ascii: "/") {
                if inComponent && count == index { return start..<i }
                inComponent = false
            } else if !inComponent {
                inComponent = true
                count += 1
                start = i
            }
            i += 1
        }
        return start..<path.count
    }

    @_optimize(size)
    static func nodeName(_ node: Span<UInt8>, matches component: StaticString) -> Bool {
        component.withBytes { nodeName(node, matches: $0) }
    }

    /// "memory@40000000" matches "memory" and "memory@40000000".
    @_optimize(size)
    static func nodeName(_ node: Span<UInt8>, matches component: Span<UInt8>) -> Bool {
        if equal(node, component) { return true }
        guard node.count > component.count, node[component.count] == UInt8(ascii: "@") else { return false }
        return equal(node.extracting(0..<component.count), component)
    }
}
