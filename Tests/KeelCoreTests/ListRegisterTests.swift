import Testing
@testable import KeelCore

/// List registers against the architecture's bit layouts, written out by hand:
///
/// GICv3 ICH_LR<n>_EL2 (IHI 0069, 12.5.9): State [63:62], HW [61], Group [60], Priority [55:48],
/// pINTID [41:32] (HW = 1) or EOI [41] (HW = 0), vINTID [31:0].
///
/// GICv2 GICH_LR<n> (IHI 0048B, 5.3.4): HW [31], Grp1 [30], State [29:28], Priority [27:23]
/// (top 5 bits), PhysicalID [19:10] (HW = 1) or EOI [19] and CPUID [12:10] (HW = 0),
/// VirtualID [9:0].
@Suite("GIC list registers")
struct ListRegisterTests {
    static let states: [ListRegister.State] = [.invalid, .pending, .active, .pendingActive]

    // MARK: GICv3

    @Test("v3: the virtual timer as a hardware interrupt")
    func v3Hardware() {
        let lr = ListRegister(virtualID: 27, state: .pending, priority: 0xA0, group1: true, hardware: true, physicalID: 27)
        // State 01 | HW | Group | priority A0 | pINTID 0x1B | vINTID 0x1B
        #expect(lr.v3 == 0x70A0_001B_0000_001B)
    }

    @Test("v3: a software SPI, group 0, with a maintenance interrupt on EOI")
    func v3SoftwareEOI() {
        let lr = ListRegister(virtualID: 33, state: .active, priority: 0x80, group1: false, maintenanceOnEOI: true)
        // State 10 | priority 80 | EOI (bit 41) | vINTID 0x21
        #expect(lr.v3 == 0x8080_0200_0000_0021)
    }

    @Test("v3: an LPI pending and active keeps its full 32-bit vINTID")
    func v3WideINTID() {
        #expect(ListRegister(virtualID: 8192, state: .pendingActive, priority: 0xFF).v3 == 0xD0FF_0000_0000_2000)
        #expect(ListRegister(virtualID: 0xFFFF_FFFF, state: .invalid, priority: 0, group1: false).v3 == 0x0000_0000_FFFF_FFFF)
    }

    @Test("v3: an invalid, group 0, priority 0 register is all zeros")
    func v3Zero() {
        #expect(ListRegister(virtualID: 0, state: .invalid, priority: 0, group1: false).v3 == 0)
    }

    @Test("v3: fields that do not apply are not encoded")
    func v3Irrelevant() {
        // HW: maintenanceOnEOI has no bit (bit 41 is pINTID[9], clear for pINTID 1).
        let hw = ListRegister(virtualID: 30, state: .pending, priority: 0, group1: false, hardware: true,
                              physicalID: 1, maintenanceOnEOI: true)
        #expect(hw.v3 == 1 << 62 | 1 << 61 | 1 << 32 | 30)
        // Software: physicalID and sourceCPU have no bits.
        let sw = ListRegister(virtualID: 40, state: .pending, priority: 0, group1: false, physicalID: 0x3FF, sourceCPU: 5)
        #expect(sw.v3 == 1 << 62 | 40)
        // pINTID is 10 bits.
        let wide = ListRegister(virtualID: 27, state: .invalid, priority: 0, group1: false, hardware: true, physicalID: 0x7FF)
        #expect(wide.v3 == 1 << 61 | 0x3FF << 32 | 27)
    }

    @Test("v3: values the GIC writes back decode")
    func v3Decode() {
        // The guest acknowledged the timer: state went pending -> active.
        let acked = ListRegister(v3: 0xB0A0_001B_0000_001B)
        #expect(acked == ListRegister(virtualID: 27, state: .active, priority: 0xA0, group1: true, hardware: true, physicalID: 27))
        #expect(acked.state.isActive && !acked.state.isPending)
        // The guest deactivated it: state invalid, everything else unchanged.
        let done = ListRegister(v3: 0x30A0_001B_0000_001B)
        #expect(done.state == .invalid && done.hardware && done.physicalID == 27 && done.virtualID == 27)
        // Software with EOI: bit 41 is the maintenance request, never a pINTID.
        let eoi = ListRegister(v3: 0x8080_0200_0000_0021)
        #expect(eoi == ListRegister(virtualID: 33, state: .active, priority: 0x80, group1: false, maintenanceOnEOI: true))
        // Software with RES0 bits [40:32] set: no physical ID, no EOI.
        let res0 = ListRegister(v3: 1 << 62 | 0x1FF << 32 | 0x20)
        #expect(res0 == ListRegister(virtualID: 0x20, state: .pending, priority: 0, group1: false))
        // HW with pINTID bit 9 (bit 41) set: a physical ID, not an EOI request.
        let high = ListRegister(v3: 1 << 61 | 0x200 << 32 | 0x25)
        #expect(high.hardware && high.physicalID == 0x200 && !high.maintenanceOnEOI)
    }

