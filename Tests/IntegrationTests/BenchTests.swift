import Foundation
import Testing

/// Keeps the benchmark guest building and running and `keel bench` writing its JSON; it does
/// not judge the timings (figures are for the README, not assertions).
@Suite("Benchmarks run")
struct BenchTests {
    @Test("keel bench runs the bench guest in both trace modes and writes every figure")
    func benchRuns() throws {
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("keel-bench-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: json) }
        let run = try runKeel(["bench", "--guest", Repo.guest("bench"), "--records", "20000", "--json", json])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let results = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        let round = try #require(results["round_trip_instructions"] as? [String: [String: Double]])
        #expect(Set(round.keys) == ["hvc_null", "hvc_psci_version", "mmio_uart_read", "mmio_uart_write", "sysreg_id_read"])
        for (name, modes) in round {
            #expect((modes["counters"] ?? 0) > 0, "\(name)")
            #expect((modes["full_trace"] ?? 0) > (modes["counters"] ?? 0), "\(name): full tracing costs something")
        }
        #expect((results["decoder_records_per_second"] as? Double ?? 0) > 0)
    }
}
