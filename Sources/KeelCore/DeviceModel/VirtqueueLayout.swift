/// What the firmware needs of virtio to fail a dead device model's block requests (hyp/devmodel,
/// docs/device-model.md "When the device model fails"): the virtio-mmio registers a driver
/// writes to set up a queue, the split virtqueue's layout (virtio 1.2, 2.7) and virtio-blk's
/// IOERR status. Little-endian, as virtio 1.x is on every transport.
public enum VirtqueueLayout {
    /// virtio-mmio version 2 registers (virtio 1.2, 4.2.2) Keel watches on their way to the
    /// device model.
    public enum Register {
        public static let queueSel: UInt32 = 0x030
        public static let queueNum: UInt32 = 0x038
        public static let queueReady: UInt32 = 0x044
        /// Not watched: a store here to a transport Keel gave up on fails what it announces.
        public static let queueNotify: UInt32 = 0x050
        /// Not watched: Keel answers it for a transport it gave up on.
        public static let interruptStatus: UInt32 = 0x060
        public static let status: UInt32 = 0x070
        public static let queueDescLow: UInt32 = 0x080
        public static let queueDescHigh: UInt32 = 0x084
        public static let queueDriverLow: UInt32 = 0x090
        public static let queueDriverHigh: UInt32 = 0x094
        public static let queueDeviceLow: UInt32 = 0x0A0
        public static let queueDeviceHigh: UInt32 = 0x0A4
    }

    /// The device status a device sets when it needs a reset (virtio 1.2, 2.1).
    public static let deviceNeedsReset: UInt32 = 0x40

    /// The largest queue (Queue Size is a power of 2, at most 32768).
    public static let maxQueueSize: UInt32 = 32768

    /// A descriptor: addr u64, len u32, flags u16, next u16.
    public static let descriptorSize: UInt64 = 16
    public static let descriptorLength: UInt64 = 8
    public static let descriptorFlags: UInt64 = 12
    public static let descriptorNext: UInt64 = 14
    public static let flagNext: UInt16 = 1
    public static let flagWrite: UInt16 = 2
    public static let flagIndirect: UInt16 = 4

    /// The driver area (available ring): flags u16, idx u16, ring[size] u16.
    public static let availIndex: UInt64 = 2
    public static let availRing: UInt64 = 4

    /// The device area (used ring): flags u16, idx u16, ring[size] of (id u32, len u32).
    public static let usedIndex: UInt64 = 2
    public static let usedRing: UInt64 = 4
    public static let usedElementSize: UInt64 = 8

    /// virtio-blk's request status, the last byte of a request's chain: an I/O error.
    public static let blkStatusIOError: UInt8 = 1
}
