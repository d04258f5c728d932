import Foundation
import KeelCore
import Testing
@testable import KeelKit

/// Trace streams built in Swift, the way the firmware frames them, then damaged on purpose.
@Suite("Trace decoding: framing, loss and resync")
struct TraceDecoderTests {
    static let buildID: (UInt64, UInt64, UInt32) = (0x0807_0605_0403_0201, 0x100F_0E0D_0C0B_0A09, 0x1413_1211)

    static func headerFrame() -> Data {
        var h = TraceHeader()
        h.counterHz = 62_500_000
        h.buildID = buildID
        return FrameDemux.encode(h)
    }

    /// An HVC PSCI_VERSION exit taking `ticks`, or an MMIO write to the UART's DR.
    static func record(_ sequence: UInt32, at time: UInt64, ticks: UInt64 = 100, hvc: Bool = true) -> TraceRecord {
        var r = TraceRecord()
        r.sequence = sequence
        r.exitTime = time
        r.entryTime = time + ticks
        if hvc {
            r.esr = 0x5A00_0000
            r.action = .hypercall
            r.arg0 = UInt64(PSCI.version)
            r.arg1 = 0x10001
        } else {
            r.esr = 0x9381_0046
            r.action = .mmioWrite
            r.ipa = 0x0900_0000
            r.width = 4
            r.register = 1
            r.flags = 1
            r.arg0 = 0x41
        }
        return r
    }

    static func frame(_ r: TraceRecord) -> Data { FrameDemux.encode(r) }

    /// Header, then 20 records (even ones HVC, odd ones MMIO) with console text between.
    static func stream() -> (Data, [Data]) {
        var data = Data("[keel] Keel booting\r\n".utf8) + headerFrame()
        var frames: [Data] = []
        for i in 0..<20 {
            let f = frame(record(UInt32(i), at: UInt64(1000 + i * 1000), ticks: UInt64(100 + i), hvc: i % 2 == 0))
            frames.append(f)
            data += f + Data("guest text \(i)\n".utf8)
        }
        return (data, frames)
    }

    @Test("a clean stream: every record, the header, and the text untouched")
    func clean() {
        let (data, _) = Self.stream()
        let log = TraceLog.decode(data)
        #expect(log.records.count == 20)
        #expect(log.header?.counterHz == 62_500_000)
        #expect(log.lostRecords == 0 && log.corruptFrames == 0)
        #expect(log.warnings.isEmpty)
        var demux = FrameDemux()
        let text = demux.feed(data).compactMap { piece -> Data? in if case .text(let t) = piece { t } else { nil } }.reduce(Data(), +)
        #expect(String(decoding: text, as: UTF8.self).hasPrefix("[keel] Keel booting\r\nguest text 0\nguest text 1\n"))
        #expect(!text.contains(0))
    }

    @Test("the demux gets the same result byte by byte")
    func byteByByte() {
        let (data, _) = Self.stream()
        var demux = FrameDemux()
        var frames = 0
        for byte in data {
            for piece in demux.feed(Data([byte])) { if case .frame = piece { frames += 1 } }
        }
        #expect(frames == 21)
    }

    @Test("a missing record shows as a sequence gap")
    func sequenceGap() {
        let (data, frames) = Self.stream()
        var cut = data
        cut.replaceSubrange(cut.range(of: frames[5])!, with: Data())
        let log = TraceLog.decode(cut)
        #expect(log.records.count == 19)
        #expect(log.lostRecords == 1)
    }

    @Test("after a header, a CPU whose first record is number n lost n (a memory ring overwrote them); without one, nothing is counted")
    func firstSequence() {
        let late = Self.frame(Self.record(1_000, at: 10)) + Self.frame(Self.record(1_001, at: 20))
        #expect(TraceLog.decode(Self.headerFrame() + late).lostRecords == 1_000)
        #expect(TraceLog.decode(late).lostRecords == 0)  // a capture that joined the stream late
        var other = Self.record(3, at: 30)
        other.cpu = 1
        #expect(TraceLog.decode(Self.headerFrame() + late + Self.frame(other)).lostRecords == 1_003)
    }

