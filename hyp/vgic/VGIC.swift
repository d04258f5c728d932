import KeelHW

/// The virtual GIC's core, the same for GICv2 and GICv3: raising virtual interrupts, and moving
/// them into and out of the list registers of the CPU a vCPU is pinned to.
///
/// Software state lives in `IRQBank`s under the VM's vGIC lock. Before Keel re-enters a vCPU
/// whose state changed (`dirty`), `flush` retires the list registers the guest has finished
/// with, then fills free ones with the highest-priority deliverable interrupts. When more are
/// deliverable than there are list registers, the underflow maintenance interrupt brings the
/// vCPU back to refill them.
enum VGIC {
    // MARK: Locking and lookup

    static func lock(_ vm: VMHandle) { vm.vgicLock.lock() }
    static func unlock(_ vm: VMHandle) { vm.vgicLock.unlock() }

    /// The bank holding `intid` as seen from `vcpu` (its own private bank for 0-31), or nil
    /// for an INTID the VM does not have.
    static func bank(_ vcpu: VCPUHandle, _ intid: Int) -> IRQBankHandle? {
        if intid < 32 { return IRQBankHandle(privateOf: vcpu) }
        guard intid < VirtualDistributor.intidLimit else { return nil }
        return spiBank(vcpu.state.vmHandle, intid)
    }

    /// The bank of `vm` holding SPI `intid` (32 up to `VirtualDistributor.intidLimit`, checked
    /// by the caller and again by the handle).
    @inline(__always)
    private static func spiBank(_ vm: VMHandle, _ intid: Int) -> IRQBankHandle {
        IRQBankHandle(spiOf: vm, intid)
    }

    /// `bank` for an INTID a guest's register access chose: nil beyond the VM's INTIDs, and an
    /// index that has passed a speculation barrier after that check (`nospec` alone would turn
    /// an out-of-range INTID into 0, the vCPU's own SGI bank).
    @inline(__always)
    static func guestBank(_ vcpu: VCPUHandle, _ intid: Int) -> IRQBankHandle? {
        guard intid >= 0, intid < VirtualDistributor.intidLimit else { return nil }
        return bank(vcpu, nospec(intid, below: VirtualDistributor.intidLimit))
    }

    // MARK: Raising interrupts

    /// A forwarded physical PPI (the timers) for the running vCPU: pending, linked to the
    /// physical one, which stays active until the guest deactivates this one.
    static func raiseHardware(_ vcpu: VCPUHandle, _ intid: UInt32) {
        let vm = vcpu.state.vmHandle
        lock(vm)
        let bit = UInt32(1) << (intid & 31)
        vcpu.state.vgic.bank.pending |= bit
        vcpu.state.vgic.bank.hardware |= bit
        vcpu.state.vgic.dirty = 1
        unlock(vm)
    }

    /// The forwarded timer's fast path, tried before `raiseHardware`: when nothing else waits
    /// for this vCPU (not dirty, no underflow: the last refill placed everything deliverable),
    /// the PPI is enabled in an enabled group, and the list register that held its previous
    /// instance is empty again (the guest deactivated it), the new instance goes straight into
    /// that register. In that state a full `flush` would retire the register, find this PPI the
    /// only deliverable interrupt and place it, so the outcome is the same, without the scan.
    /// False (nothing changed) otherwise.
    static func raiseHardwareFast(_ vcpu: VCPUHandle, _ intid: UInt32) -> Bool {
        guard vcpu.state.vgic.dirty == 0, !vcpu.state.vgic.underflow else { return false }
        let vm = vcpu.state.vmHandle
        let bit = UInt32(1) << (intid & 31)
        lock(vm)
        defer { unlock(vm) }
        // Safety: the bank is a stored property of the vCPU in its static pool. A pointer, not a
        // copy: copying the bank's arrays was most of this path's cost.
        let bank = IRQBankHandle(privateOf: vcpu)
        guard bank.state.enabled & bank.state.inLR & vm.state.vgic.groupMask(group1: bank.state.group1) & bit != 0,
              bank.state.pending & bit == 0 else {
            return false
        }
        var used = vcpu.state.vgic.usedLRs
        while used != 0 {
            let n = used.trailingZeroBitCount
            used &= used - 1
            guard vcpu.state.vgic.lrINTID[n] == UInt16(intid) else { continue }
            guard GIC.emptyListRegisters & (1 << UInt32(n)) != 0 else { return false }
            GIC.writeListRegister(n, ListRegister(
                virtualID: intid, state: .pending, priority: bank.state.priority[Int(intid & 31)],
                group1: bank.state.group1 & bit != 0, hardware: true, physicalID: intid,
                maintenanceOnEOI: false, sourceCPU: 0
            ))
            bank.state.active &= ~bit
            bank.state.hardware |= bit
            VirtualIRQLine.update(vcpu)
            vcpu.state.noteAction(.virtualIRQInjected, arg0: UInt64(intid))
            return true
        }
        return false
    }

