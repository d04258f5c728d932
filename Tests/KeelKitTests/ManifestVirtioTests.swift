import Foundation
import KeelCore
import Testing
@testable import KeelKit

/// The VM table's virtio records (version 4, pools since 5; docs/device-model.md): each device with its
/// frontend, the device-model VM serving it, its type, timeout and network; written by `keel
/// pack` and checked by the firmware before any VM starts.
@Suite("VM table: virtio devices served by a device model")
struct ManifestVirtioTests {
    static var limits: SystemManifest.Limits { ManifestDeviceTests.limits }

    /// VM 0 "dm" serves VM 1 "app" (RAM 256 MiB at IPA 0x4000_0000 in both).
    static func table(_ virtio: [SystemManifest.Virtio], devices: [SystemManifest.DeviceRange] = [],
                      interrupts: [SystemManifest.Interrupt] = [], regions: [SystemManifest.Region] = [],
                      appRAM: UInt64 = 256 << 20) -> Data {
        var w = SystemManifestWriter()
        w.vms = [SystemManifestTests.vm("dm", cpu: 0, pa: 0x5000_0000), SystemManifestTests.vm("app", cpu: 1, pa: 0x6000_0000)]
        w.vms[1].ramSize = appRAM
        w.virtio = virtio
        w.devices = devices
        w.interrupts = interrupts
        w.regions = regions
        return w.bytes()
    }

    static func problem(_ bytes: Data) -> SystemManifest.Problem? {
        SystemManifestTests.problem(SystemManifestTests.open(bytes, limits: limits))
    }

    static let blk = SystemManifest.Virtio(frontend: 1, servedBy: 0, type: DeviceModel.DeviceType.blk.rawValue)
    static let net = SystemManifest.Virtio(frontend: 1, servedBy: 0, type: DeviceModel.DeviceType.net.rawValue, timeoutMs: 500, network: 1)

    @Test("written virtio records read back, with each device's transport in its frontend")
    func roundTrip() throws {
        let bytes = Self.table([Self.blk, Self.net])
        let m = try bytes.withSpan { raw throws(SystemManifest.Problem) in try SystemManifest.open(raw, Self.limits) }
        #expect(m.virtioCount == 2)
        #expect(m.virtio(0) == Self.blk && m.virtio(1) == Self.net)
        #expect(m.virtio(0).timeoutMs == DeviceModel.defaultTimeoutMilliseconds)
        #expect(m.transport(ofVirtio: 0) == 0 && m.transport(ofVirtio: 1) == 1)
        #expect(m.virtioUse(of: 1) == (2, false) && m.virtioUse(of: 0) == (0, true))
        let range = m.bundle(1)
        #expect(bytes[bytes.startIndex + range.lowerBound ..< bytes.startIndex + range.upperBound] == Data("bundle of app".utf8))
    }

    @Test("each way a virtio record can be wrong is refused, with its own reason")
    func refused() {
        #expect(Self.problem(Self.table([Self.blk])) == nil)
        var v = Self.blk
        v.servedBy = 1
        #expect(Self.problem(Self.table([v])) == .virtioVMs(0), "a device model serving itself")
        v = Self.blk; v.servedBy = 2
        #expect(Self.problem(Self.table([v])) == .virtioVMs(0), "a VM that does not exist")
        v = Self.blk; v.frontend = 7
        #expect(Self.problem(Self.table([v])) == .virtioVMs(0))
        v = Self.blk; v.type = 9
        #expect(Self.problem(Self.table([v])) == .virtioType(0))
        v = Self.blk; v.timeoutMs = 0
        #expect(Self.problem(Self.table([v])) == .virtioTimeout(0))
        #expect(Self.problem(Self.table(Array(repeating: Self.blk, count: 8))) == nil, "eight transports fill the window")
        #expect(Self.problem(Self.table(Array(repeating: Self.blk, count: 9))) == .virtioTransports(8))
        // A passed-through device in the frontend's transport window, or in the device model's
        // request page; a shared region over a DMA window.
        let inWindow = SystemManifest.DeviceRange(pa: 0x0A00_3000, size: 0x1000, ipa: DeviceModel.transportIPA, vm: 1)
        #expect(Self.problem(Self.table([Self.blk], devices: [inWindow])) == .virtioWindow(0))
        let inPage = SystemManifest.DeviceRange(pa: 0x0A00_3000, size: 0x1000, ipa: DeviceModel.requestPageIPA, vm: 0)
        #expect(Self.problem(Self.table([Self.blk], devices: [inPage])) == .virtioWindow(0))
        var elsewhere = inPage
        elsewhere.vm = 1  // the page is only in the device model
        #expect(Self.problem(Self.table([Self.blk], devices: [elsewhere])) == nil)
        let overWindow = SystemManifest.Region(pa: 0x7000_0000, size: 0x1000, ipa: DeviceModel.windowIPA(frontend: 1), vms: 1)
        #expect(Self.problem(Self.table([Self.blk], regions: [overWindow])) == .virtioWindow(0))
        // The frontend's transport INTID or the device model's request INTID passed through.
        #expect(Self.problem(Self.table([Self.blk], interrupts: [.init(intid: 80, vm: 1)])) == .virtioINTID(0))
        #expect(Self.problem(Self.table([Self.blk], interrupts: [.init(intid: 81, vm: 1)])) == nil, "only one transport")
        #expect(Self.problem(Self.table([Self.blk], interrupts: [.init(intid: 88, vm: 0)])) == .virtioINTID(0))
        #expect(Self.problem(Self.table([Self.blk], interrupts: [.init(intid: 88, vm: 1)])) == nil)
    }

