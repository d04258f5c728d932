import Foundation
import Testing
@testable import KeelKit

@Suite("Benchmark figures from guest output and from the firmware ELF")
struct BenchFiguresTests {
    @Test("interrupt figures are ticks times the counter period per event")
    func perEvent() {
        // 62.5 MHz: 16 ns a tick, 1 instruction per ns under -icount shift=0.
        let output = "[keel] noise\nbench: timer_back_to_back 1024 0xa00\nbench: ipi_round_trip 1024 6464\nbench: cntfrq 0x3b9aca0\n"
        let figures = IRQBench.perEvent(output)
        #expect(figures["timer_back_to_back"] == 40)
        #expect(figures["ipi_round_trip"] == 101)
        #expect(IRQBench.perEvent("bench: timer_latency 1024 0x10\n").isEmpty)  // no counter frequency: no figures
    }

    @Test("the native side boots the guest's ELF at EL1 with the same -icount as Keel's side")
    func nativeCommand() {
        let arguments = IRQBench.nativeArguments(elf: "build/guests/benchirq.elf")
        #expect(!arguments.joined(separator: " ").contains("virtualization=on"))
        #expect(arguments.contains("shift=0,sleep=off") && arguments.contains("build/guests/benchirq.elf"))
        #expect(arguments[arguments.firstIndex(of: "-smp")! + 1] == "2")
    }

    /// A minimal ELF64 with a section header table: .text (AX), .rodata (A), .data (WA), .bss
    /// (WA, NOBITS), a symbol table and its strings. With `text`, .text holds those bytes at
    /// `base`, every symbol is defined in it, `data` is .data's contents at `base + 0x10000` and
    /// `entry` the entry point.
    static func elf(symbols: [(String, UInt64, UInt64)], truncateTo: Int? = nil, text: [UInt8]? = nil, data: [UInt8]? = nil,
                    base: UInt64 = 0, entry: UInt64 = 0) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        func put(_ v: UInt64, _ width: Int, at: Int) { for i in 0..<width { out[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        out.replaceSubrange(0..<6, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1])
        var shstr: [UInt8] = [0]
        func name(_ s: String, in table: inout [UInt8]) -> Int { defer { table += Array(s.utf8) + [0] }; return table.count }
        var strtab: [UInt8] = [0]
        var symtab = [UInt8](repeating: 0, count: 24)
        for (n, value, size) in symbols {
            var entry = [UInt8](repeating: 0, count: 24)
            let offset = name(n, in: &strtab)
            for i in 0..<4 { entry[i] = UInt8(truncatingIfNeeded: offset >> (8 * i)) }
            for i in 0..<8 { entry[8 + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))); entry[16 + i] = UInt8(truncatingIfNeeded: size >> (8 * UInt64(i))) }
            if text != nil { entry[6] = 1 }  // defined in .text
            symtab += entry
        }
        struct S { var name: Int; var type: UInt32; var flags: UInt64; var address: UInt64; var offset: Int; var size: Int; var link: Int }
        var sections: [S] = [S(name: 0, type: 0, flags: 0, address: 0, offset: 0, size: 0, link: 0)]
        func add(_ n: String, _ type: UInt32, _ flags: UInt64, _ size: Int, _ link: Int = 0, contents: [UInt8]? = nil, address: UInt64 = 0) {
            let at = out.count
            if let contents { out += contents } else if type != 8 { out += [UInt8](repeating: 0, count: size) }
            sections.append(S(name: name(n, in: &shstr), type: type, flags: flags, address: address, offset: at, size: contents?.count ?? size, link: link))
        }
        add(".text", 1, 6, 1000, contents: text, address: base)
        add(".rodata", 1, 2, 100)
        add(".data", 1, 3, 40, contents: data, address: data == nil ? 0 : base + 0x10000)
        add(".bss", 8, 3, 5000)
        add(".symtab", 2, 0, 0, 6, contents: symtab)
        add(".strtab", 3, 0, 0, contents: strtab)
        add(".shstrtab", 3, 0, 0, contents: shstr)
        let shoff = out.count
        for s in sections {
            var h = [UInt8](repeating: 0, count: 64)
            func hp(_ v: UInt64, _ w: Int, _ at: Int) { for i in 0..<w { h[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
            hp(UInt64(s.name), 4, 0); hp(UInt64(s.type), 4, 4); hp(s.flags, 8, 8); hp(s.address, 8, 16); hp(UInt64(s.offset), 8, 24)
            hp(UInt64(s.size), 8, 32); hp(UInt64(s.link), 4, 40)
            out += h
        }
        put(entry, 8, at: 0x18); put(UInt64(shoff), 8, at: 0x28); put(64, 2, at: 0x3A); put(UInt64(sections.count), 2, at: 0x3C); put(UInt64(sections.count - 1), 2, at: 0x3E)
        if let truncateTo { out = Array(out.prefix(truncateTo)) }
        return out
    }

    static let poolSymbols: [(String, UInt64, UInt64)] = [
        ("keel_max_cpus_value", 8, 0), ("keel_vcpu_slot_value", 2048, 0), ("keel_stack_size_value", 0x4000, 0),
        ("keel_page_pool", 0x4000_1000, 65536), ("keel_vm_slot_value", 1024, 0),
        ("$e4Keel10TraceRingsO5rings33_XYZ", 0x4000_3000, 41088),
    ]

    @Test("sections are counted by kind and the pools come from the firmware's own symbols")
    func footprint() throws {
        let size = try FirmwareFootprint(elf: BenchFiguresTests.elf(symbols: BenchFiguresTests.poolSymbols), name: "test.elf")
        #expect(size.text == 1000 && size.rodata == 100 && size.data == 40 && size.bss == 5000 && size.loaded == 1140)
        #expect(size.maxCPUs == 8 && size.ramPerVCPU == 2048 + 0x4000 && size.pagePool == 65536)
        #expect(size.vmStructure == 1024 && size.traceRings == 41088)
    }

    @Test("a section that claims more bytes than the file holds is an error, not a sum past Int.max")
    func sectionBeyondFile() {
        var elf = BenchFiguresTests.elf(symbols: BenchFiguresTests.poolSymbols)
        let shoff = (0..<8).reduce(0) { $0 | Int(elf[0x28 + $1]) << (8 * $1) }
        for i in 0..<8 { elf[shoff + 64 + 32 + i] = UInt8(truncatingIfNeeded: UInt64(Int.max) >> (8 * UInt64(i))) }  // .text's size
        #expect { try FirmwareFootprint(elf: elf, name: "huge.elf") } throws: { ($0 as? KeelError)?.message.contains("outside the file") == true }
        #expect(throws: KeelError.self) { try FirmwareReach(elf: elf, name: "huge.elf") }
    }

    @Test("a stripped, truncated or foreign file is an error that says so")
    func badELF() {
        #expect(throws: KeelError.self) { try FirmwareFootprint(elf: Array("not an elf at all, not at all".utf8), name: "x") }
        let missing = BenchFiguresTests.poolSymbols.filter { $0.0 != "keel_vcpu_slot_value" }
        #expect { try FirmwareFootprint(elf: BenchFiguresTests.elf(symbols: missing), name: "x.elf") } throws: { error in
            (error as? KeelError)?.message.contains("keel_vcpu_slot_value") == true
        }
        let whole = BenchFiguresTests.elf(symbols: BenchFiguresTests.poolSymbols)
        for cut in stride(from: 0, to: whole.count, by: 37) {
            #expect(throws: KeelError.self) { try FirmwareFootprint(elf: Array(whole.prefix(cut)), name: "cut.elf") }
        }
    }
}