    /// A passed-through SPI Keel acknowledged (its physical twin now active until the guest
    /// deactivates this one): pending in `vm`, linked to the physical INTID, and the vCPUs it
    /// targets told, if the guest enabled it.
    static func raiseShared(_ vm: VMHandle, intid: UInt32, from caller: VCPUHandle) {
        let bank = spiBank(vm, Int(intid))
        let bit = UInt32(1) << (intid & 31)
        lock(vm)
        bank.state.pending |= bit
        bank.state.hardware |= bit
        let targets = enabledTargets(bank, bit: bit, slot: Int(intid & 31))
        unlock(vm)
        notify(vm, targets: targets, from: caller)
    }

    /// SGI `intid` from vCPU `source` to every vCPU of the VM in `targets` (one bit each).
    /// Only the targets' bits are visited, not every vCPU of the VM; the senders of each SGI
    /// are kept for a GICv2 guest only (GICD_SPENDSGIR, the list register's source field).
    static func raiseSGI(_ source: VCPUHandle, intid: UInt32, targets: UInt32) {
        let vm = source.state.vmHandle
        let bit = UInt32(1) << (intid & 15)
        var remaining = targets & allVCPUs(vm)
        var enabled: UInt32 = 0  // the targets that can take it: only those are told
        lock(vm)
        while remaining != 0 {
            let index = remaining.trailingZeroBitCount
            remaining &= remaining &- 1
            let target = vm.state.vcpu(index)
            target.state.vgic.bank.pending |= bit
            if GIC.version == .v2 {
                target.state.vgic.sgiSources[Int(intid & 15)] |= UInt8(truncatingIfNeeded: 1 << (source.state.id & 7))
            }
            if target.state.vgic.bank.enabled & bit != 0 { enabled |= 1 << UInt32(index) }
        }
        unlock(vm)
        notify(vm, targets: enabled, from: source)
    }

    /// One bit per vCPU of `vm`.
    @inline(__always)
    private static func allVCPUs(_ vm: VMHandle) -> UInt32 {
        UInt32(truncatingIfNeeded: (UInt64(1) << UInt64(vm.state.vcpuCount & 63)) &- 1)
    }

    /// The doorbell hypercall: SPI `SMCCC.doorbellINTID` pending in VM `target`, one of the
    /// caller's VM's peers (`VM.doorbellPeers`: itself, and the VMs the config lets it talk to),
    /// for the vCPUs it targets there, kicked only if the VM enabled it. SMCCC NOT_SUPPORTED
    /// for any other VM, whether it exists or not; INVALID_PARAMETERS for a peer that is off.
    @inline(never)  // off the null hypercall's path
    static func ringDoorbell(from caller: VCPUHandle, vm target: UInt64) -> Int64 {
        let peers = caller.state.vmHandle.state.doorbellPeers
        guard target < 32, peers & (1 << UInt32(target)) != 0, target < UInt64(VMs.capacity) else { return SMCCC.notSupported }
        let vm = VMHandle(id: nospec(Int(truncatingIfNeeded: target), below: VMs.capacity))
        guard vm.state.vcpuCount > 0, !vm.state.poweredOff else { return PSCI.invalidParameters }
        let intid = Int(SMCCC.doorbellINTID)
        let bit = UInt32(1) << UInt32(intid & 31)
        let bank = spiBank(vm, intid)
        lock(vm)
        bank.state.pending |= bit
        let targets = enabledTargets(bank, bit: bit, slot: intid & 31)
        unlock(vm)
        notify(vm, targets: targets, from: caller)
        caller.state.noteAction(.hypercall, arg0: UInt64(SMCCC.keelDoorbell), arg1: target)
        return PSCI.success
    }

