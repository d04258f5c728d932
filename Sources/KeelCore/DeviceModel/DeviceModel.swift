/// The device-model VM's contract (docs/device-model.md), defined once for the firmware, keel-dm
/// and the host tools: where a frontend's virtio-mmio transports and a device model's request
/// page and DMA windows sit in their guests' address spaces, which interrupts they raise, and
/// the request page's layout.
public enum DeviceModel {
    /// The virtio device IDs Keel's device model serves (virtio 1.2, section 5).
    public enum DeviceType: UInt32, Sendable {
        case net = 1
        case blk = 2
        case console = 3
    }

    // MARK: The frontend's side

    /// Transport k of a frontend lies at `transportIPA + k * transportSize`: virtio-mmio version
    /// 2, never mapped, so every access traps and is forwarded.
    public static let transportIPA: UInt64 = 0x0B00_0000
    public static let transportSize: UInt64 = 0x200
    /// Transports per frontend: the window `[transportIPA, transportIPA + transportWindow)`.
    public static let maxTransports = 8
    public static var transportWindow: UInt64 { transportSize * UInt64(maxTransports) }
    /// Virtio devices in one packed image.
    public static let maxDevices = 16
    /// Transport k's interrupt in its frontend: INTID 80 + k (SPI 48 + k), edge-triggered.
    public static let firstTransportINTID: UInt32 = 80
    public static func transportINTID(_ k: Int) -> UInt32 { firstTransportINTID + UInt32(truncatingIfNeeded: k) }

    // MARK: The device model's side

    /// The request page, read-only in the serving VM.
    public static let requestPageIPA: UInt64 = 0x0B10_0000
    public static let requestPageSize: UInt64 = 0x1000
    /// The serving VM's "new request" interrupt: INTID 88 (SPI 56), edge-triggered.
    public static let requestINTID: UInt32 = 88
    /// Frontend VM n's RAM appears in its device model at `windowIPA(frontend: n)` plus (its
    /// guest address - its RAM's IPA): each frontend has a `windowSpan` of IPA space, so RAM up
    /// to that size fits, and all four end below 2^39 (the smallest IPA space Keel gives).
    public static let windowBase: UInt64 = 0x40_0000_0000
    public static let windowSpan: UInt64 = 0x10_0000_0000
    public static func windowIPA(frontend: Int) -> UInt64 { windowBase + UInt64(truncatingIfNeeded: frontend) * windowSpan }

    /// A forwarded access waits this long for the device model unless the config says otherwise.
    public static let defaultTimeoutMilliseconds: UInt32 = 2000

    /// The INTIDs Keel raises for virtio in VM `vm`: its transports' and, if it serves devices,
    /// the request interrupt. A passed-through SPI of that VM must be none of them.
    public static func usesINTID(_ intid: UInt32, transports: Int, serves: Bool) -> Bool {
        (intid >= firstTransportINTID && intid < firstTransportINTID + UInt32(max(0, min(transports, maxTransports))))
            || (serves && intid == requestINTID)
    }

    // MARK: The request page (little-endian; Keel writes, the device model reads)

    public enum Page {
        public static let magic: UInt64 = 0x5152_4D44_4C45_454B  // "KEELDMRQ" little-endian
        public static let version: UInt32 = 1
        public static let magicOffset = 0
        public static let versionOffset = 8
        public static let deviceCountOffset = 12
        public static let slotCountOffset = 16
        public static let slotSizeOffset = 20
        public static let slotsOffsetOffset = 24
        public static let flagsOffset = 28
        /// Flags bit 0: the device model polls the slots; Keel raises no request interrupt.
        public static let flagPolling: UInt32 = 1
        /// Flags bit 1: Keel takes answers from the device model's answer page (`Answer`).
        public static let flagAnswers: UInt32 = 2
        public static let devicesOffset = 64
        public static let deviceSize = 64
        public static let slotsOffset = 2048
        public static let slotSize = 64
        public static let slotCount = 8
    }

    /// One entry of the page's device table, at `Page.devicesOffset + index * Page.deviceSize`.
    public enum PageDevice {
        public static let frontend = 0        // u32
        public static let transport = 4       // u32
        public static let type = 8            // u32
        public static let network = 12        // u32
        public static let ramIPA = 16         // u64
        public static let ramSize = 24        // u64
        public static let windowIPA = 32      // u64
        public static let status = 40         // u32, bit 0: needs reset
        public static let statusNeedsReset: UInt32 = 1
        /// u32, bit 0 (`flagPool`): the device has a restricted DMA pool (`dma = "pool"`), the
        /// frontend's guest addresses `[poolIPA, poolIPA + poolSize)`, at `windowIPA + (poolIPA -
        /// ramIPA)` here; when every device of a frontend this VM serves has one, only the pools
        /// are mapped there. Zero (no pool) in a page written before pools existed.
        public static let flags = 44
        public static let flagPool: UInt32 = 1
        public static let poolIPA = 48        // u64
        public static let poolSize = 56       // u64
    }

    /// One request slot (one per physical CPU), at `Page.slotsOffset + cpu * Page.slotSize`.
    public enum Slot {
        /// u32: odd while a request waits; Keel adds 1 to post and 1 to complete.
        public static let sequence = 0
        public static let device = 4          // u32
        public static let offset = 8          // u32, in the transport
        public static let size = 12           // u8: 1, 2, 4 or 8
        public static let write = 13          // u8: 1 for a store
        public static let vcpu = 14           // u8
        public static let data = 16           // u64: a store's value
        public static let posted = 24         // u64: CNTVCT when Keel posted it
    }

    /// One answer slot of the answer page (`KEEL_DM_ANSWERS`: a page of the device model's own
    /// RAM, which it writes and Keel only reads), at `slot * Page.slotSize`: the answer to the
    /// request in the same slot of the request page, without a hypercall. Keel takes it when
    /// `sequence` equals the request's odd sequence, reading each field once.
    public enum Answer {
        /// u32: the odd sequence of the request answered; written last, with release order.
        public static let sequence = 0
        public static let value = 8           // u64: a read's value
        public static let pickedUp = 16       // u64: CNTVCT when the device model picked it up
    }

    // MARK: virtio-mmio registers Keel itself looks at

    public enum MMIO {
        public static let status: UInt64 = 0x070
        /// Status bit: the device hit an error and needs a reset.
        public static let deviceNeedsReset: UInt32 = 0x40
    }
}
