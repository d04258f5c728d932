import Foundation
import Testing

/// Issue 12, items 3, 4, 5 and the FGT/HCRX part of 9: what Keel does in the guest's place must
/// be what the CPU would have done. Each test boots a bare-metal guest under QEMU, on the CPU
/// model that has the feature (`--cpu max`: PAN, SSBS, DIT, UAO, RAS, LOR, HCX; QEMU 9 and later
/// add FEAT_NMI and PAN3) and on the default Cortex-A72 (none of them, AArch32 at EL0).
@Suite("Architectural exception entry and traps (issue 12)")
struct ArchitectureTests {
    /// One probe line of entry_pstate: "entry: SCENARIO PROBE pstate=.. spsr=.. esr=.. pan=..".
    struct Entry {
        var pstate: UInt64, spsr: UInt64, esr: UInt64, pan: UInt64
    }

    /// N, Z, C, V and DIT: the architecture keeps them on exception entry (AArch64.TakeException
    /// does not touch them; KVM keeps them too), QEMU 7.2's own entry clears them.
    static let keptByArchitecture: UInt64 = 0xF << 28 | 1 << 24

    static func entries(_ run: KeelRun) -> [String: Entry] {
        var result: [String: Entry] = [:]
        for line in run.lines where line.hasPrefix("entry: ") && line.contains(" pstate=") {
            let words = line.split(separator: " ")
            guard words.count == 7 else { continue }
            var values: [String: UInt64] = [:]
            for word in words[3...] {
                let kv = word.split(separator: "=")
                if kv.count == 2, kv[1].hasPrefix("0x") { values[String(kv[0])] = UInt64(kv[1].dropFirst(2), radix: 16) }
            }
            guard let p = values["pstate"], let s = values["spsr"], let e = values["esr"], let a = values["pan"] else { continue }
            result["\(words[1]) \(words[2])"] = Entry(pstate: p, spsr: s, esr: e, pan: a)
        }
        return result
    }

