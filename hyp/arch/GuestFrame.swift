import KeelHW

/// The frame the vectors save a vCPU's registers into and restore them from: keel/context.h's
/// `keel_regs`, field for field, with the register file as a fixed-size array so Swift indexes
/// it with a bounds check instead of a pointer. The assembly uses context.h's offsets; Swift lays
/// a struct out in declaration order, and `VCPUs.checkLayout` proves at boot that this one
/// matches them (`GuestFrame.layoutMatchesAssembly`).
struct GuestFrame {
    /// x0-x30.
    var x: [31 of UInt64] = .init(repeating: 0)
    var sp_el0: UInt64 = 0
    var elr_el2: UInt64 = 0
    var spsr_el2: UInt64 = 0
    /// Non-zero: x20-x29 and SP_EL0 in this frame are newer than the registers (context.h).
    var restore_all: UInt64 = 0
    var reserved: UInt64 = 0

    /// Whether every field sits at the offset the assembly uses.
    static var layoutMatchesAssembly: Bool {
        MemoryLayout<GuestFrame>.size == Int(KEEL_REGS_SIZE)
            && MemoryLayout<GuestFrame>.offset(of: \.x) == 0
            && MemoryLayout<GuestFrame>.offset(of: \.sp_el0) == Int(KEEL_REGS_SP_EL0)
            && MemoryLayout<GuestFrame>.offset(of: \.elr_el2) == Int(KEEL_REGS_ELR)
            && MemoryLayout<GuestFrame>.offset(of: \.spsr_el2) == Int(KEEL_REGS_SPSR)
            && MemoryLayout<GuestFrame>.offset(of: \.restore_all) == Int(KEEL_REGS_RESTORE_ALL)
    }
}
