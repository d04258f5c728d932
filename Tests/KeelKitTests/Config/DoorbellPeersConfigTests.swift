import Foundation
import Testing
import KeelCore
@testable import KeelKit

/// `doorbell_peers` on a `[[vm]]` (issue 12, item 10): read, checked, and packed into the VM
/// table the firmware derives each VM's doorbell peers from.
@Suite("doorbell_peers in the config and the VM table")
struct DoorbellPeersConfigTests {
    /// Three raw VMs a, b, c on CPUs 0-2; `a` and `b` share a region.
    static func three(a: String = "", b: String = "", c: String = "") -> String {
        var text = "board = \"qemu-virt\"\n"
        for (i, (name, extra)) in [("a", a), ("b", b), ("c", c)].enumerated() {
            text += """

                [[vm]]
                name = "\(name)"
                cpus = [\(i)]
                memory = { base = 0x4000_0000, size = "16M" }
                kernel = "raw.bin"
                kind = "raw"
                \(extra)

                """
        }
        return text + """

            [[shared_memory]]
            name = "ring"
            size = "4K"
            ipa = 0x7000_0000
            vms = ["a", "b"]
            """
    }

    /// Each VM's doorbell peers as the firmware derives them from the packed table.
    static func packedPeers(_ system: ValidatedSystem) throws -> [UInt32] {
        let bytes = try SystemImage.manifest(for: system).bytes()
        return try bytes.withSpan { raw in
            let limits = SystemManifest.Limits(cpus: 8, dramBase: 0x4000_0000, dramSize: 0x4000_0000, reservedStart: 0x4008_0000, reservedEnd: 0x4010_0000)
            let m = try SystemManifest.open(raw, limits)
            return (0..<m.count).map { m.doorbellPeers(of: $0) }
        }
    }

    @Test("read by name; absent is nil, empty is empty")
    func read() throws {
        let fixture = try ConfigFixture()
        let system = try fixture.validate(Self.three(a: "doorbell_peers = [\"c\", \"b\"]", b: "doorbell_peers = []"))
        #expect(system.config.vms.map(\.doorbellPeers) == [["c", "b"], [], nil])
    }

    @Test("packed: the default from shared memory, an explicit list instead of it, itself always")
    func packed() throws {
        let fixture = try ConfigFixture()
        #expect(try Self.packedPeers(try fixture.validate(Self.three())) == [0b011, 0b011, 0b100])
        #expect(try Self.packedPeers(try fixture.validate(Self.three(a: "doorbell_peers = [\"c\"]", b: "doorbell_peers = []", c: "doorbell_peers = [\"a\", \"c\"]")))
                == [0b101, 0b010, 0b101])
    }

    @Test("names that are no VM of the file, and values that are no name, are refused with a fix")
    func refused() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.problems(Self.three(a: "doorbell_peers = [\"bb\", \"zzzzzz\"]")) == [
            "system.toml: vm \"a\" key doorbell_peers[0]: there is no vm \"bb\" (fix: did you mean \"b\"?)",
            "system.toml: vm \"a\" key doorbell_peers[1]: there is no vm \"zzzzzz\" (fix: name VMs of this file: a, b, c)",
        ])
        #expect(fixture.problems(Self.three(b: "doorbell_peers = [1]")) == [
            "system.toml: vm \"b\" key doorbell_peers[0]: the integer 1 is not a VM name (fix: list VM names, e.g. doorbell_peers = [\"rtos\"])",
        ])
        #expect(fixture.problems(Self.three(c: "doorbell_peers = \"a\"")).count == 1)
        #expect(fixture.problems(Self.three(c: "doorbel_peers = [\"a\"]")).first?.contains("key doorbel_peers: unknown key (fix: did you mean \"doorbell_peers\"?)") == true,
                "\(fixture.problems(Self.three(c: "doorbel_peers = [\"a\"]")))")
    }
}
