import Testing
@testable import KeelCore

@Suite("Stage-2 descriptors and geometry")
struct Stage2Tests {
    @Test("a 2 MiB block of guest RAM")
    func normalBlock() {
        let d = Stage2Descriptor.leaf(level: 2, output: 0x5000_0000, memory: .normal, access: .readWrite, executable: true)
        // 01 block | MemAttr 1111 | S2AP 11 | SH 11 | AF
        #expect(d.rawValue == 0x5000_07FD)
        #expect(d.isValid && !d.isTableOrPage)
        #expect(d.outputAddress == 0x5000_0000)
        #expect(d.memory == .normal && d.access == .readWrite && d.accessFlag && d.executable)
    }

    @Test("a 4 KiB device page, read-only, never executable")
    func devicePage() {
        let d = Stage2Descriptor.leaf(level: 3, output: 0x0900_0000, memory: .device, access: .readOnly, executable: false)
        #expect(d.rawValue == 0x0900_0000 | 0b11 | 0b0001 << 2 | 0b01 << 6 | 1 << 10 | 0b10 << 53)
        #expect(d.isTableOrPage)
        #expect(d.memory == .device && d.access == .readOnly && !d.executable)
    }

    @Test("table descriptors keep only the output address")
    func table() {
        let d = Stage2Descriptor.table(at: 0x4008_1FFF)
        #expect(d.rawValue == 0x4008_1003)
        #expect(d.isValid && d.isTableOrPage && d.outputAddress == 0x4008_1000)
        #expect(!Stage2Descriptor.invalid.isValid)
    }

    @Test("indices and block sizes per level")
    func indices() {
        #expect(Stage2Descriptor.blockSize(level: 1) == 1 << 30)
        #expect(Stage2Descriptor.blockSize(level: 2) == 2 << 20)
        #expect(Stage2Descriptor.blockSize(level: 3) == 4096)
        let ipa: UInt64 = 0x1_4060_3000 | 7 << 30  // above 4 GiB: only a concatenated root indexes it
        #expect(Stage2Descriptor.index(of: ipa, level: 1) == Int(ipa >> 30))
        #expect(Stage2Descriptor.index(of: ipa, level: 2) == Int((ipa >> 21) & 511))
        #expect(Stage2Descriptor.index(of: ipa, level: 3) == Int((ipa >> 12) & 511))
    }

    @Test("VTCR_EL2 for a 44-bit PA machine: 40-bit IPA, two concatenated level-1 tables")
    func geometry44() {
        let g = Stage2Geometry(paRange: 4)
        #expect(g.ipaBits == 40)
        #expect(g.rootEntries == 1024 && g.rootBytes == 8192)
        #expect(g.vtcr == 0x8004_3558)  // T0SZ 24, SL0 1, WBWA, inner shareable, 4K, PS 44-bit
        #expect(g.ipaLimit == 1 << 40)
    }

    @Test("small and large PA ranges")
    func geometryEdges() {
        let small = Stage2Geometry(paRange: 0)
        #expect(small.ipaBits == 32 && small.rootEntries == 4 && small.rootBytes == 4096)
        #expect(small.vtcr & 0x3F == 32 && (small.vtcr >> 16) & 7 == 0)
        let large = Stage2Geometry(paRange: 6)  // 52 bits: clamped, no LPA2
        #expect(large.paRange == 5 && large.ipaBits == 40)
        #expect(Stage2Geometry.paRange(ofBits: 40) == 2)
        #expect(Stage2Geometry.paRange(ofBits: 36) == 1)
        #expect(Stage2Geometry.bits(ofPARange: 5) == 48)
    }
}

@Suite("Exceptions Keel injects into EL1")
struct InjectionTests {
    let vbar: UInt64 = 0x4000_0800

    @Test("UNDEF from EL1h goes to the current-EL SPx vector")
    func undefinedFromEL1h() {
        let e = EL1Exception.undefined(vbar: vbar, pstate: 0x3C5, pc: 0x4000_00D0)
        #expect(e.vector == 0x4000_0A00)
        #expect(e.pstate == 0x3C5)
        #expect(e.spsr == 0x3C5 && e.elr == 0x4000_00D0)
        #expect(e.esr.rawValue == 0x0200_0000)
    }

    @Test("vector offsets by interrupted mode")
    func vectorOffsets() {
        #expect(EL1Exception.vectorOffset(fromPSTATE: 0x3C4) == 0x000)  // EL1t
        #expect(EL1Exception.vectorOffset(fromPSTATE: 0x3C5) == 0x200)  // EL1h
        #expect(EL1Exception.vectorOffset(fromPSTATE: 0x000) == 0x400)  // EL0, AArch64
        #expect(EL1Exception.vectorOffset(fromPSTATE: 0x010) == 0x600)  // EL0, AArch32
    }

