#if canImport(KeelStaticBytes)
import KeelStaticBytes
#endif

/// Walking a DTB's nodes, and reading the node a walk stands on: its properties, and its `reg`
/// entries as CPU physical addresses (through every ancestor's `ranges`, Devicetree
/// Specification 2.3.8).
///
/// A walk is a value that borrows the blob: `next()` moves it, and everything else reads
/// the current node. Names given as literals reach the byte comparisons through
/// `StaticString.withBytes` (hyp/mm/StaticBytes.swift). Boot-time code: every function here is
/// built for size.
extension FDT {
    /// Deeper trees are refused: real ones stay under 8 levels.
    public static let maxDepth = 16

    /// A walk through the tree, standing on one node at a time. It borrows the blob (it is
    /// ~Escapable, like the `FDT` it walks).
    ///
    /// It keeps only where each open node starts; an ancestor's cells and ranges are read again
    /// when a `reg` needs them (boot-time code: small beats fast).
    public struct Walk: ~Escapable {
        public let fdt: FDT
        /// `nodes[0...depth]`: offsets of the names of the current node and its ancestors.
        var nodes = InlineArray<16, UInt32>(repeating: 0)
        /// Of the current node; the root is 0, -1 before the first `next()`.
        public private(set) var depth = -1
        /// The next token to read.
        var offset: Int
        /// Set when `next()` stopped on a malformed structure block rather than at its end.
        public private(set) var malformed = false

        @_lifetime(copy fdt)
        public init(_ fdt: FDT) {
            self.fdt = fdt
            offset = fdt.structOffset
        }

        /// End of the structure block; inside the blob (the header check saw to that).
        var limit: Int { fdt.structOffset &+ fdt.structSize }

        /// Moves to the next node, parents before children. False at the end of the tree, or on
        /// a malformed blob (`malformed` then says so).
        @_optimize(size)
        @_lifetime(self: copy self)
        public mutating func next() -> Bool {
            while offset &+ 4 <= limit {
                let token = FDT.be32(fdt.bytes, offset)
                offset &+= 4
                switch token {
                case Token.beginNode:
                    guard let nameEnd = fdt.stringEnd(from: offset, limit: limit), depth < FDT.maxDepth - 1 else { break }
                    depth &+= 1
                    nodes[depth] = UInt32(truncatingIfNeeded: offset)
                    offset = (nameEnd &+ 4) & ~3
                    return true
                case Token.endNode:
                    guard depth >= 0 else { break }
                    depth &-= 1
                    continue
                case Token.prop:
                    guard offset &+ 8 <= limit else { break }
                    let length = Int(FDT.be32(fdt.bytes, offset))
                    guard length <= limit &- offset &- 8 else { break }
                    offset = (offset &+ 8 &+ length &+ 3) & ~3
                    continue
                case Token.nop:
                    continue
                case Token.end:
                    malformed = depth != -1
                    return false
                default:
                    break
                }
                malformed = true
                return false
            }
            malformed = true
            return false
        }

        /// Where the name of the current node's ancestor at `level` lies in the blob.
        @_optimize(size)
        func ancestorNameRange(_ level: Int) -> Range<Int> {
            let at = Int(nodes[level])
            let end = fdt.stringEnd(from: at, limit: limit) ?? at
            return at..<end
        }

        /// The name of the current node's ancestor at `level` (0 is the root, `depth` the node),
        /// with its unit address ("serial@9000000"); empty for the root.
        @_optimize(size)
        @_lifetime(copy self)
        public func ancestorName(_ level: Int) -> Span<UInt8> { fdt.bytes.extracting(ancestorNameRange(level)) }

        /// The current node's name.
        @_optimize(size)
        public var name: Span<UInt8> {
            @_lifetime(copy self)
            get { ancestorName(depth) }
        }

