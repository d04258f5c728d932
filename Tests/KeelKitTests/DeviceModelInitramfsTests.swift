import Foundation
import KeelCore
import Testing
@testable import KeelKit

/// The initramfs `keel pack` gives a Linux device-model VM: its files, /etc/keel-dm.conf in
/// request-page order, /init, where the build products are looked up, and the packed bundle.
@Suite("The device-model VM's initramfs")
struct DeviceModelInitramfsTests {
    /// A Linux device model serving two frontends: a disk and a console to "app", a net and a
    /// second disk to "peer".
    static let system = """
        board = "qemu-virt"

        [[vm]]
        name = "dm"
        cpus = [0]
        memory = { base = 0x4000_0000, size = "64M" }
        kernel = "Image"
        device_model = true

        [[vm]]
        name = "app"
        cpus = [1]
        memory = { base = 0x4000_0000, size = "32M" }
        kernel = "Image"

        [[vm.virtio]]
        type = "blk"
        served_by = "dm"
        disk = "a.img"
        [[vm.virtio]]
        type = "console"
        served_by = "dm"

        [[vm]]
        name = "peer"
        cpus = [2]
        memory = { base = 0x4000_0000, size = "16M" }
        kernel = "raw.bin"
        kind = "raw"

        [[vm.virtio]]
        type = "net"
        served_by = "dm"
        network = "lan"
        [[vm.virtio]]
        type = "blk"
        served_by = "dm"
        disk = "b.img"

        """

    /// The fixture with the disks and stand-ins for busybox, keel-dm and keel-dm.ko.
    static func fixture() throws -> (ConfigFixture, DeviceModelFiles) {
        let fixture = try ConfigFixture()
        try fixture.write("a.img", Data(repeating: 0xAA, count: 1024))
        try fixture.write("b.img", Data(repeating: 0xBB, count: 512))
        try fixture.write("busybox", Data("busybox".utf8))
        try fixture.write("keel-dm", Data("program".utf8))
        try fixture.write("keel-dm.ko", Data("driver".utf8))
        let dir = fixture.directory.path
        return (fixture, DeviceModelFiles(program: dir + "/keel-dm", driver: dir + "/keel-dm.ko", busybox: dir + "/busybox"))
    }

