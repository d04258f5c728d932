import KeelHW

/// The device model at boot, from the VM table's virtio records (docs/device-model.md): each
/// device-model VM's request page written, then, VM by VM as each is built, its transports (as a
/// frontend) and its devices (as a device model), with the page and its frontends' RAM mapped
/// into its stage 2.
enum DeviceModelSetup {
    /// Every request page, before any VM starts (a frontend may post to a device model built
    /// after it). False, after saying why, when a frontend's RAM window does not fit the device
    /// model's IPA space: no VM must start then.
    @_optimize(size)
    static func prepare(_ manifest: SystemManifest) -> Bool {
        let ipaLimit = Stage2Geometry(paRange: read_id_aa64mmfr0_el1() & 0xF).ipaLimit
        for server in 0..<manifest.count {
            var devices = 0
            for i in 0..<manifest.virtioCount where Int(manifest.virtio(i).servedBy) == server {
                let frontend = Int(manifest.virtio(i).frontend)
                let ram = manifest.record(frontend)
                let window = DeviceModel.windowIPA(frontend: frontend)
                guard ram.ramSize <= DeviceModel.windowSpan, window < ipaLimit, ram.ramSize <= ipaLimit - window else {
                    Console.begin()
                    Console.print("ERROR: vm")
                    Console.dec(UInt64(server))
                    Console.print(" serves a device of vm")
                    Console.dec(UInt64(frontend))
                    Console.print(", whose RAM window (IPA ")
                    Console.hex(window)
                    Console.print(") does not fit its IPA space (")
                    Console.hex(ipaLimit)
                    Console.print("); no VM is started")
                    Console.newline()
                    return false
                }
                devices += 1
            }
            guard devices > 0 else { continue }
            writePage(manifest, server: server)
        }
        return true
    }

    /// VM `id`'s request page: the header and its device table, every slot idle.
    @_optimize(size)
    private static func writePage(_ manifest: SystemManifest, server: Int) {
        let page = RequestPageHandle(vm: server)
        page.clear()
        var count = 0
        for i in 0..<manifest.virtioCount where Int(manifest.virtio(i).servedBy) == server {
            let v = manifest.virtio(i)
            let frontend = Int(v.frontend)
            let at = RequestPageLayout.devices + count * RequestPageLayout.deviceSize
            page.store32(at + RequestPageLayout.deviceFrontend, v.frontend)
            page.store32(at + RequestPageLayout.deviceTransport, UInt32(manifest.transport(ofVirtio: i)))
            page.store32(at + RequestPageLayout.deviceType, v.type)
            page.store32(at + RequestPageLayout.deviceNetwork, v.network)
            page.store64(at + RequestPageLayout.deviceRAMIPA, manifest.record(frontend).ramIPA)
            page.store64(at + RequestPageLayout.deviceRAMSize, manifest.record(frontend).ramSize)
            page.store64(at + RequestPageLayout.deviceWindow, DeviceModel.windowIPA(frontend: frontend))
            if v.hasPool {
                page.store32(at + RequestPageLayout.deviceFlags, RequestPageLayout.deviceFlagPool)
                page.store64(at + RequestPageLayout.devicePoolIPA, v.poolIPA)
                page.store64(at + RequestPageLayout.devicePoolSize, v.poolSize)
            }
            count += 1
        }
        page.store64(RequestPageLayout.magic, RequestPageLayout.magicValue)
        page.store32(RequestPageLayout.version, RequestPageLayout.versionValue)
        page.store32(RequestPageLayout.deviceCount, UInt32(count))
        page.store32(RequestPageLayout.slotCount, UInt32(RequestPageLayout.slots))
        page.store32(RequestPageLayout.slotSizeField, UInt32(RequestPageLayout.slotSize))
        page.store32(RequestPageLayout.slotOffsetField, UInt32(RequestPageLayout.slotsAt))
        page.store32(RequestPageLayout.flags, 0)
        keel_dsb_ish()
    }

