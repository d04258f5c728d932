import Foundation
import Testing

/// What `keel run` can check before QEMU starts is checked there (status 65 and what to do),
/// not found out by a silent run into the timeout (124).
@Suite("keel run: the firmware and IMAGE are checked before QEMU starts")
struct RunPrecheckTests {
    /// 64 KiB of pseudo-random bytes (no arm64 Image header), fixed so a failure repeats.
    static func randomFile(_ scratch: PackTests.Scratch) throws -> String {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let bytes = (0..<65536).map { _ -> UInt8 in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
        let path = scratch.path("random.bin")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("keel run random.bin: not an image keel pack wrote, 65 at once")
    func randomImage() throws {
        let scratch = try PackTests.Scratch()
        let file = try Self.randomFile(scratch)
        let started = Date()
        let run = try runKeel(["run", file, "--timeout", "20"])
        #expect(run.status == 65, "\(run.stderr)")
        #expect(run.stderr.contains("image '\(file)' is not a Linux arm64 Image"), "\(run.stderr)")
        #expect(!run.stderr.contains("Usage:"))
        #expect(!run.stdout.contains("[keel]"), "QEMU ran: \(run.stdout)")
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test("keel run --firmware random.bin, or a Linux kernel as firmware: not a Keel firmware, 65")
    func randomFirmware() throws {
        let scratch = try PackTests.Scratch()
        let file = try Self.randomFile(scratch)
        let run = try runKeel(["run", "--guest", Repo.guest("demo"), "--firmware", file, "--timeout", "20"])
        #expect(run.status == 65, "\(run.stderr)")
        #expect(run.stderr.contains("firmware '\(file)' is not a Linux arm64 Image"), "\(run.stderr)")
        #expect(!run.stdout.contains("[keel]"), "QEMU ran: \(run.stdout)")
        // An arm64 Image, but not Keel's (res2, where Keel's build puts its link address, is 0).
        var kernel = Data(count: 4096)
        kernel.replaceSubrange(0x38..<0x3C, with: Array("ARM\u{64}".utf8))
        let image = scratch.path("Image")
        try kernel.write(to: URL(fileURLWithPath: image))
        let linux = try runKeel(["run", "--guest", Repo.guest("demo"), "--firmware", image, "--timeout", "20"])
        #expect(linux.status == 65, "\(linux.stderr)")
        #expect(linux.stderr.contains("is an arm64 Image but not a Keel firmware"), "\(linux.stderr)")
    }

    @Test("another board's firmware: named, with the --board that runs it")
    func otherBoardsFirmware() throws {
        let run = try runKeel(["run", "--guest", Repo.guest("demo"), "--firmware", Repo.path("build/hyp-xlnx-zcu102/keel.bin"), "--timeout", "20"])
        #expect(run.status == 65, "\(run.stderr)")
        #expect(run.stderr.contains("is built for xlnx-zcu102 (linked at 0x80000), not qemu-virt (which loads Keel at 0x40080000): give --board xlnx-zcu102"), "\(run.stderr)")
        #expect(!run.stdout.contains("[keel]"))
    }

    @Test("an image packed for xlnx-zcu102 run without --board: 65 and the --board to give")
    func zcu102ImageWithoutBoard() throws {
        let scratch = try PackTests.Scratch()
        let out = scratch.path("zcu102.img")
        let pack = try runKeel(["pack", "--config", try scratch.config(PackTests.demoConfig(board: "xlnx-zcu102")), "-o", out])
        try #require(pack.status == 0, "\(pack.stderr)")
        let started = Date()
        let run = try runKeel(["run", out, "--timeout", "20"])
        #expect(run.status == 65, "\(run.stderr)")
        #expect(run.stderr.contains("is built for xlnx-zcu102 (linked at 0x80000), not qemu-virt (which loads Keel at 0x40080000): run it with --board xlnx-zcu102"), "\(run.stderr)")
        #expect(Date().timeIntervalSince(started) < 10)
        // And the other way round: --board names the board it was not packed for.
        let virt = scratch.path("virt.img")
        #expect(try runKeel(["pack", "--config", try scratch.config(PackTests.demoConfig()), "-o", virt]).status == 0)
        let wrong = try runKeel(["run", virt, "--board", "xlnx-zcu102", "--timeout", "20"])
        #expect(wrong.status == 65, "\(wrong.stderr)")
        #expect(wrong.stderr.contains("run it with --board qemu-virt instead of --board xlnx-zcu102"), "\(wrong.stderr)")
    }

    @Test("keel.bin itself as IMAGE (no VM appended): 65, pack one or use --guest")
    func firmwareAsImage() throws {
        let run = try runKeel(["run", Repo.firmware, "--timeout", "20"])
        #expect(run.status == 65, "\(run.stderr)")
        #expect(run.stderr.contains("is Keel's firmware with no VM appended"), "\(run.stderr)")
    }

    @Test("IMAGE missing, a directory or empty: 66")
    func noInput() throws {
        let scratch = try PackTests.Scratch()
        let empty = scratch.path("empty.img")
        FileManager.default.createFile(atPath: empty, contents: Data())
        for (path, says) in [(scratch.path("nope.img"), "does not exist"), (scratch.url.path, "is a directory"), (empty, "is empty")] {
            let run = try runKeel(["run", path])
            #expect(run.status == 66, "\(path): \(run.stderr)")
            #expect(run.stderr.contains("image '\(path)' \(says)"), "\(run.stderr)")
            #expect(!run.stderr.contains("Usage:"))
        }
    }
}
