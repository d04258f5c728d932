import Foundation
import KeelCore

/// Splits a byte stream (a console with trace frames in it, or a trace file) into console text
/// and frames. Frames are `0x00 COBS(...) 0x00`; console text never holds a zero byte. A
/// candidate that does not decode or fails its CRC is counted as lost and its closing zero is
/// taken as the opening of the next frame, which is how the demux resynchronises after dropped
/// or damaged bytes.
///
/// The hot path (`scan`) finds delimiters with memchr and decodes frames from the input buffer
/// into one reused scratch buffer, allocating nothing per frame.
public struct FrameDemux {
    public enum Piece: Equatable {
        case text(Data)
        /// A frame's verified payload: the type byte and its body.
        case frame(FrameType, Data)
        /// A well-formed frame of a type this decoder does not know (a newer format).
        case unknownFrame(UInt8)
    }

    public private(set) var corruptFrames = 0
    public private(set) var corruptBytes = 0
    public private(set) var unknownFrames = 0

    private var inFrame = false
    /// A candidate frame that started in an earlier buffer.
    private var pending: [UInt8] = []
    /// One candidate, decoded in place (8-byte aligned words, for the COBS templates).
    private var scratch = [UInt64](repeating: 0, count: FastCRC32.templateWords + 1)
    private var templates = [UInt64](repeating: 0, count: FastCRC32.templateEntries * FastCRC32.templateStride)
    /// A candidate longer than `FastCRC32.inPlaceLimit` (a batch of records), decoded here.
    private var large = [UInt8](repeating: 0, count: FrameDemux.maxBody)
    /// The CRC tables, read once here rather than through the global per frame.
    private let crcTables = FastCRC32.tables
    /// Longest body a frame can have; anything longer is not a frame.
    static let maxBody = TraceFraming.maxEncoded + 8
    /// Candidates up to this long (every version 1 record frame) are decoded in place with
    /// COBS templates; longer ones (batches) by the plain decoder.
    static let inPlaceBody = FastCRC32.inPlaceLimit

    public init() {}

    /// Feeds bytes; returns the pieces they complete, in order.
    public mutating func feed(_ data: Data) -> [Piece] {
        var pieces: [Piece] = []
        data.withUnsafeBytes { buffer in
            scan(buffer, text: { pieces.append(.text(Data($0))) }, frame: { type, payload in
                if let known = FrameType(rawValue: type) {
                    pieces.append(.frame(known, Data(payload)))
                } else {
                    pieces.append(.unknownFrame(type))
                }
            })
        }
        return pieces
    }

