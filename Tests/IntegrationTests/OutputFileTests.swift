import Foundation
import Testing

/// `keel pack -o` and `keel trace export --chrome` write where they are told: a symlink's
/// target, a FIFO or device node as it is (never replaced by a regular file); 73 when the file
/// cannot be created, 74 when writing fails.
@Suite("keel pack -o and trace export --chrome: symlinks, FIFOs, devices, directories")
struct OutputFileTests {
    static func pack(_ scratch: PackTests.Scratch, to output: String) throws -> KeelRun {
        try runKeel(["pack", "--config", try scratch.config(PackTests.demoConfig()), "-o", output])
    }

    static func fileType(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    @Test("-o a symlink: the link stays, its target gets the image")
    func symlink() throws {
        let scratch = try PackTests.Scratch()
        let target = scratch.path("target.img"), link = scratch.path("link.img")
        try Data("old".utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "target.img")
        let run = try Self.pack(scratch, to: link)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Self.fileType(link) == S_IFLNK, "the symlink was replaced")
        let written = try Data(contentsOf: URL(fileURLWithPath: target))
        #expect(written.count > 4096 && written[0x38..<0x3C] == Data("ARM\u{64}".utf8))
        // A dangling link: its target is created.
        let dangling = scratch.path("dangling.img")
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: "new.img")
        #expect(try Self.pack(scratch, to: dangling).status == 0)
        #expect(Self.fileType(dangling) == S_IFLNK && Self.fileType(scratch.path("new.img")) == S_IFREG)
    }

    @Test("-o a FIFO: written through, still a FIFO")
    func fifo() throws {
        let scratch = try PackTests.Scratch()
        let path = scratch.path("pipe")
        try #require(mkfifo(path, 0o600) == 0)
        // The reader: cat into a file (opening a FIFO blocks until both ends are open).
        let copy = scratch.path("copy")
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/sh")
        reader.arguments = ["-c", "cat '\(path)' > '\(copy)'"]
        try reader.run()
        let run = try Self.pack(scratch, to: path)
        reader.waitUntilExit()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Self.fileType(path) == S_IFIFO, "the FIFO was replaced by a regular file")
        let received = try Data(contentsOf: URL(fileURLWithPath: copy))
        #expect(received.count > 4096 && received[0x38..<0x3C] == Data("ARM\u{64}".utf8))
    }

    @Test("-o /dev/full: 74, and /dev/full is still a device")
    func deviceFull() throws {
        try #require(Self.fileType("/dev/full") == S_IFCHR, "/dev/full is not a character device here")
        let scratch = try PackTests.Scratch()
        let run = try Self.pack(scratch, to: "/dev/full")
        #expect(run.status == 74, "\(run.stderr)")
        #expect(run.stderr.contains("keel: cannot write output '/dev/full': no space left on device"), "\(run.stderr)")
        #expect(Self.fileType("/dev/full") == S_IFCHR)
    }

    @Test("-o an existing directory or into a missing folder: 73, said plainly")
    func cannotCreate() throws {
        let scratch = try PackTests.Scratch()
        let run = try Self.pack(scratch, to: scratch.url.path)
        #expect(run.status == 73, "\(run.stderr)")
        #expect(run.stderr.contains("output '\(scratch.url.path)' is a directory"), "\(run.stderr)")
        #expect(!run.stderr.contains("Error Domain") && !run.stderr.contains("NSCocoaErrorDomain") && !run.stderr.contains("Usage:"))
        let missing = scratch.path("no/such/folder/keel.img")
        let nowhere = try Self.pack(scratch, to: missing)
        #expect(nowhere.status == 73, "\(nowhere.stderr)")
        #expect(nowhere.stderr.contains("cannot create output '\(missing)': its folder"), "\(nowhere.stderr)")
    }

    @Test("trace export --chrome: a directory is 73 with a plain message, a symlink keeps its link")
    func traceExport() throws {
        let scratch = try PackTests.Scratch()
        let trace = scratch.path("hvc.trace")
        #expect(try boot("hvc", ["--trace", trace]).status == 0)
        let directory = try runKeel(["trace", "export", trace, "--chrome", scratch.url.path])
        #expect(directory.status == 73, "\(directory.stderr)")
        #expect(directory.stderr.contains("trace export '\(scratch.url.path)' is a directory"), "\(directory.stderr)")
        #expect(!directory.stderr.contains("Error Domain"))
        let link = scratch.path("trace.json")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "real.json")
        #expect(try runKeel(["trace", "export", trace, "--chrome", link]).status == 0)
        #expect(Self.fileType(link) == S_IFLNK && Self.fileType(scratch.path("real.json")) == S_IFREG)
    }
}