    /// An edge-triggered SPI of Keel's own, `intid`, pending in `vm` (the device model's
    /// request interrupt, a virtio transport's), for the vCPUs it targets there, kicked only if
    /// the VM enabled it. `caller` may be of another VM. Nothing for a VM not built.
    static func raiseEdge(_ vm: VMHandle, intid: Int, from caller: VCPUHandle) {
        guard intid >= 32, intid < VirtualDistributor.intidLimit, vm.state.vcpuCount > 0 else { return }
        let bit = UInt32(1) << UInt32(intid & 31)
        let bank = spiBank(vm, intid)
        lock(vm)
        bank.state.pending |= bit
        let targets = enabledTargets(bank, bit: bit, slot: intid & 31)
        unlock(vm)
        notify(vm, targets: targets, from: caller)
    }

    /// The line of a level-sensitive emulated device of `vm` (an SPI) goes to `high`. `caller`
    /// is the vCPU doing it, of this VM or another (console input for one VM arrives on any
    /// VM's UART read): every target but the caller itself is kicked, if the SPI is enabled.
    static func setLevel(_ vm: VMHandle, intid: Int, high: Bool, from caller: VCPUHandle) {
        guard intid >= 32, intid < VirtualDistributor.intidLimit else { return }
        let bank = spiBank(vm, intid)
        let bit = UInt32(1) << UInt32(intid & 31)
        lock(vm)
        let was = bank.state.level & bit != 0
        if high { bank.state.level |= bit } else { bank.state.level &= ~bit }
        let targets = enabledTargets(bank, bit: bit, slot: intid & 31)
        unlock(vm)
        if high && !was { notify(vm, targets: targets, from: caller) }
    }

    /// The vCPUs an SPI would go to, or none while it is disabled: a disabled interrupt is only
    /// latched (pending, or its line high), and its enable (`IRQRegisters.write`, `.setEnable`)
    /// notifies then. Read under the lock, so that the enable sees the latch or this sees the
    /// enable. No kick, so no exit, for what the guest cannot take.
    @inline(__always)
    private static func enabledTargets(_ bank: IRQBankHandle, bit: UInt32, slot: Int) -> UInt32 {
        bank.state.enabled & bit != 0 ? UInt32(bank.state.target[slot]) : 0
    }

    /// Tell vCPUs in `targets` to look at their pending interrupts: the caller's own on the way
    /// back into its guest, the others through Keel's kick SGI to their CPUs.
    static func notify(_ vm: VMHandle, targets: UInt32, from caller: VCPUHandle) {
        var remaining = targets & allVCPUs(vm)  // only the targets' bits are visited
        while remaining != 0 {
            let index = remaining.trailingZeroBitCount
            remaining &= remaining &- 1
            let target = vm.state.vcpu(index)
            target.dirtyWord.storeRelease(1)
            if target != caller && target.powerState == .on { GIC.kick(cpu: target.state.physicalCPU) }
        }
    }

    /// Every vCPU of the VM: after distributor writes that may affect any of them.
    static func notifyAll(_ vm: VMHandle, from caller: VCPUHandle) {
        notify(vm, targets: UInt32(1 << vm.state.vcpuCount) - 1, from: caller)
    }

    // MARK: Timer lines

    /// The PPIs Keel forwards from the hardware: the virtual and EL1 physical timers.
    static let timerPPIs: UInt32 = 1 << GIC.virtualTimerPPI | 1 << GIC.physicalTimerPPI

