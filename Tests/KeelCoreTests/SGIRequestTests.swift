import Testing
@testable import KeelCore

/// SGI requests against the register layouts, written out by hand:
///
/// GICv3 ICC_SGI1R_EL1 (IHI 0069, 12.2.22): Aff3 [55:48], RS [47:44], IRM [40], Aff2 [39:32],
/// INTID [27:24], Aff1 [23:16], TargetList [15:0].
///
/// GICv2 GICD_SGIR (IHI 0048B, 4.3.15): TargetListFilter [25:24], CPUTargetList [23:16],
/// NSATT [15], SGIINTID [3:0].
@Suite("SGI requests")
struct SGIRequestTests {
    static func v3(intid: UInt64 = 0, list: UInt64 = 0, aff1: UInt64 = 0, aff2: UInt64 = 0, aff3: UInt64 = 0,
                   irm: Bool = false, rs: UInt64 = 0) -> UInt64 {
        aff3 << 48 | rs << 44 | (irm ? 1 << 40 : 0) | aff2 << 32 | intid << 24 | aff1 << 16 | list
    }

    // MARK: GICv3

    @Test("v3: a target list")
    func v3TargetList() {
        #expect(SGIRequest(iccSGIR: 0x0500_000A, sender: 0, vcpuCount: 4) == SGIRequest(intid: 5, targets: 0b1010))
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 15, list: 1), sender: 0, vcpuCount: 1)
            == SGIRequest(intid: 15, targets: 1))
        // The sender may target itself through the list.
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 1, list: 0b100), sender: 2, vcpuCount: 4)
            == SGIRequest(intid: 1, targets: 0b100))
        // An empty list targets nothing.
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 7), sender: 0, vcpuCount: 4) == SGIRequest(intid: 7, targets: 0))
    }

    @Test("v3: every INTID 0-15 decodes")
    func v3INTIDs() {
        for intid in UInt64(0)..<16 {
            let r = SGIRequest(iccSGIR: SGIRequestTests.v3(intid: intid, list: 1), sender: 0, vcpuCount: 2)
            #expect(r == SGIRequest(intid: UInt32(intid), targets: 1))
        }
    }

    @Test("v3: targets beyond the VM's vCPUs are dropped")
    func v3BeyondCount() {
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 2, list: 0xFFFF), sender: 0, vcpuCount: 4).targets == 0xF)
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 2, list: 0xFFF0), sender: 0, vcpuCount: 4).targets == 0)
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 2, list: 0b1_0000_0001), sender: 0, vcpuCount: 8).targets == 1)
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 2, list: 0xFFFF), sender: 0, vcpuCount: 16).targets == 0xFFFF)
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 2, list: 0xFFFF), sender: 0, vcpuCount: 32).targets == 0xFFFF)
    }

    @Test("v3: IRM = 1 is every vCPU but the sender, whatever the list says")
    func v3IRM() {
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 3, list: 0xFFFF, irm: true), sender: 2, vcpuCount: 4)
            == SGIRequest(intid: 3, targets: 0b1011))
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 3, irm: true), sender: 0, vcpuCount: 4).targets == 0b1110)
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 3, irm: true), sender: 0, vcpuCount: 1).targets == 0)
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 3, irm: true), sender: 31, vcpuCount: 32).targets == 0x7FFF_FFFF)
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 3, irm: true), sender: 0, vcpuCount: 32).targets == 0xFFFF_FFFE)
        // Affinity fields are ignored with IRM.
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 3, aff1: 1, aff3: 2, irm: true), sender: 1, vcpuCount: 3).targets
            == 0b101)
    }

    @Test("v3: a non-zero Aff1, Aff2 or Aff3 matches no vCPU")
    func v3OtherCluster() {
        for value in [SGIRequestTests.v3(intid: 9, list: 0xF, aff1: 1), SGIRequestTests.v3(intid: 9, list: 0xF, aff1: 0x80),
                      SGIRequestTests.v3(intid: 9, list: 0xF, aff2: 1), SGIRequestTests.v3(intid: 9, list: 0xF, aff2: 0xFF),
                      SGIRequestTests.v3(intid: 9, list: 0xF, aff3: 1), SGIRequestTests.v3(intid: 9, list: 0xF, aff3: 0xFF),
                      SGIRequestTests.v3(intid: 9, list: 0xF, aff1: 1, rs: 1)] {
            #expect(SGIRequest(iccSGIR: value, sender: 0, vcpuCount: 32) == SGIRequest(intid: 9, targets: 0), "ICC_SGI1R \(value)")
        }
    }

    @Test("v3: RS = 1 addresses vCPUs 16-31")
    func v3RangeSelector() {
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 4, list: 0b1, rs: 1), sender: 0, vcpuCount: 32).targets == 1 << 16)
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 4, list: 0xFFFF, rs: 1), sender: 0, vcpuCount: 32).targets
            == 0xFFFF_0000)
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 4, list: 0xF, rs: 1), sender: 0, vcpuCount: 20).targets == 0xF_0000)
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 4, list: 0xF, rs: 1), sender: 0, vcpuCount: 18).targets == 0x3_0000)
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 4, list: 0xFFFF, rs: 1), sender: 0, vcpuCount: 16).targets == 0)
        #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 4, list: 0xFFFF, rs: 1), sender: 0, vcpuCount: 4).targets == 0)
        // RS 2 and above: Aff0 32 and up, never a Keel vCPU.
        for rs in UInt64(2)..<16 {
            #expect(SGIRequest(iccSGIR: SGIRequestTests.v3(intid: 4, list: 0xFFFF, rs: rs), sender: 0, vcpuCount: 32)
                == SGIRequest(intid: 4, targets: 0), "RS \(rs)")
        }
    }

    // MARK: GICv2

    static func v2(filter: UInt32, list: UInt32 = 0, intid: UInt32, nsatt: Bool = false) -> UInt32 {
        filter << 24 | list << 16 | (nsatt ? 1 << 15 : 0) | intid
    }

    @Test("v2: filter 0, the target list")
    func v2List() {
        #expect(SGIRequest(gicdSGIR: 0x0006_0001, sender: 0, vcpuCount: 4) == SGIRequest(intid: 1, targets: 0b0110))
        #expect(SGIRequest(gicdSGIR: SGIRequestTests.v2(filter: 0, list: 0xFF, intid: 15), sender: 0, vcpuCount: 4)
            == SGIRequest(intid: 15, targets: 0xF))
        #expect(SGIRequest(gicdSGIR: SGIRequestTests.v2(filter: 0, list: 0xFF, intid: 15), sender: 0, vcpuCount: 8).targets == 0xFF)
        #expect(SGIRequest(gicdSGIR: SGIRequestTests.v2(filter: 0, list: 0xF0, intid: 2), sender: 0, vcpuCount: 4).targets == 0)
        #expect(SGIRequest(gicdSGIR: SGIRequestTests.v2(filter: 0, list: 0b1, intid: 2), sender: 0, vcpuCount: 1).targets == 1)
        #expect(SGIRequest(gicdSGIR: SGIRequestTests.v2(filter: 0, intid: 2), sender: 0, vcpuCount: 4).targets == 0)
    }

    @Test("v2: filter 1, all but the sender")
    func v2AllButSelf() {
        #expect(SGIRequest(gicdSGIR: SGIRequestTests.v2(filter: 1, list: 0xFF, intid: 7), sender: 1, vcpuCount: 4)
            == SGIRequest(intid: 7, targets: 0b1101))
        #expect(SGIRequest(gicdSGIR: SGIRequestTests.v2(filter: 1, intid: 7), sender: 0, vcpuCount: 8).targets == 0xFE)
        #expect(SGIRequest(gicdSGIR: SGIRequestTests.v2(filter: 1, intid: 7), sender: 0, vcpuCount: 1).targets == 0)
    }

    @Test("v2: filter 2, the sender only")
    func v2Self() {
        #expect(SGIRequest(gicdSGIR: SGIRequestTests.v2(filter: 2, list: 0xFF, intid: 0), sender: 3, vcpuCount: 4)
            == SGIRequest(intid: 0, targets: 0b1000))
        #expect(SGIRequest(gicdSGIR: SGIRequestTests.v2(filter: 2, intid: 0), sender: 0, vcpuCount: 1).targets == 1)
    }

    @Test("v2: filter 3 is reserved and targets nothing")
    func v2Reserved() {
        #expect(SGIRequest(gicdSGIR: SGIRequestTests.v2(filter: 3, list: 0xFF, intid: 12), sender: 0, vcpuCount: 8)
            == SGIRequest(intid: 12, targets: 0))
    }

    @Test("v2: NSATT and reserved bits do not change the INTID or targets")
    func v2OtherBits() {
        for intid in UInt32(0)..<16 {
            let value = SGIRequestTests.v2(filter: 0, list: 0b11, intid: intid, nsatt: true) | 0x7FF0 | 0xFC00_0000
            #expect(SGIRequest(gicdSGIR: value, sender: 0, vcpuCount: 2) == SGIRequest(intid: intid, targets: 0b11))
        }
    }
}
