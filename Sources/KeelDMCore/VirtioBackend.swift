// The Makefile compiles this into keel-dm as one module with KeelCore/DeviceModel (no import
// there); SwiftPM builds it as its own module.
#if canImport(KeelCore)
import KeelCore
#endif

/// keel-dm's devices (in request-page order) and the learning switches of their networks. The
/// Linux glue turns each request-page slot into `access`, then raises the interrupt of every
/// device whose `interruptPending` is set and prints what consoles wrote.
public final class VirtioBackend<RAM: DeviceRAM, Disk: BlockStore> where Disk.RAM == RAM {
    public typealias Device = VirtioDevice<RAM, Disk>
    public private(set) var devices: [Device] = []

    /// The learning switch: which device (port) a source MAC was last seen on, per network.
    struct Learned {
        var network: UInt32
        var mac: UInt64
        var device: Int
    }
    private var learned: [Learned] = []
    private var learnedNext = 0
    static var learnedLimit: Int { 1024 }

    /// Queues notified and not yet served, in order (device, queue): `servePending` runs them
    /// after the notifying store was completed, so the frontend's vCPU is not parked while keel-dm
    /// moves the data (and Keel's timeout measures the register access, not the I/O).
    public private(set) var notified: [(device: Int, queue: Int)] = []

    /// Scratch space, allocated once: a chain's segments, request headers and console output, a
    /// frame in transit (disk data goes straight between the disk and the RAM).
    private var segments: [ChainSegment] = []
    private var chunk = [UInt8](repeating: 0, count: 1 << 16)
    private var frame = [UInt8](repeating: 0, count: VirtioNet.maxFrame)

    public init() {}

    /// Most chains served per notification: a driver refilling the ring as fast as keel-dm
    /// empties it cannot keep keel-dm (and the parked vCPU) in one request forever.
    static var chainBudget: Int { 1024 }

    // MARK: devices

