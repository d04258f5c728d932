/// The block that holds `keel.trace=memory`'s rings in Keel's RAM (hyp/trace/TraceMemory.swift),
/// as a debugger or QEMU's monitor dumps it and `keel trace` reads it: little-endian words,
///
/// ```
/// word  0-4   TraceHeader (40 bytes: "KTRC", version, record size, counter frequency, build id;
///             mode = memory), the same header a trace stream starts with
/// word  5     records per CPU ring (low 32 bits), CPUs (high 32 bits)
/// word  6     words per record (TraceRecord.words)
/// word  8-11  per CPU, u32: records it has published (its next sequence number), CPU i at
///             byte 64 + 4i
/// word 12-15  per CPU, u32: records of its ring already sent on the UART, CPU i at byte 96 + 4i
/// word 16-    CPU 0's ring (records per ring x 10 words, record n in slot n mod records per
///             ring, in TraceRecord.store's words), then CPU 1's, ...
/// ```
public enum TraceMemoryDump {
    /// Records per CPU ring: a power of two, so a slot is the count masked.
    public static let capacity = 1024
    /// Rings (KEEL_MAX_CPUS), a power of two.
    public static let cpus = 8
    public static let headerWords = 16
    /// Where CPU 0's count is, in bytes from the start of the block.
    public static let countsOffset = 64
    /// Where CPU 0's count of records already sent on the UART is.
    public static let drainedOffset = 96
    public static let words = headerWords + cpus * capacity * TraceRecord.words
    public static let bytes = words * 8

    /// The word index of record number `count`'s slot in CPU `cpu`'s ring.
    @inline(__always)
    public static func slot(cpu: Int, count: UInt32) -> Int {
        headerWords + ((cpu & (cpus - 1)) * capacity + Int(count & UInt32(capacity - 1))) * TraceRecord.words
    }

    /// CPU `cpu`'s `UInt32` at byte `offset + 4 cpu` of the header (`countsOffset`,
    /// `drainedOffset`): the word that holds it, and its shift in that word.
    @inline(__always)
    public static func u32(at offset: Int, cpu: Int) -> (word: Int, shift: UInt64) {
        let byte = offset + 4 * (cpu & (cpus - 1))
        return (byte / 8, UInt64(byte % 8) * 8)
    }

    /// Writes words 0-6: `header` (its `TraceHeader.size` encoded bytes) and the geometry.
    @_optimize(size)
    public static func storeHeader(_ header: Span<UInt8>, into words: inout MutableSpan<UInt64>) {
        precondition(header.count >= TraceHeader.size && words.count >= headerWords)
        for i in 0..<TraceHeader.size / 8 { words[i] = LittleEndian.load(8, at: 8 * i, in: header) }
        words[5] = UInt64(capacity) | UInt64(cpus) << 32
        words[6] = UInt64(TraceRecord.words)
    }
}
