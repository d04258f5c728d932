import KeelHW

/// Devices passed through to a VM (Bao's and Jailhouse's model): their MMIO ranges are mapped
/// into its stage 2, and their SPIs are delivered to it as hardware interrupts: Keel takes the
/// physical SPI (priority drop only: EOImode 1), makes the virtual SPI of the same INTID pending
/// with the list register's HW bit and the physical INTID, and the guest's deactivation of the
/// virtual one deactivates the physical line, as KVM forwards an interrupt. The guest's enable
/// of the virtual SPI is the physical one's (`mirrorEnables`).
enum Passthrough {
    /// Bits of the SPI banks (bank b: INTIDs 32 + 32b ...) that VM `vm` owns.
    @inline(__always)
    static func owned(_ vm: VMHandle, bank b: Int) -> UInt32 {
        b >= 0 && b < VirtualDistributor.spiCount / 32 ? vm.state.passedSPIs[b] : 0
    }

    /// The VM owning physical SPI `intid`, if any: the running vCPU's (it is routed to that
    /// VM's CPU), else any other's.
    static func owner(of intid: UInt32, running vcpu: VCPUHandle) -> VMHandle? {
        guard intid >= 32, intid < UInt32(VirtualDistributor.intidLimit) else { return nil }
        let b = Int(intid / 32) - 1, bit = UInt32(1) << (intid & 31)
        let mine = vcpu.state.vmHandle
        if owned(mine, bank: b) & bit != 0 { return mine }
        for id in 0..<VMs.capacity where owned(VMHandle(id: id), bank: b) & bit != 0 { return VMHandle(id: id) }
        return nil
    }

    /// At boot: give VM `vm` the SPI `intid` (checked by the VM table), routed to `cpu`.
    static func give(_ vm: VMHandle, intid: UInt32, cpu: Int) {
        let b = Int(intid / 32) - 1
        guard b >= 0, b < VirtualDistributor.spiCount / 32 else { return }
        vm.state.passedSPIs[b] |= UInt32(1) << (intid & 31)
        GIC.routeShared(intid, toCPU: cpu)
    }

    /// After the guest wrote an enable register of SPI bank `bank` (under the vGIC lock): the
    /// physical SPIs it owns there follow its enables. Physical SPIs the guest no longer holds
    /// in any way (cleared while latched) are deactivated, so the line can fire again.
    static func mirrorEnables(_ vm: VMHandle, bank: IRQBankHandle, firstINTID: Int) {
        let mask = owned(vm, bank: firstINTID / 32 - 1)
        guard mask != 0 else { return }
        var bits = mask
        while bits != 0 {
            let slot = bits.trailingZeroBitCount
            bits &= bits - 1
            GIC.setSharedEnabled(UInt32(firstINTID + slot), bank.state.enabled & (1 << UInt32(slot)) != 0)
        }
        dropUnheld(bank: bank, mask: mask, firstINTID: firstINTID)
    }

    /// Forwarded SPIs of `mask` Keel marked hardware but that are neither pending nor in a list
    /// register any more (the guest cleared them): their physical twins deactivated. Caller
    /// holds the vGIC lock.
    static func dropUnheld(bank: IRQBankHandle, mask: UInt32, firstINTID: Int) {
        var stale = bank.state.hardware & ~bank.state.pending & ~bank.state.inLR & mask
        bank.state.hardware &= ~stale
        while stale != 0 {
            let slot = stale.trailingZeroBitCount
            stale &= stale - 1
            GIC.deactivateShared(UInt32(firstINTID + slot))
        }
    }

    /// SYSTEM_RESET: every forwarded SPI of the VM inactive again physically, its latches gone
    /// with the distributor's reset. Caller holds the vGIC lock.
    static func reset(_ vm: VMHandle) {
        for b in 0..<VirtualDistributor.spiCount / 32 {
            let mine = owned(vm, bank: b), held = vm.state.vgic.spis[b].hardware
            var bits = mine
            while bits != 0 {
                let slot = bits.trailingZeroBitCount
                bits &= bits - 1
                let intid = UInt32(32 * (b + 1) + slot)
                GIC.setSharedEnabled(intid, false)  // as the reset guest's enable
                if held & (1 << UInt32(slot)) != 0 { GIC.deactivateShared(intid) }
            }
        }
    }
}
