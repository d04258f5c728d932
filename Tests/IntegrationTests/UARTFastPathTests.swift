import Foundation
import KeelKit
import Testing

/// The UART fast path in the lower-EL vector (hyp/arch/vectors.S, `keel_uart_read_fast` and
/// `keel_uart_write_fast`) answers halfword and word accesses to the emulated PL011's plain
/// registers under the VM's UART lock. The guest (Tests/Guests/uart_fast.S) writes each register
/// with STR, STRH and STLR (STLR: never the fast path's) and reads it with LDR, LDRH and LDAR
/// (likewise), stores from and loads into eleven registers and the zero register with every
/// other register set to a pattern. It runs with counters (the fast path takes what it can) and
/// with full tracing (every access through Swift): both must print the same, and what they print
/// must be what a PL011 as `VirtualPL011` models it holds (each register's mask, FR idle, the
/// rest zero). Under `-icount` an access the fast path answers must cost well under one through
/// Swift, or it is not being taken at all.
/// The same guest checks the priority-write fast path (`keel_prio_write_fast`): unchanged
/// GICD_IPRIORITYR words of the SPIs, stored from the same registers, and per word what a
/// store back, a change and a byte write leave, against the Swift path and the GIC's rules.
@Suite("The UART fast path answers as the Swift path does", .serialized)
struct UARTFastPathTests {
    func lines(_ run: KeelRun, _ prefix: String) -> [String] {
        run.lines.filter { $0.hasPrefix("uart_fast: \(prefix)") }
    }

