import Foundation
import Testing
import KeelCore
@testable import KeelKit

/// Issue 12, item 9: the firmware's VM-table check also requires every VM's RAM and shared region
/// to lie in the memory Keel's EL2 map makes Normal (the 1 GiB block holding Keel), not only in
/// the machine's DRAM.
@Suite("Several VMs: RAM only where EL2 maps Normal memory")
struct ManifestNormalMemoryTests {
    /// 2 GiB of DRAM from 0x4000_0000, of which EL2 maps the first GiB (Keel's) Normal.
    static let limits = SystemManifest.Limits(cpus: 4, dramBase: 0x4000_0000, dramSize: 0x8000_0000,
                                              reservedStart: 0x4008_0000, reservedEnd: 0x4010_0000,
                                              normalBase: 0x4000_0000, normalSize: 0x4000_0000)

    static func table(_ vms: [SystemManifestWriter.VM], regions: [SystemManifest.Region] = []) -> Data {
        var w = SystemManifestWriter()
        w.vms = vms
        w.regions = regions
        return w.bytes()
    }

    static func problem(_ bytes: Data) -> SystemManifest.Problem? {
        SystemManifestTests.problem(SystemManifestTests.open(bytes, limits: limits))
    }

    @Test("RAM in DRAM but past the Normal block is refused with its own reason; inside it is accepted")
    func ram() {
        #expect(Self.problem(Self.table([SystemManifestTests.vm("a", cpu: 0, pa: 0x5000_0000)])) == nil)
        // The last 16 MiB of the block: still inside.
        #expect(Self.problem(Self.table([SystemManifestTests.vm("a", cpu: 0, pa: 0x7F00_0000)])) == nil)
        #expect(Self.problem(Self.table([SystemManifestTests.vm("a", cpu: 0, pa: 0x5000_0000),
                                         SystemManifestTests.vm("b", cpu: 1, pa: 0x8000_0000)])) == .ramNotNormal(1))
        // Straddling the block's end.
        #expect(Self.problem(Self.table([SystemManifestTests.vm("a", cpu: 0, pa: 0x7F00_0000, size: 32 << 20)])) == .ramNotNormal(0))
        // Outside DRAM altogether keeps its own reason.
        #expect(Self.problem(Self.table([SystemManifestTests.vm("a", cpu: 0, pa: 0xC000_0000)])) == .ramOutsideDRAM(0))
        #expect(SystemManifest.Problem.ramNotNormal(0).message.description.contains("EL2 map makes Normal"))
    }

    @Test("a shared region past the Normal block is refused")
    func region() {
        let vm = SystemManifestTests.vm("a", cpu: 0, pa: 0x5000_0000)
        #expect(Self.problem(Self.table([vm], regions: [SystemManifest.Region(pa: 0x6000_0000, size: 0x1000, ipa: 0x5000_0000, vms: 1)])) == nil)
        #expect(Self.problem(Self.table([vm], regions: [SystemManifest.Region(pa: 0x9000_0000, size: 0x1000, ipa: 0x5000_0000, vms: 1)]))
                == .regionNotNormal(0))
    }

    @Test("without a Normal range the whole of DRAM counts (host-side checks)")
    func defaults() {
        let limits = SystemManifest.Limits(cpus: 1, dramBase: 0x4000_0000, dramSize: 0x8000_0000, reservedStart: 0, reservedEnd: 0)
        #expect(limits.normalHolds(0x8000_0000, size: 0x4000_0000))
        #expect(!limits.normalHolds(0xA000_0000, size: 0x4000_0000))
        #expect(!limits.normalHolds(0x3FE0_0000, size: 0x20_0000))
    }
}
