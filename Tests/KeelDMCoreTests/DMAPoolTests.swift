import Testing
import KeelCore
import KeelDMCore

/// A device with a restricted DMA pool (`dma = "pool"`, docs/device-model.md): keel-dm reaches
/// only the pool, the top MiB of a frontend whose 16 MiB of RAM start at `frontendRAM`; the pool
/// is `FakeDriver.ramBase`, so FakeDriver's offsets land in it. The device offers and requires
/// VIRTIO_F_ACCESS_PLATFORM, and every ring or buffer in the frontend's RAM outside the pool sets
/// DEVICE_NEEDS_RESET before anything is read or written.
@Suite("keel-dm: restricted DMA pools")
struct DMAPoolTests {
    static let poolSize = 1 << 20
    static let frontendRAM = FakeDriver.ramBase - (15 << 20)

    /// Device 0 a blk device on a pool, device 1 one on the frontend's whole RAM (shared).
    static func model() -> (Model, ByteRAM, FakeDriver, FakeDriver) {
        let model = Model()
        let pool = ByteRAM(size: poolSize)
        model.addBlk(ram: pool, ramBase: FakeDriver.ramBase, disk: patternDisk(sectors: 16), id: [], accessPlatform: true)
        model.addBlk(ram: ByteRAM(size: 1 << 20), ramBase: FakeDriver.ramBase, disk: patternDisk(sectors: 16), id: [])
        return (model, pool, FakeDriver(model, device: 0, ram: pool), FakeDriver(model, device: 1, ram: model.devices[1].ram))
    }

    @Test("ACCESS_PLATFORM (bit 33) is offered with a pool and only there, and a driver that refuses it gets no FEATURES_OK")
    func feature() {
        let (model, _, pooled, shared) = Self.model()
        #expect(VirtioMMIO.featureAccessPlatform == 1 << 33)
        #expect(model.devices[0].deviceFeatures & VirtioMMIO.featureAccessPlatform != 0)
        #expect(model.devices[1].deviceFeatures & VirtioMMIO.featureAccessPlatform == 0)
        #expect(!pooled.negotiate(accept: ~VirtioMMIO.featureAccessPlatform), "addresses outside the DMA API would miss the pool")
        #expect(pooled.negotiate())
        #expect(model.devices[0].driverFeatures & VirtioMMIO.featureAccessPlatform != 0)
        #expect(shared.negotiate(accept: ~VirtioMMIO.featureAccessPlatform))
    }

    @Test("a read through the pool is served; a buffer in the frontend's RAM outside the pool needs a reset, nothing read or written")
    func buffers() {
        let (_, pool, driver, _) = Self.model()
        driver.negotiate()
        driver.setUpQueue(0, at: 0x10000)
        driver.driverOK()
        blkHeader(pool, at: 0x20000, type: VirtioBlk.typeIn, sector: 1)
        pool.store8(0x30000, 0xEE)
        driver.add(0, [(0x20000, 16, false), (0x21000, 512, true), (0x30000, 1, true)])
        driver.notify(0)
        #expect(driver.takeUsed(0).count == 1)
        #expect(pool.load8(0x30000) == VirtioBlk.statusOK)
        #expect(pool.bytes(0x21000, 512) == Array(patternDisk(sectors: 16).bytes[512..<1024]))

        // The data buffer where a frontend's kernel would have it without the pool: its RAM,
        // below the pool; and one just past the pool's end.
        for outside in [Self.frontendRAM + 0x20_0000, FakeDriver.ramBase - 512, FakeDriver.ramBase + UInt64(Self.poolSize)] {
            let (model, pool, driver, _) = Self.model()
            driver.negotiate()
            driver.setUpQueue(0, at: 0x10000)
            driver.driverOK()
            blkHeader(pool, at: 0x20000, type: VirtioBlk.typeOut, sector: 2)
            pool.store8(0x30000, 0xEE)
            driver.writeDescriptor(0, 0, addr: FakeDriver.ramBase + 0x20000, len: 16, flags: Virtqueue.flagNext, next: 1)
            driver.writeDescriptor(0, 1, addr: outside, len: 512, flags: Virtqueue.flagNext, next: 2)
            driver.writeDescriptor(0, 2, addr: FakeDriver.ramBase + 0x30000, len: 1, flags: Virtqueue.flagWrite, next: 0)
            driver.publish(0, head: 0)
            let published = pool.bytes
            driver.notify(0)
            #expect(model.devices[0].fault == .bufferOutsideRAM, "buffer at \(outside)")
            #expect(driver.status & VirtioMMIO.Status.needsReset != 0)
            #expect(driver.takeUsed(0).isEmpty)
            #expect(pool.load8(0x30000) == 0xEE, "the status byte was not written")
            let changed = pool.bytes.indices.filter { pool.bytes[$0] != published[$0] }
            #expect(changed.isEmpty, "written in the pool at \(changed.prefix(8).map { String($0, radix: 16) })")
            #expect(model.devices[0].disk!.bytes == patternDisk(sectors: 16).bytes, "the disk was not written")
        }
    }

    @Test("rings outside the pool: QueueReady sets DEVICE_NEEDS_RESET")
    func rings() {
        typealias R = VirtioMMIO.Register
        let (model, _, driver, shared) = Self.model()
        driver.negotiate()
        driver.write(R.queueSel, 0)
        driver.write(R.queueNum, 16)
        let desc = Self.frontendRAM + 0x10_0000
        driver.write(R.queueDescLow, desc & 0xFFFF_FFFF); driver.write(R.queueDescHigh, desc >> 32)
        driver.write(R.queueDriverLow, (desc + 0x1000) & 0xFFFF_FFFF); driver.write(R.queueDriverHigh, (desc + 0x1000) >> 32)
        driver.write(R.queueDeviceLow, (desc + 0x2000) & 0xFFFF_FFFF); driver.write(R.queueDeviceHigh, (desc + 0x2000) >> 32)
        driver.write(R.queueReady, 1)
        #expect(model.devices[0].fault == .ringOutsideRAM)
        #expect(driver.status & VirtioMMIO.Status.needsReset != 0)
        // The other device, on the frontend's RAM, is not affected.
        shared.negotiate()
        shared.setUpQueue(0, at: 0x10000)
        shared.driverOK()
        #expect(model.devices[1].fault == nil && model.devices[1].serving)
    }
}
