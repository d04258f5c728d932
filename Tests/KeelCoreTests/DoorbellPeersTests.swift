import Testing
import KeelCore

/// Who may ring whom with Keel's doorbell (issue 12, item 10): the mask the firmware derives per
/// VM from the packed VM table (`SystemManifest.doorbellPeers`), and the table's checks of the
/// fields it reads it from. The tables here are built byte by byte, as the firmware sees them.
@Suite("Doorbell peers from the VM table")
struct DoorbellPeersTests {
    @Test("by default the VMs of the shared regions a VM is in, and itself")
    func derivedFromSharing() {
        // Alone: itself only.
        #expect(SystemManifest.doorbellPeers(of: 0, count: 1, explicit: nil, sharing: 0) == 0b1)
        // Sharing nothing: itself only.
        #expect(SystemManifest.doorbellPeers(of: 2, count: 4, explicit: nil, sharing: 0) == 0b0100)
        // In a region with VM 0 and one with VM 3.
        #expect(SystemManifest.doorbellPeers(of: 1, count: 4, explicit: nil, sharing: 0b0011 | 0b1010) == 0b1011)
    }

    @Test("an explicit list replaces the default, itself always added; an empty one leaves only itself")
    func explicitList() {
        #expect(SystemManifest.doorbellPeers(of: 1, count: 3, explicit: 0b100, sharing: 0b011) == 0b110)
        #expect(SystemManifest.doorbellPeers(of: 1, count: 3, explicit: 0, sharing: 0b011) == 0b010)
    }

    @Test("never a VM past the table, nor anything for an index outside it")
    func boundaries() {
        #expect(SystemManifest.doorbellPeers(of: 0, count: 2, explicit: ~0, sharing: 0) == 0b11)
        #expect(SystemManifest.doorbellPeers(of: 1, count: 2, explicit: nil, sharing: ~0) == 0b11)
        #expect(SystemManifest.doorbellPeers(of: 2, count: 2, explicit: nil, sharing: 0) == 0)
        #expect(SystemManifest.doorbellPeers(of: -1, count: 2, explicit: nil, sharing: 0) == 0)
        #expect(SystemManifest.doorbellPeers(of: 0, count: 0, explicit: nil, sharing: 0) == 0)
        #expect(SystemManifest.doorbellPeers(of: 31, count: 32, explicit: nil, sharing: 0) == 1 << 31)
        #expect(SystemManifest.doorbellPeers(of: 0, count: 32, explicit: ~0, sharing: 0) == ~0)
        #expect(SystemManifest.doorbellPeers(of: 0, count: 33, explicit: nil, sharing: 0) == 0)
    }

    // MARK: The table

    static let limits = SystemManifest.Limits(cpus: 4, dramBase: 0x4000_0000, dramSize: 0x4000_0000,
                                              reservedStart: 0x4008_0000, reservedEnd: 0x4010_0000)

    /// A table of the current version (no devices: a version-2 table with version 3 in it) of `count` one-CPU VMs (16 MiB each from PA 0x5000_0000, empty
    /// bundles), `regions` (VM masks; 4 KiB each after the VMs' RAM, at IPA 0x7000_0000 + k MiB)
    /// and each VM's doorbell (peers, flags) words.
    static func table(count: Int, regions: [UInt32] = [], doorbell: [(UInt32, UInt32)] = [], version: UInt32 = SystemManifest.version) -> [UInt8] {
        let tables = SystemManifest.tablesSize(count: count, regions: regions.count)
        var out = [UInt8](repeating: 0, count: tables)
        func put(_ value: UInt64, _ width: Int, at offset: Int) {
            for i in 0..<width { out[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
        put(SystemManifest.magic, 8, at: 0)
        put(UInt64(version), 4, at: 8)
        put(UInt64(SystemManifest.headerSize), 4, at: 12)
        put(UInt64(tables), 8, at: 16)
        put(UInt64(count), 4, at: 24)
        put(UInt64(regions.count), 4, at: 32)
        for i in 0..<count {
            let at = SystemManifest.headerSize + i * SystemManifest.recordSize
            out[at] = UInt8(ascii: "a") + UInt8(i)
            put(UInt64(i), 4, at: at + 16)
            put(1, 4, at: at + 20)
            put(0x4000_0000, 8, at: at + 24)
            put(0x5000_0000 + UInt64(i) << 24, 8, at: at + 32)
            put(16 << 20, 8, at: at + 40)
            put(UInt64(tables), 8, at: at + 48)
            if i < doorbell.count {
                put(UInt64(doorbell[i].0), 4, at: at + 72)
                put(UInt64(doorbell[i].1), 4, at: at + 76)
            }
        }
        for (k, vms) in regions.enumerated() {
            let at = SystemManifest.headerSize + count * SystemManifest.recordSize + k * SystemManifest.regionSize
            put(0x5000_0000 + UInt64(count) << 24 + UInt64(k) << 12, 8, at: at)
            put(0x1000, 8, at: at + 8)
            put(0x7000_0000 + UInt64(k) << 20, 8, at: at + 16)
            put(UInt64(vms), 4, at: at + 24)
        }
        let crc = SystemManifest.headerChecksum(out.span, count: count, regions: regions.count)
        put(UInt64(crc), 4, at: 28)
        return out
    }

    /// Each VM's peers, or the table's problem.
    static func peers(_ bytes: [UInt8]) -> Result<[UInt32], SystemManifest.Problem> {
        do {
            do throws(SystemManifest.Problem) {
                let m = try SystemManifest.open(bytes.span, limits)
                return .success((0..<m.count).map { m.doorbellPeers(of: $0) })
            } catch {
                return .failure(error)
            }
        }
    }

    @Test("a table's VMs get their peers from its shared regions, or from their explicit list")
    func fromTable() throws {
        // Regions: {0, 1} and {1, 2}; VM 3 shares nothing.
        #expect(try Self.peers(Self.table(count: 4, regions: [0b0011, 0b0110])).get() == [0b0011, 0b0111, 0b0110, 0b1000])
        // VM 0 lists VM 2 only; VM 3 lists none (empty, explicit); the others as shared.
        let explicit = Self.table(count: 4, regions: [0b0011, 0b0110], doorbell: [(0b0100, 1), (0, 0), (0, 0), (0, 1)])
        #expect(try Self.peers(explicit).get() == [0b0101, 0b0111, 0b0110, 0b1000])
        // The record reads back what the packer wrote.
        do {
            let m = try! SystemManifest.open(explicit.span, Self.limits)
            #expect(m.record(0).doorbellPeers == 0b0100 && m.record(1).doorbellPeers == nil && m.record(3).doorbellPeers == 0)
        }
    }

    @Test("peers naming VMs past the table, unknown flags, peers without the flag, or a version-1 table are refused")
    func refused() {
        #expect(Self.peers(Self.table(count: 2, doorbell: [(0b11, 1), (0b01, 1)])) == .success([0b11, 0b11]))
        #expect(Self.peers(Self.table(count: 2, doorbell: [(0b100, 1)])) == .failure(.doorbellPeers(0)))
        #expect(Self.peers(Self.table(count: 2, doorbell: [(0, 0), (1 << 31, 1)])) == .failure(.doorbellPeers(1)))
        #expect(Self.peers(Self.table(count: 2, doorbell: [(0, 2)])) == .failure(.doorbellPeers(0)))
        #expect(Self.peers(Self.table(count: 2, doorbell: [(0b10, 0)])) == .failure(.doorbellPeers(0)))
        #expect(Self.peers(Self.table(count: 2, version: 1)) == .failure(.badVersion))
    }
}
