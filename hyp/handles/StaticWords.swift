import KeelHW

/// Atomic words of Keel's own (not of a VM or vCPU): which CPUs are online, the console-input
/// lock. Statics with literal initial values, so they are static data, not lazy globals.
enum StaticWords {
    /// One per physical CPU (KEEL_MAX_CPUS): non-zero once it runs Keel.
    nonisolated(unsafe) private static var online: [8 of UInt32] = [0, 0, 0, 0, 0, 0, 0, 0]
    nonisolated(unsafe) private static var consoleInput: UInt32 = 0
    nonisolated(unsafe) private static var traceDrain: UInt32 = 0

    /// CPU `cpu`'s online flag (`cpu` masked to the array: an index never leaves it).
    static func online(_ cpu: Int) -> AtomicWord {
        // Safety: a static's address is fixed for the firmware's life; the index is masked into
        // the array, which is stored inline.
        unsafe AtomicWord(unsafe withUnsafeMutablePointer(to: &online) {
            unsafe UnsafeMutableRawPointer($0).assumingMemoryBound(to: UInt32.self) + (cpu & 7)
        })
    }

    /// CPU `cpu`'s count of records in its memory trace ring, published with release order
    /// after each record: a `UInt32` inside `TraceMemory.block`, where a dump finds it
    /// (`TraceMemoryDump.countsOffset`; `cpu` masked to the eight counts there).
    static func traceWritten(_ cpu: Int) -> AtomicWord {
        // Safety: a static's address is fixed for the firmware's life; the block is stored
        // inline, 8-byte aligned, and bytes 64..<96 of it hold only these eight counts (the
        // header's words 8-11, which nothing else writes).
        unsafe AtomicWord(unsafe withUnsafeMutablePointer(to: &TraceMemory.block) {
            unsafe (UnsafeMutableRawPointer($0) + TraceMemoryDump.countsOffset).assumingMemoryBound(to: UInt32.self)
                + (cpu & (TraceMemoryDump.cpus - 1))
        })
    }

    /// Where the memory trace block is (what Keel prints for a debugger to dump).
    static var traceMemoryAddress: UInt {
        // Safety: only the address is taken, nothing is read or written through it.
        unsafe withUnsafeMutablePointer(to: &TraceMemory.block) { UInt(bitPattern: $0) }
    }

    /// Held while a memory trace ring drains to the UART (each record is sent once).
    static var traceDrainLock: AtomicWord {
        // Safety: a static's address is fixed for the firmware's life.
        unsafe AtomicWord(unsafe withUnsafeMutablePointer(to: &traceDrain) { unsafe $0 })
    }

    /// Guards `ConsoleInput`'s state and the reading of the board's UART.
    static var consoleInputLock: AtomicWord {
        // Safety: a static's address is fixed for the firmware's life.
        unsafe AtomicWord(unsafe withUnsafeMutablePointer(to: &consoleInput) { unsafe $0 })
    }
}
