import Foundation
import KeelCore
import Testing
@testable import KeelKit
import KeelBoards

/// The config's side of device passthrough: `devices`, `memory.identity` and `[qemu] args`.
@Suite("Config file: devices passed through, identity-mapped RAM, QEMU arguments")
struct PassthroughConfigTests {
    static let linux = """
        board = "qemu-virt"

        [[vm]]
        name = "linux"
        cpus = [0]
        memory = { base = 0x6000_0000, size = "192M", identity = true }
        kernel = "raw.bin"
        kind = "raw"
        devices = [{ name = "virtio-mmio", mmio = [{ base = 0x0A00_3000, size = 0x1000 }], interrupts = [79] }]

        [[vm]]
        name = "probe"
        cpus = [1]
        memory = { base = 0x4000_0000, size = "16M" }
        kernel = "raw.bin"
        kind = "raw"

        """

    func problems(_ toml: String, _ fixture: ConfigFixture) -> [String] {
        do {
            try FirmwareSupport.check(try fixture.validate(toml))
            return []
        } catch let error as ConfigError {
            return error.messages
        } catch {
            return ["unexpected \(error)"]
        }
    }

    @Test("identity RAM and a device's page and interrupt go into the VM table")
    func packed() throws {
        let fixture = try ConfigFixture()
        #expect(problems(Self.linux, fixture) == [])
        let system = try fixture.validate(Self.linux)
        #expect(system.vms[0].config.identityMemory && !system.vms[1].config.identityMemory)
        let writer = try SystemImage.manifest(for: system)
        #expect(writer.vms[0].ramIPA == 0x6000_0000 && writer.vms[0].ramPA == 0x6000_0000)
        #expect(writer.vms[1].ramPA == 0x5000_0000)
        #expect(writer.devices == [.init(pa: 0x0A00_3000, size: 0x1000, ipa: 0x0A00_3000, vm: 0)])
        #expect(writer.interrupts == [.init(intid: 79, vm: 0)])
        // The device tree describes the one transport whose interrupt the VM has.
        let devices = SystemImage.guestDevices(of: system.vms[0], board: system.board)
        #expect(devices.count == 1)
        #expect(devices[0].nodes.map(\.address) == [0x0A00_3E00] && devices[0].nodes[0].reg == [0x0A00_3E00, 0x200])
        #expect(devices[0].nodes[0].intids == [79])
        // In the tree: the transport's node, and a PrimeCell (the RTC) as Linux's AMBA bus wants it.
        var tree = GuestDeviceTree(ramIPA: 0x6000_0000, ramSize: 192 << 20, vcpus: 1, gic: .v3(distributor: 0x0800_0000, redistributors: 0x080A_0000), uartIPA: 0x0900_0000)
        tree.devices = devices + [GuestDeviceTree.Device(compatible: "arm,pl031", ranges: [(0x0901_0000, 0x1000)], intids: [34])]
        let root = try tree.tree()
        let virtio = try #require(root.children.first { $0.name == "virtio_mmio@a003e00" })
        #expect(virtio.property("compatible") == .string("virtio,mmio"))
        #expect(virtio.property("interrupts") == .u32([0, 47, 1]))
        let rtc = try #require(root.children.first { $0.name == "pl031@9010000" })
        #expect(rtc.property("compatible") == .strings(["arm,pl031", "arm,primecell"]))
        #expect(rtc.property("clock-names") == .string("apb_pclk"))
        #expect(rtc.property("interrupts") == .u32([0, 2, 4]))
    }

    @Test("other VMs' RAM is placed around identity RAM")
    func placedAround() throws {
        let fixture = try ConfigFixture()
        let toml = Self.linux.replacingOccurrences(of: "base = 0x6000_0000, size = \"192M\"", with: "base = 0x5000_0000, size = \"32M\"")
        let writer = try SystemImage.manifest(for: try fixture.validate(toml))
        #expect(writer.vms[0].ramPA == 0x5000_0000)
        #expect(writer.vms[1].ramPA == 0x5200_0000)
    }

