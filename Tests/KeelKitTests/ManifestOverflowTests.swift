import Foundation
import Testing
import KeelCore
@testable import KeelKit

/// The VM table's checks of every sum of two untrusted values, at the edge where the sum would
/// wrap (or pass the IPA space) and one step below (issue 17: a VM with RAM at IPA
/// 0xFFFFFFFFFFE00000 named in a shared region, or past the stage-2 IPA space, made the firmware
/// trap or panic instead of refusing the image).
@Suite("VM table: sums at the edge")
struct ManifestOverflowTests {
    static let twoMiB: UInt64 = 2 << 20

    static func table(ipa: UInt64 = 0x4000_0000, size: UInt64 = 2 << 20, regions: [SystemManifest.Region] = []) -> Data {
        var w = SystemManifestWriter()
        var b = SystemManifestTests.vm("b", cpu: 1, pa: 0x5100_0000, size: size)
        b.ramIPA = ipa
        w.vms = [SystemManifestTests.vm("a", cpu: 0, pa: 0x5000_0000), b]
        w.regions = regions
        return w.bytes()
    }

    static func problem(_ bytes: Data, _ limits: SystemManifest.Limits = SystemManifestTests.limits) -> SystemManifest.Problem? {
        SystemManifestTests.problem(SystemManifestTests.open(bytes, limits: limits))
    }

    static var stage2Limits: SystemManifest.Limits {
        var l = SystemManifestTests.limits
        l.ipaLimit = 1 << 40
        return l
    }

    @Test("VM RAM at IPA 0xFFFFFFFFFFE00000 in a shared region (the issue's image): refused, not a trap")
    func issueImage() {
        let ring = SystemManifest.Region(pa: 0x5200_0000, size: 0x1_0000, ipa: 0x7000_0000, vms: 3)
        #expect(Self.problem(Self.table(ipa: 0xFFFF_FFFF_FFE0_0000, regions: [ring])) == .ramIPAOverflow(1))
    }

    @Test("RAM IPA + size: 2^64 is refused, 2^64 - 2 MiB is not (no IPA limit); the stage-2 limit: equal is fine, past is not")
    func ramEdges() {
        #expect(Self.problem(Self.table(ipa: 0xFFFF_FFFF_FFE0_0000)) == .ramIPAOverflow(1))
        #expect(Self.problem(Self.table(ipa: 0xFFFF_FFFF_FFC0_0000)) == nil)
        #expect(Self.problem(Self.table(ipa: 0xFFFF_FFFF_FFC0_0000), Self.stage2Limits) == .ramIPAOverflow(1))
        #expect(Self.problem(Self.table(ipa: (1 << 40) - Self.twoMiB), Self.stage2Limits) == nil)
        #expect(Self.problem(Self.table(ipa: 1 << 40), Self.stage2Limits) == .ramIPAOverflow(1))
    }

    @Test("shared region IPA + size: 2^64 is refused, one page below is not; past the stage-2 limit is refused")
    func regionEdges() {
        func region(ipa: UInt64) -> SystemManifest.Region { SystemManifest.Region(pa: 0x5200_0000, size: 0x1_0000, ipa: ipa, vms: 3) }
        #expect(Self.problem(Self.table(regions: [region(ipa: 0xFFFF_FFFF_FFFF_0000)])) == .regionIPAOverflow(0))
        #expect(Self.problem(Self.table(regions: [region(ipa: 0xFFFF_FFFF_FFFE_F000)])) == nil)
        #expect(Self.problem(Self.table(regions: [region(ipa: (1 << 40) - 0x1_0000)]), Self.stage2Limits) == nil)
        #expect(Self.problem(Self.table(regions: [region(ipa: (1 << 40) - 0xF000)]), Self.stage2Limits) == .regionIPAOverflow(0))
    }

    @Test("two shared regions of one VM at overlapping IPAs are refused (stage 2 could not map both); of different VMs they are fine")
    func regionIPAOverlap() {
        let a = SystemManifest.Region(pa: 0x5200_0000, size: 0x20_0000, ipa: 0x7000_0000, vms: 3)
        var b = SystemManifest.Region(pa: 0x5240_0000, size: 0x1_0000, ipa: 0x701F_0000, vms: 3)
        #expect(Self.problem(Self.table(regions: [a, b])) == .regionIPAOverlap(1))
        b.ipa = 0x7020_0000  // right after a: no overlap
        #expect(Self.problem(Self.table(regions: [a, b])) == nil)
        b.ipa = 0x701F_0000
        var c = a
        c.vms = 1
        b.vms = 2
        #expect(Self.problem(Self.table(regions: [c, b])) == nil)
    }

    @Test("RAM or a shared region over the GICv2 virtual CPU interface Keel maps is refused; right below it is fine")
    func deviceIPA() {
        var limits = SystemManifestTests.limits
        limits.deviceIPABase = 0x0801_0000
        limits.deviceIPASize = 0x2000
        #expect(Self.problem(Self.table(ipa: 0x0800_0000), limits) == .ipaOverDevice(1))
        #expect(Self.problem(Self.table(ipa: 0x0780_0000, size: 8 << 20), limits) == nil)  // ends at 0x0800_0000
        let over = SystemManifest.Region(pa: 0x5200_0000, size: 0x1000, ipa: 0x0801_1000, vms: 3)
        #expect(Self.problem(Self.table(regions: [over]), limits) == .ipaOverDevice(0))
        let below = SystemManifest.Region(pa: 0x5200_0000, size: 0x1000, ipa: 0x0800_F000, vms: 3)
        #expect(Self.problem(Self.table(regions: [below]), limits) == nil)
        // Without a device range, nothing is reserved.
        #expect(Self.problem(Self.table(ipa: 0x0800_0000)) == nil)
    }
}