    /// A memory trace block as the firmware fills it (`TraceMemoryDump`): CPU 0 with 5 records,
    /// CPU 3 with `capacity + 10`, its ring wrapped.
    static func memoryDump() -> Data {
        var words = [UInt64](repeating: 0, count: TraceMemoryDump.words)
        var header = TraceHeader()
        header.counterHz = 62_500_000
        header.mode = TraceMode.memory.rawValue
        var bytes = [UInt8](repeating: 0, count: TraceHeader.size)
        do { var span = bytes.mutableSpan; header.encode(into: &span) }
        do { var span = words.mutableSpan; TraceMemoryDump.storeHeader(bytes.span, into: &span) }
        for (cpu, count) in [(0, 5), (3, TraceMemoryDump.capacity + 10)] {
            for n in 0..<count {
                var r = record(UInt32(n), at: UInt64(1_000 + 10 * n + cpu))
                r.cpu = UInt8(cpu)
                var span = words.mutableSpan
                r.store(into: &span, at: TraceMemoryDump.slot(cpu: cpu, count: UInt32(n)))
            }
            let (word, shift) = TraceMemoryDump.u32(at: TraceMemoryDump.countsOffset, cpu: cpu)
            words[word] |= UInt64(count) << shift
        }
        return words.withUnsafeBytes { Data($0) }
    }

    @Test("a memory trace dump decodes as the stream it holds: each ring's last capacity - 1 records, the rest lost")
    func memoryDump() throws {
        let dump = Self.memoryDump()
        #expect(dump.withUnsafeBytes { TraceMemoryDump.isDump($0) })
        let log = TraceLog.decode(try TraceMemoryDump.stream(dump))
        #expect(log.header?.counterHz == 62_500_000)
        #expect(log.records.filter { $0.cpu == 0 }.map(\.sequence) == [0, 1, 2, 3, 4])
        let wrapped = log.records.filter { $0.cpu == 3 }
        #expect(wrapped.count == TraceMemoryDump.capacity - 1 && wrapped.first?.sequence == 11)
        #expect(log.lostRecords == 11)
        #expect(log.records.map(\.exitTime) == log.records.map(\.exitTime).sorted())  // CPUs merged by time
        // A cut dump, and a stream that is not one.
        #expect(throws: TraceFailure.self) { try TraceMemoryDump.stream(dump.prefix(4096)) }
        #expect(!Self.headerFrame().withUnsafeBytes { TraceMemoryDump.isDump($0) })
        var full = dump
        full[37] = TraceMode.full.rawValue
        #expect(!full.withUnsafeBytes { TraceMemoryDump.isDump($0) })
    }

    @Test("a memory trace dump that arrives a few bytes at a time (a FIFO) is still read as a dump, and a short stream as a stream")
    func memoryDumpThroughFIFO() throws {
        let dump = Self.memoryDump()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keel-fifo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func chunks(of data: Data, firstPieces: [Int]) throws -> Data {
            let fifo = folder.appendingPathComponent("trace").path
            unlink(fifo)
            #expect(mkfifo(fifo, 0o600) == 0)
            let writer = Thread {
                let fd = open(fifo, O_WRONLY)
                var at = 0
                // The first bytes in pieces shorter than a stream header, each its own read.
                for piece in firstPieces {
                    data[at..<at + piece].withUnsafeBytes { _ = write(fd, $0.baseAddress, piece) }
                    at += piece
                    usleep(20_000)
                }
                data[at...].withUnsafeBytes { raw in
                    var done = 0
                    while done < raw.count {
                        let n = write(fd, raw.baseAddress! + done, raw.count - done)
                        if n <= 0 { break }
                        done += n
                    }
                }
                close(fd)
            }
            writer.start()
            let input = try TraceInputFile(path: fifo)
            #expect(!input.isRegularFile)
            var read = Data()
            try input.forEachChunk { read.append(contentsOf: $0) }
            return read
        }
        #expect(try chunks(of: dump, firstPieces: [3, 7, 11]) == TraceMemoryDump.stream(dump))
        // A stream shorter than a header, in pieces: passed on as it is.
        let short = Self.headerFrame().prefix(12)
        #expect(try chunks(of: short, firstPieces: [5, 4]) == short)
    }

