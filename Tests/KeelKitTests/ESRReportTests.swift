import Foundation
import Testing
@testable import KeelKit

@Suite("keel esr reports")
struct ESRReportTests {
    func field(_ report: ESRReport, _ name: String) -> String? {
        report.fields.first { $0.0 == name }?.1
    }

    @Test("a data abort with every ISS field")
    func dataAbort() {
        let report = ESRReport(0x9381_0046)
        #expect(field(report, "ec") == "0x24 DABT_LOW: Data Abort from a lower EL")
        #expect(field(report, "isv") == "1 (syndrome valid)")
        #expect(field(report, "sas") == "2 (4-byte access)")
        #expect(field(report, "srt") == "1 (x1)")
        #expect(field(report, "wnr") == "1 (write)")
        #expect(field(report, "dfsc") == "0x6 Translation fault, level 2")
        #expect(report.text.contains("dfsc   0x6 Translation fault, level 2"))
    }

    @Test("a trapped system register is named")
    func sysReg() {
        let report = ESRReport(0x6230_E419)
        #expect(field(report, "register") == "PMCR_EL0")
        #expect(field(report, "direction") == "read (MRS)")
        #expect(field(ESRReport(0x6232_6001), "register") == "S3_1_C8_C0_1")
    }

    @Test("HVC immediates, WFx kinds")
    func others() {
        #expect(field(ESRReport(0x5A00_1234), "imm16") == "0x1234")
        #expect(field(ESRReport(0x0600_0001), "ti") == "1 (WFE)")
    }

    @Test("unallocated classes and stray bits are reported, not fatal")
    func oddValues() {
        #expect(field(ESRReport(0x3F << 26), "ec")?.hasPrefix("0x3f UNALLOCATED") == true)
        #expect(field(ESRReport(1 << 63), "warning") == "bits [63:56] are RES0 but set")
        #expect(field(ESRReport(0x0B << 26 | 0x1FF_FFFF), "iss") == "0x1ffffff")
    }

    @Test("JSON carries the same fields")
    func json() throws {
        let object = try JSONSerialization.jsonObject(with: Data(ESRReport(0x9600_0050).json.utf8)) as! [String: Any]
        #expect(object["ec_name"] as? String == "DABT_CUR")
        #expect(object["dfsc_name"] as? String == "Synchronous External abort")
        #expect(object["wnr"] as? Bool == true)
        #expect(object["value"] as? UInt64 == 0x9600_0050)
    }

    @Test("values parse as hex or decimal")
    func parse() {
        #expect(ESRReport.parse("0x96000050") == 0x9600_0050)
        #expect(ESRReport.parse("0X9600_0050") == 0x9600_0050)
        #expect(ESRReport.parse("42") == 42)
        #expect(ESRReport.parse("0x") == nil)
        #expect(ESRReport.parse("esr") == nil)
    }
}
