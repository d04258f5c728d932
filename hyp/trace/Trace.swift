import KeelHW

/// The trap trace. Per-exit-reason counters are always on (`VCPU.exits`); in `full` mode every
/// exit also becomes a `TraceRecord` (KeelCore): the vectors' handler opens it with `begin`,
/// handlers note what they did in `vcpu.trace`, and `end` stamps the re-entry time and appends
/// it to this CPU's ring. The ring is drained to the UART in frames (`TraceFraming`) when half
/// full and when a VM powers off; each drain is itself recorded, so its time is not mistaken for
/// the guest's.
///
/// In `memory` mode the records go to a large per-CPU ring in RAM instead (`TraceMemory`),
/// drained in the same frames when a VM powers off and when the machine does.
///
/// The mode comes from `keel.trace=off|counters|full|memory` on the boot command line; default
/// `counters`.
enum Trace {
    /// Every exit becomes a record (`full` or `memory`): the one load the exit path tests.
    nonisolated(unsafe) static var recording = false
    /// Records go to the memory rings, not the UART's.
    nonisolated(unsafe) static var inMemory = false

    /// Records per CPU ring (one batch frame); drained at half, or when its bytes run short.
    static let ringRecords = 64

    /// Opens the record of an exit: what the hardware says about it and when it happened.
    @inline(__always)
    static func begin(_ vcpu: VCPUHandle, kind: TraceRecord.Kind, esr: UInt64) {
        guard recording else { return }
        var record = TraceRecord()
        record.kind = kind
        record.exitTime = read_cntpct_el0()
        record.esr = esr
        record.elr = vcpu.state.pc
        record.far = kind == .exit ? read_far_el2() : 0
        vcpu.state.trace = record
    }

    /// Closes the record of an exit and queues it.
    @inline(__always)
    static func end(_ vcpu: VCPUHandle) {
        guard recording else { return }
        vcpu.state.trace.entryTime = read_cntpct_el0()
        vcpu.state.trace.vm = UInt8(truncatingIfNeeded: vcpu.state.vm)
        vcpu.state.trace.vcpu = UInt8(truncatingIfNeeded: vcpu.state.id)
        // `append`'s steps on the record where it is, in the vCPU: each copy of its 80 bytes
        // (a `memcpy`) would cost about 45 instructions.
        let cpu = TraceRings.cpuIndex
        if inMemory {
            vcpu.state.trace.cpu = UInt8(truncatingIfNeeded: cpu)
            return TraceMemory.push(&vcpu.state.trace, cpu: cpu)
        }
        if TraceRings.rings[cpu].isFull { flush() }
        vcpu.state.trace.cpu = UInt8(truncatingIfNeeded: cpu)
        vcpu.state.trace.sequence = TraceRings.rings[cpu].sequence
        TraceRings.rings[cpu].sequence &+= 1
        TraceTail.keep(vcpu.state.trace, cpu: cpu)
        TraceRings.rings[cpu].push(vcpu.state.trace)
        if TraceRings.rings[cpu].batch.count >= ringRecords / 2 { flush() }
    }

    /// A lifecycle event (VM created, vCPU started, VM off): a record with no exit.
    static func event(_ kind: TraceRecord.Kind, vm: Int, vcpu: Int, arg0: UInt64 = 0) {
        guard recording else { return }
        var record = TraceRecord()
        record.kind = kind
        record.vm = UInt8(truncatingIfNeeded: vm)
        record.vcpu = UInt8(truncatingIfNeeded: vcpu)
        record.exitTime = read_cntpct_el0()
        record.entryTime = record.exitTime
        record.arg0 = arg0
        append(record)
    }

    private static func append(_ record: TraceRecord) {
        let cpu = TraceRings.cpuIndex
        var record = record
        record.cpu = UInt8(truncatingIfNeeded: cpu)
        if inMemory { return TraceMemory.push(record, cpu: cpu) }
        // Room first: the drain appends its own record (to the emptied batch), which takes the
        // next sequence number; this record's comes after it, as the batch numbers them.
        if TraceRings.rings[cpu].isFull { flush() }
        record.sequence = TraceRings.rings[cpu].sequence
        TraceRings.rings[cpu].sequence &+= 1
        TraceTail.keep(record, cpu: cpu)
        TraceRings.rings[cpu].push(record)
    }

    /// Drains this CPU's ring to the UART, then records how long that took.
    static func flush() {
        guard recording else { return }
        let cpu = TraceRings.cpuIndex
        let start = read_cntpct_el0()
        if inMemory {
            TraceMemory.drain(cpu: cpu)
        } else {
            guard TraceRings.rings[cpu].batch.count > 0 else { return }
            TraceRings.rings[cpu].send()
        }
        var record = TraceRecord()
        record.kind = .flush
        record.exitTime = start
        record.entryTime = read_cntpct_el0()
        append(record)
    }

    /// Every CPU's memory ring, before the machine powers off (this CPU has flushed its own).
    static func finish() {
        if inMemory { TraceMemory.drainAll() }
    }

