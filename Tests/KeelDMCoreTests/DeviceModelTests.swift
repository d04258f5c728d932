import Testing
import KeelCore
import KeelDMCore

/// A disk whose byte i is (i * 7 + i / 512) & 0xFF: every sector differs.
func patternDisk(sectors: Int) -> ByteDisk {
    ByteDisk(bytes: (0..<sectors * 512).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / 512) })
}

/// One model with a blk device (device 0) on a 1 MiB frontend, set up as Linux does.
func blkSetUp(sectors: Int = 64) -> (Model, FakeDriver, ByteRAM) {
    let model = Model()
    let ram = ByteRAM(size: 1 << 20)
    model.addBlk(ram: ram, ramBase: ramBase, disk: patternDisk(sectors: sectors), id: Array("keel-disk-0".utf8))
    let driver = FakeDriver(model, device: 0, ram: ram)
    #expect(driver.negotiate())
    driver.setUpQueue(0, at: 0x10000)
    driver.driverOK()
    return (model, driver, ram)
}

@Suite("keel-dm: the virtio-mmio register file")
struct RegisterFileTests {
    @Test("identity, features and queue registers as Linux's virtio_mmio probes them")
    func probe() {
        let (model, driver, _) = blkSetUp(sectors: 64)
        typealias R = VirtioMMIO.Register
        #expect(driver.read(R.magic) == 0x7472_6976)
        #expect(driver.read(R.version) == 2)
        #expect(driver.read(R.deviceID) == 2)
        #expect(driver.read(R.vendorID) == UInt64(VirtioMMIO.vendorID))
        driver.write(R.deviceFeaturesSel, 1)
        #expect(driver.read(R.deviceFeatures) & 1 == 1)  // VIRTIO_F_VERSION_1
        driver.write(R.deviceFeaturesSel, 0)
        #expect(driver.read(R.deviceFeatures) & UInt64(VirtioBlk.featureFlush) != 0)
        driver.write(R.queueSel, 0)
        #expect(driver.read(R.queueNumMax) == 128)
        #expect(driver.read(R.queueReady) == 1)
        driver.write(R.queueSel, 1)  // blk has one queue
        #expect(driver.read(R.queueNumMax) == 0)
        #expect(driver.status == 0xF)
        // Config space: capacity in sectors, 64-bit, read as two 32-bit halves or at once.
        #expect(driver.read(0x100) == 64)
        #expect(driver.read(0x104) == 0)
        #expect(driver.read(0x100, size: 8) == 64)
        #expect(driver.read(0x100, size: 1) == 64)
        // seg_max: the queue's descriptors but the header's and the status's; the topology
        // (offered, config offsets 24-31) names 1 MiB as the optimal I/O size, in sectors.
        #expect(driver.read(R.deviceFeatures) & UInt64(VirtioBlk.featureSegMax | VirtioBlk.featureTopology)
                == UInt64(VirtioBlk.featureSegMax | VirtioBlk.featureTopology))
        #expect(driver.read(0x10C) == 126)
        #expect(driver.read(0x118, size: 1) == 0)  // physical_block_exp: 512-byte sectors
        #expect(driver.read(0x11A, size: 2) == 1)
        #expect(driver.read(0x11C) == 2048)
        // Only 32-bit accesses below the config space; a device that does not exist reads ones.
        #expect(driver.read(R.magic, size: 2) == 0xFFFF_FFFF)
        #expect(model.access(device: 5, offset: 0, size: 4, write: false, value: 0) == ~0)
        #expect(model.access(device: 0, offset: 0x200, size: 4, write: false, value: 0) == ~0)
        // Reset clears the queues and the status.
        driver.write(R.status, 0)
        #expect(driver.status == 0)
        driver.write(R.queueSel, 0)
        #expect(driver.read(R.queueReady) == 0)
    }

    @Test("FEATURES_OK only for a subset of the offer with VERSION_1")
    func features() {
        let model = Model()
        let ram = ByteRAM(size: 1 << 16)
        model.addConsole(ram: ram, ramBase: ramBase)
        let driver = FakeDriver(model, device: 0, ram: ram)
        #expect(!driver.negotiate(accept: 0xFFFF_FFFF))  // a legacy driver: no VERSION_1
        #expect(driver.negotiate())
        // More than offered.
        driver.write(VirtioMMIO.Register.status, 0)
        driver.write(VirtioMMIO.Register.status, 3)
        driver.write(VirtioMMIO.Register.driverFeaturesSel, 1)
        driver.write(VirtioMMIO.Register.driverFeatures, 3)
        driver.write(VirtioMMIO.Register.status, 0xB)
        #expect(driver.status & VirtioMMIO.Status.featuresOK == 0)
    }

    @Test("a queue whose rings leave the RAM or whose size is no power of two needs a reset")
    func badQueueSetUp() {
        let model = Model()
        let ram = ByteRAM(size: 1 << 16)
        model.addConsole(ram: ram, ramBase: ramBase)
        let driver = FakeDriver(model, device: 0, ram: ram)
        driver.negotiate()
        driver.setUpQueue(0, at: 0xF000)  // used ring at 0x11000: past 64 KiB
        #expect(driver.status & VirtioMMIO.Status.needsReset != 0)
        #expect(driver.acknowledge() & VirtioMMIO.interruptConfigChange != 0)
        driver.negotiate()
        #expect(driver.status & VirtioMMIO.Status.needsReset == 0)
        driver.write(VirtioMMIO.Register.queueSel, 0)
        driver.write(VirtioMMIO.Register.queueNum, 12)
        driver.write(VirtioMMIO.Register.queueReady, 1)
        #expect(driver.status & VirtioMMIO.Status.needsReset != 0)
    }
}

