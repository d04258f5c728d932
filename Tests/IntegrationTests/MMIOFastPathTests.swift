import Foundation
import Testing

/// The MMIO read fast path in the lower-EL vector (hyp/arch/vectors.S, `keel_dabt_fast`) answers
/// 32-bit reads of the registers whose value never changes for a VM from a table the Swift
/// emulation filled at VM start. The guest reads each with LDAR (never the fast path's: the Swift
/// path answers) and then with LDR/LDUR into ten destinations, every other register set to a
/// pattern: the value must be the Swift path's, zero-extended, nothing else may change, and the PC
/// must step one instruction. It runs with counters (the fast path takes what it can) and with
/// full tracing (every read through Swift): both must print the same. Under `-icount` a read the
/// fast path answers must cost well under one through Swift, or it is not being taken at all.
@Suite("The MMIO read fast path answers as the Swift path does", .serialized)
struct MMIOFastPathTests {
    /// One line per register and destination, as the guest printed them.
    func answers(_ run: KeelRun) -> [String] {
        run.lines.filter { $0.hasPrefix("mmio_fast: 0x") }
    }

    func ticks(_ run: KeelRun, _ name: String) -> Int? {
        let prefix = "mmio_fast: ticks_\(name)=0x"
        return run.lines.first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count), radix: 16) }
    }

    /// "mmio_fast: <address> r<n> value=<v> slow=<s> bad=<b>" as its fields.
    func fields(_ line: String) -> [String: String] {
        var result: [String: String] = [:]
        let parts = line.split(separator: " ")
        if parts.count == 6 {
            result["address"] = String(parts[1])
            result["register"] = String(parts[2])
        }
        for part in parts {
            let kv = part.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { result[String(kv[0])] = String(kv[1]) }
        }
        return result
    }

    /// What the Swift path answers for the registers whose value is fixed (the two
    /// redistributors' TYPER words for a VM of 2 vCPUs; GICD_TYPER is checked below).
    static let fixed: [String: String] = [
        "0x8000008": "0x43b", "0x80a0004": "0x43b", "0x80c0004": "0x43b",  // GICD_IIDR, GICR_IIDR: Arm
        "0x800ffe8": "0x3b", "0x80affe8": "0x3b", "0x80cffe8": "0x3b", "0x8000fe8": "0x2b",  // PIDR2: ArchRev 3, 2
        // GICR_TYPER of vCPU 0 (processor 0, not Last) and vCPU 1 (processor 1, Last; Aff0 1).
        "0x80a0008": "0x0", "0x80a000c": "0x0", "0x80c0008": "0x110", "0x80c000c": "0x1",
        "0x9000fe0": "0x11", "0x9000fe4": "0x10", "0x9000fe8": "0x14", "0x9000fec": "0x0",  // PL011 r1p5
        "0x9000ff0": "0xd", "0x9000ff4": "0xf0", "0x9000ff8": "0x5", "0x9000ffc": "0xb1",
    ]

    @Test("counters (fast path) and full tracing (Swift path) print the same values; registers and PC as a load leaves them",
          arguments: [("cortex-a72", "3", 21), ("cortex-a53", "3", 21), ("cortex-a72", "2", 13)])
    func sameAsSwiftPath(cpu: String, gic: String, registers: Int) throws {
        let options = ["--cpu", cpu, "--gic", gic, "--smp", "2"]
        let fast = try boot("mmio_fast", options + ["--qemu-arg", "-icount", "--qemu-arg", "shift=0"])
        #expect(fast.status == 0, "\(fast.stderr)")
        #expect(fast.lines.contains("mmio_fast: exceptions=0x0") && fast.lines.contains("mmio_fast: done"), "\(fast.stdout)")

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keel-mmio-fast-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let traced = try boot("mmio_fast", options + ["--trace", file])
        #expect(traced.status == 0, "\(traced.stderr)")
        #expect(traced.lines.contains("mmio_fast: exceptions=0x0"), "\(traced.stdout)")

        let seen = answers(fast)
        #expect(seen.count == registers * 10, "\(fast.stdout)")
        #expect(seen == answers(traced), "fast:\n\(seen.joined(separator: "\n"))\ntraced:\n\(answers(traced).joined(separator: "\n"))")
        for line in seen {
            let f = fields(line)
            #expect(f["bad"] == "0x0", "\(line)")
            if f["register"] == "r0x1f" {
                #expect(f["value"] == "0x0", "\(line)")  // the zero register
            } else {
                #expect(f["value"] != nil && f["value"] == f["slow"], "\(line)")
            }
            if let address = f["address"], let expected = Self.fixed[address] {
                #expect(f["slow"] == expected, "\(line)")
            }
        }
        // GICD_TYPER: 2 vCPUs (CPUNumber 1).
        #expect(seen.contains { $0.hasPrefix("mmio_fast: 0x8000004 r0x0 ") && fields($0)["slow"].flatMap { Int($0.dropFirst(2), radix: 16) }.map { $0 >> 5 & 7 == 1 } == true })

        // 256 LDR of GICD_TYPER (the fast path, about 80 instructions each with the loop) against
        // 256 LDAR (the Swift path, about 280): without the fast path they cost the same.
        let ldr = try #require(ticks(fast, "ldr")), ldar = try #require(ticks(fast, "ldar"))
        #expect(ldr * 2 < ldar, "LDR \(ldr) ticks, LDAR \(ldar)")

        // Every read is an exit on either path, counted alike (the traced run prints the same
        // lines; only the ticks' digits may differ).
        let fastExits = try #require(fast.exitCounters["DABT_LOW"]), tracedExits = try #require(traced.exitCounters["DABT_LOW"])
        #expect(fastExits > registers * 11 + 512 && abs(fastExits - tracedExits) < 64, "\(fastExits) \(tracedExits)")
    }
}
