/// A batch of one CPU's records in few bytes: the payload of a `FrameType.batch` frame, what
/// `keel.trace=full` sends since trace format version 2 (version 1 sent an 80-byte
/// `TraceRecord` per `FrameType.record` frame, which the decoder still reads). This file is the
/// only definition of the format, for the firmware and the decoder.
///
/// The frame around it is the same as every frame's (`TraceFraming`): zero delimiters, COBS,
/// CRC-32, so a damaged batch is dropped whole and the decoder resynchronises at the next zero.
/// Loss counts still come from the sequence numbers: a batch's records are numbered from the
/// first one's on, and each batch carries its first number whole.
///
/// ```
/// frame payload:  u8  FrameType.batch ("C")
///                 u8  cpu             every record's CPU
///                 u32 sequence        the first record's; each next record's is one more
///                 u64 time            the first record's exit counter is relative to this
///                 records, to the end of the payload
/// record:         u8  kind | action << 3
///                 varint mask         which fields follow (Field)
///                 varint exit         zigzag(exitTime - the previous record's exitTime)
///                 the fields of mask, in Field's order, each a varint:
///                   entry    entryTime - exitTime (absent: 0)
///                   esr      ESR_EL2 with EC and IL first: (esr >> 25) & 0x7F | (esr & 0x1FFFFFF) << 7 | esr >> 32 << 32
///                   elr, far, ipa   0: the value is 0; else zigzag(value - reference)
///                   arg0     as it is
///                   arg1     zigzag(arg1): an SMCCC result of -1 is one byte
///                   vmVCPU   vm | vcpu << 8 (absent: the previous record's)
///                   width, register, flags, detail   as they are (absent: 0)
/// ```
///
/// esr, elr, far, ipa, arg0 and arg1 repeat: each has a reference, the last nonzero value the
/// batch gave it (0 at the start); absent, the field is its reference; present and nonzero, it
/// becomes the reference. So an exit like the one before (the same call from the same place,
/// FAR_EL2 unchanged) is its head, mask and times, and a lifecycle or drain record in between
/// (all zeros there) costs a zero byte a field and leaves the references alone.
///
/// A varint is LEB128: seven bits a byte, low bits first, the top bit set on every byte but the
/// last. zigzag(n) = n << 1 ^ n >> 63 (n as signed), so small differences either way are short.
/// A hypercall of Keel's bench, repeated, is 5 bytes, against 80 in version 1 (and its batch's
/// frame adds about 22 bytes to every 32 records, where each record's frame added 7).
public enum TraceBatch {
    /// Type byte, CPU, first sequence number, base time.
    public static let headerSize = 14
    /// Longest encoded record: head, a two-byte mask, ten-byte varints for the times and the
    /// 64-bit fields, two bytes for the vm/vCPU pair and each byte field, five for `detail`.
    public static let maxRecord = 1 + 2 + 10 * 9 + 3 + 2 * 3 + 5
    /// Longest payload (type byte to the end of the last record; the CRC follows).
    public static let maxPayload = 1024

    /// Bits of a record's mask.
    public enum Field {
        public static let entry: UInt64 = 1 << 0
        public static let esr: UInt64 = 1 << 1
        public static let elr: UInt64 = 1 << 2
        public static let far: UInt64 = 1 << 3
        public static let ipa: UInt64 = 1 << 4
        public static let arg0: UInt64 = 1 << 5
        public static let arg1: UInt64 = 1 << 6
        public static let vmVCPU: UInt64 = 1 << 7
        public static let width: UInt64 = 1 << 8
        public static let register: UInt64 = 1 << 9
        public static let flags: UInt64 = 1 << 10
        public static let detail: UInt64 = 1 << 11
        public static let all: UInt64 = (1 << 12) - 1
    }

    /// What the next record's fields are relative to; `Encoder` and `forEach` keep the same.
    struct Previous {
        var exit: UInt64 = 0
        var esr: UInt64 = 0
        var elr: UInt64 = 0
        var far: UInt64 = 0
        var ipa: UInt64 = 0
        var arg0: UInt64 = 0
        var arg1: UInt64 = 0
        var vmVCPU: UInt64 = 0
    }

