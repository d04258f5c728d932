/// One trace record: a fixed 80-byte little-endian layout, written by the firmware on the exit
/// path and read by `keel trace`. This file is the only definition of the format.
///
/// ```
///  0 u8  kind        TraceRecord.Kind
///  1 u8  cpu         physical CPU
///  2 u8  vm
///  3 u8  vcpu
///  4 u32 sequence    per physical CPU, +1 per record: gaps are lost records
///  8 u64 exitTime    CNTPCT_EL0 when the guest exited (or when the event happened)
/// 16 u64 entryTime   CNTPCT_EL0 just before re-entering the guest
/// 24 u64 esr         ESR_EL2
/// 32 u64 elr         ELR_EL2 at the exit (guest PC)
/// 40 u64 far         FAR_EL2
/// 48 u64 ipa         faulting IPA where relevant
/// 56 u8  action      TraceRecord.Action: what the handler did
/// 57 u8  width       access width in bytes (MMIO)
/// 58 u8  register    transfer register (MMIO, sysreg)
/// 59 u8  flags       bit 0: write
/// 60 u32 detail      action-specific (mmioForwarded: ticks from completion to resumption)
/// 64 u64 arg0        MMIO value, SMCCC function id, injected ESR, ...
/// 72 u64 arg1        SMCCC result, ...
/// ```
public struct TraceRecord: Equatable, Sendable {
    public static let size = 80

    public enum Kind: UInt8, Sendable {
        /// A guest exit and its handling.
        case exit = 1
        /// A physical interrupt taken while the guest ran.
        case interrupt = 2
        case vmCreated = 3
        case vcpuStarted = 4
        case vmPoweredOff = 5
        /// Keel drained its trace ring to the UART between exitTime and entryTime: time that is
        /// neither the guest's nor a handler's.
        case flush = 6
        /// Keel stopped a VM by its config's policy; arg0: 1 its fault limit, 2 its reset limit;
        /// or 3: a fault in Keel while it handled one of the VM's exits (a failed Swift check).
        case vmStopped = 7
    }

    public enum Action: UInt8, Sendable {
        case none = 0
        case mmioRead = 1
        case mmioWrite = 2
        case hypercall = 3
        case sysRegRead = 4
        case sysRegWrite = 5
        case undefInjected = 6
        case abortInjected = 7
        case wfx = 8
        case virtualIRQInjected = 9
        case serrorInjected = 10
        /// An access to a virtio transport, answered by the device-model VM (hyp/devmodel).
        /// arg0: the value read or written; arg1: ticks from posting to the device model's pickup
        /// (low 32 bits) and from the pickup to its completion (high 32 bits); `detail`: ticks
        /// from the completion to the parked vCPU seeing it. An access the device model never
        /// answered (timed out, or it stopped) has arg0 all ones and arg1 `forwardedUnanswered`.
        case mmioForwarded = 11
    }

    /// `mmioForwarded`'s arg1 for an access the device model did not answer: both halves of a
    /// real split saturate at 2^32 - 1, which takes over a minute each, so no answered access
    /// carries it.
    public static let forwardedUnanswered = UInt64.max

    public var kind: Kind = .exit
    public var cpu: UInt8 = 0
    public var vm: UInt8 = 0
    public var vcpu: UInt8 = 0
    public var sequence: UInt32 = 0
    public var exitTime: UInt64 = 0
    public var entryTime: UInt64 = 0
    public var esr: UInt64 = 0
    public var elr: UInt64 = 0
    public var far: UInt64 = 0
    public var ipa: UInt64 = 0
    public var action: Action = .none
    public var width: UInt8 = 0
    public var register: UInt8 = 0
    public var flags: UInt8 = 0
    public var detail: UInt32 = 0
    public var arg0: UInt64 = 0
    public var arg1: UInt64 = 0

    public init() {}

    public var isWrite: Bool { flags & 1 != 0 }
    /// Ticks between the exit and the re-entry: the cost of handling it.
    public var handlingTicks: UInt64 { entryTime &- exitTime }

    /// Writes the record into `buffer` at `offset` (`size` bytes there, else it traps).
    public func encode(into buffer: inout MutableSpan<UInt8>, at offset: Int = 0) {
        precondition(offset >= 0 && offset <= buffer.count - TraceRecord.size)
        buffer[offset] = kind.rawValue
        buffer[offset + 1] = cpu
        buffer[offset + 2] = vm
        buffer[offset + 3] = vcpu
        LittleEndian.store(UInt64(sequence), 4, at: offset + 4, in: &buffer)
        LittleEndian.store(exitTime, 8, at: offset + 8, in: &buffer)
        LittleEndian.store(entryTime, 8, at: offset + 16, in: &buffer)
        LittleEndian.store(esr, 8, at: offset + 24, in: &buffer)
        LittleEndian.store(elr, 8, at: offset + 32, in: &buffer)
        LittleEndian.store(far, 8, at: offset + 40, in: &buffer)
        LittleEndian.store(ipa, 8, at: offset + 48, in: &buffer)
        buffer[offset + 56] = action.rawValue
        buffer[offset + 57] = width
        buffer[offset + 58] = register
        buffer[offset + 59] = flags
        LittleEndian.store(UInt64(detail), 4, at: offset + 60, in: &buffer)
        LittleEndian.store(arg0, 8, at: offset + 64, in: &buffer)
        LittleEndian.store(arg1, 8, at: offset + 72, in: &buffer)
    }

