import Foundation
import KeelCore

/// Synthetic traces framed as the firmware frames them (batches, format version 2), for the decoder benchmarks: a header,
/// then exits of the kinds a Linux boot makes (UART writes, PSCI calls, ID register reads,
/// WFI, physical interrupts) on one vCPU, in turn.
public enum TraceGenerator {
    /// The header and `records` records; exits 100 ticks apart, each handled in 37 ticks.
    public static func stream(records: Int, counterHz: UInt64 = 62_500_000) -> Data {
        var stream = Data()
        stream.reserveCapacity(records * 100 + 64)
        var header = TraceHeader()
        header.counterHz = counterHz
        stream += FrameDemux.encode(header)
        // In batches of 32, as the firmware drains its ring (format version 2).
        var batch: [TraceRecord] = []
        batch.reserveCapacity(32)
        for i in 0..<records {
            var record = self.record(i)
            record.sequence = UInt32(truncatingIfNeeded: i)
            record.exitTime = UInt64(i) * 100
            record.entryTime = record.exitTime + 37
            batch.append(record)
            if batch.count == 32 {
                stream += FrameDemux.encodeBatches(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        stream += FrameDemux.encodeBatches(batch)
        return stream
    }

    /// The `i`th record's kind and what its handler did.
    static func record(_ i: Int) -> TraceRecord {
        var r = TraceRecord()
        switch i % 5 {
        case 0:  // STR w1, [uart DR]
            r.esr = 0x9381_0046
            r.action = .mmioWrite
            r.ipa = 0x0900_0000
            r.width = 4
            r.register = 1
            r.flags = 1
            r.arg0 = UInt64(0x20 + i % 0x5F)
        case 1:  // HVC PSCI_VERSION
            r.esr = 0x5A00_0000
            r.action = .hypercall
            r.arg0 = UInt64(PSCI.version)
            r.arg1 = 0x10002
        case 2:  // MRS x0, ID_AA64PFR0_EL1
            r.esr = 0x6200_0000 | (3 << 20) | (4 << 1) | 1  // EC 0x18, op0 3, CRm 4, read into x0
            r.action = .sysRegRead
            r.arg0 = 0x1100_0000_0011
        case 3:  // WFI
            r.esr = 0x0600_0000  // EC 0x01, TI 0: WFI
            r.action = .wfx
        default:  // a physical interrupt
            r.kind = .interrupt
        }
        return r
    }
}
