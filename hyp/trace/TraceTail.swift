import KeelHW

extension Trace {
    /// Calls `body` with this CPU's last `count` records still in its ring, oldest first, for a
    /// fault report. The ring keeps the bytes of records already drained until they are
    /// overwritten, so the records before the last drain are found too, by their sequence
    /// numbers (per CPU, +1 per record). Cold: a search, not an index.
    @_optimize(size)
    static func forEachRecent(_ count: Int, _ body: (TraceRecord) -> Void) {
        let ring = TraceRings.current
        let next = ring.pointee.sequence
        let cpu = UInt8(truncatingIfNeeded: TraceRings.cpuIndex)
        withUnsafeMutableBytes(of: &ring.pointee.bytes) { bytes in
            var back = count
            while back > 0 {
                let wanted = next &- UInt32(back)
                back -= 1
                for slot in 0..<ringRecords {
                    let start = slot * TraceRecord.size
                    guard let record = TraceRecord.decode(UnsafeRawBufferPointer(rebasing: bytes[start..<start + TraceRecord.size])),
                          record.sequence == wanted, record.cpu == cpu else { continue }
                    body(record)
                    break
                }
            }
        }
    }
}
