import Foundation
import KeelCore

/// The `trace` target: frame demux, `TraceLog` and every report `keel trace` prints.
///
/// An input starting with 0xFF (never the first byte of a trace file or of UTF-8 console text)
/// is payloads to frame: 40 bytes of header, then records of 80 bytes, each framed with a valid
/// COBS encoding and CRC (kind and action bytes mapped onto valid values), and any remainder
/// appended raw. Anything else is read as a trace file, as it is.
extension FuzzTargets {
    static let framedPrefix: UInt8 = 0xFF

    static func trace(_ input: [UInt8]) {
        let stream = input.first == framedPrefix ? framedTrace(input.dropFirst()) : Data(input)
        var log = TraceLog.decode(stream)
        log.check(elfBuildID: Array(input.prefix(20)))
        let reports = TraceReports(log)
        _ = (reports.decodeLines, reports.rows, reports.vcpuTimes, reports.histogram, reports.statsText)
        _ = (log.lossSummary, log.origin, log.counterHz)
        // The JSON reports cost 20 times the rest (about 1 ms a record in a debug build): one input
        // in four, chosen by its length, so the fuzzer keeps its pace and still reaches them.
        if input.count % 4 == 0 { _ = (reports.decodeJSONLines, reports.statsJSONLines, reports.chromeJSON) }

        // The streaming path: the same bytes fed in two pieces, cut where the input says.
        var demux = FrameDemux()
        let cut = stream.isEmpty ? 0 : Int(input.last ?? 0) % stream.count
        _ = demux.feed(stream.prefix(cut))
        _ = demux.feed(stream.dropFirst(cut))
        demux.finish()

        // `keel trace decode` of a pipe: the stream decoder in the same two pieces, time 0 at
        // the first record (later records may be older: negative times), text and JSON lines.
        var decoder = TraceStreamDecoder()
        var formatter: TraceLineFormatter?
        var writer: TraceLineWriter?
        for piece in [stream.prefix(cut), stream.dropFirst(cut)] {
            decoder.feed(piece) { record, header in
                let lines = formatter ?? TraceLineFormatter(header: header, origin: record.exitTime)
                formatter = lines
                let event = TraceEvent(record)
                let (text, json) = (lines.text(event), lines.json(event))
                _ = lines.microseconds(record.checkedHandlingTicks)
                // The byte writer `keel trace decode` uses spells every line as `text` and
                // `json` do, the second time from its cache at the latest.
                if writer == nil { writer = TraceLineWriter(lines) }
                precondition(writer!.text(record) == text && writer!.text(record) == text, "the byte line writer differs from TraceLineFormatter.text")
                precondition(writer!.json(record) == json, "the byte line writer differs from TraceLineFormatter.json")
            }
        }
        decoder.finish()
        _ = decoder.lossSummary
    }

    static let recordKinds: [UInt8] = (0...255).filter { TraceRecord.Kind(rawValue: $0) != nil }
    static let recordActions: [UInt8] = (0...255).filter { TraceRecord.Action(rawValue: $0) != nil }

    static func framedTrace(_ payloads: ArraySlice<UInt8>) -> Data {
        var out = Data()
        var rest = payloads
        if rest.count >= TraceHeader.size {
            out += FrameDemux.encode(type: .header, payload: Data(rest.prefix(TraceHeader.size)))
            rest = rest.dropFirst(TraceHeader.size)
        }
        while rest.count >= TraceRecord.size {
            // A payload whose first byte ends in 0xF as a batch of version 2 (one in 16): the
            // fuzzer's bytes behind a valid CRC reach TraceBatch.forEach.
            if rest[rest.startIndex] & 0x0F == 0x0F {
                out += FrameDemux.encode(type: .batch, payload: Data(rest.dropFirst().prefix(TraceRecord.size - 1)))
                rest = rest.dropFirst(TraceRecord.size)
                continue
            }
            var record = Array(rest.prefix(TraceRecord.size))
            record[0] = recordKinds[Int(record[0]) % recordKinds.count]
            record[56] = recordActions[Int(record[56]) % recordActions.count]
            out += FrameDemux.encode(type: .record, payload: Data(record))
            rest = rest.dropFirst(TraceRecord.size)
        }
        return out + Data(rest)
    }
}
