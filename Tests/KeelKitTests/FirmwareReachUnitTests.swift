import Foundation
import Testing
@testable import KeelKit

/// `FirmwareReach` and its instruction decoder on hand-made code.
@Suite("Firmware reach: which code runs after boot, from a hand-made ELF")
struct FirmwareReachUnitTests {
    /// Words assembled by aarch64-linux-gnu-as at 0x40000000 (`llvm-objdump -d` beside each).
    @Test("the decoder reads the targets that llvm-objdump prints for B, BL, B.cond, CBZ, TBNZ, ADR, ADRP, ADD and LDR (literal)")
    func decoder() {
        #expect(AArch64Reference(0x9400_0040) == .relative(0x100))  // bl 0x40000100
        #expect(AArch64Reference(0x17FF_FFFF) == .relative(-4))  // b 0x40000000 from +4
        #expect(AArch64Reference(0x5400_0041) == .relative(8))  // b.ne
        #expect(AArch64Reference(0xB400_0060) == .relative(12))  // cbz x0
        #expect(AArch64Reference(0x3718_0081) == .relative(16))  // tbnz w1, #3
        #expect(AArch64Reference(0x10FF_F840) == .relative(-248))  // adr x0, #-248
        #expect(AArch64Reference(0xB000_0022) == .page(register: 2, 0x5000))  // adrp x2, 0x40005000 from 0x40000018
        #expect(AArch64Reference(0x9104_8C42) == .addImmediate(register: 2, base: 2, 291))  // add x2, x2, #291
        #expect(AArch64Reference(0x9140_0883) == .addImmediate(register: 3, base: 4, 0x2000))  // add x3, x4, #2, lsl #12
        #expect(AArch64Reference(0x5800_0205) == .literal(0x40))  // ldr x5, literal
        #expect(AArch64Reference(0x1800_0205) == nil)  // ldr w5, literal: 4 bytes, no address
        #expect(AArch64Reference(0xAA01_03E0) == nil)  // mov x0, x1
        for end: UInt32 in [0xD65F_03C0, 0xD61F_0200, 0xD69F_03E0, 0xD420_0020, 0x1400_0000] { #expect(AArch64Reference.endsFlow(end)) }
        for goesOn: UInt32 in [0x9400_0040, 0xAA01_03E0, 0x5400_0041] { #expect(!AArch64Reference.endsFlow(goesOn)) }
    }

    static let base: UInt64 = 0x4008_0000
    /// The code below, by label (offset from `base`).
    static let labels: [(String, UInt64)] = [
        ("_start", 0x00),  // entry: bl main; b .
        ("main", 0x08),  // bl helper; ret
        ("keel_vectors", 0x10),  // bl handler; bl $e4Keel4Tail; eret
        ("keel_secondary_entry", 0x1C),  // adr x0, _start (the image's base, not a call); mov x0, x1: falls through
        ("after_secondary", 0x24),  // ret
        ("handler", 0x28),  // ret
        ("$e4Keel4Tail", 0x2C),  // bl handler: a Swift call that does not return, so no fall-through
        ("$e4Keel5After", 0x30),  // ret
        ("helper", 0x34),  // ldr x1, lit; ret
        ("lit", 0x3C),  // $d: the address of litfn, then a word that reads as `bl dead`
        ("litfn", 0x48), ("tablefn", 0x4C), ("dead", 0x50),  // ret each; .data holds tablefn's address
    ]
    static let code: [UInt32] = [
        0x9400_0002, 0x1400_0000, 0x9400_000B, 0xD65F_03C0, 0x9400_0006, 0x9400_0006, 0xD69F_03E0, 0x10FF_FF20, 0xAA01_03E0,
        0xD65F_03C0, 0xD65F_03C0, 0x97FF_FFFF, 0xD65F_03C0, 0x5800_0041, 0xD65F_03C0, 0x4008_0048, 0x0000_0000, 0x9400_0003,
        0xD65F_03C0, 0xD65F_03C0, 0xD65F_03C0,
    ]

    static func littleEndian(_ words: [UInt32]) -> [UInt8] { words.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } } }

    @Test("resident: the vectors, later CPUs' entries, what they call or fall into, functions whose address data holds; boot only: what the entry alone reaches")
    func classes() throws {
        let symbols = Self.labels.map { ($0.0, Self.base + $0.1, UInt64(0)) } + [("$d", Self.base + 0x3C, 0), ("$x", Self.base + 0x48, 0)]
        let tablefn = Self.base + 0x4C
        let data = Self.littleEndian([0xDEAD_BEEF, UInt32(truncatingIfNeeded: tablefn), UInt32(truncatingIfNeeded: tablefn >> 32)])
        let elf = BenchFiguresTests.elf(symbols: symbols, text: Self.littleEndian(Self.code), data: data, base: Self.base, entry: Self.base)
        let reach = try FirmwareReach(elf: elf, name: "hand.elf")
        #expect(Set(reach.resident.map(\.name)) == ["keel_vectors", "handler", "$e4Keel4Tail", "keel_secondary_entry", "after_secondary", "tablefn"])
        #expect(Set(reach.bootOnly.map(\.name)) == ["_start", "main", "helper", "lit", "litfn"])
        #expect(Set(reach.unreached.map(\.name)) == ["$e4Keel5After", "dead"])
        #expect(reach.residentBytes == 36 && reach.bootOnlyBytes == 40 && reach.unreachedBytes == 8)
    }

    @Test("a firmware without Keel's run-time entries, an entry outside the code or no code symbols is an error that says so")
    func refusals() {
        let code = Self.littleEndian(Self.code)
        let noVectors = Self.labels.filter { !$0.0.hasPrefix("keel_") }.map { ($0.0, Self.base + $0.1, UInt64(0)) }
        #expect { try FirmwareReach(elf: BenchFiguresTests.elf(symbols: noVectors, text: code, base: Self.base, entry: Self.base), name: "x.elf") } throws: {
            ($0 as? KeelError)?.message.contains("run-time entries") == true
        }
        let all = Self.labels.map { ($0.0, Self.base + $0.1, UInt64(0)) }
        #expect { try FirmwareReach(elf: BenchFiguresTests.elf(symbols: all, text: code, base: Self.base, entry: 0x1000), name: "x.elf") } throws: {
            ($0 as? KeelError)?.message.contains("entry point") == true
        }
        #expect { try FirmwareReach(elf: BenchFiguresTests.elf(symbols: [], text: code, base: Self.base, entry: Self.base), name: "x.elf") } throws: {
            ($0 as? KeelError)?.message.contains("no symbols") == true
        }
        #expect(throws: KeelError.self) { try FirmwareReach(elf: Array(BenchFiguresTests.elf(symbols: all, text: code, base: Self.base).prefix(200)), name: "cut") }
        let top = UInt64(Int.max) - 10
        #expect { try FirmwareReach(elf: BenchFiguresTests.elf(symbols: [("keel_vectors", top, 0)], text: code, base: top, entry: top), name: "x.elf") } throws: {
            ($0 as? KeelError)?.message.contains("past the end of the address space") == true
        }
    }
}