@Suite("keel-dm: virtio-blk")
struct BlkTests {
    @Test("a read returns the disk's sectors, with status OK and the length written")
    func read() {
        let (model, driver, ram) = blkSetUp()
        blkHeader(ram, at: 0x20000, type: VirtioBlk.typeIn, sector: 3)
        ram.store8(0x30000, 0xFF)
        // Data split over two buffers, as a scatter list would be.
        let head = driver.add(0, [(0x20000, 16, false), (0x21000, 512, true), (0x22000, 1024, true), (0x30000, 1, true)])
        driver.notify(0)
        let used = driver.takeUsed(0)
        #expect(used.count == 1)
        #expect(used.first?.id == UInt32(head))
        #expect(used.first?.length == UInt32(1536 + 1))
        #expect(ram.load8(0x30000) == VirtioBlk.statusOK)
        let disk = model.devices[0].disk!.bytes
        #expect(ram.bytes(0x21000, 512) == Array(disk[3 * 512..<4 * 512]))
        #expect(ram.bytes(0x22000, 1024) == Array(disk[4 * 512..<6 * 512]))
        #expect(driver.acknowledge() == VirtioMMIO.interruptUsedBuffer)
        #expect(model.devices[0].interruptPending)
    }

    @Test("data sharing a descriptor with the header or the status moves straight from and to the right bytes")
    func sharedDescriptors() {
        let (model, driver, ram) = blkSetUp(sectors: 8)
        // A write whose header and first data bytes share one readable descriptor.
        let data = (0..<1024).map { UInt8(truncatingIfNeeded: 0x3C ^ ($0 * 5)) }
        blkHeader(ram, at: 0x20000, type: VirtioBlk.typeOut, sector: 2)
        ram.fill(0x20010, Array(data[0..<100]))
        ram.fill(0x21000, Array(data[100...]))
        driver.add(0, [(0x20000, 16 + 100, false), (0x21000, 924, false), (0x30000, 1, true)])
        // A read whose last data bytes share one writable descriptor with the status.
        blkHeader(ram, at: 0x20200, type: VirtioBlk.typeIn, sector: 2)
        driver.add(0, [(0x20200, 16, false), (0x22000, 700, true), (0x23000, 324 + 1, true)])
        ram.store8(0x23000 + 324, 0xEE)
        driver.notify(0)
        let used = driver.takeUsed(0)
        #expect(used.map(\.length) == [1, 1024 + 1])
        #expect(Array(model.devices[0].disk!.bytes[2 * 512..<4 * 512]) == data)
        #expect(ram.load8(0x30000) == VirtioBlk.statusOK)
        #expect(ram.bytes(0x22000, 700) + ram.bytes(0x23000, 324) == data)
        #expect(ram.load8(0x23000 + 324) == VirtioBlk.statusOK)
    }