    /// Builds one batch in a caller's buffer (`maxPayload` bytes or more): `open`, then `append`
    /// while `hasRoom`, then the caller adds the CRC and sends `length` bytes + 4 as a frame.
    public struct Encoder: Sendable {
        /// Bytes written (0: no batch open).
        public private(set) var length = 0
        /// Records appended.
        public private(set) var count = 0
        /// The first record's sequence number.
        public private(set) var sequence: UInt32 = 0
        var previous = Previous()

        public init() {}

        /// The sequence number the next record must have to join this batch.
        public var nextSequence: UInt32 { sequence &+ UInt32(truncatingIfNeeded: count) }
        /// Room for one more record of any shape.
        public var hasRoom: Bool { length + TraceBatch.maxRecord <= TraceBatch.maxPayload }

        /// Starts a batch of CPU `cpu`'s records from number `sequence` on, times relative to `time`.
        public mutating func open(cpu: UInt8, sequence: UInt32, time: UInt64, in buffer: inout MutableSpan<UInt8>) {
            precondition(buffer.count >= TraceBatch.maxPayload)
            buffer[0] = FrameType.batch.rawValue
            buffer[1] = cpu
            LittleEndian.store(UInt64(sequence), 4, at: 2, in: &buffer)
            LittleEndian.store(time, 8, at: 6, in: &buffer)
            self = Encoder()
            self.sequence = sequence
            previous.exit = time
            length = TraceBatch.headerSize
        }

        /// Appends `r` (the batch is open and `hasRoom`, else it traps). Its CPU and sequence
        /// number are the batch's: the caller appends them in order.
        public mutating func append(_ r: TraceRecord, in buffer: inout MutableSpan<UInt8>) {
            precondition(length >= TraceBatch.headerSize && hasRoom && buffer.count >= TraceBatch.maxPayload)
            let entry = r.entryTime &- r.exitTime
            let vmVCPU = UInt64(r.vm) | UInt64(r.vcpu) << 8
            var mask: UInt64 = entry != 0 ? Field.entry : 0
            if r.esr != previous.esr { mask |= Field.esr }
            if r.elr != previous.elr { mask |= Field.elr }
            if r.far != previous.far { mask |= Field.far }
            if r.ipa != previous.ipa { mask |= Field.ipa }
            if r.arg0 != previous.arg0 { mask |= Field.arg0 }
            if r.arg1 != previous.arg1 { mask |= Field.arg1 }
            if vmVCPU != previous.vmVCPU { mask |= Field.vmVCPU }
            if r.width | r.register | r.flags != 0 || r.detail != 0 {
                if r.width != 0 { mask |= Field.width }
                if r.register != 0 { mask |= Field.register }
                if r.flags != 0 { mask |= Field.flags }
                if r.detail != 0 { mask |= Field.detail }
            }
            var at = length
            buffer[at] = r.kind.rawValue | r.action.rawValue << 3
            at += 1
            TraceBatch.put(mask, &buffer, &at)
            TraceBatch.put(TraceBatch.zigzag(r.exitTime &- previous.exit), &buffer, &at)
            previous.exit = r.exitTime
            if mask & Field.entry != 0 { TraceBatch.put(entry, &buffer, &at) }
            if mask & (Field.esr | Field.elr | Field.far | Field.ipa | Field.arg0 | Field.arg1) != 0 {
                if mask & Field.esr != 0 {
                    TraceBatch.put(TraceBatch.rotate(r.esr), &buffer, &at)
                    if r.esr != 0 { previous.esr = r.esr }
                }
                if mask & Field.elr != 0 { TraceBatch.putDelta(r.elr, &previous.elr, &buffer, &at) }
                if mask & Field.far != 0 { TraceBatch.putDelta(r.far, &previous.far, &buffer, &at) }
                if mask & Field.ipa != 0 { TraceBatch.putDelta(r.ipa, &previous.ipa, &buffer, &at) }
                if mask & Field.arg0 != 0 {
                    TraceBatch.put(r.arg0, &buffer, &at)
                    if r.arg0 != 0 { previous.arg0 = r.arg0 }
                }
                if mask & Field.arg1 != 0 {
                    TraceBatch.put(TraceBatch.zigzag(r.arg1), &buffer, &at)
                    if r.arg1 != 0 { previous.arg1 = r.arg1 }
                }
            }
            if mask > Field.arg1 {
                if mask & Field.vmVCPU != 0 {
                    TraceBatch.put(vmVCPU, &buffer, &at)
                    previous.vmVCPU = vmVCPU
                }
                if mask & Field.width != 0 { TraceBatch.put(UInt64(r.width), &buffer, &at) }
                if mask & Field.register != 0 { TraceBatch.put(UInt64(r.register), &buffer, &at) }
                if mask & Field.flags != 0 { TraceBatch.put(UInt64(r.flags), &buffer, &at) }
                if mask & Field.detail != 0 { TraceBatch.put(UInt64(r.detail), &buffer, &at) }
            }
            length = at
            count += 1
        }
    }

