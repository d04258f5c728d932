import Testing
@testable import KeelCore

@Suite("Fault status codes against shared/reference/fault-status-codes.tsv")
struct FaultStatusTests {
    @Test("every listed code decodes to its meaning and level")
    func everyListedCode() throws {
        let rows = try ReferenceTables.rows("fault-status-codes.tsv")
        #expect(rows.count == 46)
        var listed = Set<UInt8>()
        for row in rows {
            let code = ReferenceTables.hexValue(row[0])
            listed.insert(code)
            let meaning = row[2]
            let status = FaultStatus(rawValue: code)
            #expect(status.kind != .reserved, "\(row[0]) is listed")
            #expect(meaning.hasPrefix("\(status.kind.name)"), "\(row[0]): '\(status.kind.name)' vs '\(meaning)'")
            if let level = status.level {
                #expect(meaning.contains("level \(level)"), "\(row[0]) level \(level) vs '\(meaning)'")
            } else {
                #expect(!meaning.contains("level "), "\(row[0]) should have a level: '\(meaning)'")
            }
        }
        for code in UInt8(0)..<64 where !listed.contains(code) {
            #expect(FaultStatus(rawValue: code).kind == .reserved, "code \(code) is not listed")
        }
    }

    @Test("the codes some headers get wrong")
    func trickyCodes() {
        #expect(FaultStatus(rawValue: 0x29).kind == .addressSize)
        #expect(FaultStatus(rawValue: 0x29).level == -1)
        #expect(FaultStatus(rawValue: 0x25).kind == .granuleProtectionOnWalk)
        #expect(FaultStatus(rawValue: 0x25).level == 1)
        #expect(FaultStatus.syncExternalAbort.rawValue == 0x10)
        #expect(FaultStatus(rawValue: 0x07).isTranslationFault)
    }
}
