import Testing
@testable import KeelCore

/// Issue 12, item 6: what Keel does about Spectre v2, v4 and BHB on a CPU, and what it answers a
/// guest's SMCCC_ARCH_FEATURES, from real MIDRs and ID register values (QEMU 7.2's models where
/// QEMU has the core, as a guest under Keel reads them).
@Suite("Spectre answers per CPU")
struct SpectreProfileTests {
    static let wa1 = SMCCC.archWorkaround1, wa2 = SMCCC.archWorkaround2, wa3 = SMCCC.archWorkaround3

    /// (WA1, WA2, WA3) as ARCH_FEATURES answers them.
    static func answers(_ p: SpectreProfile) -> [Int64?] { [p.features(wa1), p.features(wa2), p.features(wa3)] }

    // QEMU 7.2's cortex-a53, cortex-a57, cortex-a72: CSV2 = 0, no SSBS.
    static let a53 = SpectreProfile.CPU(midr: 0x410F_D034, pfr0: 0x0100_0222)
    static let a57 = SpectreProfile.CPU(midr: 0x411F_D070, pfr0: 0x0100_0222)
    static let a72 = SpectreProfile.CPU(midr: 0x410F_D083, pfr0: 0x0100_0222)
    // QEMU 7.2's cortex-a76 and neoverse-n1: CSV2 = 1, CSV3 = 1, SSBS.
    static let a76 = SpectreProfile.CPU(midr: 0x414F_D0B1, pfr0: 0x1100_0000_1111_0112, pfr1: 0x10, mmfr1: 0x1021_2122)
    static let n1 = SpectreProfile.CPU(midr: 0x414F_D0C1, pfr0: 0x1100_0000_1111_0112, pfr1: 0x20, mmfr1: 0x1021_2122)
    // QEMU 7.2's max: implementer 0, CSV2 = 2, SSBS, no ECBHB, no CLRBHB.
    static let qemuMax = SpectreProfile.CPU(midr: 0x000F_0510, pfr0: 0x1201_0010_2111_0222, pfr1: 0x21, mmfr1: 0x110_1021_1122)

    @Test("Cortex-A53: unaffected by v2, v4 and BHB; nothing on entry")
    func cortexA53() {
        let p = SpectreProfile(cpu: Self.a53)
        #expect(Self.answers(p) == [1, SMCCC.notRequired, 1])
        #expect(p.entry == .none && p.bhbLoopCount == 0)
        #expect(p.call(Self.wa1) == 0 && p.call(Self.wa2) == SMCCC.notSupported && p.call(Self.wa3) == 0)
    }

    @Test("Cortex-A72 and A57 (Raspberry Pi 4, Juno): BHB loop of 8 on entry; v2 and v4 need a firmware Keel lacks", arguments: [a72, a57])
    func cortexA72(cpu: SpectreProfile.CPU) {
        let p = SpectreProfile(cpu: cpu)
        #expect(Self.answers(p) == [SMCCC.notSupported, SMCCC.notSupported, 0])
        #expect(p.entry == .bhbLoop && p.bhbLoopCount == 8)
        #expect(p.v2 == .vulnerable && p.v4 == .vulnerable && p.bhb == .mitigated)
        #expect(p.call(Self.wa1) == SMCCC.notSupported && p.call(Self.wa3) == 0)
    }

    @Test("Cortex-A76 and Neoverse N1: CSV2, SSBS; BHB loop of 24", arguments: [a76, n1])
    func cortexA76(cpu: SpectreProfile.CPU) {
        let p = SpectreProfile(cpu: cpu)
        #expect(Self.answers(p) == [1, SMCCC.notSupported, 0])
        #expect(p.entry == .bhbLoop && p.bhbLoopCount == 24)
        #expect(p.v4 == .mitigated && p.hasSSBS && !p.enableFirmwareWorkaround2)
    }

    @Test("loop counts of Linux's lists: X1 and A78 32, A715 38, X3 and Neoverse V2 132, Ampere-1 11; other cores none")
    func loopCounts() {
        #expect(SpectreProfile.bhbLoopCount(midr: 0x411F_D440) == 32)   // Cortex-X1 r1p0
        #expect(SpectreProfile.bhbLoopCount(midr: 0x411F_D411) == 32)   // Cortex-A78 r1p1
        #expect(SpectreProfile.bhbLoopCount(midr: 0x410F_D4D0) == 38)   // Cortex-A715
        #expect(SpectreProfile.bhbLoopCount(midr: 0x410F_D4E1) == 132)  // Cortex-X3
        #expect(SpectreProfile.bhbLoopCount(midr: 0x410F_D4F0) == 132)  // Neoverse V2
        #expect(SpectreProfile.bhbLoopCount(midr: 0xC00F_AC30) == 11)   // Ampere-1
        #expect(SpectreProfile.bhbLoopCount(midr: 0x410F_D034) == 0)    // Cortex-A53
        #expect(SpectreProfile.bhbLoopCount(midr: 0x000F_0510) == 0)    // QEMU max
        // Variant and revision do not matter; implementer does.
        #expect(SpectreProfile.bhbLoopCount(midr: 0x413F_D083) == 8)
        #expect(SpectreProfile.bhbLoopCount(midr: 0x420F_D080) == 0)
    }

