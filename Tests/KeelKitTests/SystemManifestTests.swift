import Foundation
import Testing
import KeelCore
@testable import KeelKit

/// The firmware's reader of the VM table (KeelCore) against what `keel pack` writes (KeelKit).
@Suite("Several VMs: the VM table the firmware checks")
struct SystemManifestTests {
    static let limits = SystemManifest.Limits(cpus: 4, dramBase: 0x4000_0000, dramSize: 0x4000_0000,
                                              reservedStart: 0x4008_0000, reservedEnd: 0x4010_0000)

    static func vm(_ name: String, cpu: Int, count: Int = 1, pa: UInt64, size: UInt64 = 16 << 20) -> SystemManifestWriter.VM {
        SystemManifestWriter.VM(name: name, firstCPU: cpu, cpuCount: count, ramIPA: 0x4000_0000, ramPA: pa, ramSize: size,
                                bundle: Data("bundle of \(name)".utf8))
    }

    static func open(_ bytes: Data, limits: SystemManifest.Limits = limits) -> Result<[SystemManifest.VMRecord], SystemManifest.Problem> {
        bytes.withSpan { raw in
            do throws(SystemManifest.Problem) {
                let m = try SystemManifest.open(raw, limits)
                return .success((0..<m.count).map { m.record($0) })
            } catch {
                return .failure(error)
            }
        }
    }

    static func problem(_ result: Result<[SystemManifest.VMRecord], SystemManifest.Problem>) -> SystemManifest.Problem? {
        if case .failure(let p) = result { return p }
        return nil
    }

    @Test("a written table reads back: CPUs, RAM, names and each VM's bundle bytes")
    func roundTrip() throws {
        var writer = SystemManifestWriter()
        writer.vms = [Self.vm("linux", cpu: 0, count: 2, pa: 0x5000_0000, size: 256 << 20), Self.vm("rtos", cpu: 2, pa: 0x6000_0000)]
        let bytes = writer.bytes()
        let records = try Self.open(bytes).get()
        #expect(records.count == 2)
        #expect(records[0].firstCPU == 0 && records[0].cpuCount == 2 && records[0].ramPA == 0x5000_0000 && records[0].ramSize == 256 << 20)
        #expect(records[1].firstCPU == 2 && records[1].ramIPA == 0x4000_0000)
        let m = try! bytes.withSpan { raw throws(SystemManifest.Problem) in try SystemManifest.open(raw, Self.limits) }
        let name = m.name(1)
        #expect((0..<name.count).map { name.field[$0] } == Array("rtos".utf8))
        #expect(name.field[name.count] == 0)
        let range = m.bundle(0)
        #expect(bytes[bytes.startIndex + range.lowerBound ..< bytes.startIndex + range.upperBound] == Data("bundle of linux".utf8))
        #expect(range.lowerBound % 4096 == 0)
    }

    @Test("each way a table can be wrong is refused, with its own reason")
    func problems() {
        func table(_ vms: [SystemManifestWriter.VM]) -> Data {
            var w = SystemManifestWriter()
            w.vms = vms
            return w.bytes()
        }
        let good = table([Self.vm("a", cpu: 0, pa: 0x5000_0000), Self.vm("b", cpu: 1, pa: 0x5100_0000)])
        #expect(Self.problem(Self.open(good)) == nil)
        #expect(Self.problem(Self.open(table([]))) == .badCount)
        #expect(Self.problem(Self.open(table((0..<5).map { Self.vm("v", cpu: $0, pa: 0x5000_0000 + UInt64($0) << 24) }))) == .badCount)
        #expect(Self.problem(Self.open(table([Self.vm("a", cpu: 0, count: 2, pa: 0x5000_0000), Self.vm("b", cpu: 1, pa: 0x5100_0000)]))) == .cpuTwice(0, 1))
        #expect(Self.problem(Self.open(table([Self.vm("a", cpu: 3, count: 2, pa: 0x5000_0000)]))) == .cpusNotOnBoard(0))
        #expect(Self.problem(Self.open(table([Self.vm("a", cpu: 0, pa: 0x5000_0000), Self.vm("b", cpu: 1, pa: 0x5080_0000)]))) == .ramOverlap(0, 1))
        #expect(Self.problem(Self.open(table([Self.vm("a", cpu: 0, pa: 0x5010_0000)]))) == .ramNotAligned(0))
        #expect(Self.problem(Self.open(table([Self.vm("a", cpu: 0, pa: 0x8000_0000)]))) == .ramOutsideDRAM(0))
        #expect(Self.problem(Self.open(table([Self.vm("a", cpu: 0, pa: 0x7F00_0000, size: 32 << 20)]))) == .ramOutsideDRAM(0))
        #expect(Self.problem(Self.open(table([Self.vm("a", cpu: 0, pa: 0x4000_0000, size: 2 << 20)]))) == .ramOverKeel(0))
        var bad = good
        bad[0] ^= 1
        #expect(Self.problem(Self.open(bad)) == .badMagic)
        bad = good
        bad[64 + 32] ^= 0x10  // vm a's RAM PA, without resealing
        #expect(Self.problem(Self.open(bad)) == .badChecksum)
        #expect(Self.problem(Self.open(good.prefix(100))) == .tooSmall)
    }

