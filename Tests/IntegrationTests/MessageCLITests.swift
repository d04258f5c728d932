import Foundation
import KeelKit
import Testing

/// What the built `keel` says when a file or value is wrong: the right reason, the right fix,
/// the documented status, and no `Usage:` block or Foundation error text for file problems.
@Suite("keel's messages for wrong files and values")
struct MessageCLITests {
    /// A small arm64 Image: enough header for the config checks (magic, text_offset 0).
    static func fakeLinuxImage(_ scratch: PackTests.Scratch) throws -> String {
        var bytes = Data(count: 4096)
        bytes.replaceSubrange(0x38..<0x3C, with: Array("ARM\u{64}".utf8))
        let path = scratch.path("Image")
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    static func linuxConfig(kernel: String, extra: String) -> String {
        """
        board = "qemu-virt"
        [[vm]]
        name = "linux"
        cpus = [0]
        memory = { base = 0x4000_0000, size = "256M" }
        kernel = "\(kernel)"
        kind = "linux"
        \(extra)
        """
    }

    @Test("keel dtb on a directory or an empty file: said so, 66 (was 'no such file')")
    func dtbNotAFile() throws {
        let directory = try runKeel(["dtb", "/tmp"])
        #expect(directory.status == 66, "\(directory.stderr)")
        #expect(directory.stderr.contains("keel: device tree '/tmp' is a directory"), "\(directory.stderr)")
        let empty = try runKeel(["dtb", "/dev/null"])
        #expect(empty.status == 66, "\(empty.stderr)")
        #expect(empty.stderr.contains("keel: device tree '/dev/null' is empty"), "\(empty.stderr)")
        for run in [directory, empty] {
            #expect(!run.stderr.contains("no such file") && !run.stderr.contains("Usage:"), "\(run.stderr)")
        }
    }

    @Test("a config's kernel that is a directory: 'is a directory' (was 'does not exist')")
    func kernelDirectory() throws {
        let scratch = try PackTests.Scratch()
        let config = try scratch.config(PackTests.demoConfig().replacingOccurrences(of: Repo.guest("demo"), with: "/tmp"))
        let run = try runKeel(["pack", "--config", config, "-o", scratch.path("out.img")])
        #expect(run.status == 65, "\(run.stderr)")
        #expect(run.stderr.contains("key kernel: \"/tmp\" is a directory (/tmp) (fix: point kernel at a file in it)"), "\(run.stderr)")
        #expect(!run.stderr.contains("does not exist"))
    }

    @Test("pack --board nope: the flag is blamed, 64 (was the config's board key)")
    func packBoardFlag() throws {
        let scratch = try PackTests.Scratch()
        let run = try runKeel(["pack", "--config", try scratch.config(PackTests.demoConfig()), "--board", "nope", "-o", scratch.path("out.img")])
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.contains("keel: --board nope: no such board; the boards are qemu-virt,"), "\(run.stderr)")
        #expect(!run.stderr.contains("key board"), "\(run.stderr)")
    }

