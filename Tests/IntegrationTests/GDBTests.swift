import Foundation
import Testing

@Suite("keel run --gdb", .serialized)
struct GDBTests {
    /// Rows of /proc/net/tcp and tcp6 listening on `port`: their local addresses.
    static func listeners(port: Int) -> [String] {
        ["/proc/net/tcp", "/proc/net/tcp6"].flatMap { file in
            ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").dropFirst().compactMap { row -> String? in
                let fields = row.split(separator: " ")
                guard fields.count > 3, fields[3] == "0A", fields[1].hasSuffix(String(format: ":%04X", port)) else { return nil }
                return String(fields[1])
            }
        }
    }

    @Test("QEMU waits halted; the printed gdb-multiarch command attaches with Keel's symbols")
    func attaches() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Repo.keel), "build/bin/keel is missing: run `make`")
        // A free port of its own: other runs (tests in other checkouts) may hold :1234.
        let port = MitigationTests.freePort()
        let (keel, console) = try startKeel(["run", "--config", Repo.path("boards/examples/demo.toml"), "--gdb", "--gdb-port", String(port)])
        defer { if keel.isRunning { keel.terminate() } }

        // The instructions come once QEMU's stub listens; QEMU then waits for gdb.
        var command: String?
        for _ in 0..<100 where command == nil {
            Thread.sleep(forTimeInterval: 0.1)
            let lines = console.text.components(separatedBy: "\n")
            if let at = lines.firstIndex(where: { $0.hasSuffix("attach with:") }), at + 1 < lines.count, !lines[at + 1].isEmpty {
                command = lines[at + 1].trimmingCharacters(in: .whitespaces)
            }
        }
        let attach = try #require(command, "no gdb command printed:\n\(console.text)")
        #expect(attach == "gdb-multiarch -q \(Repo.path("build/hyp/keel.elf")) -ex 'target remote :\(port)'")
        #expect(console.text.contains("keel: QEMU is halted with its gdb stub on 127.0.0.1:\(port); attach with:"))
        // On loopback only, not on every interface (0.0.0.0, ::).
        #expect(Self.listeners(port: port) == [String(format: "0100007F:%04X", port)], "\(Self.listeners(port: port))")
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

    @Test("the port is taken: QEMU's own reason and keel's, no 'QEMU is halted' line")
    func portInUse() throws {
        // Hold 127.0.0.1:1234 as another program would.
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(holder >= 0)
        defer { close(holder) }
        var one: Int32 = 1
        setsockopt(holder, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(1234).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        // Taken by someone else already: the case under test all the same.
        try #require((bound == 0 && listen(holder, 1) == 0) || errno == EADDRINUSE, "cannot hold port 1234: errno \(errno)")

        let run = try runKeel(["run", "--guest", Repo.guest("demo"), "--gdb"])
        #expect(run.status != 0)
        #expect(!run.stdout.contains("QEMU is halted"), "\(run.stdout)")
        #expect(run.stdout.contains("Address already in use") || run.stderr.contains("Address already in use"), "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.contains("keel: QEMU could not start its gdb stub on 127.0.0.1:1234 (see its message above)"), "\(run.stderr)")
    }

    @Test("--gdb-port takes a TCP port and goes with --gdb (usage errors, 64)")
    func gdbPortChecked() throws {
        for arguments in [["--gdb", "--gdb-port", "0"], ["--gdb", "--gdb-port", "65536"], ["--gdb-port", "4321"]] {
            let run = try runKeel(["run", "--guest", Repo.guest("demo")] + arguments)
            #expect(run.status == 64, "\(arguments): \(run.stderr)")
            #expect(run.stderr.contains("--gdb-port"), "\(run.stderr)")
        }
    }
}
