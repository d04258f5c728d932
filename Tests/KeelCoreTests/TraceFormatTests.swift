import Testing
@testable import KeelCore

@Suite("Trace record format, COBS framing, CRC-32")
struct TraceFormatTests {
    static func sample(_ sequence: UInt32 = 7) -> TraceRecord {
        var r = TraceRecord()
        r.kind = .exit
        r.cpu = 3
        r.vm = 1
        r.vcpu = 2
        r.sequence = sequence
        r.exitTime = 0x1122_3344_5566_7788
        r.entryTime = 0x1122_3344_5566_7900
        r.esr = 0x9381_0046
        r.elr = 0x4000_1234
        r.far = 0x0900_0018
        r.ipa = 0x0900_0018
        r.action = .mmioWrite
        r.width = 4
        r.register = 1
        r.flags = 1
        r.arg0 = 0x41
        r.arg1 = 0xFFFF_FFFF_FFFF_FFFF
        return r
    }

    @Test("a record survives encode and decode, field by field")
    func recordRoundTrip() {
        let r = Self.sample()
        var bytes = [UInt8](repeating: 0xAA, count: TraceRecord.size)
        do { var span = bytes.mutableSpan; r.encode(into: &span) }
        #expect(bytes[0] == TraceRecord.Kind.exit.rawValue && bytes[4] == 7 && bytes[56] == TraceRecord.Action.mmioWrite.rawValue)
        #expect(bytes[60..<64].allSatisfy { $0 == 0 })
        let decoded = TraceRecord.decode(bytes.span)
        #expect(decoded == r)
        #expect(decoded?.handlingTicks == 0x178)
        #expect(decoded?.isWrite == true)
    }

    @Test("the memory ring's ten words are the byte layout's, little-endian, and read back")
    func recordWords() {
        var r = Self.sample(0xDEAD_BEEF)
        r.detail = 0x0102_0304
        var bytes = [UInt8](repeating: 0, count: TraceRecord.size)
        do { var span = bytes.mutableSpan; r.encode(into: &span) }
        var words = [UInt64](repeating: 0xAAAA_AAAA_AAAA_AAAA, count: 2 + TraceRecord.words)
        do { var span = words.mutableSpan; r.store(into: &span, at: 1) }
        #expect(words[0] == 0xAAAA_AAAA_AAAA_AAAA && words[11] == 0xAAAA_AAAA_AAAA_AAAA)  // nothing outside
        for i in 0..<TraceRecord.words {
            let fromBytes = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[8 * i + $1]) << (8 * UInt64($1)) }
            #expect(words[1 + i] == fromBytes, "word \(i)")
        }
        #expect(TraceRecord(words: words.span.extracting(1..<11)) == r)
        #expect(TraceRecord(words: words.span.extracting(1..<10)) == nil)  // short
        var badKind = words
        badKind[1] |= 0xEE
        #expect(TraceRecord(words: badKind.span.extracting(1..<11)) == nil)
        var badAction = words
        badAction[8] |= 0xEE
        #expect(TraceRecord(words: badAction.span.extracting(1..<11)) == nil)
    }

    @Test("short buffers and unknown kinds or actions do not decode")
    func recordRejects() {
        var bytes = [UInt8](repeating: 0, count: TraceRecord.size)
        do { var span = bytes.mutableSpan; Self.sample().encode(into: &span) }
        do { let value = TraceRecord.decode(bytes.span.extracting(0..<79)); #expect(value == nil) }
        var badKind = bytes
        badKind[0] = 0xEE
        do { let value = TraceRecord.decode(badKind.span); #expect(value == nil) }
        var badAction = bytes
        badAction[56] = 0xEE
        do { let value = TraceRecord.decode(badAction.span); #expect(value == nil) }
    }

    @Test("the header carries magic, version, counter frequency and build id")
    func headerRoundTrip() {
        var h = TraceHeader()
        h.counterHz = 62_500_000
        h.buildID = (0x0102_0304_0506_0708, 0x1112_1314_1516_1718, 0x2122_2324)
        h.mode = TraceMode.full.rawValue
        var bytes = [UInt8](repeating: 0, count: TraceHeader.size)
        do { var span = bytes.mutableSpan; h.encode(into: &span) }
        #expect(Array(bytes[0..<4]) == Array("KTRC".utf8))
        #expect(bytes[16] == 0x08)  // build id bytes in note order
        do { let value = TraceHeader.decode(bytes.span); #expect(value == h) }
        bytes[0] = 0
        do { let value = TraceHeader.decode(bytes.span); #expect(value == nil) }
    }

    func cobs(_ input: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: input.count + input.count / 254 + 2)
        var span = out.mutableSpan
        let n = TraceFraming.cobsEncode(input.span, into: &span)
        _ = consume span
        return Array(out[0..<n])
    }

    func uncobs(_ input: [UInt8]) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: input.count + 1)
        var span = out.mutableSpan
        let n = TraceFraming.cobsDecode(input.span, into: &span)
        _ = consume span
        return n.map { Array(out[0..<$0]) }
    }

    @Test("COBS matches the published examples")
    func cobsVectors() {
        #expect(cobs([0x00]) == [0x01, 0x01])
        #expect(cobs([0x00, 0x00]) == [0x01, 0x01, 0x01])
        #expect(cobs([0x11, 0x22, 0x00, 0x33]) == [0x03, 0x11, 0x22, 0x02, 0x33])
        #expect(cobs([0x11, 0x22, 0x33, 0x44]) == [0x05, 0x11, 0x22, 0x33, 0x44])
        #expect(cobs([0x11, 0x00, 0x00, 0x00]) == [0x02, 0x11, 0x01, 0x01, 0x01])
    }

    @Test("COBS output has no zero and decodes back, for every length up to 600")
    func cobsRoundTrip() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for length in 0...600 {
            let input = (0..<length).map { _ -> UInt8 in
                state = state &* 6_364_136_223_846_793_005 &+ 1
                return (state >> 60) < 3 ? 0 : UInt8(truncatingIfNeeded: state >> 33)
            }
            let encoded = cobs(input)
            #expect(!encoded.contains(0))
            #expect(uncobs(encoded) == input, "length \(length)")
        }
    }

    @Test("COBS decoding refuses zeros and codes that run past the end")
    func cobsRejects() {
        #expect(uncobs([0x03, 0x11]) == nil)
        #expect(uncobs([0x02, 0x00]) == nil)
        #expect(uncobs([0x00]) == nil)
    }

    @Test("CRC-32 is zlib's")
    func crc() {
        let check = Array("123456789".utf8)
        do { let value = CRC32.checksum(check.span); #expect(value == 0xCBF4_3926) }
        do { let value = CRC32.checksum([UInt8]().span); #expect(value == 0) }
    }
}
