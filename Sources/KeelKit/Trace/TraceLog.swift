import Foundation
import KeelCore

/// A whole decoded trace: its header, its records in stream order, and what was lost.
public struct TraceLog {
    public var header: TraceHeader?
    public var records: [TraceRecord] = []
    /// Records missing according to the per-CPU sequence numbers.
    public var lostRecords = 0
    public var corruptFrames = 0
    public var corruptBytes = 0
    /// Frames whose payload did not parse as a header or record of this format.
    public var badPayloads = 0
    public var warnings: [String] = []

    public init() {}

    /// Decodes a trace file (or a raw console capture: text between frames is skipped).
    public static func decode(_ data: Data) -> TraceLog {
        var demux = FrameDemux()
        var log = TraceLog()
        log.records.reserveCapacity(data.count / 96)
        var lastSequence: [UInt32?] = Array(repeating: nil, count: 256)
        data.withUnsafeBytes { buffer in
            demux.scan(buffer, text: { _ in }, frame: { type, payload in
                switch FrameType(rawValue: type) {
                case .header:
                    guard let header = payload.withSpan({ TraceHeader.decode($0) }) else { log.badPayloads += 1; return }
                    if header.version != TraceHeader.currentVersion || Int(header.recordSize) != TraceRecord.size {
                        log.warnings.append("trace format version \(header.version) (record size \(header.recordSize)); this decoder reads version \(TraceHeader.currentVersion)")
                    }
                    if let previous = log.header, previous.buildIDHex != header.buildIDHex {
                        log.warnings.append("the stream has a second header from another firmware build (\(header.buildIDHex))")
                    }
                    log.header = log.header ?? header
                case .record:
                    guard let record = payload.withSpan({ TraceRecord.decode($0) }) else { log.badPayloads += 1; return }
                    let cpu = Int(record.cpu)
                    if let last = lastSequence[cpu] {
                        let gap = record.sequence &- last &- 1
                        if gap != 0 && gap < 0x8000_0000 { log.lostRecords += Int(gap) }
                    }
                    lastSequence[cpu] = record.sequence
                    log.records.append(record)
                case nil:
                    break  // counted by the demux as an unknown frame
                }
            })
        }
        demux.finish()
        log.corruptFrames = demux.corruptFrames
        log.corruptBytes = demux.corruptBytes
        log.badPayloads += demux.unknownFrames
        if log.header == nil { log.warnings.append("no trace header: times are in counter ticks, the firmware build is unknown") }
        return log
    }

    /// Compares the stream's build id with an ELF's; a warning when they differ.
    public mutating func check(elfBuildID: [UInt8]) {
        guard let header else { return }
        if header.buildIDBytes != elfBuildID {
            warnings.append("build id mismatch: the trace comes from firmware \(header.buildIDHex), the ELF is \(hexString(elfBuildID))")
        }
    }

    /// `decoded N records; lost ...` for the end of every report.
    public var lossSummary: String {
        var parts = ["decoded \(records.count) records"]
        parts.append("lost \(lostRecords) records (sequence gaps)")
        parts.append("\(corruptFrames) damaged frames (\(corruptBytes) bytes)")
        if badPayloads > 0 { parts.append("\(badPayloads) unreadable payloads") }
        return parts.joined(separator: "; ")
    }

    /// Counter ticks per second (from the header; 1 when there is none, so times read as ticks).
    public var counterHz: Double { Double(header?.counterHz ?? 0) > 0 ? Double(header!.counterHz) : 1 }

    /// The first timestamp of the stream: time 0 in reports.
    public var origin: UInt64 { records.map(\.exitTime).min() ?? 0 }
}

/// The GNU build id of an ELF file (the `.note.gnu.build-id` section).
public enum ELFBuildID {
    public static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw KeelError("cannot read ELF '\(path)'") }
        return try read(data, path: path)
    }

    public static func read(_ data: Data, path: String = "ELF") throws -> [UInt8] {
        let bytes = [UInt8](data)
        func u(_ offset: Int, _ size: Int) throws -> Int {
            guard offset >= 0, offset + size <= bytes.count else { throw KeelError("'\(path)' is truncated") }
            return (0..<size).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
        }
        guard bytes.count >= 64, bytes[0..<4] == [0x7F, 0x45, 0x4C, 0x46], bytes[4] == 2, bytes[5] == 1 else {
            throw KeelError("'\(path)' is not a 64-bit little-endian ELF file")
        }
        let shoff = try u(0x28, 8), shentsize = try u(0x3A, 2), shnum = try u(0x3C, 2)
        for i in 0..<shnum {
            let header = shoff + i * shentsize
            guard try u(header + 4, 4) == 7 else { continue }  // SHT_NOTE
            var offset = try u(header + 0x18, 8)
            let end = offset + (try u(header + 0x20, 8))
            while offset + 12 <= end {
                let namesz = try u(offset, 4), descsz = try u(offset + 4, 4), type = try u(offset + 8, 4)
                let name = offset + 12, desc = name + (namesz + 3) & ~3
                if type == 3, namesz == 4, bytes[name..<name + 3] == [0x47, 0x4E, 0x55], desc + descsz <= bytes.count {
                    return Array(bytes[desc..<desc + descsz])
                }
                offset = desc + (descsz + 3) & ~3
            }
        }
        throw KeelError("'\(path)' has no GNU build id note")
    }
}