    @Test("what cannot be passed through is refused with the key and the fix")
    func refused() throws {
        let fixture = try ConfigFixture()
        // The same device for both VMs.
        let twice = Self.linux + "devices = [\"virtio-mmio\"]\n"
        #expect(fixture.problems(twice).contains("system.toml: vm \"probe\" key devices[0]: \"virtio-mmio\" is already vm \"linux\"'s (fix: give each device to one VM)"))
        // Part of a page.
        let part = Self.linux.replacingOccurrences(of: "base = 0x0A00_3000, size = 0x1000", with: "base = 0x0A00_3E00, size = 0x200")
        #expect(fixture.problems(part) == [
            "system.toml: vm \"linux\" key devices[0].mmio[0]: 0xa003e00 + 0x200 is not 4 KiB aligned; Keel maps a device in whole pages (fix: use the 4 KiB pages that hold it, e.g. { base = 0xa003000, size = 0x1000 })",
        ])
        // Identity RAM outside the DRAM, over another's, or where Keel and its images are.
        let outside = Self.linux.replacingOccurrences(of: "base = 0x6000_0000, size = \"192M\", identity", with: "base = 0x3000_0000, size = \"192M\", identity")
        #expect(fixture.problems(outside).contains("system.toml: vm \"linux\" key memory.identity: IPA = PA puts the VM's RAM at 0x30000000-0x3bffffff, outside qemu-virt's DRAM (0x40000000-0x7fffffff) (fix: give memory.base and memory.size inside the DRAM)"))
        let both = Self.linux.replacingOccurrences(of: "base = 0x4000_0000, size = \"16M\" }", with: "base = 0x6100_0000, size = \"16M\", identity = true }")
        #expect(fixture.problems(both).contains("system.toml: vm \"probe\" key memory.identity: the VM's RAM (0x61000000-0x61ffffff) is also vm \"linux\"'s identity-mapped RAM (fix: give each VM its own physical memory)"))
        let low = Self.linux.replacingOccurrences(of: "base = 0x6000_0000, size = \"192M\", identity", with: "base = 0x4000_0000, size = \"192M\", identity")
        #expect(problems(low, fixture) == [
            "system.toml: vm \"linux\" key memory.identity: IPA = PA puts the VM's RAM at 0x40000000-0x4bffffff; the firmware gives VMs RAM in 0x50000000-0x7fffffff (below is Keel, its images and the boot DTB; above, memory its EL2 map does not make Normal) (fix: put memory.base and memory.size inside 0x50000000-0x7fffffff)",
        ])
        #expect(fixture.problems(Self.linux.replacingOccurrences(of: "identity = true", with: "identity = 1")) == [
            "system.toml: vm \"linux\" key memory.identity: must be true or false, not the integer 1 (fix: write identity = true)",
        ])
    }

    @Test("a device over the GIC or Keel's console, or an interrupt Keel uses, is refused")
    func keelOwned() throws {
        // No qemu-virt device overlaps Keel's: a board file that got one wrong is what this catches.
        var config = try ConfigReader.parse(Self.linux, file: "system.toml", directory: "/")
        config.vms[0].devices = [DeviceAssignment(name: "virtio-mmio")]
        var known = BoardCatalog.named("qemu-virt")!
        known.devices.slots[4] = BoardDevice("virtio-mmio", "virtio,mmio", base: 0x0800_0000, size: 0x4000, intid: 47, interruptCount: 2)
        var problems = ProblemList(file: "system.toml")
        ConfigValidator.checkPassthrough(config, board: known, into: &problems)
        #expect(problems.problems.map(\.description) == [
            "system.toml: vm \"linux\" key devices[0]: \"virtio-mmio\" (0x8000000-0x8003fff) overlaps the GIC distributor (0x8000000-0x800ffff), which Keel keeps (fix: pass through another device)",
            "system.toml: vm \"linux\" key devices[0]: INTID 47 of \"virtio-mmio\" is one Keel uses itself (its doorbell) (fix: list the device's other interrupts in interrupts = [...], or pass through another device)",
        ])
    }

    @Test("[qemu] args: file= paths relative to the config, and --qemu-arg words")
    func qemuArguments() throws {
        let config = try ConfigReader.parse(Self.linux + """

            [qemu]
            args = ["-drive", "if=none,id=d,file=disks/a.img,format=raw", "-device", "virtio-blk-device,drive=d", "-drive", "file=/abs.img"]
            """, file: "system.toml", directory: "/etc/keel")
        #expect(config.qemuArguments == ["-drive", "if=none,id=d,file=/etc/keel/disks/a.img,format=raw", "-device", "virtio-blk-device,drive=d", "-drive", "file=/abs.img"])
        let fixture = try ConfigFixture()
        #expect(fixture.problems(Self.linux + "\n[qemu]\nargs = [1]\nextra = 2\n") == [
            "system.toml: qemu key extra: unknown key (fix: remove it; the keys here are args)",
            "system.toml: qemu key args[0]: the integer 1 is not a string (fix: write QEMU's words as strings, e.g. args = [\"-device\", \"virtio-blk-device,drive=d\"])",
        ])
    }
}
