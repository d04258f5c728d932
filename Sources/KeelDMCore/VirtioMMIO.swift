// The Makefile compiles this into keel-dm as one module with KeelCore/DeviceModel (no import
// there); SwiftPM builds it as its own module.
#if canImport(KeelCore)
import KeelCore
#endif

/// The virtio-mmio version-2 transport (virtio 1.2, 4.2.2): register offsets and values.
public enum VirtioMMIO {
    public static let magicValue: UInt32 = 0x7472_6976  // "virt"
    public static let version: UInt32 = 2
    /// "KEEL" in little-endian bytes.
    public static let vendorID: UInt32 = 0x4C45_454B
    /// The transport's size and where its config space starts.
    public static let size: UInt32 = 0x200
    public static let configOffset: UInt32 = 0x100

    public enum Register {
        public static let magic: UInt32 = 0x000
        public static let version: UInt32 = 0x004
        public static let deviceID: UInt32 = 0x008
        public static let vendorID: UInt32 = 0x00C
        public static let deviceFeatures: UInt32 = 0x010
        public static let deviceFeaturesSel: UInt32 = 0x014
        public static let driverFeatures: UInt32 = 0x020
        public static let driverFeaturesSel: UInt32 = 0x024
        public static let queueSel: UInt32 = 0x030
        public static let queueNumMax: UInt32 = 0x034
        public static let queueNum: UInt32 = 0x038
        public static let queueReady: UInt32 = 0x044
        public static let queueNotify: UInt32 = 0x050
        public static let interruptStatus: UInt32 = 0x060
        public static let interruptACK: UInt32 = 0x064
        public static let status: UInt32 = 0x070
        public static let queueDescLow: UInt32 = 0x080
        public static let queueDescHigh: UInt32 = 0x084
        public static let queueDriverLow: UInt32 = 0x090
        public static let queueDriverHigh: UInt32 = 0x094
        public static let queueDeviceLow: UInt32 = 0x0A0
        public static let queueDeviceHigh: UInt32 = 0x0A4
        public static let shmSel: UInt32 = 0x0AC
        public static let shmLenLow: UInt32 = 0x0B0
        public static let shmLenHigh: UInt32 = 0x0B4
        public static let shmBaseLow: UInt32 = 0x0B8
        public static let shmBaseHigh: UInt32 = 0x0BC
        public static let configGeneration: UInt32 = 0x0FC
    }

    /// Device status bits (2.1).
    public enum Status {
        public static let acknowledge: UInt32 = 1
        public static let driver: UInt32 = 2
        public static let driverOK: UInt32 = 4
        public static let featuresOK: UInt32 = 8
        public static let needsReset: UInt32 = 0x40
        public static let failed: UInt32 = 0x80
    }

    /// InterruptStatus bits: a used buffer, a configuration change (DEVICE_NEEDS_RESET among them).
    public static let interruptUsedBuffer: UInt32 = 1
    public static let interruptConfigChange: UInt32 = 2

    /// VIRTIO_F_VERSION_1 (bit 32): every device offers it; the driver must accept it.
    public static let featureVersion1: UInt64 = 1 << 32
    /// VIRTIO_F_ACCESS_PLATFORM (6.1): the driver must give the device addresses through its
    /// platform's DMA API. keel-dm offers (and requires) it for a device with a restricted DMA
    /// pool, so the frontend's Linux bounces every buffer, the rings included, through the pool.
    public static let featureAccessPlatform: UInt64 = 1 << 33
}

/// The virtio device types keel-dm serves (the virtio device IDs, as in the VM table).
public enum VirtioDeviceType: UInt32, Sendable {
    case net = 1
    case blk = 2
    case console = 3

    /// Queues each device has: net rx/tx, blk one request queue, console port 0's receive/transmit.
    public var queueCount: Int {
        switch self {
        case .net: 2
        case .blk: 1
        case .console: 2
        }
    }
}

/// One queue's registers as the driver wrote them, and the device's place in it.
public struct QueueState: Sendable {
    public var num: UInt16 = 0
    public var ready = false
    public var desc: UInt64 = 0
    public var driver: UInt64 = 0
    public var device: UInt64 = 0
    /// Valid while `ready`.
    public var ring = SplitQueue(size: 0, ramBase: 0)
    /// The next avail slot the device takes, and its own copy of used.idx.
    public var lastAvail: UInt16 = 0
    public var usedIdx: UInt16 = 0

    public init() {}
}