    /// The guest ran to its end: no panic, no unexpected exception, powered off.
    func expectRanToEnd(_ run: KeelRun, last: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(run.status == 0, "keel run exited \(run.status)\n\(run.stderr)\n\(run.stdout)", sourceLocation: sourceLocation)
        #expect(!run.stdout.contains("PANIC"), "\(run.stdout)", sourceLocation: sourceLocation)
        #expect(!run.stdout.contains("unexpected"), "\(run.stdout)", sourceLocation: sourceLocation)
        #expect(run.containsInOrder([last, "[keel] vm0: PSCI SYSTEM_OFF", "[keel] all VMs are off: powering off"]),
                "\(run.stdout)", sourceLocation: sourceLocation)
    }

    /// Each scenario's three probes (two from EL0) enter their handler with the same PSTATE and
    /// SPSR: Keel's injected UNDEF and abort as QEMU's own UNDEF, but for the bits QEMU drops.
    func expectInjectedMatchCPU(_ e: [String: Entry], sourceLocation: SourceLocation = #_sourceLocation) {
        let scenarios = ["span0", "span1", "span1_pan0", "flags", "el0"]
        for scenario in scenarios {
            guard let cpu = e["\(scenario) udf"] else {
                Issue.record("no \(scenario) udf line", sourceLocation: sourceLocation)
                continue
            }
            for probe in scenario == "el0" ? ["abort"] : ["undef", "abort"] {
                guard let keel = e["\(scenario) \(probe)"] else {
                    Issue.record("no \(scenario) \(probe) line", sourceLocation: sourceLocation)
                    continue
                }
                let mask = ~Self.keptByArchitecture
                #expect(keel.pstate & mask == cpu.pstate & mask,
                        "\(scenario) \(probe): Keel's entry PSTATE \(hex(keel.pstate)), the CPU's \(hex(cpu.pstate))",
                        sourceLocation: sourceLocation)
                #expect(keel.spsr == cpu.spsr, "\(scenario) \(probe): SPSR_EL1", sourceLocation: sourceLocation)
                #expect(keel.pan == cpu.pan, "\(scenario) \(probe): PAN read by the handler", sourceLocation: sourceLocation)
                // What the architecture keeps, Keel keeps.
                #expect(keel.pstate & Self.keptByArchitecture == keel.spsr & Self.keptByArchitecture,
                        "\(scenario) \(probe): NZCV/DIT of \(hex(keel.pstate)) vs SPSR \(hex(keel.spsr))",
                        sourceLocation: sourceLocation)
            }
        }
    }

    func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    /// PSTATE.ALLINT when the guest's CPU reports FEAT_NMI (`entry: has_nmi=`): every entry below
    /// runs with SCTLR_EL1.SPINTMASK clear, so the architecture sets ALLINT on it. QEMU 7.2's
    /// max has no FEAT_NMI, QEMU 10's has.
    func allint(_ run: KeelRun) -> UInt64 {
        guard let line = run.lines.first(where: { $0.hasPrefix("entry: has_nmi=0x") }),
              let nmi = UInt64(line.dropFirst("entry: has_nmi=0x".count), radix: 16) else {
            Issue.record("no has_nmi line\n\(run.stdout)")
            return 0
        }
        return nmi >= 1 ? 1 << 13 : 0
    }

    @Test("an injected UNDEF or abort enters EL1 with the PSTATE the CPU's own entry gives (max: PAN, SSBS, UAO, DIT)")
    func entryPSTATEOnMax() throws {
        let run = try boot("entry_pstate", ["--cpu", "max", "--timeout", "30"])
        expectRanToEnd(run, last: "entry: done")
        // PAN2 or later (QEMU 10's max has PAN3), for SCTLR_EL1.SPAN; SSBS2 for DSSBS.
        let pan = run.lines.first { $0.hasPrefix("entry: has_pan=0x") }.flatMap { UInt64($0.dropFirst("entry: has_pan=0x".count), radix: 16) }
        #expect((pan ?? 0) >= 2 && run.lines.contains("entry: has_ssbs=0x2"), "\(run.stdout)")
        let allint = allint(run)
        let e = Self.entries(run)
        #expect(e.count == 14, "\(run.stdout)")
        expectInjectedMatchCPU(e)
        // SPAN=0: PAN set on entry, SSBS from DSSBS=1, UAO cleared (the interrupted UAO was 1).
        #expect(e["span0 undef"]?.pstate == 0x40_13C5 | allint && e["span0 abort"]?.pstate == 0x40_13C5 | allint, "\(run.stdout)")
        #expect(e["span0 undef"]?.pan == 0x40_0000, "the handler reads PAN set\n\(run.stdout)")
        // SPAN=1: PAN kept (1, then 0), SSBS from DSSBS (0, then 1).
        #expect(e["span1 undef"]?.pstate == 0x40_03C5 | allint, "\(run.stdout)")
        #expect(e["span1_pan0 abort"]?.pstate == 0x13C5 | allint, "\(run.stdout)")
        // N, C and DIT of the interrupted state stay set in the handler.
        #expect(e["flags undef"]?.pstate == 0xA140_03C5 | allint && e["flags abort"]?.pstate == 0xA140_03C5 | allint, "\(run.stdout)")
        // From EL0: the lower-EL abort, with the same entry PSTATE.
        #expect(e["el0 abort"]?.pstate == 0x40_13C5 | allint && e["el0 abort"]?.esr == 0x9200_0010, "\(run.stdout)")
        #expect(e["span0 undef"]?.esr == 0x200_0000 && e["span0 abort"]?.esr == 0x9600_0010, "\(run.stdout)")
    }

    @Test("with FEAT_MTE (max, virt's mte=on) the handler runs with TCO set, as after the CPU's own entry")
    func entryPSTATEWithMTE() throws {
        // keel run has no machine option for MTE: a wrapper adds it to QEMU's -M.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keel-mte-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let wrapper = dir.appendingPathComponent("qemu-mte")
        try """
        #!/bin/sh
        for a in "$@"; do
          case "$a" in virt,virtualization=on*) a="$a,mte=on";; esac
          set -- "$@" "$a"; shift
        done
        exec qemu-system-aarch64 "$@"

        """.write(to: wrapper, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper.path)
        let run = try boot("entry_pstate", ["--cpu", "max", "--timeout", "30", "--qemu", wrapper.path])
        expectRanToEnd(run, last: "entry: done")
        let e = Self.entries(run)
        #expect(e.count == 14, "\(run.stdout)")
        expectInjectedMatchCPU(e)
        let tco: UInt64 = 1 << 25
        for (name, entry) in e {
            #expect(entry.pstate & tco != 0, "\(name): \(hex(entry.pstate))")
        }
        #expect(e["span0 undef"]?.pstate == 0x240_13C5 | allint(run), "\(run.stdout)")
    }

    @Test("on a CPU without PAN, SSBS, UAO or DIT (Cortex-A72) Keel sets none of them")
    func entryPSTATEOnA72() throws {
        let run = try boot("entry_pstate", ["--timeout", "30"])
        expectRanToEnd(run, last: "entry: done")
        let e = Self.entries(run)
        #expect(e.count == 14, "\(run.stdout)")
        expectInjectedMatchCPU(e)
        for (name, entry) in e where !name.hasPrefix("flags") {
            #expect(entry.pstate == 0x3C5, "\(name): \(hex(entry.pstate))")
        }
        #expect(e["flags undef"]?.pstate == 0xA000_03C5, "\(run.stdout)")
    }

    @Test("AArch32 EL0 (T32): an MMIO access Keel emulates inside an IT block advances PSTATE.IT; WFx steps 2 or 4 bytes")
    func aarch32ITBlock() throws {
        let run = try boot("aarch32_it", ["--timeout", "30"])
        expectRanToEnd(run, last: "a32: done")
        let expected = [
            "a32: it_mmio16 r1=0x0 r2=0x1 r3=0x1 cpsr=0x30 ec=0x11",
            "a32: it_mmio32 r1=0x0 r2=0x0 r3=0x1 cpsr=0x30 ec=0x11",
            "a32: it_store r1=0x0 r2=0x1 r3=0x1 cpsr=0x30 ec=0x11",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        for task in ["t32_wfi16", "t32_wfi32", "a32_wfi"] {
            #expect(run.lines.contains { $0.hasPrefix("a32: \(task) r1=0x1 ") && $0.hasSuffix(" ec=0x11") }, "\(task)\n\(run.stdout)")
        }
        // The loads and stores reached Keel as data aborts from EL0, not as UNDEFs.
        #expect((run.exitCounters["DABT_LOW"] ?? 0) > 0, "\(run.exitCounters)")
    }

    @Test("RAS error records and LORegions (max): hidden in the ID registers, trapped to Keel, UNDEF")
    func rasAndLORegionsOnMax() throws {
        let run = try boot("ras_lor", ["--cpu", "max", "--timeout", "30"])
        expectRanToEnd(run, last: "ras: still running")
        let fields = ["pfr0_ras", "pfr1_ras_frac", "mmfr1_lo", "id_pfr0_ras", "id_pfr2_ras_frac"].map { "ras: \($0)=0x0" }
        #expect(run.containsInOrder(fields), "missing: \(run.missing(fields))\n\(run.stdout)")
        let accesses = [
            "erridr_read", "errselr_read", "errselr_write", "erxfr_read", "erxctlr_write", "erxstatus_read",
            "erxstatus_write", "erxaddr_read", "erxmisc0_read", "erxmisc1_write",
            "lorsa_write", "lorea_read", "lorn_write", "lorc_read", "lorc_write", "lorid_read",
        ].map { "ras: \($0): exc=0x1 ec=0x0" }
        #expect(run.containsInOrder(accesses), "missing: \(run.missing(accesses))\n\(run.stdout)")
        // ERRIDR_EL1 and the LORegion registers exist in QEMU's max CPU and reach Keel through
        // HCR_EL2.TERR and TLOR (QEMU 7.2 implements no error record, so ERRSELR_EL1 and ERX*
        // are UNDEFINED at EL1 by the CPU itself).
        for reg in ["S3_0_C5_C3_0 read", "S3_0_C10_C4_0 write", "S3_0_C10_C4_3 read", "S3_0_C10_C4_3 write", "S3_0_C10_C4_7 read"] {
            #expect(run.stdout.contains("[keel] vm0/vcpu0: sysreg \(reg) at "), "\(reg)\n\(run.stdout)")
        }
        #expect((run.exitCounters["SYS64"] ?? 0) >= 12, "\(run.exitCounters)")
    }

    @Test("RAS and LORegion registers on a CPU without them (Cortex-A72): UNDEF, fields 0")
    func rasAndLORegionsOnA72() throws {
        let run = try boot("ras_lor", ["--timeout", "30"])
        expectRanToEnd(run, last: "ras: still running")
        #expect(run.lines.filter { $0.hasPrefix("ras: ") && $0.hasSuffix(": exc=0x1 ec=0x0") }.count == 16, "\(run.stdout)")
        #expect(run.lines.filter { $0.hasPrefix("ras: ") && $0.hasSuffix("=0x0") && !$0.contains("exc") }.count == 5, "\(run.stdout)")
    }

    @Test("Keel sets up its traps and runs a guest on a CPU with FEAT_HCX (max) and on one without FGT or HCX (Cortex-A72)")
    func featureTrapsBoot() throws {
        for cpu in ["max", "cortex-a72"] {
            let run = try boot("demo", ["--cpu", cpu, "--timeout", "30"])
            expectRanToEnd(run, last: "demo: powering off")
        }
    }
}
