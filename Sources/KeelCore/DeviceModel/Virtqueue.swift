/// The split virtqueue of virtio 1.x (virtio spec 2.7) as the device side walks it: the layout of
/// the descriptor table, the available and used rings, and a descriptor-chain walker that refuses
/// whatever a hostile driver can write there. Shared by keel-dm and the host tests; compiled into
/// the firmware too, so no Foundation and no allocation.
///
/// Guest memory is seen through `FrontendMemory`: the frontend's RAM as the device model sees it,
/// addressed by frontend guest-physical address minus the RAM's base. Every access the walker
/// makes is checked against `byteCount` first, so an implementation may rely on its offsets.

/// The frontend's RAM as the device model sees it (offset 0 = the frontend's RAM base).
///
/// Contract: callers check `offset + width <= byteCount` before every load or store (the walker
/// and the queue accessors below do); implementations may still check again.
public protocol FrontendMemory {
    var byteCount: UInt64 { get }
    func load8(_ offset: UInt64) -> UInt8
    func load16(_ offset: UInt64) -> UInt16
    func load32(_ offset: UInt64) -> UInt32
    func load64(_ offset: UInt64) -> UInt64
    func store8(_ offset: UInt64, _ value: UInt8)
    func store16(_ offset: UInt64, _ value: UInt16)
    func store32(_ offset: UInt64, _ value: UInt32)
    /// Orders the loads before it before the loads after it (a driver's avail.idx before the
    /// ring entries and descriptors it publishes): `dmb ishld` where the RAM is shared with
    /// running CPUs; nothing for memory only this thread touches.
    func acquireFence()
    /// Orders the stores before it before the stores after it (used elements before used.idx).
    func releaseFence()
}

extension FrontendMemory {
    /// Whether `length` bytes from `offset` lie inside the RAM, without overflowing.
    @inline(__always)
    public func contains(_ offset: UInt64, _ length: UInt64) -> Bool {
        offset <= byteCount && length <= byteCount - offset
    }
}

/// Layout constants of the split virtqueue (virtio 1.2, 2.7).
public enum Virtqueue {
    /// A descriptor: addr u64, len u32, flags u16, next u16.
    public static let descriptorSize: UInt64 = 16
    /// Descriptor flags.
    public static let flagNext: UInt16 = 1
    public static let flagWrite: UInt16 = 2
    public static let flagIndirect: UInt16 = 4
    /// Available ring: flags u16, idx u16, ring[size] u16, used_event u16.
    public static func availBytes(size: UInt16) -> UInt64 { 6 + 2 * UInt64(size) }
    /// Used ring: flags u16, idx u16, ring[size] {id u32, len u32}, avail_event u16.
    public static func usedBytes(size: UInt16) -> UInt64 { 6 + 8 * UInt64(size) }
    public static func descriptorTableBytes(size: UInt16) -> UInt64 { descriptorSize * UInt64(size) }
    /// Largest queue size the spec allows for split rings.
    public static let maxSize: UInt16 = 32768
    /// Used-ring flag VIRTQ_USED_F_NO_NOTIFY, avail-ring flag VIRTQ_AVAIL_F_NO_INTERRUPT.
    public static let availNoInterrupt: UInt16 = 1
}

/// Why a queue or a chain was refused. Each one means a driver that breaks the spec (or attacks):
/// the device sets DEVICE_NEEDS_RESET and serves the queue no more until reset.
public enum VirtqueueFault: Equatable, Sendable {
    /// Queue size 0, not a power of two, or above the maximum.
    case badSize
    /// A ring or the descriptor table misaligned or not wholly inside the RAM.
    case ringOutsideRAM
    /// avail.idx ran more than the queue size ahead of what the device consumed.
    case availTooFarAhead
    /// A head or `next` index at or beyond the queue size.
    case badIndex
    /// More descriptors in one chain than the queue holds: a loop.
    case chainTooLong
    /// A buffer not wholly inside the RAM (below its base, past its end, or wrapping 2^64).
    case bufferOutsideRAM
    /// The chain's lengths add up past 2^32 - 1.
    case lengthOverflow
    /// An indirect descriptor (VIRTIO_F_INDIRECT_DESC is not offered).
    case indirect
    /// A device-readable buffer after a device-writable one (2.7.4.2).
    case readableAfterWritable
}

/// One buffer of a chain: where it is in the RAM (offset from the RAM's base) and who writes it.
public struct ChainSegment: Equatable, Sendable {
    public var offset: UInt64
    public var length: UInt32
    public var writable: Bool

    public init(offset: UInt64, length: UInt32, writable: Bool) {
        self.offset = offset
        self.length = length
        self.writable = writable
    }
}

/// What a whole chain holds once walked.
public struct ChainSummary: Equatable, Sendable {
    public var descriptors: Int = 0
    public var readableBytes: UInt32 = 0
    public var writableBytes: UInt32 = 0

    public init() {}
}

/// A split virtqueue as the driver set it up: its size and the guest-physical addresses of its
/// three parts, and the RAM window they must lie in (`ramBase` = the frontend's RAM IPA).
public struct SplitQueue: Sendable {
    public var size: UInt16
    public var ramBase: UInt64
    /// Offsets from `ramBase` (valid after `validate` succeeded).
    public var descOffset: UInt64 = 0
    public var availOffset: UInt64 = 0
    public var usedOffset: UInt64 = 0

    public init(size: UInt16, ramBase: UInt64) {
        self.size = size
        self.ramBase = ramBase
    }

