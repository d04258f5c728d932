import Foundation
import KeelCore
import Testing
@testable import KeelKit

/// The decoder's cost and its stream form: each report visits each record a fixed number of
/// times, a stream fed in pieces decodes what the whole does, damaged counters never crash.
@Suite("Trace decoding: linear, streamed, hostile counters")
struct TraceStreamTests {
    /// Every report, as `keel trace decode/stats/export` make them.
    func visitsForAllReports(records: Int) -> Int {
        let reports = TraceReports(TraceLog.decode(TraceGenerator.stream(records: records)))
        _ = reports.decodeLines
        _ = reports.decodeJSONLines
        _ = reports.statsText
        _ = reports.statsJSONLines
        _ = reports.chromeJSON
        return reports.recordsVisited
    }

    @Test("the reports visit records a fixed number of times each: 10x the records is exactly 10x the visits")
    func linear() {
        let small = visitsForAllReports(records: 100)
        let large = visitsForAllReports(records: 1000)
        #expect(small > 0)
        #expect(large == 10 * small)
        // Events once, decode and JSON once each, the stats tables (rows, vCPU time and the
        // histogram, twice) and Chrome once: never a pass per record.
        #expect(small <= 20 * 100)
    }

    @Test("time 0 is the earliest exit however the records arrive, and stays right as records are added")
    func origin() {
        var log = TraceLog()
        for time: UInt64 in [500, 200, 900, 100, 300] {
            var r = TraceRecord()
            r.exitTime = time
            r.entryTime = time + 10
            log.append(r)
        }
        #expect(log.origin == 100)
        let lines = TraceReports(log).decodeLines
        #expect(lines[3].hasPrefix("0.000000000 "))
        #expect(lines[0].hasPrefix("400.000000000 "))  // no header: ticks
    }