    /// Calls `body` with each record of a batch frame's payload (the bytes after the type
    /// byte, without the CRC), in order. False when the payload is malformed: short, an unknown
    /// kind or action, a varint too long or out of its field's range, a record cut short. The
    /// records before the damage have been handed on by then (a payload that passed its CRC
    /// is damaged only if its writer was).
    public static func forEach(_ p: Span<UInt8>, _ body: (TraceRecord) -> Void) -> Bool {
        let header = headerSize - 1
        guard p.count >= header else { return false }
        let cpu = p[0]
        var sequence = UInt32(truncatingIfNeeded: LittleEndian.load(4, at: 1, in: p))
        var previous = Previous()
        previous.exit = LittleEndian.load(8, at: 5, in: p)
        var at = header
        let end = p.count
        while at < end {
            let head = p[at]
            at += 1
            guard let kind = TraceRecord.Kind(rawValue: head & 7), let action = TraceRecord.Action(rawValue: head >> 3),
                  let mask = get(p, &at), mask & ~Field.all == 0, let exit = get(p, &at) else { return false }
            var r = TraceRecord()
            r.kind = kind
            r.action = action
            r.cpu = cpu
            r.sequence = sequence
            r.exitTime = previous.exit &+ unzigzag(exit)
            previous.exit = r.exitTime
            r.entryTime = r.exitTime
            if mask & Field.entry != 0 { guard let v = get(p, &at) else { return false }; r.entryTime = r.exitTime &+ v }
            r.esr = previous.esr
            r.elr = previous.elr
            r.far = previous.far
            r.ipa = previous.ipa
            r.arg0 = previous.arg0
            r.arg1 = previous.arg1
            if mask & (Field.esr | Field.elr | Field.far | Field.ipa | Field.arg0 | Field.arg1) != 0 {
                if mask & Field.esr != 0 {
                    guard let v = get(p, &at) else { return false }
                    r.esr = unrotate(v)
                    if v != 0 { previous.esr = r.esr }
                }
                if mask & Field.elr != 0 { guard getDelta(p, &at, &r.elr, &previous.elr) else { return false } }
                if mask & Field.far != 0 { guard getDelta(p, &at, &r.far, &previous.far) else { return false } }
                if mask & Field.ipa != 0 { guard getDelta(p, &at, &r.ipa, &previous.ipa) else { return false } }
                if mask & Field.arg0 != 0 {
                    guard let v = get(p, &at) else { return false }
                    r.arg0 = v
                    if v != 0 { previous.arg0 = v }
                }
                if mask & Field.arg1 != 0 {
                    guard let v = get(p, &at) else { return false }
                    r.arg1 = unzigzag(v)
                    if v != 0 { previous.arg1 = r.arg1 }
                }
            }
            if mask > Field.arg1 {
                if mask & Field.vmVCPU != 0 {
                    guard let v = get(p, &at), v <= 0xFFFF else { return false }
                    previous.vmVCPU = v
                }
                if mask & Field.width != 0 { guard let v = get(p, &at), v <= 0xFF else { return false }; r.width = UInt8(v) }
                if mask & Field.register != 0 { guard let v = get(p, &at), v <= 0xFF else { return false }; r.register = UInt8(v) }
                if mask & Field.flags != 0 { guard let v = get(p, &at), v <= 0xFF else { return false }; r.flags = UInt8(v) }
                if mask & Field.detail != 0 { guard let v = get(p, &at), v <= 0xFFFF_FFFF else { return false }; r.detail = UInt32(v) }
            }
            r.vm = UInt8(truncatingIfNeeded: previous.vmVCPU)
            r.vcpu = UInt8(truncatingIfNeeded: previous.vmVCPU >> 8)
            body(r)
            sequence &+= 1
        }
        return true
    }