    @Test("a write lands on the disk; flush and get-id answer; a read past the end is an I/O error")
    func writeFlushID() {
        let (model, driver, ram) = blkSetUp(sectors: 8)
        let data = (0..<1024).map { UInt8(truncatingIfNeeded: 0xA5 ^ $0) }
        ram.fill(0x21000, data)
        blkHeader(ram, at: 0x20000, type: VirtioBlk.typeOut, sector: 6)
        driver.add(0, [(0x20000, 16, false), (0x21000, 1024, false), (0x30000, 1, true)])
        blkHeader(ram, at: 0x20100, type: VirtioBlk.typeFlush, sector: 0)
        driver.add(0, [(0x20100, 16, false), (0x30001, 1, true)])
        blkHeader(ram, at: 0x20200, type: VirtioBlk.typeGetID, sector: 0)
        driver.add(0, [(0x20200, 16, false), (0x24000, 20, true), (0x30002, 1, true)])
        blkHeader(ram, at: 0x20300, type: VirtioBlk.typeIn, sector: 7)  // 2 sectors from the last
        driver.add(0, [(0x20300, 16, false), (0x25000, 1024, true), (0x30003, 1, true)])
        blkHeader(ram, at: 0x20400, type: 99, sector: 0)
        driver.add(0, [(0x20400, 16, false), (0x30004, 1, true)])
        for i in 0..<5 { ram.store8(0x30000 + UInt64(i), 0xEE) }
        driver.notify(0)
        #expect(driver.takeUsed(0).count == 5)
        let disk = model.devices[0].disk!
        #expect(Array(disk.bytes[6 * 512..<8 * 512]) == data)
        #expect(disk.flushes == 1)
        #expect(ram.bytes(0x24000, 20) == Array("keel-disk-0".utf8) + [UInt8](repeating: 0, count: 9))
        #expect(ram.bytes(0x30000, 5) == [VirtioBlk.statusOK, VirtioBlk.statusOK, VirtioBlk.statusOK,
                                         VirtioBlk.statusIOErr, VirtioBlk.statusUnsupported])
        // A sector number whose byte offset wraps 2^64 is an I/O error too.
        blkHeader(ram, at: 0x20000, type: VirtioBlk.typeIn, sector: UInt64.max / 256)
        driver.add(0, [(0x20000, 16, false), (0x25000, 512, true), (0x30000, 1, true)])
        driver.notify(0)
        #expect(ram.load8(0x30000) == VirtioBlk.statusIOErr)
    }

    @Test("a QueueNotify store only records the queue: it is served after the store completed")
    func notifyDeferred() {
        let (model, driver, ram) = blkSetUp()
        blkHeader(ram, at: 0x20000, type: VirtioBlk.typeIn, sector: 0)
        driver.add(0, [(0x20000, 16, false), (0x21000, 512, true), (0x30000, 1, true)])
        driver.write(VirtioMMIO.Register.queueNotify, 0)
        driver.write(VirtioMMIO.Register.queueNotify, 0)
        #expect(driver.takeUsed(0).isEmpty)
        #expect(model.notified.count == 1)
        model.servePending()
        #expect(driver.takeUsed(0).count == 1)
        #expect(model.notified.isEmpty)
    }

    @Test("a notify before DRIVER_OK or for a queue not ready is ignored")
    func notReady() {
        let model = Model()
        let ram = ByteRAM(size: 1 << 20)
        model.addBlk(ram: ram, ramBase: ramBase, disk: patternDisk(sectors: 4), id: [])
        let driver = FakeDriver(model, device: 0, ram: ram)
        driver.negotiate()
        driver.setUpQueue(0, at: 0x10000)
        blkHeader(ram, at: 0x20000, type: VirtioBlk.typeIn, sector: 0)
        driver.add(0, [(0x20000, 16, false), (0x21000, 512, true), (0x30000, 1, true)])
        driver.notify(0)
        #expect(driver.takeUsed(0).isEmpty)
        driver.driverOK()
        driver.notify(0)
        #expect(driver.takeUsed(0).count == 1)
    }
}

@Suite("keel-dm: virtio-console")
struct ConsoleTests {
    @Test("transmitq buffers become the device's output; receiveq stays untouched")
    func output() {
        let model = Model()
        let ram = ByteRAM(size: 1 << 20)
        model.addConsole(ram: ram, ramBase: ramBase)
        let driver = FakeDriver(model, device: 0, ram: ram)
        #expect(driver.read(VirtioMMIO.Register.deviceID) == 3)
        driver.negotiate()
        driver.setUpQueue(0, at: 0x10000)
        driver.setUpQueue(1, at: 0x14000)
        driver.driverOK()
        ram.fill(0x20000, Array("hello ".utf8))
        ram.fill(0x20100, Array("console\n".utf8))
        driver.add(0, [(0x21000, 64, true)])
        driver.notify(0)
        driver.add(1, [(0x20000, 6, false)])
        driver.add(1, [(0x20100, 8, false)])
        driver.notify(1)
        #expect(model.devices[0].output == Array("hello console\n".utf8))
        #expect(driver.takeUsed(1).count == 2)
        #expect(driver.takeUsed(0).isEmpty)
    }

