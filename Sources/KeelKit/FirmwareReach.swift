import Foundation
import KeelCore

/// Which of the firmware's code can still run once it has booted: the code reachable from the
/// exception vectors, from the entries of CPUs started later (PSCI CPU_ON, the spin table) and
/// from every function whose address is stored in data (the trap table), against the code only
/// the boot entry reaches (reading the DTB and the VM tables, building stage 2). What a firmware
/// that dropped its boot code after boot, as Linux and Xen free their init sections, would keep.
///
/// Read from the ELF's code itself: direct branches and calls (B, BL, B.cond, CBZ, CBNZ, TBZ,
/// TBNZ), addresses formed by ADR and ADRP + ADD or loaded from a literal, and 8-byte words of
/// the data sections that hold a function's address. Assembly falls through into the next label;
/// Swift functions do not. An indirect call through an address built any other way is not seen:
/// the resident figure is an upper bound only as far as the firmware forms addresses these ways.
public struct FirmwareReach: Sendable {
    public struct Function: Sendable, Equatable {
        public var name: String
        public var address: Int
        public var bytes: Int
    }

    /// Code reachable after boot (vectors, later CPUs' entries, address-taken functions).
    public var resident: [Function] = []
    /// Code only the boot entry reaches.
    public var bootOnly: [Function] = []
    /// Code neither reaches (padding between labels counts with the label before it).
    public var unreached: [Function] = []

    public var residentBytes: Int { resident.reduce(0) { $0 + $1.bytes } }
    public var bootOnlyBytes: Int { bootOnly.reduce(0) { $0 + $1.bytes } }
    public var unreachedBytes: Int { unreached.reduce(0) { $0 + $1.bytes } }

    /// The firmware's own run-time entries besides address-taken functions: the vector tables
    /// (every symbol named so) and the entries of CPUs started after boot.
    public static let runtimeEntryPrefixes = ["keel_vectors"]
    public static let runtimeEntries = ["keel_secondary_entry", "keel_spin_table_entry"]

    public init(elf path: String) throws {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw KeelError("cannot read '\(path)'") }
        try self.init(elf: [UInt8](bytes), name: path)
    }

    public init(elf bytes: [UInt8], name: String) throws {
        let elf = try ELF64(bytes, name: name)
        let loaded = elf.sections.enumerated().filter { $0.element.flags & ELF64.shfAlloc != 0 && $0.element.type != ELF64.shtNoBits }
        for (_, section) in loaded where section.address > Int.max - section.size {
            throw KeelError("'\(name)': section \(section.name) runs past the end of the address space")
        }
        guard let (textIndex, text) = loaded.first(where: { $0.element.flags & ELF64.shfExec != 0 }) else {
            throw KeelError("'\(name)' has no code section")
        }
        let code = try elf.contents(text)
        let textEnd = text.address + text.size
        // Functions: the code section's symbols by address, one per address, each up to the next.
        // `$x` and `$d` are the linker's mapping symbols, not functions.
        var starts: [(address: Int, name: String)] = []
        var mapping: [(address: Int, isData: Bool)] = []  // where code and data (literal pools, labels of words) begin
        for symbol in try elf.symbols() where symbol.section == textIndex && !symbol.name.isEmpty
            && symbol.value >= text.address && symbol.value < textEnd {
            if symbol.name == "$x" || symbol.name.hasPrefix("$x.") || symbol.name == "$d" || symbol.name.hasPrefix("$d.") {
                mapping.append((symbol.value, symbol.name.hasPrefix("$d")))
            } else {
                starts.append((symbol.value, symbol.name))
            }
        }
        mapping.sort { $0.address < $1.address }
        starts.sort { $0.address < $1.address }
        var functions: [Function] = []
        for start in starts where functions.last?.address != start.address {
            functions.append(Function(name: start.name, address: start.address, bytes: 0))
        }
        guard !functions.isEmpty else { throw KeelError("'\(name)' has no symbols in its code") }
        for i in functions.indices {
            functions[i].bytes = (i + 1 < functions.count ? functions[i + 1].address : textEnd) - functions[i].address
        }
        let addresses = functions.map(\.address)
        func function(at address: Int) -> Int? {
            guard address >= addresses[0], address < textEnd else { return nil }
            var low = 0, high = addresses.count  // the last start <= address
            while high - low > 1 { let mid = (low + high) / 2; if addresses[mid] <= address { low = mid } else { high = mid } }
            return low
        }
        func word(_ address: Int, width: Int) -> UInt64? {
            for (_, section) in loaded where address >= section.address && address + width <= section.address + section.size {
                guard let contents = try? elf.contents(section) else { return nil }
                return LittleEndian.load(width, at: address - section.address, in: contents.span)
            }
            return nil
        }

        // Edges: every address an instruction of one function names in another. The boot entry
        // is nobody's callee: the boot loader enters it once, and an address of it is the image's
        // base (`keel_image_start`).
        guard let boot = function(at: try elf.entry()) else { throw KeelError("'\(name)': its entry point is outside its code") }
        var edges = [Set<Int>](repeating: [], count: functions.count)
        for (index, f) in functions.enumerated() {
            var pages: [UInt32: Int] = [:]  // ADRP's page per register, within this function
            var last: UInt32 = 0
            var next = mapping.firstIndex { $0.address > f.address } ?? mapping.endIndex
            var isData = mapping[..<next].last?.isData ?? false
            for pc in stride(from: f.address, to: f.address + f.bytes - 3, by: 4) {
                while next < mapping.endIndex, mapping[next].address <= pc { isData = mapping[next].isData; next += 1 }
                guard !isData else { continue }
                let w = UInt32(LittleEndian.load(4, at: pc - text.address, in: code.span))
                last = w
                var target: Int?
                var pool: Int?  // a literal's own place: its words go with the code that loads them
                switch AArch64Reference(w) {
                case .relative(let offset): target = pc + offset
                case .page(let register, let offset): pages[register] = (pc & ~0xFFF) + offset
                case .addImmediate(let register, let base, let value):
                    if let page = pages[base] { target = page + value }
                    pages[register] = nil
                case .literal(let offset): pool = pc + offset; target = word(pc + offset, width: 8).flatMap { Int(exactly: $0) }
                case nil: break
                }
                for address in [target, pool].compactMap({ $0 }) {
                    if let g = function(at: address), g != index, g != boot { edges[index].insert(g) }
                }
            }
            let swift = f.name.hasPrefix("$e") || f.name.hasPrefix("$s") || f.name.hasPrefix("OUTLINED_FUNCTION")
            if !swift, !AArch64Reference.endsFlow(last), index + 1 < functions.count { edges[index].insert(index + 1) }
        }

        // Roots: the run-time entries and every function whose address a data word holds.
        var roots = Set<Int>()
        for (i, f) in functions.enumerated()
        where Self.runtimeEntries.contains(f.name) || Self.runtimeEntryPrefixes.contains(where: { f.name.hasPrefix($0) }) {
            roots.insert(i)
        }
        guard !roots.isEmpty else { throw KeelError("'\(name)' has none of Keel's run-time entries (\(Self.runtimeEntries.joined(separator: ", ")))") }
        let byAddress = Dictionary(functions.enumerated().map { ($0.element.address, $0.offset) }, uniquingKeysWith: { a, _ in a })
        for (_, section) in loaded where section.flags & ELF64.shfExec == 0 {
            let contents = try elf.contents(section)
            for at in stride(from: 0, to: contents.count - 7, by: 4) {
                if let address = Int(exactly: LittleEndian.load(8, at: at, in: contents.span)), let i = byAddress[address] { roots.insert(i) }
            }
        }
        func closure(_ from: Set<Int>) -> Set<Int> {
            var seen = from, stack = Array(from)
            while let f = stack.popLast() { for g in edges[f] where seen.insert(g).inserted { stack.append(g) } }
            return seen
        }
        let after = closure(roots)
        let atBoot = closure([boot])
        for (i, f) in functions.enumerated() {
            if after.contains(i) { resident.append(f) } else if atBoot.contains(i) { bootOnly.append(f) } else { unreached.append(f) }
        }
    }
}

