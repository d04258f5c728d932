import Foundation
import KeelCore

/// Decodes a trace as its bytes arrive (a file read in chunks, a pipe, a live serial capture):
/// hands on each record once, keeps the header, the loss counts and the warnings. `TraceLog`
/// keeps what this hands on; `keel trace decode` prints it and keeps nothing.
public struct TraceStreamDecoder {
    /// What the stream said so far; apart from the demux so that both can be changed in one scan.
    private struct State {
        var header: TraceHeader?
        var lostRecords = 0
        var badPayloads = 0
        var backwardRecords = 0
        var records = 0
        var earliestExit: UInt64?
        var warnings: [String] = []
        var lastSequence: [UInt32?] = Array(repeating: nil, count: 256)

        mutating func take(_ new: TraceHeader) {
            // Version 1 (a record a frame) and 2 (batches) are both read.
            if new.version == 0 || new.version > TraceHeader.currentVersion || Int(new.recordSize) != TraceRecord.size {
                warnings.append("trace format version \(new.version) (record size \(new.recordSize)); this decoder reads version \(TraceHeader.currentVersion)")
            }
            if let header, header.buildIDHex != new.buildIDHex {
                warnings.append("the stream has a second header from another firmware build (\(new.buildIDHex))")
            }
            header = header ?? new
        }

        mutating func take(_ record: TraceRecord) {
            let cpu = Int(record.cpu)
            if let last = lastSequence[cpu] {
                let gap = record.sequence &- last &- 1
                if gap != 0 && gap < 0x8000_0000 { lostRecords += Int(gap) }
            } else if header != nil && record.sequence < 0x8000_0000 {
                // Every CPU numbers its records from 0 after the header: a stream seen from its
                // start that begins a CPU at n lost its first n (a memory ring overwrote them).
                lostRecords += Int(record.sequence)
            }
            lastSequence[cpu] = record.sequence
            if record.hasHandlingTime && record.entryTime < record.exitTime { backwardRecords += 1 }
            earliestExit = min(earliestExit ?? record.exitTime, record.exitTime)
            records += 1
        }
    }

    private var state = State()
    private var demux = FrameDemux()
    private var finished = false

    public var header: TraceHeader? { state.header }
    /// Records missing according to the per-CPU sequence numbers.
    public var lostRecords: Int { state.lostRecords }
    /// Frames whose payload did not parse as a header or record of this format (or of a type
    /// this decoder does not know, once the stream has ended).
    public var badPayloads: Int { state.badPayloads }
    /// Exits whose re-entry counter precedes their exit counter (a damaged or forged record):
    /// their handling time counts as 0.
    public var backwardRecords: Int { state.backwardRecords }
    /// Records handed on so far.
    public var records: Int { state.records }
    /// The earliest exit counter handed on so far (time 0 of the reports once the stream ends).
    public var earliestExit: UInt64? { state.earliestExit }
    public var warnings: [String] { state.warnings }
    public var corruptFrames: Int { demux.corruptFrames }
    public var corruptBytes: Int { demux.corruptBytes }

    public init() {}

    /// Feeds bytes; `record` gets each record they complete, in stream order, with the header
    /// seen so far. When `record` throws, the rest of the buffer is skipped and the error thrown.
    public mutating func feed<E: Error>(_ buffer: UnsafeRawBufferPointer, record: (TraceRecord, TraceHeader?) throws(E) -> Void) throws(E) {
        try Self.scan(buffer, &demux, &state, record)
    }

    public mutating func feed<E: Error>(_ data: Data, record: (TraceRecord, TraceHeader?) throws(E) -> Void) throws(E) {
        var failure: E?
        data.withUnsafeBytes { buffer in
            do throws(E) { try feed(buffer, record: record) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// The demux and the state as two arguments: the frame callback changes the state while
    /// the demux scans.
    private static func scan<E: Error>(_ buffer: UnsafeRawBufferPointer, _ demux: inout FrameDemux, _ state: inout State,
                                       _ record: (TraceRecord, TraceHeader?) throws(E) -> Void) throws(E) {
        var failure: E?
        demux.scan(buffer, text: { _ in }, frame: { type, payload in
            guard failure == nil else { return }  // the callback cannot throw: stop handing on
            switch FrameType(rawValue: type) {
            case .header:
                guard let header = payload.withSpan({ TraceHeader.decode($0) }) else { state.badPayloads += 1; return }
                state.take(header)
            case .record:
                guard let decoded = payload.withSpan({ TraceRecord.decode($0) }) else { state.badPayloads += 1; return }
                state.take(decoded)
                do throws(E) { try record(decoded, state.header) } catch { failure = error }
            case .batch:
                let ok = payload.withSpan { bytes in
                    TraceBatch.forEach(bytes) { decoded in
                        guard failure == nil else { return }
                        state.take(decoded)
                        do throws(E) { try record(decoded, state.header) } catch { failure = error }
                    }
                }
                if !ok { state.badPayloads += 1 }
            case nil:
                break  // counted by the demux as an unknown frame
            }
        })
        if let failure { throw failure }
    }

    /// The stream ended: counts an unfinished frame as lost and adds the end-of-stream warnings.
    public mutating func finish() {
        guard !finished else { return }
        finished = true
        demux.finish()
        state.badPayloads += demux.unknownFrames
        if state.header == nil { state.warnings.append("no trace header: times are in counter ticks, the firmware build is unknown") }
        if state.backwardRecords > 0 {
            state.warnings.append("\(state.backwardRecords) records re-enter the guest before they exit (entry counter before exit counter): their handling time counts as 0")
        }
    }

    /// `decoded N records; lost ...` for the end of every report.
    public var lossSummary: String {
        TraceLog.lossSummary(records: records, lost: lostRecords, corruptFrames: corruptFrames,
                             corruptBytes: corruptBytes, badPayloads: badPayloads)
    }
}

extension TraceRecord {
    /// Exits, interrupts and flushes have a handling time (exit to re-entry); lifecycle records do not.
    public var hasHandlingTime: Bool { kind == .exit || kind == .interrupt || kind == .flush }

    /// Exit to re-entry in counter ticks; 0 when the re-entry counter precedes the exit counter
    /// (`TraceStreamDecoder.backwardRecords` counts those), so sums and averages stay meaningful.
    public var checkedHandlingTicks: UInt64 { entryTime >= exitTime ? entryTime - exitTime : 0 }
}
