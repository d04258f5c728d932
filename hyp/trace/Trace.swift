import KeelHW

/// The trap trace. Per-exit-reason counters are always on (`VCPU.exits`); in `full` mode every
/// exit also becomes a `TraceRecord` (KeelCore): the vectors' handler opens it with `begin`,
/// handlers note what they did in `vcpu.trace`, and `end` stamps the re-entry time and appends
/// it to this CPU's ring. The ring is drained to the UART in frames (`TraceFraming`) when half
/// full and when a VM powers off; each drain is itself recorded, so its time is not mistaken for
/// the guest's.
///
/// The mode comes from `keel.trace=off|counters|full` on the boot command line; default
/// `counters`.
enum Trace {
    nonisolated(unsafe) static var mode: TraceMode = .counters

    /// Records per CPU ring; drained at half.
    static let ringRecords = 64

    static var full: Bool { mode == .full }

    /// Opens the record of an exit: what the hardware says about it and when it happened.
    @inline(__always)
    static func begin(_ vcpu: VCPUHandle, kind: TraceRecord.Kind, esr: UInt64) {
        guard full else { return }
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
        guard full else { return }
        vcpu.state.trace.entryTime = read_cntpct_el0()
        vcpu.state.trace.vm = UInt8(truncatingIfNeeded: vcpu.state.vm)
        vcpu.state.trace.vcpu = UInt8(truncatingIfNeeded: vcpu.state.id)
        append(vcpu.state.trace)
        if TraceRings.current.pointee.count >= ringRecords / 2 { flush() }
    }

    /// A lifecycle event (VM created, vCPU started, VM off): a record with no exit.
    static func event(_ kind: TraceRecord.Kind, vm: Int, vcpu: Int, arg0: UInt64 = 0) {
        guard full else { return }
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
        let ring = TraceRings.current
        var record = record
        record.cpu = UInt8(truncatingIfNeeded: TraceRings.cpuIndex)
        record.sequence = ring.pointee.sequence
        ring.pointee.sequence &+= 1
        TraceTail.keep(record, cpu: TraceRings.cpuIndex)
        if ring.pointee.count == ringRecords { flush() }
        withUnsafeMutableBytes(of: &ring.pointee.bytes) { bytes in
            record.encode(into: bytes.baseAddress! + ring.pointee.count * TraceRecord.size)
        }
        ring.pointee.count += 1
    }

    /// Drains this CPU's ring to the UART, then records how long that took.
    static func flush() {
        guard full else { return }
        let ring = TraceRings.current
        guard ring.pointee.count > 0 else { return }
        let start = read_cntpct_el0()
        withUnsafeMutableBytes(of: &ring.pointee.bytes) { bytes in
            for i in 0..<ring.pointee.count {
                TraceUART.sendFrame(type: .record, bytes.baseAddress! + i * TraceRecord.size, count: TraceRecord.size)
            }
        }
        ring.pointee.count = 0
        var record = TraceRecord()
        record.kind = .flush
        record.exitTime = start
        record.entryTime = read_cntpct_el0()
        append(record)
    }

    /// The stream header: magic, format version, counter frequency, the firmware's build id.
    static func start(mode: TraceMode) {
        self.mode = mode
        guard full else { return }
        var header = TraceHeader()
        header.counterHz = read_cntfrq_el0()
        header.setBuildID(from: UnsafeRawPointer(bitPattern: keel_build_id())!)
        header.mode = mode.rawValue
        var buffer: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &buffer) { bytes in
            header.encode(into: bytes.baseAddress!)
            TraceUART.sendFrame(type: .header, bytes.baseAddress!, count: TraceHeader.size)
        }
    }
}

/// One ring per physical CPU: encoded records, written only by that CPU.
struct TraceRing {
    var bytes: [5120 of UInt8] = .init(repeating: 0)  // Trace.ringRecords * TraceRecord.size
    var count = 0
    var sequence: UInt32 = 0
}

enum TraceRings {
    // One per KEEL_MAX_CPUS, written as a literal so the pool is static data, not a lazy global.
    nonisolated(unsafe) private static var rings: [8 of TraceRing] = [
        TraceRing(), TraceRing(), TraceRing(), TraceRing(), TraceRing(), TraceRing(), TraceRing(), TraceRing(),
    ]

    /// This CPU's index (Aff0; one cluster on the boards Keel runs on today).
    static var cpuIndex: Int { Int(read_mpidr_el1() & 0xFF) & 7 }

    /// Safety: a global's address is stable; the index is masked to the pool size.
    static var current: UnsafeMutablePointer<TraceRing> {
        withUnsafeMutablePointer(to: &rings) { UnsafeMutableRawPointer($0).assumingMemoryBound(to: TraceRing.self) + cpuIndex }
    }
}

/// Frames on the hypervisor's UART: `0x00, COBS(type, payload, CRC-32), 0x00`.
enum TraceUART {
    static func sendFrame(type: FrameType, _ payload: UnsafeRawPointer, count: Int) {
        var plain: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var encoded: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &plain) { plain in
            withUnsafeMutableBytes(of: &encoded) { encoded in
                let p = plain.baseAddress!
                p.storeBytes(of: type.rawValue, as: UInt8.self)
                p.advanced(by: 1).copyMemory(from: payload, byteCount: count)
                let crc = CRC32.checksum(p, count: count + 1)
                LittleEndian.store(UInt64(crc), 4, at: count + 1, in: p)
                let length = TraceFraming.cobsEncode(p, count: count + 5, into: encoded.baseAddress!)
                Console.exclusive {
                    Console.putRaw(TraceFraming.delimiter)
                    Console.putRaw(UnsafeRawBufferPointer(rebasing: encoded[0..<length]))
                    Console.putRaw(TraceFraming.delimiter)
                }
            }
        }
    }
}
