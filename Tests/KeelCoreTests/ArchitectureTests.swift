import Testing
@testable import KeelCore

/// ID register values QEMU 7.2 presents (read by a guest under Keel; the fields used here are
/// ones Keel does not sanitize, or sanitizes to what the hardware has anyway).
enum QEMUCPU {
    static let max = CPUFeatures(pfr0: 0x1201_0010_2111_0222, pfr1: 0x21, mmfr0: 0x3_2310_2011_22,
                                 mmfr1: 0x110_1021_1122, mmfr2: 0x1021_0110_1001_1011, isar1: 0x11_1111_0121_1012)
    static let cortexA72 = CPUFeatures(pfr0: 0x100_0222, mmfr0: 0x1122)
}

@Suite("CPU features from the ID registers (issue 12)")
struct CPUFeaturesTests {
    @Test("QEMU's max CPU: PAN, SSBS, DIT, UAO, BTI, RAS, LOR, HCX; no MTE, NMI, GCS or FGT")
    func qemuMax() {
        let f = QEMUCPU.max
        #expect(f.hasPAN && f.hasSSBS && f.hasDIT && f.hasUAO && f.hasBTI)
        #expect(f.hasRAS && f.hasLOR && f.hasHCX)
        #expect(!f.hasMTE && !f.hasNMI && !f.hasGCS && !f.hasFGT && !f.hasFGT2 && !f.hasAMU)
    }

    @Test("Cortex-A72: none of them")
    func cortexA72() {
        let f = QEMUCPU.cortexA72
        #expect(!f.hasPAN && !f.hasSSBS && !f.hasDIT && !f.hasUAO && !f.hasRAS && !f.hasLOR)
        #expect(!f.hasFGT && !f.hasHCX && !f.hasMTE && !f.hasNMI && !f.hasGCS)
    }

    @Test("each field is read at its place")
    func fieldPositions() {
        #expect(CPUFeatures(pfr0: 1 << 28).hasRAS && CPUFeatures(pfr0: 1 << 44).hasAMU && CPUFeatures(pfr0: 1 << 48).hasDIT)
        #expect(CPUFeatures(pfr1: 1 << 4).hasSSBS && CPUFeatures(pfr1: 1 << 8).hasMTE && CPUFeatures(pfr1: 1 << 36).hasNMI)
        #expect(CPUFeatures(pfr1: 1 << 44).hasGCS && CPUFeatures(pfr1: 1 << 48).hasTHE && CPUFeatures(pfr1: 1).hasBTI)
        #expect(CPUFeatures(pfr2: 1 << 32).hasFPMR)
        #expect(CPUFeatures(mmfr0: 1 << 56).hasFGT && !CPUFeatures(mmfr0: 1 << 56).hasFGT2 && CPUFeatures(mmfr0: 2 << 56).hasFGT2)
        #expect(CPUFeatures(mmfr1: 1 << 16).hasLOR && CPUFeatures(mmfr1: 1 << 20).hasPAN && CPUFeatures(mmfr1: 1 << 40).hasHCX)
        #expect(CPUFeatures(mmfr2: 1 << 4).hasUAO)
        #expect(CPUFeatures(mmfr3: 1).hasTCR2 && CPUFeatures(mmfr3: 1 << 4).hasSCTLR2 && CPUFeatures(mmfr3: 1 << 8).hasS1PIE)
        #expect(CPUFeatures(mmfr3: 1 << 16).hasS1POE && CPUFeatures(mmfr3: 1 << 20).hasS2POE && CPUFeatures(mmfr3: 1 << 24).hasAIE)
        #expect(CPUFeatures(isar1: 3 << 60).ls64 == 3 && CPUFeatures(isar2: 1 << 16).hasMOPS)
        // A neighbouring field does not count.
        #expect(!CPUFeatures(pfr0: 1 << 32).hasRAS && !CPUFeatures(mmfr1: 1 << 12).hasLOR && !CPUFeatures(mmfr1: 1 << 24).hasPAN)
    }

