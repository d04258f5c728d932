import Testing
import KeelCore

/// A RAM that claims 1 TiB and stores only what is written (the walker's overflow checks need
/// buffers whose lengths add up past 2^32, each inside the RAM).
final class SparseRAM: FrontendMemory {
    var bytes: [UInt64: UInt8] = [:]
    var byteCount: UInt64 { 1 << 40 }
    func load8(_ o: UInt64) -> UInt8 { bytes[o] ?? 0 }
    func load16(_ o: UInt64) -> UInt16 { UInt16(load8(o)) | UInt16(load8(o + 1)) << 8 }
    func load32(_ o: UInt64) -> UInt32 { UInt32(load16(o)) | UInt32(load16(o + 2)) << 16 }
    func load64(_ o: UInt64) -> UInt64 { UInt64(load32(o)) | UInt64(load32(o + 4)) << 32 }
    func store8(_ o: UInt64, _ v: UInt8) { bytes[o] = v }
    func store16(_ o: UInt64, _ v: UInt16) { store8(o, UInt8(truncatingIfNeeded: v)); store8(o + 1, UInt8(truncatingIfNeeded: v >> 8)) }
    func store32(_ o: UInt64, _ v: UInt32) { store16(o, UInt16(truncatingIfNeeded: v)); store16(o + 2, UInt16(truncatingIfNeeded: v >> 16)) }
    func store64(_ o: UInt64, _ v: UInt64) { store32(o, UInt32(truncatingIfNeeded: v)); store32(o + 4, UInt32(truncatingIfNeeded: v >> 32)) }
    func acquireFence() {}
    func releaseFence() {}

    func descriptor(_ i: UInt64, addr: UInt64, len: UInt32, flags: UInt16, next: UInt16) {
        store64(16 * i, addr); store32(16 * i + 8, len); store16(16 * i + 12, flags); store16(16 * i + 14, next)
    }
}

@Suite("Split virtqueue layout and chain walker")
struct VirtqueueTests {
    let base: UInt64 = 0x8000_0000

    func queue(_ ram: SparseRAM, size: UInt16 = 8) -> SplitQueue {
        var q = SplitQueue(size: size, ramBase: base)
        #expect(q.validate(desc: base, avail: base + 0x1000, used: base + 0x2000, in: ram) == nil)
        return q
    }

    @Test("layout sizes as the spec gives them")
    func layout() {
        #expect(Virtqueue.descriptorTableBytes(size: 256) == 4096)
        #expect(Virtqueue.availBytes(size: 256) == 518)
        #expect(Virtqueue.usedBytes(size: 256) == 2054)
    }

    @Test("validate refuses bad sizes, misaligned rings and rings outside the RAM")
    func validate() {
        let ram = SparseRAM()
        for size: UInt16 in [0, 3, 65535] {
            var q = SplitQueue(size: size, ramBase: base)
            #expect(q.validate(desc: base, avail: base + 0x1000, used: base + 0x2000, in: ram) == .badSize)
        }
        var q = SplitQueue(size: 8, ramBase: base)
        #expect(q.validate(desc: base + 8, avail: base + 0x1000, used: base + 0x2000, in: ram) == .ringOutsideRAM)
        #expect(q.validate(desc: base, avail: base + 0x1001, used: base + 0x2000, in: ram) == .ringOutsideRAM)
        #expect(q.validate(desc: base, avail: base + 0x1000, used: base + 0x2002, in: ram) == .ringOutsideRAM)
        #expect(q.validate(desc: base - 16, avail: base + 0x1000, used: base + 0x2000, in: ram) == .ringOutsideRAM)
        #expect(q.validate(desc: base, avail: base + 0x1000, used: base + (1 << 40) - 16, in: ram) == .ringOutsideRAM)
        #expect(q.validate(desc: UInt64.max - 15, avail: base + 0x1000, used: base + 0x2000, in: ram) == .ringOutsideRAM)
    }