    @Test("the `keel trace decode` stream reads a file twice (time 0, then lines) and prints what the reports print")
    func decodeStream() throws {
        let records = 3000
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keel-stream-\(UUID().uuidString)").path
        let outPath = path + ".out"
        defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: outPath) }
        // Put the earliest record last, as a second CPU's ring drained late would.
        var data = TraceGenerator.stream(records: records)
        var early = TraceGenerator.record(1)
        early.cpu = 1
        early.exitTime = 0
        early.entryTime = 5
        data += FrameDemux.encode(early)
        #expect(FileManager.default.createFile(atPath: path, contents: data))
        for json in [false, true] {
            #expect(FileManager.default.createFile(atPath: outPath, contents: nil))
            let handle = try #require(FileHandle(forWritingAtPath: outPath))
            let outcome = try TraceDecodeStream.run(try TraceInputFile(path: path), json: json, output: TraceOutput(descriptor: handle.fileDescriptor))
            try handle.close()
            #expect(outcome.recordsVisited == 2 * (records + 1))
            #expect(outcome.decoder.records == records + 1)
            let printed = try String(contentsOfFile: outPath, encoding: .utf8)
            let reports = TraceReports(TraceLog.decode(data))
            #expect(printed == (json ? reports.decodeJSONLines : reports.decodeLines).joined(separator: "\n") + "\n")
        }
    }

    @Test("export of 1,000 records: one X slice per exit with its time stamp and duration, every VM and vCPU named once")
    func chrome() throws {
        let reports = TraceReports(TraceLog.decode(TraceGenerator.stream(records: 1000)))
        let document = try #require(try JSONSerialization.jsonObject(with: Data(reports.chromeJSON.utf8)) as? [String: Any])
        let events = try #require(document["traceEvents"] as? [[String: Any]])
        let slices = events.filter { $0["ph"] as? String == "X" }
        #expect(slices.count == 1000)
        #expect((slices[1]["ts"] as? Double) == 1.6 && (slices[1]["dur"] as? Double) == 0.592)  // 100 and 37 ticks at 62.5 MHz
        #expect(events.filter { $0["ph"] as? String == "M" }.count == 2)
        #expect(events.filter { $0["ph"] as? String == "C" }.count == 1000)
    }

    @Test("a stream fed in pieces of every size decodes what the whole stream does")
    func pieces() {
        let data = TraceGenerator.stream(records: 200)
        let whole = TraceLog.decode(data)
        for size in [1, 7, 100, 4096] {
            var decoder = TraceStreamDecoder()
            var records: [TraceRecord] = []
            var start = 0
            while start < data.count {
                decoder.feed(data[start..<min(start + size, data.count)]) { r, _ in records.append(r) }
                start += size
            }
            decoder.finish()
            #expect(records == whole.records)
            #expect(decoder.header == whole.header && decoder.corruptFrames == 0 && decoder.lostRecords == 0)
        }
    }

    @Test("batches: a damaged one costs its records, counted as lost by the next one's sequence numbers; old record frames still decode")
    func damagedBatch() throws {
        let data = TraceGenerator.stream(records: 100)  // a header, then batches of 32, 32, 32 and 4
        let whole = TraceLog.decode(data)
        #expect(whole.records.count == 100 && whole.lostRecords == 0 && whole.corruptFrames == 0)
        #expect(whole.records.map(\.sequence) == (0..<100).map { UInt32($0) })
        #expect(TraceGenerator.stream(records: 100).count < 100 * 20)  // against 88 bytes a record before
        // The delimiters: the second batch is between the 4th and 5th zero.
        let zeros = data.indices.filter { data[$0] == 0 }
        #expect(zeros.count == 10)
        let inside = try #require((zeros[4] + 1..<zeros[5]).first { data[$0] > 1 })
        var damaged = data
        damaged[inside] ^= 0x01
        let log = TraceLog.decode(damaged)
        #expect(log.records.count == 68 && log.lostRecords == 32 && log.corruptFrames == 1)
        #expect(log.records.map(\.sequence) == (0..<32).map { UInt32($0) } + (64..<100).map { UInt32($0) })
        // A version 1 trace: a record a frame, decoded the same.
        let old = FrameDemux.encode(whole.header!) + whole.records.reduce(into: Data()) { $0 += FrameDemux.encode($1) }
        #expect(TraceLog.decode(old).records == whole.records)
    }

    @Test("time to nine decimals in integers: rounding, carries, no header, a 2^64 counter")
    func time() {
        let f = TraceLineFormatter(counterHz: 62_500_000, origin: 1000)
        #expect(f.time(1000) == "0.000000000")
        #expect(f.time(2000) == "0.000016000")
        #expect(f.time(0) == "-0.000016000")
        #expect(TraceLineFormatter(counterHz: 3, origin: 0).time(2) == "0.666666667")
        #expect(TraceLineFormatter(counterHz: 3, origin: 0).time(1) == "0.333333333")
        #expect(TraceLineFormatter(counterHz: 1_000_000_001, origin: 0).time(1_000_000_000) == "0.999999999")
        #expect(TraceLineFormatter(counterHz: 3_000_000_000, origin: 0).time(5_999_999_999) == "2.000000000")  // 1.9999999997: the carry
        #expect(TraceLineFormatter(counterHz: 0, origin: 0).time(42) == "42.000000000")
        #expect(TraceLineFormatter(counterHz: 1, origin: 0).time(.max) == "18446744073709551615.000000000")
        // Chrome time stamps: microseconds, three decimals.
        #expect(f.microseconds(1000) == "16.000")
        #expect(TraceLineFormatter(counterHz: 1_000_000_000, origin: 0).microseconds(1_234_567_891) == "1234567.891")
        #expect(TraceLineFormatter(counterHz: 1_000_000_000, origin: 0).microseconds(1_000_000_005) == "1000000.005")
        #expect(TraceLineFormatter(counterHz: 1, origin: 0).microseconds(3) == "3000000.000")
    }

    @Test("the byte line writer of `keel trace decode` spells every line as TraceLineFormatter.text and .json do")
    func byteLines() {
        for (hz, origin) in [(UInt64(62_500_000), UInt64(1000)), (0, 0), (3, 5), (1, UInt64.max - 2)] {
            let f = TraceLineFormatter(counterHz: hz, origin: origin)
            var lines = TraceLineWriter(f)
            var state: UInt64 = 3
            for i in 0..<2000 {
                state = state &* 6_364_136_223_846_793_005 &+ 1
                var r = TraceGenerator.record(i % 7 == 6 ? Int(state >> 60) : i)
                r.kind = [.exit, .interrupt, .vmCreated, .vcpuStarted, .vmPoweredOff, .flush, .vmStopped][Int(state >> 20) % 7]
                r.vm = UInt8(truncatingIfNeeded: state >> 40)
                r.vcpu = UInt8(i % 3)
                r.exitTime = i % 5 == 0 ? state : UInt64(i) * 977
                r.entryTime = i % 11 == 0 ? r.exitTime &- 1 : r.exitTime &+ (state >> 50)
                if i % 13 == 0 { r.arg0 = state >> 3 }
                #expect(lines.text(r) == f.text(TraceEvent(r)))
                #expect(lines.text(r) == f.text(TraceEvent(r)))  // now from the cache
                #expect(lines.json(r) == f.json(TraceEvent(r)))
            }
            for counter: UInt64 in [0, 1, 999, 1000, 1001, .max, .max - 1, 62_500_000 * 7 + 3] {
                var bytes: [UInt8] = []
                f.appendTime(counter, to: &bytes)
                #expect(String(decoding: bytes, as: UTF8.self) == f.time(counter))
            }
        }
    }

    /// An exit whose re-entry counter is `entry` and exit counter `exit`.
    static func exit(_ sequence: UInt32, exit: UInt64, entry: UInt64) -> TraceRecord {
        var r = TraceGenerator.record(1)
        r.sequence = sequence
        r.exitTime = exit
        r.entryTime = entry
        return r
    }

    static func frames(_ records: [TraceRecord]) -> Data {
        records.reduce(into: Data()) { data, r in data += FrameDemux.encode(r) }
    }

    @Test("an exit whose entry counter precedes its exit counter: 0 ticks and a warning count in every report, no crash")
    func backwardCounters() throws {
        // The fuzzer's shape: two exits re-entering before they exit (their wrapped handling
        // times summed past 2^64), one ordinary exit.
        let data = Self.frames([Self.exit(0, exit: 1000, entry: 10), Self.exit(1, exit: 2000, entry: 5), Self.exit(2, exit: 3000, entry: 3040)])
        let log = TraceLog.decode(data)
        #expect(log.backwardRecords == 2)
        #expect(log.warnings.contains("2 records re-enter the guest before they exit (entry counter before exit counter): their handling time counts as 0"))
        let reports = TraceReports(log)
        #expect(reports.rows.byReason.first?.ticks == [0, 0, 40])
        #expect(reports.vcpuTimes.first?.handling == 40)
        #expect(reports.decodeLines[0].hasSuffix(" 0 ticks"))
        #expect(reports.statsText.contains("warning: 2 records re-enter"))
        let loss = try JSONSerialization.jsonObject(with: Data(reports.statsJSONLines.last!.utf8)) as! [String: Any]
        #expect(loss["backward_records"] as? Int == 2)
        _ = reports.chromeJSON
        _ = reports.histogram
    }

    @Test("handling times that are each valid but sum past 2^64 saturate instead of trapping")
    func saturatingTotals() {
        let big = UInt64.max / 2 + 10
        let log = TraceLog.decode(Self.frames([Self.exit(0, exit: 0, entry: big), Self.exit(1, exit: 1, entry: 1 + big)]))
        let reports = TraceReports(log)
        #expect(reports.rows.byReason.first?.total == .max)
        #expect(reports.vcpuTimes.first?.handling == .max)
        #expect(!reports.statsText.isEmpty)
        // The fuzzer's second one: a handling time of 2^64 - 1, then guest time after an
        // overlapping exit; guest + handling (the "handling %" column) passed 2^64.
        let overlap = TraceReports(TraceLog.decode(Self.frames([
            Self.exit(0, exit: 0, entry: .max), Self.exit(1, exit: 1, entry: 2), Self.exit(2, exit: 10, entry: 11),
        ])))
        #expect(overlap.vcpuTimes.first?.guest == 8 && overlap.vcpuTimes.first?.handling == .max)
        #expect(overlap.statsText.contains("vm0/vcpu0"))
    }
}

