import KeelHW

/// The last few trace records of each CPU, kept as values beside the encoded ring (full mode
/// only: `Trace.append` keeps each one here too, a copy on a path that costs thousands of
/// instructions anyway). A fault report reads them back (`Trace.forEachRecent`) without decoding
/// the ring, whose records may already have been drained to the UART.
enum TraceTail {
    static let depth = 8
    /// `depth` records per physical CPU (KEEL_MAX_CPUS 8), a ring each.
    nonisolated(unsafe) private static var records: [64 of TraceRecord] = .init(repeating: TraceRecord())
    /// Per CPU: how many records it has kept (the next slot is this modulo `depth`).
    nonisolated(unsafe) private static var kept: [8 of UInt32] = [0, 0, 0, 0, 0, 0, 0, 0]

    static func keep(_ record: TraceRecord, cpu: Int) {
        let cpu = cpu & 7
        records[cpu * depth + Int(kept[cpu] % UInt32(depth))] = record
        kept[cpu] &+= 1
    }

    /// CPU `cpu`'s last `depth` records at most, oldest first.
    static func forEach(cpu: Int, _ body: (TraceRecord) -> Void) {
        let cpu = cpu & 7
        let count = min(kept[cpu], UInt32(depth))
        var n = kept[cpu] &- count
        while n != kept[cpu] {
            body(records[cpu * depth + Int(n % UInt32(depth))])
            n &+= 1
        }
    }
}

extension Trace {
    /// Calls `body` with this CPU's last records (at most `TraceTail.depth`), oldest first, for
    /// a fault report.
    @_optimize(size)
    static func forEachRecent(_ body: (TraceRecord) -> Void) {
        if inMemory { return TraceMemory.forEachRecent(cpu: TraceRings.cpuIndex, limit: TraceTail.depth, body) }
        TraceTail.forEach(cpu: TraceRings.cpuIndex, body)
    }
}