    @Test("a flipped byte costs one frame (and the text up to the next); the decoder resynchronises")
    func flippedByte() {
        let (data, frames) = Self.stream()
        var damaged = data
        let at = damaged.range(of: frames[7])!.lowerBound + 30
        damaged[at] ^= 0x5A
        let log = TraceLog.decode(damaged)
        #expect(log.records.count == 19)
        // The damaged frame, then the text after it, read as a frame because the damaged
        // frame's closing zero was taken for an opening one.
        #expect(log.corruptFrames == 2)
        #expect(log.lostRecords == 1)
        #expect(log.records.map(\.sequence).contains(8))
    }

    @Test("a lost closing delimiter: the frame and the text after it are lost, the next frame decodes")
    func lostDelimiter() {
        let (data, frames) = Self.stream()
        var damaged = data
        let range = damaged.range(of: frames[3])!
        damaged.remove(at: range.upperBound - 1)
        let log = TraceLog.decode(damaged)
        #expect(log.records.count == 19)
        #expect(log.corruptFrames >= 1)
        #expect(log.records.map(\.sequence).contains(4))
    }

    @Test("a lost opening delimiter: the frame is lost, the next one decodes")
    func lostOpening() {
        let (data, frames) = Self.stream()
        var damaged = data
        damaged.remove(at: damaged.range(of: frames[10])!.lowerBound)
        let log = TraceLog.decode(damaged)
        #expect(log.records.count == 19)
        #expect(log.records.map(\.sequence).contains(11))
    }

    @Test("a truncated file decodes up to the cut and reports the partial frame")
    func truncated() {
        let (data, frames) = Self.stream()
        let cut = data.prefix(upTo: data.range(of: frames[15])!.lowerBound + 40)
        let log = TraceLog.decode(Data(cut))
        #expect(log.records.count == 15)
        #expect(log.corruptFrames == 1)
    }

    @Test("random damage never crashes the decoder", arguments: [11, 12, 13])
    func randomDamage(seed: UInt64) {
        let (data, _) = Self.stream()
        var state = seed
        for _ in 0..<300 {
            var damaged = [UInt8](data)
            for _ in 0..<6 {
                state = state &* 6_364_136_223_846_793_005 &+ 1442695040888963407
                damaged[Int(state >> 33) % damaged.count] = UInt8(truncatingIfNeeded: state >> 11)
            }
            let log = TraceLog.decode(Data(damaged))
            #expect(log.records.count <= 20)
        }
    }

    @Test("a trace from another firmware build is flagged")
    func buildIDMismatch() {
        let (data, _) = Self.stream()
        var log = TraceLog.decode(data)
        log.check(elfBuildID: Array(1...20))
        #expect(log.warnings.isEmpty)
        log.check(elfBuildID: Array(repeating: 0xAB, count: 20))
        #expect(log.warnings.first?.hasPrefix("build id mismatch: the trace comes from firmware 0102030405060708090a0b0c0d0e0f1011121314") == true)
    }

    @Test("no header: a warning, times in ticks")
    func noHeader() {
        let log = TraceLog.decode(Self.frame(Self.record(0, at: 10)))
        #expect(log.records.count == 1)
        #expect(log.warnings == ["no trace header: times are in counter ticks, the firmware build is unknown"])
        #expect(log.counterHz == 1)
    }

    @Test("stats: counts, keys and latency per reason")
    func stats() {
        let (data, _) = Self.stream()
        let reports = TraceReports(TraceLog.decode(data))
        let (byReason, byKey) = reports.rows
        #expect(byReason.map(\.reason) == ["DABT_LOW", "HVC64"])
        #expect(byReason.map(\.count) == [10, 10])
        #expect(byKey.first { $0.reason == "HVC64" }?.key == "PSCI_VERSION")
        #expect(byKey.first { $0.reason == "DABT_LOW" }?.key == "uart DR")
        let hvc = byReason.first { $0.reason == "HVC64" }!
        #expect(hvc.ticks.min() == 100 && hvc.ticks.max() == 118)
        #expect(reports.statsText.contains("HVC64 PSCI_VERSION"))
        // Guest time: 19 gaps between a re-entry and the next exit.
        let vcpu = reports.vcpuTimes.first!
        #expect(vcpu.exits == 20)
        let handling: UInt64 = (0..<20).map { UInt64(100 + $0) }.reduce(0, +)
        // Exit i comes 1000 ticks after exit i-1, which took 100 + (i - 1) ticks.
        let guest: UInt64 = (1..<20).map { UInt64(1000 - (100 + $0 - 1)) }.reduce(0, +)
        #expect(vcpu.handling == handling)
        #expect(vcpu.guest == guest)
    }