    @Test("v3 round trips", arguments: ListRegisterTests.states)
    func v3RoundTrip(state: ListRegister.State) {
        var count = 0
        for group1 in [false, true] {
            for priority: UInt8 in [0, 0x08, 0x5A, 0xA0, 0xF8, 0xFF] {
                for virtualID: UInt32 in [0, 15, 16, 27, 31, 32, 1019, 8192, 0xFFFF_FFFF] {
                    for physicalID: UInt32 in [16, 27, 30, 1019] {
                        let lr = ListRegister(virtualID: virtualID, state: state, priority: priority, group1: group1,
                                              hardware: true, physicalID: physicalID)
                        #expect(ListRegister(v3: lr.v3) == lr)
                        count += 1
                    }
                    for eoi in [false, true] {
                        let lr = ListRegister(virtualID: virtualID, state: state, priority: priority, group1: group1,
                                              maintenanceOnEOI: eoi)
                        #expect(ListRegister(v3: lr.v3) == lr)
                        count += 1
                    }
                }
            }
        }
        #expect(count == 2 * 6 * 9 * 6)
    }

    @Test("v3: every field lands in its own bits")
    func v3Fields() {
        for state in ListRegisterTests.states {
            let value = ListRegister(virtualID: 0, state: state, priority: 0, group1: false).v3
            #expect(value == UInt64(state.rawValue) << 62)
        }
        for bit in 0..<8 {
            let priority = UInt8(1) << UInt8(bit)
            #expect(ListRegister(virtualID: 0, state: .invalid, priority: priority, group1: false).v3 == 1 << UInt64(48 + bit))
        }
        #expect(ListRegister(virtualID: 0, state: .invalid, priority: 0, group1: true).v3 == 1 << 60)
    }

    // MARK: GICv2

    @Test("v2: the virtual timer as a hardware interrupt")
    func v2Hardware() {
        let lr = ListRegister(virtualID: 27, state: .pending, priority: 0xA0, group1: true, hardware: true, physicalID: 27)
        // HW | Grp1 | State 01 | priority 0xA0 >> 3 = 0x14 at 23 | PhysicalID 27 at 10 | VirtualID 27
        #expect(lr.v2 == 0xDA00_6C1B)
    }

    @Test("v2: a software SGI from CPU 2 with EOI")
    func v2SoftwareSGI() {
        let lr = ListRegister(virtualID: 3, state: .pending, priority: 0x80, group1: false, maintenanceOnEOI: true, sourceCPU: 2)
        // State 01 | priority 0x10 at 23 | EOI (bit 19) | CPUID 2 at 10 | VirtualID 3
        #expect(lr.v2 == 0x1808_0803)
    }

    @Test("v2: the priority keeps its top 5 bits")
    func v2Priority() {
        let cases: [(UInt8, UInt32, UInt8)] = [(0xA7, 0x14, 0xA0), (0x07, 0, 0), (0xFF, 0x1F, 0xF8),
                                               (0x08, 0x01, 0x08), (0x80, 0x10, 0x80), (0x7F, 0x0F, 0x78)]
        for (priority, field, back) in cases {
            let lr = ListRegister(virtualID: 0, state: .invalid, priority: priority, group1: false)
            #expect(lr.v2 == field << 23, "priority \(priority)")
            #expect(ListRegister(v2: lr.v2).priority == back, "priority \(priority)")
        }
    }

