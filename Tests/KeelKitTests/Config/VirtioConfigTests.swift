import Foundation
import KeelBoards
import KeelCore
import Testing
@testable import KeelKit

/// The config's side of issue 15: `device_model = true` and `[[vm.virtio]]`, what the validator
/// refuses (each with the file, the key and a fix), the records the VM table gets and the nodes
/// of the device trees (docs/device-model.md).
@Suite("Config file: virtio devices served by a device-model VM")
struct VirtioConfigTests {
    /// A device model, a frontend with a disk, two nets on one network and a console, and a
    /// second frontend on the same network and another.
    static let system = """
        board = "qemu-virt"

        [[vm]]
        name = "dm"
        cpus = [0]
        memory = { base = 0x4000_0000, size = "64M" }
        kernel = "raw.bin"
        kind = "raw"
        device_model = true

        [[vm]]
        name = "app"
        cpus = [1, 2]
        memory = { base = 0x4000_0000, size = "31M" }
        kernel = "raw.bin"
        kind = "raw"

        [[vm.virtio]]
        type = "blk"
        served_by = "dm"
        disk = "disk.img"
        [[vm.virtio]]
        type = "net"
        served_by = "dm"
        network = "lan"
        timeout_ms = 250
        [[vm.virtio]]
        type = "console"
        served_by = "dm"
        dma = "shared"

        [[vm]]
        name = "peer"
        cpus = [3]
        memory = { base = 0x4000_0000, size = "16M" }
        kernel = "raw.bin"
        kind = "raw"

        [[vm.virtio]]
        type = "net"
        served_by = "dm"
        network = "wan"
        [[vm.virtio]]
        type = "net"
        served_by = "dm"
        network = "lan"

        """

    static func fixture() throws -> ConfigFixture {
        let fixture = try ConfigFixture()
        try fixture.write("disk.img", Data(repeating: 0x5A, count: 4096))
        return fixture
    }

    /// The messages `toml` gives through the validator and the firmware's checks.
    static func problems(_ toml: String, _ fixture: ConfigFixture) -> [String] {
        do {
            try FirmwareSupport.check(try fixture.validate(toml))
            return []
        } catch let error as ConfigError {
            return error.messages
        } catch {
            return ["unexpected \(error)"]
        }
    }

    /// `system` with `old` replaced by `new` (which must be there).
    static func changed(_ old: String, _ new: String, in toml: String = system) -> String {
        precondition(toml.contains(old), "\(old) is not in the config")
        return toml.replacingOccurrences(of: old, with: new)
    }

