/// One GIC list register: a virtual interrupt the CPU interface presents to the guest without
/// Keel. The same value encodes to GICv3's `ICH_LR<n>_EL2` (64 bits) and to GICv2's
/// `GICH_LR<n>` (32 bits); the vGIC works on this type and the driver picks the encoding.
///
/// Layouts: Arm IHI 0069 (GICv3) 12.5.9, Arm IHI 0048B (GICv2) 5.3.4.
public struct ListRegister: Equatable, Sendable {
    public enum State: UInt8, Sendable {
        case invalid = 0, pending = 1, active = 2, pendingActive = 3

        public var isPending: Bool { rawValue & 1 != 0 }
        public var isActive: Bool { rawValue & 2 != 0 }
    }

    /// The INTID the guest acknowledges.
    public var virtualID: UInt32
    public var state: State
    /// Priority as the guest programmed it (8 bits; the GIC keeps only the top 5).
    public var priority: UInt8
    public var group1: Bool
    /// Hardware interrupt: when the guest deactivates `virtualID`, the GIC deactivates physical
    /// `physicalID` itself (the virtual timer). Otherwise `physicalID` is unused.
    public var hardware: Bool
    public var physicalID: UInt32
    /// Software interrupts only: a maintenance interrupt when the guest deactivates it (Keel
    /// re-samples a level-triggered device line then).
    public var maintenanceOnEOI: Bool
    /// GICv2 SGIs only: the vCPU that sent it (GICC_IAR reports it in bits [12:10]).
    public var sourceCPU: UInt8

    public init(virtualID: UInt32, state: State, priority: UInt8, group1: Bool = true, hardware: Bool = false,
                physicalID: UInt32 = 0, maintenanceOnEOI: Bool = false, sourceCPU: UInt8 = 0) {
        self.virtualID = virtualID
        self.state = state
        self.priority = priority
        self.group1 = group1
        self.hardware = hardware
        self.physicalID = physicalID
        self.maintenanceOnEOI = maintenanceOnEOI
        self.sourceCPU = sourceCPU
    }

    // MARK: GICv3 ICH_LR<n>_EL2

    /// State [63:62], HW [61], Group [60], Priority [55:48], pINTID [41:32] (HW) or EOI [41]
    /// (software), vINTID [31:0].
    public var v3: UInt64 {
        var value = UInt64(virtualID)
        value |= UInt64(state.rawValue) << 62
        value |= UInt64(priority) << 48
        if group1 { value |= 1 << 60 }
        if hardware {
            value |= 1 << 61 | UInt64(physicalID & 0x3FF) << 32
        } else if maintenanceOnEOI {
            value |= 1 << 41
        }
        return value
    }

    public init(v3 value: UInt64) {
        let hardware = value & (1 << 61) != 0
        self.init(
            virtualID: UInt32(truncatingIfNeeded: value),
            state: State(rawValue: UInt8(value >> 62))!,
            priority: UInt8(truncatingIfNeeded: value >> 48),
            group1: value & (1 << 60) != 0,
            hardware: hardware,
            physicalID: hardware ? UInt32((value >> 32) & 0x3FF) : 0,
            maintenanceOnEOI: !hardware && value & (1 << 41) != 0
        )
    }

    // MARK: GICv2 GICH_LR<n>

    /// HW [31], Grp1 [30], State [29:28], Priority [27:23] (top 5 bits), PhysicalID [19:10]
    /// (HW) or EOI [19] and CPUID [12:10] (software), VirtualID [9:0].
    public var v2: UInt32 {
        var value = virtualID & 0x3FF
        value |= UInt32(state.rawValue) << 28
        value |= UInt32(priority >> 3) << 23
        if group1 { value |= 1 << 30 }
        if hardware {
            value |= 1 << 31 | (physicalID & 0x3FF) << 10
        } else {
            if maintenanceOnEOI { value |= 1 << 19 }
            value |= UInt32(sourceCPU & 7) << 10
        }
        return value
    }

    public init(v2 value: UInt32) {
        let hardware = value & (1 << 31) != 0
        self.init(
            virtualID: value & 0x3FF,
            state: State(rawValue: UInt8((value >> 28) & 3))!,
            priority: UInt8((value >> 23) & 0x1F) << 3,
            group1: value & (1 << 30) != 0,
            hardware: hardware,
            physicalID: hardware ? (value >> 10) & 0x3FF : 0,
            maintenanceOnEOI: !hardware && value & (1 << 19) != 0,
            sourceCPU: hardware ? 0 : UInt8((value >> 10) & 7)
        )
    }
}