    /// Which forwarded timer PPIs are asserted now, one bit per INTID: each timer's output level
    /// read from its control register. Only for the vCPU that runs on this CPU, where its EL1
    /// timers are live (Keel saves none of them).
    @inline(__always)
    static func timerLines() -> UInt32 {
        (TimerControl(rawValue: read_cntv_ctl_el0()).asserted ? 1 << GIC.virtualTimerPPI : 0)
            | (TimerControl(rawValue: read_cntp_ctl_el0()).asserted ? 1 << GIC.physicalTimerPPI : 0)
    }

    /// A forwarded timer interrupt latched in software (acknowledged by Keel, the physical one
    /// active, not yet in a list register: the guest had it disabled, or no register was free)
    /// whose line has gone low since: the guest disabled, masked or re-armed its timer. As on
    /// hardware, where a level interrupt is pending only while its line is high, it is no longer
    /// pending; the physical interrupt is deactivated so that the next assertion is seen (KVM
    /// does the same when the guest enables such an interrupt). Caller holds the lock.
    private static func dropLowTimers(_ vcpu: VCPUHandle, timerLines: UInt32) {
        let bank = IRQBankHandle(privateOf: vcpu)
        let low = bank.state.pending & bank.state.hardware & ~bank.state.inLR & timerPPIs & ~timerLines
        guard low != 0 else { return }
        bank.state.pending &= ~low
        bank.state.hardware &= ~low
        GIC.deactivatePrivate(low)
    }

    /// ISPENDR0 as `reader` sees the word of `owner`'s private interrupts, `value` the software
    /// state: the reader's own timer PPIs read as their line level, as KVM reports a mapped
    /// level interrupt (kvm-unit-tests' timer test reads it right after disabling the timer).
    /// When software still holds one whose line is low, the reader refills its list registers
    /// on the way back, which drops it. Other vCPUs' timers are not live here: their software
    /// state stands. Caller holds the lock.
    static func pendingWord(_ value: UInt64, of owner: VCPUHandle, reader: VCPUHandle) -> UInt64 {
        guard owner == reader else { return value }
        let lines = timerLines()
        let bank = IRQBankHandle(privateOf: owner)
        let hardware = bank.state.hardware & timerPPIs
        if (bank.state.pending | bank.state.inLR) & hardware & ~lines != 0 { owner.state.vgic.dirty = 1 }
        // A timer PPI the guest made pending itself (ISPENDR) stays pending.
        let timers = lines | bank.state.pending & ~bank.state.hardware & timerPPIs
        return value & ~UInt64(timerPPIs) | UInt64(timers)
    }

    // MARK: List registers

    /// Before re-entering `vcpu`: only when something changed for it.
    @inline(__always)
    static func beforeEntry(_ vcpu: VCPUHandle) {
        if vcpu.state.vgic.dirty != 0 { flush(vcpu) }
    }

    /// Retire finished list registers, then fill free ones, highest priority first.
    static func flush(_ vcpu: VCPUHandle) {
        let vm = vcpu.state.vmHandle
        lock(vm)
        vcpu.state.vgic.dirty = 0
        if refillOneSGI(vcpu) { return unlock(vm) }  // an SGI between vCPUs: no scan
        // The timers' lines matter only while a forwarded timer interrupt is held (latched or
        // in a list register, which `hardware` always marks): sampled only then.
        var lines = timerPPIs
        if vcpu.state.vgic.bank.hardware & timerPPIs != 0 {
            lines = timerLines()
            dropLowTimers(vcpu, timerLines: lines)
        }
        let elsewhere = sync(vcpu, timerLines: lines)
        if vcpu.state.vgic.usedLRs != 0 { retrigger(vcpu) }  // often all retired: no call
        var overflow = false
        while let (bank, slot, intid, more) = best(vcpu) {
            guard let n = freeListRegister(vcpu) else { overflow = true; break }
            place(vcpu, bank: bank, slot: slot, intid: intid, in: n)
            // An exit that did something else (a forwarded access whose failure raised this
            // interrupt, say) keeps that in its record; an IRQ exit shows the injection.
            if vcpu.state.trace.action == .none { vcpu.state.noteAction(.virtualIRQInjected, arg0: UInt64(intid)) }
            if !more { break }  // that was the only one: no second scan
        }
        if overflow != vcpu.state.vgic.underflow {
            vcpu.state.vgic.underflow = overflow
            GIC.setUnderflowInterrupt(overflow)
        }
        VirtualIRQLine.update(vcpu)
        unlock(vm)
        if elsewhere != 0 { notify(vm, targets: elsewhere, from: vcpu) }
    }

