import Foundation
import KeelCore
@testable import KeelKit
import Testing

/// `dma = "pool"` (docs/device-model.md, "Restricted DMA pools"): the device model's window onto
/// a frontend whose devices all have pools maps only the pools. Debian's kernel has no
/// CONFIG_DMA_RESTRICTED_POOL, so bare-metal guests show it: the frontend (dm_pool_frontend.S)
/// and the device model (dm_pool_server.S) talk through the pool, and every load of the
/// device model outside it is an external abort.
@Suite("Device-model DMA pools: only the pool is mapped into the device model (issue 15)")
struct DeviceModelPoolTests {
    static let config = """
        board = "qemu-virt"
        power_off_with = "fe"

        [[vm]]
        name = "fe"
        cpus = [0]
        memory = { base = 0x4000_0000, size = "16M" }
        kernel = "\(Repo.guest("dm_pool_frontend"))"
        kind = "raw"

        [[vm.virtio]]
        type = "console"
        served_by = "dm"
        dma = "pool"
        dma_pool = "1M"

        [[vm]]
        name = "dm"
        cpus = [1]
        memory = { base = 0x4000_0000, size = "16M" }
        kernel = "\(Repo.guest("dm_pool_server"))"
        kind = "raw"
        device_model = true

        """

    @Test("the pool from the config reaches the VM table and the request page; the device model reads and writes the frontend through it, and its loads of the frontend's RAM outside it abort")
    func poolOnly() throws {
        let scratch = try PackTests.Scratch()
        let image = try DeviceModelForwardingTests.image(Self.config, virtio: nil, in: scratch)
        let run = try runKeel(["run", image, "--smp", "2", "--timeout", "240"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(4000))")
        #expect(!run.stdout.contains("PANIC"))
        let keel = ["[keel] vm0: virtio console at IPA 0xb000000 (INTID 80), served by vm1",
                    "[keel] vm1: device model of 1 device, request page at IPA 0xb100000 (INTID 88)"]
        #expect(run.missing(keel).isEmpty, "missing: \(run.missing(keel))\n\(run.stdout.prefix(3000))")
        // Only the pool: the top MiB of vm0's 16, at its place in the window.
        #expect(run.lines.contains { $0.hasPrefix("[keel] vm1: vm0's DMA pool at IPA 0x4000f00000 (PA 0x") && $0.hasSuffix(", 1024 KiB)") },
                "\(run.lines.filter { $0.hasPrefix("[keel] vm1") })")
        #expect(!run.lines.contains { $0.hasPrefix("[keel] vm1: vm0's RAM at IPA") })
        let abort = "0x96000010"  // a synchronous external abort on a data access, as Keel injects
        let dm = ["[vm1] dm: devices=0x1", "[vm1] dm: device window=0x4000000000", "[vm1] dm: device flags=0x1",
                  "[vm1] dm: device pool=0x40f00000", "[vm1] dm: device pool size=0x100000",
                  "[vm1] dm: hello seen=0x1", "[vm1] dm: pool word=0x504f4f4c", "[vm1] dm: aborts inside the pool=0x0",
                  "[vm1] dm: ram start aborts=0x1", "[vm1] dm: ram start esr=\(abort)", "[vm1] dm: ram start far=0x4000000000",
                  "[vm1] dm: below the pool aborts=0x1", "[vm1] dm: below the pool esr=\(abort)", "[vm1] dm: below the pool far=0x4000eff000",
                  "[vm1] dm: past the pool aborts=0x1", "[vm1] dm: past the pool esr=\(abort)", "[vm1] dm: past the pool far=0x4001000000",
                  "[vm1] dm: pool end aborts=0x0", "[vm1] dm: done"]
        #expect(run.containsInOrder(dm), "missing: \(run.missing(dm))\n\(run.lines.filter { $0.hasPrefix("[vm1]") })")
        // Keel's own account of each: an access outside the VM, answered with an external abort.
        for ipa in ["0x4000000000", "0x4000eff000", "0x4001000000"] {
            #expect(run.lines.contains { $0.hasPrefix("[keel] vm1/vcpu0: read from IPA \(ipa) outside the VM at pc ") && $0.hasSuffix("-> external abort") },
                    "no abort at \(ipa): \(run.lines.filter { $0.hasPrefix("[keel] vm1") })")
        }
        let fe = ["[vm0] pfe: start", "[vm0] pfe: answered=0x1", "[vm0] pfe: device model done=0x1",
                  "[vm0] pfe: below the pool=0x4f555453", "[vm0] pfe: done"]
        #expect(run.containsInOrder(fe), "missing: \(run.missing(fe))\n\(run.lines.filter { $0.hasPrefix("[vm0]") })")
    }

    /// What Debian's kernel does with a pool: it reserves the region (its kernel, initrd and DTB
    /// were placed below it) but, without CONFIG_DMA_RESTRICTED_POOL, allocates the rings elsewhere
    /// in its RAM; keel-dm (a Linux device model, mapping only the pool through keel-dm.ko)
    /// refuses them and says why, and the frontend, whose console only waits for input, runs on.
    @Test("Debian's Linux on a pool: keel-dm refuses its rings with a hint, nothing else is hurt, the frontend powers off")
    func debianKernel() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let scratch = try PackTests.Scratch()
        let config = try scratch.config("""
            board = "qemu-virt"
            power_off_with = "app"

            \(DeviceModelSystem.deviceModelVM())
            \(DeviceModelSystem.linuxFrontend(initrd: LinuxTests.initramfs))
            [[vm.virtio]]
            type = "console"
            served_by = "dm"
            dma = "pool"

            """)
        let run = try runKeel(["run", "--config", config, "--timeout", "300"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(4000))")
        #expect(!run.stdout.contains("PANIC"))
        // The default 4 MiB at the top of app's 256, and the DTB in the 2 MiB below it.
        #expect(run.lines.contains("[keel] vm0: vm1's DMA pool at IPA 0x500fc00000 (PA 0x\(String(Self.pa(run, vm: 1) + 0xFC0_0000, radix: 16)), 4096 KiB)"),
                "\(run.lines.filter { $0.hasPrefix("[keel]") })")
        #expect(run.lines.contains("[keel] vm1/vcpu0: entering at 0x40000000 (EL1h, Linux boot protocol, x0 = 0x4fa00000)"))
        #expect(run.stdout.contains("keel-dm: serving 1 devices"), "\(run.stdout.suffix(3000))")
        // keel-dm's line may be cut by the console's line length: its start.
        #expect(run.lines.contains { $0.hasPrefix("[vm0] keel-dm: device 0: a ring misaligned or outside the memory it may reach; it needs a reset (the device has a DMA pool") },
                "\(run.lines.filter { $0.contains("keel-dm") })")
        #expect(run.lines.contains("[vm1] KEEL-INIT: powering off"), "\(run.stdout.suffix(3000))")
    }

    /// VM `vm`'s RAM PA from Keel's layout line.
    static func pa(_ run: KeelRun, vm: Int) -> UInt64 {
        guard let line = run.lines.first(where: { $0.hasPrefix("[keel] vm\(vm): ") && $0.contains(" RAM at IPA ") }),
              let range = line.range(of: "(PA 0x") else { return 0 }
        return UInt64(line[range.upperBound...].prefix { $0 != ")" }, radix: 16) ?? 0
    }

    @Test("the same guests with dma = \"shared\": the whole RAM is mapped, only the load past it aborts")
    func sharedControl() throws {
        let scratch = try PackTests.Scratch()
        let config = Self.config.replacingOccurrences(of: "dma = \"pool\"\ndma_pool = \"1M\"\n", with: "")
        #expect(config != Self.config)
        let image = try DeviceModelForwardingTests.image(config, virtio: nil, in: scratch)
        let run = try runKeel(["run", image, "--smp", "2", "--timeout", "240"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(4000))")
        #expect(run.lines.contains { $0.hasPrefix("[keel] vm1: vm0's RAM at IPA 0x4000000000 (PA 0x") && $0.hasSuffix(", 16384 KiB)") })
        let dm = ["[vm1] dm: device flags=0x0", "[vm1] dm: device pool=0x0", "[vm1] dm: device pool size=0x0",
                  "[vm1] dm: hello seen=0x1", "[vm1] dm: ram start aborts=0x0", "[vm1] dm: below the pool aborts=0x0",
                  "[vm1] dm: past the pool aborts=0x1", "[vm1] dm: pool end aborts=0x0", "[vm1] dm: done"]
        #expect(run.containsInOrder(dm), "missing: \(run.missing(dm))\n\(run.lines.filter { $0.hasPrefix("[vm1]") })")
        // Seen through the window: the frontend's own mark below where the pool would be.
        #expect(run.lines.contains("[vm0] pfe: below the pool=0x4f555453"))
    }
}