    @Test("keel esr -1: said to be negative (was 'Missing expected argument')")
    func esrNegative() throws {
        let run = try runKeel(["esr", "-1"])
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.contains("'-1' is negative; an ESR is an unsigned 64-bit register value"), "\(run.stderr)")
        #expect(!run.stderr.contains("Missing expected argument"))
        #expect(try runKeel(["esr", "0x96000050", "--json"]).status == 0)
    }

    @Test("name = \"\" is refused (was accepted)")
    func emptyName() throws {
        let scratch = try PackTests.Scratch()
        let config = try scratch.config(PackTests.demoConfig().replacingOccurrences(of: "name = \"demo\"", with: "name = \"\""))
        let run = try runKeel(["pack", "--config", config, "-o", scratch.path("out.img")])
        #expect(run.status == 65, "\(run.stderr)")
        #expect(run.stderr.contains("key name: is empty"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out.img")))
    }

    @Test("an empty initrd is refused (was accepted); an empty dtb gets a fix that fits it")
    func emptyInitrdAndDTB() throws {
        let scratch = try PackTests.Scratch()
        let kernel = try Self.fakeLinuxImage(scratch)
        FileManager.default.createFile(atPath: scratch.path("empty.cpio"), contents: Data())
        FileManager.default.createFile(atPath: scratch.path("empty.dtb"), contents: Data())
        let initrd = try runKeel(["pack", "--config", try scratch.config(Self.linuxConfig(kernel: kernel, extra: "initrd = \"empty.cpio\"\ndtb = \"generate\"")),
                                  "-o", scratch.path("out.img")])
        #expect(initrd.status == 65, "\(initrd.stderr)")
        #expect(initrd.stderr.contains("key initrd: \"empty.cpio\" is empty"), "\(initrd.stderr)")
        let dtb = try runKeel(["pack", "--config", try scratch.config(Self.linuxConfig(kernel: kernel, extra: "dtb = \"empty.dtb\"")),
                               "-o", scratch.path("out.img")])
        #expect(dtb.status == 65, "\(dtb.stderr)")
        #expect(dtb.stderr.contains("key dtb: \"empty.dtb\" is empty"), "\(dtb.stderr)")
        #expect(dtb.stderr.contains("fix: compile the device tree with dtc -O dtb, or write dtb = \"generate\""), "\(dtb.stderr)")
        #expect(!dtb.stderr.contains("point dtb at the image itself"))
    }

    @Test("--trace on xlnx-zcu102 without a DTB: the refusal names --dtb")
    func traceNeedsDTB() throws {
        let run = try runKeel(["run", "--board", "xlnx-zcu102", "--guest", Repo.guest("demo"), "--trace", "/tmp/never.trace"])
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.contains("--trace is not possible on xlnx-zcu102") && run.stderr.contains("--dtb FILE"), "\(run.stderr)")
    }

    @Test("a missing guest and a missing config: 66, no Usage block")
    func missingFiles() throws {
        let guest = try runKeel(["run", "--guest", "/nonexistent/guest.bin"])
        #expect(guest.status == 66, "\(guest.stderr)")
        #expect(!guest.stderr.contains("Usage:"))
        let firmware = try runKeel(["run", "--guest", Repo.guest("demo"), "--firmware", "/nonexistent/keel.bin"])
        #expect(firmware.status == 66, "\(firmware.stderr)")
        #expect(firmware.stderr.contains("keel: firmware '/nonexistent/keel.bin' does not exist"), "\(firmware.stderr)")
    }

    @Test("keel --version: the version the firmware's banner prints, and the firmware's build id")
    func version() throws {
        let run = try runKeel(["--version"])
        #expect(run.status == 0, "\(run.stderr)")
        let main = try String(contentsOfFile: Repo.path("hyp/core/Main.swift"), encoding: .utf8)
        let firmwareVersion = try #require(main.components(separatedBy: "let keelVersion: StaticString = \"").dropFirst().first?.prefix { $0 != "\"" })
        #expect(run.lines.first == "keel \(firmwareVersion)", "\(run.stdout)")
        let id = try ELFBuildID.read(Repo.path("build/hyp/keel.elf")).map { String(format: "%02x", $0) }.joined()
        #expect(run.lines.contains("firmware \(Repo.firmware): build id \(id)"), "\(run.stdout)")
    }

    @Test("keel run --help lists every exit status of the table, with the brief's numbers")
    func exitStatusHelp() throws {
        let run = try runKeel(["run", "--help"])
        #expect(run.status == 0)
        let expected: [Int32] = [0, 1, 64, 65, 66, 70, 71, 73, 74, 75, 76, 124]
        #expect(ExitStatus.allCases.map(\.rawValue) == expected)
        let help = run.stdout.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        for status in ExitStatus.allCases {
            #expect(help.contains("\(status.rawValue) \(status.meaning)"), "\(status) missing from:\n\(run.stdout)")
        }
        #expect(help.contains("128+N keel got signal N"))
    }
}