    func ticks(_ run: KeelRun, _ name: String) -> Int? {
        let prefix = "uart_fast: ticks_\(name)=0x"
        return run.lines.first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count), radix: 16) }
    }

    func hex(_ text: Substring) -> UInt64? {
        text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : nil
    }

    /// What each register keeps of a write (VirtualPL011.write's masks); nil: writes ignored.
    static let masks: [UInt64: UInt64] = [0x24: 0xFFFF, 0x28: 0x3F, 0x2C: 0xFF, 0x30: 0xFF87, 0x34: 0x3F, 0x38: 0x7FF, 0x48: 0x7]
    static let uart: UInt64 = 0x0900_0000

    /// What a read of `offset` gives after `written` was stored (nothing received: FR idle).
    static func expected(_ offset: UInt64, _ written: UInt64) -> UInt64 {
        if offset == 0x18 { return 0x90 }
        return masks[offset].map { written & $0 } ?? 0
    }

    @Test("counters (fast path) and full tracing (Swift path) print the same; every value a PL011 would hold; registers and PC as an access leaves them",
          arguments: [("cortex-a72", "3", "2"), ("cortex-a53", "3", "1"), ("cortex-a72", "2", "2")])
    func sameAsSwiftPath(cpu: String, gic: String, smp: String) throws {
        let options = ["--cpu", cpu, "--gic", gic, "--smp", smp]
        let fast = try boot("uart_fast", options + ["--qemu-arg", "-icount", "--qemu-arg", "shift=0"])
        #expect(fast.status == 0, "\(fast.stderr)")
        #expect(fast.lines.contains("uart_fast: exceptions=0x0") && fast.lines.contains("uart_fast: done"), "\(fast.stdout)")

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keel-uart-fast-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let traced = try boot("uart_fast", options + ["--trace", file])
        #expect(traced.status == 0, "\(traced.stderr)")
        #expect(traced.lines.contains("uart_fast: exceptions=0x0"), "\(traced.stdout)")

        // 1. Values: 20 offsets, 3 values each.
        let values = lines(fast, "0x")
        #expect(values.count == 60, "\(fast.stdout)")
        #expect(values == lines(traced, "0x"), "fast:\n\(values.joined(separator: "\n"))\ntraced:\n\(lines(traced, "0x").joined(separator: "\n"))")
        for line in values {
            // "uart_fast: <address> <value> str=<ldr>,<ldar>,<ldrh> strh=<ldr> stlr=<ldr>"
            let parts = line.split(separator: " ")
            guard parts.count == 6, let address = hex(parts[1]), let value = hex(parts[2]) else {
                Issue.record("malformed: \(line)")
                continue
            }
            let offset = address - Self.uart
            let reads = parts[3].dropFirst(4).split(separator: ",").compactMap { hex($0) }
            let e = Self.expected(offset, value)
            #expect(reads == [e, e, e], "\(line): expected \(String(e, radix: 16)) for each read")
            #expect(hex(parts[4].dropFirst(5)) == Self.expected(offset, (value ^ 0x0F0F_0F0F) & 0xFFFF), "\(line): STRH")
            #expect(hex(parts[5].dropFirst(5)) == Self.expected(offset, value ^ 0x00FF_00FF), "\(line): STLR")
        }

        // 2. Sources and 3. destinations: 12 each.
        let sources = lines(fast, "src"), destinations = lines(fast, "dst")
        #expect(sources.count == 12 && destinations.count == 12, "\(fast.stdout)")
        #expect(sources == lines(traced, "src") && destinations == lines(traced, "dst"))
        for line in sources + destinations {
            // "uart_fast: src r<n> stored=<v> bad=<b>" / "uart_fast: dst r<n> value=<v> bad=<b>"
            let parts = line.split(separator: " ")
            guard parts.count == 5, let n = hex(parts[2].dropFirst()), let v = hex(parts[3].split(separator: "=")[1]) else {
                Issue.record("malformed: \(line)")
                continue
            }
            #expect(parts[4] == "bad=0x0", "\(line)")
            let pattern = 0xA5C3_0000_0000_0000 &+ n &* 0x0000_0101_0000_0101
            if parts[1] == "src" {
                #expect(v == (n == 31 ? 0 : pattern & 0xFFFF), "\(line)")  // IBRD keeps 16 bits
            } else {
                #expect(v == (n == 31 ? 0 : 0x1234), "\(line)")
            }
        }

        // 5. Priorities: unchanged words stored from each register (the priority fast path),
        // then per word its reset value, stored back, changed, stored back, a byte changed.
        let prioritySources = lines(fast, "psrc")
        #expect(prioritySources.count == 12 && prioritySources == lines(traced, "psrc"), "\(fast.stdout)")
        for line in prioritySources {
            let parts = line.split(separator: " ")
            guard parts.count == 5, let n = hex(parts[2].dropFirst()), let v = hex(parts[3].split(separator: "=")[1]) else {
                Issue.record("malformed: \(line)")
                continue
            }
            #expect(parts[4] == "bad=0x0", "\(line)")
            #expect(v == (n == 31 ? 0 : n &* 0x101), "\(line)")  // PATTERN(n)'s low word
        }
        let priorities = lines(fast, "prio ")
        #expect(priorities.count == 6 && priorities == lines(traced, "prio "), "\(fast.stdout)")
        for line in priorities {
            let f = line.split(separator: " ").dropFirst(2).compactMap { hex($0) }
            guard f.count == 6 else {
                Issue.record("malformed: \(line)")
                continue
            }
            let address = f[0], new = 0x8060_4020 ^ (address & 0xFFFF_FFFF)
            let spi = (0x0800_0420...0x0800_045C).contains(address)
            let privateOnV2 = address == 0x0800_041C && gic == "2"  // SGIs/PPIs: the vCPU's own bank
            if spi || privateOnV2 {
                #expect(Array(f[1...]) == [0, 0, new, new, new & ~0xFF00 | 0xE800], "\(line)")
            } else {
                #expect(Array(f[1...]) == [0, 0, 0, 0, 0], "\(line)")  // RAZ/WI: private on a GICv3, beyond the SPIs
            }
        }

        // 256 LDR of FR (the fast path, about 110 instructions each with the loop on the
        // Cortex-A72) against 256 LDAR (the Swift path, about 270); the same for STR and STLR
        // of IMSC. Without the fast path they cost the same.
        let ldr = try #require(ticks(fast, "ldr")), ldar = try #require(ticks(fast, "ldar"))
        #expect(ldr * 2 < ldar, "LDR \(ldr) ticks, LDAR \(ldar)")
        let str = try #require(ticks(fast, "str")), stlr = try #require(ticks(fast, "stlr"))
        #expect(str * 2 < stlr, "STR \(str) ticks, STLR \(stlr)")
        let prioStr = try #require(ticks(fast, "prio_str")), prioStlr = try #require(ticks(fast, "prio_stlr"))
        #expect(prioStr * 2 < prioStlr, "IPRIORITYR STR \(prioStr) ticks, STLR \(prioStlr)")

        // Every access is an exit on either path, counted alike.
        let fastExits = try #require(fast.exitCounters["DABT_LOW"]), tracedExits = try #require(traced.exitCounters["DABT_LOW"])
        #expect(fastExits > 1024 && abs(fastExits - tracedExits) < 64, "\(fastExits) \(tracedExits)")
    }

    /// With a byte in the receive FIFO (typed on Keel's console, which QEMU reads from a pipe
    /// here, as `ConsoleInputTests` does): FR, RIS and MIS as `VirtualPL011` computes them, and
    /// IMSC writes that change the interrupt line (the vector leaves them to Swift, which tells
    /// the vGIC) against those that do not (the vector answers them), the line read back in
    /// GICD_ISPENDR1. Before the byte is typed every access of the guest's FR loop takes the
    /// fast path; the byte waiting in the real UART sends the next one to Swift, which takes it.
    @Test("with a byte received: FR, RIS, MIS and the interrupt line as IMSC changes it, as a PL011 would")
    func withInput() throws {
        let scratch = try PackTests.Scratch()
        let config = try scratch.config(MultiVMTests.config(MultiVMTests.rawVM("rx", guest: "uart_fast_rx", cpus: "[0]")))
        let image = scratch.path("rx.img")
        #expect(try runKeel(["pack", "--config", config, "-o", image]).status == 0)
        let qemu = Process()
        qemu.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        qemu.arguments = ["qemu-system-aarch64", "-M", "virt,virtualization=on,gic-version=3", "-cpu", "cortex-a72", "-smp", "1",
                          "-m", "1024M", "-display", "none", "-monitor", "none", "-serial", "stdio", "-kernel", image]
        let input = Pipe(), output = Pipe()
        qemu.standardInput = input
        qemu.standardOutput = output
        qemu.standardError = output
        let text = Locked("")
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try qemu.run()
        defer { if qemu.isRunning { qemu.terminate() } }
        func wait(for marker: String) -> Bool {
            for _ in 0..<400 where !text.withLock({ $0.contains(marker) }) { Thread.sleep(forTimeInterval: 0.05) }
            return text.withLock { $0.contains(marker) }
        }
        #expect(wait(for: "rx: ready"), "\(text.withLock { $0 })")
        input.fileHandleForWriting.write(Data("x".utf8))
        let done = wait(for: "rx: done")
        #expect(done, "\(text.withLock { $0 })")
        for _ in 0..<200 where qemu.isRunning { Thread.sleep(forTimeInterval: 0.05) }
        if qemu.isRunning { kill(qemu.processIdentifier, SIGKILL) }
        qemu.waitUntilExit()
        let lines = text.withLock { $0 }.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map(String.init)
            .filter { $0.hasPrefix("rx: ") && $0 != "rx: ready" && $0 != "rx: done" }
        let expected: [String] = [
            "rx: fr 0x80", "rx: frh 0x80", "rx: ris 0x10", "rx: mis 0x0",   // received, masked
            "rx: masked line=0x0",
            "rx: rxim line=0x1", "rx: mis_rxim 0x10",                          // the line rises
            "rx: rxim_rtim line=0x1", "rx: imsc 0x50",                         // stays high
            "rx: rtim line=0x1", "rx: mis_rtim 0x0",                           // RTIM alone: still high
            "rx: off line=0x0", "rx: imsc_off 0x0",                            // falls
            "rx: off_again line=0x0",
            "rx: dr 0x78", "rx: fr_empty 0x90", "rx: ris_empty 0x0",           // the byte, popped
            "rx: rxim_empty line=0x0", "rx: mis_empty 0x0",                    // nothing received: stays low
            "rx: exceptions=0x0",
        ]
        #expect(lines == expected, "\(text.withLock { $0 })")
    }
}
