/// The vectors' calls into Swift for exceptions taken from the guest (hyp/arch/vectors.S): each
/// turns the frame address into the vCPU's handle and calls the core handler (hyp/core/Trap.swift).
///
/// Safety, for every entry here: `frame` is TPIDR_EL2, the address of the running vCPU's pool
/// slot, which only `EL2.run` writes (from a `VCPUHandle`), and the vectors have just saved the
/// guest's registers there.

@c(keel_handle_lower_sync)
func lowerSyncEntry(_ frame: UInt, _ esr: UInt64) {
    handleLowerSync(running(frame), esr)
}

/// `iar`: what the vector read from ICC_IAR1_EL1, or KEEL_IRQ_NOT_ACKNOWLEDGED (keel/irqfast.h).
@c(keel_handle_lower_irq)
func lowerIRQEntry(_ frame: UInt, _ iar: UInt64) {
    handleLowerIRQ(running(frame), iar: iar)
}

@c(keel_handle_lower_fiq)
func lowerFIQEntry(_ frame: UInt) {
    handleLowerFIQ(running(frame))
}

@c(keel_handle_lower_serror)
func lowerSErrorEntry(_ frame: UInt) {
    handleLowerSError(running(frame))
}

/// The running vCPU, from the frame address the vectors passed (see the safety note above).
@inline(__always)
private func running(_ frame: UInt) -> VCPUHandle {
    unsafe VCPUHandle(frame: frame)
}
