import KeelHW

/// `keel.trace=memory`: each CPU keeps its records in a large ring in RAM, as ten words each
/// (`TraceRecord.store(into:at:)`), the oldest overwritten first: an exit pays for the record,
/// not for the UART. The rings drain to the UART, framed as `full` mode frames them, when a VM
/// powers off (its CPU's ring) and when the machine does (every ring): the decoder sees the same
/// stream, with the records overwritten before a drain as sequence gaps (lost records).
///
/// Each ring has one writer, its CPU, which publishes a record by bumping the CPU's count
/// (`StaticWords.traceWritten`, release) after storing it. A drain may run on another CPU while
/// that one still records (a VM powering off the machine while others run): it copies a record,
/// then reads the count again and drops the copy if the writer may have reached its slot
/// since, as a sequence lock's reader does. A count of n + capacity may mean record n + capacity
/// is being written over record n, so a drain sends at most the last capacity - 1 records.
struct TraceMemoryRing {
    /// Records per CPU: a power of two, so a slot is the count masked.
    static let capacity = 1024
    var words: [10240 of UInt64] = .init(repeating: 0)  // capacity * TraceRecord.words
    /// The count up to which this ring has been sent (only under `StaticWords.traceDrainLock`).
    var drained: UInt32 = 0

    @inline(__always)
    mutating func store(_ record: TraceRecord, count: UInt32) {
        var span = words.mutableSpan
        record.store(into: &span, at: Int(count & UInt32(TraceMemoryRing.capacity - 1)) * TraceRecord.words)
    }

    /// The record published as number `count`, if its slot still holds it.
    mutating func record(_ count: UInt32) -> TraceRecord? {
        let at = Int(count & UInt32(TraceMemoryRing.capacity - 1)) * TraceRecord.words
        return TraceRecord(words: words.span.extracting(at..<at + TraceRecord.words))
    }
}

enum TraceMemory {
    // One per KEEL_MAX_CPUS, a literal so the pool is BSS, not a lazy global. Each CPU writes
    // only its own ring.
    nonisolated(unsafe) static var rings: [8 of TraceMemoryRing] = [
        TraceMemoryRing(), TraceMemoryRing(), TraceMemoryRing(), TraceMemoryRing(),
        TraceMemoryRing(), TraceMemoryRing(), TraceMemoryRing(), TraceMemoryRing(),
    ]

    /// Appends `record` to this CPU's ring (the caller set its CPU); its sequence number is the
    /// ring's count.
    @inline(__always)
    static func push(_ record: TraceRecord, cpu: Int) {
        let written = StaticWords.traceWritten(cpu)
        let count = written.loadAcquire()
        var record = record
        record.sequence = count
        rings[cpu & 7].store(record, count: count)
        written.storeRelease(count &+ 1)
    }

    /// This CPU's last `limit` records at most, oldest first (a fault report's tail).
    static func forEachRecent(cpu: Int, limit: Int, _ body: (TraceRecord) -> Void) {
        let end = StaticWords.traceWritten(cpu).loadAcquire()
        var n = end &- min(end, UInt32(limit))
        while n != end {
            if let record = rings[cpu & 7].record(n) { body(record) }
            n &+= 1
        }
    }

    /// Sends CPU `cpu`'s records not yet sent, oldest first, in `full` mode's frames.
    static func drain(cpu: Int) {
        StaticWords.traceDrainLock.locked {
            let written = StaticWords.traceWritten(cpu)
            let end = written.loadAcquire()
            let capacity = UInt32(TraceMemoryRing.capacity)
            var n = rings[cpu & 7].drained
            if end &- n > capacity { n = end &- capacity }  // older ones are overwritten
            var payload: [80 of UInt8] = .init(repeating: 0)  // TraceRecord.size
            while n != end {
                let copy = rings[cpu & 7].record(n)
                // The copy is good if the writer has not started on record n + capacity, which
                // reuses its slot: it has published fewer than n + capacity records.
                keel_dsb_ish()
                if let copy, written.loadAcquire() &- n < capacity {
                    var bytes = payload.mutableSpan
                    copy.encode(into: &bytes)
                    TraceUART.sendFrame(type: .record, payload.span)
                }
                n &+= 1
            }
            rings[cpu & 7].drained = end
        }
    }

    /// Every CPU's ring: the machine is powering off.
    static func drainAll() {
        for cpu in 0..<8 { drain(cpu: cpu) }
    }
}
