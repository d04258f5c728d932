import Foundation
import Testing

@Suite("keel run --gdb")
struct GDBTests {
    @Test("QEMU waits halted; the printed gdb-multiarch command attaches with Keel's symbols")
    func attaches() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Repo.keel), "build/bin/keel is missing: run `make`")
        let keel = Process()
        keel.executableURL = URL(fileURLWithPath: Repo.keel)
        keel.arguments = ["run", "--config", Repo.path("boards/examples/demo.toml"), "--gdb"]
        keel.currentDirectoryURL = Repo.root
        let out = Pipe()
        keel.standardOutput = out
        keel.standardError = out
        keel.standardInput = FileHandle.nullDevice
        let console = Output()
        out.fileHandleForReading.readabilityHandler = { console.append($0.availableData) }
        try keel.run()
        defer { if keel.isRunning { keel.terminate() } }

        // The instructions come before QEMU starts; QEMU then waits for gdb.
        var command: String?
        for _ in 0..<100 where command == nil {
            Thread.sleep(forTimeInterval: 0.1)
            let lines = console.text.components(separatedBy: "\n")
            if let at = lines.firstIndex(where: { $0.hasSuffix("attach with:") }), at + 1 < lines.count, !lines[at + 1].isEmpty {
                command = lines[at + 1].trimmingCharacters(in: .whitespaces)
            }
        }
        let attach = try #require(command, "no gdb command printed:\n\(console.text)")
        #expect(attach == "gdb-multiarch -q \(Repo.path("build/hyp/keel.elf")) -ex 'target remote :1234'")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(!console.text.contains("Hello from a bare-metal guest"))  // halted until gdb continues

        // The printed command as is, plus a breakpoint on a Keel symbol, then run to the end.
        let gdb = Process()
        gdb.executableURL = URL(fileURLWithPath: "/bin/sh")
        gdb.arguments = ["-c", attach + " -batch -ex 'break keel_main' -ex continue -ex 'info symbol $pc' -ex delete -ex continue"]
        let gdbOut = Pipe()
        gdb.standardOutput = gdbOut
        gdb.standardError = gdbOut
        try gdb.run()
        let gdbText = String(decoding: gdbOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        gdb.waitUntilExit()
        #expect(gdbText.contains("Breakpoint 1, ") && gdbText.contains("in keel_main"), "\(gdbText)")
        #expect(gdbText.contains("keel_main + "), "\(gdbText)")

        keel.waitUntilExit()
        #expect(keel.terminationStatus == 0)
        #expect(console.text.contains("Hello from a bare-metal guest at EL1, running on Keel."), "\(console.text)")
        #expect(console.text.contains("[keel] all VMs are off: powering off"))
    }
}