    @Test("shared regions read back and are refused over Keel, a VM's RAM, its IPA space or another region")
    func regions() throws {
        func table(_ regions: [SystemManifest.Region]) -> Data {
            var w = SystemManifestWriter()
            w.vms = [Self.vm("a", cpu: 0, pa: 0x5000_0000), Self.vm("b", cpu: 1, pa: 0x5100_0000)]
            w.regions = regions
            return w.bytes()
        }
        let ring = SystemManifest.Region(pa: 0x5200_0000, size: 0x1_0000, ipa: 0x7000_0000, vms: 3)
        let good = table([ring])
        try good.withSpan { raw in
            let m = try SystemManifest.open(raw, Self.limits)
            #expect(m.regionCount == 1 && m.region(0) == ring)
        }
        var r = ring
        r.pa = 0x5100_8000
        #expect(Self.problem(Self.open(table([r]))) == .regionOverlap(0))            // over vm b's RAM
        r = ring
        r.pa = 0x4008_0000
        #expect(Self.problem(Self.open(table([r]))) == .regionOverlap(0))            // over Keel
        r = ring
        r.ipa = 0x4000_8000
        #expect(Self.problem(Self.open(table([r]))) == .regionOverRAM(0))            // over the VMs' RAM IPAs
        r = ring
        r.vms = 4
        #expect(Self.problem(Self.open(table([r]))) == .regionVMs(0))                // VM 2 does not exist
        r = ring
        r.size = 100
        #expect(Self.problem(Self.open(table([r]))) == .regionNotAligned(0))
        #expect(Self.problem(Self.open(table([ring, ring]))) == .regionOverlap(1))
        #expect(Self.problem(Self.open(table(Array(repeating: ring, count: 5)))) == .badRegionCount)
    }

    @Test("seeded random damage is refused or reads within bounds, never a crash", arguments: 1...4)
    func randomDamage(seed: UInt64) {
        var writer = SystemManifestWriter()
        writer.vms = [Self.vm("a", cpu: 0, count: 2, pa: 0x5000_0000), Self.vm("b", cpu: 2, pa: 0x5200_0000)]
        let good = writer.bytes()
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        for _ in 0..<2000 {
            var bytes = good
            for _ in 0..<(1 + Int(next() % 3)) { bytes[Int(next() % 192)] = UInt8(truncatingIfNeeded: next()) }
            // Reseal half the time, so the checks behind the checksum are reached too.
            if next() & 1 == 0 {
                for i in 28..<32 { bytes[i] = 0 }
                let count = min(Int(bytes[24]), 2)
                let crc = bytes.withSpan { SystemManifest.headerChecksum($0, count: count) }
                for i in 0..<4 { bytes[28 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
            }
            if case .success(let records) = Self.open(bytes) {
                for r in records {
                    #expect(r.bundleOffset + r.bundleSize <= UInt64(bytes.count))
                    #expect(r.firstCPU + r.cpuCount <= Self.limits.cpus)
                }
            }
        }
    }
}
