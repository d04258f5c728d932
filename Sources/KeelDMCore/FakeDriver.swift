// The Makefile compiles this into keel-dm as one module with KeelCore/DeviceModel (no import
// there); SwiftPM builds it as its own module.
#if canImport(KeelCore)
import KeelCore
#endif

/// A virtio-mmio driver that sets a device up and queues buffers the way Linux's virtio_mmio and
/// virtio_ring do, writing the rings into the frontend's fake RAM: the unit tests and
/// `keel-dm --self-test` (the same cases inside the real binary) drive the devices with it.
public final class FakeDriver {
    /// The frontend's RAM base the tests use (the IPA its driver writes into descriptors).
    public static let ramBase: UInt64 = 0x4000_0000
    public let model: VirtioBackend<ByteRAM, ByteDisk>
    public let device: Int
    public let ram: ByteRAM
    /// Where queue q's rings start in RAM (an offset), and their size.
    public var queueBase: [UInt64] = []
    public var queueSize: [UInt16] = []
    public var nextDesc: [UInt16] = []
    public var availIdx: [UInt16] = []
    public var usedSeen: [UInt16] = []

    public init(_ model: VirtioBackend<ByteRAM, ByteDisk>, device: Int, ram: ByteRAM) {
        self.model = model
        self.device = device
        self.ram = ram
    }

    public func read(_ offset: UInt32, size: Int = 4) -> UInt64 {
        model.access(device: device, offset: offset, size: size, write: false, value: 0)
    }
    public func write(_ offset: UInt32, _ value: UInt64, size: Int = 4) {
        _ = model.access(device: device, offset: offset, size: size, write: true, value: value)
    }
    public var status: UInt32 { UInt32(read(VirtioMMIO.Register.status)) }

    /// Reset, ACKNOWLEDGE, DRIVER, features (what is offered, masked by `accept`), FEATURES_OK;
    /// true when the device kept FEATURES_OK.
    @discardableResult
    public func negotiate(accept: UInt64 = ~0) -> Bool {
        typealias R = VirtioMMIO.Register
        write(R.status, 0)
        write(R.status, UInt64(VirtioMMIO.Status.acknowledge))
        write(R.status, UInt64(VirtioMMIO.Status.acknowledge | VirtioMMIO.Status.driver))
        write(R.deviceFeaturesSel, 1)
        var offered = read(R.deviceFeatures) << 32
        write(R.deviceFeaturesSel, 0)
        offered |= read(R.deviceFeatures)
        let wanted = offered & accept
        write(R.driverFeaturesSel, 1)
        write(R.driverFeatures, wanted >> 32)
        write(R.driverFeaturesSel, 0)
        write(R.driverFeatures, wanted & 0xFFFF_FFFF)
        write(R.status, UInt64(VirtioMMIO.Status.acknowledge | VirtioMMIO.Status.driver | VirtioMMIO.Status.featuresOK))
        return status & VirtioMMIO.Status.featuresOK != 0
    }

    /// Queue `q` of `size` entries at RAM offset `at`: descriptors, then avail, then used (4 KiB
    /// apart), as Linux lays them out.
    public func setUpQueue(_ q: Int, size: UInt16 = 16, at offset: UInt64) {
        typealias R = VirtioMMIO.Register
        while queueBase.count <= q { queueBase.append(0); queueSize.append(0); nextDesc.append(0); availIdx.append(0); usedSeen.append(0) }
        queueBase[q] = offset
        queueSize[q] = size
        write(R.queueSel, UInt64(q))
        precondition(read(R.queueReady) == 0)
        precondition(read(R.queueNumMax) >= UInt64(size))
        write(R.queueNum, UInt64(size))
        let desc = FakeDriver.ramBase + offset, avail = desc + 0x1000, used = desc + 0x2000
        write(R.queueDescLow, desc & 0xFFFF_FFFF); write(R.queueDescHigh, desc >> 32)
        write(R.queueDriverLow, avail & 0xFFFF_FFFF); write(R.queueDriverHigh, avail >> 32)
        write(R.queueDeviceLow, used & 0xFFFF_FFFF); write(R.queueDeviceHigh, used >> 32)
        write(R.queueReady, 1)
    }

    public func driverOK() {
        write(VirtioMMIO.Register.status, UInt64(VirtioMMIO.Status.acknowledge | VirtioMMIO.Status.driver
            | VirtioMMIO.Status.featuresOK | VirtioMMIO.Status.driverOK))
    }

    /// Writes descriptor `index` raw (hostile tests use it directly).
    public func writeDescriptor(_ q: Int, _ index: UInt16, addr: UInt64, len: UInt32, flags: UInt16, next: UInt16) {
        let at = queueBase[q] + 16 * UInt64(index)
        ram.store64(at, addr)
        ram.store32(at + 8, len)
        ram.store16(at + 12, flags)
        ram.store16(at + 14, next)
    }