    @discardableResult
    public func addBlk(ram: RAM, ramBase: UInt64, disk: Disk, id: [UInt8], accessPlatform: Bool = false) -> Int {
        var config = [UInt8](repeating: 0, count: 60)
        func put(_ value: UInt64, bytes: Int, at offset: Int) {
            for i in 0..<bytes { config[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
        typealias C = VirtioBlk.ConfigOffset
        put(disk.byteCount / VirtioBlk.sectorSize, bytes: 8, at: C.capacity)
        // seg_max: every descriptor of the queue but the header and the status.
        put(UInt64(Device.queueNumMax) - 2, bytes: 4, at: C.segMax)
        // Topology: one sector minimum, 1 MiB optimal (what makes Linux read ahead 2 MiB).
        put(1, bytes: 2, at: C.minIOSize)
        put(UInt64(VirtioBlk.optimalIOSectors), bytes: 4, at: C.optIOSize)
        let device = Device(type: .blk, ram: ram, ramBase: ramBase,
                            features: VirtioBlk.featureFlush | VirtioBlk.featureSegMax | VirtioBlk.featureTopology,
                            config: config, accessPlatform: accessPlatform)
        device.disk = disk
        device.diskID = Array(id.prefix(VirtioBlk.idBytes))
        devices.append(device)
        return devices.count - 1
    }

    @discardableResult
    public func addNet(ram: RAM, ramBase: UInt64, mac: UInt64, network: UInt32, accessPlatform: Bool = false) -> Int {
        // mac[6] (bytes in wire order: the first octet is the most significant of `mac`), status,
        // max_virtqueue_pairs, mtu: only the MAC is offered.
        var config = [UInt8](repeating: 0, count: 12)
        for i in 0..<6 { config[i] = UInt8(truncatingIfNeeded: mac >> (8 * UInt64(5 - i))) }
        let device = Device(type: .net, ram: ram, ramBase: ramBase, features: VirtioNet.featureMAC, config: config, accessPlatform: accessPlatform)
        device.mac = mac
        device.network = network
        devices.append(device)
        return devices.count - 1
    }

    @discardableResult
    public func addConsole(ram: RAM, ramBase: UInt64, accessPlatform: Bool = false) -> Int {
        let device = Device(type: .console, ram: ram, ramBase: ramBase, features: 0,
                            config: [UInt8](repeating: 0, count: 12), accessPlatform: accessPlatform)
        devices.append(device)
        return devices.count - 1
    }

    // MARK: the transport

    /// One forwarded access to transport register `offset` of `device`: a load returns its
    /// value, a store returns 0. Registers below the config space are 32-bit only (4.2.2.2);
    /// other sizes read all ones and are dropped, as is anything for a device that does not
    /// exist. A QueueNotify is only recorded: `servePending` serves it.
    public func access(device index: Int, offset: UInt32, size: Int, write: Bool, value: UInt64) -> UInt64 {
        guard index >= 0, index < devices.count, offset < VirtioMMIO.size,
              size == 1 || size == 2 || size == 4 || size == 8 else { return write ? 0 : ~0 }
        let device = devices[index]
        if offset >= VirtioMMIO.configOffset {
            // Config space: any width; read-only here (no device has writable config fields).
            return write ? 0 : device.readConfig(Int(offset - VirtioMMIO.configOffset), size: size)
        }
        guard size == 4, offset & 3 == 0 else { return write ? 0 : UInt64(UInt32.max) }
        if !write { return UInt64(device.readRegister(offset)) }
        if let queue = device.writeRegister(offset, UInt32(truncatingIfNeeded: value)),
           !notified.contains(where: { $0.device == index && $0.queue == queue }) {
            notified.append((index, queue))
        }
        return 0
    }

    /// Serves the queues notified since the last call.
    public func servePending() {
        while !notified.isEmpty {
            let (device, queue) = notified.removeFirst()
            serve(device, queue: queue)
        }
    }

    /// Serves what the driver made available on `queue` of device `index`.
    public func serve(_ index: Int, queue: Int) {
        let device = devices[index]
        guard device.serving, queue < device.queues.count, device.queues[queue].ready else { return }
        switch (device.type, queue) {
        case (.blk, 0): serveBlk(index)
        case (.net, VirtioNet.txQueue): serveNetTx(index)
        case (.console, VirtioConsole.transmitQueue): serveConsoleTx(index)
        default: break  // net rx and console receive: buffers wait for frames or input
        }
    }

    /// The next available chain of `queue`, walked and its segments in `segments`; nil when the
    /// ring is empty or the device was failed (a hostile ring or chain).
    private func nextChain(_ device: Device, _ queue: Int) -> (head: UInt16, summary: ChainSummary)? {
        let q = device.queues[queue]
        switch q.ring.pending(device.ram, consumed: q.lastAvail) {
        case .failure(let box): device.fail(box.fault); return nil
        case .success(let count): if count == 0 { return nil }
        }
        let head = q.ring.availRing(device.ram, q.lastAvail)
        segments.removeAll(keepingCapacity: true)
        switch q.ring.walk(device.ram, head: head, { segment in segments.append(segment); return true }) {
        case .failure(let box): device.fail(box.fault); return nil
        case .success(let summary): return (head, summary)
        }
    }

    /// Returns the chain to the driver with `length` bytes written.
    private func complete(_ device: Device, _ queue: Int, head: UInt16, length: UInt32) {
        let q = device.queues[queue]
        q.ring.pushUsed(device.ram, usedIdx: q.usedIdx, id: head, length: length)
        device.queues[queue].usedIdx = q.usedIdx &+ 1
        device.queues[queue].lastAvail = q.lastAvail &+ 1
    }

    /// Calls `body(ramOffset, done, n)` for each piece of `count` bytes of the chain's readable (or
    /// writable) part, from byte `skip` of that part, in order (`done`: the bytes before the
    /// piece); stops early when `body` returns false. The walk checked every segment against the
    /// RAM; the caller checks `skip + count` against the part's length.
    private func forEachPiece(writable: Bool, skip: Int, count: Int, _ body: (UInt64, Int, Int) -> Bool) {
        var position = 0
        var done = 0
        for segment in segments where segment.writable == writable {
            if done == count { break }
            let length = Int(segment.length)
            defer { position += length }
            let from = skip + done
            guard from < position + length else { continue }
            let inSegment = from - position
            let n = min(length - inSegment, count - done)
            guard body(segment.offset + UInt64(inSegment), done, n) else { return }
            done += n
        }
    }

    /// Copies `count` bytes of the chain's readable (or writable) part, from byte `skip` of that
    /// part, out of RAM into `buffer[start...]` (or into RAM from it).
    private func transfer(_ device: Device, writable: Bool, skip: Int, count: Int, buffer: inout [UInt8], at start: Int, toRAM: Bool) {
        forEachPiece(writable: writable, skip: skip, count: count) { offset, done, n in
            if toRAM {
                device.ram.copyIn(offset, from: buffer, at: start + done, count: n)
            } else {
                device.ram.copyOut(offset, into: &buffer, at: start + done, count: n)
            }
            return true
        }
    }

    /// Moves `count` bytes between the disk at `diskOffset` and the chain's writable part (a read,
    /// `toRAM`) or its readable part from byte `skip` (a write), piece by piece straight into or
    /// out of the RAM. Returns the bytes moved before the first I/O error (`count`: none).
    private func diskTransfer(_ device: Device, skip: Int, count: Int, diskOffset: UInt64, toRAM: Bool) -> Int {
        var moved = 0
        forEachPiece(writable: toRAM, skip: skip, count: count) { offset, done, n in
            let at = diskOffset + UInt64(done)
            let ok = toRAM ? device.disk?.read(at: at, into: device.ram, at: offset, count: n) == true
                           : device.disk?.write(at: at, from: device.ram, at: offset, count: n) == true
            if ok { moved = done + n }
            return ok
        }
        return moved
    }

    // MARK: virtio-blk

    private func serveBlk(_ index: Int) {
        let device = devices[index]
        var served = false
        for _ in 0..<Self.chainBudget {
            guard device.serving, let (head, summary) = nextChain(device, 0) else { break }
            let written = blkRequest(device, summary)
            complete(device, 0, head: head, length: written)
            served = true
        }
        if served { device.usedBuffers(0) }
    }

    /// One request: the 16-byte header {type, reserved, sector} in the readable part, data, and
    /// the status byte as the last writable byte. Returns the bytes written into the chain.
    private func blkRequest(_ device: Device, _ summary: ChainSummary) -> UInt32 {
        let readable = Int(summary.readableBytes), writable = Int(summary.writableBytes)
        guard writable >= 1 else { return 0 }  // nowhere to put the status: nothing to answer
        let statusAt = writable - 1
        func finish(_ status: UInt8, written: Int) -> UInt32 {
            chunk[0] = status
            transfer(device, writable: true, skip: statusAt, count: 1, buffer: &chunk, at: 0, toRAM: true)
            return UInt32(written + 1)
        }
        guard readable >= 16, device.disk != nil else { return finish(VirtioBlk.statusIOErr, written: 0) }
        transfer(device, writable: false, skip: 0, count: 16, buffer: &chunk, at: 0, toRAM: false)
        var type: UInt32 = 0, sector: UInt64 = 0
        for i in 0..<4 { type |= UInt32(chunk[i]) << (8 * UInt32(i)) }
        for i in 0..<8 { sector |= UInt64(chunk[8 + i]) << (8 * UInt64(i)) }
        let capacity = device.disk?.byteCount ?? 0
        /// The byte range a transfer of `length` bytes touches, if it lies on the disk.
        func diskRange(_ length: Int) -> UInt64? {
            guard sector <= capacity / VirtioBlk.sectorSize else { return nil }
            let offset = sector * VirtioBlk.sectorSize
            return UInt64(length) <= capacity - offset ? offset : nil
        }
        switch type {
        case VirtioBlk.typeIn:
            let length = statusAt
            guard let offset = diskRange(length) else { return finish(VirtioBlk.statusIOErr, written: 0) }
            let done = diskTransfer(device, skip: 0, count: length, diskOffset: offset, toRAM: true)
            return finish(done == length ? VirtioBlk.statusOK : VirtioBlk.statusIOErr, written: done)
        case VirtioBlk.typeOut:
            let length = readable - 16
            guard let offset = diskRange(length) else { return finish(VirtioBlk.statusIOErr, written: 0) }
            let done = diskTransfer(device, skip: 16, count: length, diskOffset: offset, toRAM: false)
            return finish(done == length ? VirtioBlk.statusOK : VirtioBlk.statusIOErr, written: 0)
        case VirtioBlk.typeFlush:
            return finish(device.disk?.flush() == true ? VirtioBlk.statusOK : VirtioBlk.statusIOErr, written: 0)
        case VirtioBlk.typeGetID:
            let length = min(statusAt, VirtioBlk.idBytes)
            for i in 0..<length { chunk[i] = i < device.diskID.count ? device.diskID[i] : 0 }
            transfer(device, writable: true, skip: 0, count: length, buffer: &chunk, at: 0, toRAM: true)
            return finish(VirtioBlk.statusOK, written: length)
        default:
            return finish(VirtioBlk.statusUnsupported, written: 0)
        }
    }

    // MARK: virtio-console

    private func serveConsoleTx(_ index: Int) {
        let device = devices[index]
        let queue = VirtioConsole.transmitQueue
        var served = false
        for _ in 0..<Self.chainBudget {
            guard device.serving, let (head, summary) = nextChain(device, queue) else { break }
            // Only what fits is copied: a frontend writing gigabytes costs keel-dm nothing more.
            let length = Int(summary.readableBytes)
            let kept = min(length, max(0, VirtioConsole.outputLimit - device.output.count))
            var done = 0
            while done < kept {
                let n = min(chunk.count, kept - done)
                transfer(device, writable: false, skip: done, count: n, buffer: &chunk, at: 0, toRAM: false)
                device.output.append(contentsOf: chunk[0..<n])
                done += n
            }
            device.outputDropped += length - kept
            complete(device, queue, head: head, length: 0)
            served = true
        }
        if served { device.usedBuffers(queue) }
    }

    // MARK: virtio-net and the switch

    private func serveNetTx(_ index: Int) {
        let device = devices[index]
        let queue = VirtioNet.txQueue
        var served = false
        for _ in 0..<Self.chainBudget {
            guard device.serving, let (head, summary) = nextChain(device, queue) else { break }
            let readable = Int(summary.readableBytes)
            let length = readable - VirtioNet.headerSize
            if length >= 14, length <= frame.count {
                transfer(device, writable: false, skip: VirtioNet.headerSize, count: length, buffer: &frame, at: 0, toRAM: false)
                complete(device, queue, head: head, length: 0)
                device.txFrames += 1
                forward(from: index, length: length)
            } else {
                complete(device, queue, head: head, length: 0)  // not a frame: consumed, dropped
            }
            served = true
        }
        if served { device.usedBuffers(queue) }
    }

    private func macAt(_ offset: Int) -> UInt64 {
        var mac: UInt64 = 0
        for i in 0..<6 { mac = mac << 8 | UInt64(frame[offset + i]) }
        return mac
    }

    /// The learning switch: learn the source, then the port that learned the destination gets
    /// the frame; broadcast, multicast and unknown destinations go to every other port of the
    /// sender's network.
    private func forward(from sender: Int, length: Int) {
        let network = devices[sender].network
        let destination = macAt(0), source = macAt(6)
        if source >> 40 & 1 == 0 { learn(network: network, mac: source, device: sender) }
        if destination >> 40 & 1 == 0,
           let entry = learned.first(where: { $0.network == network && $0.mac == destination }) {
            if entry.device != sender { deliver(to: entry.device, length: length) }
            return
        }
        for (port, device) in devices.enumerated()
        where port != sender && device.type == .net && device.network == network {
            deliver(to: port, length: length)
        }
    }

    private func learn(network: UInt32, mac: UInt64, device: Int) {
        if let i = learned.firstIndex(where: { $0.network == network && $0.mac == mac }) {
            learned[i].device = device
        } else if learned.count < Self.learnedLimit {
            learned.append(Learned(network: network, mac: mac, device: device))
        } else {
            learned[learnedNext] = Learned(network: network, mac: mac, device: device)
            learnedNext = (learnedNext + 1) % Self.learnedLimit
        }
    }

    /// Puts the frame in `frame[0..<length]` into the next rx buffer of `port`, behind a
    /// virtio_net_hdr (no offloads, num_buffers 1). No buffer, or one too small: dropped and
    /// counted (the buffer stays for the next frame).
    private func deliver(to port: Int, length: Int) {
        let device = devices[port]
        let queue = VirtioNet.rxQueue
        guard device.serving, device.queues[queue].ready, let (head, summary) = nextChain(device, queue) else {
            device.rxDropped += 1
            return
        }
        guard Int(summary.writableBytes) >= VirtioNet.headerSize + length else {
            device.rxDropped += 1
            return
        }
        for i in 0..<VirtioNet.headerSize { chunk[i] = 0 }
        chunk[10] = 1  // num_buffers
        transfer(device, writable: true, skip: 0, count: VirtioNet.headerSize, buffer: &chunk, at: 0, toRAM: true)
        transfer(device, writable: true, skip: VirtioNet.headerSize, count: length, buffer: &frame, at: 0, toRAM: true)
        complete(device, queue, head: head, length: UInt32(VirtioNet.headerSize + length))
        device.rxFrames += 1
        device.usedBuffers(queue)
    }
}
