import Foundation
import KeelCore
@testable import KeelKit
import Testing

/// The firmware's side of the device model (hyp/devmodel, docs/device-model.md): bare-metal
/// frontends touch their virtio transports, a bare-metal device model (Tests/Guests/dm_server.S)
/// serves them from its request page, and each side checks what it saw.
@Suite("Device-model forwarding: virtio transports served by another VM (issue 15)")
struct DeviceModelForwardingTests {
    /// The frontend on CPUs 0 and 1, the device model on CPU 2.
    static func config(frontend: String, server: String) -> String {
        """
        board = "qemu-virt"

        [[vm]]
        name = "fe"
        cpus = [0, 1]
        memory = { base = 0x4000_0000, size = "16M" }
        kernel = "\(Repo.guest(frontend))"
        kind = "raw"

        [[vm]]
        name = "dm"
        cpus = [2]
        memory = { base = 0x4000_0000, size = "16M" }
        kernel = "\(Repo.guest(server))"
        kind = "raw"

        """
    }

    /// `config` packed with `virtio` in its VM table (the records the config's `[[vm.virtio]]`
    /// tables become; nil: the config's own), written into the scratch folder.
    static func image(_ config: String, virtio: [SystemManifest.Virtio]?, powerOffWith: Int? = nil,
                      in scratch: PackTests.Scratch) throws -> String {
        let system = try SystemPack.load(try scratch.config(config))
        var writer = try SystemImage.manifest(for: system)
        if let virtio { writer.virtio = virtio }
        writer.powerOffWith = powerOffWith
        let firmware = try Data(contentsOf: URL(fileURLWithPath: Repo.firmware))
        let header = try LinuxBoot.Header(firmware, name: Repo.firmware)
        let offset = (header.imageSize + SystemImage.bundleAlignment - 1) / SystemImage.bundleAlignment * SystemImage.bundleAlignment
        var bytes = firmware
        bytes.append(Data(count: Int(offset) - firmware.count))
        bytes.append(writer.bytes())
        let total = UInt64(bytes.count)
        for i in 0..<8 { bytes[16 + i] = UInt8(truncatingIfNeeded: total >> (8 * UInt64(i))) }
        let path = scratch.path("dm.img")
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    static func record(type: UInt32, timeoutMs: UInt32) -> SystemManifest.Virtio {
        SystemManifest.Virtio(frontend: 0, servedBy: 1, type: type, timeoutMs: timeoutMs, network: 0)
    }

    /// The first instruction word of a guest binary, as the device model reads it through its
    /// window onto the frontend's RAM.
    static func firstWord(_ guest: String) throws -> UInt32 {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Repo.guest(guest)))
        return bytes.prefix(4).enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }

    static func value(_ run: KeelRun, _ prefix: String) -> UInt64? {
        guard let line = run.lines.first(where: { $0.hasPrefix(prefix) }) else { return nil }
        return UInt64(line.dropFirst(prefix.count).dropFirst(2), radix: 16)
    }

    @Test("two vCPUs hammer two transports at once and every answer is right; past the transports and unaligned is an abort; the DM calls are not the frontend's; NOTIFY raises 80 + k; a hostile device model is refused; once it is off every access fails at once",
          arguments: ["dm_server", "dm_server_poll", "dm_server_answers"])
    func served(server: String) throws {
        let scratch = try PackTests.Scratch()
        let image = try Self.image(Self.config(frontend: "dm_frontend", server: server),
                                   virtio: [Self.record(type: 2, timeoutMs: 20_000), Self.record(type: 3, timeoutMs: 20_000)], in: scratch)
        let run = try runKeel(["run", image, "--smp", "3", "--timeout", "240"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(4000))")
        #expect(!run.stdout.contains("PANIC"))
        let keel = ["[keel] vm0: virtio blk at IPA 0xb000000 (INTID 80), served by vm1",
                    "[keel] vm0: virtio console at IPA 0xb000200 (INTID 81), served by vm1",
                    "[keel] vm1: device model of 2 devices, request page at IPA 0xb100000 (INTID 88)"]
        #expect(run.missing(keel).isEmpty, "missing: \(run.missing(keel))\n\(run.stdout.prefix(3000))")
        #expect(run.lines.contains { $0.hasPrefix("[keel] vm1: vm0's RAM at IPA 0x4000000000 (PA 0x") && $0.hasSuffix(", 16384 KiB)") })
        // What the device model found: its page, its devices, the frontend's RAM through its window.
        let word = String(try Self.firstWord("dm_frontend"), radix: 16)
        let dm = ["[vm1] dm: magic=0x51524d444c45454b", "[vm1] dm: devices=0x2", "[vm1] dm: slots=0x8",
                  "[vm1] dm: device frontend/transport/type=0x2", "[vm1] dm: device ram=0x40000000",
                  "[vm1] dm: device size=0x1000000", "[vm1] dm: device window=0x4000000000",
                  "[vm1] dm: device frontend/transport/type=0x103",
                  "[vm1] dm: window word=0x\(word)",
                  // Hostile before serving: its page is read-only, nothing open can be completed.
                  "[vm1] dm: page store faults=0x1", "[vm1] dm: slot 7 sequence=0x0",
                  "[vm1] dm: complete slot 8=0xfffffffffffffffe", "[vm1] dm: complete slot -1=0xfffffffffffffffe",
                  "[vm1] dm: complete nothing open=0xfffffffffffffffe", "[vm1] dm: complete even=0xfffffffffffffffe",
                  "[vm1] dm: complete 2^32+1=0xfffffffffffffffe", "[vm1] dm: notify count=0xfffffffffffffffe",
                  "[vm1] dm: notify -1=0xfffffffffffffffe", "[vm1] dm: polling 2=0xfffffffffffffffe",
                  "[vm1] dm: serving"]
        #expect(run.containsInOrder(dm), "missing: \(run.missing(dm))\n\(run.lines.filter { $0.hasPrefix("[vm1]") })")
        if server == "dm_server_poll" { #expect(run.lines.contains("[vm1] dm: polling=0x0") && run.lines.contains("[vm1] dm: flags=0x1")) }
        if server == "dm_server_answers" {
            // Its answer page: one aligned page of its own RAM, or refused; taken: flag bit 1.
            let answers = ["[vm1] dm: answers misaligned=0xfffffffffffffffe", "[vm1] dm: answers past its RAM=0xfffffffffffffffe",
                           "[vm1] dm: answers in the window=0xfffffffffffffffe", "[vm1] dm: answers=0x0",
                           "[vm1] dm: serving", "[vm1] dm: polling=0x0", "[vm1] dm: flags=0x3"]
            #expect(run.missing(answers).isEmpty, "missing: \(run.missing(answers))\n\(run.lines.filter { $0.hasPrefix("[vm1]") })")
        }
        let fe = ["[vm0] fe: start",
                  // Not a device model: NOT_SUPPORTED.
                  "[vm0] fe: complete=0xffffffffffffffff", "[vm0] fe: notify=0xffffffffffffffff", "[vm0] fe: polling=0xffffffffffffffff",
                  // Device 0 seen by vCPU 0 at offset 4; device 1 at offset 8.
                  "[vm0] fe: transport 0 offset 4=0x5a000004", "[vm0] fe: transport 1 offset 8=0x5b000008",
                  "[vm0] fe: cpu_on=0x0",
                  "[vm0] fe: vcpu0 ops=0x4b0", "[vm0] fe: vcpu0 bad=0x0", "[vm0] fe: vcpu1 ops=0x4b0", "[vm0] fe: vcpu1 bad=0x0",
                  "[vm0] fe: transport 2 esr=0x96000010", "[vm0] fe: aborts=0x2",
                  "[vm0] fe: irq 81=0x1", "[vm0] fe: irq 80=0x1",
                  "[vm0] fe: server told to finish",
                  "[vm0] fe: after off read=0xffffffff", "[vm0] fe: after off status=0x40",
                  "[vm0] fe: after reset status=0x40", "[vm0] fe: after off read 8=0xffffffffffffffff", "[vm0] fe: done"]
        #expect(run.containsInOrder(fe), "missing: \(run.missing(fe))\n\(run.lines.filter { $0.hasPrefix("[vm0]") })")
        // Transport 1: given up by the device model's stop, or (racing it) by this very read,
        // which as the failing access reads all ones.
        let status1 = Self.value(run, "[vm0] fe: after off status 1=")
        #expect(status1 == 0x40 || status1 == 0xFFFF_FFFF, "transport 1's Status after the device model went off: \(String(describing: status1))")
        // The device model's own checks: every wrong or repeated COMPLETE refused, its NOTIFYs taken.
        #expect(run.lines.contains("[vm1] dm: bad=0x0"), "\(run.lines.filter { $0.hasPrefix("[vm1]") })")
        let served = Self.value(run, "[vm1] dm: served=") ?? 0
        #expect(served >= 2 * 0x4b0 + 8, "served \(served)")
        #expect(run.lines.contains("[keel] vm1: PSCI SYSTEM_OFF"))
        // Once it is off, the frontend's read fails at once, not after its 20 s timeout.
        let ms = Self.value(run, "[vm0] fe: after off ms=") ?? .max
        #expect(ms < 10_000, "the read after the device model went off took \(ms) ms")
        #expect(run.lines.contains { $0.hasPrefix("[keel] vm0: virtio blk at IPA 0xb000000: vm1 did not answer") })
    }

    @Test("a device model that stops answering: the read gives all ones after the timeout while the other vCPU runs on, the blk requests it took come back with IOERR and the interrupt, Status says DEVICE_NEEDS_RESET until a reset, which is forwarded again")
    func timeout() throws {
        let scratch = try PackTests.Scratch()
        let image = try Self.image(Self.config(frontend: "dm_frontend_timeout", server: "dm_server"),
                                   virtio: [Self.record(type: 2, timeoutMs: 500)], powerOffWith: 0, in: scratch)
        let run = try runKeel(["run", image, "--smp", "3", "--timeout", "240"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(4000))")
        #expect(!run.stdout.contains("PANIC"))
        let fe = ["[vm0] fe: start", "[vm0] fe: answered=0x5a000004", "[vm0] fe: server muted",
                  "[vm0] fe: timed out read=0xffffffff",
                  "[vm0] fe: other vcpu ran=0x1", "[vm0] fe: irq 80=0x1",
                  // Both requests on the used ring, IOERR in each status byte, the data untouched.
                  "[vm0] fe: used idx=0x2", "[vm0] fe: used 0 id=0x0", "[vm0] fe: used 0 len=0x1", "[vm0] fe: used 1 id=0x2",
                  "[vm0] fe: status a=0x1", "[vm0] fe: status b=0x1", "[vm0] fe: data b last=0xff",
                  "[vm0] fe: status=0x40", "[vm0] fe: broken read=0xffffffff",
                  "[vm0] fe: status after reset=0x40", "[vm0] fe: done"]
        #expect(run.containsInOrder(fe), "missing: \(run.missing(fe))\n\(run.lines.filter { $0.hasPrefix("[vm0]") })")
        #expect(run.lines.contains("[keel] vm0: virtio blk at IPA 0xb000000: vm1 did not answer; the device needs a reset"), "\(run.stdout.suffix(3000))")
        // The wait is the timeout: not shorter, and not much longer.
        let waited = Self.value(run, "[vm0] fe: timed out ms=") ?? 0
        #expect(waited >= 500 && waited < 5_000, "the timed-out read took \(waited) ms")
        let reset = Self.value(run, "[vm0] fe: reset ms=") ?? 0
        #expect(reset >= 500 && reset < 5_000, "the forwarded reset took \(reset) ms")
        // Given up: nothing waits any more.
        let broken = Self.value(run, "[vm0] fe: broken ms=") ?? .max
        #expect(broken < 500, "reads of a transport given up on took \(broken) ms")
    }

    @Test("keel trace shows each forwarded access's latency split (to the device model, in it, back) and the one it never answered")
    func traced() throws {
        let scratch = try PackTests.Scratch()
        let image = try Self.image(Self.config(frontend: "dm_frontend_timeout", server: "dm_server"),
                                   virtio: [Self.record(type: 2, timeoutMs: 500)], powerOffWith: 0, in: scratch)
        let trace = scratch.path("dm.trace")
        let run = try runKeel(["run", image, "--smp", "3", "--timeout", "240", "--trace", trace])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(4000))")
        #expect(run.lines.contains("[vm0] fe: timed out read=0xffffffff"))
        let decode = try runKeel(["trace", "decode", trace])
        let answered = decode.lines.filter { $0.contains("vm0/vcpu0 MMIO read 4B") && $0.contains("(virtio 0 +0x4) = 0x5a000004 forwarded: picked up after ") }
        #expect(!answered.isEmpty, "\(decode.stdout.suffix(3000))")
        #expect(decode.lines.contains { $0.contains("(virtio 0 +") && $0.contains("forwarded: not answered") }, "\(decode.stdout.suffix(3000))")
        let stats = try runKeel(["trace", "stats", trace, "--json"])
        let rows = stats.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let row = try #require(rows.first { $0["table"] as? String == "forwarded" && $0["key"] as? String == "virtio 0" && $0["vm"] as? Int == 0 },
                               "\(stats.stdout.suffix(3000))")
        #expect((row["answered"] as? Int ?? 0) >= 1 && (row["unanswered"] as? Int ?? 0) >= 1, "\(row)")
        // The device model's part is real time: a bare-metal server answers within microseconds,
        // not zero and not a timeout.
        let inDM = row["in_dm_avg_ns"] as? Double ?? 0
        #expect(inDM > 0 && inDM < 500_000_000, "\(row)")
        let text = try runKeel(["trace", "stats", trace])
        #expect(text.stdout.contains("forwarded to device models"), "\(text.stdout.suffix(3000))")
    }

    @Test("ring addresses at the top of the 64-bit space: when the device model times out, Keel's IOERR pass refuses them and runs on")
    func wrappingRings() throws {
        let scratch = try PackTests.Scratch()
        let image = try Self.image(Self.config(frontend: "dm_frontend_wrap", server: "dm_server"),
                                   virtio: [Self.record(type: 2, timeoutMs: 500)], powerOffWith: 0, in: scratch)
        let run = try runKeel(["run", image, "--smp", "3", "--timeout", "240"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(4000))")
        #expect(!run.stdout.contains("PANIC") && !run.stdout.contains("Keel stopped"), "\(run.stdout.suffix(3000))")
        let fe = ["[vm0] fe: start", "[vm0] fe: answered=0x5a000004", "[vm0] fe: timed out read=0xffffffff",
                  "[vm0] fe: status=0x40", "[vm0] fe: done"]
        #expect(run.containsInOrder(fe), "missing: \(run.missing(fe))\n\(run.lines.filter { $0.hasPrefix("[vm0]") })")
    }

    /// The forwarded round trip in instructions (QEMU -icount shift=0: a tick is 1e9 / CNTFRQ
    /// instructions, the device model's and Keel's included), with the device model waiting for
    /// its request interrupt and polling. Printed for docs/benchmarks.md.
    @Test("the forwarded MMIO round trip under -icount, interrupt and polling mode", arguments: ["dm_server_fast", "dm_server_fast_poll"])
    func benchmark(server: String) throws {
        let scratch = try PackTests.Scratch()
        var config = Self.config(frontend: "dm_bench", server: server)
        config = config.replacingOccurrences(of: "cpus = [0, 1]", with: "cpus = [0]").replacingOccurrences(of: "cpus = [2]", with: "cpus = [1]")
        let image = try Self.image(config, virtio: [Self.record(type: 2, timeoutMs: 60_000)], in: scratch)
        let run = try runKeel(["run", image, "--smp", "2", "--timeout", "300", "--qemu-arg", "-icount", "--qemu-arg", "shift=0"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(3000))")
        let stripped = run.lines.map { $0.hasPrefix("[vm0] ") ? String($0.dropFirst(6)) : $0 }.joined(separator: "\n")
        let (figures, hz) = Bench.parse(stripped)
        let counterHz = try #require(hz, "no counter frequency in \(run.stdout.suffix(2000))")
        let perIteration = Bench.instructionsPerIteration(figures, counterHz: counterHz)
        let read = try #require(perIteration["mmio_forwarded_read"]), write = try #require(perIteration["mmio_forwarded_write"])
        print("forwarded MMIO (\(server)): read \(Int(read)) instructions, write \(Int(write)) instructions per round trip")
        // A round trip is two guests' exits and entries and the device model's scan: far more
        // than one emulated register's few hundred, far less than a timeout.
        #expect(read > 500 && read < 10_000_000, "read \(read)")
        #expect(write > 500 && write < 10_000_000, "write \(write)")
    }
}
