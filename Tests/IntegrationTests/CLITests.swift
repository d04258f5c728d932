import Foundation
import Testing

@Suite("keel run: bad input and hung guests")
struct CLITests {
    @Test("a missing guest file is a clear error")
    func missingGuest() throws {
        let run = try runKeel(["run", "--guest", "/nonexistent/guest.bin"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("guest image '/nonexistent/guest.bin' does not exist"))
    }

    @Test("an empty guest file is a clear error")
    func emptyGuest() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keel-empty-\(UUID().uuidString).bin").path
        FileManager.default.createFile(atPath: path, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try runKeel(["run", "--guest", path])
        #expect(run.status != 0)
        #expect(run.stderr.contains("guest image '\(path)' is empty"))
    }

    @Test("a bad --gic value is refused before QEMU starts")
    func badGIC() throws {
        let run = try runKeel(["run", "--guest", Repo.guest("demo"), "--gic", "4"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("--gic must be 2 or 3, not 4"))
    }

    @Test("a guest that never powers off is stopped by --timeout with a non-zero status")
    func timeout() throws {
        let run = try runKeel(["run", "--guest", Repo.guest("hang"), "--timeout", "3"])
        #expect(run.status == 124)
        #expect(run.stdout.contains("hang: spinning forever"))
        #expect(run.stderr.contains("keel: timed out after 3 s: the guest did not power off"))
    }

    @Test("--print-cmd shows the QEMU command line")
    func printCommand() throws {
        let run = try runKeel(["run", "--guest", Repo.guest("demo"), "--print-cmd"])
        #expect(run.status == 0)
        #expect(run.lines.first?.hasPrefix("qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -cpu cortex-a72") == true)
        // The bundle it loads is a temporary file: said, since it is gone after the run.
        let bundle = try #require(run.lines.first?.components(separatedBy: "loader,file=").last?.components(separatedBy: ",").first)
        #expect(bundle.hasSuffix(".bundle") && !FileManager.default.fileExists(atPath: bundle))
        #expect(run.stderr.contains("keel: note: \(bundle) is a temporary file of this run, removed when it ends"), "\(run.stderr)")
    }

    @Test("keel esr decodes a value")
    func esr() throws {
        let run = try runKeel(["esr", "0x96000050"])
        #expect(run.status == 0)
        #expect(run.lines.contains("ec     0x25 DABT_CUR: Data Abort, same EL"))
        #expect(run.lines.contains("dfsc   0x10 Synchronous External abort"))
        let bad = try runKeel(["esr", "banana"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("'banana' is not a number"))
    }
}
