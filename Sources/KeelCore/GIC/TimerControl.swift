/// An EL1 generic timer's control register, CNTV_CTL_EL0 or CNTP_CTL_EL0 (Arm ARM D12.8.14,
/// D12.8.18): ENABLE [0], IMASK [1], ISTATUS [2] (read-only: the timer condition is met).
///
/// The timer's interrupt output is a level: asserted while the timer is enabled, its condition
/// met and the interrupt not masked. Keel forwards that output to the guest as a hardware
/// interrupt, and makes the virtual interrupt follow it as the GIC would the line.
public struct TimerControl: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let enable = TimerControl(rawValue: 1 << 0)
    public static let imask = TimerControl(rawValue: 1 << 1)
    public static let istatus = TimerControl(rawValue: 1 << 2)

    /// The interrupt line the timer drives is high.
    @inline(__always)
    public var asserted: Bool { rawValue & 0b111 == 0b101 }
}
