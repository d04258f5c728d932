import Foundation
import Testing

/// The HVC fast path in the lower-EL vector (hyp/arch/vectors.S, `keel_hvc_fast`) answers a few
/// hypercalls before the frame is saved. The same guest runs with counters (the fast path takes
/// what it can) and with full tracing (every HVC through the Swift path): the guest must see
/// the same registers after every call, Keel must count the same exits, and the trace must
/// record every one of them. Under `-icount` the fast calls must cost well under a Swift one,
/// or the fast path is not being taken at all.
@Suite("The HVC fast path answers as the Swift path does", .serialized)
struct HVCFastPathTests {
    /// Every call of the guest's table and the `hvc #1`, as the guest printed them.
    func answers(_ run: KeelRun) -> [String] {
        run.lines.filter { $0.hasPrefix("hvc_fast: 0x") }
    }

    func ticks(_ run: KeelRun, _ name: String) -> Int? {
        let prefix = "hvc_fast: ticks_\(name)=0x"
        return run.lines.first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count), radix: 16) }
    }

    /// The table's 16 calls, the hvc #1, 2 x 256 timed calls and SYSTEM_OFF.
    static let hvcExits = 16 + 1 + 512 + 1

    @Test("counters (fast path) and full tracing (Swift path) print the same answers, count and record every HVC",
          arguments: ["cortex-a72", "cortex-a53", "max"])
    func sameAsSwiftPath(cpu: String) throws {
        let icount = ["--cpu", cpu, "--qemu-arg", "-icount", "--qemu-arg", "shift=0"]
        let fast = try boot("hvc_fast", icount)
        #expect(fast.status == 0, "\(fast.stderr)")
        #expect(fast.lines.contains("hvc_fast: exceptions=0x0") && fast.lines.contains("hvc_fast: done"), "\(fast.stdout)")

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keel-hvc-fast-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let traced = try boot("hvc_fast", ["--cpu", cpu, "--trace", file])
        #expect(traced.status == 0, "\(traced.stderr)")

        // The same registers after every call, on either path, and the ones SMCCC and Keel's
        // Swift path define.
        let seen = answers(fast)
        #expect(seen.count == 17, "\(fast.stdout)")
        #expect(seen == answers(traced), "fast:\n\(seen.joined(separator: "\n"))\ntraced:\n\(answers(traced).joined(separator: "\n"))")
        let untouched = "x1=0x1111111111111111 x2=0x2222222222222222 x3=0x3333333333333333 kept=0x1"
        let notSupported = "x0=0xffffffffffffffff " + untouched
        for expected in [
            "hvc_fast: 0x80000000 x0=0x10001 " + untouched,
            "hvc_fast: 0x84000000 x0=0x10001 " + untouched,
            "hvc_fast: 0xffffffff84000000 x0=0x10001 " + untouched,
            "hvc_fast: 0xc6001234 " + notSupported,
            "hvc_fast: 0xc6000000 " + notSupported,
            "hvc_fast: 0xc6ffffff " + notSupported,
            "hvc_fast: 0xc600ff01 " + notSupported,
            "hvc_fast: 0x8600ff01 x0=0x6c65656b x1=0x7079682d x2=0x6d72612d x3=0x302e3876 kept=0x1",
            "hvc_fast: 0x8600ff03 x0=0x0 x1=0x1 x2=0x2222222222222222 x3=0x3333333333333333 kept=0x1",
            "hvc_fast: 0x86001234 " + notSupported,
            "hvc_fast: 0x4000000 " + notSupported,
            "hvc_fast: 0x84000000 " + notSupported,  // hvc #1
        ] {
            #expect(seen.contains(expected), "\(expected)")
        }

        // Counted alike, and recorded by the trace, fast ids included.
        #expect(fast.exitCounters["HVC64"] == Self.hvcExits, "\(fast.exitCounters)")
        #expect(traced.exitCounters["HVC64"] == Self.hvcExits, "\(traced.exitCounters)")
        let stats = try runKeel(["trace", "stats", file, "--json"])
        #expect(stats.status == 0, "\(stats.stderr)")
        let rows = try stats.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        func count(_ table: String, _ reason: String, _ key: String = "") -> Int? {
            rows.first { $0["table"] as? String == table && $0["reason"] as? String == reason && ($0["key"] as? String ?? "") == key }?["count"] as? Int
        }
        #expect(count("reason", "HVC64") == Self.hvcExits)
        #expect(count("key", "HVC64", "SMCCC_VERSION") == 1)
        #expect(count("key", "HVC64", "PSCI_VERSION") == 3 + 256)
        #expect(count("key", "HVC64", "function 0xc6001234") == 1)

        // Under -icount a tick is 16 instructions: 256 fast PSCI_VERSION calls (about 60 each
        // with the guest's loop) against 256 PSCI_FEATURES through Swift (about 180). Without
        // the fast path the two cost nearly the same.
        let version = try #require(ticks(fast, "psci_version")), features = try #require(ticks(fast, "psci_features"))
        #expect(version * 2 < features, "PSCI_VERSION \(version) ticks, PSCI_FEATURES \(features)")
    }
}
