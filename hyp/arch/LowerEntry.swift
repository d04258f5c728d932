/// The vectors' calls into Swift for exceptions taken from the guest (hyp/arch/vectors.S): each
/// turns the frame address into the vCPU's handle and calls the core handler (hyp/core/Trap.swift).
///
/// Safety, for every entry here: `frame` is TPIDR_EL2, the address of the running vCPU's pool
/// slot, which only `EL2.run` writes (from a `VCPUHandle`), and the vectors have just saved the
/// guest's registers there.

@c(keel_handle_lower_sync)
func lowerSyncEntry(_ frame: UnsafeMutableRawPointer, _ esr: UInt64) {
    handleLowerSync(unsafe VCPUHandle(frame: frame), esr)
}

@c(keel_handle_lower_irq)
func lowerIRQEntry(_ frame: UnsafeMutableRawPointer) {
    handleLowerIRQ(unsafe VCPUHandle(frame: frame))
}

@c(keel_handle_lower_fiq)
func lowerFIQEntry(_ frame: UnsafeMutableRawPointer) {
    handleLowerFIQ(unsafe VCPUHandle(frame: frame))
}

@c(keel_handle_lower_serror)
func lowerSErrorEntry(_ frame: UnsafeMutableRawPointer) {
    handleLowerSError(unsafe VCPUHandle(frame: frame))
}
