import Foundation
import KeelCore

/// Splits a byte stream (a console with trace frames in it, or a trace file) into console text
/// and frames. Frames are `0x00 COBS(...) 0x00`; console text never holds a zero byte. A
/// candidate that does not decode or fails its CRC is counted as lost and its closing zero is
/// taken as the opening of the next frame, which is how the demux resynchronises after dropped
/// or damaged bytes.
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
    private var candidate = Data()
    /// Longest body a frame can have; anything longer is not a frame.
    private static let maxBody = TraceFraming.maxEncoded + 8

    public init() {}

    /// Feeds bytes; returns the pieces they complete, in order.
    public mutating func feed(_ data: Data) -> [Piece] {
        var pieces: [Piece] = []
        var text = Data()
        for byte in data {
            if !inFrame {
                if byte == TraceFraming.delimiter {
                    if !text.isEmpty { pieces.append(.text(text)); text = Data() }
                    inFrame = true
                    candidate.removeAll(keepingCapacity: true)
                } else {
                    text.append(byte)
                }
                continue
            }
            if byte != TraceFraming.delimiter {
                candidate.append(byte)
                continue
            }
            // A zero ends the candidate.
            if candidate.isEmpty { continue }  // two zeros in a row: still at a frame start
            if let piece = decodeCandidate() {
                pieces.append(piece)
                inFrame = false
            } else {
                // Not a frame: count it, and treat this zero as the start of the next one.
                corruptFrames += 1
                corruptBytes += candidate.count
            }
            candidate.removeAll(keepingCapacity: true)
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        if inFrame && candidate.count > Self.maxBody {
            // Far too long for a frame: the opening zero was lost, this is text after all.
            corruptFrames += 1
            corruptBytes += candidate.count
            candidate.removeAll(keepingCapacity: true)
        }
        return pieces
    }

    /// Bytes left in an unfinished frame when the stream ended: lost.
    public mutating func finish() {
        if inFrame && !candidate.isEmpty {
            corruptFrames += 1
            corruptBytes += candidate.count
        }
        candidate.removeAll()
        inFrame = false
    }

    private mutating func decodeCandidate() -> Piece? {
        guard candidate.count <= Self.maxBody else { return nil }
        var plain = [UInt8](repeating: 0, count: candidate.count)
        let length = candidate.withUnsafeBytes { input in
            plain.withUnsafeMutableBytes { TraceFraming.cobsDecode(input, into: $0.baseAddress!, capacity: $0.count) }
        }
        guard let length, length >= 5 else { return nil }
        let body = length - 4
        let crc = plain.withUnsafeBytes { CRC32.checksum($0.baseAddress!, count: body) }
        let stored = plain.withUnsafeBytes { UInt32(truncatingIfNeeded: LittleEndian.load(4, at: body, in: $0.baseAddress!)) }
        guard crc == stored else { return nil }
        guard let type = FrameType(rawValue: plain[0]) else {
            unknownFrames += 1
            return .unknownFrame(plain[0])
        }
        return .frame(type, Data(plain[1..<body]))
    }

    /// Encodes one frame, delimiters included (the firmware's framing, for tests and tools).
    public static func encode(type: FrameType, payload: Data) -> Data {
        var plain = [type.rawValue] + [UInt8](payload)
        let crc = plain.withUnsafeBytes { CRC32.checksum($0.baseAddress!, count: $0.count) }
        for i in 0..<4 { plain.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i)))) }
        var encoded = [UInt8](repeating: 0, count: plain.count + plain.count / 254 + 2)
        let length = plain.withUnsafeBytes { p in
            encoded.withUnsafeMutableBytes { TraceFraming.cobsEncode(p.baseAddress!, count: p.count, into: $0.baseAddress!) }
        }
        return Data([0]) + Data(encoded[0..<length]) + Data([0])
    }
}