    /// Writes `value` as a varint at `at` and moves `at` past it.
    @inline(__always)
    static func put(_ value: UInt64, _ buffer: inout MutableSpan<UInt8>, _ at: inout Int) {
        var v = value
        while v >= 0x80 {
            buffer[at] = UInt8(truncatingIfNeeded: v) | 0x80
            at += 1
            v >>= 7
        }
        buffer[at] = UInt8(truncatingIfNeeded: v)
        at += 1
    }

    /// A repeating field that differs from its reference: 0 as 0 (the reference kept), else
    /// the difference, zigzagged (never 0 then), and the value becomes the reference.
    @inline(__always)
    static func putDelta(_ value: UInt64, _ reference: inout UInt64, _ buffer: inout MutableSpan<UInt8>, _ at: inout Int) {
        if value == 0 {
            buffer[at] = 0
            at += 1
        } else {
            put(zigzag(value &- reference), &buffer, &at)
            reference = value
        }
    }

    /// `putDelta`'s reverse; false when the varint is bad.
    @inline(__always)
    static func getDelta(_ p: Span<UInt8>, _ at: inout Int, _ value: inout UInt64, _ reference: inout UInt64) -> Bool {
        guard let v = get(p, &at) else { return false }
        if v == 0 {
            value = 0
        } else {
            value = reference &+ unzigzag(v)
            reference = value
        }
        return true
    }

    /// Reads a varint at `at` and moves `at` past it; nil when it runs past the end or past
    /// 64 bits.
    @inline(__always)
    static func get(_ p: Span<UInt8>, _ at: inout Int) -> UInt64? {
        guard at < p.count else { return nil }
        let first = p[at]
        if first < 0x80 {  // most are one byte
            at += 1
            return UInt64(first)
        }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while at < p.count {
            let byte = p[at]
            at += 1
            if shift == 63 && byte > 1 { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
            if shift > 63 { return nil }
        }
        return nil
    }

    @inline(__always)
    public static func zigzag(_ n: UInt64) -> UInt64 { n << 1 ^ UInt64(bitPattern: Int64(bitPattern: n) >> 63) }

    @inline(__always)
    public static func unzigzag(_ n: UInt64) -> UInt64 { n >> 1 ^ (0 &- (n & 1)) }

    /// ESR_EL2 with EC and IL (bits 31:25) in the low seven bits, then ISS (24:0), then ISS2
    /// and above as they were: a hypercall's or WFI's ESR is one byte.
    @inline(__always)
    public static func rotate(_ esr: UInt64) -> UInt64 {
        (esr >> 25) & 0x7F | (esr & 0x1FF_FFFF) << 7 | (esr >> 32) << 32
    }

    @inline(__always)
    public static func unrotate(_ v: UInt64) -> UInt64 {
        (v & 0x7F) << 25 | (v >> 7) & 0x1FF_FFFF | (v >> 32) << 32
    }
}