    @Test("the firmware's indexes are CRm * 8 + op2 of each register")
    func indexes() {
        #expect(CPUFeatures.pfr0Index == 32 && CPUFeatures.pfr1Index == 33 && CPUFeatures.pfr2Index == 34)
        #expect(CPUFeatures.isar1Index == 49 && CPUFeatures.isar2Index == 50)
        #expect(CPUFeatures.mmfr0Index == 56 && CPUFeatures.mmfr1Index == 57 && CPUFeatures.mmfr2Index == 58 && CPUFeatures.mmfr3Index == 59)
    }
}

@Suite("PSTATE on an exception entry to EL1 (issue 12, item 3)")
struct EntryPSTATETests {
    let el1h: UInt64 = 0x3C5
    /// Every optional PSTATE feature.
    let all = CPUFeatures(pfr0: 1 << 48, pfr1: 1 << 4 | 1 << 8 | 1 << 36 | 1 << 44 | 1, mmfr1: 1 << 20, mmfr2: 1 << 4)

    func entry(_ old: UInt64, sctlr: UInt64 = EL1EntryControls.span, features: CPUFeatures, gcscr: UInt64 = 0) -> UInt64 {
        EL1Exception.entryPSTATE(interrupted: old, EL1EntryControls(sctlr: sctlr, features: features, gcscr: gcscr))
    }

    @Test("EL1h with D, A, I, F masked, whatever the interrupted mode and masks")
    func modeAndMasks() {
        #expect(entry(0x0, features: CPUFeatures()) == 0x3C5)
        #expect(entry(0x3C4, features: CPUFeatures()) == 0x3C5)
        #expect(entry(0x010, features: CPUFeatures()) == 0x3C5)
    }

    @Test("N, Z, C, V are kept")
    func flags() {
        #expect(entry(0xF000_0000, features: CPUFeatures()) == 0xF000_03C5)
        #expect(entry(0x5000_0000 | el1h, features: CPUFeatures()) == 0x5000_03C5)
    }

    @Test("PAN is set when SCTLR_EL1.SPAN is 0 (FEAT_PAN)")
    func panSet() {
        #expect(entry(el1h, sctlr: 0, features: all) & ProcessState.pan != 0)
        #expect(entry(0x0, sctlr: 0, features: all) & ProcessState.pan != 0)  // from EL0 too
        #expect(entry(0x010, sctlr: 0, features: all) & ProcessState.pan != 0)  // and AArch32 EL0
    }

    @Test("PAN is kept when SCTLR_EL1.SPAN is 1")
    func panKept() {
        #expect(entry(el1h | ProcessState.pan, features: all) & ProcessState.pan != 0)
        #expect(entry(el1h, features: all) & ProcessState.pan == 0)
    }

    @Test("no PAN bit on a CPU without FEAT_PAN, whatever SPAN and the old value say")
    func panNeedsFeature() {
        let noPAN = CPUFeatures(pfr0: all.pfr0, pfr1: all.pfr1, mmfr2: all.mmfr2)
        #expect(entry(el1h | ProcessState.pan, sctlr: 0, features: noPAN) & ProcessState.pan == 0)
    }

    @Test("SSBS is SCTLR_EL1.DSSBS (FEAT_SSBS)")
    func ssbs() {
        #expect(entry(el1h, sctlr: EL1EntryControls.span | EL1EntryControls.dssbs, features: all) & ProcessState.ssbs != 0)
        #expect(entry(el1h | ProcessState.ssbs, features: all) & ProcessState.ssbs == 0)
        #expect(entry(el1h, sctlr: EL1EntryControls.dssbs, features: CPUFeatures()) & ProcessState.ssbs == 0)
    }

    @Test("TCO is set (FEAT_MTE), and only then")
    func tco() {
        #expect(entry(el1h, features: all) & ProcessState.tco != 0)
        #expect(entry(el1h | ProcessState.tco, features: CPUFeatures(pfr1: 1 << 4)) & ProcessState.tco == 0)
    }