    /// VM `vm` (just built, not started): its transports and its served devices; as a device
    /// model, its request page and its frontends' RAM mapped into its stage 2.
    @_optimize(size)
    static func configure(_ vm: VMHandle, _ manifest: SystemManifest) {
        let id = vm.state.id
        let frequency = read_cntfrq_el0()
        var transports = 0, devices = 0
        for i in 0..<manifest.virtioCount {
            let v = manifest.virtio(i)
            if Int(v.frontend) == id && transports < DeviceModel.maxTransports {
                var t = Transport()
                t.server = Int(v.servedBy)
                t.device = deviceIndex(manifest, record: i)
                t.type = v.type
                // At most 2^32 ms times a counter frequency below 2^32 Hz: no overflow.
                t.timeoutTicks = max(UInt64(v.timeoutMs) * (frequency & 0xFFFF_FFFF) / 1000, 1)
                vm.state.dm.transports[transports] = t
                transports += 1
                Console.begin()
                Console.print("vm")
                Console.dec(UInt64(id))
                Console.print(": virtio ")
                Console.print(typeName(v.type))
                Console.print(" at IPA ")
                Console.hex(DeviceModel.transportIPA + UInt64(transports - 1) * DeviceModel.transportSize)
                Console.print(" (INTID ")
                Console.dec(UInt64(DeviceModel.firstTransportINTID) + UInt64(transports - 1))
                Console.print("), served by vm")
                Console.dec(UInt64(v.servedBy))
                Console.newline()
            }
            if Int(v.servedBy) == id && devices < DeviceModel.maxDevices {
                vm.state.dm.devices[devices] = ServedDevice(frontend: Int(v.frontend), transport: manifest.transport(ofVirtio: i))
                devices += 1
            }
        }
        vm.state.dm.transportCount = transports
        vm.state.dm.deviceCount = devices
        guard devices > 0 else { return }
        let page = RequestPageHandle(vm: id)
        guard vm.state.stage2.map(ipa: DeviceModel.requestPageIPA, pa: page.physicalAddress, size: UInt64(RequestPageHandle.size),
                                  memory: .normal, access: .readOnly, executable: false) else {
            panic("cannot map a request page: the stage-2 page pool is spent")
        }
        Console.begin()
        Console.print("vm")
        Console.dec(UInt64(id))
        Console.print(": device model of ")
        Console.dec(UInt64(devices))
        Console.print(devices == 1 ? " device, request page at IPA " : " devices, request page at IPA ")
        Console.hex(DeviceModel.requestPageIPA)
        Console.print(" (INTID ")
        Console.dec(UInt64(DeviceModel.requestINTID))
        Console.print(")")
        Console.newline()
        // Each frontend's RAM once, however many of its devices this VM serves; or, when every
        // one of them has a restricted DMA pool (`dma = "pool"`), only those pools, each at its
        // place in the window, so the frontend's other RAM is not mapped here at all.
        var mapped: UInt32 = 0
        for d in 0..<devices {
            let frontend = vm.state.dm.devices[d].frontend
            guard mapped & (1 << UInt32(frontend)) == 0 else { continue }
            mapped |= 1 << UInt32(frontend)
            let ram = manifest.record(frontend)
            let window = DeviceModel.windowIPA(frontend: frontend)
            guard manifest.poolsOnly(frontend: frontend, server: id) else {
                mapWindow(vm, frontend: frontend, ipa: window, pa: ram.ramPA, size: ram.ramSize, pool: false)
                continue
            }
            for i in 0..<manifest.virtioCount where Int(manifest.virtio(i).frontend) == frontend && Int(manifest.virtio(i).servedBy) == id {
                // The manifest check put the pool inside the frontend's RAM, 4 KiB aligned.
                let v = manifest.virtio(i)
                let offset = v.poolIPA - ram.ramIPA
                mapWindow(vm, frontend: frontend, ipa: window + offset, pa: ram.ramPA + offset, size: v.poolSize, pool: true)
            }
        }
    }