    /// The stream header: magic, format version, counter frequency, the firmware's build id.
    @_optimize(size)
    static func start(mode: TraceMode) {
        recording = mode.recordsExits
        inMemory = mode == .memory
        HVCFastPath.setTracing(recording)
        IRQFastPath.configure(tracing: recording)
        guard recording else { return }
        TraceUART.hardwareCRC = HardwareCRC.available
        var header = TraceHeader()
        header.counterHz = read_cntfrq_el0()
        KeelImage.withBuildID { header.setBuildID(from: $0) }
        header.mode = mode.rawValue
        var buffer: [40 of UInt8] = .init(repeating: 0)  // TraceHeader.size
        var bytes = buffer.mutableSpan
        header.encode(into: &bytes)
        TraceUART.sendFrame(type: .header, buffer.span)
        if inMemory { TraceMemory.start(header: buffer.span) }
    }
}

/// One ring per physical CPU, written only by that CPU: its records already encoded as the
/// batch they will be sent in (`TraceBatch`), so a drain only adds the CRC and sends it.
struct TraceRing {
    /// The batch, and 4 bytes for its CRC.
    var bytes: [1028 of UInt8] = .init(repeating: 0)  // TraceBatch.maxPayload + 4
    var batch = TraceBatch.Encoder()
    var sequence: UInt32 = 0

    /// No room for one more record: `Trace.ringRecords` of them, or too few bytes left.
    var isFull: Bool { batch.count >= Trace.ringRecords || !batch.hasRoom }

    /// Appends `record`; the caller made room (`isFull` false) and numbered it.
    @inline(__always)
    mutating func push(_ record: TraceRecord) {
        var span = bytes.mutableSpan
        if batch.length == 0 { batch.open(cpu: record.cpu, sequence: record.sequence, time: record.exitTime, in: &span) }
        batch.append(record, in: &span)
    }

    /// Sends the batch as one frame and empties it. Mutating only so that the ring is read in
    /// place: a non-mutating call on a global's element copies all of it first.
    mutating func send() {
        let length = batch.length
        guard length > 0 else { return }
        TraceUART.sendWithCRC(&bytes, length)
        batch = TraceBatch.Encoder()
    }
}

enum TraceRings {
    // One per KEEL_MAX_CPUS, written as a literal so the pool is static data, not a lazy global.
    // Each CPU touches only its own ring.
    nonisolated(unsafe) static var rings: [8 of TraceRing] = [
        TraceRing(), TraceRing(), TraceRing(), TraceRing(), TraceRing(), TraceRing(), TraceRing(), TraceRing(),
    ]

    /// This CPU's index (Aff0; one cluster on the boards Keel runs on today), masked to the pool.
    static var cpuIndex: Int { Int(read_mpidr_el1() & 0xFF) & 7 }
}

/// Frames on the hypervisor's UART: `0x00, COBS(type, payload, CRC-32), 0x00`.
enum TraceUART {
    /// The largest payload `sendFrame` takes: a version 1 record.
    static let maxPayload = 80  // TraceRecord.size
    /// The CPU has the CRC32 instructions (`Trace.start` asks once; every Armv8.1 CPU and every
    /// Cortex-A53/A72 has them).
    nonisolated(unsafe) static var hardwareCRC = false

    /// A frame of `type` around `payload` (the stream header; records are framed in the ring).
    static func sendFrame(type: FrameType, _ payload: Span<UInt8>) {
        let count = min(payload.count, maxPayload)
        var plain: [85 of UInt8] = .init(repeating: 0)  // type, payload, CRC-32
        plain[0] = type.rawValue
        for i in 0..<count { plain[1 + i] = payload[i] }
        let crc = CRC32.checksum(plain.span.extracting(0..<count + 1))
        var plainBytes = plain.mutableSpan
        LittleEndian.store(UInt64(crc), 4, at: count + 1, in: &plainBytes)
        send(plainFrame: plain.span.extracting(0..<count + 5))
    }

    /// The first `length` bytes of `frame` (type and payload; 4 bytes of room after them, else
    /// it traps) as a frame: their CRC-32 after them, then `send(plainFrame:)`.
    static func sendWithCRC(_ frame: inout [1028 of UInt8], _ length: Int) {
        let crc = checksum(frame.span.extracting(0..<length))
        var bytes = frame.mutableSpan
        LittleEndian.store(UInt64(crc), 4, at: length, in: &bytes)
        send(plainFrame: frame.span.extracting(0..<length + 4))
    }

    private static func checksum(_ plain: Span<UInt8>) -> UInt32 {
        hardwareCRC ? HardwareCRC.checksum(plain, initial: 0) : CRC32.checksum(plain)
    }

    /// `plain` (type, payload, CRC-32) COBS-encoded between two delimiters, straight to the
    /// UART: each block's code (its length: the bytes up to the next zero, at most 254), then
    /// its bytes as they are, in one `Console.putRaw` (one flag-register read per FIFO's worth).
    /// The same bytes as `TraceFraming.cobsEncode`, without a copy.
    static func send(plainFrame plain: Span<UInt8>) {
        Console.exclusive {
            Console.putRaw(TraceFraming.delimiter)
            let count = plain.count
            var start = 0
            while true {
                let limit = min(start + 254, count)
                var end = start
                while end < limit && plain[end] != 0 { end += 1 }
                Console.putRaw(UInt8(truncatingIfNeeded: end - start + 1))
                Console.putRaw(plain.extracting(start..<end))
                if end - start == 254 { start = end; continue }  // a full block: no zero taken
                if end == count { break }
                start = end + 1  // the zero this block's code stands for
            }
            Console.putRaw(TraceFraming.delimiter)
        }
    }
}
