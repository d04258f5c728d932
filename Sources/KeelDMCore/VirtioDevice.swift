// The Makefile compiles this into keel-dm as one module with KeelCore/DeviceModel (no import
// there); SwiftPM builds it as its own module.
#if canImport(KeelCore)
import KeelCore
#endif

/// virtio-blk (virtio 1.2, 5.2): request types, status values, features.
public enum VirtioBlk {
    public static let sectorSize: UInt64 = 512
    public static let typeIn: UInt32 = 0
    public static let typeOut: UInt32 = 1
    public static let typeFlush: UInt32 = 4
    public static let typeGetID: UInt32 = 8
    public static let statusOK: UInt8 = 0
    public static let statusIOErr: UInt8 = 1
    public static let statusUnsupported: UInt8 = 2
    public static let featureSegMax: UInt64 = 1 << 2
    public static let featureFlush: UInt64 = 1 << 9
    /// VIRTIO_BLK_F_TOPOLOGY: the config's topology fields (offset 24) are valid. Linux takes
    /// `opt_io_size` as the queue's optimal I/O size and reads ahead twice that (its default is
    /// 128 KiB, a request of that size per forwarded round trip).
    public static let featureTopology: UInt64 = 1 << 10
    /// The config fields keel-dm sets (virtio 1.2, 5.2.4: struct virtio_blk_config).
    public enum ConfigOffset {
        public static let capacity = 0
        public static let segMax = 12
        /// Topology: physical_block_exp u8, alignment_offset u8, min_io_size le16, opt_io_size le32.
        public static let minIOSize = 26
        public static let optIOSize = 28
    }
    /// The optimal I/O size keel-dm reports, in 512-byte sectors (1 MiB): a sequential reader's
    /// read-ahead becomes requests as large as seg_max allows, each one forwarded round trip.
    public static let optimalIOSectors: UInt32 = 2048
    /// The ID a GET_ID request returns is at most this long (zero-padded).
    public static let idBytes = 20
}

/// virtio-net (5.1): the header in front of every frame with VERSION_1, and features.
public enum VirtioNet {
    public static let headerSize = 12
    public static let featureMAC: UInt64 = 1 << 5
    /// Largest frame keel-dm switches (a 64 KiB GSO frame is never offered: no GSO features).
    public static let maxFrame = 65535
    public static let rxQueue = 0
    public static let txQueue = 1
}

/// virtio-console (5.3): port 0's queues.
public enum VirtioConsole {
    public static let receiveQueue = 0
    public static let transmitQueue = 1
    /// Console output held for the Linux glue before it drains it; more is dropped (and counted).
    public static let outputLimit = 1 << 16
}

/// One virtio-mmio device as keel-dm serves it: its register file, its queues' state, and what
/// the device kind needs (a disk, a MAC and network, console output).
public final class VirtioDevice<RAM: DeviceRAM, Disk: BlockStore> where Disk.RAM == RAM {
    public let type: VirtioDeviceType
    /// The frontend's RAM through the window, and the frontend's RAM IPA (what its driver writes
    /// as addresses).
    public let ram: RAM
    public let ramBase: UInt64
    public var disk: Disk?
    public var diskID: [UInt8] = []
    public var mac: UInt64 = 0
    public var network: UInt32 = 0

    public let deviceFeatures: UInt64
    /// What the driver must accept for FEATURES_OK: VERSION_1, and ACCESS_PLATFORM for a pool.
    public let requiredFeatures: UInt64
    public var config: [UInt8]
    /// QueueNumMax of every queue (seg_max of a blk device follows from it).
    public static var queueNumMax: UInt16 { 128 }

    public var deviceFeaturesSel: UInt32 = 0
    public var driverFeaturesSel: UInt32 = 0
    public var driverFeatures: UInt64 = 0
    public var queueSel: UInt32 = 0
    public var queues: [QueueState]
    public var status: UInt32 = 0
    public var interruptStatus: UInt32 = 0
    /// Why the device is in DEVICE_NEEDS_RESET; nil while it serves.
    public var fault: VirtqueueFault?
    /// Set when the frontend's interrupt should be raised (KEEL_DM_NOTIFY); the glue clears it.
    public var interruptPending = false