    /// A forwarded virtio access (`mmioForwarded`) on transport 1: answered with the split
    /// (to the device model, in it, back) in ticks, or not answered.
    static func forwarded(_ sequence: UInt32, split: (UInt64, UInt64, UInt32)?) -> TraceRecord {
        var r = record(sequence, at: UInt64(1000 + sequence * 1000), hvc: false)
        r.action = .mmioForwarded
        r.ipa = DeviceModel.transportIPA + DeviceModel.transportSize + 0x70
        r.flags = 0
        r.arg0 = split == nil ? ~0 : 0xF
        r.arg1 = split.map { $0.0 | $0.1 << 32 } ?? TraceRecord.forwardedUnanswered
        r.detail = split?.2 ?? 0
        return r
    }

    @Test("stats and decode show a forwarded exit's latency split, and the accesses the device model never answered")
    func forwardedSplit() throws {
        let splits: [(UInt64, UInt64, UInt32)?] = [(10, 200, 30), (20, 400, 50), nil]
        let data = Self.headerFrame() + splits.enumerated().map { Self.frame(Self.forwarded(UInt32($0.offset), split: $0.element)) }.reduce(Data(), +)
        let reports = TraceReports(TraceLog.decode(data))
        let rows = reports.forwardedRows
        #expect(rows.count == 1)
        #expect(rows.first?.transport == "virtio 1" && rows.first?.answered == 2 && rows.first?.unanswered == 1)
        #expect(rows.first?.service == [200, 400])
        let decode = reports.decodeLines
        #expect(decode[0].hasSuffix("(virtio 1 +0x70) = 0xf forwarded: picked up after 10, completed after 200, resumed after 30 ticks 100 ticks"), "\(decode[0])")
        #expect(decode[2].contains("forwarded: not answered"), "\(decode[2])")
        // 62.5 MHz: a tick is 16 ns. In the device model: (200 + 400) / 2 ticks = 4.8 us.
        let text = reports.statsText
        #expect(text.contains("forwarded to device models"), "\(text)")
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("vm0 virtio 1") })
        #expect(line.split(separator: " ", omittingEmptySubsequences: true).prefix(4) == ["vm0", "virtio", "1", "2"], "\(line)")
        let json = reports.statsJSONLines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let forwarded = try #require(json.first { $0["table"] as? String == "forwarded" })
        #expect(forwarded["in_dm_avg_ns"] as? Double == 4800)
        #expect(forwarded["to_dm_avg_ns"] as? Double == 240)
        #expect(forwarded["unanswered"] as? Int == 1)
        // No forwarded exit, no table.
        #expect(!TraceReports(TraceLog.decode(Self.stream().0)).statsText.contains("forwarded"))
    }

    @Test("decode lines, JSON Lines and Chrome events")
    func formats() throws {
        let (data, _) = Self.stream()
        let reports = TraceReports(TraceLog.decode(data))
        #expect(reports.decodeLines[0] == "0.000000000 vm0/vcpu0 HVC PSCI_VERSION (0x84000000) -> 0x10001 100 ticks")
        #expect(reports.decodeLines[1] == "0.000016000 vm0/vcpu0 MMIO write 4B w1 -> 0x9000000 (uart DR) = 0x41 101 ticks")
        let first = try JSONSerialization.jsonObject(with: Data(reports.decodeJSONLines[0].utf8)) as! [String: Any]
        #expect(first["schema"] as? String == "keel-trace" && first["version"] as? Int == 1)
        #expect(reports.decodeJSONLines.count == 21)
        let chrome = try JSONSerialization.jsonObject(with: Data(reports.chromeJSON.utf8)) as! [String: Any]
        let events = chrome["traceEvents"] as! [[String: Any]]
        #expect(events.filter { $0["ph"] as? String == "X" }.count == 20)
        #expect(events.contains { $0["ph"] as? String == "M" && ($0["args"] as? [String: String])?["name"] == "vm0" })
    }
}

