import Testing
import KeelCore
import KeelDMCore

/// A hostile frontend (device 0, a blk device) beside an honest one (device 1, blk on its own
/// RAM): each attack sets device 0 to DEVICE_NEEDS_RESET, leaves the disk untouched, and device 1
/// keeps serving; after a reset device 0 serves again.
struct Pair {
    let model = Model()
    let hostile: FakeDriver
    let honest: FakeDriver
    let hostileRAM = ByteRAM(size: 1 << 20)
    let honestRAM = ByteRAM(size: 1 << 20)

    init() {
        model.addBlk(ram: hostileRAM, ramBase: ramBase, disk: patternDisk(sectors: 16), id: [])
        model.addBlk(ram: honestRAM, ramBase: ramBase, disk: patternDisk(sectors: 16), id: [])
        hostile = FakeDriver(model, device: 0, ram: hostileRAM)
        honest = FakeDriver(model, device: 1, ram: honestRAM)
        for driver in [hostile, honest] {
            driver.negotiate()
            driver.setUpQueue(0, at: 0x10000)
            driver.driverOK()
        }
    }

    /// The attack left device 0 needing a reset (config-change interrupt, nothing used), the
    /// honest device still reads its disk, and device 0 works again after a reset.
    func check(_ expected: VirtqueueFault, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(model.devices[0].fault == expected, sourceLocation: sourceLocation)
        #expect(hostile.status & VirtioMMIO.Status.needsReset != 0, sourceLocation: sourceLocation)
        #expect(hostile.acknowledge() & VirtioMMIO.interruptConfigChange != 0, sourceLocation: sourceLocation)
        #expect(hostile.takeUsed(0).isEmpty, sourceLocation: sourceLocation)
        #expect(model.devices[0].disk!.bytes == patternDisk(sectors: 16).bytes, sourceLocation: sourceLocation)
        // Further notifies are not served while it needs a reset.
        readSector(hostile, hostileRAM, expectServed: false, sourceLocation: sourceLocation)
        readSector(honest, honestRAM, expectServed: true, sourceLocation: sourceLocation)
        #expect(model.devices[1].fault == nil, sourceLocation: sourceLocation)
        // Reset and set up again: served.
        hostile.negotiate()
        #expect(hostile.status & VirtioMMIO.Status.needsReset == 0, sourceLocation: sourceLocation)
        hostile.nextDesc = [0]; hostile.availIdx = [0]; hostile.usedSeen = [0]
        for i in 0..<0x3000 { hostileRAM.store8(0x10000 + UInt64(i), 0) }
        hostile.setUpQueue(0, at: 0x10000)
        hostile.driverOK()
        readSector(hostile, hostileRAM, expectServed: true, sourceLocation: sourceLocation)
    }

    func readSector(_ driver: FakeDriver, _ ram: ByteRAM, expectServed: Bool, sourceLocation: SourceLocation) {
        blkHeader(ram, at: 0x20000, type: VirtioBlk.typeIn, sector: 1)
        ram.store8(0x30000, 0xEE)
        driver.add(0, [(0x20000, 16, false), (0x21000, 512, true), (0x30000, 1, true)])
        driver.notify(0)
        let used = driver.takeUsed(0)
        #expect(used.count == (expectServed ? 1 : 0), sourceLocation: sourceLocation)
        #expect(ram.load8(0x30000) == (expectServed ? VirtioBlk.statusOK : 0xEE), sourceLocation: sourceLocation)
    }
}

@Suite("keel-dm: hostile chains and rings")
struct HostileChainTests {
    @Test("a chain that loops")
    func loop() {
        let p = Pair()
        blkHeader(p.hostileRAM, at: 0x20000, type: VirtioBlk.typeIn, sector: 0)
        p.hostile.writeDescriptor(0, 0, addr: ramBase + 0x20000, len: 16, flags: Virtqueue.flagNext, next: 1)
        p.hostile.writeDescriptor(0, 1, addr: ramBase + 0x21000, len: 512, flags: Virtqueue.flagNext | Virtqueue.flagWrite, next: 1)
        p.hostile.publish(0, head: 0)
        p.hostile.notify(0)
        p.check(.chainTooLong)
    }