    /// List registers the guest has finished with (state invalid) go back to software: the
    /// interrupt is no longer active nor in a register. `timerLines` are the forwarded timer
    /// PPIs whose line is high now (`timerLines()`). Caller holds the lock.
    ///
    /// Returns the other vCPUs to notify: an SPI retired here that is deliverable again was
    /// pended anew while its finished instance still sat in this vCPU's register, for a vCPU it
    /// has been routed to since. That vCPU was told when it was pended, looked, and found it
    /// still in a register (`IRQBank.deliverable`); nothing else would make it look again.
    static func sync(_ vcpu: VCPUHandle, timerLines: UInt32) -> UInt32 {
        guard vcpu.state.vgic.usedLRs != 0 else { return 0 }
        let empty = GIC.emptyListRegisters
        var elsewhere: UInt32 = 0
        forEachUsedListRegister(vcpu) { n, intid, bank, bit in
            // Finished: empty, or invalid but held for its EOI maintenance interrupt (a level
            // line's): ICH_ELRSR_EL2 / GICH_ELRSR leave those out (State 0, HW 0, EOI 1) until
            // the register is rewritten, so the state itself says it.
            let lr = empty & (1 << UInt32(n)) != 0 ? nil : GIC.readListRegister(n)
            if let lr, lr.state != .invalid {
                // A forwarded timer interrupt the guest has not taken yet, whose timer it has
                // since disabled, masked or re-armed: its line is low, so on hardware it would no
                // longer be pending (KVM resamples it the same way when it folds list registers).
                let lineLow = lr.hardware && intid < 32 && timerPPIs & ~timerLines & bit != 0
                if lr.state == .pending && (bank.state.enabled & bit == 0 || bank.state.withdrawn & bit != 0 || lineLow) {
                    withdraw(vcpu, lr, n, intid: intid, bank: bank, bit: bit, drop: bank.state.withdrawn & bit != 0 || lineLow)
                } else if lr.state.isActive { bank.state.active |= bit } else { bank.state.active &= ~bit }
            } else {
                // Writing it clears the EOI maintenance condition it may have raised. One the
                // empty bits list raised none (they leave such registers out): it is invalid
                // already, and Keel reads only the registers it filled since.
                if lr != nil { GIC.writeListRegister(n, ListRegister(virtualID: 0, state: .invalid, priority: 0)) }
                vcpu.state.vgic.usedLRs &= ~(1 << UInt32(n))
                bank.state.inLR &= ~bit
                bank.state.active &= ~bit
                if bank.state.pending & bit == 0 { bank.state.hardware &= ~bit }
                if intid >= 32 && bank.state.deliverable & bit != 0 { elsewhere |= UInt32(bank.state.target[intid & 31]) }
            }
            bank.state.withdrawn &= ~bit
        }
        return elsewhere & ~(UInt32(1) << UInt32(vcpu.state.id))  // this vCPU looks next, in `flush`
    }

    /// A list register still only pending whose interrupt the guest disabled or cleared since
    /// it was placed: without this the CPU interface would deliver it anyway, and stale ones
    /// could hold every register (a guest that cleared them would never get its timer again).
    /// Disabled: the pending state goes back to software, to be placed once enabled again.
    /// Cleared (`drop`: by ICPENDR, or a timer line gone low): it is gone; a forwarded physical
    /// one is deactivated so it can fire again.
    private static func withdraw(_ vcpu: VCPUHandle, _ lr: ListRegister, _ n: Int, intid: Int,
                                 bank: IRQBankHandle, bit: UInt32, drop: Bool) {
        GIC.writeListRegister(n, ListRegister(virtualID: 0, state: .invalid, priority: 0))
        vcpu.state.vgic.usedLRs &= ~(1 << UInt32(n))
        bank.state.inLR &= ~bit
        if drop {
            if lr.hardware {
                bank.state.hardware &= ~bit
                if intid < 32 { GIC.deactivatePrivate(bit) } else { GIC.deactivateShared(lr.physicalID) }
            }
        } else if !lr.maintenanceOnEOI {  // a latched one (a level line is still in `level`)
            bank.state.pending |= bit
            if intid < 16 && GIC.version == .v2 {
                vcpu.state.vgic.sgiSources[intid] |= UInt8(truncatingIfNeeded: 1 << (lr.sourceCPU & 7))
            }
        }
    }

