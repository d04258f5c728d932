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

    /// Records per CPU ring; drained at half.
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
        append(vcpu.state.trace)
        if inMemory { return }
        if TraceRings.rings[TraceRings.cpuIndex].count >= ringRecords / 2 { flush() }
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
        record.sequence = TraceRings.rings[cpu].sequence
        TraceRings.rings[cpu].sequence &+= 1
        TraceTail.keep(record, cpu: cpu)
        if TraceRings.rings[cpu].count >= ringRecords { flush() }
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
            let count = min(TraceRings.rings[cpu].count, ringRecords)
            guard count > 0 else { return }
            TraceRings.rings[cpu].send(count)
            TraceRings.rings[cpu].count = 0
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
    static func start(mode: TraceMode) {
        recording = mode.recordsExits
        inMemory = mode == .memory
        HVCFastPath.setTracing(recording)
        IRQFastPath.configure(tracing: recording)
        guard recording else { return }
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

/// One ring per physical CPU, written only by that CPU: each record already laid out as the
/// plain body of its frame (type byte, record, CRC-32), so a drain only COBS-encodes it.
struct TraceRing {
    /// A slot: `FrameType.record`, the encoded record, its CRC-32.
    static let slot = 1 + TraceRecord.size + 4
    var bytes: [5440 of UInt8] = .init(repeating: 0)  // Trace.ringRecords * slot
    var count = 0
    var sequence: UInt32 = 0

    /// Appends `record`, framed but for COBS; the caller made room (`count` below
    /// `Trace.ringRecords`).
    mutating func push(_ record: TraceRecord) {
        let at = count * TraceRing.slot
        var span = bytes.mutableSpan
        span[at] = FrameType.record.rawValue
        record.encode(into: &span, at: at + 1)
        let crc = CRC32.checksum(span.span.extracting(at..<at + 1 + TraceRecord.size))
        LittleEndian.store(UInt64(crc), 4, at: at + 1 + TraceRecord.size, in: &span)
        count += 1
    }

    /// Sends the first `count` records, a frame each. Mutating only so that the ring is read in
    /// place: a non-mutating call on a global's element copies all of it first.
    mutating func send(_ count: Int) {
        let span = bytes.span
        for i in 0..<count {
            TraceUART.send(plainFrame: span.extracting(i * TraceRing.slot..<(i + 1) * TraceRing.slot))
        }
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
    /// The largest payload: a record.
    static let maxPayload = 80  // TraceRecord.size

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

    /// `plain` (type, payload, CRC-32: at most 85 bytes) COBS-encoded between two delimiters.
    static func send(plainFrame plain: Span<UInt8>) {
        var encoded: [96 of UInt8] = .init(repeating: 0)  // COBS adds one byte per 254, and one
        var encodedBytes = encoded.mutableSpan
        let length = TraceFraming.cobsEncode(plain, into: &encodedBytes)
        Console.exclusive {
            Console.putRaw(TraceFraming.delimiter)
            Console.putRaw(encoded.span.extracting(0..<length))
            Console.putRaw(TraceFraming.delimiter)
        }
    }
}
