import Testing
@testable import KeelCore

/// The timer's output level from CNTx_CTL_EL0, every combination of the three bits written out.
@Suite("Timer control")
struct TimerControlTests {
    @Test("the interrupt line is high only when enabled, the condition met and not masked")
    func asserted() {
        for raw in UInt64(0)..<8 {
            let ctl = TimerControl(rawValue: raw)
            let expected = ctl.contains(.enable) && ctl.contains(.istatus) && !ctl.contains(.imask)
            #expect(ctl.asserted == expected, "CTL \(raw)")
        }
        #expect(TimerControl(rawValue: 0b101).asserted)
        #expect(!TimerControl(rawValue: 0b111).asserted)  // masked (kvm-unit-tests' "not pending")
        #expect(!TimerControl(rawValue: 0b100).asserted)  // disabled: ISTATUS is UNKNOWN then
        #expect(!TimerControl(rawValue: 0b001).asserted)  // enabled, condition not met
        // Bits above ISTATUS are RES0 and do not change the level.
        #expect(TimerControl(rawValue: 0xFFFF_FFF8 | 0b101).asserted)
        #expect(!TimerControl(rawValue: 0xFFFF_FFF8 | 0b001).asserted)
    }
}
