import Foundation
import Testing
import KeelCore
@testable import KeelKit

/// A Linux VM's `/chosen/rng-seed` in a packed image: fresh for an image booted once (`keel run
/// --config`), none for `keel pack`, whose image boots again and again (a seed in it would be
/// no secret). Without one, Linux on more vCPUs than host cores spins on its RNG's lock.
@Suite("Linux VMs' rng-seed in packed images")
struct PackedRNGSeedTests {
    /// The rng-seed bytes of the fixture Linux VM's packed device tree, nil when it has none.
    static func seed(fresh: Bool) throws -> [UInt8]? {
        let fixture = try ConfigFixture()
        let system = try fixture.validate(linuxVM)
        let writer = try SystemImage.bundle(for: system.vms[0], board: system.board.board, freshRNGSeed: fresh)
        let blob = try #require(writer.images.last { $0.kind == .deviceTree }?.bytes)
        return blob.withSpan { raw -> [UInt8]? in
            guard let fdt = FDT(raw), let value = fdt.property(path: "/chosen", name: "rng-seed") else { return nil }
            return (0..<value.count).map { value[$0] }
        }
    }

    @Test("keel pack writes none; a run's image gets 64 bytes, different each time")
    func seeds() throws {
        #expect(try Self.seed(fresh: false) == nil)
        let first = try #require(try Self.seed(fresh: true))
        let second = try #require(try Self.seed(fresh: true))
        #expect(first.count == LinuxGuest.rngSeedSize && second.count == LinuxGuest.rngSeedSize)
        #expect(first != second)
    }
}