    /// Maps `size` bytes of frontend `frontend`'s RAM at `pa` into device model `vm` at `ipa`
    /// (read-write, execute-never) and says so: all of it, or one of its DMA pools.
    @_optimize(size)
    private static func mapWindow(_ vm: VMHandle, frontend: Int, ipa: UInt64, pa: UInt64, size: UInt64, pool: Bool) {
        // `prepare` checked that the window fits the IPA space.
        guard vm.state.stage2.map(ipa: ipa, pa: pa, size: size, memory: .normal, access: .readWrite, executable: false) else {
            panic("cannot map a frontend's RAM window: the stage-2 page pool is spent")
        }
        Console.begin()
        Console.print("vm")
        Console.dec(UInt64(vm.state.id))
        Console.print(": vm")
        Console.dec(UInt64(frontend))
        Console.print(pool ? "'s DMA pool at IPA " : "'s RAM at IPA ")
        Console.hex(ipa)
        Console.print(" (PA ")
        Console.hex(pa)
        Console.print(", ")
        Console.dec(size >> 10)
        Console.print(" KiB)")
        Console.newline()
    }

    /// Record `index`'s place among the devices its serving VM serves.
    private static func deviceIndex(_ manifest: SystemManifest, record index: Int) -> Int {
        let server = manifest.virtio(index).servedBy
        var k = 0
        for i in 0..<index where manifest.virtio(i).servedBy == server { k += 1 }
        return k
    }

    @_optimize(size)
    static func typeName(_ type: UInt32) -> StaticString {
        switch type {
        case 1: "net"
        case 2: "blk"
        case 3: "console"
        default: "device"
        }
    }
}

/// Offsets in the request page: KeelCore's `DeviceModel.Page`, `PageDevice` and `Slot`, the one
/// definition keel-dm and the host read too, under the names the firmware uses.
enum RequestPageLayout {
    static let magic = DeviceModel.Page.magicOffset
    static let version = DeviceModel.Page.versionOffset
    static let deviceCount = DeviceModel.Page.deviceCountOffset
    static let slotCount = DeviceModel.Page.slotCountOffset
    static let slotSizeField = DeviceModel.Page.slotSizeOffset
    static let slotOffsetField = DeviceModel.Page.slotsOffsetOffset
    static let flags = DeviceModel.Page.flagsOffset
    static let devices = DeviceModel.Page.devicesOffset
    static let deviceSize = DeviceModel.Page.deviceSize
    static let deviceFrontend = DeviceModel.PageDevice.frontend
    static let deviceTransport = DeviceModel.PageDevice.transport
    static let deviceType = DeviceModel.PageDevice.type
    static let deviceNetwork = DeviceModel.PageDevice.network
    static let deviceRAMIPA = DeviceModel.PageDevice.ramIPA
    static let deviceRAMSize = DeviceModel.PageDevice.ramSize
    static let deviceWindow = DeviceModel.PageDevice.windowIPA
    static let deviceStatus = DeviceModel.PageDevice.status
    static let deviceFlags = DeviceModel.PageDevice.flags
    static let deviceFlagPool = DeviceModel.PageDevice.flagPool
    static let devicePoolIPA = DeviceModel.PageDevice.poolIPA
    static let devicePoolSize = DeviceModel.PageDevice.poolSize
    static let slotsAt = DeviceModel.Page.slotsOffset
    static let slotSize = DeviceModel.Page.slotSize
    static let slots = DeviceModel.Page.slotCount
    static let slotSequence = DeviceModel.Slot.sequence
    static let slotDevice = DeviceModel.Slot.device
    static let slotOffset = DeviceModel.Slot.offset
    static let slotSize8 = DeviceModel.Slot.size
    static let slotWrite = DeviceModel.Slot.write
    static let slotVCPU = DeviceModel.Slot.vcpu
    static let slotData = DeviceModel.Slot.data
    static let slotPosted = DeviceModel.Slot.posted
    static let magicValue = DeviceModel.Page.magic
    static let versionValue = DeviceModel.Page.version

    /// Byte offset of slot `n`.
    static func slot(_ n: Int) -> Int { slotsAt + n * slotSize }
    /// Byte offset of device `n`'s status word.
    static func status(_ n: Int) -> Int { devices + n * deviceSize + deviceStatus }
}