    @Test("v2: fields wider than the register are masked, fields that do not apply are dropped")
    func v2Masking() {
        // VirtualID is 10 bits.
        #expect(ListRegister(virtualID: 0x1400 | 0x15, state: .invalid, priority: 0, group1: false).v2 == 0x15)
        // CPUID is 3 bits.
        #expect(ListRegister(virtualID: 1, state: .invalid, priority: 0, group1: false, sourceCPU: 0xF).v2 == 7 << 10 | 1)
        // HW: neither sourceCPU nor maintenanceOnEOI is encoded; PhysicalID is 10 bits.
        let hw = ListRegister(virtualID: 1, state: .invalid, priority: 0, group1: false, hardware: true,
                              physicalID: 0x401, maintenanceOnEOI: true, sourceCPU: 7)
        #expect(hw.v2 == 1 << 31 | 1 << 10 | 1)
        // Software: physicalID is not encoded.
        #expect(ListRegister(virtualID: 1, state: .invalid, priority: 0, group1: false, physicalID: 0x3FF).v2 == 1)
    }

    @Test("v2: values the GIC writes back decode")
    func v2Decode() {
        // The timer acknowledged (active) and then deactivated (invalid).
        let acked = ListRegister(v2: 0xEA00_6C1B)
        #expect(acked == ListRegister(virtualID: 27, state: .active, priority: 0xA0, group1: true, hardware: true, physicalID: 27))
        let done = ListRegister(v2: 0xCA00_6C1B)
        #expect(done.state == .invalid && done.hardware && done.physicalID == 27)
        // A software SGI: CPUID and EOI come back, no physical ID.
        let sgi = ListRegister(v2: 0x3008_1C05)
        #expect(sgi == ListRegister(virtualID: 5, state: .pendingActive, priority: 0, group1: false,
                                    maintenanceOnEOI: true, sourceCPU: 7))
        // HW with PhysicalID bit 9 (bit 19) set: not an EOI request, no source CPU.
        let high = ListRegister(v2: 1 << 31 | 0x3FF << 10 | 0x3FF)
        #expect(high == ListRegister(virtualID: 0x3FF, state: .invalid, priority: 0, group1: false, hardware: true, physicalID: 0x3FF))
    }

    @Test("v2 round trips", arguments: ListRegisterTests.states)
    func v2RoundTrip(state: ListRegister.State) {
        var count = 0
        for group1 in [false, true] {
            for priority: UInt8 in [0, 0x08, 0x58, 0xA0, 0xF8] {
                for virtualID: UInt32 in [0, 1, 15, 16, 27, 31, 32, 512, 1019, 1023] {
                    for physicalID: UInt32 in [16, 27, 30, 0x200, 1019] {
                        let lr = ListRegister(virtualID: virtualID, state: state, priority: priority, group1: group1,
                                              hardware: true, physicalID: physicalID)
                        #expect(ListRegister(v2: lr.v2) == lr)
                        count += 1
                    }
                    for eoi in [false, true] {
                        for cpu: UInt8 in 0..<8 {
                            let lr = ListRegister(virtualID: virtualID, state: state, priority: priority, group1: group1,
                                                  maintenanceOnEOI: eoi, sourceCPU: cpu)
                            #expect(ListRegister(v2: lr.v2) == lr)
                            count += 1
                        }
                    }
                }
            }
        }
        #expect(count == 2 * 5 * 10 * (5 + 16))
        // Any GICH_LR value with its RES0 bits clear re-encodes to itself.
        var seed: UInt64 = 0x5EED_0000 | UInt64(state.rawValue)
        for _ in 0..<500 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            var value = UInt32(truncatingIfNeeded: seed >> 32) & ~(3 << 28) | UInt32(state.rawValue) << 28
            if value & (1 << 31) == 0 { value &= ~(0x3F << 13) }  // bits [18:13] are RES0 without HW
            value &= ~(0x7 << 20)  // bits [22:20] are RES0
            #expect(ListRegister(v2: value).v2 == value, "GICH_LR \(value)")
        }
    }

    @Test("v2 and v3 agree on what both can hold")
    func crossEncoding() {
        for state in ListRegisterTests.states {
            for hw in [false, true] {
                let lr = ListRegister(virtualID: 30, state: state, priority: 0xC8, group1: true, hardware: hw,
                                      physicalID: hw ? 30 : 0, maintenanceOnEOI: !hw)
                #expect(ListRegister(v2: lr.v2) == ListRegister(v3: lr.v3))
            }
        }
    }

    @Test("state helpers")
    func stateBits() {
        #expect(!ListRegister.State.invalid.isPending && !ListRegister.State.invalid.isActive)
        #expect(ListRegister.State.pending.isPending && !ListRegister.State.pending.isActive)
        #expect(!ListRegister.State.active.isPending && ListRegister.State.active.isActive)
        #expect(ListRegister.State.pendingActive.isPending && ListRegister.State.pendingActive.isActive)
    }
}