    /// `body(n, intid, bank, bit)` for each list register Keel filled: its number, the INTID in
    /// it, that INTID's bank and its bit there.
    @inline(__always)
    private static func forEachUsedListRegister(
        _ vcpu: VCPUHandle,
        _ body: (Int, Int, IRQBankHandle, UInt32) -> Void
    ) {
        var used = vcpu.state.vgic.usedLRs
        while used != 0 {
            let n = used.trailingZeroBitCount
            used &= used - 1
            let intid = Int(vcpu.state.vgic.lrINTID[n])
            guard let bank = bank(vcpu, intid) else { continue }
            body(n, intid, bank, UInt32(1) << UInt32(intid & 31))
        }
    }

    /// An edge (or SGI) that arrived again while its previous instance is still in a list
    /// register: add the pending state to that register.
    private static func retrigger(_ vcpu: VCPUHandle) {
        forEachUsedListRegister(vcpu) { n, intid, bank, bit in
            guard bank.state.pending & bank.state.enabled & bit != 0, bank.state.hardware & bit == 0 else { return }
            var lr = GIC.readListRegister(n)
            if lr.state == .active && virtualIRQsByHCR {
                // No pending+active registers where Keel signals the virtual IRQ itself (the
                // CPU interface's maintenance cannot tell when one becomes pending): the new
                // instance waits in software, and the register's EOI maintenance interrupt
                // says when the guest is done with the active one.
                if !lr.maintenanceOnEOI {
                    lr.maintenanceOnEOI = true
                    GIC.writeListRegister(n, lr)
                }
            } else if lr.state == .active {
                lr.state = .pendingActive
                GIC.writeListRegister(n, lr)
                consumePending(vcpu, bank: bank, intid: intid)
            }
        }
    }

    private static func freeListRegister(_ vcpu: VCPUHandle) -> Int? {
        let free = ~vcpu.state.vgic.usedLRs & ((1 << UInt32(GIC.listRegisterCount)) - 1)
        return free == 0 ? nil : free.trailingZeroBitCount
    }

    /// The highest-priority (lowest value) deliverable interrupt for `vcpu`: its private ones,
    /// then the VM's SPIs that target it.
    /// `more` says whether any other interrupt was deliverable too.
    private static func best(_ vcpu: VCPUHandle) -> (IRQBankHandle, Int, Int, more: Bool)? {
        let vm = vcpu.state.vmHandle
        let me = UInt8(truncatingIfNeeded: 1 << vcpu.state.id)
        var found: (IRQBankHandle, Int, Int, more: Bool)? = nil
        var seen = 0
        var bestPriority = 256
        for b in 0...VirtualDistributor.spiCount / 32 {
            guard let bank = bank(vcpu, b * 32) else { continue }
            var candidates = bank.state.deliverable & vm.state.vgic.groupMask(group1: bank.state.group1)
            while candidates != 0 {
                let slot = candidates.trailingZeroBitCount
                candidates &= candidates - 1
                if b > 0 {
                    // An SPI goes to the lowest-numbered vCPU it targets.
                    let mask = bank.state.target[slot]
                    guard mask != 0, mask & (0 &- mask) == me else { continue }
                }
                seen += 1
                let priority = Int(bank.state.priority[slot])
                if priority < bestPriority {
                    bestPriority = priority
                    found = (bank, slot, b * 32 + slot, more: false)
                }
            }
        }
        found?.more = seen > 1
        return found
    }

