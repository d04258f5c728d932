import Foundation
import KeelCore

/// How much memory the firmware takes, read from its ELF (`build/hyp/keel.elf`): the loaded
/// sections by kind, and the static pools Keel reserves for vCPUs, stacks and stage-2 tables.
/// The pool limits come from absolute symbols the firmware exports (`keel_*_value`, mm/pool.S),
/// so nothing here repeats the firmware's constants.
public struct FirmwareFootprint: Equatable, Sendable {
    /// Executable sections (code, the vectors).
    public var text = 0
    /// Read-only data (tables, strings, the build id note).
    public var rodata = 0
    /// Writable data with initial contents (.data, .got).
    public var data = 0
    /// Zeroed at boot (.bss): the pools, stacks, trace rings.
    public var bss = 0
    /// Per vCPU: its slot in the vCPU pool and its physical CPU's stack.
    public var vcpuSlot = 0
    public var stackPerCPU = 0
    public var maxCPUs = 0
    /// Per VM: its slot in the VM pool (the `VM` structure: vGIC distributor state, layout, UART).
    public var vmStructure = 0
    /// The page pool every VM's stage-2 tables come from.
    public var pagePool = 0
    /// Per CPU trace ring.
    public var traceRings = 0

    public var loaded: Int { text + rodata + data }
    public var ramPerVCPU: Int { vcpuSlot + stackPerCPU }

    public init() {}

    /// Reads `path`, a little-endian ELF64. Errors name what is missing or malformed.
    public init(elf path: String) throws {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw KeelError("cannot read '\(path)'") }
        try self.init(elf: [UInt8](bytes), name: path)
    }

    public init(elf bytes: [UInt8], name: String) throws {
        let elf = try ELF64(bytes, name: name)
        for section in elf.sections where section.flags & ELF64.shfAlloc != 0 {
            // A section with contents lies in the file (`contents` says so otherwise); .bss does not.
            let size = section.type == ELF64.shtNoBits ? section.size : try elf.contents(section).count
            let total: WritableKeyPath<FirmwareFootprint, Int> = section.type == ELF64.shtNoBits ? \.bss
                : section.flags & ELF64.shfExec != 0 ? \.text : section.flags & ELF64.shfWrite != 0 ? \.data : \.rodata
            let (sum, overflow) = self[keyPath: total].addingReportingOverflow(size)
            guard !overflow else { throw KeelError("'\(name)': section sizes add up past any memory") }
            self[keyPath: total] = sum
        }
        let symbols = try elf.symbols()
        func value(_ symbol: String) throws -> Int {
            guard let found = symbols.first(where: { $0.name == symbol }) else { throw KeelError("'\(name)' has no symbol \(symbol)") }
            return found.value
        }
        func size(_ predicate: (String) -> Bool, _ what: String) throws -> Int {
            guard let symbol = symbols.first(where: { predicate($0.name) }) else { throw KeelError("'\(name)' has no \(what) symbol") }
            return symbol.size
        }
        maxCPUs = try value("keel_max_cpus_value")
        vcpuSlot = try value("keel_vcpu_slot_value")
        stackPerCPU = try value("keel_stack_size_value")
        pagePool = try size({ $0 == "keel_page_pool" }, "keel_page_pool")
        // Swift's mangled name of `TraceRings.rings` (module Keel).
        vmStructure = try value("keel_vm_slot_value")
        traceRings = try size({ $0.hasPrefix("$e4Keel10TraceRingsO5rings") }, "trace ring")
    }
}

/// The few parts of an ELF64 (little-endian) that the footprint needs: section headers and the
/// symbol table. Bounds are checked; a truncated or foreign file is an error, not a crash.
struct ELF64 {
    static let shfWrite = 0x1, shfAlloc = 0x2, shfExec = 0x4
    static let shtSymtab: UInt32 = 2, shtNoBits: UInt32 = 8

    struct Section { var name: String; var type: UInt32; var flags: Int; var address = 0; var offset: Int; var size: Int; var link: Int }
    /// `section`: the index of the section the symbol is defined in (0: undefined; 0xFFF1: absolute).
    struct Symbol { var name: String; var value: Int; var size: Int; var section = 0 }

    let bytes: [UInt8]
    let name: String
    private(set) var sections: [Section] = []

    init(_ bytes: [UInt8], name: String) throws {
        self.bytes = bytes
        self.name = name
        guard bytes.count >= 64, bytes[0..<4] == [0x7F, 0x45, 0x4C, 0x46], bytes[4] == 2, bytes[5] == 1 else {
            throw KeelError("'\(name)' is not a little-endian ELF64 file")
        }
        let shoff = try int(0x28, 8), shentsize = try int(0x3A, 2), shnum = try int(0x3C, 2), shstrndx = try int(0x3E, 2)
        guard shentsize == 64, shstrndx < shnum else { throw KeelError("'\(name)': unexpected section header table") }
        guard shoff <= bytes.count, shnum * 64 <= bytes.count - shoff else { throw KeelError("'\(name)' is truncated (section headers)") }
        var raw: [(nameOffset: Int, section: Section)] = []
        for i in 0..<shnum {
            let at = shoff + i * 64
            raw.append((try int(at, 4), Section(name: "", type: UInt32(try int(at + 4, 4)), flags: try int(at + 8, 8), address: try int(at + 16, 8),
                                                offset: try int(at + 24, 8), size: try int(at + 32, 8), link: try int(at + 40, 4))))
        }
        let names = try contents(raw[shstrndx].section)
        sections = try raw.map { entry in
            var section = entry.section
            section.name = try string(entry.nameOffset, in: names)
            return section
        }
    }

    func symbols() throws -> [Symbol] {
        guard let table = sections.first(where: { $0.type == ELF64.shtSymtab }), table.link < sections.count else {
            throw KeelError("'\(name)' has no symbol table (was it stripped?)")
        }
        let strings = try contents(sections[table.link]), entries = try contents(table)
        return try stride(from: entries.startIndex, to: entries.endIndex - 23, by: 24).map { at in
            Symbol(name: try string(int(at, 4), in: strings), value: try int(at + 8, 8), size: try int(at + 16, 8), section: try int(at + 6, 2))
        }
    }

    /// The entry point (e_entry).
    func entry() throws -> Int { try int(0x18, 8) }

    /// A section's contents (empty for one without any in the file, as .bss).
    func contents(_ section: Section) throws -> ArraySlice<UInt8> {
        guard section.type != ELF64.shtNoBits else { return [] }
        guard section.offset >= 0, section.size >= 0, section.offset <= bytes.count, section.size <= bytes.count - section.offset else {
            throw KeelError("'\(name)': section \(section.name) lies outside the file")
        }
        return bytes[section.offset..<section.offset + section.size]
    }

    private func int(_ at: Int, _ width: Int) throws -> Int {
        guard at >= 0, at <= bytes.count - width else { throw KeelError("'\(name)' is truncated (offset \(at))") }
        let value = LittleEndian.load(width, at: at, in: bytes.span)
        guard value <= UInt64(Int.max) else { throw KeelError("'\(name)': value out of range at offset \(at)") }
        return Int(value)
    }

    /// The NUL-terminated string at `offset` in a string table (`contents` of its section).
    private func string(_ offset: Int, in table: ArraySlice<UInt8>) throws -> String {
        guard offset >= 0, offset <= table.count else { throw KeelError("'\(name)': string outside its table") }
        let text = table[(table.startIndex + offset)...]
        return String(decoding: text.prefix { $0 != 0 }, as: UTF8.self)
    }
}
