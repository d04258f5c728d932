import KeelHW

/// When the device model fails (docs/device-model.md): a request that timed out, or any while
/// its server is off or restarting, gives the transport up. Its frontend then sees
/// DEVICE_NEEDS_RESET in Status, used buffers in InterruptStatus and all ones elsewhere, its
/// server's request page marks the device (status bit 0), the blk requests the device model took
/// but never used (and those notified later) complete with IOERR, and the transport's interrupt
/// tells the driver to look; until the frontend writes Status 0 with its server running again.
enum DeviceModelFailure {
    /// Gives up transport `index` of frontend `vm` (once: a second failure changes nothing).
    /// `caller` is the vCPU doing it: the frontend's own, or a stopping server's.
    @_optimize(size)
    static func fail(_ vm: VMHandle, transport index: Int, from caller: VCPUHandle) {
        let bit = UInt32(1) << UInt32(index & 31)
        var old = vm.brokenWord.loadAcquire()
        while old & bit == 0 {
            if vm.brokenWord.compareExchange(old, old | bit) { break }
            old = vm.brokenWord.loadAcquire()
        }
        guard old & bit == 0 else { return }
        let transport = vm.state.dm.transports[index]
        RequestPageHandle(vm: transport.server).word(RequestPageLayout.status(transport.device)).storeRelease(1)
        if transport.type == 2 { failBlockRequests(vm, transport: index) }
        VGIC.raiseEdge(vm, intid: Int(DeviceModel.firstTransportINTID) + index, from: caller)
        report(vm, transport: index)
    }

    /// The frontend notified transport `index` after Keel gave it up: a blk queue's requests
    /// made available since then complete with IOERR too, and the transport's interrupt says so.
    @_optimize(size)
    static func notifiedWhileFailed(_ vm: VMHandle, transport index: Int, from caller: VCPUHandle) {
        guard vm.state.dm.transports[index].type == 2 else { return }
        guard failBlockRequests(vm, transport: index) > 0 else { return }
        VGIC.raiseEdge(vm, intid: Int(DeviceModel.firstTransportINTID) + index, from: caller)
    }

    static let maxReports: UInt32 = 8

    /// `[keel] vm0: virtio blk at IPA 0xb000000: vm1 did not answer; the device needs a reset`,
    /// the first `maxReports` times per frontend (counted under its lock: any CPU may fail it).
    @_optimize(size)
    private static func report(_ vm: VMHandle, transport index: Int) {
        let transport = vm.state.dm.transports[index]
        let first = vm.dmLock.locked { () -> Bool in
            guard vm.state.dm.failureReports < maxReports else { return false }
            vm.state.dm.failureReports += 1
            return true
        }
        guard first else { return }
        Console.begin()
        Console.print("vm")
        Console.dec(UInt64(vm.state.id))
        Console.print(": virtio ")
        Console.print(DeviceModelSetup.typeName(transport.type))
        Console.print(" at IPA ")
        Console.hex(DeviceModel.transportIPA + UInt64(index) * DeviceModel.transportSize)
        Console.print(": vm")
        Console.dec(UInt64(transport.server))
        Console.print(" did not answer; the device needs a reset")
        Console.newline()
    }

    /// The frontend reset transport `index` (Status 0) with its server running: forwarded
    /// again from now on.
    @_optimize(size)
    static func repair(_ vm: VMHandle, transport index: Int) {
        let bit = UInt32(1) << UInt32(index & 31)
        var old = vm.brokenWord.loadAcquire()
        while old & bit != 0 {
            if vm.brokenWord.compareExchange(old, old & ~bit) { break }
            old = vm.brokenWord.loadAcquire()
        }
        let transport = vm.state.dm.transports[index]
        RequestPageHandle(vm: transport.server).word(RequestPageLayout.status(transport.device)).storeRelease(0)
    }

    /// Device model `server` is stopping (off, reset, stopped by Keel): every device it serves
    /// fails now, and each vCPU parked on it is kicked to give up its request at once.
    @_optimize(size)
    static func serverStopping(_ server: VMHandle, from caller: VCPUHandle) {
        let count = server.state.dm.deviceCount
        guard count > 0 else { return }
        let page = RequestPageHandle(vm: server.state.id)
        for slot in 0..<RequestPageLayout.slots where page.word(RequestPageLayout.slot(slot)).loadAcquire() & 1 != 0 {
            if slot < VCPUs.count && slot != caller.state.physicalCPU { GIC.kick(cpu: slot) }
        }
        keel_sev()  // and those waiting in WFE for a polling device model's answer
        for d in 0..<min(count, DeviceModel.maxDevices) {
            let device = server.state.dm.devices[d]
            let frontend = VMHandle(id: device.frontend)
            guard frontend.state.vcpuCount > 0, !frontend.state.poweredOff else { continue }
            fail(frontend, transport: device.transport, from: caller)
        }
    }

    /// Device model `server` restarted: it polls no more and has no answer page (its new driver
    /// and keel-dm say again; its RAM is reloaded).
    @_optimize(size)
    static func serverReset(_ server: VMHandle) {
        guard server.state.dm.deviceCount > 0 else { return }
        RequestPageHandle(vm: server.state.id).word(RequestPageLayout.flags).storeRelease(0)
        server.answersWord.storeRelease(0)
    }