    @Test("a refused store from EL1 becomes a same-EL external data abort with WnR")
    func dataAbortFromEL1() {
        let e = EL1Exception.externalAbort(vbar: vbar, pstate: 0x3C5, pc: 0x4000_00A4, trapped: ESR(rawValue: 0x9381_0046))
        #expect(e.esr.rawValue == 0x9600_0050)
        #expect(e.vector == 0x4000_0A00 && e.elr == 0x4000_00A4)
    }

    @Test("from EL0 it is a lower-EL abort, taken at the lower-EL vector")
    func dataAbortFromEL0() {
        let e = EL1Exception.externalAbort(vbar: vbar, pstate: 0x0, pc: 0x1000, trapped: ESR(rawValue: 0x9300_0007))
        #expect(e.esr.ec == .dabtLow)
        #expect(e.esr.rawValue == 0x9200_0010)
        #expect(e.vector == 0x4000_0C00)
    }

    @Test("an instruction abort keeps no WnR")
    func instructionAbort() {
        let e = EL1Exception.externalAbort(vbar: vbar, pstate: 0x3C5, pc: 0x3000_0000, trapped: ESR(rawValue: 0x8200_0046))
        #expect(e.esr.rawValue == 0x8600_0010)
    }
}

@Suite("MMIO access values")
struct MMIOAccessTests {
    @Test("only syndromes with ISV describe an access")
    func needsISV() {
        #expect(MMIOAccess(DataAbortISS(rawValue: 0x46)) == nil)
        let a = MMIOAccess(DataAbortISS(rawValue: 0x0181_0046))!
        #expect(a.isWrite && a.bytes == 4 && a.register == 1 && !a.is64Bit)
    }

    @Test("loads are cut to their width and sign-extended as SSE and SF say")
    func loads() {
        let ldrsbX = MMIOAccess(DataAbortISS(rawValue: 1 << 24 | 0 << 22 | 1 << 21 | 1 << 15))!
        #expect(ldrsbX.loadedValue(0xF0) == 0xFFFF_FFFF_FFFF_FFF0)
        let ldrsbW = MMIOAccess(DataAbortISS(rawValue: 1 << 24 | 0 << 22 | 1 << 21))!
        #expect(ldrsbW.loadedValue(0xF0) == 0xFFFF_FFF0)
        let ldrb = MMIOAccess(DataAbortISS(rawValue: 1 << 24))!
        #expect(ldrb.loadedValue(0x1F0) == 0xF0)
        let ldrX = MMIOAccess(DataAbortISS(rawValue: 1 << 24 | 3 << 22 | 1 << 15))!
        #expect(ldrX.loadedValue(0x1234_5678_9ABC_DEF0) == 0x1234_5678_9ABC_DEF0)
    }

    @Test("stores write only the accessed bytes")
    func stores() {
        let strh = MMIOAccess(DataAbortISS(rawValue: 1 << 24 | 1 << 22 | 1 << 6))!
        #expect(strh.storedValue(register: 0xDEAD_BEEF) == 0xBEEF)
    }
}

@Suite("Feature ID registers as guests see them")
struct FeatureIDTests {
    @Test("the PMU is hidden")
    func pmuHidden() {
        // QEMU cortex-a72's ID_AA64DFR0_EL1: PMUVer 1.
        let v = FeatureID.sanitize(.idAA64DFR0, hardware: 0x1030_5106, ipaBits: 40)
        #expect((v >> 8) & 0xF == 0)
        #expect(v & 0xF == 0x6)  // DebugVer kept
        #expect(FeatureID.sanitize(.idDFR0, hardware: 0x0301_0066, ipaBits: 40) >> 24 & 0xF == 0)
    }

    @Test("PARange is the VM's IPA size")
    func paRange() {
        #expect(FeatureID.sanitize(.idAA64MMFR0, hardware: 0x1124, ipaBits: 40) == 0x1122)
        #expect(FeatureID.sanitize(.idAA64MMFR0, hardware: 0x1121, ipaBits: 40) == 0x1121)
    }

    @Test("SVE, SME, MTE and AMU are hidden; other registers pass through")
    func others() {
        let pfr0 = FeatureID.sanitize(.idAA64PFR0, hardware: 0x0000_1011_1111_2222, ipaBits: 40)
        #expect((pfr0 >> 32) & 0xF == 0 && (pfr0 >> 44) & 0xF == 0)
        #expect(pfr0 & 0xFFFF == 0x2222)
        let pfr1 = FeatureID.sanitize(.idAA64PFR1, hardware: 0x0100_0200, ipaBits: 40)
        #expect(pfr1 == 0)
        let isar0 = SysRegEncoding(op0: 3, op1: 0, crn: 0, crm: 6, op2: 0)
        #expect(FeatureID.sanitize(isar0, hardware: 0x1234, ipaBits: 40) == 0x1234)
    }
}