    @Test("UAO is cleared")
    func uao() {
        #expect(entry(el1h | ProcessState.uao, features: all) & ProcessState.uao == 0)
    }

    @Test("DIT is kept (FEAT_DIT)")
    func dit() {
        #expect(entry(el1h | ProcessState.dit, features: all) & ProcessState.dit != 0)
        #expect(entry(el1h, features: all) & ProcessState.dit == 0)
        #expect(entry(el1h | ProcessState.dit, features: CPUFeatures()) & ProcessState.dit == 0)
    }

    @Test("BTYPE, SS and IL are cleared")
    func clearedBits() {
        let old = el1h | ProcessState.btype | ProcessState.ss | ProcessState.il
        #expect(entry(old, features: all) & (ProcessState.btype | ProcessState.ss | ProcessState.il) == 0)
    }

    @Test("ALLINT is NOT SCTLR_EL1.SPINTMASK (FEAT_NMI), whatever it was")
    func allint() {
        #expect(entry(el1h, features: all) & ProcessState.allint != 0)
        let masked = EL1EntryControls.span | EL1EntryControls.spintmask
        #expect(entry(el1h | ProcessState.allint, sctlr: masked, features: all) & ProcessState.allint == 0)
        #expect(entry(el1h, features: CPUFeatures()) & ProcessState.allint == 0)
    }

    @Test("EXLOCK is GCSCR_EL1.EXLOCKEN from EL1, clear from EL0 (FEAT_GCS)")
    func exlock() {
        let lock = EL1EntryControls.exlocken
        #expect(entry(el1h, features: all, gcscr: lock) & ProcessState.exlock != 0)
        #expect(entry(el1h | ProcessState.exlock, features: all) & ProcessState.exlock == 0)
        #expect(entry(0x0, features: all, gcscr: lock) & ProcessState.exlock == 0)
        #expect(entry(el1h, features: CPUFeatures(), gcscr: lock) & ProcessState.exlock == 0)
    }

    @Test("from AArch32 EL0: IT, T, GE, Q, E and the AArch32 SSBS (bit 23) are not carried over")
    func fromAArch32() {
        // User mode, T32, IT 0xFF, GE 0xF, Q, E, SSBS(AArch32), N Z C V, DIT, PAN.
        let old: UInt64 = 0xF000_0000 | 1 << 27 | 3 << 25 | ProcessState.dit | 1 << 23 | ProcessState.pan
            | 0xF << 16 | 0x3F << 10 | 1 << 9 | 0x30
        let new = entry(old, features: all)
        #expect(new == 0xF000_0000 | ProcessState.dit | ProcessState.pan | ProcessState.tco | ProcessState.allint | 0x3C5)
    }

    @Test("the values the entry_pstate guest sees on QEMU's max CPU")
    func qemuMaxScenarios() {
        let span0 = EL1EntryControls(sctlr: EL1EntryControls.dssbs, features: QEMUCPU.max)
        #expect(EL1Exception.entryPSTATE(interrupted: 0x80_03C5, span0) == 0x40_13C5)
        let span1 = EL1EntryControls(sctlr: EL1EntryControls.span, features: QEMUCPU.max)
        #expect(EL1Exception.entryPSTATE(interrupted: 0x40_13C5, span1) == 0x40_03C5)
        let flags = EL1EntryControls(sctlr: 0, features: QEMUCPU.max)
        #expect(EL1Exception.entryPSTATE(interrupted: 0xA100_03C5, flags) == 0xA140_03C5)
        #expect(EL1Exception.entryPSTATE(interrupted: 0x3C0, span0) == 0x40_13C5)
        // Cortex-A72: nothing optional.
        let a72 = EL1EntryControls(sctlr: 0, features: QEMUCPU.cortexA72)
        #expect(EL1Exception.entryPSTATE(interrupted: 0xA000_03C5, a72) == 0xA000_03C5)
    }