    /// The requests on queue 0 of blk transport `index` that its device never used (from the
    /// used ring's index to the available ring's) complete with VIRTIO_BLK_S_IOERR in their
    /// last byte, which the driver made device-writable for the status, and go on the used
    /// ring; returns how many. Every read of the frontend's rings is bounds-checked against its RAM
    /// (`GuestMemory`); the ring and descriptor addresses are the guest's, any 64-bit value, so
    /// every sum on them wraps (a Swift overflow check here would stop Keel) and the wrapped
    /// address is then refused, or lands in the frontend's own RAM; a chain that leaves the RAM, loops or does not end in a writable
    /// descriptor is put on the used ring with nothing written (the driver sees a request
    /// without a status, as from a device that broke).
    @_optimize(size)
    @discardableResult
    private static func failBlockRequests(_ vm: VMHandle, transport index: Int) -> Int {
        vm.dmLock.lock()
        defer { vm.dmLock.unlock() }
        let q = vm.state.dm.transports[index].queue
        let size = UInt64(q.size)
        guard q.ready == 1, size > 0, size <= UInt64(VirtqueueLayout.maxQueueSize), size & (size - 1) == 0 else { return 0 }
        let ram = GuestMemory(vm.state.layout)
        guard let availIndex = ram.load16(q.driver &+ VirtqueueLayout.availIndex),
              var usedIndex = ram.load16(q.device &+ VirtqueueLayout.usedIndex) else { return 0 }
        var left = min(UInt64(availIndex &- usedIndex), size)
        var failed = 0
        while left > 0 {
            left -= 1
            let slot = UInt64(usedIndex) & (size - 1)
            guard let head = ram.load16(q.driver &+ VirtqueueLayout.availRing &+ 2 * slot), UInt64(head) < size else { break }
            writeIOError(ram, queue: q, head: UInt64(head))
            let element = q.device &+ VirtqueueLayout.usedRing &+ VirtqueueLayout.usedElementSize * slot
            guard ram.store32(element, UInt32(head)), ram.store32(element &+ 4, 1) else { break }
            usedIndex &+= 1
            failed += 1
        }
        guard failed > 0 else { return 0 }
        keel_dsb_ish()  // the elements before the index that publishes them
        ram.store16(q.device &+ VirtqueueLayout.usedIndex, usedIndex)
        keel_dsb_ish()
        return failed
    }

    /// IOERR in the last byte of the chain at descriptor `head`, following one level of
    /// indirection; at most `size` descriptors in the ring (and 4096 in an indirect table)
    /// are looked at, so a looping chain ends.
    @_optimize(size)
    private static func writeIOError(_ ram: GuestMemory, queue q: QueueSetup, head: UInt64) {
        var table = q.descriptors
        var tableSize = UInt64(q.size)
        var index = head
        var steps: UInt64 = 0
        var last: (address: UInt64, length: UInt32, flags: UInt16)? = nil
        while steps < tableSize + 1 {
            steps += 1
            let at = table &+ index &* VirtqueueLayout.descriptorSize
            guard let address = ram.load64(at), let length = ram.load32(at &+ VirtqueueLayout.descriptorLength),
                  let flags = ram.load16(at &+ VirtqueueLayout.descriptorFlags),
                  let next = ram.load16(at &+ VirtqueueLayout.descriptorNext) else { return }
            if flags & VirtqueueLayout.flagIndirect != 0 && table == q.descriptors {
                // An indirect table: its own descriptors, from 0.
                let count = UInt64(length) / VirtqueueLayout.descriptorSize
                guard count > 0, count <= 4096 else { return }
                table = address
                tableSize = count
                index = 0
                steps = 0
                continue
            }
            last = (address, length, flags)
            guard flags & VirtqueueLayout.flagNext != 0 else { break }
            index = UInt64(next)
            guard index < tableSize else { return }
        }
        guard let last, last.flags & VirtqueueLayout.flagNext == 0, last.flags & VirtqueueLayout.flagWrite != 0, last.length > 0 else { return }
        ram.store8(last.address &+ UInt64(last.length) &- 1, VirtqueueLayout.blkStatusIOError)
    }
}

/// The queue-setup registers a frontend writes, noted on their way to the device model, so
/// that Keel can fail a dead device model's blk requests (`DeviceModelFailure`). Queue 0 only:
/// virtio-blk's single request queue.
enum QueueTracking {
    static func noteWrite(_ vm: VMHandle, transport index: Int, offset: UInt32, bytes: Int, value: UInt64) {
        guard bytes == 4 else { return }
        let v = UInt32(truncatingIfNeeded: value)
        typealias R = VirtqueueLayout.Register
        switch offset {
        case R.queueSel, R.queueNum, R.queueReady, R.status, R.queueDescLow, R.queueDescHigh,
             R.queueDriverLow, R.queueDriverHigh, R.queueDeviceLow, R.queueDeviceHigh:
            break
        default:
            return
        }
        vm.dmLock.lock()
        defer { vm.dmLock.unlock() }
        var q = vm.state.dm.transports[index].queue
        if offset == R.queueSel {
            q.selected = v
        } else if offset == R.status {
            if v == 0 { q = QueueSetup() }  // a reset forgets the queues
        } else if q.selected == 0 {
            func low(_ old: UInt64) -> UInt64 { old & ~0xFFFF_FFFF | UInt64(v) }
            func high(_ old: UInt64) -> UInt64 { old & 0xFFFF_FFFF | UInt64(v) << 32 }
            switch offset {
            case R.queueNum: q.size = v
            case R.queueReady: q.ready = v
            case R.queueDescLow: q.descriptors = low(q.descriptors)
            case R.queueDescHigh: q.descriptors = high(q.descriptors)
            case R.queueDriverLow: q.driver = low(q.driver)
            case R.queueDriverHigh: q.driver = high(q.driver)
            case R.queueDeviceLow: q.device = low(q.device)
            case R.queueDeviceHigh: q.device = high(q.device)
            default: break
            }
        }
        vm.state.dm.transports[index].queue = q
    }
}
