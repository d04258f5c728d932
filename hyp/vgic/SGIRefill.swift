import KeelHW

extension VGIC {
    /// `flush`'s short way for the refill an SGI between vCPUs asks for (issue 16): the
    /// registers Keel filled are all empty again and held SGIs (the guest took and finished
    /// them), no forwarded timer interrupt is held, no SPI is deliverable to any vCPU, and of
    /// this vCPU's own interrupts exactly one SGI is deliverable. Then it retires those
    /// registers and puts that SGI into register 0, exactly as `sync`, `best` and `place` would
    /// (they would retire the same registers, find that SGI the only candidate, and take the
    /// lowest free register, 0), without their scan. False, with nothing changed, in any other
    /// case: `flush` goes the long way. A GICv3 only (a GICv2 SGI keeps its senders). Caller
    /// holds the lock and has cleared `dirty`.
    @inline(__always)
    static func refillOneSGI(_ vcpu: VCPUHandle) -> Bool {
        guard GIC.version == .v3 else { return false }
        let used = vcpu.state.vgic.usedLRs
        let bank = IRQBankHandle(privateOf: vcpu)
        // No interrupt of its own linked to hardware: no forwarded timer interrupt held (`flush`
        // samples the timers' lines only then), and none among the SGIs below.
        guard bank.state.hardware == 0 else { return false }
        // Every register Keel filled holds an SGI and is empty (ICH_ELRSR_EL2): `sync` would only
        // retire them (its `lr == nil` branch), and an SGI retired sends no vCPU a notice.
        var retired: UInt32 = 0
        if used != 0 {
            guard used & ~GIC.emptyListRegisters == 0 else { return false }
            var rest = used
            while rest != 0 {
                let n = rest.trailingZeroBitCount
                rest &= rest &- 1
                let intid = vcpu.state.vgic.lrINTID[n]
                guard intid < 16 else { return false }
                retired |= 1 << UInt32(intid)
            }
        }
        let vm = vcpu.state.vmHandle
        // No SPI deliverable to anyone (`best` looks at those targeting this vCPU only: asking
        // for none at all is stricter, and one test per bank).
        for b in 0..<VirtualDistributor.spiCount / 32 {
            let spis = IRQBankHandle(spiOf: vm, 32 + 32 * b)
            guard spis.state.deliverable & vm.state.vgic.groupMask(group1: spis.state.group1) == 0 else { return false }
        }
        // Deliverable once the retired registers are out: (pending | level) & enabled & ~inLR,
        // in an enabled group; exactly one, an SGI.
        let deliverable = (bank.state.pending | bank.state.level) & bank.state.enabled & ~(bank.state.inLR & ~retired)
            & vm.state.vgic.groupMask(group1: bank.state.group1)
        guard deliverable & 0xFFFF_0000 == 0, deliverable & (deliverable &- 1) == 0,
              bank.state.pending & deliverable == deliverable else { return false }

        // `sync`: each retired register's interrupt no longer in a register nor active, its
        // withdrawal done (an SGI is never linked to hardware).
        bank.state.inLR &= ~retired
        bank.state.active &= ~retired
        bank.state.withdrawn &= ~retired
        vcpu.state.vgic.usedLRs = 0
        if deliverable != 0 {
            // `place` in register 0, and `consumePending` of a GICv3 SGI (no senders kept).
            let intid = deliverable.trailingZeroBitCount
            GIC.writeListRegister(0, ListRegister(
                virtualID: UInt32(intid), state: .pending, priority: bank.state.priority[intid],
                group1: bank.state.group1 & deliverable != 0, hardware: false, physicalID: UInt32(intid),
                maintenanceOnEOI: false, sourceCPU: 0
            ))
            vcpu.state.vgic.lrINTID[0] = UInt16(intid)
            vcpu.state.vgic.usedLRs = 1
            bank.state.inLR |= deliverable
            bank.state.pending &= ~deliverable
            if vcpu.state.trace.action == .none { vcpu.state.noteAction(.virtualIRQInjected, arg0: UInt64(intid)) }
        }
        // Nothing more waits: no underflow maintenance.
        if vcpu.state.vgic.underflow {
            vcpu.state.vgic.underflow = false
            GIC.setUnderflowInterrupt(false)
        }
        VirtualIRQLine.update(vcpu)
        return true
    }
}
