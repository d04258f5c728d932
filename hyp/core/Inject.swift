import KeelHW

/// Exceptions Keel raises in the guest. The guest's EL1 registers are live in the hardware (one
/// vCPU per physical CPU), so injecting means writing them and pointing the ERET at the guest's
/// vector. What to write comes from KeelCore's `EL1Exception`, which is unit-tested: the same
/// PSTATE the CPU's own exception entry would give (PAN, SSBS, TCO... from the guest's live
/// SCTLR_EL1 and this CPU's features).
extension VCPU {
    mutating func injectUndefined(_ trapped: ESR) {
        let exception = EL1Exception.undefined(vbar: read_vbar_el1(), pstate: regs.spsr_el2, pc: pc, controls: .current())
        noteAction(.undefInjected, arg0: exception.esr.rawValue)
        deliver(exception)
    }

    /// A synchronous external abort for a data or instruction access the VM has no right to.
    @_optimize(size)
    mutating func injectExternalAbort(_ trapped: ESR, far: UInt64) {
        let exception = EL1Exception.externalAbort(vbar: read_vbar_el1(), pstate: regs.spsr_el2, pc: pc, trapped: trapped,
                                                   controls: .current())
        noteAction(.abortInjected, arg0: exception.esr.rawValue)
        deliver(exception)
        write_far_el1(far)
    }

    private mutating func deliver(_ exception: EL1Exception) {
        write_esr_el1(exception.esr.rawValue)
        write_elr_el1(exception.elr)
        write_spsr_el1(exception.spsr)
        regs.elr_el2 = exception.vector
        regs.spsr_el2 = exception.pstate
        countFault()
    }

    /// A guest in an exception storm is stopped once it reaches its VM's fault limit (the
    /// config's `fault_limit`); other VMs are not disturbed.
    @_optimize(size)
    private func countFault() {
        let vm = vmHandle
        vm.state.faults &+= 1
        guard vm.state.faultLimit != 0, vm.state.faults >= vm.state.faultLimit else { return }
        // Safety: this vCPU is slot `physicalCPU` of the pool (pinned 1:1), the one handling the exit.
        VirtualPSCI.stopByPolicy(VCPUHandle(index: physicalCPU), reason: 1, count: vm.state.faults, limit: "fault_limit")
    }
}
