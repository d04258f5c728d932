import Foundation
import KeelCore
import Testing

/// Guests run with `keel run --trace`; `keel trace` must show the exits each is known to cause.
@Suite("The trap trace, end to end")
struct TraceTests {
    func traced(_ guest: String, memory: Bool = false) throws -> (run: KeelRun, file: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keel-\(guest)-\(UUID().uuidString).trace").path
        let run = try boot(guest, ["--trace", file] + (memory ? ["--trace-memory"] : []))
        return (run, file)
    }

    func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    @Test("the HVC guest: ten HVC64 exits by function, the UART's DR and FR, nothing lost")
    func hvcStats() throws {
        let (run, file) = try traced("hvc")
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(run.status == 0)
        #expect(run.lines.contains("hvc: done"))  // the console still reads as usual
        #expect(!run.stdout.utf8.contains(0))  // with no frame bytes in it
        #expect(run.stderr.contains("keel: trace: "))

        let stats = try runKeel(["trace", "stats", file, "--json", "--elf", Repo.path("build/hyp/keel.elf")])
        #expect(stats.status == 0, "\(stats.stderr)")
        let rows = try jsonLines(stats.stdout)
        #expect(rows[0]["schema"] as? String == "keel-trace")
        func count(_ table: String, _ reason: String, _ key: String = "") -> Int? {
            rows.first { $0["table"] as? String == table && $0["reason"] as? String == reason && ($0["key"] as? String ?? "") == key }?["count"] as? Int
        }
        #expect(count("reason", "HVC64") == 10)
        #expect(count("key", "HVC64", "SMCCC_VERSION") == 2)
        #expect(count("key", "HVC64", "PSCI_VERSION") == 2)  // one of them with imm16 = 1
        #expect(count("key", "HVC64", "PSCI_FEATURES") == 2)
        #expect(count("key", "HVC64", "KEEL_CALL_UID") == 1)
        #expect(count("key", "HVC64", "PSCI_SYSTEM_OFF") == 1)
        // Keel's own counter agrees with the trace.
        #expect(count("reason", "DABT_LOW") == run.exitCounters["DABT_LOW"])
        #expect(count("key", "DABT_LOW", "uart DR") == count("key", "DABT_LOW", "uart FR"))
        let loss = rows.first { $0["table"] as? String == "loss" }!
        #expect(loss["lost_records"] as? Int == 0 && loss["damaged_frames"] as? Int == 0)
        #expect((loss["warnings"] as? [String])?.isEmpty == true)  // same build id as keel.elf

        let text = try runKeel(["trace", "stats", file])
        #expect(text.stdout.contains("HVC64 PSCI_VERSION"))
        #expect(text.stdout.contains("handling time histogram (log2 ns)"))
    }

    /// `keel trace decode --json` of `file`: its records, less the drains (which come where each
    /// mode drains) and the fields that are times or counts of records.
    func recordsWithoutTimes(_ file: String) throws -> [[String: String]] {
        let decode = try runKeel(["trace", "decode", file, "--json"])
        #expect(decode.status == 0, "\(decode.stderr)")
        return try jsonLines(decode.stdout).dropFirst().filter { $0["kind"] as? String != "flush" }.map { row in
            row.filter { !["t", "seq", "exit_ticks", "entry_ticks", "handling_ticks"].contains($0.key) }.mapValues { "\($0)" }
        }
    }

    @Test("keel.trace=memory: the HVC guest's records are full mode's, field for field, nothing lost")
    func memoryMatchesFull() throws {
        let (full, fullFile) = try traced("hvc")
        defer { try? FileManager.default.removeItem(atPath: fullFile) }
        let (memory, memoryFile) = try traced("hvc", memory: true)
        defer { try? FileManager.default.removeItem(atPath: memoryFile) }
        #expect(full.status == 0 && memory.status == 0)
        #expect(memory.lines.contains("[keel] trace mode from bootargs: memory"))
        #expect(memory.lines.contains("hvc: done") && !memory.stdout.utf8.contains(0))
        let (a, b) = (try recordsWithoutTimes(fullFile), try recordsWithoutTimes(memoryFile))
        #expect(a.count > 700 && a.count == b.count)  // ~760 exits and the lifecycle events
        #expect(a == b)
        let stats = try jsonLines(try runKeel(["trace", "stats", memoryFile, "--json"]).stdout)
        let loss = stats.first { $0["table"] as? String == "loss" }!
        #expect(loss["lost_records"] as? Int == 0 && loss["damaged_frames"] as? Int == 0)
    }

