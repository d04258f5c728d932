import Testing
@testable import KeelCore

@Suite("Exception classes against shared/reference/esr-exception-classes.tsv")
struct ExceptionClassTests {
    @Test("every EC value has the reference's name and description")
    func everyClassMatchesTheReference() throws {
        let rows = try ReferenceTables.rows("esr-exception-classes.tsv")
        #expect(rows.count == 64)
        for row in rows {
            let ec = ExceptionClass(rawValue: ReferenceTables.hexValue(row[0]))
            let linuxMacro = row[2], armDescription = row[5]
            if linuxMacro != "-" {
                let expected = String(linuxMacro.dropFirst("ESR_ELx_EC_".count))
                let name = ec.name.map { "\($0)" }
                // Linux spells the WFx class "WFx"; everything else is upper case.
                #expect(name == expected, "EC \(row[0])")
            } else if armDescription == "unallocated" {
                #expect(ec.name == nil, "EC \(row[0]) is unallocated")
                #expect("\(ec.summary)" == "unallocated")
            } else {
                #expect(ec.name != nil, "EC \(row[0]) (\(armDescription)) is allocated and needs a name")
            }
            if armDescription != "unallocated" {
                #expect(armDescription.hasPrefix("\(ec.summary)"), "EC \(row[0]): '\(ec.summary)' vs '\(armDescription)'")
            }
        }
    }
}

@Suite("ESR and ISS decoding")
struct ESRDecodingTests {
    @Test("a trapped 32-bit store to an unmapped IPA")
    func dataAbortWithSyndrome() {
        // str w1, [x2]: EC 0x24, IL, ISV, SAS=2 (word), SRT=1, WnR, DFSC translation fault L2.
        let esr = ESR(rawValue: 0x9381_0046)
        #expect(esr.ec == .dabtLow)
        #expect(esr.il)
        let iss = esr.dataAbort
        #expect(iss.isv)
        #expect(iss.sas == 2 && iss.accessBytes == 4)
        #expect(!iss.sse && !iss.sf && !iss.ar)
        #expect(iss.srt == 1)
        #expect(iss.wnr)
        #expect(!iss.s1ptw)
        #expect(iss.dfsc.kind == .translation && iss.dfsc.level == 2)
    }

    @Test("every field of the data abort ISS sits where the Arm ARM says")
    func dataAbortFieldPositions() {
        let iss = DataAbortISS(rawValue: 1 << 24 | 3 << 22 | 1 << 21 | 31 << 16 | 1 << 15 | 1 << 14 | 1 << 13
            | 2 << 11 | 1 << 10 | 1 << 9 | 1 << 8 | 1 << 7 | 1 << 6 | 0x21)
        #expect(iss.isv && iss.sas == 3 && iss.sse && iss.srt == 31 && iss.sf && iss.ar && iss.vncr)
        #expect(iss.set == 2 && iss.fnv && iss.ea && iss.cm && iss.s1ptw && iss.wnr)
        #expect(iss.dfsc.kind == .alignment)
        #expect(DataAbortISS(rawValue: 0).isv == false)
    }

    @Test("an instruction abort")
    func instructionAbort() {
        let esr = ESR(rawValue: 0x8200_0006)
        #expect(esr.ec == .iabtLow)
        #expect(esr.instructionAbort.ifsc.kind == .translation)
        #expect(esr.instructionAbort.ifsc.level == 2)
        #expect(InstructionAbortISS(rawValue: 1 << 7 | 1 << 10).s1ptw)
        #expect(InstructionAbortISS(rawValue: 1 << 7 | 1 << 10).fnv)
    }

    @Test("a trapped MRS of PMCR_EL0")
    func sysRegTrap() {
        // op0=3 op2=0 op1=3 CRn=9 Rt=0 CRm=12 read.
        let iss: UInt32 = 3 << 20 | 0 << 17 | 3 << 14 | 9 << 10 | 0 << 5 | 12 << 1 | 1
        let esr = ESR(ec: .sys64, il: true, iss: iss)
        #expect(esr.rawValue == 0x6230_E419)
        let access = esr.sysReg
        #expect(access.isRead)
        #expect(access.rt == 0)
        #expect(access.encoding == SysRegEncoding(op0: 3, op1: 3, crn: 9, crm: 12, op2: 0))
        #expect(access.encoding.isPMU)
        #expect(!access.encoding.isFeatureID)
        // msr actlr_el1, x5
        let write = SysRegISS(rawValue: 3 << 20 | 1 << 17 | 0 << 14 | 1 << 10 | 5 << 5 | 0 << 1 | 0)
        #expect(!write.isRead && write.rt == 5 && write.encoding == .actlrEL1)
    }

    @Test("the feature ID space and the PMU registers")
    func sysRegClasses() {
        #expect(SysRegEncoding.idAA64DFR0.isFeatureID)
        #expect(SysRegEncoding(op0: 3, op1: 0, crn: 0, crm: 7, op2: 7).isFeatureID)
        #expect(!SysRegEncoding(op0: 3, op1: 0, crn: 0, crm: 0, op2: 5).isFeatureID)  // MPIDR_EL1
        #expect(!SysRegEncoding(op0: 3, op1: 1, crn: 0, crm: 1, op2: 0).isFeatureID)
        #expect(SysRegEncoding(op0: 3, op1: 3, crn: 14, crm: 8, op2: 5).isPMU)  // PMEVCNTR5_EL0
        #expect(SysRegEncoding(op0: 3, op1: 0, crn: 9, crm: 14, op2: 1).isPMU)  // PMINTENSET_EL1
        #expect(SysRegEncoding(op0: 3, op1: 3, crn: 14, crm: 15, op2: 7).isPMU)  // PMCCFILTR_EL0
        #expect(!SysRegEncoding(op0: 3, op1: 3, crn: 14, crm: 3, op2: 1).isPMU)  // CNTV_CTL_EL0
        let e = SysRegEncoding(op0: 2, op1: 5, crn: 13, crm: 11, op2: 6)
        #expect(e.op0 == 2 && e.op1 == 5 && e.crn == 13 && e.crm == 11 && e.op2 == 6)
    }

    @Test("HVC, SMC and WFx syndromes")
    func immediateAndWFx() {
        #expect(ESR(rawValue: 0x5A00_1234).ec == .hvc64)
        #expect(ESR(rawValue: 0x5A00_1234).imm16 == 0x1234)
        #expect(ESR(rawValue: 0x5E00_0000).ec == .smc64)
        let wfe = ESR(rawValue: 0x0600_0001)
        #expect(wfe.ec == .wfx && wfe.wfx.kind == .wfe)
        #expect(ESR(rawValue: 0x0600_0000).wfx.kind == .wfi)
        let wfit = WFxISS(rawValue: 1 << 14 | 7 << 5 | 2)
        #expect(wfit.kind == .wfit && wfit.rv && wfit.rn == 7)
    }

    @Test("fields pack back into the same value")
    func buildFromFields() {
        let esr = ESR(ec: .dabtCur, il: true, iss: 0x50)
        #expect(esr.rawValue == 0x9600_0050)
        #expect(ESR(ec: .unknown, il: false, iss: 0xFFFF_FFFF).iss == 0x1FF_FFFF)
        #expect(ESR(rawValue: 0xAB << 32).iss2 == 0xAB)
        #expect(ESR(rawValue: 1 << 60).reservedBitsSet)
    }
}
