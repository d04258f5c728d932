import Foundation
import KeelCore
import KeelKit
import Testing

/// virtio-net end to end (issue 15): two Debian Linux frontends, each with one virtio-net
/// device on the network "lan", switched by keel-dm in a device-model VM (the system of
/// `VirtioNetBench`, which `keel bench virtio-net` times). They ping each other both ways and
/// the sender sends 4 MiB of random bytes over TCP with busybox `nc`; the receiver's SHA-256,
/// printed and sent back to the sender, must be the host's.
@Suite("virtio-net between two frontends served by a device-model VM")
struct VirtioNetTests {
    @Test("two frontends on one network ping each other and move 4 MiB over TCP with the same SHA-256")
    func pingAndTCP() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        typealias B = VirtioNetBench
        let scratch = try PackTests.Scratch()
        let (config, hash) = try B.prepare(in: scratch.path(""), kernel: LinuxTests.kernel, cache: Repo.path(LinuxFetch.defaultCache),
                                           payloadBytes: B.testPayloadBytes)

        let started = Date()
        let run = try runKeel(["run", "--config", config, "--timeout", "600"])
        let wall = Date().timeIntervalSince(started)
        let out = run.stdout
        #expect(run.status == 0, "\(run.stderr)\n\(out.suffix(6000))")
        #expect(out.contains("keel-dm: serving 2 devices"), "\(out.suffix(6000))")
        // Each frontend has its own MAC (VMs 1 and 2, transport 0): a switch needs them distinct.
        let macs = [1, 2].map { DeviceModelInitramfs.mac(frontend: $0, transport: 0) }
        #expect(macs[0] != macs[1])
        #expect(out.contains("\(B.senderTag): eth0 \(macs[0])") && out.contains("\(B.receiverTag): eth0 \(macs[1])"), "\(out.suffix(6000))")
        #expect(out.contains("\(B.senderTag): ping \(B.receiverAddress) ok"), "\(out.suffix(6000))")
        #expect(out.contains("\(B.receiverTag): ping \(B.senderAddress) ok"), "\(out.suffix(6000))")
        #expect(out.contains("\(B.receiverTag): received \(B.testPayloadBytes) bytes sha256 \(hash)"), "\(out.suffix(6000))")
        #expect(out.contains("\(B.senderTag): receiver says sha256 \(hash)"), "\(out.suffix(6000))")
        #expect(!out.contains("did not answer"), "no forwarded access timed out")
        for line in run.lines where !line.contains("Kernel command line:") {
            for word in LinuxTests.trouble { #expect(!line.contains(word), "guest log: \(line)") }
        }
        let figure = try #require(B.sent(out), "\(out.suffix(6000))")
        #expect(figure.bytes == B.testPayloadBytes)
        print(String(format: "virtio-net TCP: %d bytes in %.2f s of the sender's uptime: %.2f MiB/s (whole run %.0f s wall)",
                     figure.bytes, Double(figure.centiseconds) / 100, B.mibPerSecond(bytes: figure.bytes, centiseconds: figure.centiseconds), wall))
    }
}