    static func files(_ archive: Data) throws -> [String: CPIOTests.Read] {
        Dictionary(try CPIOTests.read(archive).map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    @Test("/etc/keel-dm.conf: a line per device served, in request-page order; MACs locally administered, per frontend and transport")
    func configuration() throws {
        let (fixture, _) = try Self.fixture()
        let system = try fixture.validate(Self.system)
        let conf = DeviceModelInitramfs.configuration(VirtioPlan(system.config), servedBy: 0)
        #expect(conf == """
            blk 0 /disks/0.img
            console 1
            net 2 02:4b:45:4c:02:00
            blk 3 /disks/3.img

            """)
        #expect(DeviceModelInitramfs.configuration(VirtioPlan(system.config), servedBy: 1) == "")
        #expect(DeviceModelInitramfs.mac(frontend: 1, transport: 7) == "02:4b:45:4c:01:07")
        // Bit 1 of the first byte: locally administered; bit 0 clear: unicast.
        #expect(UInt8(DeviceModelInitramfs.mac(frontend: 3, transport: 2).prefix(2), radix: 16)! & 3 == 2)
    }

    @Test("the archive: busybox, the driver, keel-dm, the disks by device, the conf and /init")
    func archive() throws {
        let (fixture, files) = try Self.fixture()
        let system = try fixture.validate(Self.system)
        let archive = try DeviceModelInitramfs.archive(for: 0, in: system, files: files).encoded()
        let entries = try Self.files(archive)
        #expect(entries["bin/busybox"]?.data == Array("busybox".utf8))
        #expect(entries["bin/busybox"].map { $0.mode & 0o777 } == 0o755)
        #expect(entries["lib/modules/keel-dm.ko"]?.data == Array("driver".utf8))
        #expect(entries["bin/keel-dm"]?.data == Array("program".utf8))
        #expect(entries["bin/keel-dm"].map { $0.mode & 0o777 } == 0o755)
        #expect(entries["disks/0.img"]?.data == [UInt8](repeating: 0xAA, count: 1024))
        #expect(entries["disks/3.img"]?.data == [UInt8](repeating: 0xBB, count: 512))
        #expect(entries["disks/1.img"] == nil && entries["disks/2.img"] == nil)
        #expect(entries["etc/keel-dm.conf"].map { String(decoding: $0.data, as: UTF8.self) } == DeviceModelInitramfs.configuration(VirtioPlan(system.config), servedBy: 0))
        #expect(entries["dev/console"] != nil)
        for applet in DeviceModelInitramfs.applets { #expect(entries["bin/\(applet)"] != nil, "\(applet)") }
        let initScript = try #require(entries["init"].map { String(decoding: $0.data, as: UTF8.self) })
        #expect(entries["init"].map { $0.mode & 0o777 } == 0o755)
        // Mounts, then the driver, then keel-dm becomes init.
        let order = ["mount -t proc proc /proc", "mount -t devtmpfs devtmpfs /dev", "insmod /lib/modules/keel-dm.ko",
                     "exec /bin/keel-dm --conf /etc/keel-dm.conf"]
        let positions = order.map { initScript.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil }, "\(initScript)")
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        #expect(initScript.contains(DeviceModelInitramfs.Marker.started) && initScript.contains(DeviceModelInitramfs.Marker.exec))
    }

    @Test("/init is valid sh (sh -n)", .enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/sh")), arguments: [false, true])
    func initScriptParses(poll: Bool) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-n", "-c", DeviceModelInitramfs.initScript(poll: poll)]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test("device_model_poll = true: /init execs keel-dm --poll; without it, no --poll")
    func polling() throws {
        let (fixture, files) = try Self.fixture()
        let polling = Self.system.replacingOccurrences(of: "device_model = true", with: "device_model = true\ndevice_model_poll = true")
        #expect(polling != Self.system)
        for (toml, poll) in [(Self.system, false), (polling, true)] {
            let system = try fixture.validate(toml)
            #expect(system.config.vms[0].deviceModelPoll == poll)
            let entries = try Self.files(try DeviceModelInitramfs.archive(for: 0, in: system, files: files).encoded())
            let initScript = try #require(entries["init"].map { String(decoding: $0.data, as: UTF8.self) })
            #expect(initScript.contains("exec /bin/keel-dm --poll --conf /etc/keel-dm.conf") == poll, "\(initScript)")
            #expect(initScript.contains("exec /bin/keel-dm --conf /etc/keel-dm.conf") == !poll, "\(initScript)")
            #expect(initScript.contains("\(DeviceModelInitramfs.Marker.exec)/bin/keel-dm\(poll ? " --poll" : "") --conf"))
        }
    }

    @Test("packed: the device model's bundle carries its initramfs before the config's initrd, and its keel,device-model node")
    func packed() throws {
        let (fixture, files) = try Self.fixture()
        let withInitrd = Self.system.replacingOccurrences(of: "kernel = \"Image\"\ndevice_model = true", with: "kernel = \"Image\"\ninitrd = \"initrd.cpio\"\ndevice_model = true")
        #expect(withInitrd != Self.system)
        for (toml, extra) in [(Self.system, 0), (withInitrd, 1 << 20)] {
            let system = try fixture.validate(toml)
            let bundle = try SystemImage.bundle(for: system.vms[0], board: system.board.board, in: system, deviceModelFiles: files)
            let initrd = try #require(bundle.images.first { $0.kind == .initrd }).bytes
            let ours = try DeviceModelInitramfs.archive(for: 0, in: system, files: files).encoded()
            let padded = (ours.count + 3) & ~3
            #expect(initrd.count == padded + extra)
            #expect(initrd.prefix(ours.count) == ours)
            if extra > 0 { #expect(initrd.suffix(extra) == Data(repeating: 0x30, count: extra)) }
            let dtb = try #require(bundle.images.first { $0.kind == .deviceTree }).bytes
            if let dts = try VirtioConfigTests.decompiled(Array(dtb)) {
                #expect(dts.contains("keel-dm@b100000 {"))
                #expect(dts.contains("reg = <0x00 0xb100000 0x00 0x1000 0x50 0x00 0x00 0x2000000 0x60 0x00 0x00 0x1000000>;"))
            }
            // The frontend's tree: two transports.
            let app = try SystemImage.bundle(for: system.vms[1], board: system.board.board, in: system, deviceModelFiles: files)
            #expect(app.images.filter { $0.kind == .initrd }.isEmpty)
            if let dts = try VirtioConfigTests.decompiled(Array(try #require(app.images.first { $0.kind == .deviceTree }).bytes)) {
                #expect(dts.contains("virtio_mmio@b000000 {") && dts.contains("virtio_mmio@b000200 {") && !dts.contains("virtio_mmio@b000400"))
                #expect(!dts.contains("keel-dm@"))
            }
        }
        // Missing build products: a clear error that says what to run.
        let system = try fixture.validate(Self.system)
        var missing = files
        missing.program = fixture.directory.path + "/none"
        #expect(throws: KeelError("the device model '\(missing.program)' cannot be read")) {
            try SystemImage.bundle(for: system.vms[0], board: system.board.board, in: system, deviceModelFiles: missing)
        }
    }

    @Test("the build products are looked up in $KEEL_DM_DIR, beside the keel executable, then under the current directory; else \"run make\"")
    func locate() throws {
        let (fixture, _) = try Self.fixture()
        let root = fixture.directory.path
        let manager = FileManager.default
        try manager.createDirectory(atPath: root + "/build/keel-dm", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: root + "/build/bin", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: root + "/.cache/linux", withIntermediateDirectories: true)
        let elsewhere = root + "/elsewhere"
        try manager.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        #expect(throws: KeelError.self) {
            try DeviceModelFiles.locate(executable: root + "/build/bin/keel", environment: [:], currentDirectory: elsewhere)
        }
        do {
            _ = try DeviceModelFiles.locate(executable: root + "/build/bin/keel", environment: [:], currentDirectory: elsewhere)
        } catch let error as KeelError {
            #expect(error.message.contains("run `make`"))
            #expect(error.message.contains(root + "/build/keel-dm"))
        }
        try Data("p".utf8).write(to: URL(fileURLWithPath: root + "/build/keel-dm/keel-dm"))
        try Data("d".utf8).write(to: URL(fileURLWithPath: root + "/build/keel-dm/keel-dm.ko"))
        do {
            _ = try DeviceModelFiles.locate(executable: root + "/build/bin/keel", environment: [:], currentDirectory: elsewhere)
            Issue.record("found busybox where there is none")
        } catch let error as KeelError {
            #expect(error.message.contains("run `make linux`"))
        }
        try Data("b".utf8).write(to: URL(fileURLWithPath: root + "/.cache/linux/busybox"))
        // Beside the executable (build/bin/keel -> build/keel-dm, .cache/linux).
        #expect(try DeviceModelFiles.locate(executable: root + "/build/bin/keel", environment: [:], currentDirectory: elsewhere)
            == DeviceModelFiles(program: root + "/build/keel-dm/keel-dm", driver: root + "/build/keel-dm/keel-dm.ko", busybox: root + "/.cache/linux/busybox"))
        // Under the current directory, for a keel run from elsewhere.
        #expect(try DeviceModelFiles.locate(executable: "/usr/bin/keel", environment: [:], currentDirectory: root).program == root + "/build/keel-dm/keel-dm")
        // $KEEL_DM_DIR first, when it holds both files.
        try Data("p".utf8).write(to: URL(fileURLWithPath: elsewhere + "/keel-dm"))
        #expect(try DeviceModelFiles.locate(executable: root + "/build/bin/keel", environment: ["KEEL_DM_DIR": elsewhere], currentDirectory: root).program == root + "/build/keel-dm/keel-dm")
        try Data("d".utf8).write(to: URL(fileURLWithPath: elsewhere + "/keel-dm.ko"))
        #expect(try DeviceModelFiles.locate(executable: root + "/build/bin/keel", environment: ["KEEL_DM_DIR": elsewhere], currentDirectory: root).driver == elsewhere + "/keel-dm.ko")
    }
}
