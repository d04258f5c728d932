import Foundation
import KeelCore

/// Reading a dump of `keel.trace=memory`'s block (`TraceMemoryDump`): what a debugger or QEMU's
/// monitor saves from the address Keel prints at boot (a hung machine's last records).
/// `keel trace` turns it into the trace stream it reads anyway.
extension TraceMemoryDump {
    /// True when `prefix` (the input's first bytes) starts as a dump does: a raw stream header
    /// with mode `memory`. A trace stream cannot: its header sits in a COBS frame after a zero.
    public static func isDump(_ prefix: UnsafeRawBufferPointer) -> Bool {
        guard prefix.count >= TraceHeader.size else { return false }
        let bytes = [UInt8](prefix[0..<TraceHeader.size])
        guard let header = TraceHeader.decode(bytes.span) else { return false }
        return header.mode == TraceMode.memory.rawValue
    }

    /// The dump as a trace stream: its header frame, then the records the rings still hold,
    /// every CPU's merged by exit time. A ring gives its last `capacity - 1` records at most
    /// (the oldest slot may have been half overwritten when the machine stopped: the next
    /// record was being written over it), and only slots holding the record their place says
    /// (its sequence number): the stream's sequence numbers then count what was overwritten
    /// as lost, as for a drained ring.
    public static func stream(_ dump: Data) throws(TraceFailure) -> Data {
        guard dump.count >= bytes else {
            throw .dataError("a memory trace dump is \(bytes) bytes (from the address Keel prints at boot); this one has \(dump.count): dump the whole block")
        }
        let words: [UInt64] = dump.withUnsafeBytes { raw in
            (0..<Self.words).map { raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self).littleEndian }
        }
        let headerBytes = [UInt8](dump.prefix(TraceHeader.size))
        guard let header = TraceHeader.decode(headerBytes.span), header.mode == TraceMode.memory.rawValue else {
            throw .dataError("not a memory trace dump: no stream header with mode memory at its start")
        }
        guard words[5] == UInt64(capacity) | UInt64(cpus) << 32, words[6] == UInt64(TraceRecord.words) else {
            throw .dataError(String(format: "a memory trace dump of another layout (rings 0x%llx, record words %llu; this keel reads %d rings of %d records of %d words)",
                                    words[5], words[6], cpus, capacity, TraceRecord.words))
        }
        var records: [TraceRecord] = []
        for cpu in 0..<cpus {
            let (word, shift) = u32(at: countsOffset, cpu: cpu)
            let count = UInt32(truncatingIfNeeded: words[word] >> shift)
            var n = count &- min(count, UInt32(capacity - 1))
            while n != count {
                let at = slot(cpu: cpu, count: n)
                if let record = TraceRecord(words: words.span.extracting(at..<at + TraceRecord.words)),
                   record.sequence == n, Int(record.cpu) == cpu {
                    records.append(record)
                }
                n &+= 1
            }
        }
        records.sort { ($0.exitTime, $0.cpu, $0.sequence) < ($1.exitTime, $1.cpu, $1.sequence) }
        var stream = FrameDemux.encode(header)
        for record in records { stream += FrameDemux.encode(record) }
        return stream
    }
}
