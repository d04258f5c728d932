import Foundation
import KeelBoards
import Testing
@testable import KeelKit

/// A scratch directory removed when the test ends.
final class Scratch {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("keel-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    func file(_ name: String, _ bytes: [UInt8], executable: Bool = false) throws -> String {
        let path = url.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path) }
        return path
    }
}

@Suite("Guest images are checked before anything boots")
struct GuestImageTests {
    let layout = qemuVirtDefaultVM

    @Test("a missing file")
    func missing() {
        #expect(throws: KeelError("guest image '/nonexistent/guest.bin' does not exist", status: .noInput)) {
            try GuestImage.load("/nonexistent/guest.bin", fitting: layout)
        }
    }

    @Test("an empty file")
    func empty() throws {
        let scratch = try Scratch()
        let path = try scratch.file("empty.bin", [])
        #expect(throws: KeelError("guest image '\(path)' is empty", status: .noInput)) { try GuestImage.load(path, fitting: layout) }
    }

    @Test("a directory")
    func directory() throws {
        let scratch = try Scratch()
        #expect(throws: KeelError("guest image '\(scratch.url.path)' is a directory, not a file", status: .noInput)) {
            try GuestImage.load(scratch.url.path, fitting: layout)
        }
    }

    @Test("an image larger than the VM's RAM")
    func tooLarge() throws {
        let scratch = try Scratch()
        let path = try scratch.file("big.bin", [UInt8](repeating: 0, count: 3 << 20))
        var small = layout
        small.ramSize = 2 << 20
        #expect(throws: KeelError("guest image '\(path)' is \(3 << 20) bytes, more than the VM's 2 MiB of RAM")) {
            try GuestImage.load(path, fitting: small)
        }
    }

    @Test("raw binaries and Linux Images are told apart by the header magic")
    func kinds() throws {
        let scratch = try Scratch()
        var header = [UInt8](repeating: 0, count: 64)
        header.replaceSubrange(0x38..<0x3C, with: Array("ARM\u{64}".utf8))
        #expect(try GuestImage.load(scratch.file("Image", header), fitting: layout).kind == .linuxImage)
        #expect(try GuestImage.load(scratch.file("raw.bin", [0x1F, 0x20, 0x03, 0xD5]), fitting: layout).kind == .raw)
        #expect(try GuestImage.load(scratch.file("short", Array(header.prefix(0x3C))), fitting: layout).kind == .raw)
    }
}

@Suite("QEMU command lines")
struct QEMUCommandTests {
    @Test("firmware through -kernel, the boot bundle at the board's bundle address")
    func virtGICv3() {
        let command = QEMUCommand(firmware: "build/hyp/keel.bin", bundle: "g.bin", board: qemuVirt, layout: qemuVirtDefaultVM)
        let args = command.arguments
        #expect(args.contains("virt,virtualization=on,gic-version=3"))
        #expect(args.contains("cortex-a72"))
        #expect(args.contains("1024M"))
        #expect(args.contains("loader,file=g.bin,addr=0x60000000,force-raw=on"))
        #expect(args[args.firstIndex(of: "-kernel")! + 1] == "build/hyp/keel.bin")
        #expect(command.shellLine.hasPrefix("qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 "))
    }

    @Test("GIC version and CPU model are options")
    func options() {
        let command = QEMUCommand(firmware: "k", bundle: "a b.bin", board: qemuVirt, layout: qemuVirtDefaultVM, gicVersion: 2, cpu: "cortex-a53")
        #expect(command.arguments.contains("virt,virtualization=on,gic-version=2"))
        #expect(command.arguments.contains("cortex-a53"))
        #expect(command.shellLine.contains("'loader,file=a b.bin,addr=0x60000000,force-raw=on'"))
    }
}

@Suite("Finding the firmware")
struct FirmwareTests {
    @Test("an explicit path that does not exist is an error")
    func explicitMissing() {
        #expect(throws: KeelError("firmware '/no/keel.bin' does not exist", status: .noInput)) {
            try Firmware.locate(explicit: "/no/keel.bin")
        }
    }

    @Test("KEEL_FIRMWARE, then beside the executable")
    func search() throws {
        let scratch = try Scratch()
        let fromEnvironment = try scratch.file("keel.bin", [1])
        #expect(try Firmware.locate(explicit: nil, executable: "/nowhere/bin/keel", environment: ["KEEL_FIRMWARE": fromEnvironment]) == fromEnvironment)
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("hyp"), withIntermediateDirectories: true)
        let beside = try scratch.file("hyp/keel.bin", [1])
        #expect(try Firmware.locate(explicit: nil, executable: scratch.url.path + "/bin/keel", environment: [:]) == beside)
    }

    @Test("another board's firmware: its own directory beside the executable; KEEL_FIRMWARE is qemu-virt's")
    func boardDirectory() throws {
        let scratch = try Scratch()
        let fromEnvironment = try scratch.file("keel.bin", [1])
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("bin"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent("hyp-xlnx-zcu102"), withIntermediateDirectories: true)
        let zcu = try scratch.file("hyp-xlnx-zcu102/keel.bin", [1])
        let directory = try #require(BoardCatalog.named("xlnx-zcu102")?.firmwareDirectory)
        #expect(try Firmware.locate(explicit: nil, directory: directory, executable: scratch.url.path + "/bin/keel",
                                    environment: ["KEEL_FIRMWARE": fromEnvironment]) == zcu)
    }
}
