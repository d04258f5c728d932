import KeelHW

/// An exception Keel took at EL2 (a failed Swift check is a `brk #1`: ESR_EL2 0xf2000001), as a
/// copy of what the current-EL vectors saved: Keel's registers at the fault, and the syndrome
/// registers read before anything else can change them. Plain data: whatever reports the fault
/// (hyp/core/Containment.swift) reads it without a pointer.
struct HypFault {
    /// `KEEL_EXC_SYNC`, `_IRQ`, `_FIQ` or `_SERROR`: which vector took it.
    var kind: UInt64
    var esr: ESR
    var far: UInt64
    var elr: UInt64
    var spsr: UInt64
    /// Keel's stack pointer before the vector built its frame.
    var sp: UInt64
    /// x0-x30 at the fault.
    var x: [31 of UInt64]

    /// The frame the current-EL vector built on this CPU's stack (vectors.S, `current_el_vector`).
    @unsafe
    init(frame: UnsafeMutableRawPointer, kind: UInt64) {
        self.kind = kind
        esr = ESR(rawValue: read_esr_el2())
        far = read_far_el2()
        // Safety: `frame` is the `keel_regs` the vector stored on this CPU's stack just before
        // calling `keel_hyp_exception`; it stays valid and unshared until that call returns,
        // which it never does. `GuestFrame` is `keel_regs` field for field (checked at boot).
        let regs = unsafe frame.load(as: GuestFrame.self)
        elr = regs.elr_el2
        // The vector stored the interrupted sp in the frame's sp_el0 slot.
        sp = regs.sp_el0
        spsr = regs.spsr_el2
        x = regs.x
    }

    /// A failed Swift check (bounds, overflow, unwrap, precondition): LLVM's trap, `brk #1`.
    var isFailedCheck: Bool { kind == UInt64(KEEL_EXC_SYNC) && esr.ec == .brk64 && esr.rawValue & 0xFFFF == 1 }
}

/// The current-EL vectors' call (vectors.S, `current_el_vector`): the frame as a `HypFault`.
@c(keel_hyp_exception)
@_optimize(size)
func hypExceptionEntry(_ frame: UnsafeMutableRawPointer, _ kind: UInt64) -> Never {
    // Safety: `frame` is the frame the vector just built on this CPU's stack (see `init`).
    hypervisorException(unsafe HypFault(frame: frame, kind: kind))
}