    /// Words in `store(into:at:)`'s form.
    public static let words = 10

    /// Writes the record as the ten little-endian words of its byte layout (word i holds bytes
    /// 8i..<8i+8 above), `words` words at `offset` (else it traps): on a little-endian CPU the
    /// same bytes as `encode`, in ten stores instead of eighty. The memory ring's form.
    public func store(into words: inout MutableSpan<UInt64>, at offset: Int = 0) {
        precondition(offset >= 0 && offset <= words.count - TraceRecord.words)
        words[offset] = UInt64(kind.rawValue) | UInt64(cpu) << 8 | UInt64(vm) << 16 | UInt64(vcpu) << 24
            | UInt64(sequence) << 32
        words[offset + 1] = exitTime
        words[offset + 2] = entryTime
        words[offset + 3] = esr
        words[offset + 4] = elr
        words[offset + 5] = far
        words[offset + 6] = ipa
        words[offset + 7] = UInt64(action.rawValue) | UInt64(width) << 8 | UInt64(register) << 16
            | UInt64(flags) << 24 | UInt64(detail) << 32
        words[offset + 8] = arg0
        words[offset + 9] = arg1
    }

    /// Reads a record from `store(into:at:)`'s ten words; nil when there are fewer or the kind
    /// or action is unknown.
    public init?(words: Span<UInt64>) {
        guard words.count >= TraceRecord.words,
              let kind = Kind(rawValue: UInt8(truncatingIfNeeded: words[0])),
              let action = Action(rawValue: UInt8(truncatingIfNeeded: words[7])) else { return nil }
        self.kind = kind
        cpu = UInt8(truncatingIfNeeded: words[0] >> 8)
        vm = UInt8(truncatingIfNeeded: words[0] >> 16)
        vcpu = UInt8(truncatingIfNeeded: words[0] >> 24)
        sequence = UInt32(truncatingIfNeeded: words[0] >> 32)
        exitTime = words[1]
        entryTime = words[2]
        esr = words[3]
        elr = words[4]
        far = words[5]
        ipa = words[6]
        self.action = action
        width = UInt8(truncatingIfNeeded: words[7] >> 8)
        register = UInt8(truncatingIfNeeded: words[7] >> 16)
        flags = UInt8(truncatingIfNeeded: words[7] >> 24)
        detail = UInt32(truncatingIfNeeded: words[7] >> 32)
        arg0 = words[8]
        arg1 = words[9]
    }

    /// Reads a record; nil when the buffer is short or the kind or action is unknown.
    public static func decode(_ bytes: Span<UInt8>) -> TraceRecord? {
        guard bytes.count >= size, let kind = Kind(rawValue: bytes[0]), let action = Action(rawValue: bytes[56]) else { return nil }
        var r = TraceRecord()
        r.kind = kind
        r.cpu = bytes[1]
        r.vm = bytes[2]
        r.vcpu = bytes[3]
        r.sequence = UInt32(truncatingIfNeeded: LittleEndian.load(4, at: 4, in: bytes))
        r.exitTime = LittleEndian.load(8, at: 8, in: bytes)
        r.entryTime = LittleEndian.load(8, at: 16, in: bytes)
        r.esr = LittleEndian.load(8, at: 24, in: bytes)
        r.elr = LittleEndian.load(8, at: 32, in: bytes)
        r.far = LittleEndian.load(8, at: 40, in: bytes)
        r.ipa = LittleEndian.load(8, at: 48, in: bytes)
        r.action = action
        r.width = bytes[57]
        r.register = bytes[58]
        r.flags = bytes[59]
        r.detail = UInt32(truncatingIfNeeded: LittleEndian.load(4, at: 60, in: bytes))
        r.arg0 = LittleEndian.load(8, at: 64, in: bytes)
        r.arg1 = LittleEndian.load(8, at: 72, in: bytes)
        return r
    }
}

/// The first frame of a trace stream.
///
/// ```
///  0 u32 magic          "KTRC"
///  4 u16 version        TraceHeader.currentVersion
///  6 u16 recordSize     80 (a version 1 record frame's; version 2 sends batches, TraceBatch)
///  8 u64 counterHz      CNTFRQ_EL0
/// 16 u8[20] buildID     GNU build id of keel.elf (SHA-1)
/// 36 u8  cpu            the CPU that wrote the header
/// 37 u8  mode           TraceMode
/// 38 u16 reserved
/// ```
public struct TraceHeader: Equatable, Sendable {
    public static let size = 40
    public static let magic: UInt32 = 0x4352_544B  // "KTRC" little-endian
    /// 2: records travel in batches (`TraceBatch`); 1: one 80-byte record a frame. The
    /// decoder reads both.
    public static let currentVersion: UInt16 = 2
    public static let buildIDSize = 20

