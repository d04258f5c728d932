import Foundation
import KeelBoards
import KeelKit
import Testing

/// `keel pack` and `keel run --config`/IMAGE: one file with the firmware and the VM, booted for
/// real under QEMU.
@Suite("keel pack and keel run --config")
struct PackTests {
    static let kernel = Repo.path(".cache/linux/Image")
    static let initramfs = Repo.path(".cache/linux/initramfs.cpio")

    /// A scratch folder with a config naming `Repo`'s images by absolute path.
    final class Scratch {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("keel-pack-\(UUID().uuidString)")
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }
        func config(_ text: String) throws -> String {
            let path = path("system.toml")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
    }

    static func demoConfig(board: String = "qemu-virt", cpus: String = "[0]") -> String {
        """
        board = "\(board)"
        [[vm]]
        name = "demo"
        cpus = \(cpus)
        memory = { base = 0x4000_0000, size = "256M" }
        kernel = "\(Repo.guest("demo"))"
        kind = "raw"
        """
    }

    /// Two raw VMs of 16 MiB on CPUs 0 and 1 (hvc as "a", demo as "b"), with `extra` TOML
    /// after them (a shared region, say): the smallest VM table of several VMs.
    static func twoRawVMsConfig(board: String = "qemu-virt", extra: String = "") -> String {
        """
        board = "\(board)"
        [[vm]]
        name = "a"
        cpus = [0]
        memory = { base = 0x4000_0000, size = "16M" }
        kernel = "\(Repo.guest("hvc"))"
        kind = "raw"
        [[vm]]
        name = "b"
        cpus = [1]
        memory = { base = 0x4000_0000, size = "16M" }
        kernel = "\(Repo.guest("demo"))"
        kind = "raw"
        \(extra)
        """
    }

    static func linuxConfig(board: String) -> String {
        """
        board = "\(board)"
        [[vm]]
        name = "linux"
        cpus = [0, 1]
        memory = { base = 0x4000_0000, size = "256M" }
        kernel = "\(kernel)"
        initrd = "\(initramfs)"
        dtb = "generate"
        bootargs = "console=ttyAMA0 panic=-1"
        """
    }

    static let demoLines = [
        "[keel] vm0/vcpu0: entering at 0x40000000 (EL1h, x0 = 0x0)",
        "Hello from a bare-metal guest at EL1, running on Keel.",
        "demo: PSCI version = 0x10001",
        "demo: powering off",
        "[keel] vm0: PSCI SYSTEM_OFF",
        "[keel] all VMs are off: powering off",
    ]

    /// The toolchain's llvm-nm, beside the swift that runs these tests.
    static var llvmNM: String { llvmTool("llvm-nm") }

    /// One of the toolchain's LLVM tools (llvm-nm, llvm-objdump), beside the swift that runs these tests.
    static func llvmTool(_ name: String) -> String {
        let swift = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        return swift ?? "/opt/swift/usr/bin/\(name)"
    }

