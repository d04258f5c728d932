import Testing
@testable import KeelCore

@Suite("Trace batches (format version 2): round trips, sizes, hostile payloads")
struct TraceBatchTests {
    /// Encodes `records` (one CPU, consecutive sequence numbers) as one batch; the payload the
    /// decoder sees (after the type byte), and its full length with the type byte.
    static func encode(_ records: [TraceRecord]) -> [UInt8] {
        var buffer = [UInt8](repeating: 0xAA, count: TraceBatch.maxPayload)
        var batch = TraceBatch.Encoder()
        do {
            var span = buffer.mutableSpan
            batch.open(cpu: records[0].cpu, sequence: records[0].sequence, time: records[0].exitTime, in: &span)
            for r in records {
                #expect(batch.hasRoom)
                batch.append(r, in: &span)
            }
        }
        #expect(buffer[0] == FrameType.batch.rawValue)
        #expect(batch.count == records.count && batch.nextSequence == records[0].sequence &+ UInt32(records.count))
        return Array(buffer[1..<batch.length])
    }

    static func decode(_ payload: [UInt8]) -> [TraceRecord]? {
        var out: [TraceRecord] = []
        return TraceBatch.forEach(payload.span) { out.append($0) } ? out : nil
    }

    /// Every kind and every action, with the fields each carries, and values at the edges.
    static func everyKind(cpu: UInt8 = 3, from sequence: UInt32 = 0xFFFF_FFF0) -> [TraceRecord] {
        var records: [TraceRecord] = []
        var state: UInt64 = 11
        func next() -> UInt64 { state = state &* 6_364_136_223_846_793_005 &+ 1442695040888963407; return state }
        let kinds: [TraceRecord.Kind] = [.exit, .interrupt, .vmCreated, .vcpuStarted, .vmPoweredOff, .flush, .vmStopped]
        let actions: [TraceRecord.Action] = [.none, .mmioRead, .mmioWrite, .hypercall, .sysRegRead, .sysRegWrite, .undefInjected,
                                             .abortInjected, .wfx, .virtualIRQInjected, .serrorInjected, .mmioForwarded]
        var time: UInt64 = 0xFFFF_FFFF_FFFF_FF00  // wraps inside the batch
        for (i, kind) in kinds.enumerated() {
            for (j, action) in actions.enumerated() {
                var r = TraceRecord()
                r.kind = kind
                r.action = kind == .exit ? action : .none
                r.cpu = cpu
                r.sequence = sequence &+ UInt32(records.count)
                time &+= next() >> (i * 9 + j)
                r.exitTime = time
                r.entryTime = (i + j) % 5 == 0 ? time &- 3 : time &+ (next() >> 40)  // a backward one too
                if kind == .exit || kind == .interrupt {
                    r.esr = [0x5A00_0000, 0x9381_0046, 0x6232_0009, 0x0600_0001, 0x0000_0001_9200_0046, UInt64.max][j % 6]
                    r.elr = j % 3 == 0 ? 0xFFFF_8000_8010_0000 &+ UInt64(j * 4) : 0x4000_1000 &+ UInt64(j)
                    r.far = j % 4 == 0 ? 0 : next()
                    r.ipa = j % 2 == 0 ? 0x0900_0000 &+ UInt64(j) : 0
                }
                r.vm = UInt8(truncatingIfNeeded: i % 3 == 0 ? 0 : 255 - j)
                r.vcpu = UInt8(truncatingIfNeeded: j / 4)
                r.width = action == .mmioRead || action == .mmioWrite ? 8 : 0
                r.register = UInt8(truncatingIfNeeded: j * 23)
                r.flags = UInt8(j & 1)
                r.detail = j == 11 ? 0xFFFF_FFFF : UInt32(j)
                r.arg0 = [0, 1, 0x8400_0000, UInt64.max, next()][(i + j) % 5]
                r.arg1 = action == .mmioForwarded ? TraceRecord.forwardedUnanswered : [0, UInt64.max, 0x10002, next()][j % 4]
                records.append(r)
            }
        }
        return records
    }

