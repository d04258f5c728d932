/// Pointer forms of KeelCore's trace encoders (which take spans), for hyp/trace's ring and UART
/// frames as they are written today: each makes a span over the caller's buffer and calls the
/// span form. Transitional: once hyp/trace keeps its ring and frames as `InlineArray`s and
/// passes their `mutableSpan`, this file goes.
extension TraceRecord {
    /// Writes the record into the `TraceRecord.size` bytes at `buffer`.
    func encode(into buffer: UnsafeMutableRawPointer) {
        // Safety: the caller gives `size` writable bytes at `buffer` (a slot of its ring), used
        // by nothing else while this runs; the span dies with this call.
        var bytes = unsafe MutableSpan<UInt8>(_unsafeStart: buffer.assumingMemoryBound(to: UInt8.self), count: TraceRecord.size)
        encode(into: &bytes)
    }
}

extension TraceHeader {
    /// Reads the build id from the 20 bytes at `pointer` (the linker's note).
    mutating func setBuildID(from pointer: UnsafeRawPointer) {
        // Safety: the caller gives 20 readable, immutable bytes (the GNU build-id note in the
        // image); the span dies with this call.
        setBuildID(from: unsafe Span(_unsafeStart: pointer.assumingMemoryBound(to: UInt8.self), count: TraceHeader.buildIDSize))
    }

    /// Writes the header into the `TraceHeader.size` bytes at `buffer`.
    func encode(into buffer: UnsafeMutableRawPointer) {
        // Safety: as `TraceRecord.encode(into:)`, for `TraceHeader.size` bytes.
        var bytes = unsafe MutableSpan<UInt8>(_unsafeStart: buffer.assumingMemoryBound(to: UInt8.self), count: TraceHeader.size)
        encode(into: &bytes)
    }
}

extension CRC32 {
    static func checksum(_ pointer: UnsafeRawPointer, count: Int, initial: UInt32 = 0) -> UInt32 {
        // Safety: the caller gives `count` readable bytes at `pointer` (its frame buffer),
        // unchanged while this runs; the span dies with this call.
        checksum(unsafe Span(_unsafeStart: pointer.assumingMemoryBound(to: UInt8.self), count: count), initial: initial)
    }
}

extension LittleEndian {
    static func store(_ value: UInt64, _ bytes: Int, at offset: Int, in buffer: UnsafeMutableRawPointer) {
        // Safety: the caller gives writable bytes at `buffer + offset ..< + bytes`; the span
        // covers exactly those and dies with this call.
        var span = unsafe MutableSpan<UInt8>(_unsafeStart: (buffer + offset).assumingMemoryBound(to: UInt8.self), count: bytes)
        store(value, bytes, at: 0, in: &span)
    }
}

extension TraceFraming {
    static func cobsEncode(_ input: UnsafeRawPointer, count: Int, into output: UnsafeMutableRawPointer) -> Int {
        // Safety: the caller gives `count` readable bytes at `input` and room for
        // `count + count / 254 + 1` at `output`, distinct buffers; both spans die with this call.
        let from = unsafe Span(_unsafeStart: input.assumingMemoryBound(to: UInt8.self), count: count)
        var to = unsafe MutableSpan<UInt8>(_unsafeStart: output.assumingMemoryBound(to: UInt8.self), count: count + count / 254 + 1)
        return cobsEncode(from, into: &to)
    }
}