    /// Console output not yet drained by the glue, and what did not fit.
    public var output: [UInt8] = []
    public var outputDropped = 0
    /// Net counters: frames sent, received, and dropped for want of a fitting rx buffer.
    public var txFrames = 0
    public var rxFrames = 0
    public var rxDropped = 0

    /// `accessPlatform`: `ram` is the frontend's restricted DMA pool (at `ramBase` in its guest
    /// addresses), not its whole RAM; the device offers and requires ACCESS_PLATFORM, and every
    /// ring and descriptor outside the pool fails like one outside the window.
    init(type: VirtioDeviceType, ram: RAM, ramBase: UInt64, features: UInt64, config: [UInt8], accessPlatform: Bool = false) {
        self.type = type
        self.ram = ram
        self.ramBase = ramBase
        let platform = accessPlatform ? VirtioMMIO.featureAccessPlatform : 0
        self.deviceFeatures = VirtioMMIO.featureVersion1 | platform | features
        self.requiredFeatures = VirtioMMIO.featureVersion1 | platform
        self.config = config
        self.queues = [QueueState](repeating: QueueState(), count: type.queueCount)
    }

    /// Whether the driver finished set-up and the device serves (not DEVICE_NEEDS_RESET).
    public var serving: Bool { status & VirtioMMIO.Status.driverOK != 0 && fault == nil }

    /// Status 0: back to the state after power-on (identity, disk and MAC kept).
    func reset() {
        deviceFeaturesSel = 0
        driverFeaturesSel = 0
        driverFeatures = 0
        queueSel = 0
        for i in queues.indices { queues[i] = QueueState() }
        status = 0
        interruptStatus = 0
        fault = nil
        interruptPending = false
    }

    /// A hostile or broken driver: DEVICE_NEEDS_RESET and a configuration-change interrupt; the
    /// device serves no queue until the driver writes Status 0.
    func fail(_ why: VirtqueueFault) {
        guard fault == nil else { return }
        fault = why
        status |= VirtioMMIO.Status.needsReset
        interruptStatus |= VirtioMMIO.interruptConfigChange
        interruptPending = true
    }

    /// Used buffers were added to queue `index`: interrupt unless the driver asked for none.
    func usedBuffers(_ index: Int) {
        ram.fullFence()
        if queues[index].ring.availFlags(ram) & Virtqueue.availNoInterrupt == 0 {
            interruptStatus |= VirtioMMIO.interruptUsedBuffer
            interruptPending = true
        }
    }

    // MARK: registers

    func readRegister(_ offset: UInt32) -> UInt32 {
        typealias R = VirtioMMIO.Register
        let sel = Int(queueSel)
        let q: QueueState? = sel < queues.count ? queues[sel] : nil
        switch offset {
        case R.magic: return VirtioMMIO.magicValue
        case R.version: return VirtioMMIO.version
        case R.deviceID: return type.rawValue
        case R.vendorID: return VirtioMMIO.vendorID
        case R.deviceFeatures:
            switch deviceFeaturesSel {
            case 0: return UInt32(truncatingIfNeeded: deviceFeatures)
            case 1: return UInt32(truncatingIfNeeded: deviceFeatures >> 32)
            default: return 0
            }
        case R.queueNumMax: return q == nil ? 0 : UInt32(Self.queueNumMax)
        case R.queueNum: return UInt32(q?.num ?? 0)
        case R.queueReady: return q?.ready == true ? 1 : 0
        case R.interruptStatus: return interruptStatus
        case R.status: return status
        case R.queueDescLow: return UInt32(truncatingIfNeeded: q?.desc ?? 0)
        case R.queueDescHigh: return UInt32(truncatingIfNeeded: (q?.desc ?? 0) >> 32)
        case R.queueDriverLow: return UInt32(truncatingIfNeeded: q?.driver ?? 0)
        case R.queueDriverHigh: return UInt32(truncatingIfNeeded: (q?.driver ?? 0) >> 32)
        case R.queueDeviceLow: return UInt32(truncatingIfNeeded: q?.device ?? 0)
        case R.queueDeviceHigh: return UInt32(truncatingIfNeeded: (q?.device ?? 0) >> 32)
        // No shared-memory regions: length all ones (4.2.2, SHMLen).
        case R.shmLenLow, R.shmLenHigh, R.shmBaseLow, R.shmBaseHigh: return 0xFFFF_FFFF
        case R.configGeneration: return 0
        default: return 0
        }
    }