    @Test("the injected exception carries the entry PSTATE; SPSR_EL1 is the interrupted one")
    func injected() {
        let c = EL1EntryControls(sctlr: 0, features: QEMUCPU.max)
        let u = EL1Exception.undefined(vbar: 0x4000_0800, pstate: 0x80_03C5, pc: 0x4000_0100, controls: c)
        #expect(u.pstate == 0x40_03C5 && u.spsr == 0x80_03C5 && u.vector == 0x4000_0A00)
        let a = EL1Exception.externalAbort(vbar: 0x4000_0800, pstate: 0x0, pc: 0x1000, trapped: ESR(rawValue: 0x9300_0007), controls: c)
        #expect(a.pstate == 0x40_03C5 && a.vector == 0x4000_0C00)
    }

    @Test("ESR.IL is 1 for the injected UNDEF and abort, even for a 16-bit T32 instruction")
    func instructionLength() {
        // A trapped 16-bit T32 load (IL clear) from AArch32 EL0, refused.
        let t16 = ESR(rawValue: 0x9180_0046)
        #expect(!t16.il)
        let a = EL1Exception.externalAbort(vbar: 0, pstate: 0x30, pc: 0x1000, trapped: t16)
        #expect(a.esr.il && a.esr.ec == .dabtLow && a.vector == 0x600)
        let u = EL1Exception.undefined(vbar: 0, pstate: 0x30, pc: 0x1000)
        #expect(u.esr.rawValue == 0x200_0000)
    }
}

@Suite("AArch32 conditions and IT blocks (issue 12, item 4)")
struct AArch32Tests {
    /// The condition codes by their definition (Arm ARM, A32 condition codes).
    static func reference(_ cond: UInt32, n: Bool, z: Bool, c: Bool, v: Bool) -> Bool {
        switch cond {
        case 0x0: z
        case 0x1: !z
        case 0x2: c
        case 0x3: !c
        case 0x4: n
        case 0x5: !n
        case 0x6: v
        case 0x7: !v
        case 0x8: c && !z
        case 0x9: !c || z
        case 0xA: n == v
        case 0xB: n != v
        case 0xC: !z && n == v
        case 0xD: z || n != v
        default: true
        }
    }

    @Test("every condition against every NZCV")
    func conditions() {
        for cond in UInt32(0)...15 {
            for nzcv in UInt64(0)...15 {
                let expected = Self.reference(cond, n: nzcv & 8 != 0, z: nzcv & 4 != 0, c: nzcv & 2 != 0, v: nzcv & 1 != 0)
                #expect(AArch32.conditionHolds(cond, nzcv: nzcv) == expected, "cond \(cond) nzcv \(nzcv)")
            }
        }
    }

    @Test("IT[7:0] is read from and written to SPSR[15:10] and [26:25]")
    func itBits() {
        let spsr: UInt64 = 0x30 | (0x1A >> 2) << 10 | (0x1A & 3) << 25
        #expect(AArch32.itState(spsr) == 0x1A)
        #expect(AArch32.withITState(spsr, 0) == 0x30)
        #expect(AArch32.withITState(0xF000_0030, 0xFF) == 0xF000_0030 | 0x3F << 10 | 3 << 25)
    }

    @Test("ITAdvance through ITTE NE and ITTTT EQ")
    func itAdvance() {
        // itte ne: IT = 0x1A; slots NE, NE, EQ.
        #expect(AArch32.advanceIT(0x1A) == 0x14)
        #expect(AArch32.advanceIT(0x14) == 0x08)
        #expect(AArch32.advanceIT(0x08) == 0)
        // itttt eq: IT = 0x01 << 0 | ... firstcond 0000, mask 0001: 4 slots.
        var it: UInt64 = 0x01
        var slots = 1
        while it != 0 { it = AArch32.advanceIT(it); slots += it == 0 ? 0 : 1 }
        #expect(slots == 4)
        // A single-instruction block (it eq: 0x08) ends after it.
        #expect(AArch32.advanceIT(0x08) == 0)
    }

