/// A flattened device tree (DTB) writer, the counterpart of `KeelCore.FDT`: build a tree of
/// `FDTNode`s, then `FDTWriter.blob(root:)` lays it out as the Devicetree Specification's
/// version 17 format (last compatible version 16), big-endian, every block 4-byte aligned
/// (the memory reservation block 8-byte aligned) and property names stored once each.

/// A property value, encoded as the specification says.
public enum FDTValue: Equatable, Sendable {
    /// No value: a boolean property such as `interrupt-controller`.
    case empty
    /// 32-bit cells (also phandles and `<&label>` references).
    case u32([UInt32])
    /// 64-bit values, each as two cells, high first.
    case u64([UInt64])
    /// One NUL-terminated string.
    case string(String)
    /// A string list: each NUL-terminated, back to back.
    case strings([String])
    /// Raw bytes, as they are.
    case bytes([UInt8])

    /// The bytes of the value in the blob (before alignment padding).
    public var encoded: [UInt8] {
        switch self {
        case .empty: return []
        case .u32(let cells): return cells.flatMap(FDTWriter.bigEndian)
        case .u64(let values): return values.flatMap { FDTWriter.bigEndian(UInt32($0 >> 32)) + FDTWriter.bigEndian(UInt32($0 & 0xFFFF_FFFF)) }
        case .string(let s): return Array(s.utf8) + [0]
        case .strings(let list): return list.flatMap { Array($0.utf8) + [0] }
        case .bytes(let bytes): return bytes
        }
    }
}

/// A node: a name (`""` for the root, otherwise `name` or `name@unit-address`), ordered
/// properties, ordered children.
public struct FDTNode: Equatable, Sendable {
    public struct Property: Equatable, Sendable {
        public var name: String
        public var value: FDTValue
        public init(_ name: String, _ value: FDTValue) { self.name = name; self.value = value }
    }

    public var name: String
    public var properties: [Property]
    public var children: [FDTNode]

    public init(_ name: String, properties: [Property] = [], children: [FDTNode] = []) {
        self.name = name
        self.properties = properties
        self.children = children
    }

    /// Sets property `name`, replacing its value if it exists (keeping its place), appending it
    /// otherwise.
    public mutating func set(_ name: String, _ value: FDTValue) {
        if let i = properties.firstIndex(where: { $0.name == name }) {
            properties[i].value = value
        } else {
            properties.append(Property(name, value))
        }
    }

    public mutating func set(_ name: String, u32 cells: UInt32...) { set(name, .u32(cells)) }
    public mutating func set(_ name: String, string: String) { set(name, .string(string)) }
    public mutating func set(_ name: String, strings: String...) { set(name, .strings(strings)) }
    /// A boolean (empty) property.
    public mutating func set(flag name: String) { set(name, .empty) }

    /// Gives the node phandle `handle` (the `phandle` property), so other nodes can refer to it.
    public mutating func setPhandle(_ handle: FDTPhandle) { set("phandle", .u32([handle.value])) }

    public mutating func add(_ child: FDTNode) { children.append(child) }

    public func property(_ name: String) -> FDTValue? { properties.first { $0.name == name }?.value }
    public func child(_ name: String) -> FDTNode? { children.first { $0.name == name } }
}

/// A phandle: a node's 32-bit handle, never 0 or 0xFFFFFFFF.
public struct FDTPhandle: Equatable, Hashable, Sendable {
    public let value: UInt32
}

/// Hands out phandles 1, 2, 3, ...
public struct FDTPhandles: Sendable {
    private var next: UInt32 = 1
    public init() {}
    public mutating func allocate() -> FDTPhandle {
        precondition(next < 0xFFFF_FFFF, "out of phandles")
        defer { next += 1 }
        return FDTPhandle(value: next)
    }
}

public enum FDTWriter {
    public static let magic: UInt32 = 0xD00D_FEED
    public static let version: UInt32 = 17
    public static let lastCompatibleVersion: UInt32 = 16
    static let headerSize = 40