    @Test("keel.trace=memory: a CPU that takes more records than its ring keeps the last 1,023, and the older count as lost")
    func memoryRingOverwrites() throws {
        let (run, file) = try traced("bench", memory: true)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(run.status == 0)
        let exits = try #require(run.exitCounters["total"])
        #expect(exits > 10_000)
        let stats = try jsonLines(try runKeel(["trace", "stats", file, "--json"]).stdout)
        let loss = stats.first { $0["table"] as? String == "loss" }!
        // The ring's 1,024 slots hold the last 1,023 records (TraceMemory), drained at the VM's
        // power-off; then that drain's own record, sent as the machine powers off.
        #expect(loss["records"] as? Int == 1_024)
        // Every exit, and the VM's creation, its vCPU's start, its power-off and the drain.
        #expect((loss["lost_records"] as? Int ?? 0) + 1_024 == exits + 4)
        let records = try runKeel(["trace", "decode", file]).lines.filter { $0.contains(" vm0/vcpu0 ") }
        #expect(records.count == 1_024)
        #expect(records.suffix(2).first?.contains("VM powered off") == true)
        #expect(records.last?.contains("trace ring drained to the UART") == true)
    }

    @Test("keel.trace=memory: Linux on two vCPUs; both CPUs' rings drain when the machine powers off, each full")
    func memoryRingsOfEveryCPU() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keel-linux-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let run = try runKeel(["run", "--guest", LinuxTests.kernel, "--initrd", LinuxTests.initramfs, "--append",
                               "console=ttyAMA0 panic=-1", "--smp", "2", "--timeout", "300", "--trace", file, "--trace-memory"])
        #expect(run.status == 0, "\(run.stderr)")
        let rows = try jsonLines(try runKeel(["trace", "decode", file, "--json"]).stdout).dropFirst()
        for vcpu in 0..<2 {
            // Linux takes thousands of exits on each vCPU: the ring of each is full, 1,023 at
            // least (vCPU 0's CPU also records the VM's power-off and its own drain).
            let records = rows.filter { $0["vcpu"] as? Int == vcpu }
            #expect(records.count >= 1_023 && records.count <= 1_025, "vCPU \(vcpu): \(records.count) records")
        }
        let loss = try jsonLines(try runKeel(["trace", "stats", file, "--json"]).stdout).first { $0["table"] as? String == "loss" }!
        #expect((loss["lost_records"] as? Int ?? 0) > 10_000 && loss["damaged_frames"] as? Int == 0)
    }

    @Test("the abort guest: each refused access is an injected external abort")
    func abortDecode() throws {
        let (run, file) = try traced("abort")
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(run.status == 0)
        let decode = try runKeel(["trace", "decode", file])
        #expect(decode.status == 0)
        let injected = decode.lines.filter { $0.contains("outside the VM -> external abort injected") }
        #expect(injected.count == 5)  // below RAM, past RAM, virtio, another vCPU's redistributor, fetch
        #expect(injected.contains { $0.contains("DABT_LOW") == false && $0.contains("read at IPA 0x20000000") })
        #expect(injected.contains { $0.contains("write at IPA 0x50000000") && $0.contains("(ESR_EL1 0x96000050)") })
        #expect(injected.contains { $0.contains("fetch at IPA 0x30000000") && $0.contains("(ESR_EL1 0x86000010)") })
    }

    @Test("the sysreg guest: sanitized ID reads and an UNDEF for the PMU")
    func sysregDecode() throws {
        let (run, file) = try traced("sysreg")
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(run.status == 0)
        let decode = try runKeel(["trace", "decode", file])
        #expect(decode.lines.contains { $0.contains("MRS x19 <- ID_AA64DFR0_EL1 = ") })
        #expect(decode.lines.contains { $0.contains("MRS PMCR_EL0 -> UNDEF injected") })
        #expect(decode.lines.contains { $0.contains("MSR PMCNTENSET_EL0 -> UNDEF injected") })
        let chrome = FileManager.default.temporaryDirectory.appendingPathComponent("keel-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: chrome) }
        let export = try runKeel(["trace", "export", file, "--chrome", chrome])
        #expect(export.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: chrome))) as! [String: Any]
        #expect((object["traceEvents"] as! [Any]).count > 100)
    }

    @Test("a live decode: keel trace decode reads a FIFO while keel run --trace writes into it")
    func liveThroughFIFO() throws {
        let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("keel-live-\(UUID().uuidString).trace").path
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { try? FileManager.default.removeItem(atPath: fifo) }
        let out = fifo + ".out"
        FileManager.default.createFile(atPath: out, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let decoder = Process()
        decoder.executableURL = URL(fileURLWithPath: Repo.keel)
        decoder.arguments = ["trace", "decode", fifo]
        decoder.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        decoder.standardError = FileHandle.nullDevice
        try decoder.run()
        let run = try boot("hvc", ["--trace", fifo])
        // A run that replaced the FIFO instead of writing into it leaves the decoder waiting.
        for _ in 0..<300 where decoder.isRunning { Thread.sleep(forTimeInterval: 0.1) }
        if decoder.isRunning { decoder.terminate() }
        decoder.waitUntilExit()
        #expect(run.status == 0 && decoder.terminationStatus == 0)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.filter { $0.contains("HVC PSCI_VERSION") }.count == 2)
        var info = stat()
        #expect(stat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)  // still a FIFO
    }

    @Test("--trace to a full device: the run finishes, says why the trace stopped and exits 74; the device stays a device")
    func traceToFullDevice() throws {
        let run = try boot("hvc", ["--trace", "/dev/full"])
        #expect(run.status == 74, "\(run.stderr)")
        #expect(run.lines.contains("hvc: done"))
        #expect(run.stderr.contains("keel: trace: cannot write the trace file '/dev/full': No space left on device"))
        var info = stat()
        #expect(stat("/dev/full", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)
    }

    @Test("without --trace the console carries no frames")
    func offByDefault() throws {
        let run = try boot("demo")
        #expect(!run.stdout.utf8.contains(0))
        #expect(!run.stdout.contains("trace mode from bootargs"))
    }

    @Test("a file with no frames is a clear error")
    func notATrace() throws {
        let run = try runKeel(["trace", "stats", Repo.path("README.md")])
        #expect(run.status == 65)
        #expect(run.stderr.contains("holds no Keel trace frames"))
        #expect(!run.stderr.contains("Usage:"))
        // No file, a directory: no input (66).
        for path in ["/nonexistent.trace", "/tmp"] {
            let missing = try runKeel(["trace", "decode", path])
            #expect(missing.status == 66, "\(missing.stderr)")
            #expect(missing.stderr.hasPrefix("keel: ") && missing.stderr.contains("'\(path)'"), "\(missing.stderr)")
            #expect(!missing.stderr.contains("Usage:"))
        }
    }

    @Test("the FDT reader on the DTB QEMU itself builds for virt")
    func qemuDTB() throws {
        let dtb = FileManager.default.temporaryDirectory.appendingPathComponent("keel-virt-\(UUID().uuidString).dtb").path
        defer { try? FileManager.default.removeItem(atPath: dtb) }
        let qemu = Process()
        qemu.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        qemu.arguments = ["qemu-system-aarch64", "-M", "virt,virtualization=on,gic-version=3,dumpdtb=\(dtb)", "-cpu", "cortex-a72",
                          "-m", "1G", "-display", "none", "-kernel", Repo.path("build/hyp/keel.bin"),
                          "-append", "console=ttyAMA0 keel.trace=full"]
        qemu.standardOutput = FileHandle.nullDevice
        qemu.standardError = FileHandle.nullDevice
        try qemu.run()
        qemu.waitUntilExit()
        let blob = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dtb)))
        // (The FDT borrows `blob`: what it says is taken out before #expect sees it.)
        guard let fdt = FDT(blob.span) else { Issue.record("no FDT header"); return }
        var mode: TraceMode? = nil
        if let bootargs = fdt.property(path: "/chosen", name: "bootargs") { mode = BootArguments.traceMode(bootargs) }
        #expect(mode == .full)
        var method = ""
        if let value = fdt.property(path: "/psci", name: "method") {
            method = String(decoding: (0..<value.count).map { value[$0] }.prefix { $0 != 0 }, as: UTF8.self)
        }
        #expect(method == "smc")
        let memory = fdt.property(path: "/memory", name: "reg")?.count
        #expect(memory == 16)
        let uart = fdt.property(path: "/pl011", name: "reg")?.count
        #expect(uart == 16)
    }
}