    @Test("a chain: segments in order, offsets from the RAM base, summary of both directions")
    func walk() {
        let ram = SparseRAM()
        let q = queue(ram)
        ram.descriptor(2, addr: base + 0x100, len: 16, flags: Virtqueue.flagNext, next: 5)
        ram.descriptor(5, addr: base + 0x200, len: 512, flags: Virtqueue.flagNext | Virtqueue.flagWrite, next: 0)
        ram.descriptor(0, addr: base + 0x300, len: 1, flags: Virtqueue.flagWrite, next: 7)
        var seen: [ChainSegment] = []
        let result = q.walk(ram, head: 2) { seen.append($0); return true }
        var expected = ChainSummary()
        expected.descriptors = 3; expected.readableBytes = 16; expected.writableBytes = 513
        #expect(result == .success(expected))
        #expect(seen == [ChainSegment(offset: 0x100, length: 16, writable: false),
                         ChainSegment(offset: 0x200, length: 512, writable: true),
                         ChainSegment(offset: 0x300, length: 1, writable: true)])
    }

    @Test("refused: loops, bad indexes, indirect, outside the RAM, overflowing sums, readable after writable")
    func refusals() {
        let ram = SparseRAM()
        let q = queue(ram)
        func fault(_ head: UInt16) -> VirtqueueFault? {
            if case .failure(let box) = q.walk(ram, head: head, { _ in true }) { return box.fault }
            return nil
        }
        ram.descriptor(0, addr: base, len: 1, flags: Virtqueue.flagNext, next: 1)
        ram.descriptor(1, addr: base, len: 1, flags: Virtqueue.flagNext, next: 0)
        #expect(fault(0) == .chainTooLong)
        #expect(fault(8) == .badIndex)
        ram.descriptor(0, addr: base, len: 1, flags: Virtqueue.flagNext, next: 9)
        #expect(fault(0) == .badIndex)
        ram.descriptor(0, addr: base, len: 64, flags: Virtqueue.flagIndirect, next: 0)
        #expect(fault(0) == .indirect)
        ram.descriptor(0, addr: base + (1 << 40) - 4, len: 8, flags: 0, next: 0)
        #expect(fault(0) == .bufferOutsideRAM)
        ram.descriptor(0, addr: base - 1, len: 1, flags: 0, next: 0)
        #expect(fault(0) == .bufferOutsideRAM)
        ram.descriptor(0, addr: UInt64.max, len: 2, flags: 0, next: 0)
        #expect(fault(0) == .bufferOutsideRAM)
        // Two 3 GiB buffers, each inside the 1 TiB RAM: their sum passes 2^32.
        ram.descriptor(0, addr: base, len: 0xC000_0000, flags: Virtqueue.flagNext, next: 1)
        ram.descriptor(1, addr: base, len: 0xC000_0000, flags: 0, next: 0)
        #expect(fault(0) == .lengthOverflow)
        ram.descriptor(1, addr: base, len: 0xC000_0000, flags: Virtqueue.flagWrite, next: 0)
        #expect(fault(0) == .lengthOverflow)
        ram.descriptor(0, addr: base, len: 1, flags: Virtqueue.flagNext | Virtqueue.flagWrite, next: 1)
        ram.descriptor(1, addr: base, len: 1, flags: 0, next: 0)
        #expect(fault(0) == .readableAfterWritable)
        // A full-size chain is fine: 8 descriptors in a queue of 8.
        for i in 0..<8 { ram.descriptor(UInt64(i), addr: base, len: 1, flags: i < 7 ? Virtqueue.flagNext : 0, next: UInt16(i + 1)) }
        #expect(fault(0) == nil)
    }

    @Test("pending: wrapping indexes count right; more than the size ahead is refused")
    func pending() {
        let ram = SparseRAM()
        let q = queue(ram)
        ram.store16(base - base + 0x1000 + 2, 3)
        #expect(q.pending(ram, consumed: 65534) == .success(5))
        #expect(q.pending(ram, consumed: 3) == .success(0))
        ram.store16(0x1000 + 2, 12)
        #expect(q.pending(ram, consumed: 3) == .failure(VirtqueueFaultBox(.availTooFarAhead)))
        q.pushUsed(ram, usedIdx: 65535, id: 6, length: 99)
        #expect(q.usedIndex(ram) == 0)
        #expect(ram.load32(0x2000 + 4 + 8 * 7) == 6)
        #expect(ram.load32(0x2000 + 4 + 8 * 7 + 4) == 99)
    }
}