    enum Token {
        static let beginNode: UInt32 = 1
        static let endNode: UInt32 = 2
        static let prop: UInt32 = 3
        static let end: UInt32 = 9
    }

    /// The DTB of the tree under `root` (whose name must be empty). Throws `KeelError` for what
    /// the format cannot hold: NUL bytes in names or strings, empty or `/`-containing node names,
    /// duplicate property or child names.
    public static func blob(root: FDTNode, bootCPU: UInt32 = 0) throws -> [UInt8] {
        guard root.name.isEmpty else { throw KeelError("device tree: the root node's name must be empty, not '\(root.name)'") }
        var strings = StringTable()
        var structure: [UInt8] = []
        try emit(root, path: "", into: &structure, strings: &strings)
        structure += bigEndian(Token.end)

        // Header, memory reservation block (just the terminating entry), structure, strings.
        let reserveOffset = align(headerSize, 8)
        let structOffset = reserveOffset + 16
        let stringsOffset = structOffset + structure.count
        let total = stringsOffset + strings.bytes.count
        var out: [UInt8] = []
        out.reserveCapacity(total)
        for field in [magic, UInt32(total), UInt32(structOffset), UInt32(stringsOffset), UInt32(reserveOffset),
                      version, lastCompatibleVersion, bootCPU, UInt32(strings.bytes.count), UInt32(structure.count)] {
            out += bigEndian(field)
        }
        out += [UInt8](repeating: 0, count: reserveOffset - out.count)
        out += [UInt8](repeating: 0, count: 16)
        out += structure
        out += strings.bytes
        return out
    }

    private static func emit(_ node: FDTNode, path: String, into out: inout [UInt8], strings: inout StringTable) throws {
        let isRoot = path.isEmpty
        let nodePath = isRoot ? "/" : path
        out += bigEndian(Token.beginNode)
        out += Array(node.name.utf8) + [0]
        pad(&out)

        var seen = Set<String>()
        for property in node.properties {
            guard !property.name.isEmpty, !property.name.utf8.contains(0) else {
                throw KeelError("device tree: invalid property name '\(property.name)' in '\(nodePath)'")
            }
            guard seen.insert(property.name).inserted else {
                throw KeelError("device tree: property '\(property.name)' appears twice in '\(nodePath)'")
            }
            switch property.value {
            case .string(let s) where s.utf8.contains(0):
                throw KeelError("device tree: property '\(property.name)' of '\(nodePath)' contains a NUL character")
            case .strings(let list) where list.contains(where: { $0.utf8.contains(0) }):
                throw KeelError("device tree: property '\(property.name)' of '\(nodePath)' contains a NUL character")
            default: break
            }
            let value = property.value.encoded
            out += bigEndian(Token.prop)
            out += bigEndian(UInt32(value.count))
            out += bigEndian(strings.offset(of: property.name))
            out += value
            pad(&out)
        }

        var names = Set<String>()
        for child in node.children {
            guard !child.name.isEmpty, !child.name.utf8.contains(UInt8(ascii: "/")), !child.name.utf8.contains(0) else {
                throw KeelError("device tree: invalid node name '\(child.name)' under '\(nodePath)'")
            }
            guard names.insert(child.name).inserted else {
                throw KeelError("device tree: node '\(child.name)' appears twice under '\(nodePath)'")
            }
            try emit(child, path: (isRoot ? "" : path) + "/" + child.name, into: &out, strings: &strings)
        }
        out += bigEndian(Token.endNode)
    }

    /// Property names, each stored once.
    struct StringTable {
        var bytes: [UInt8] = []
        var offsets: [String: UInt32] = [:]
        mutating func offset(of name: String) -> UInt32 {
            if let offset = offsets[name] { return offset }
            let offset = UInt32(bytes.count)
            bytes += Array(name.utf8) + [0]
            offsets[name] = offset
            return offset
        }
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func align(_ value: Int, _ alignment: Int) -> Int { (value + alignment - 1) & ~(alignment - 1) }

    private static func pad(_ bytes: inout [UInt8]) {
        bytes += [UInt8](repeating: 0, count: align(bytes.count, 4) - bytes.count)
    }
}