    @Test("X1 with CSV2 = 1: v2 unaffected, BHB loop of 32")
    func cortexX1() {
        let p = SpectreProfile(cpu: SpectreProfile.CPU(midr: 0x411F_D440, pfr0: 0x0100_0000_0000_0000, pfr1: 0x10))
        #expect(Self.answers(p) == [1, SMCCC.notSupported, 0])
        #expect(p.bhbLoopCount == 32)
    }

    @Test("QEMU max (CSV2 = 2, SSBS, no known loop count, no firmware): BHB vulnerable, nothing on entry")
    func qemuMax() {
        let p = SpectreProfile(cpu: Self.qemuMax)
        #expect(Self.answers(p) == [1, SMCCC.notSupported, SMCCC.notSupported])
        #expect(p.entry == .none && p.bhb == .vulnerable)
    }

    @Test("CSV2 = 3 or ECBHB: unaffected by BHB even on a core with a loop count; CLRBHB replaces the loop")
    func bhbFeatures() {
        let n2 = UInt64(0x410F_D490)
        let csv2p3 = SpectreProfile(cpu: SpectreProfile.CPU(midr: n2, pfr0: 3 << 56))
        #expect(csv2p3.features(Self.wa3) == 1 && csv2p3.entry == .none)
        let ecbhb = SpectreProfile(cpu: SpectreProfile.CPU(midr: n2, pfr0: 1 << 56, mmfr1: 1 << 60))
        #expect(ecbhb.features(Self.wa3) == 1 && ecbhb.entry == .none)
        let clear = SpectreProfile(cpu: SpectreProfile.CPU(midr: n2, pfr0: 1 << 56, isar2: 1 << 28))
        #expect(clear.features(Self.wa3) == 0 && clear.entry == .clearBHB && clear.bhbLoopCount == 0)
        #expect(clear.call(Self.wa3) == 0)
    }

    @Test("firmware below Keel: WORKAROUND_1 called on entry (WORKAROUND_3 where it has it); WORKAROUND_2 on for good")
    func firmware() {
        let wa1Only = SpectreProfile(cpu: Self.a72, firmware: .init(workaround1: 0))
        #expect(Self.answers(wa1Only) == [0, SMCCC.notSupported, 0])
        #expect(wa1Only.entry == .firmwareCall && wa1Only.entryFirmwareCall == SMCCC.archWorkaround1 && wa1Only.bhbLoopCount == 0)
        let both = SpectreProfile(cpu: Self.a72, firmware: .init(workaround1: 0, workaround2: 0, workaround3: 0))
        #expect(Self.answers(both) == [0, SMCCC.notRequired, 0])
        #expect(both.entryFirmwareCall == SMCCC.archWorkaround3 && both.enableFirmwareWorkaround2)
        // A core with no loop count: the firmware's WORKAROUND_3 is the BHB mitigation.
        let other = SpectreProfile(cpu: Self.qemuMax, firmware: .init(workaround3: 0))
        #expect(other.features(Self.wa3) == 0 && other.entry == .firmwareCall && other.entryFirmwareCall == SMCCC.archWorkaround3)
        // The firmware says this PE is unaffected.
        let unaffected = SpectreProfile(cpu: Self.a72, firmware: .init(workaround1: 1, workaround2: SMCCC.notRequired, workaround3: 1))
        #expect(Self.answers(unaffected) == [1, SMCCC.notRequired, 0])  // the loop still runs: Keel knows the core
        #expect(unaffected.entry == .bhbLoop && !unaffected.enableFirmwareWorkaround2)
        // SSBS: no firmware call for v4 even where the firmware has one.
        let ssbs = SpectreProfile(cpu: Self.a76, firmware: .init(workaround2: 0))
        #expect(ssbs.features(Self.wa2) == SMCCC.notSupported && !ssbs.enableFirmwareWorkaround2)
    }

    @Test("other functions are not workarounds")
    func others() {
        let p = SpectreProfile(cpu: Self.a72)
        #expect(p.features(SMCCC.archFeatures) == nil && p.call(SMCCC.version) == nil)
    }
}
