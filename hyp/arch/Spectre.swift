import KeelHW

/// Each physical CPU's Spectre mitigations, applied (`SpectreProfile` in KeelCore decides): the
/// exception vectors VBAR_EL2 holds (hyp/arch/vectors.S), the BHB loop's count, the firmware's
/// WORKAROUND_2 turned on, and the answers a guest on this CPU gets for ARCH_WORKAROUND_1/2/3.
enum Spectre {
    /// ARCH_FEATURES answers per CPU index (vCPU n is pinned to CPU n); NOT_SUPPORTED until
    /// `install` ran on that CPU.
    nonisolated(unsafe) private static var workaround1: [8 of Int8] = [-1, -1, -1, -1, -1, -1, -1, -1]  // KEEL_MAX_CPUS
    nonisolated(unsafe) private static var workaround2: [8 of Int8] = [-1, -1, -1, -1, -1, -1, -1, -1]
    nonisolated(unsafe) private static var workaround3: [8 of Int8] = [-1, -1, -1, -1, -1, -1, -1, -1]
    /// CPU 0's vector table, to tell which other CPUs differ (only those say so at boot).
    nonisolated(unsafe) private static var bootEntry: UInt8 = 0

    /// Decide and apply this CPU's mitigations; once per CPU, before it runs a guest (and
    /// before it is marked online, so every CPU's loop count is in before any guest runs).
    @_optimize(size)
    static func install() {
        let cpu = SMP.currentCPU
        let id = SpectreProfile.CPU(midr: read_midr_el1(), pfr0: keel_read_id_reg(32), pfr1: keel_read_id_reg(33),
                                    mmfr1: keel_read_id_reg(57), isar2: keel_read_id_reg(50))
        var profile = SpectreProfile(cpu: id, firmware: firmwareAnswers())
#if KEEL_TEST_HOOKS
        TestHooks.force(&profile)
#endif
        if profile.enableFirmwareWorkaround2 { _ = keel_smc(UInt64(SMCCC.archWorkaround2), 1, 0, 0) }
        // The loop runs the largest count any CPU needs (written before a CPU selects it).
        if UInt32(profile.bhbLoopCount) > keel_get_bhb_loop_count() { keel_set_bhb_loop_count(UInt32(profile.bhbLoopCount)) }
        keel_set_entry_firmware_call(UInt32(cpu), profile.entryFirmwareCall)
        workaround1[cpu] = Int8(truncatingIfNeeded: profile.features(SMCCC.archWorkaround1) ?? SMCCC.notSupported)
        workaround2[cpu] = Int8(truncatingIfNeeded: profile.features(SMCCC.archWorkaround2) ?? SMCCC.notSupported)
        workaround3[cpu] = Int8(truncatingIfNeeded: profile.features(SMCCC.archWorkaround3) ?? SMCCC.notSupported)
        keel_dsb_ish()
        write_vbar_el2(keel_vector_table(UInt32(profile.entry.rawValue)))
        keel_isb()
        if cpu == 0 { bootEntry = profile.entry.rawValue }
        if cpu == 0 || profile.entry.rawValue != bootEntry { report(cpu, id, profile) }
    }

    /// SMCCC_ARCH_FEATURES(`function`) for a guest on `cpu`: nil for anything but the workarounds.
    static func features(_ function: UInt32, cpu: Int) -> Int64? {
        switch function {
        case SMCCC.archWorkaround1: Int64(workaround1[cpu])
        case SMCCC.archWorkaround2: Int64(workaround2[cpu])
        case SMCCC.archWorkaround3: Int64(workaround3[cpu])
        default: nil
        }
    }

    /// A guest's call of a workaround on `cpu`. What it promised is already done: the mitigating
    /// vectors ran the loop, CLRBHB or the firmware's call on the way into this very exit (or the
    /// CPU needs nothing). So an offered workaround returns SUCCESS, and one not offered
    /// (NOT_SUPPORTED, NOT_REQUIRED) is not implemented.
    static func call(_ function: UInt32, cpu: Int) -> Int64 {
        guard let answer = features(function, cpu: cpu) else { return SMCCC.notSupported }
        return answer >= 0 ? 0 : SMCCC.notSupported
    }

    /// What the firmware below Keel offers, asked the way SMCCC says to discover it:
    /// PSCI_FEATURES(SMCCC_VERSION), SMCCC_VERSION 1.1 or later, then SMCCC_ARCH_FEATURES. Only
    /// over PSCI's SMC conduit (without it, an SMC at EL2 would be undefined). Results are 32-bit.
    @_optimize(size)
    private static func firmwareAnswers() -> SpectreProfile.Firmware {
        guard machine.hasPSCI,
              Int32(truncatingIfNeeded: keel_smc(UInt64(PSCI.features), UInt64(SMCCC.version), 0, 0)) >= 0,
              Int32(truncatingIfNeeded: keel_smc(UInt64(SMCCC.version), 0, 0, 0)) >= Int32(SMCCC.version1_1) else { return .none }
        func ask(_ workaround: UInt32) -> Int64 {
            Int64(Int32(truncatingIfNeeded: keel_smc(UInt64(SMCCC.archFeatures), UInt64(workaround), 0, 0)))
        }
        return SpectreProfile.Firmware(workaround1: ask(SMCCC.archWorkaround1), workaround2: ask(SMCCC.archWorkaround2),
                                       workaround3: ask(SMCCC.archWorkaround3))
    }

    /// `CPU 0 (MIDR 0x410fd083): Spectre v2 vulnerable, v4 vulnerable, BHB mitigated; on entry
    /// from a guest: a branch loop of 8`.
    @inline(never) @_optimize(size)
    private static func report(_ cpu: Int, _ id: SpectreProfile.CPU, _ p: SpectreProfile) {
        Console.begin()
        Console.print("CPU ")
        Console.dec(UInt64(cpu))
        Console.print(" (MIDR ")
        Console.hex(id.midr)
        Console.print("): Spectre v2 ")
        state(p.v2)
        Console.print(", v4 ")
        state(p.v4)
        if p.v4 == .mitigated { Console.print(p.hasSSBS ? " (SSBS)" : " (firmware)") }
        Console.print(", BHB ")
        state(p.bhb)
        Console.print("; on entry from a guest: ")
        switch p.entry {
        case .none: Console.print("nothing")
        case .bhbLoop:
            Console.print("a branch loop of ")
            Console.dec(UInt64(keel_get_bhb_loop_count()))
        case .clearBHB: Console.print("CLRBHB")
        case .firmwareCall:
            Console.print(p.entryFirmwareCall == SMCCC.archWorkaround3 ? "the firmware's WORKAROUND_3" : "the firmware's WORKAROUND_1")
        }
        Console.newline()
    }

    private static func state(_ s: SpectreProfile.State) {
        switch s {
        case .unaffected: Console.print("unaffected")
        case .mitigated: Console.print("mitigated")
        case .vulnerable: Console.print("vulnerable")
        }
    }
}

/// `index` when it is below `count`, else 0, with no speculation past the caller's bounds check
/// (keel/nospec.h): where a guest-supplied index reaches Keel's pools and banks.
@inline(__always)
func nospec(_ index: Int, below count: Int) -> Int {
    Int(truncatingIfNeeded: keel_index_nospec(UInt64(truncatingIfNeeded: index), UInt64(truncatingIfNeeded: count)))
}