    @Test("every record kind and action decodes to the record it was, across batches and counter wraps")
    func roundTrip() throws {
        let records = Self.everyKind()
        var start = 0
        while start < records.count {
            // As many as fit in one batch, then the next batch.
            var end = start
            var batch = TraceBatch.Encoder()
            var scratch = [UInt8](repeating: 0, count: TraceBatch.maxPayload)
            do {
                var span = scratch.mutableSpan
                batch.open(cpu: 3, sequence: records[start].sequence, time: records[start].exitTime, in: &span)
                while end < records.count && batch.hasRoom { batch.append(records[end], in: &span); end += 1 }
            }
            let decoded = try #require(Self.decode(Array(scratch[1..<batch.length])))
            #expect(decoded == Array(records[start..<end]))
            start = end
        }
        // A one-record batch of every kind with a base time unlike its exit time.
        for r in records {
            var buffer = [UInt8](repeating: 0, count: TraceBatch.maxPayload)
            var batch = TraceBatch.Encoder()
            do {
                var span = buffer.mutableSpan
                batch.open(cpu: r.cpu, sequence: r.sequence, time: 12345, in: &span)
                batch.append(r, in: &span)
            }
            #expect(batch.length - TraceBatch.headerSize <= TraceBatch.maxRecord)
            #expect(Self.decode(Array(buffer[1..<batch.length])) == [r])
        }
    }

    @Test("the worst record fits maxRecord; a full batch stays in maxPayload")
    func worstCase() {
        var r = TraceRecord()
        r.kind = .vmStopped
        r.action = .mmioForwarded
        r.exitTime = 1 << 63
        r.entryTime = (1 << 63) - 1
        r.esr = .max; r.elr = 1 << 63; r.far = 1 << 63; r.ipa = 1 << 63
        r.arg0 = .max; r.arg1 = 1 << 63
        r.vm = 255; r.vcpu = 255; r.width = 255; r.register = 255; r.flags = 255; r.detail = .max
        var records: [TraceRecord] = []
        for i in 0..<100 {
            var x = r
            x.sequence = UInt32(i)
            x.exitTime = i % 2 == 0 ? 1 << 63 : 0  // each time the farthest from the last
            x.elr = i % 2 == 0 ? 1 << 63 : 0x7FFF_FFFF_FFFF_FFFF
            x.vm = UInt8(i % 2)
            records.append(x)
        }
        var buffer = [UInt8](repeating: 0, count: TraceBatch.maxPayload)
        var batch = TraceBatch.Encoder()
        var appended = 0
        do {
            var span = buffer.mutableSpan
            batch.open(cpu: 0, sequence: 0, time: 0, in: &span)
            var previous = batch.length
            while batch.hasRoom {
                batch.append(records[appended], in: &span)
                #expect(batch.length - previous <= TraceBatch.maxRecord)
                previous = batch.length
                appended += 1
            }
        }
        #expect(appended >= 9 && batch.length <= TraceBatch.maxPayload)
        #expect(Self.decode(Array(buffer[1..<batch.length])) == Array(records[0..<appended]))
    }

    @Test("a hypercall in a loop is 5 bytes after the batch's first: the bench's exit")
    func compact() {
        var records: [TraceRecord] = []
        for i in 0..<32 {
            var r = TraceRecord()
            r.kind = .exit
            r.action = .hypercall
            r.sequence = UInt32(i)
            r.exitTime = 1_000_000 + UInt64(i) * 260
            r.entryTime = r.exitTime + 9
            r.esr = 0x5A00_0000
            r.elr = 0x4008_0124
            r.far = 0x0900_0018
            r.arg0 = 0xC600_0000
            r.arg1 = UInt64.max
            records.append(r)
        }
        let payload = Self.encode(records)
        // The first: head, mask, exit (0), entry, ESR 1 byte each, ELR, FAR and the function id
        // 5 each, the result 1. The others repeat all of those: head, mask, exit (2), entry.
        #expect(payload.count - (TraceBatch.headerSize - 1) == 21 + 31 * 5)
        #expect(Self.decode(payload) == records)
    }