    public var version: UInt16 = TraceHeader.currentVersion
    public var recordSize: UInt16 = UInt16(TraceRecord.size)
    public var counterHz: UInt64 = 0
    public var buildID: (UInt64, UInt64, UInt32) = (0, 0, 0)
    public var cpu: UInt8 = 0
    public var mode: UInt8 = 0

    public init() {}

    public static func == (a: TraceHeader, b: TraceHeader) -> Bool {
        a.version == b.version && a.recordSize == b.recordSize && a.counterHz == b.counterHz
            && a.buildID.0 == b.buildID.0 && a.buildID.1 == b.buildID.1 && a.buildID.2 == b.buildID.2
            && a.cpu == b.cpu && a.mode == b.mode
    }

    /// Reads the build id from the first 20 bytes of `bytes` (fewer trap).
    @_optimize(size)
    public mutating func setBuildID(from bytes: Span<UInt8>) {
        buildID = (LittleEndian.load(8, at: 0, in: bytes), LittleEndian.load(8, at: 8, in: bytes),
                   UInt32(truncatingIfNeeded: LittleEndian.load(4, at: 16, in: bytes)))
    }

    /// Writes the header into `buffer` at `offset` (`size` bytes there, else it traps).
    @_optimize(size)
    public func encode(into buffer: inout MutableSpan<UInt8>, at offset: Int = 0) {
        precondition(offset >= 0 && offset <= buffer.count - TraceHeader.size)
        LittleEndian.store(UInt64(TraceHeader.magic), 4, at: offset, in: &buffer)
        LittleEndian.store(UInt64(version), 2, at: offset + 4, in: &buffer)
        LittleEndian.store(UInt64(recordSize), 2, at: offset + 6, in: &buffer)
        LittleEndian.store(counterHz, 8, at: offset + 8, in: &buffer)
        LittleEndian.store(buildID.0, 8, at: offset + 16, in: &buffer)
        LittleEndian.store(buildID.1, 8, at: offset + 24, in: &buffer)
        LittleEndian.store(UInt64(buildID.2), 4, at: offset + 32, in: &buffer)
        buffer[offset + 36] = cpu
        buffer[offset + 37] = mode
        LittleEndian.store(0, 2, at: offset + 38, in: &buffer)
    }

    public static func decode(_ bytes: Span<UInt8>) -> TraceHeader? {
        guard bytes.count >= size else { return nil }
        guard UInt32(truncatingIfNeeded: LittleEndian.load(4, at: 0, in: bytes)) == magic else { return nil }
        var h = TraceHeader()
        h.version = UInt16(truncatingIfNeeded: LittleEndian.load(2, at: 4, in: bytes))
        h.recordSize = UInt16(truncatingIfNeeded: LittleEndian.load(2, at: 6, in: bytes))
        h.counterHz = LittleEndian.load(8, at: 8, in: bytes)
        h.setBuildID(from: bytes.extracting(16..<36))
        h.cpu = bytes[36]
        h.mode = bytes[37]
        return h
    }
}

/// What the firmware records.
public enum TraceMode: UInt8, Sendable {
    /// Nothing beyond what is always on: nothing.
    case off = 0
    /// Per-exit-reason counters only (printed when a VM powers off). The default.
    case counters = 1
    /// Counters and a record for every exit and event, streamed in frames on the UART.
    case full = 2
    /// Counters and a record for every exit and event, kept in a large per-CPU ring in RAM
    /// (the oldest overwritten: a flight recorder) and sent on the UART only when a VM powers
    /// off and when the machine does. The same records as `full`, without the UART on the exit
    /// path; records overwritten before a drain show as sequence gaps.
    case memory = 3

    /// The value of `keel.trace=` that asks for this mode (`BootArguments.traceMode`).
    public var bootArgument: StaticString {
        switch self {
        case .off: "off"
        case .counters: "counters"
        case .full: "full"
        case .memory: "memory"
        }
    }

    /// Every exit becomes a record (`full` or `memory`).
    public var recordsExits: Bool { self == .full || self == .memory }
}

/// Byte-order helpers over checked spans, on any alignment (the firmware is built
/// -mstrict-align). An index past the span traps, never reads or writes outside; with the
/// caller's one length check in front, the optimizer folds the per-byte checks and the byte
/// loads into single loads on the host.
public enum LittleEndian {
    @inline(__always)
    public static func store(_ value: UInt64, _ bytes: Int, at offset: Int, in buffer: inout MutableSpan<UInt8>) {
        for i in 0..<bytes {
            buffer[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))
        }
    }

    @inline(__always)
    public static func load(_ bytes: Int, at offset: Int, in buffer: Span<UInt8>) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<bytes {
            value |= UInt64(buffer[offset + i]) << (8 * UInt64(i))
        }
        return value
    }
}
