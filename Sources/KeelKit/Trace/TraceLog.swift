import Foundation
import KeelCore

/// A whole decoded trace: its header, its records in stream order, and what was lost.
public struct TraceLog {
    public var header: TraceHeader?
    public private(set) var records: [TraceRecord] = []
    /// Records missing according to the per-CPU sequence numbers.
    public var lostRecords = 0
    public var corruptFrames = 0
    public var corruptBytes = 0
    /// Frames whose payload did not parse as a header or record of this format.
    public var badPayloads = 0
    /// Exits whose re-entry counter precedes their exit counter: reported with 0 ticks.
    public var backwardRecords = 0
    public var warnings: [String] = []
    /// The first timestamp of the stream (the earliest exit counter): time 0 in reports. Kept
    /// as records are added, so that reading it per record costs nothing.
    public private(set) var origin: UInt64 = 0

    public init() {}

    /// Decodes a trace file (or a raw console capture: text between frames is skipped).
    public static func decode(_ data: Data) -> TraceLog {
        var decoder = TraceStreamDecoder()
        var log = TraceLog()
        // A record's frame is at least 87 bytes (86 and a delimiter): room for all of them at
        // once, so the array is never copied as it grows (pages not written cost nothing).
        log.records.reserveCapacity(data.count / 87 + 1)
        decoder.feed(data) { record, _ in log.records.append(record) }
        decoder.finish()
        log.take(decoder)
        return log
    }

    /// Decodes an input as it is read (a file, a pipe, `-`), keeping the records but not the bytes.
    public static func decode(_ input: TraceInputFile) throws -> TraceLog {
        var decoder = TraceStreamDecoder()
        var log = TraceLog()
        try input.forEachChunk { chunk in decoder.feed(chunk) { record, _ in log.records.append(record) } }
        decoder.finish()
        log.take(decoder)
        return log
    }

    /// The header, counts and warnings of a finished stream decoder (not its records).
    public mutating func take(_ decoder: TraceStreamDecoder) {
        header = decoder.header
        lostRecords = decoder.lostRecords
        corruptFrames = decoder.corruptFrames
        corruptBytes = decoder.corruptBytes
        badPayloads = decoder.badPayloads
        backwardRecords = decoder.backwardRecords
        warnings = decoder.warnings
        origin = decoder.earliestExit ?? 0
    }

    /// Adds a record (for tools and tests that build a log by hand).
    public mutating func append(_ record: TraceRecord) {
        origin = records.isEmpty ? record.exitTime : min(origin, record.exitTime)
        records.append(record)
    }

    /// Compares the stream's build id with an ELF's; a warning when they differ.
    public mutating func check(elfBuildID: [UInt8]) {
        guard let header else { return }
        if let warning = Self.buildIDWarning(header, elfBuildID: elfBuildID) { warnings.append(warning) }
    }

    /// The warning for a trace whose header names another build than the ELF's, if it does.
    public static func buildIDWarning(_ header: TraceHeader, elfBuildID: [UInt8]) -> String? {
        header.buildIDBytes == elfBuildID ? nil
            : "build id mismatch: the trace comes from firmware \(header.buildIDHex), the ELF is \(hexString(elfBuildID))"
    }

    /// `decoded N records; lost ...` for the end of every report.
    public var lossSummary: String {
        Self.lossSummary(records: records.count, lost: lostRecords, corruptFrames: corruptFrames,
                         corruptBytes: corruptBytes, badPayloads: badPayloads)
    }

    /// The loss line of a whole log and of a stream decoded as it comes: one wording for both.
    static func lossSummary(records: Int, lost: Int, corruptFrames: Int, corruptBytes: Int, badPayloads: Int) -> String {
        var parts = ["decoded \(records) records"]
        parts.append("lost \(lost) records (sequence gaps)")
        parts.append("\(corruptFrames) damaged frames (\(corruptBytes) bytes)")
        if badPayloads > 0 { parts.append("\(badPayloads) unreadable payloads") }
        return parts.joined(separator: "; ")
    }

    /// Counter ticks per second (from the header; 1 when there is none, so times read as ticks).
    public var counterHz: Double { Self.counterHz(header) }

    static func counterHz(_ header: TraceHeader?) -> Double {
        guard let hz = header?.counterHz, hz > 0 else { return 1 }
        return Double(hz)
    }
}