    @Test("a frontend's RAM that does not fit its DMA window, or unknown flags set, are refused")
    func windowAndFlags() {
        var limits = Self.limits
        limits.ipaLimit = DeviceModel.windowIPA(frontend: 1) + (128 << 20)
        let bytes = Self.table([Self.blk])
        #expect(SystemManifestTests.problem(SystemManifestTests.open(bytes, limits: limits)) == .virtioWindow(0),
                "256 MiB of RAM past the IPA space's end")
        var flagged = [UInt8](bytes)
        let at = SystemManifest.tablesSize(count: 2, regions: 0) + 20
        flagged[at] = 2  // bit 0 is the pool's (`pools`)
        Self.reseal(&flagged)
        #expect(Self.problem(Data(flagged)) == .virtioType(0))
        var counted = [UInt8](bytes)
        counted[48] = UInt8(SystemManifest.maxVirtio + 1)
        Self.reseal(&counted)
        #expect(Self.problem(Data(counted)) == .badVirtioCount)
    }

    @Test("a DMA pool reads back and must lie, page aligned and not empty, in its frontend's RAM; its fields only with its flag")
    func pools() throws {
        var v = Self.blk
        v.poolIPA = 0x4000_0000 + (255 << 20)
        v.poolSize = 1 << 20
        let bytes = Self.table([v, Self.net])
        let m = try bytes.withSpan { raw throws(SystemManifest.Problem) in try SystemManifest.open(raw, Self.limits) }
        #expect(m.virtio(0) == v && m.virtio(0).hasPool && !m.virtio(1).hasPool)
        #expect(!m.poolsOnly(frontend: 1, server: 0), "the net device has no pool")
        let at = SystemManifest.tablesSize(count: 2, regions: 0)
        #expect(bytes[bytes.startIndex + at + SystemManifest.Virtio.flagsOffset] == 1)
        var low = Self.net
        low.poolIPA = 0x4000_0000
        low.poolSize = 0x40000
        #expect(Self.problem(Self.table([v, low])) == nil)
        let ram: UInt64 = 0x4000_0000, mib: UInt64 = 1 << 20
        let bad: [(ipa: UInt64, size: UInt64)] = [
            (ram + 256 * mib, mib), (0x3FF0_0000, mib), (0x4000_0800, 0x1000), (ram, 0x1800),
            (ram + 255 * mib, 2 * mib), (ram, 256 * mib + 4096), (UInt64.max - 0xFFF, 0x1000),
        ]
        for (ipa, size) in bad {
            var record = Self.blk
            record.poolIPA = ipa
            record.poolSize = size
            #expect(Self.problem(Self.table([record])) == .virtioPool(0), "pool \(ipa) + \(size)")
        }
        // Two pools of one frontend over each other.
        var over = Self.net
        over.poolIPA = v.poolIPA + 0x8_0000
        over.poolSize = 0x8_0000
        #expect(Self.problem(Self.table([v, over])) == .virtioPool(1))
        // Pool fields without the flag, or an unknown flag.
        var fields = [UInt8](Self.table([v]))
        fields[at + SystemManifest.Virtio.flagsOffset] = 0
        Self.reseal(&fields)
        #expect(Self.problem(Data(fields)) == .virtioPool(0))
        var unknown = [UInt8](Self.table([v]))
        unknown[at + SystemManifest.Virtio.flagsOffset] = 3
        Self.reseal(&unknown)
        #expect(Self.problem(Data(unknown)) == .virtioType(0))
        var reserved = [UInt8](Self.table([v]))
        reserved[at + SystemManifest.Virtio.reservedOffset] = 1
        Self.reseal(&reserved)
        #expect(Self.problem(Data(reserved)) == .virtioType(0))
    }

    /// The header's CRC again after editing the tables.
    static func reseal(_ bytes: inout [UInt8]) {
        let count = Int(bytes[48])
        let crc = SystemManifest.headerChecksum(bytes.span, count: 2, virtio: min(count, SystemManifest.maxVirtio))
        for i in 0..<4 { bytes[28 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
    }
}