    @Test("a buffer past the end of the RAM, below its base, or wrapping 2^64")
    func outsideRAM() {
        for addr: UInt64 in [ramBase + (1 << 20) - 8, ramBase - 0x1000, 0xFFFF_FFFF_FFFF_F000] {
            let p = Pair()
            p.hostile.writeDescriptor(0, 0, addr: ramBase + 0x20000, len: 16, flags: Virtqueue.flagNext, next: 1)
            p.hostile.writeDescriptor(0, 1, addr: addr, len: 0x2000, flags: Virtqueue.flagNext | Virtqueue.flagWrite, next: 2)
            p.hostile.writeDescriptor(0, 2, addr: ramBase + 0x30000, len: 1, flags: Virtqueue.flagWrite, next: 0)
            p.hostile.publish(0, head: 0)
            p.hostile.notify(0)
            p.check(.bufferOutsideRAM)
        }
    }

    @Test("a length past the RAM (the sum of a chain is checked by the walker's own test)")
    func hugeLength() {
        let p = Pair()
        p.hostile.writeDescriptor(0, 0, addr: ramBase + 0x20000, len: 0xFFFF_FFFF, flags: 0, next: 0)
        p.hostile.publish(0, head: 0)
        p.hostile.notify(0)
        p.check(.bufferOutsideRAM)
    }

    @Test("avail.idx more than the queue size ahead, and a head index past the table")
    func ringIndexes() {
        let p = Pair()
        p.hostileRAM.store16(0x10000 + 0x1000 + 2, 17)  // size 16, nothing consumed
        p.hostile.notify(0)
        p.check(.availTooFarAhead)

        let q = Pair()
        q.hostileRAM.store16(0x10000 + 0x1000 + 4, 16)  // ring[0] = 16: no such descriptor
        q.hostileRAM.store16(0x10000 + 0x1000 + 2, 1)
        q.hostile.notify(0)
        q.check(.badIndex)

        let r = Pair()
        r.hostile.writeDescriptor(0, 0, addr: ramBase + 0x20000, len: 16, flags: Virtqueue.flagNext, next: 40)
        r.hostile.publish(0, head: 0)
        r.hostile.notify(0)
        r.check(.badIndex)
    }

    @Test("avail.idx and used.idx wrapping 2^16 are honest and served")
    func indexWrap() {
        let p = Pair()
        let d = p.honest
        blkHeader(p.honestRAM, at: 0x20000, type: VirtioBlk.typeFlush, sector: 0)
        var served = 0
        // 4100 notifications of 16 flushes: 65,600 requests, past 2^16.
        for _ in 0..<4100 {
            for _ in 0..<16 { d.add(0, [(0x20000, 16, false), (0x30000, 1, true)]) }
            d.notify(0)
            served += d.takeUsed(0).count
        }
        #expect(served == 4100 * 16)
        #expect(p.model.devices[1].fault == nil)
        #expect(p.model.devices[1].disk!.flushes == 4100 * 16)
        #expect(p.model.devices[1].queues[0].lastAvail == UInt16(truncatingIfNeeded: 4100 * 16))
    }

    @Test("an indirect descriptor (not offered) is refused")
    func indirect() {
        let p = Pair()
        p.hostile.writeDescriptor(0, 0, addr: ramBase + 0x20000, len: 32, flags: Virtqueue.flagIndirect, next: 0)
        p.hostile.publish(0, head: 0)
        p.hostile.notify(0)
        p.check(.indirect)
    }

    @Test("a net frontend's hostile rx ring fails that port only; the sender and others go on")
    func hostileReceiver() {
        let (model, d, _) = netSetUp()
        d[0].giveRx(at: 0x50000)
        // Device 1's rx ring: a head past the table.
        d[1].ram.store16(0x10000 + 0x1000 + 4, 99)
        d[1].ram.store16(0x10000 + 0x1000 + 2, 1)
        d[2].giveRx(at: 0x50000)
        let f = ethernetFrame(to: 0xFFFF_FFFF_FFFF, from: 0x5255_0000_0001, payload: 40, fill: 1)
        d[0].send(f)
        #expect(model.devices[1].fault == .badIndex)
        #expect(model.devices[0].fault == nil)
        #expect(d[0].takeUsed(1).count == 1)
        d[1].send(ethernetFrame(to: 0x5255_0000_0001, from: 0x5255_0000_0002, payload: 40, fill: 2))
        #expect(d[0].received().isEmpty)  // a device needing reset sends nothing
        #expect(model.devices[2].fault == nil)
    }
}