@Suite("Benchmark output parsing")
struct BenchParseTests {
    @Test("figures and the counter frequency; instructions less the empty loop")
    func parse() {
        let output = "[keel] hello\r\nbench: loop_baseline 4096 0x300\r\nbench: hvc_null 4096 0x7a00\r\nnoise\r\nbench: cntfrq 0x3b9aca0\r\n"
        let (figures, hz) = Bench.parse(output)
        #expect(hz == 62_500_000)
        #expect(figures == [Bench.GuestFigure(name: "loop_baseline", iterations: 4096, ticks: 0x300),
                            Bench.GuestFigure(name: "hvc_null", iterations: 4096, ticks: 0x7A00)])
        let instructions = Bench.instructionsPerIteration(figures, counterHz: hz!)
        #expect(instructions == ["hvc_null": 119.0])  // (0x7a00 - 0x300) ticks * 16 ns / 4096
    }
}

@Suite("The host decoder's fast paths agree with the firmware's framing")
struct FastPathTests {
    @Test("slicing-by-16 CRC-32 equals the table-per-byte CRC-32 at every length and alignment")
    func crc() {
        var state: UInt64 = 7
        let bytes = (0..<700).map { _ -> UInt8 in state = state &* 6_364_136_223_846_793_005 &+ 1; return UInt8(truncatingIfNeeded: state >> 40) }
        bytes.withUnsafeBytes { buffer in
            for start in 0..<9 {
                for length in stride(from: 0, through: 600, by: 7) {
                    let p = buffer.baseAddress! + start
                    let slow = CRC32.checksum(bytes.span.extracting(start..<(start + length)))
                    #expect(FastCRC32.checksum(p, count: length) == slow)
                }
            }
        }
        #expect(Array("123456789".utf8).withUnsafeBytes { FastCRC32.checksum($0.baseAddress!, count: 9) } == 0xCBF4_3926)
    }

    @Test("in-place COBS decoding with code templates equals the firmware-side decoder, damaged codes included")
    func cobsInPlace() {
        var state: UInt64 = 5
        func next() -> UInt64 { state = state &* 6_364_136_223_846_793_005 &+ 1; return state >> 33 }
        // Every candidate the demux decodes fits the template words (and has no room for a 0xFF code).
        // (batches, longer, take the plain decoder: `FrameDemux.inPlaceBody`).
        #expect(FrameDemux.inPlaceBody <= FastCRC32.inPlaceLimit && FastCRC32.inPlaceLimit < 255)
        #expect(1 + TraceRecord.size + 4 + 1 <= FrameDemux.inPlaceBody)
        var templates = [UInt64](repeating: 0, count: FastCRC32.templateEntries * FastCRC32.templateStride)
        // A few shapes (zeros in fixed places), so that templates are made, hit and missed.
        let shapes: [[Bool]] = (0..<6).map { _ in (0..<90).map { _ in next() % 3 == 0 } }
        for round in 0..<3000 {
            let shape = shapes[round % shapes.count]
            let length = 1 + Int(next() % 90)
            let input = (0..<length).map { i -> UInt8 in shape[i] ? 0 : UInt8(1 + next() % 255) }
            var encoded = [UInt8](repeating: 0, count: length + 2)
            var output = encoded.mutableSpan
            let n = TraceFraming.cobsEncode(input.span, into: &output)
            _ = consume output
            var frame = Array(encoded[0..<n])
            if round % 4 == 3 {  // damage a byte: it stays nonzero, it may be a code
                let at = Int(next()) % n
                frame[at] = UInt8(1 + (Int(frame[at]) + Int(next() % 254)) % 255)
            }
            var plain = [UInt8](repeating: 0, count: n + 2)
            var span = plain.mutableSpan
            let slow = TraceFraming.cobsDecode(frame.span, into: &span)
            _ = consume span
            for _ in 0..<2 {  // the second time through, the template (if any) is used
                var words = [UInt64](repeating: 0xA5A5_A5A5_A5A5_A5A5, count: FastCRC32.templateWords + 1)
                let fast = words.withUnsafeMutableBytes { s in
                    s.copyMemory(from: UnsafeRawBufferPointer(start: frame, count: n))
                    return templates.withUnsafeMutableBufferPointer { FastCRC32.cobsDecodeInPlace(s.baseAddress!, count: n, templates: $0.baseAddress!) }
                }
                #expect(fast == (slow != nil))
                if let slow, fast {
                    let decoded = words.withUnsafeBytes { Array($0[1..<n]) }
                    #expect(decoded == Array(plain[0..<slow]))
                }
            }
        }
    }
}
