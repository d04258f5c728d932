// `keel-dm --self-test`: the blk, net, console and hostile-chain cases of the unit tests, run on
// arrays inside this binary, so that a test can check under qemu-aarch64-static that the
// Embedded Swift program really works on aarch64 Linux.

typealias TestBackend = VirtioBackend<ByteRAM, ByteDisk>

private struct Checker {
    var failures = 0
    var checks = 0
    mutating func check(_ ok: Bool, _ what: String) {
        checks += 1
        if !ok {
            failures += 1
            emit(1, "keel-dm self-test: FAILED: \(what)\n")
        }
    }
}

/// A disk whose byte i is (i * 7 + i / 512) & 0xFF.
private func pattern(sectors: Int) -> ByteDisk {
    var bytes = [UInt8](repeating: 0, count: sectors * 512)
    for i in 0..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: i * 7 + i / 512) }
    return ByteDisk(bytes: bytes)
}

private func blkDriver(_ backend: TestBackend, sectors: Int) -> FakeDriver {
    let ram = ByteRAM(size: 1 << 20)
    let index = backend.addBlk(ram: ram, ramBase: FakeDriver.ramBase, disk: pattern(sectors: sectors), id: Array("self-test".utf8))
    let driver = FakeDriver(backend, device: index, ram: ram)
    driver.negotiate()
    driver.setUpQueue(0, at: 0x10000)
    driver.driverOK()
    return driver
}

private func blk(_ c: inout Checker) {
    let backend = TestBackend()
    let d = blkDriver(backend, sectors: 16)
    c.check(d.read(0) == 0x7472_6976 && d.read(4) == 2 && d.read(8) == 2, "blk: magic, version, device ID")
    c.check(d.status == 0xF, "blk: status after set-up is 0xF")
    c.check(d.read(0x100, size: 8) == 16, "blk: capacity 16 sectors")
    var data = [UInt8](repeating: 0, count: 1024)
    for i in 0..<data.count { data[i] = UInt8(truncatingIfNeeded: i ^ 0x5A) }
    d.ram.fill(0x21000, data)
    blkHeader(d.ram, at: 0x20000, type: VirtioBlk.typeOut, sector: 2)
    d.add(0, [(0x20000, 16, false), (0x21000, 1024, false), (0x30000, 1, true)])
    blkHeader(d.ram, at: 0x20100, type: VirtioBlk.typeIn, sector: 2)
    d.add(0, [(0x20100, 16, false), (0x22000, 1024, true), (0x30001, 1, true)])
    blkHeader(d.ram, at: 0x20200, type: VirtioBlk.typeFlush, sector: 0)
    d.add(0, [(0x20200, 16, false), (0x30002, 1, true)])
    blkHeader(d.ram, at: 0x20300, type: VirtioBlk.typeGetID, sector: 0)
    d.add(0, [(0x20300, 16, false), (0x23000, 20, true), (0x30003, 1, true)])
    d.notify(0)
    c.check(d.takeUsed(0).count == 4, "blk: four requests used")
    c.check(d.ram.bytes(0x30000, 4) == [0, 0, 0, 0], "blk: four statuses OK")
    c.check(d.ram.bytes(0x22000, 1024) == data, "blk: a written sector reads back")
    c.check(backend.devices[0].disk?.flushes == 1, "blk: flushed")
    c.check(d.ram.bytes(0x23000, 9) == Array("self-test".utf8), "blk: get-id")
    c.check(d.acknowledge() == 1, "blk: used-buffer interrupt")
}

private func net(_ c: inout Checker) {
    let backend = TestBackend()
    var d: [FakeDriver] = []
    for (i, network) in [UInt32(1), 1, 2].enumerated() {
        let ram = ByteRAM(size: 1 << 20)
        backend.addNet(ram: ram, ramBase: FakeDriver.ramBase, mac: 0x0200_0000_0000 | UInt64(i), network: network)
        let driver = FakeDriver(backend, device: i, ram: ram)
        driver.negotiate()
        driver.setUpQueue(0, at: 0x10000)
        driver.setUpQueue(1, at: 0x14000)
        driver.driverOK()
        driver.giveRx(at: 0x50000)
        d.append(driver)
    }
    let broadcast = ethernetFrame(to: 0xFFFF_FFFF_FFFF, from: 0x0200_0000_0000, payload: 64, fill: 7)
    d[0].send(broadcast)
    c.check(d[1].received() == [broadcast], "net: broadcast reaches the port on the same network")
    c.check(d[2].received().isEmpty, "net: broadcast stays off another network")
    d[1].giveRx(at: 0x51000)
    d[0].giveRx(at: 0x51000)
    let reply = ethernetFrame(to: 0x0200_0000_0000, from: 0x0200_0000_0001, payload: 200, fill: 9)
    d[1].send(reply)
    c.check(d[0].received() == [reply], "net: unicast to the learned port")
    d[0].send(broadcast)
    c.check(backend.devices[2].rxDropped == 0 && backend.devices[1].rxDropped == 0, "net: no drop while buffers wait")
}

private func console(_ c: inout Checker) {
    let backend = TestBackend()
    let ram = ByteRAM(size: 1 << 20)
    backend.addConsole(ram: ram, ramBase: FakeDriver.ramBase)
    let d = FakeDriver(backend, device: 0, ram: ram)
    d.negotiate()
    d.setUpQueue(0, at: 0x10000)
    d.setUpQueue(1, at: 0x14000)
    d.driverOK()
    ram.fill(0x20000, Array("console ok\n".utf8))
    d.add(1, [(0x20000, 11, false)])
    d.notify(1)
    c.check(backend.devices[0].output == Array("console ok\n".utf8), "console: output")
}

private func hostile(_ c: inout Checker) {
    let backend = TestBackend()
    let bad = blkDriver(backend, sectors: 4)
    let good = blkDriver(backend, sectors: 4)
    // A loop: descriptor 1 chains to itself.
    bad.writeDescriptor(0, 0, addr: FakeDriver.ramBase + 0x20000, len: 16, flags: Virtqueue.flagNext, next: 1)
    bad.writeDescriptor(0, 1, addr: FakeDriver.ramBase + 0x21000, len: 512, flags: Virtqueue.flagNext | Virtqueue.flagWrite, next: 1)
    bad.publish(0, head: 0)
    bad.notify(0)
    c.check(bad.status & VirtioMMIO.Status.needsReset != 0, "hostile: a looping chain sets DEVICE_NEEDS_RESET")
    // Outside the RAM, on the honest device's neighbour: the honest one still serves.
    blkHeader(good.ram, at: 0x20000, type: VirtioBlk.typeIn, sector: 1)
    good.add(0, [(0x20000, 16, false), (0x21000, 512, true), (0x30000, 1, true)])
    good.notify(0)
    c.check(good.takeUsed(0).count == 1 && good.ram.load8(0x30000) == 0, "hostile: the other device still serves")
    c.check(backend.devices[1].fault == nil, "hostile: the other device is not failed")
}

func selfTest() -> Bool {
    var c = Checker()
    blk(&c)
    net(&c)
    console(&c)
    hostile(&c)
    emit(1, "keel-dm self-test: \(c.checks - c.failures) of \(c.checks) checks passed\n")
    return c.failures == 0
}