        /// Where property `name` of the node at `level` lies in the blob (its properties follow
        /// its name).
        @_optimize(size)
        func propertyRange(_ name: Span<UInt8>, level: Int) -> Range<Int>? {
            var at = (ancestorNameRange(level).upperBound &+ 4) & ~3
            while at &+ 4 <= limit {
                let token = FDT.be32(fdt.bytes, at)
                if token == Token.nop { at &+= 4; continue }
                // Properties come before the first child (Devicetree Specification 5.4.1).
                guard token == Token.prop, at &+ 12 <= limit else { return nil }
                let length = Int(FDT.be32(fdt.bytes, at &+ 4))
                let nameOffset = Int(FDT.be32(fdt.bytes, at &+ 8))
                at &+= 12
                guard length <= limit &- at, let propName = fdt.string(at: nameOffset) else { return nil }
                if FDT.equal(fdt.bytes.extracting(propName), name) { return at..<(at &+ length) }
                at = (at &+ length &+ 3) & ~3
            }
            return nil
        }

        @inline(never)
        @_optimize(size)
        func propertyRange(_ name: StaticString, level: Int) -> Range<Int>? {
            name.withBytes { propertyRange($0, level: level) }
        }

        @_optimize(size)
        @_lifetime(copy self)
        func property(_ name: StaticString, level: Int) -> Span<UInt8>? {
            guard let range = propertyRange(name, level: level) else { return nil }
            return fdt.bytes.extracting(range)
        }

        /// `#address-cells` or `#size-cells` of the node at `level`, for its children; the
        /// specification's defaults (2 and 1) when absent.
        @_optimize(size)
        func cells(_ name: StaticString, level: Int, default value: Int) -> Int {
            guard let cells = propertyRange(name, level: level), cells.count == 4 else { return value }
            return Int(FDT.be32(fdt.bytes, cells.lowerBound))
        }

        /// The value of the current node's property `name`, or nil.
        @inline(never)
        @_optimize(size)
        @_lifetime(copy self)
        public func property(_ name: StaticString) -> Span<UInt8>? { property(name, level: depth) }

        @_optimize(size)
        @_lifetime(copy self)
        public func property(_ name: Span<UInt8>) -> Span<UInt8>? {
            guard let range = propertyRange(name, level: depth) else { return nil }
            return fdt.bytes.extracting(range)
        }

        /// Cell `index` of property `name` (big-endian 32-bit words).
        @inline(never)
        @_optimize(size)
        public func cell(_ name: StaticString, _ index: Int = 0) -> UInt32? {
            guard let value = propertyRange(name, level: depth), index >= 0, index < value.count / 4 else { return nil }
            return FDT.be32(fdt.bytes, value.lowerBound &+ index &* 4)
        }

        /// True when property `name` is a string (or string list) whose first entry is `value`.
        @inline(never)
        @_optimize(size)
        public func string(_ name: StaticString, is value: StaticString) -> Bool {
            guard let bytes = property(name) else { return false }
            return FDT.stringList(bytes, contains: value, firstOnly: true)
        }

        /// True when `compatible` lists `value`.
        @inline(never)
        @_optimize(size)
        public func isCompatible(with value: StaticString) -> Bool {
            guard let bytes = property("compatible") else { return false }
            return FDT.stringList(bytes, contains: value, firstOnly: false)
        }

        /// `status` absent, "okay" or "ok".
        @_optimize(size)
        public var isEnabled: Bool {
            guard let status = property("status") else { return true }
            return FDT.stringList(status, contains: "okay", firstOnly: true) || FDT.stringList(status, contains: "ok", firstOnly: true)
        }

        /// The current node's name matches `name` up to any unit address.
        @inline(never)
        @_optimize(size)
        public func isNamed(_ name: StaticString) -> Bool { FDT.nodeName(self.name, matches: name) }

        /// Entry `index` of `reg` as the parent's cells encode it, untranslated (a CPU's MPIDR).
        @_optimize(size)
        public func rawReg(_ index: Int) -> (address: UInt64, size: UInt64)? {
            guard depth >= 1, let reg = property("reg") else { return nil }
            let address = cells("#address-cells", level: depth &- 1, default: 2), size = cells("#size-cells", level: depth &- 1, default: 1)
            guard (1...2).contains(address), (0...2).contains(size) else { return nil }
            let stride = (address &+ size) &* 4
            // `index` may be anything: no product that could overflow.
            guard index >= 0, index < reg.count / stride else { return nil }
            return (FDT.cells(reg, index &* stride, address), FDT.cells(reg, index &* stride &+ address &* 4, size))
        }