    @Test("varints, zigzag and the ESR rotation invert; a hypercall's ESR is one byte")
    func transforms() {
        for v: UInt64 in [0, 1, 0x7F, 0x80, 0x3FFF, 0x4000, 1 << 63, .max, 0x5A00_0000, 0x0000_0001_9200_0046] {
            #expect(TraceBatch.unzigzag(TraceBatch.zigzag(v)) == v)
            #expect(TraceBatch.unrotate(TraceBatch.rotate(v)) == v)
            var buffer = [UInt8](repeating: 0, count: 10)
            var at = 0
            do { var span = buffer.mutableSpan; TraceBatch.put(v, &span, &at) }
            var back = 0
            #expect(TraceBatch.get(buffer.span, &back) == v && back == at)
        }
        #expect(TraceBatch.rotate(0x5A00_0000) < 0x80)
        #expect(TraceBatch.zigzag(UInt64.max) == 1)  // -1
    }

    @Test("fields repeat across lifecycle records: zeros in between leave the references alone")
    func repeats() {
        var exit = TraceRecord()
        exit.kind = .exit
        exit.action = .hypercall
        exit.esr = 0x5A00_0000; exit.elr = 0xFFFF_8000_8000_1000; exit.far = 0x1234; exit.ipa = 0x9000_0000
        exit.arg0 = 0x8400_0000; exit.arg1 = 0x10002
        exit.exitTime = 100; exit.entryTime = 110
        var event = TraceRecord()
        event.kind = .flush
        event.exitTime = 120; event.entryTime = 300
        var records = [exit, event, exit, event, event, exit]
        records[2].exitTime = 400; records[2].entryTime = 401
        records[5].exitTime = 90; records[5].entryTime = 95  // earlier than the one before
        records[5].far = 0x1230  // a small step back
        for i in records.indices { records[i].sequence = UInt32(i) }
        let payload = Self.encode(records)
        #expect(Self.decode(payload) == records)
        // Every field of the first exit again (third record) is head, mask, exit and entry.
        #expect(payload.count < (TraceBatch.headerSize - 1) + 40 + 6 + 2 * 10 + 2 * 9 + 8)
    }

    @Test("truncated, overlong and out-of-range payloads are refused, never a crash")
    func hostile() {
        let payload = Self.encode(Array(Self.everyKind().prefix(16)))
        #expect(Self.decode(payload)?.count == 16)
        // Every truncation: refused, or (cut between records) fewer records, each as sent.
        let all = Self.decode(payload)!
        for cut in 0..<payload.count {
            if let some = Self.decode(Array(payload[0..<cut])) {
                #expect(cut >= TraceBatch.headerSize - 1)
                #expect(some == Array(all[0..<some.count]))
            }
        }
        let header = Array(payload[0..<(TraceBatch.headerSize - 1)])
        #expect(Self.decode(header) == [])  // an empty batch is empty
        #expect(Self.decode(header + [0]) == nil)  // kind 0
        #expect(Self.decode(header + [1 | 12 << 3, 0, 0]) == nil)  // action 12
        #expect(Self.decode(header + [1, 0x80, 0x20, 0]) == nil)  // mask bit 12
        #expect(Self.decode(header + [1, 0, 0x80]) == nil)  // varint cut short
        #expect(Self.decode(header + [1, 0] + [UInt8](repeating: 0xFF, count: 9) + [0x02]) == nil)  // past 64 bits
        #expect(Self.decode(header + [1, 0] + [UInt8](repeating: 0xFF, count: 10) + [0x01]) == nil)  // eleven bytes
        #expect(Self.decode(header + [1, 0x80, 0x02, 0, 0x80, 0x02]) == nil)  // width 256
        #expect(Self.decode(header + [1, 0x80, 0x01, 0, 0x80, 0x80, 0x04]) == nil)  // vm/vcpu past 16 bits
        #expect(Self.decode(header + [1, 0x80, 0x10, 0, 0x80, 0x80, 0x80, 0x80, 0x10]) == nil)  // detail past 32 bits
        #expect(Self.decode(header + [1, 0, 0]) != nil)
        // Random bytes after a header: no crash, whatever they say.
        var state: UInt64 = 1
        for _ in 0..<2000 {
            var bytes = header
            for _ in 0..<Int(state % 40) {
                state = state &* 6_364_136_223_846_793_005 &+ 1
                bytes.append(UInt8(truncatingIfNeeded: state >> 56))
            }
            _ = Self.decode(bytes)
        }
    }
}