/// `keel run --trace FILE`'s side: the capture writes through what FILE is.
@Suite("Trace capture: the trace file is written through, never replaced")
struct TraceCaptureTests {
    static let frames = TraceGenerator.stream(records: 20)

    @Test("a symlink stays a symlink and its target gets the frames (it was replaced by a regular file)")
    func symlink() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-capture-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let target = directory + "/target.trace", link = directory + "/link.trace"
        #expect(FileManager.default.createFile(atPath: target, contents: nil))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let capture = try TraceCapture(path: link, text: { _ in })
        capture.feed(Data("console text\n".utf8) + Self.frames)
        #expect(capture.finish().frames == 2)  // the header and one batch of the 20 records
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
        #expect(TraceLog.decode(try Data(contentsOf: URL(fileURLWithPath: target))).records.count == 20)
    }

    @Test("a full device: the capture says why it stopped, the run is not brought down")
    func fullDevice() throws {
        let capture = try TraceCapture(path: "/dev/full", text: { _ in })
        capture.feed(Self.frames)
        #expect(capture.writeError == "cannot write the trace file '/dev/full': No space left on device")
        #expect(capture.finish().frames == 0)
        var info = stat()
        #expect(stat("/dev/full", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)  // still the device
    }

    @Test("a directory is refused with a message")
    func directory() {
        #expect(throws: KeelError("cannot write the trace file '/tmp': it is a directory")) { try TraceCapture(path: "/tmp", text: { _ in }) }
    }
}