    /// The allocation-free form of `feed`: `text` gets console text, `frame` each verified frame
    /// (type byte, body without CRC). Both buffers are only valid during the call.
    public mutating func scan(_ buffer: UnsafeRawBufferPointer,
                              text: (UnsafeRawBufferPointer) -> Void,
                              frame: (UInt8, UnsafeRawBufferPointer) -> Void) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let count = buffer.count
        var i = 0
        while i < count {
            // Next delimiter at or after i.
            let zero: Int
            if let found = memchr(base + i, 0, count - i) {
                zero = base.distance(to: UnsafeRawPointer(found))
            } else {
                zero = count
            }
            let run = UnsafeRawBufferPointer(start: base + i, count: zero - i)
            if !inFrame {
                if run.count > 0 { text(run) }
                if zero < count { inFrame = true }
            } else if zero == count {
                // The frame continues in the next buffer.
                pending.append(contentsOf: run)
                if pending.count > Self.maxBody {
                    // Far too long for a frame: the opening zero was lost, this was text.
                    corruptFrames += 1
                    corruptBytes += pending.count
                    pending.removeAll(keepingCapacity: true)
                    inFrame = false
                }
            } else {
                // A zero closes the candidate.
                var candidateBytes = 0
                var ok = false
                if pending.isEmpty {
                    candidateBytes = run.count
                    if run.count > 0 { ok = decode(run, frame) }
                } else {
                    pending.append(contentsOf: run)
                    candidateBytes = pending.count
                    ok = pending.withUnsafeBytes { decode($0, frame) }
                    pending.removeAll(keepingCapacity: true)
                }
                if ok {
                    inFrame = false
                } else if candidateBytes > 0 {
                    // Not a frame: this zero may open the next one.
                    corruptFrames += 1
                    corruptBytes += candidateBytes
                }
            }
            i = zero + 1
        }
    }

    /// Bytes left in an unfinished frame when the stream ended: lost.
    public mutating func finish() {
        if inFrame && !pending.isEmpty {
            corruptFrames += 1
            corruptBytes += pending.count
        }
        pending.removeAll()
        inFrame = false
    }

    private mutating func decode(_ candidate: UnsafeRawBufferPointer, _ frame: (UInt8, UnsafeRawBufferPointer) -> Void) -> Bool {
        let count = candidate.count
        guard count <= Self.maxBody, count >= 6, let input = candidate.baseAddress else { return false }
        let tables = crcTables
        if count > Self.inPlaceBody { return decodeLarge(candidate, frame) }
        var unknown = false
        let ok = templates.withUnsafeMutableBufferPointer { templates in
            scratch.withUnsafeMutableBytes { scratch -> Bool in
                // Candidates never hold a zero (the scan split the stream at zeros) and are 6 to
                // maxBody (<= inPlaceLimit) bytes; the scratch buffer holds inPlaceLimit + 8.
                guard let s = scratch.baseAddress, let t = templates.baseAddress else { return false }
                s.copyMemory(from: input, byteCount: count)
                guard FastCRC32.cobsDecodeInPlace(s, count: count, templates: t) else { return false }
                // The decoded frame is s[1 ..< count]: a type byte, the body, the 4-byte CRC.
                let body = count - 5
                let crc = FastCRC32.checksum(s + 1, count: body, tables: tables)
                guard crc == UInt32(littleEndian: s.loadUnaligned(fromByteOffset: 1 + body, as: UInt32.self)) else { return false }
                let type = s.load(fromByteOffset: 1, as: UInt8.self)
                unknown = FrameType(rawValue: type) == nil
                frame(type, UnsafeRawBufferPointer(start: s + 2, count: body - 1))
                return true
            }
        }
        if ok && unknown { unknownFrames += 1 }
        return ok
    }

    /// A long candidate: COBS into `large` a block at a time (a copy each: the candidate holds
    /// no zero, the scan split the stream at zeros), the CRC, then the frame.
    private mutating func decodeLarge(_ candidate: UnsafeRawBufferPointer, _ frame: (UInt8, UnsafeRawBufferPointer) -> Void) -> Bool {
        let tables = crcTables
        var unknown = false
        let ok = large.withUnsafeMutableBytes { scratch -> Bool in
            guard let s = scratch.baseAddress, let input = candidate.baseAddress else { return false }
            let count = candidate.count
            let capacity = scratch.count
            var i = 0
            var out = 0
            while i < count {
                let code = Int(input.load(fromByteOffset: i, as: UInt8.self))
                // code >= 1: no zero in a candidate.
                guard code <= count - i, code - 1 <= capacity - out else { return false }
                (s + out).copyMemory(from: input + i + 1, byteCount: code - 1)
                out += code - 1
                i += code
                if code != 0xFF && i < count {
                    guard out < capacity else { return false }
                    s.storeBytes(of: 0, toByteOffset: out, as: UInt8.self)
                    out += 1
                }
            }
            guard out >= 6 else { return false }
            let body = out - 4
            let crc = FastCRC32.checksum(s, count: body, tables: tables)
            guard crc == UInt32(littleEndian: s.loadUnaligned(fromByteOffset: body, as: UInt32.self)) else { return false }
            let type = s.load(as: UInt8.self)
            unknown = FrameType(rawValue: type) == nil
            frame(type, UnsafeRawBufferPointer(start: s + 1, count: body - 1))
            return true
        }
        if ok && unknown { unknownFrames += 1 }
        return ok
    }

    /// Encodes one frame, delimiters included (the firmware's framing, for tests and tools).
    public static func encode(type: FrameType, payload: Data) -> Data {
        var plain = [type.rawValue] + [UInt8](payload)
        let crc = CRC32.checksum(plain.span)
        for i in 0..<4 { plain.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i)))) }
        var encoded = [UInt8](repeating: 0, count: plain.count + plain.count / 254 + 2)
        var output = encoded.mutableSpan
        let length = TraceFraming.cobsEncode(plain.span, into: &output)
        return Data([0]) + Data(encoded[0..<length]) + Data([0])
    }

    /// Records as the firmware frames them since format version 2: batches of consecutive
    /// records of one CPU (`TraceBatch`; at most `perBatch` each), a new batch wherever the CPU
    /// changes or a sequence number is not the next.
    public static func encodeBatches(_ records: [TraceRecord], perBatch: Int = 32) -> Data {
        var out = Data()
        var buffer = [UInt8](repeating: 0, count: TraceBatch.maxPayload)
        var batch = TraceBatch.Encoder()
        var cpu: UInt8 = 0
        func send() {
            guard batch.length > 0 else { return }
            out += encode(batch: buffer[0..<batch.length])
            batch = TraceBatch.Encoder()
        }
        for record in records {
            if batch.length > 0 && (record.cpu != cpu || record.sequence != batch.nextSequence || !batch.hasRoom || batch.count >= perBatch) {
                send()
            }
            var span = buffer.mutableSpan
            if batch.length == 0 {
                cpu = record.cpu
                batch.open(cpu: record.cpu, sequence: record.sequence, time: record.exitTime, in: &span)
            }
            batch.append(record, in: &span)
        }
        send()
        return out
    }

    /// One batch frame around `plain` (type byte and batch, as `TraceBatch.Encoder` leaves it).
    static func encode(batch plain: ArraySlice<UInt8>) -> Data {
        encode(type: .batch, payload: Data(plain.dropFirst()))
    }

    /// A record as the firmware framed it in format version 1 (for old traces, the fuzz seeds and tests).
    public static func encode(_ record: TraceRecord) -> Data {
        var bytes = [UInt8](repeating: 0, count: TraceRecord.size)
        do { var span = bytes.mutableSpan; record.encode(into: &span) }
        return encode(type: .record, payload: Data(bytes))
    }

    /// The stream's header as the firmware frames it.
    public static func encode(_ header: TraceHeader) -> Data {
        var bytes = [UInt8](repeating: 0, count: TraceHeader.size)
        do { var span = bytes.mutableSpan; header.encode(into: &span) }
        return encode(type: .header, payload: Data(bytes))
    }
}