    @Test("output past the limit the glue has not drained is dropped and counted, the buffer still used")
    func outputLimit() {
        let model = Model()
        let ram = ByteRAM(size: 1 << 20)
        model.addConsole(ram: ram, ramBase: ramBase)
        let driver = FakeDriver(model, device: 0, ram: ram)
        driver.negotiate()
        driver.setUpQueue(0, at: 0x10000)
        driver.setUpQueue(1, at: 0x14000)
        driver.driverOK()
        ram.fill(0x20000, [UInt8](repeating: 0x41, count: 40000))
        driver.add(1, [(0x20000, 40000, false)])
        driver.add(1, [(0x20000, 30000, false)])
        driver.notify(1)
        #expect(model.devices[0].output.count == VirtioConsole.outputLimit)
        #expect(model.devices[0].outputDropped == 70000 - VirtioConsole.outputLimit)
        #expect(driver.takeUsed(1).count == 2)
    }
}

/// Three net devices on one 1 MiB frontend each: 0 and 1 on network 7, 2 on network 8.
func netSetUp() -> (Model, [FakeDriver], [ByteRAM]) {
    let model = Model()
    var drivers: [FakeDriver] = []
    var rams: [ByteRAM] = []
    for (i, network) in [UInt32(7), 7, 8].enumerated() {
        let ram = ByteRAM(size: 1 << 20)
        model.addNet(ram: ram, ramBase: ramBase, mac: 0x5255_0000_0000 | UInt64(i + 1), network: network)
        let driver = FakeDriver(model, device: i, ram: ram)
        #expect(driver.negotiate())
        driver.setUpQueue(0, at: 0x10000)
        driver.setUpQueue(1, at: 0x14000)
        driver.driverOK()
        drivers.append(driver)
        rams.append(ram)
    }
    return (model, drivers, rams)
}

@Suite("keel-dm: virtio-net and its learning switch")
struct NetTests {
    @Test("MAC in config; broadcast floods its network only; a learned MAC gets unicast frames")
    func switching() {
        let (model, d, _) = netSetUp()
        #expect(d[1].read(0x100, size: 1) == 0x52)
        #expect(d[1].read(0x105, size: 1) == 0x02)
        for (i, driver) in d.enumerated() {
            driver.giveRx(at: 0x50000)
            driver.giveRx(at: 0x51000)
            _ = i
        }
        let mac0: UInt64 = 0x5255_0000_0001, mac1: UInt64 = 0x5255_0000_0002
        // 0 broadcasts: 1 gets it, 2 (another network) does not, 0 not its own.
        let hello = ethernetFrame(to: 0xFFFF_FFFF_FFFF, from: mac0, payload: 50, fill: 0x11)
        d[0].send(hello)
        #expect(d[1].received() == [hello])
        #expect(d[2].received().isEmpty)
        #expect(d[0].received().isEmpty)
        #expect(model.devices[1].interruptPending)
        #expect(!model.devices[2].interruptPending)
        // 1 answers to 0's MAC, which the switch learned.
        let answer = ethernetFrame(to: mac0, from: mac1, payload: 100, fill: 0x22)
        d[1].send(answer)
        #expect(d[0].received() == [answer])
        // The tx buffers were returned.
        #expect(d[0].takeUsed(1).count == 1)
        #expect(d[1].takeUsed(1).count == 1)
        // Network 8 cannot reach 0 even with its MAC.
        d[2].send(ethernetFrame(to: mac0, from: 0x5255_0000_0003, payload: 60, fill: 0x33))
        #expect(d[0].received().isEmpty)
        #expect(d[1].received().isEmpty)
    }

    @Test("frames with no rx buffer, or one too small, are dropped and counted")
    func drops() {
        let (model, d, _) = netSetUp()
        let f = ethernetFrame(to: 0xFFFF_FFFF_FFFF, from: 0x5255_0000_0001, payload: 1000, fill: 0x44)
        d[0].send(f)
        #expect(model.devices[1].rxDropped == 1)
        d[1].add(0, [(0x50000, 100, true)])  // too small for the frame
        d[0].send(f)
        #expect(model.devices[1].rxDropped == 2)
        #expect(d[1].received().isEmpty)
        d[1].giveRx(at: 0x51000)  // the small buffer is still first: this one waits behind it
        d[0].send(ethernetFrame(to: 0xFFFF_FFFF_FFFF, from: 0x5255_0000_0001, payload: 20, fill: 0x45))
        #expect(d[1].received().count == 1)
    }
}