        /// Entry `index` of `reg` as a CPU physical address and size, or nil when there is none
        /// or an ancestor does not map it (no `ranges`, or none of its windows holds it).
        @inline(never)
        @_optimize(size)
        public func reg(_ index: Int) -> (address: UInt64, size: UInt64)? {
            guard let (raw, size) = rawReg(index) else { return nil }
            var address = raw
            var level = depth - 1
            while level >= 1 {
                guard let mapped = translate(address, level: level) else { return nil }
                address = mapped
                level -= 1
            }
            return (address, size)
        }

        /// `address` in the children's space of the node at `level`, in that node's own space:
        /// through its `ranges` (absent: not mapped; empty: the same addresses).
        @_optimize(size)
        func translate(_ address: UInt64, level: Int) -> UInt64? {
            guard let ranges = property("ranges", level: level) else { return nil }
            if ranges.count == 0 { return address }
            let child = cells("#address-cells", level: level, default: 2), size = cells("#size-cells", level: level, default: 1)
            let parent = cells("#address-cells", level: level &- 1, default: 2)
            guard (1...2).contains(child), (1...2).contains(parent), (1...2).contains(size) else { return nil }
            let stride = (child &+ parent &+ size) &* 4
            var offset = 0
            while offset &+ stride <= ranges.count {
                let childBase = FDT.cells(ranges, offset, child)
                let parentBase = FDT.cells(ranges, offset &+ child &* 4, parent)
                let length = FDT.cells(ranges, offset &+ (child &+ parent) &* 4, size)
                if address >= childBase && address &- childBase < length {
                    // A window whose parent address wraps past 2^64 maps nothing there.
                    let (mapped, wrapped) = parentBase.addingReportingOverflow(address &- childBase)
                    return wrapped ? nil : mapped
                }
                offset &+= stride
            }
            return nil
        }

        /// Interrupt `index` of `interrupts` as an INTID, for the GIC's three-cell binding (SPI n is
        /// INTID 32 + n, PPI n is 16 + n).
        @inline(never)
        @_optimize(size)
        public func interrupt(_ index: Int) -> UInt32? {
            guard index >= 0, index < Int.max / 4, let type = cell("interrupts", index &* 3),
                  let number = cell("interrupts", index &* 3 &+ 1), number < 988 else { return nil }
            switch type {
            case 0: return number + 32
            case 1: return number < 16 ? number + 16 : nil
            default: return nil
            }
        }

        @_optimize(size)
        public func hasPath(_ path: StaticString) -> Bool { path.withBytes { hasPath($0) } }

        /// True when the current node's path is `path` (components match up to any unit address).
        @_optimize(size)
        public func hasPath(_ path: Span<UInt8>) -> Bool {
            guard depth >= 0, FDT.componentCount(path) == depth else { return false }
            var level = 1
            while level <= depth {
                if !FDT.nodeName(ancestorName(level), matches: path.extracting(FDT.component(path, level &- 1))) { return false }
                level += 1
            }
            return true
        }
    }

    /// A walk standing on the node at `path` (the first one matching), or nil.
    @_optimize(size)
    @_lifetime(copy self)
    public func walk(to path: Span<UInt8>) -> Walk? {
        var walk = Walk(self)
        while walk.next() {
            if walk.hasPath(path) { return walk }
        }
        return nil
    }

    @_optimize(size)
    @_lifetime(copy self)
    public func walk(to path: StaticString) -> Walk? {
        var walk = Walk(self)
        while walk.next() {
            if walk.hasPath(path) { return walk }
        }
        return nil
    }

    // MARK: Values

    /// `count` (0, 1 or 2) big-endian cells at `offset` as one number; the caller has checked
    /// they lie inside `value`.
    @_optimize(size)
    static func cells(_ value: Span<UInt8>, _ offset: Int, _ count: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<count { v = v << 32 | UInt64(be32(value, offset &+ i &* 4)) }
        return v
    }

    /// True when the NUL-separated list `list` holds `value` (as its first entry only, when
    /// `firstOnly`).
    @inline(never)
    @_optimize(size)
    static func stringList(_ list: Span<UInt8>, contains value: StaticString, firstOnly: Bool) -> Bool {
        value.withBytes { wanted in
            var start = 0
            while start < list.count {
                var end = start
                while end < list.count && list[end] != 0 { end += 1 }
                if equal(list.extracting(start..<end), wanted) { return true }
                if firstOnly { return false }
                start = end + 1
            }
            return false
        }
    }
}
