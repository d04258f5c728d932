import Foundation
import KeelCore

/// `keel trace decode`: one line per record, written as the records are decoded, so memory
/// stays flat and a live capture (a pipe, a FIFO, `-`) prints its records as they arrive.
///
/// Time 0 is the earliest exit counter. A regular file is read twice to find it first (the
/// per-CPU rings drain in turn, so the earliest record need not come first). A stream cannot
/// be read twice: its time 0 is its first record, and a record another CPU drains later may
/// print with a negative time.
public enum TraceDecodeStream {
    public struct Outcome {
        /// The decoder after the end of the input: loss counts, header, warnings.
        public var decoder: TraceStreamDecoder
        /// Records decoded in all passes over the input (each pass visits each record once).
        public var recordsVisited: Int
    }

    public static func run(_ input: TraceInputFile, json: Bool, output: TraceOutput) throws -> Outcome {
        var visited = 0
        var formatter: TraceLineFormatter?
        var writer: TraceLineWriter?
        var schemaWritten = false
        if input.isRegularFile {
            var first = TraceStreamDecoder()
            try input.forEachChunk { chunk in first.feed(chunk) { _, _ in visited += 1 } }
            first.finish()
            try refuseIfNoFrames(first, input)
            formatter = TraceLineFormatter(header: first.header, origin: first.earliestExit ?? 0)
            if json {
                try output.line(TraceReports.schemaLine("decode", header: first.header))
                schemaWritten = true
            }
            try input.rewind()
        }
        var decoder = TraceStreamDecoder()
        try input.forEachChunk { chunk in
            try decoder.feed(chunk) { (record, header) throws(TraceFailure) in
                visited += 1
                let lines = formatter ?? TraceLineFormatter(header: header, origin: record.exitTime)
                formatter = lines
                if json && !schemaWritten {
                    try output.line(TraceReports.schemaLine("decode", header: header))
                    schemaWritten = true
                }
                // Lines go into the output buffer as bytes (what `lines.text` and `.json` spell).
                if writer == nil { writer = TraceLineWriter(lines) }
                if json {
                    try output.line { writer!.appendJSON(record, to: &$0) }
                } else {
                    try output.line { writer!.append(record, to: &$0) }
                }
            }
            // A live input shows each chunk's records now; a file fills the buffer first.
            if !input.isRegularFile { try output.flush() }
        }
        decoder.finish()
        if !input.isRegularFile {
            if input.bytesRead == 0 { throw TraceFailure.noInput("\(input.name) was empty: no trace to decode") }
            try refuseIfNoFrames(decoder, input)
        }
        if json && !schemaWritten { try output.line(TraceReports.schemaLine("decode", header: decoder.header)) }
        try output.flush()
        return Outcome(decoder: decoder, recordsVisited: visited)
    }

    static func refuseIfNoFrames(_ decoder: TraceStreamDecoder, _ input: TraceInputFile) throws(TraceFailure) {
        if decoder.records == 0 && decoder.header == nil {
            throw .dataError("\(input.name) holds no Keel trace frames (\(decoder.lossSummary))")
        }
    }
}
