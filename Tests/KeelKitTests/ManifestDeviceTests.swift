import Foundation
import KeelCore
import Testing
@testable import KeelKit

/// The VM table's passed-through devices (version 3): MMIO ranges and SPIs, each with its VM,
/// written by `keel pack` and checked by the firmware before any VM starts.
@Suite("VM table: devices passed through")
struct ManifestDeviceTests {
    /// qemu-virt as the firmware sees it with a GICv3: its console and GIC frames are Keel's.
    static var limits: SystemManifest.Limits {
        var limits = SystemManifestTests.limits
        limits.ipaLimit = 1 << 40
        limits.paLimit = 1 << 40
        limits.keelDevices[0] = (0x0900_0000, 0x1000)
        limits.keelDevices[1] = (0x0800_0000, 0x1_0000)
        limits.keelDevices[2] = (0x080A_0000, 4 * 0x2_0000)
        limits.keelDeviceCount = 3
        limits.emulatedIPABase = 0x0800_0000
        limits.emulatedIPASize = 0x0900_1000 - 0x0800_0000
        return limits
    }

    static func table(_ devices: [SystemManifest.DeviceRange], _ interrupts: [SystemManifest.Interrupt] = [],
                      regions: [SystemManifest.Region] = []) -> Data {
        var w = SystemManifestWriter()
        w.vms = [SystemManifestTests.vm("linux", cpu: 0, pa: 0x6000_0000), SystemManifestTests.vm("probe", cpu: 1, pa: 0x5000_0000)]
        w.vms[0].ramIPA = 0x6000_0000  // identity-mapped
        w.devices = devices
        w.interrupts = interrupts
        w.regions = regions
        return w.bytes()
    }

    static func problem(_ bytes: Data) -> SystemManifest.Problem? {
        SystemManifestTests.problem(SystemManifestTests.open(bytes, limits: limits))
    }

    static let disk = SystemManifest.DeviceRange(pa: 0x0A00_3000, size: 0x1000, ipa: 0x0A00_3000, vm: 0)

    @Test("a written device table reads back: ranges and interrupts with their VMs")
    func roundTrip() throws {
        let bytes = Self.table([Self.disk, .init(pa: 0x0901_0000, size: 0x1000, ipa: 0x0901_0000, vm: 1)],
                               [.init(intid: 79, vm: 0), .init(intid: 34, vm: 1)])
        let m = try bytes.withSpan { raw throws(SystemManifest.Problem) in try SystemManifest.open(raw, Self.limits) }
        #expect(m.deviceCount == 2 && m.interruptCount == 2)
        #expect(m.device(0) == Self.disk)
        #expect(m.device(1).vm == 1 && m.device(1).pa == 0x0901_0000)
        #expect(m.interrupt(0) == .init(intid: 79, vm: 0) && m.interrupt(1) == .init(intid: 34, vm: 1))
        // Each VM's bundle still where its record says, past the longer tables.
        let range = m.bundle(1)
        #expect(bytes[bytes.startIndex + range.lowerBound ..< bytes.startIndex + range.upperBound] == Data("bundle of probe".utf8))
    }

    @Test("each way a device table can be wrong is refused, with its own reason")
    func refused() {
        #expect(Self.problem(Self.table([Self.disk], [.init(intid: 79, vm: 0)])) == nil)
        var d = Self.disk
        d.pa = 0x0A00_3E00; d.ipa = 0x0A00_3E00
        #expect(Self.problem(Self.table([d])) == .deviceNotAligned(0))
        d = Self.disk; d.size = 0
        #expect(Self.problem(Self.table([d])) == .deviceNotAligned(0))
        d = Self.disk; d.vm = 2
        #expect(Self.problem(Self.table([d])) == .deviceVM(0))
        d = Self.disk; d.pa = 0x4800_0000; d.ipa = 0x4800_0000
        #expect(Self.problem(Self.table([d])) == .deviceInDRAM(0))
        for keel: UInt64 in [0x0900_0000, 0x0800_0000, 0x080A_0000, 0x0811_F000] {
            d = Self.disk; d.pa = keel
            #expect(Self.problem(Self.table([d])) == .deviceOverKeel(0), "\(keel)")
        }
        d = Self.disk; d.pa = (1 << 40) - 0x1000; d.size = 0x2000
        #expect(Self.problem(Self.table([d])) == .deviceOutsidePA(0))
        // At the edges: the last page fits; one page more, or a sum that wraps past 2^64, does not.
        d = Self.disk; d.pa = (1 << 40) - 0x1000; d.size = 0x1000
        #expect(Self.problem(Self.table([d])) == nil)
        d = Self.disk; d.ipa = (1 << 40) - 0x1000; d.size = 0x1000
        #expect(Self.problem(Self.table([d])) == nil)
        d = Self.disk; d.ipa = (1 << 40) - 0x1000; d.size = 0x2000
        #expect(Self.problem(Self.table([d])) == .deviceOutsidePA(0))
        d = Self.disk; d.pa = 0xFFFF_FFFF_FFFF_F000; d.ipa = 0xFFFF_FFFF_FFFF_F000; d.size = 0x2000
        #expect(Self.problem(Self.table([d])) == .deviceOutsidePA(0))
        d = Self.disk; d.size = 0xFFFF_FFFF_FFFF_F000
        #expect(Self.problem(Self.table([d])) == .deviceOutsidePA(0))
        // Its guest address: not over its VM's RAM, Keel's emulated devices or a shared region.
        d = Self.disk; d.ipa = 0x6000_0000
        #expect(Self.problem(Self.table([d])) == .deviceIPAOverlap(0))
        d = Self.disk; d.ipa = 0x0900_0000
        #expect(Self.problem(Self.table([d])) == .deviceIPAOverlap(0))
        d = Self.disk; d.ipa = 0x7000_0000
        #expect(Self.problem(Self.table([d], regions: [.init(pa: 0x5800_0000, size: 0x1_0000, ipa: 0x7000_0000, vms: 3)])) == .deviceIPAOverlap(0))
        // The same page twice (for another VM too).
        var other = Self.disk
        other.vm = 1
        #expect(Self.problem(Self.table([Self.disk, other])) == .deviceOverlap(1))
        // Interrupts: SPIs the vGIC has, not Keel's, each once, for a VM that exists.
        for intid: UInt32 in [27, 33, 47, 96, 1020] {
            #expect(Self.problem(Self.table([Self.disk], [.init(intid: intid, vm: 0)])) == .interruptNotPassable(0), "\(intid)")
        }
        #expect(Self.problem(Self.table([Self.disk], [.init(intid: 79, vm: 2)])) == .interruptVM(0))
        #expect(Self.problem(Self.table([Self.disk], [.init(intid: 79, vm: 0), .init(intid: 79, vm: 1)])) == .interruptTwice(1))
        // More than the firmware has room for.
        let many = (0..<9).map { SystemManifest.DeviceRange(pa: 0x0A00_0000 + UInt64($0) * 0x1000, size: 0x1000, ipa: 0x0A00_0000 + UInt64($0) * 0x1000, vm: 0) }
        #expect(Self.problem(Self.table(many)) == .badDeviceCount)
        #expect(SystemManifest.Problem.deviceOverKeel(0).message.description == "a passed-through device range overlaps Keel's console or the GIC")
    }
}
