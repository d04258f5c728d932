import ArgumentParser
import Foundation
import KeelKit

/// `keel bench virtio-net`: TCP throughput between two Linux frontends through keel-dm's
/// switch (VirtioNetBench), in wall time.
struct BenchVirtioNet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "virtio-net",
        abstract: "TCP throughput between two Linux frontends on one virtio-net network served by keel-dm (wall time).",
        discussion: """
            Boots a device-model VM (CPU 0) and two Debian frontends (CPUs 1 and 2) with `keel run \
            --config`, no -icount. The sender sends a random payload to the receiver with busybox \
            nc; the figure is the payload over the sender's uptime around its nc (connect to the \
            receiver's close), in MiB/s, the median of --runs boots. A run counts only if the \
            receiver's SHA-256 of the payload is the host's.
            """
    )

    @Option(help: "The Linux arm64 Image.") var kernel = LinuxFetch(cache: LinuxFetch.defaultCache).imagePath
    @Option(help: "The `keel linux fetch` cache (busybox, the virtio modules).") var cache = LinuxFetch.defaultCache
    @Option(help: "MiB sent in each run.") var mib = VirtioNetBench.defaultBenchPayloadBytes >> 20
    @Option(help: "Boots of the system; the figure is their median.") var runs = 3
    @Option(help: "Seconds before a boot that has not powered off is stopped.") var timeout: Double = 600
    @Option(help: "Where to merge the JSON results (key virtio_net).") var json = "build/bench/results.json"

    func run() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard mib >= 1, mib <= 64 else { throw ValidationError("--mib must be 1 to 64 (the payload sits in the sender's initramfs and the receiver's RAM)") }
        guard FileManager.default.fileExists(atPath: kernel) else { throw failure("no kernel at \(kernel): run `make linux` (or `keel linux fetch`) first", .noInput) }
        let keel = Bundle.main.executablePath ?? CommandLine.arguments[0]
        var results: [VirtioNetBench.Run] = []
        do {
            for n in 1...runs {
                let run = try VirtioNetBench.run(keel: keel, kernel: kernel, cache: cache, payloadBytes: mib << 20, timeout: timeout)
                print(String(format: "  run %d: %d MiB in %.2f s: %.2f MiB/s (keel run %.1f s wall)", n, mib, run.seconds, run.mibPerSecond, run.wall))
                results.append(run)
            }
        } catch let error as KeelError {
            throw failure(error)
        }
        let section = VirtioNetBench.jsonSection(results)
        print(String(format: "virtio-net TCP between frontends: %.2f MiB/s (median of %d, %d MiB each, %d host cores, no -icount)",
                     section["mib_per_second"] as? Double ?? .nan, runs, mib, ProcessInfo.processInfo.activeProcessorCount))
        try Bench.mergeResults(["virtio_net": section], into: json)
        print("results: \(json)")
    }
}