    private static func place(_ vcpu: VCPUHandle, bank: IRQBankHandle, slot: Int, intid: Int, in n: Int) {
        let bit = UInt32(1) << UInt32(slot)
        let hardware = bank.state.hardware & bit != 0
        let levelOnly = bank.state.pending & bit == 0
        var source: UInt8 = 0
        if intid < 16 && GIC.version == .v2 {
            let sources = vcpu.state.vgic.sgiSources[intid]
            source = UInt8(truncatingIfNeeded: sources.trailingZeroBitCount & 7)
        }
        let lr = ListRegister(
            virtualID: UInt32(intid), state: .pending, priority: bank.state.priority[slot],
            group1: bank.state.group1 & bit != 0, hardware: hardware, physicalID: UInt32(intid),
            // A level line is sampled again when the guest is done with it.
            maintenanceOnEOI: levelOnly && !hardware, sourceCPU: source
        )
        GIC.writeListRegister(n, lr)
        vcpu.state.vgic.lrINTID[n] = UInt16(intid)
        vcpu.state.vgic.usedLRs |= 1 << UInt32(n)
        bank.state.inLR |= bit
        if !levelOnly { consumePending(vcpu, bank: bank, intid: intid) }
    }

    /// The latched pending state moved into a list register. A GICv2 SGI stays pending while
    /// other senders still wait.
    private static func consumePending(_ vcpu: VCPUHandle, bank: IRQBankHandle, intid: Int) {
        let bit = UInt32(1) << UInt32(intid & 31)
        if intid < 16 && GIC.version == .v2 {  // a GICv3 guest's SGIs keep no senders (`raiseSGI`)
            let s = vcpu.state.vgic.sgiSources[intid]
            let remaining = s & (s &- 1)
            vcpu.state.vgic.sgiSources[intid] = remaining
            if remaining != 0 { return }
        }
        bank.state.pending &= ~bit
    }

    /// True when the vCPU has nothing to deliver but something that could wake it: a WFI may
    /// then really wait. A guest with no interrupt enabled never waits (nothing would end it).
    static func mayWait(_ vcpu: VCPUHandle) -> Bool {
        // A forwarded timer interrupt still waiting although the guest disabled or re-armed its
        // timer must not end the wait (it would not on hardware): refill, which drops it.
        let bank = IRQBankHandle(privateOf: vcpu)
        let held = (bank.state.pending | bank.state.inLR) & bank.state.hardware & timerPPIs
        if held != 0 && held & ~timerLines() != 0 { flush(vcpu) }
        if vcpu.state.vgic.dirty != 0 || vcpu.state.vgic.underflow { return false }
        let vm = vcpu.state.vmHandle
        var anyEnabled = vcpu.state.vgic.bank.enabled
        for b in 0..<VirtualDistributor.spiCount / 32 { anyEnabled |= vm.state.vgic.spis[b].enabled }
        guard anyEnabled != 0 else { return false }
        var used = vcpu.state.vgic.usedLRs & ~GIC.emptyListRegisters  // empty ones hold nothing pending
        while used != 0 {
            let n = used.trailingZeroBitCount
            used &= used - 1
            if GIC.readListRegister(n).state.isPending { return false }
        }
        return true
    }

    // MARK: A vCPU leaves or restarts

    /// The vCPU leaves its CPU for good: CPU_OFF, or stopped because its VM resets or goes off.
    /// What its list registers hold goes back to the VM's software state, so that nothing of
    /// the VM stays tied to a vCPU that no longer runs (before, an SPI left there was marked "in
    /// a list register" for good and never delivered again, whatever its routing): an SPI
    /// pending there stays pending for the VM (the vCPUs it targets are told), an active one
    /// becomes inactive, and every forwarded timer interrupt is deactivated. Runs on the vCPU's
    /// own CPU (the list registers are that CPU's).
    @_optimize(size)
    static func leaveCPU(_ vcpu: VCPUHandle) {
        let vm = vcpu.state.vmHandle
        lock(vm)
        let targets = releaseListRegisters(vcpu)
        let latched = vcpu.state.vgic.bank.pending & vcpu.state.vgic.bank.hardware
        vcpu.state.vgic.bank.pending &= ~latched
        vcpu.state.vgic.bank.hardware &= ~latched
        if latched != 0 { GIC.deactivatePrivate(latched) }
        if vcpu.state.vgic.underflow {
            vcpu.state.vgic.underflow = false
            GIC.setUnderflowInterrupt(false)
        }
        VirtualIRQLine.clear()
        unlock(vm)
        if targets != 0 { notify(vm, targets: targets, from: vcpu) }
    }

