import KeelHW

/// `keel.trace=memory`: each CPU keeps its records in a large ring in RAM, as ten words each
/// (`TraceRecord.store(into:at:)`), the oldest overwritten first: an exit pays for the record,
/// not for the UART. The rings drain to the UART, in the batches `full` mode sends, when a VM
/// powers off (its CPU's ring) and when the machine does (every ring): the decoder sees the same
/// stream, with the records overwritten before a drain as sequence gaps (lost records).
///
/// All of it is one block (`TraceMemoryDump` in KeelCore is its layout: the stream header, each
/// CPU's count, then the rings), whose address Keel prints at boot, so that a debugger or
/// QEMU's monitor can dump a hung machine's last records and `keel trace` decode the dump.
///
/// Each ring has one writer, its CPU, which publishes a record by bumping the CPU's count
/// (`StaticWords.traceWritten`, release) after storing it. A drain may run on another CPU while
/// that one still records (a VM powering off the machine while others run): it copies a record,
/// then reads the count again and drops the copy if the writer may have reached its slot
/// since, as a sequence lock's reader does. A count of n + capacity may mean record n + capacity
/// is being written over record n, so a drain sends at most the last capacity - 1 records.
enum TraceMemory {
    static let capacity = TraceMemoryDump.capacity
    static let cpus = TraceMemoryDump.cpus

    /// The block: BSS, a literal so it is not a lazy global. Each CPU writes only its own count
    /// and ring.
    nonisolated(unsafe) static var block = TraceMemoryBlock()

    /// CPU `cpu`'s count up to which its ring has been sent, in the block's header (read and
    /// written only under `StaticWords.traceDrainLock`; no CPU's count shares its word).
    private static func drained(_ cpu: Int) -> UInt32 {
        let (word, shift) = TraceMemoryDump.u32(at: TraceMemoryDump.drainedOffset, cpu: cpu)
        return UInt32(truncatingIfNeeded: block.word(word) >> shift)
    }

    private static func setDrained(_ cpu: Int, _ count: UInt32) {
        let (word, shift) = TraceMemoryDump.u32(at: TraceMemoryDump.drainedOffset, cpu: cpu)
        block.setWord(word, block.word(word) & ~(0xFFFF_FFFF << shift) | UInt64(count) << shift)
    }

    /// Writes the block's header: `header` (the stream header's encoded bytes, which a dump
    /// starts with) and the geometry.
    static func start(header: Span<UInt8>) {
        block.storeHeader(header)
        Console.begin()
        Console.print("trace memory rings at ")
        Console.hex(UInt64(StaticWords.traceMemoryAddress))
        Console.print(", ")
        Console.dec(UInt64(TraceMemoryDump.bytes))
        Console.print(" bytes")
        Console.newline()
    }

    /// Appends `record` to this CPU's ring (the caller set its CPU); its sequence number is the
    /// ring's count.
    @inline(__always)
    static func push(_ record: TraceRecord, cpu: Int) {
        var record = record
        push(&record, cpu: cpu)
    }

    /// `push`, numbering `record` where it is (an exit's, in its vCPU: no copy).
    @inline(__always)
    static func push(_ record: inout TraceRecord, cpu: Int) {
        let written = StaticWords.traceWritten(cpu)
        let count = written.loadAcquire()
        record.sequence = count
        block.store(record, at: TraceMemoryDump.slot(cpu: cpu, count: count))
        written.storeRelease(count &+ 1)
    }

    /// The record published as number `count` of CPU `cpu`, if its slot holds one.
    private static func record(cpu: Int, _ count: UInt32) -> TraceRecord? {
        return block.record(at: TraceMemoryDump.slot(cpu: cpu, count: count))
    }

    /// This CPU's last `limit` records at most, oldest first (a fault report's tail).
    static func forEachRecent(cpu: Int, limit: Int, _ body: (TraceRecord) -> Void) {
        let end = StaticWords.traceWritten(cpu).loadAcquire()
        var n = end &- min(end, UInt32(limit))
        while n != end {
            if let record = record(cpu: cpu, n) { body(record) }
            n &+= 1
        }
    }

    /// Sends CPU `cpu`'s records not yet sent, oldest first, in `full` mode's frames.
    static func drain(cpu: Int) {
        let cpu = cpu & (cpus - 1)
        StaticWords.traceDrainLock.locked {
            let written = StaticWords.traceWritten(cpu)
            let end = written.loadAcquire()
            var n = drained(cpu)
            if end &- n > UInt32(capacity) { n = end &- UInt32(capacity) }  // older ones are overwritten
            // The records go out in batches, as `full` mode's (a new one at a gap: a copy the
            // writer overtook is left out, and a batch's numbers run on without gaps).
            var frame = TraceRing()
            while n != end {
                let copy = record(cpu: cpu, n)
                // The copy is good if the writer has not started on record n + capacity, which
                // reuses its slot: it has published fewer than n + capacity records.
                keel_dsb_ish()
                if let copy, written.loadAcquire() &- n < UInt32(capacity) {
                    if frame.batch.length > 0 && (frame.isFull || copy.sequence != frame.batch.nextSequence) { frame.send() }
                    frame.push(copy)
                }
                n &+= 1
            }
            frame.send()
            setDrained(cpu, end)
        }
    }

    /// Every CPU's ring: the machine is powering off.
    static func drainAll() {
        for cpu in 0..<cpus { drain(cpu: cpu) }
    }
}

/// The memory trace block's words (`TraceMemoryDump.words`). Every method is mutating so that
/// it works on the global in place: a non-mutating access to a global's inline array copies all
/// 640 KiB of it onto the stack first.
struct TraceMemoryBlock {
    var words: [81936 of UInt64] = .init(repeating: 0)

    mutating func word(_ index: Int) -> UInt64 { words[index] }

    mutating func setWord(_ index: Int, _ value: UInt64) { words[index] = value }

    mutating func storeHeader(_ header: Span<UInt8>) {
        var span = words.mutableSpan
        TraceMemoryDump.storeHeader(header, into: &span)
    }

    @inline(__always)
    mutating func store(_ record: TraceRecord, at index: Int) {
        var span = words.mutableSpan
        record.store(into: &span, at: index)
    }

    mutating func record(at index: Int) -> TraceRecord? {
        TraceRecord(words: words.span.extracting(index..<index + TraceRecord.words))
    }
}