    /// Applies a register store; returns the queue index a QueueNotify names (served by the
    /// caller, which owns the other devices a frame may go to).
    func writeRegister(_ offset: UInt32, _ value: UInt32) -> Int? {
        typealias R = VirtioMMIO.Register
        let sel = Int(queueSel)
        let queueOK = sel < queues.count && !queues[sel].ready
        switch offset {
        case R.deviceFeaturesSel: deviceFeaturesSel = value
        case R.driverFeaturesSel: driverFeaturesSel = value
        case R.driverFeatures:
            guard status & VirtioMMIO.Status.featuresOK == 0 else { break }
            switch driverFeaturesSel {
            case 0: driverFeatures = driverFeatures & ~0xFFFF_FFFF | UInt64(value)
            case 1: driverFeatures = driverFeatures & 0xFFFF_FFFF | UInt64(value) << 32
            default: break
            }
        case R.queueSel: queueSel = value
        case R.queueNum where queueOK: queues[sel].num = UInt16(truncatingIfNeeded: value)
        case R.queueDescLow where queueOK: queues[sel].desc = queues[sel].desc & ~0xFFFF_FFFF | UInt64(value)
        case R.queueDescHigh where queueOK: queues[sel].desc = queues[sel].desc & 0xFFFF_FFFF | UInt64(value) << 32
        case R.queueDriverLow where queueOK: queues[sel].driver = queues[sel].driver & ~0xFFFF_FFFF | UInt64(value)
        case R.queueDriverHigh where queueOK: queues[sel].driver = queues[sel].driver & 0xFFFF_FFFF | UInt64(value) << 32
        case R.queueDeviceLow where queueOK: queues[sel].device = queues[sel].device & ~0xFFFF_FFFF | UInt64(value)
        case R.queueDeviceHigh where queueOK: queues[sel].device = queues[sel].device & 0xFFFF_FFFF | UInt64(value) << 32
        case R.queueReady:
            guard sel < queues.count else { break }
            if value & 1 == 0 {
                queues[sel].ready = false
            } else if !queues[sel].ready, fault == nil {
                enable(queue: sel)
            }
        case R.queueNotify:
            guard Int(value) < queues.count, serving, queues[Int(value)].ready else { break }
            return Int(value)
        case R.interruptACK: interruptStatus &= ~value
        case R.status:
            if value == 0 {
                reset()
            } else {
                var next = value & ~VirtioMMIO.Status.needsReset
                // FEATURES_OK only for a subset of what is offered that includes VERSION_1 (a
                // legacy driver is refused: the driver reads FEATURES_OK back and gives up) and,
                // for a pool, ACCESS_PLATFORM (a driver without it would hand over addresses
                // outside the pool).
                if next & VirtioMMIO.Status.featuresOK != 0 && status & VirtioMMIO.Status.featuresOK == 0 {
                    if driverFeatures & ~deviceFeatures != 0 || requiredFeatures & ~driverFeatures != 0 {
                        next &= ~VirtioMMIO.Status.featuresOK
                    }
                }
                status = next | (fault == nil ? 0 : VirtioMMIO.Status.needsReset)
            }
        default: break
        }
        return nil
    }

    /// QueueReady 1: the size and the rings must be sound, or the device needs a reset.
    private func enable(queue sel: Int) {
        let num = queues[sel].num
        guard num != 0, num <= Self.queueNumMax, num & (num &- 1) == 0 else { fail(.badSize); return }
        var ring = SplitQueue(size: num, ramBase: ramBase)
        if let why = ring.validate(desc: queues[sel].desc, avail: queues[sel].driver, used: queues[sel].device, in: ram) {
            fail(why)
            return
        }
        queues[sel].ring = ring
        queues[sel].lastAvail = 0
        queues[sel].usedIdx = 0
        queues[sel].ready = true
    }

    func readConfig(_ offset: Int, size: Int) -> UInt64 {
        guard offset >= 0, offset + size <= config.count else { return 0 }
        var value: UInt64 = 0
        for i in 0..<size { value |= UInt64(config[offset + i]) << (8 * UInt64(i)) }
        return value
    }
}