    /// Publishes `head` in the avail ring and bumps avail.idx.
    public func publish(_ q: Int, head: UInt16) {
        let avail = queueBase[q] + 0x1000
        ram.store16(avail + 4 + 2 * UInt64(availIdx[q] % queueSize[q]), head)
        availIdx[q] &+= 1
        ram.store16(avail + 2, availIdx[q])
    }

    /// Queues a chain of buffers (RAM offsets, lengths, device-writable or not) and returns its head.
    @discardableResult
    public func add(_ q: Int, _ buffers: [(offset: UInt64, length: UInt32, writable: Bool)]) -> UInt16 {
        let head = nextDesc[q]
        for (i, b) in buffers.enumerated() {
            let index = (head + UInt16(i)) % queueSize[q]
            let last = i == buffers.count - 1
            writeDescriptor(q, index, addr: FakeDriver.ramBase + b.offset, len: b.length,
                            flags: (last ? 0 : Virtqueue.flagNext) | (b.writable ? Virtqueue.flagWrite : 0),
                            next: (index + 1) % queueSize[q])
        }
        nextDesc[q] = (head + UInt16(buffers.count)) % queueSize[q]
        publish(q, head: head)
        return head
    }

    /// QueueNotify, then what keel-dm does once it completed the store: serve the queue.
    public func notify(_ q: Int) {
        write(VirtioMMIO.Register.queueNotify, UInt64(q))
        model.servePending()
    }

    /// The used elements the device added since the last call.
    public func takeUsed(_ q: Int) -> [(id: UInt32, length: UInt32)] {
        let used = queueBase[q] + 0x2000
        let idx = ram.load16(used + 2)
        var out: [(id: UInt32, length: UInt32)] = []
        while usedSeen[q] != idx {
            let element = used + 4 + 8 * UInt64(usedSeen[q] % queueSize[q])
            out.append((ram.load32(element), ram.load32(element + 4)))
            usedSeen[q] &+= 1
        }
        return out
    }

    /// Reads and acknowledges the interrupt status, as vm_interrupt does.
    public func acknowledge() -> UInt32 {
        let pending = UInt32(read(VirtioMMIO.Register.interruptStatus))
        write(VirtioMMIO.Register.interruptACK, UInt64(pending))
        return pending
    }
}

extension ByteRAM {
    public func fill(_ offset: UInt64, _ bytes: [UInt8]) {
        for (i, b) in bytes.enumerated() { store8(offset + UInt64(i), b) }
    }
    public func bytes(_ offset: UInt64, _ count: Int) -> [UInt8] {
        (0..<count).map { load8(offset + UInt64($0)) }
    }
}

/// A blk request header {type, reserved, sector} at RAM offset `at`.
public func blkHeader(_ ram: ByteRAM, at: UInt64, type: UInt32, sector: UInt64) {
    ram.store32(at, type)
    ram.store32(at + 4, 0)
    ram.store64(at + 8, sector)
}

/// A frame to `destination` from `source` with a payload of `payload` bytes of `fill`.
public func ethernetFrame(to destination: UInt64, from source: UInt64, payload: Int, fill: UInt8) -> [UInt8] {
    var bytes: [UInt8] = []
    for mac in [destination, source] { for i in 0..<6 { bytes.append(UInt8(truncatingIfNeeded: mac >> (8 * UInt64(5 - i)))) } }
    bytes += [0x08, 0x00]
    bytes += [UInt8](repeating: fill, count: payload)
    return bytes
}

extension FakeDriver {
    /// Sends a frame behind a zero virtio_net_hdr, header and frame in one buffer as Linux does.
    public func send(_ frame: [UInt8], at offset: UInt64 = 0x40000) {
        ram.fill(offset, [UInt8](repeating: 0, count: VirtioNet.headerSize) + frame)
        add(1, [(offset, UInt32(VirtioNet.headerSize + frame.count), false)])
        notify(1)
    }
    /// Gives the device an rx buffer of 1526 bytes (Linux's small buffers: header + 1514).
    public func giveRx(at offset: UInt64) {
        add(0, [(offset, UInt32(VirtioNet.headerSize + 1514), true)])
        notify(0)
    }
    /// The frames received since the last call (without their header).
    public func received() -> [[UInt8]] {
        takeUsed(0).map { used in
            let id = UInt64(used.id)
            let addr = ram.load64(queueBase[0] + 16 * id) - FakeDriver.ramBase
            return ram.bytes(addr + UInt64(VirtioNet.headerSize), Int(used.length) - VirtioNet.headerSize)
        }
    }
}