    @Test("a trapped instruction from AArch64, or of a class without CV/COND, always passes")
    func unconditional() {
        let failing = ESR(rawValue: 1 << 26 | 1 << 24 | 0x0 << 20)  // WFx, CV, EQ
        #expect(AArch32.conditionPassed(failing, spsr: 0x3C5))  // AArch64: Z clear, still passes
        let abort = ESR(rawValue: 0x24 << 26 | 1 << 24)
        #expect(AArch32.conditionPassed(abort, spsr: 0x30))
    }

    @Test("CV/COND decide; without CV the IT block's condition does; outside a block, unconditional")
    func conditional() {
        let wfiEQ = ESR(rawValue: 1 << 26 | 1 << 24 | 0x0 << 20)
        #expect(!AArch32.conditionPassed(wfiEQ, spsr: 0x30))  // Z clear
        #expect(AArch32.conditionPassed(wfiEQ, spsr: 0x4000_0030))  // Z set
        let cp15NE = ESR(rawValue: 3 << 26 | 1 << 25 | 1 << 24 | 0x1 << 20)
        #expect(!AArch32.conditionPassed(cp15NE, spsr: 0x4000_0030))
        let noCV = ESR(rawValue: 1 << 26)
        #expect(AArch32.conditionPassed(noCV, spsr: 0x4000_0030))  // no IT block
        let inNEBlock = AArch32.withITState(0x4000_0030, 0x1A)  // itte ne, Z set: NE fails
        #expect(!AArch32.conditionPassed(noCV, spsr: inNEBlock))
        #expect(AArch32.conditionPassed(noCV, spsr: AArch32.withITState(0x30, 0x1A)))
    }

    @Test("stepping: A32 4 bytes; T32 2 or 4 bytes and the IT state advanced; 32-bit addresses")
    func step() {
        let a32 = AArch32.step(pc: 0x1000, spsr: 0x10, il: true)
        #expect(a32.pc == 0x1004 && a32.spsr == 0x10)
        let t16 = AArch32.step(pc: 0x1000, spsr: 0x30, il: false)
        #expect(t16.pc == 0x1002 && t16.spsr == 0x30)
        let inBlock = AArch32.withITState(0x30, 0x1A)
        let t16it = AArch32.step(pc: 0x1000, spsr: inBlock, il: false)
        #expect(t16it.pc == 0x1002 && AArch32.itState(t16it.spsr) == 0x14 && t16it.spsr & 0xFFFF_FFFF_F9FF_03FF == 0x30)
        let t32it = AArch32.step(pc: 0x1000, spsr: AArch32.withITState(0x30, 0x08), il: true)
        #expect(t32it.pc == 0x1004 && t32it.spsr == 0x30)
        #expect(AArch32.step(pc: 0xFFFF_FFFE, spsr: 0x30, il: false).pc == 0)
    }
}

@Suite("RAS and LORegions hidden from guests (issue 12, item 5)")
struct RASLORFeatureIDTests {
    @Test("ID_AA64PFR0.RAS, ID_AA64PFR1.RAS_frac, ID_AA64MMFR1.LO and the AArch32 RAS fields read 0")
    func hidden() {
        let pfr0 = FeatureID.sanitize(.idAA64PFR0, hardware: QEMUCPU.max.pfr0, ipaBits: 40)
        #expect((pfr0 >> 28) & 0xF == 0)
        #expect((pfr0 >> 48) & 0xF == 1 && pfr0 & 0xFFF == 0x222)  // DIT and the ELs stay
        #expect((FeatureID.sanitize(.idAA64PFR1, hardware: 0x1021, ipaBits: 40) >> 12) & 0xF == 0)
        #expect(FeatureID.sanitize(.idAA64PFR1, hardware: 0x1021, ipaBits: 40) == 0x21)  // BT, SSBS stay
        let mmfr1 = FeatureID.sanitize(.idAA64MMFR1, hardware: QEMUCPU.max.mmfr1, ipaBits: 40)
        #expect((mmfr1 >> 16) & 0xF == 0)
        #expect(mmfr1 == QEMUCPU.max.mmfr1 & ~(0xF << 16))  // PAN, HCX, VH... stay
        #expect(FeatureID.sanitize(.idPFR0, hardware: 0x1102_0131, ipaBits: 40) == 0x0102_0131)
        #expect(FeatureID.sanitize(.idPFR2, hardware: 0x111, ipaBits: 40) == 0x011)
    }
}