    func le(_ data: Data, _ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(data[at + $1]) << (8 * UInt64($1)) } }

    @Test("keel pack writes an Image-headed file: firmware, then the bundle where the firmware looks for it")
    func imageLayout() throws {
        let scratch = try Scratch()
        let config = try scratch.config(Self.demoConfig())
        let out = scratch.path("keel.img")
        let pack = try runKeel(["pack", "--config", config, "-o", out])
        #expect(pack.status == 0, "\(pack.stderr)")
        let image = try Data(contentsOf: URL(fileURLWithPath: out))
        let firmware = try Data(contentsOf: URL(fileURLWithPath: Repo.path("build/hyp/keel.bin")))
        #expect(image.prefix(0x38 + 4).suffix(4) == Data("ARM\u{64}".utf8))
        #expect(le(image, 8) == qemuVirt.textOffset)
        #expect(le(image, 16) == UInt64(image.count))  // image_size covers firmware, BSS and bundle
        // Everything but image_size is keel.bin's, byte for byte.
        #expect(image.prefix(16) == firmware.prefix(16))
        #expect(image[24..<firmware.count] == firmware[24...])
        // The bundle sits at the linker's _keel_appended_bundle.
        let address = try PackTests.appendedBundleAddress()
        let offset = Int(address - qemuVirt.loadAddress)
        #expect(offset % 4096 == 0 && offset >= firmware.count)
        #expect(image[offset..<(offset + 8)] == Data("KEELBOOT".utf8))
        #expect(pack.stdout.contains("boot bundle at offset 0x\(String(offset, radix: 16))"), "\(pack.stdout)")
        // The demo guest's bytes are inside, checksummed.
        let guest = try Data(contentsOf: URL(fileURLWithPath: Repo.guest("demo")))
        #expect(image.range(of: guest) != nil)
    }

    @Test("pack + run: the bare-metal demo guest on qemu-virt, GICv3 and GICv2", arguments: ["qemu-virt", "qemu-virt-gicv2"])
    func bareMetal(board: String) throws {
        let scratch = try Scratch()
        let config = try scratch.config(Self.demoConfig(board: board))
        let out = scratch.path("keel.img")
        #expect(try runKeel(["pack", "--config", config, "-o", out]).status == 0)
        let run = try runKeel(["run", out, "--board", board, "--timeout", "60", "--print-cmd"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        let gic = board == "qemu-virt" ? 3 : 2
        #expect(run.lines.first == "qemu-system-aarch64 -M virt,virtualization=on,gic-version=\(gic) -cpu cortex-a72 -smp 1 -m 1024M -display none -monitor none -serial stdio -kernel \(out)")
        #expect(run.containsInOrder(["[keel] GICv\(gic), 4 list registers per CPU"] + Self.demoLines), "missing: \(run.missing(Self.demoLines))\n\(run.stdout)")
        #expect(run.exitCounters["HVC64"] == 3)
    }

    @Test("keel run --config packs and boots Debian's Linux on GICv3 and (--board) GICv2", arguments: ["qemu-virt", "qemu-virt-gicv2"])
    func linux(board: String) throws {
        try #require(FileManager.default.fileExists(atPath: Self.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let scratch = try Scratch()
        let config = try scratch.config(Self.linuxConfig(board: "qemu-virt"))
        let run = try runKeel(["run", "--config", config, "--board", board, "--timeout", "300"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(3000))")
        let expected = [
            "[keel] GICv\(board == "qemu-virt" ? 3 : 2), 4 list registers per CPU",
            "[keel] vm0: 2 vCPUs, 256 MiB RAM at IPA 0x40000000 (PA 0x50000000), console at IPA 0x9000000, VTCR_EL2 0x80043558",
            "[keel] vm0/vcpu0: entering at 0x40000000 (EL1h, Linux boot protocol, x0 = 0x4fe00000)",
            "KEEL-INIT: started",
            "KEEL-INIT: cpus online 2",
            "KEEL-INIT: powering off",
            "[keel] all VMs are off: powering off",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout.suffix(3000))")
        #expect(run.lines.contains { $0.contains("Kernel command line: console=ttyAMA0 panic=-1") })
        #expect(!run.stdout.contains("[keel] PANIC"))
    }

    @Test("SYSTEM_RESET reloads the VM from the bundle appended to Keel's image")
    func systemReset() throws {
        let scratch = try Scratch()
        let config = try scratch.config(Self.demoConfig(cpus: "[0, 1]").replacingOccurrences(of: Repo.guest("demo"), with: Repo.guest("reset")))
        let run = try runKeel(["run", "--config", config, "--timeout", "60"])
        #expect(run.status == 0, "\(run.stderr)")
        let expected = [
            "reset: first boot, counter=0x7",
            "reset: cpu1 spinning, resetting",
            "[keel] vm0/vcpu0: PSCI SYSTEM_RESET: restarting the VM from its boot images",
            "reset: second boot, counter=0x7",
            "reset: done",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        #expect(!run.stdout.contains("[keel] ERROR"))
    }

    /// `_keel_appended_bundle` in build/hyp/keel.elf: where the firmware expects an appended bundle.
    static func appendedBundleAddress() throws -> UInt64 {
        let nm = try HostCommand(PackTests.llvmNM, [Repo.path("build/hyp/keel.elf")]).run()
        let symbol = try #require(nm.split(separator: "\n").first { $0.hasSuffix(" _keel_appended_bundle") })
        return try #require(UInt64(symbol.split(separator: " ")[0], radix: 16))
    }

    @Test("a damaged image is refused by the firmware with a clear message, and no guest runs")
    func damaged() throws {
        let scratch = try Scratch()
        let out = scratch.path("keel.img")
        #expect(try runKeel(["pack", "--config", try scratch.config(Self.demoConfig()), "-o", out]).status == 0)
        var image = try Data(contentsOf: URL(fileURLWithPath: out))
        let guest = try Data(contentsOf: URL(fileURLWithPath: Repo.guest("demo")))
        let at = try #require(image.range(of: guest)).lowerBound + 100
        image[at] ^= 0x40
        try image.write(to: URL(fileURLWithPath: out))
        let run = try runKeel(["run", out, "--timeout", "60"])
        #expect(run.status == 76)
        // Where the firmware looks: the linker's symbol, not a number that moves with BSS.
        let bundleAddress = "0x" + String(try PackTests.appendedBundleAddress(), radix: 16)
        #expect(run.lines.contains("[keel] ERROR: the boot bundle appended to Keel's image (\(bundleAddress)) is unusable: an image's checksum does not match its bytes (the image is damaged); no VM is started"), "\(run.stdout)")
        #expect(run.stderr.contains("keel: Keel refused the image's boot bundle (see its message above); no guest ran"))
        #expect(!run.stdout.contains("Hello from a bare-metal guest"))
        // A damaged manifest (the header's checksum) likewise.
        image[at] ^= 0x40
        let bundle = try #require(image.range(of: Data("KEELBOOT".utf8), options: .backwards)).lowerBound
        image[bundle + 24] ^= 0x01  // entry IPA
        try image.write(to: URL(fileURLWithPath: out))
        let header = try runKeel(["run", out, "--timeout", "60"])
        #expect(header.status == 76)
        #expect(header.stdout.contains("is unusable: header checksum mismatch; no VM is started"), "\(header.stdout)")
    }

    @Test("config problems stop keel pack and keel run before anything is written or booted")
    func refused() throws {
        let scratch = try Scratch()
        let out = scratch.path("keel.img")
        let bad = try scratch.config(Self.demoConfig(cpus: "[0, 0]") + "\nmemroy = 1\n")
        let pack = try runKeel(["pack", "--config", bad, "-o", out])
        #expect(pack.status == 65)
        #expect(pack.stderr.contains("error: \(bad): vm \"demo\" key memroy: unknown key (fix: did you mean \"memory\"?)"), "\(pack.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let run = try runKeel(["run", "--config", bad])
        #expect(run.status == 65 && !run.stdout.contains("[keel]"))
        let smp = try runKeel(["run", "--config", try scratch.config(Self.demoConfig()), "--smp", "2"])
        #expect(smp.status != 0 && smp.stderr.contains("--smp and --gic go with --guest or IMAGE; a config gives its VM's cpus"), "\(smp.stderr)")
        let none = try runKeel(["run"])
        #expect(none.status != 0 && none.stderr.contains("give one of --guest FILE, --config FILE or a packed IMAGE"), "\(none.stderr)")

        // Valid, but more than the firmware runs.
        let five = try scratch.config(Self.demoConfig() + (1...4).map { i in """

            [[vm]]
            name = "vm\(i)"
            cpus = [\(i)]
            memory = { base = 0x4000_0000, size = "16M" }
            kernel = "\(Repo.guest("hvc"))"
            """ }.joined())
        let several = try runKeel(["pack", "--config", five, "-o", out])
        #expect(several.status == 65)
        #expect(several.stderr.contains("error: \(five): key vm: 5 VMs are described; Keel's firmware runs at most 4 (fix: keep at most 4 [[vm]] tables)"), "\(several.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("the example configs in boards/examples are valid")
    func examples() throws {
        for name in ["demo", "linux", "two-vms", "three-vms"] {
            let config = Repo.path("boards/examples/\(name).toml")
            if name == "demo" || FileManager.default.fileExists(atPath: Self.kernel) {
                #expect(throws: Never.self) { try ConfigValidator.validate(try ConfigReader.load(config)) }
            }
        }
    }

    @Test("keel pack --board raspberry-pi-4 writes the SD card boot folder")
    func raspberryPi() throws {
        let scratch = try Scratch()
        let folder = scratch.path("boot")
        let pack = try runKeel(["pack", "--config", try scratch.config(Self.demoConfig()), "--board", "raspberry-pi-4", "-o", folder])
        #expect(pack.status == 0, "\(pack.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(files == ["README.txt", "config.txt", "kernel8.img"])
        let kernel = try Data(contentsOf: URL(fileURLWithPath: folder + "/kernel8.img"))
        #expect(kernel.prefix(0x3C).suffix(4) == Data("ARM\u{64}".utf8))
        #expect(le(kernel, 8) == raspberryPi4.textOffset && le(kernel, 16) == UInt64(kernel.count))
        #expect(kernel.range(of: Data("KEELBOOT".utf8)) != nil)
        let config = try String(contentsOfFile: folder + "/config.txt", encoding: .utf8)
        let settings = config.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
        #expect(settings == ["arm_64bit=1", "kernel=kernel8.img", "kernel_address=0x80000", "enable_gic=1", "enable_uart=1", "dtoverlay=disable-bt"])
        #expect(raspberryPi4.loadAddress == 0x80000)
        let readme = try String(contentsOfFile: folder + "/README.txt", encoding: .utf8)
        #expect(readme.contains("start4.elf") && readme.contains("GPIO 14"))
        // Packed around the Pi's own firmware (RaspberryPi4Tests boots it).
        let firmware = try Data(contentsOf: URL(fileURLWithPath: Repo.path("build/hyp-raspberry-pi-4/keel.bin")))
        #expect(kernel[24..<firmware.count] == firmware[24...])
    }
}