    @Test("the keys are read; the plan numbers transports per frontend, devices per device model and networks by first appearance")
    func plan() throws {
        let fixture = try Self.fixture()
        #expect(Self.problems(Self.system, fixture) == [])
        let system = try fixture.validate(Self.system)
        #expect(system.config.vms[0].deviceModel && !system.config.vms[1].deviceModel)
        #expect(system.config.vms[1].virtio == [
            VirtioDeviceConfig(kind: .blk, servedBy: "dm", disk: "disk.img"),
            VirtioDeviceConfig(kind: .net, servedBy: "dm", network: "lan", timeoutMs: 250),
            VirtioDeviceConfig(kind: .console, servedBy: "dm"),
        ])
        let plan = VirtioPlan(system.config)
        #expect(plan.networks == ["lan", "wan"])
        #expect(plan.devices.map(\.frontend) == [1, 1, 1, 2, 2])
        #expect(plan.devices.map(\.servedBy) == [0, 0, 0, 0, 0])
        #expect(plan.devices.map(\.transport) == [0, 1, 2, 0, 1])
        #expect(plan.devices.map(\.device) == [0, 1, 2, 3, 4])
        #expect(plan.devices.map(\.network) == [0, 1, 0, 2, 1])
        #expect(plan.devices.map(\.timeoutMs) == [UInt32(DeviceModel.defaultTimeoutMilliseconds), 250, UInt32(DeviceModel.defaultTimeoutMilliseconds), UInt32(DeviceModel.defaultTimeoutMilliseconds), UInt32(DeviceModel.defaultTimeoutMilliseconds)])
        #expect(plan.devices[0].disk == fixture.directory.appendingPathComponent("disk.img").standardized.path)
        // The windows: one per frontend, its RAM as the VM table maps it (31M rounded to 2 MiB).
        #expect(plan.windows(of: 0, in: system.config) == [
            MemoryRange(base: 0x50_0000_0000, size: 32 << 20), MemoryRange(base: 0x60_0000_0000, size: 16 << 20),
        ])
    }

    @Test("packed: the VM table's virtio records, read back as the firmware reads them")
    func packed() throws {
        let fixture = try Self.fixture()
        let system = try fixture.validate(Self.system)
        let writer = try SystemImage.manifest(for: system)
        let timeout = DeviceModel.defaultTimeoutMilliseconds
        #expect(writer.virtio == [
            SystemManifest.Virtio(frontend: 1, servedBy: 0, type: 2, timeoutMs: timeout, network: 0),
            SystemManifest.Virtio(frontend: 1, servedBy: 0, type: 1, timeoutMs: 250, network: 1),
            SystemManifest.Virtio(frontend: 1, servedBy: 0, type: 3, timeoutMs: timeout, network: 0),
            SystemManifest.Virtio(frontend: 2, servedBy: 0, type: 1, timeoutMs: timeout, network: 2),
            SystemManifest.Virtio(frontend: 2, servedBy: 0, type: 1, timeoutMs: timeout, network: 1),
        ])
        let bytes = writer.bytes()
        try bytes.withSpan { raw in
            let limits = SystemManifest.Limits(cpus: 8, dramBase: 0x4000_0000, dramSize: 0x4000_0000, reservedStart: 0x4008_0000, reservedEnd: 0x4010_0000)
            let m = try SystemManifest.open(raw, limits)
            #expect(m.virtioCount == 5)
            #expect((0..<m.virtioCount).map { m.virtio($0) } == writer.virtio)
            #expect((0..<m.virtioCount).map { m.transport(ofVirtio: $0) } == [0, 1, 2, 0, 1])
        }
        // Without virtio: no records.
        #expect(try SystemImage.manifest(for: try fixture.validate(rawVM)).virtio.isEmpty)
    }

    @Test("served_by: no such VM, not a device model, the VM itself")
    func servedBy() throws {
        let fixture = try Self.fixture()
        #expect(Self.problems(Self.changed("served_by = \"dm\"\ndisk", "served_by = \"dn\"\ndisk"), fixture) == [
            "system.toml: vm \"app\" key virtio[0].served_by: there is no vm \"dn\" (fix: did you mean \"dm\"?)",
        ])
        #expect(Self.problems(Self.changed("served_by = \"dm\"\ndisk", "served_by = \"zzzzzz\"\ndisk"), fixture) == [
            "system.toml: vm \"app\" key virtio[0].served_by: there is no vm \"zzzzzz\" (fix: name a device-model VM: \"dm\")",
        ])
        #expect(Self.problems(Self.changed("served_by = \"dm\"\ndisk", "served_by = \"peer\"\ndisk"), fixture) == [
            "system.toml: vm \"app\" key virtio[0].served_by: vm \"peer\" is not a device model (the device models are \"dm\") (fix: add device_model = true to vm \"peer\", or name a device-model VM: \"dm\")",
        ])
        #expect(Self.problems(Self.changed("served_by = \"dm\"\ndisk", "served_by = \"app\"\ndisk"), fixture) == [
            "system.toml: vm \"app\" key virtio[0].served_by: vm \"app\" cannot serve its own virtio devices (its vCPU would wait for itself) (fix: name a device-model VM: \"dm\")",
        ])
        // A device model serving itself, and no device model at all.
        let own = Self.system + """
            [[vm.virtio]]
            type = "console"
            served_by = "peer"

            """
        let selfServed = Self.changed("name = \"peer\"", "name = \"peer\"\ndevice_model = true", in: own)
        #expect(Self.problems(selfServed, fixture) == [
            "system.toml: vm \"peer\" key virtio[2].served_by: vm \"peer\" cannot serve its own virtio devices (its vCPU would wait for itself) (fix: name a device-model VM: \"dm\")",
        ])
        let none = Self.changed("device_model = true", "device_model = false")
        #expect(Self.problems(none, fixture).first == "system.toml: vm \"app\" key virtio[0].served_by: vm \"dm\" is not a device model (no VM has device_model = true) (fix: add device_model = true to vm \"dm\", or add a [[vm]] with device_model = true (a Linux VM that runs keel-dm) and name it)")
        #expect(Self.problems(Self.changed("device_model = true", "device_model = \"yes\""), fixture) == [
            "system.toml: vm \"dm\" key device_model: must be true or false, not the string \"yes\" (fix: write device_model = true)",
        ])
    }

    @Test("device_model_poll: accepted on a device model, refused with the key and a fix on any other VM, and must be a boolean")
    func devicePoll() throws {
        let fixture = try Self.fixture()
        let polling = Self.changed("device_model = true", "device_model = true\ndevice_model_poll = true")
        #expect(Self.problems(polling, fixture) == [])
        #expect(try fixture.validate(polling).config.vms.map(\.deviceModelPoll) == [true, false, false])
        #expect(try fixture.validate(Self.system).config.vms[0].deviceModelPoll == false)
        let notModel = Self.changed("name = \"peer\"", "name = \"peer\"\ndevice_model_poll = true")
        #expect(Self.problems(notModel, fixture) == [
            "system.toml: vm \"peer\" key device_model_poll: only a device model polls (this VM has no device_model = true) (fix: add device_model = true to vm \"peer\", or remove device_model_poll)",
        ])
        #expect(Self.problems(Self.changed("device_model = true", "device_model = true\ndevice_model_poll = 1"), fixture) == [
            "system.toml: vm \"dm\" key device_model_poll: must be true or false, not the integer 1 (fix: write device_model_poll = true)",
        ])
    }

    @Test("disk: missing, absent, empty, not whole sectors, a directory, unreadable; on a device that is not blk")
    func disk() throws {
        let fixture = try Self.fixture()
        #expect(Self.problems(Self.changed("disk = \"disk.img\"\n", ""), fixture) == [
            "system.toml: vm \"app\" key virtio[0].disk: missing; a blk device serves a disk image (fix: add disk = \"disk.img\" (a raw image, relative to this file))",
        ])
        let gone = fixture.directory.appendingPathComponent("gone.img").path
        #expect(Self.problems(Self.changed("disk.img", "gone.img"), fixture) == [
            "system.toml: vm \"app\" key virtio[0].disk: \"gone.img\" does not exist (looked at \(gone)) (fix: give a path relative to the config file)",
        ])
        try fixture.write("empty.img", Data())
        #expect(Self.problems(Self.changed("disk.img", "empty.img"), fixture) == [
            "system.toml: vm \"app\" key virtio[0].disk: \"empty.img\" is empty (\(fixture.directory.appendingPathComponent("empty.img").path)) (fix: give a raw disk image of whole 512-byte sectors, e.g. truncate -s 64M empty.img)",
        ])
        try fixture.write("odd.img", Data(count: 1000))
        #expect(Self.problems(Self.changed("disk.img", "odd.img"), fixture) == [
            "system.toml: vm \"app\" key virtio[0].disk: \"odd.img\" is 1000 bytes, not whole 512-byte sectors (fix: pad it to 1024 bytes: truncate -s 1024 odd.img)",
        ])
        #expect(Self.problems(Self.changed("disk = \"disk.img\"", "disk = \".\""), fixture).first?.contains("key virtio[0].disk: \".\" is a directory") == true)
        try fixture.write("locked.img", Data(count: 512))
        let locked = fixture.directory.appendingPathComponent("locked.img").path
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: locked)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: locked) }
        // Root reads any file: then there is nothing to refuse.
        if FileHandle(forReadingAtPath: locked) == nil {
            #expect(Self.problems(Self.changed("disk.img", "locked.img"), fixture) == [
                "system.toml: vm \"app\" key virtio[0].disk: \"locked.img\" cannot be read (\(locked)) (fix: check its permissions)",
            ])
        }
        #expect(Self.problems(Self.changed("type = \"console\"", "type = \"console\"\ndisk = \"disk.img\""), fixture) == [
            "system.toml: vm \"app\" key virtio[2].disk: a console device has no disk (fix: remove disk (it is for type = \"blk\"))",
        ])
    }

    @Test("type, network, timeout_ms, dma and unknown keys")
    func keys() throws {
        let fixture = try Self.fixture()
        #expect(Self.problems(Self.changed("type = \"console\"", "type = \"consol\""), fixture) == [
            "system.toml: vm \"app\" key virtio[2].type: Keel serves no virtio device \"consol\" (fix: did you mean \"console\"?)",
        ])
        #expect(Self.problems(Self.changed("type = \"console\"", "type = \"gpu-3d\""), fixture) == [
            "system.toml: vm \"app\" key virtio[2].type: Keel serves no virtio device \"gpu-3d\" (fix: use one of blk, net, console)",
        ])
        #expect(Self.problems(Self.changed("network = \"wan\"\n", ""), fixture) == [
            "system.toml: vm \"peer\" key virtio[0].network: missing; a net device is on a network (fix: add network = \"lan\" (the frontends on one network are switched together))",
        ])
        #expect(Self.problems(Self.changed("network = \"wan\"", "network = \" \""), fixture) == [
            "system.toml: vm \"peer\" key virtio[0].network: is empty (fix: name the network, e.g. network = \"lan\")",
        ])
        #expect(Self.problems(Self.changed("disk = \"disk.img\"", "disk = \"disk.img\"\nnetwork = \"lan\""), fixture) == [
            "system.toml: vm \"app\" key virtio[0].network: a blk device is on no network (fix: remove network (it is for type = \"net\"))",
        ])
        #expect(Self.problems(Self.changed("timeout_ms = 250", "timeout_ms = 0"), fixture) == [
            "system.toml: vm \"app\" key virtio[1].timeout_ms: 0 is not a timeout Keel keeps (0 would fail every access at once) (fix: use 1 to 4294967295 milliseconds, or leave timeout_ms out for the default \(DeviceModel.defaultTimeoutMilliseconds))",
        ])
        #expect(Self.problems(Self.changed("timeout_ms = 250", "timeout_ms = 0x1_0000_0000"), fixture).count == 1)
        #expect(Self.problems(Self.changed("dma = \"shared\"", "dma = \"pool\""), fixture) == [])
        #expect(Self.problems(Self.changed("dma = \"shared\"", "dma = \"share\""), fixture) == [
            "system.toml: vm \"app\" key virtio[2].dma: \"share\" is not a DMA mode (fix: did you mean \"shared\"?)",
        ])
        #expect(Self.problems(Self.changed("network = \"wan\"", "netwrok = \"wan\""), fixture).contains(
            "system.toml: vm \"peer\" key virtio[0].netwrok: unknown key (fix: did you mean \"network\"?)"))
        #expect(Self.problems(Self.changed("device_model = true", "device_modle = true"), fixture).contains(
            "system.toml: vm \"dm\" key device_modle: unknown key (fix: did you mean \"device_model\"?)"))
        #expect(Self.problems(Self.changed("served_by = \"dm\"\ndisk", "disk"), fixture) == [
            "system.toml: vm \"app\" key virtio[0].served_by: missing (fix: add served_by = \"dm\" (a VM with device_model = true))",
        ])
        #expect(Self.problems(Self.changed("kind = \"raw\"\n\n[[vm.virtio]]", "kind = \"raw\"\nvirtio = 3\n\n[[vm.virtio]]"), fixture).first?.contains("virtio") == true)
        let scalar = rawVM + "\nvirtio = [1]\n"
        #expect(Self.problems(scalar, fixture) == [
            "system.toml: vm \"demo\" key virtio[0]: the integer 1 is not a table (fix: write [[vm.virtio]] (two brackets) for each device, with type and served_by)",
        ])
    }

    @Test("more devices than a frontend's transports or the VM table hold")
    func counts() throws {
        let fixture = try Self.fixture()
        let console = "\n[[vm.virtio]]\ntype = \"console\"\nserved_by = \"dm\"\n"
        let nine = Self.changed("[[vm]]\nname = \"peer\"", String(repeating: console, count: 6) + "\n[[vm]]\nname = \"peer\"")
        #expect(Self.problems(nine, fixture) == [
            "system.toml: vm \"app\" key virtio: 9 virtio devices; a VM has at most 8 transports (0xb000000-0xb000fff) (fix: keep at most 8 [[vm.virtio]] tables in this VM)",
        ])
        let eight = Self.changed("[[vm]]\nname = \"peer\"", String(repeating: console, count: 5) + "\n[[vm]]\nname = \"peer\"")
        #expect(Self.problems(eight, fixture) == [])
        let more = "\n[[vm]]\nname = \"more\"\ncpus = [4]\nmemory = { base = 0x4000_0000, size = \"16M\" }\nkernel = \"raw.bin\"\nkind = \"raw\"\n"
        #expect(Self.problems(eight + String(repeating: console, count: 6), fixture) == [])
        let seventeen = eight + String(repeating: console, count: 6) + more + console
        #expect(Self.problems(seventeen, fixture) == [
            "system.toml: key virtio: the VMs have 17 virtio devices; Keel's VM table and a device model's request page hold at most 16 (fix: keep at most 16 [[vm.virtio]] tables in all)",
        ])
    }

    @Test("the transports, request page, windows and their INTIDs clear of each VM's RAM, regions and devices")
    func addresses() throws {
        let fixture = try Self.fixture()
        // A frontend's shared region over its transports.
        let region = Self.system + """
            [[shared_memory]]
            name = "ring"
            size = "4K"
            ipa = 0x0B00_0000
            vms = ["app", "peer"]

            """
        #expect(Self.problems(region, fixture).contains(
            "system.toml: vm \"app\" key shared_memory \"ring\": shared memory \"ring\" (0xb000000-0xb000fff) overlaps its virtio transports (0xb000000-0xb000fff), where Keel's device model is (fix: move it clear of 0xb000000-0xb000fff)"))
        // The device model's region over its request page.
        let page = Self.changed("ipa = 0x0B00_0000\nvms = [\"app\", \"peer\"]", "ipa = 0x0B10_0000\nvms = [\"dm\", \"peer\"]", in: region)
        #expect(Self.problems(page, fixture).contains(
            "system.toml: vm \"dm\" key shared_memory \"ring\": shared memory \"ring\" (0xb100000-0xb100fff) overlaps its device-model request page (0xb100000-0xb100fff), where Keel's device model is (fix: move it clear of 0xb100000-0xb100fff)"))
        // The device model's RAM over a window onto a frontend's.
        var config = try ConfigReader.parse(Self.system, file: "system.toml", directory: fixture.directory.path)
        config.vms[0].memory = MemoryRange(base: 0x50_0000_0000, size: 64 << 20)
        var problems = ProblemList(file: "system.toml")
        ConfigValidator.checkVirtio(config, board: try #require(BoardCatalog.named("qemu-virt")), into: &problems)
        #expect(problems.problems.map(\.description) == [
            "system.toml: vm \"dm\" key memory: the VM's memory (0x5000000000-0x5003ffffff) overlaps its window onto vm \"app\"'s RAM (0x5000000000-0x5001ffffff), where Keel's device model is (fix: move it clear of 0x5000000000-0x5001ffffff)",
        ])
        // A passed-through device's interrupt that is a transport's or the request INTID.
        let frontendIRQ = Self.changed("name = \"peer\"", "name = \"peer\"\ndevices = [{ name = \"virtio-mmio\", mmio = [{ base = 0x0A00_3000, size = 0x1000 }], interrupts = [79] }]")
        #expect(Self.problems(frontendIRQ, fixture) == [])
        var withIRQ = try ConfigReader.parse(Self.system, file: "system.toml", directory: fixture.directory.path)
        var board = try #require(BoardCatalog.named("qemu-virt"))
        board.devices.slots[4] = BoardDevice("virtio-mmio", "virtio,mmio", base: 0x0A00_0000, size: 0x4000, intid: 80, interruptCount: 9)
        // Peer has two transports: INTIDs 80 and 81 are Keel's there, 82 is free.
        withIRQ.vms[2].devices = [DeviceAssignment(name: "virtio-mmio", interrupts: [82, 81])]
        withIRQ.vms[0].devices = [DeviceAssignment(name: "virtio-mmio", interrupts: [88])]
        var irqProblems = ProblemList(file: "system.toml")
        ConfigValidator.checkVirtio(withIRQ, board: board, into: &irqProblems)
        #expect(irqProblems.problems.map(\.description) == [
            "system.toml: vm \"dm\" key devices[0].interrupts[0]: INTID 88 is its device-model request interrupt (fix: list the device's other interrupts in interrupts = [...], or pass through another device)",
            "system.toml: vm \"peer\" key devices[0].interrupts[1]: INTID 81 is the interrupt of its virtio transport 1 (fix: list the device's other interrupts in interrupts = [...], or pass through another device)",
        ])
    }

    @Test("the device trees: a virtio,mmio node per transport; keel,device-model with the request page and the windows")
    func deviceTrees() throws {
        let fixture = try Self.fixture()
        let system = try fixture.validate(Self.system)
        let app = SystemImage.virtioNodes(of: system.vms[1], in: system)
        #expect(app.deviceModel == nil)
        let dm = SystemImage.virtioNodes(of: system.vms[0], in: system)
        #expect(dm.transports.isEmpty)
        var tree = GuestDeviceTree(ramIPA: 0x4000_0000, ramSize: 32 << 20, vcpus: 2, gic: .v3(distributor: 0x0800_0000, redistributors: 0x080A_0000), uartIPA: 0x0900_0000)
        tree.devices = app.transports
        let root = try tree.tree()
        let names = root.children.map(\.name).filter { $0.hasPrefix("virtio_mmio") }
        #expect(names == ["virtio_mmio@b000000", "virtio_mmio@b000200", "virtio_mmio@b000400"])
        let second = try #require(root.child("virtio_mmio@b000200"))
        #expect(second.property("compatible") == .string("virtio,mmio"))
        #expect(second.property("reg") == .u64([0x0B00_0200, 0x200]))
        #expect(second.property("interrupts") == .u32([0, 49, 1]))
        #expect(second.property("dma-coherent") == .empty)

        var dmTree = GuestDeviceTree(ramIPA: 0x4000_0000, ramSize: 64 << 20, vcpus: 1, gic: .v3(distributor: 0x0800_0000, redistributors: 0x080A_0000), uartIPA: 0x0900_0000)
        dmTree.deviceModel = dm.deviceModel
        let node = try #require(try dmTree.tree().child("keel-dm@b100000"))
        #expect(node.property("compatible") == .string("keel,device-model"))
        #expect(node.property("reg") == .u64([0x0B10_0000, 0x1000, 0x50_0000_0000, 32 << 20, 0x60_0000_0000, 16 << 20]))
        #expect(node.property("interrupts") == .u32([0, 56, 1]))

        // As dtc reads the blobs.
        if let dts = try Self.decompiled(try tree.blob()) {
            #expect(dts.contains("virtio_mmio@b000400 {"))
            #expect(dts.contains("interrupts = <0x00 0x32 0x01>;"))
            #expect(dts.contains("reg = <0x00 0xb000400 0x00 0x200>;"))
        }
        if let dts = try Self.decompiled(try dmTree.blob()) {
            #expect(dts.contains("keel-dm@b100000 {"))
            #expect(dts.contains("compatible = \"keel,device-model\";"))
            #expect(dts.contains("reg = <0x00 0xb100000 0x00 0x1000 0x50 0x00 0x00 0x2000000 0x60 0x00 0x00 0x1000000>;"))
            #expect(dts.contains("interrupts = <0x00 0x38 0x01>;"))
        }
    }

    /// `dtc -I dtb -O dts` of `blob`; nil without dtc.
    static func decompiled(_ blob: [UInt8]) throws -> String? {
        guard let dtc = GuestDeviceTreeTests.dtc else { return nil }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keel-virtio-\(UUID().uuidString).dtb")
        try Data(blob).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: dtc)
        process.arguments = ["-I", "dtb", "-O", "dts", file.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self)
    }
}