@Suite("Fine-grained traps and HCRX_EL2 (issue 12, item 9)")
struct TrapControlsTests {
    func bits(_ positions: UInt64...) -> UInt64 { positions.reduce(0) { $0 | 1 << $1 } }

    @Test("a CPU with no later feature: nothing enabled, every negative-polarity trap on")
    func none() {
        let f = QEMUCPU.cortexA72
        #expect(TrapControls.hfgxtr(f) == 0 && TrapControls.hfgitr(f) == 0 && TrapControls.hcrx(f) == 0)
        #expect(TrapControls.hdfgxtr == 0 && TrapControls.hafgrtr == 0 && TrapControls.fgt2 == 0)
        // QEMU 7.2's max has HCX but none of the features HCRX_EL2 enables: it stays 0.
        #expect(TrapControls.hcrx(QEMUCPU.max) == 0 && TrapControls.hfgxtr(QEMUCPU.max) == 0)
    }

    @Test("the nXXX register traps open only for features the guest is shown")
    func negativeBits() {
        #expect(TrapControls.hfgxtr(CPUFeatures(mmfr3: 1 << 24)) == bits(63, 62))  // AIE
        #expect(TrapControls.hfgxtr(CPUFeatures(mmfr3: 1 << 20)) == bits(61))  // S2POE
        #expect(TrapControls.hfgxtr(CPUFeatures(mmfr3: 1 << 16)) == bits(60, 59))  // S1POE
        #expect(TrapControls.hfgxtr(CPUFeatures(mmfr3: 1 << 8)) == bits(58, 57))  // S1PIE
        #expect(TrapControls.hfgxtr(CPUFeatures(pfr1: 1 << 48)) == bits(56))  // THE
        #expect(TrapControls.hfgxtr(CPUFeatures(pfr1: 1 << 44)) == bits(53, 52))  // GCS
        #expect(TrapControls.hfgxtr(CPUFeatures(isar1: 3 << 60)) == bits(50))  // LS64_ACCDATA
        #expect(TrapControls.hfgxtr(CPUFeatures(isar1: 2 << 60)) == 0)
        #expect(TrapControls.hfgitr(CPUFeatures(pfr1: 1 << 44)) == bits(59, 58, 57))
        // SME is hidden: nTPIDR2_EL0 and nSMPRI_EL1 (55, 54) stay trapping.
        #expect(TrapControls.hfgxtr(CPUFeatures(pfr1: 1 << 24)) & (1 << 55 | 1 << 54) == 0)
    }

    @Test("HCRX_EL2 enables of the features present")
    func hcrx() {
        #expect(TrapControls.hcrx(CPUFeatures(isar2: 1 << 16)) == bits(11))  // MOPS: MSCEn, not MCE2
        #expect(TrapControls.hcrx(CPUFeatures(mmfr3: 1)) == bits(14))  // TCR2En
        #expect(TrapControls.hcrx(CPUFeatures(mmfr3: 1 << 4)) == bits(15))  // SCTLR2En
        #expect(TrapControls.hcrx(CPUFeatures(pfr1: 1 << 44)) == bits(22))  // GCSEn
        #expect(TrapControls.hcrx(CPUFeatures(pfr2: 1 << 32)) == bits(23))  // EnFPM
        #expect(TrapControls.hcrx(CPUFeatures(isar1: 1 << 60)) == bits(1))  // EnALS
        #expect(TrapControls.hcrx(CPUFeatures(isar1: 3 << 60)) == 0b111)  // EnAS0, EnALS, EnASR
    }
}