/// The AArch64 instructions that name an address: what `FirmwareReach` follows.
enum AArch64Reference: Equatable {
    /// B, BL, B.cond, CBZ, CBNZ, TBZ, TBNZ, ADR: the instruction's address plus this.
    case relative(Int)
    /// ADRP: the instruction's 4 KiB page plus this, into a register.
    case page(register: UInt32, Int)
    /// ADD (immediate, 64-bit): `base` plus this, into `register`.
    case addImmediate(register: UInt32, base: UInt32, Int)
    /// LDR (literal, 64-bit): the 8 bytes at the instruction's address plus this.
    case literal(Int)

    init?(_ w: UInt32) {
        func signed(_ value: UInt32, bits: Int) -> Int { Int(Int32(bitPattern: value << UInt32(32 - bits)) >> Int32(32 - bits)) }
        switch w {
        case _ where w & 0x7C00_0000 == 0x1400_0000: self = .relative(signed(w & 0x03FF_FFFF, bits: 26) * 4)  // B, BL
        case _ where w & 0xFF00_0010 == 0x5400_0000: self = .relative(signed(w >> 5 & 0x7FFFF, bits: 19) * 4)  // B.cond
        case _ where w & 0x7E00_0000 == 0x3400_0000: self = .relative(signed(w >> 5 & 0x7FFFF, bits: 19) * 4)  // CBZ, CBNZ
        case _ where w & 0x7E00_0000 == 0x3600_0000: self = .relative(signed(w >> 5 & 0x3FFF, bits: 14) * 4)  // TBZ, TBNZ
        case _ where w & 0x9F00_0000 == 0x1000_0000: self = .relative(signed((w >> 5 & 0x7FFFF) << 2 | w >> 29 & 3, bits: 21))  // ADR
        case _ where w & 0x9F00_0000 == 0x9000_0000:  // ADRP
            self = .page(register: w & 31, signed((w >> 5 & 0x7FFFF) << 2 | w >> 29 & 3, bits: 21) << 12)
        case _ where w & 0xFF80_0000 == 0x9100_0000:  // ADD Xd, Xn, #imm{, LSL #12}
            self = .addImmediate(register: w & 31, base: w >> 5 & 31, Int(w >> 10 & 0xFFF) << (w >> 22 & 1 == 1 ? 12 : 0))
        case _ where w & 0xFF00_0000 == 0x5800_0000: self = .literal(signed(w >> 5 & 0x7FFFF, bits: 19) * 4)  // LDR Xt, literal
        default: return nil
        }
    }

    /// B, BR, RET, ERET, BRK: nothing after this instruction runs because of it.
    static func endsFlow(_ w: UInt32) -> Bool {
        w & 0xFC00_0000 == 0x1400_0000 || w & 0xFFFF_FC1F == 0xD61F_0000 || w & 0xFFFF_FC1F == 0xD65F_0000
            || w == 0xD69F_03E0 || w & 0xFFE0_001F == 0xD420_0000
    }
}