    /// Checks the queue size and that the three parts are aligned (16, 2, 4) and inside the RAM,
    /// and records their offsets.
    public mutating func validate<M: FrontendMemory>(desc: UInt64, avail: UInt64, used: UInt64, in memory: M) -> VirtqueueFault? {
        guard size != 0, size <= Virtqueue.maxSize, size & (size &- 1) == 0 else { return .badSize }
        guard desc & 15 == 0, avail & 1 == 0, used & 3 == 0 else { return .ringOutsideRAM }
        guard desc >= ramBase, avail >= ramBase, used >= ramBase else { return .ringOutsideRAM }
        let d = desc - ramBase, a = avail - ramBase, u = used - ramBase
        guard memory.contains(d, Virtqueue.descriptorTableBytes(size: size)),
              memory.contains(a, Virtqueue.availBytes(size: size)),
              memory.contains(u, Virtqueue.usedBytes(size: size)) else { return .ringOutsideRAM }
        descOffset = d
        availOffset = a
        usedOffset = u
        return nil
    }

    // The accessors below read inside the parts `validate` checked.

    public func availFlags<M: FrontendMemory>(_ memory: M) -> UInt16 { memory.load16(availOffset) }
    public func availIndex<M: FrontendMemory>(_ memory: M) -> UInt16 { memory.load16(availOffset + 2) }
    /// The head index in slot `ring` (taken modulo the size).
    public func availRing<M: FrontendMemory>(_ memory: M, _ ring: UInt16) -> UInt16 {
        memory.load16(availOffset + 4 + 2 * UInt64(ring & (size &- 1)))
    }
    public func usedIndex<M: FrontendMemory>(_ memory: M) -> UInt16 { memory.load16(usedOffset + 2) }

    /// How many new heads the driver made available since `consumed`, or a fault when avail.idx
    /// ran more than the queue size ahead (a driver cannot have that many buffers outstanding).
    public func pending<M: FrontendMemory>(_ memory: M, consumed: UInt16) -> Result<UInt16, VirtqueueFaultBox> {
        let ahead = availIndex(memory) &- consumed
        memory.acquireFence()
        guard ahead <= size else { return .failure(VirtqueueFaultBox(.availTooFarAhead)) }
        return .success(ahead)
    }

    /// Writes used element {id, len} at `usedIdx` and publishes `usedIdx + 1`. The caller passes
    /// its own copy of used.idx (never the value in guest RAM, which the driver may have changed).
    public func pushUsed<M: FrontendMemory>(_ memory: M, usedIdx: UInt16, id: UInt16, length: UInt32) {
        let element = usedOffset + 4 + 8 * UInt64(usedIdx & (size &- 1))
        memory.store32(element, UInt32(id))
        memory.store32(element + 4, length)
        // The element must be visible before the index: the driver reads it once it sees the index.
        memory.releaseFence()
        memory.store16(usedOffset + 2, usedIdx &+ 1)
    }

    /// The descriptor at `index` (checked < size by the caller).
    public func descriptor<M: FrontendMemory>(_ memory: M, _ index: UInt16) -> (addr: UInt64, len: UInt32, flags: UInt16, next: UInt16) {
        let base = descOffset + Virtqueue.descriptorSize * UInt64(index)
        return (memory.load64(base), memory.load32(base + 8), memory.load16(base + 12), memory.load16(base + 14))
    }

    /// Walks the chain starting at `head`, calling `body` with each segment in order (after its
    /// checks, before the next descriptor is read), and returns the chain's summary or the first
    /// fault. `body` returning false stops the walk early (no fault). To refuse a chain before any
    /// side effect, walk it once with a body that does nothing, then again to act.
    public func walk<M: FrontendMemory>(_ memory: M, head: UInt16, _ body: (ChainSegment) -> Bool) -> Result<ChainSummary, VirtqueueFaultBox> {
        var summary = ChainSummary()
        var index = head
        var seenWritable = false
        while true {
            guard index < size else { return .failure(VirtqueueFaultBox(.badIndex)) }
            guard summary.descriptors < Int(size) else { return .failure(VirtqueueFaultBox(.chainTooLong)) }
            summary.descriptors += 1
            let d = descriptor(memory, index)
            if d.flags & Virtqueue.flagIndirect != 0 { return .failure(VirtqueueFaultBox(.indirect)) }
            guard d.addr >= ramBase, memory.contains(d.addr - ramBase, UInt64(d.len)) else {
                return .failure(VirtqueueFaultBox(.bufferOutsideRAM))
            }
            let writable = d.flags & Virtqueue.flagWrite != 0
            if writable {
                seenWritable = true
                let (sum, overflow) = summary.writableBytes.addingReportingOverflow(d.len)
                guard !overflow, UInt64(sum) + UInt64(summary.readableBytes) <= UInt64(UInt32.max) else {
                    return .failure(VirtqueueFaultBox(.lengthOverflow))
                }
                summary.writableBytes = sum
            } else {
                guard !seenWritable else { return .failure(VirtqueueFaultBox(.readableAfterWritable)) }
                let (sum, overflow) = summary.readableBytes.addingReportingOverflow(d.len)
                guard !overflow, UInt64(sum) + UInt64(summary.writableBytes) <= UInt64(UInt32.max) else {
                    return .failure(VirtqueueFaultBox(.lengthOverflow))
                }
                summary.readableBytes = sum
            }
            if !body(ChainSegment(offset: d.addr - ramBase, length: d.len, writable: writable)) { return .success(summary) }
            if d.flags & Virtqueue.flagNext == 0 { return .success(summary) }
            index = d.next
        }
    }
}

/// `VirtqueueFault` as an `Error`, so it can be the failure of a `Result`.
public struct VirtqueueFaultBox: Error, Equatable, Sendable {
    public var fault: VirtqueueFault
    public init(_ fault: VirtqueueFault) { self.fault = fault }
}
