// TEMPORARY stand-in until the lead's file lands (not committed).
public enum DeviceModel {
    public static let transportIPA: UInt64 = 0x0B00_0000
    public static let transportSize: UInt64 = 0x200
    public static let maxTransports = 8
    public static let firstTransportINTID: UInt32 = 80
    public static let requestPageIPA: UInt64 = 0x0B10_0000
    public static let requestINTID: UInt32 = 88
    public static let windowBase: UInt64 = 0x40_0000_0000
    public static let windowStride: UInt64 = 0x10_0000_0000
    public static func windowIPA(frontend: Int) -> UInt64 { windowBase + UInt64(frontend) * windowStride }
    public static let maxDevices = 16
    public static let maxPerFrontend = 8
    public enum RequestPage {
        public static let magic: UInt64 = 0x5152_4D44_4C45_454B
        public static let version: UInt32 = 1
        public static let slotCount = 8
        public static let slotSize = 64
        public static let slotOffset = 2048
        public static let deviceOffset = 64
        public static let deviceSize = 64
    }
    public enum DeviceType: UInt32 { case net = 1, blk = 2, console = 3 }
}
extension SMCCC {
    public static let keelDMComplete: UInt32 = 0x8600_0020
    public static let keelDMNotify: UInt32 = 0x8600_0021
    public static let keelDMPolling: UInt32 = 0x8600_0022
}