    /// Every list register Keel filled for `vcpu` emptied, its interrupt back in its bank: not
    /// in a register, not active; a latched one still pending stays pending (unless the guest
    /// cleared it meanwhile), a level one is in `level` already; a forwarded one is unlinked and
    /// its physical interrupt deactivated. Returns the vCPUs the SPIs among them target. Caller
    /// holds the lock. Private interrupts need no more: the vCPU's bank is reset when it starts.
    private static func releaseListRegisters(_ vcpu: VCPUHandle) -> UInt32 {
        var targets: UInt32 = 0
        var deactivate: UInt32 = 0
        forEachUsedListRegister(vcpu) { n, intid, bank, bit in
            let lr = GIC.readListRegister(n)
            GIC.writeListRegister(n, ListRegister(virtualID: 0, state: .invalid, priority: 0))
            bank.state.inLR &= ~bit
            bank.state.active &= ~bit
            if lr.hardware {
                bank.state.hardware &= ~bit
                // A passed-through device's SPI, or a timer PPI.
                if lr.physicalID >= 32 { GIC.deactivateShared(lr.physicalID) } else { deactivate |= 1 << (lr.physicalID & 31) }
            } else if intid >= 32 && lr.state.isPending && !lr.maintenanceOnEOI && bank.state.withdrawn & bit == 0 {
                bank.state.pending |= bit
            }
            bank.state.withdrawn &= ~bit
            if intid >= 32 { targets |= UInt32(bank.state.target[intid & 31]) }
        }
        vcpu.state.vgic.usedLRs = 0
        if deactivate != 0 { GIC.deactivatePrivate(deactivate) }
        return targets
    }

    /// A vCPU (re)starts: no interrupt of its own pending, active or in a register, the physical
    /// timer interrupts that were forwarded to its previous life deactivated, and its virtual
    /// CPU interface as at reset (no active priority, VMCR zero).
    @_optimize(size)
    static func resetCPU(_ vcpu: VCPUHandle) {
        let vm = vcpu.state.vmHandle
        lock(vm)
        _ = releaseListRegisters(vcpu)  // none when its previous life ended through `leaveCPU`
        for n in 0..<GIC.listRegisterCount { GIC.writeListRegister(n, ListRegister(virtualID: 0, state: .invalid, priority: 0)) }
        vcpu.state.vgic = VGICCPU()
        vcpu.state.vgic.bank.group1 = GIC.version == .v3 ? ~0 : 0
        vcpu.state.vgic.bank.edge = 0xFFFF  // SGIs are edge-triggered
        // SPIs of the VM may already wait for it (raised while it was off): look on entry.
        vcpu.state.vgic.dirty = 1
        GIC.setUnderflowInterrupt(false)
        VirtualIRQLine.clear()
        GIC.resetVirtualCPUInterface()
        GIC.deactivatePrivate(timerPPIs)
        unlock(vm)
    }

    /// SYSTEM_RESET: the VM's distributor as at boot, all of it but the lock word, which the
    /// caller holds (a whole-struct assignment would release it under the caller, letting a
    /// doorbell from another VM in while the banks are rewritten). Caller holds the lock.
    @_optimize(size)
    static func resetDistributor(_ vm: VMHandle) {
        Passthrough.reset(vm)
        let fresh = VirtualDistributor.reset(v3: GIC.version == .v3)
        vm.state.vgic.ctlr = fresh.ctlr
        vm.state.vgic.spis = fresh.spis
    }
}
