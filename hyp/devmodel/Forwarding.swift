import KeelHW

/// A frontend's access to one of its virtio transports, handed to the device-model VM that
/// serves it (docs/device-model.md, "The flow of one access"): posted in the server's request
/// page, in the slot of this physical CPU, announced with the request interrupt (INTID 88)
/// unless the server polls, and the vCPU parked, its CPU in WFI (WFE when the server polls),
/// until the server completes it (by hypercall, or in its answer page),
/// the timeout passes, the server stops or this VM is stopped. Its other vCPUs run on.
enum Forwarding {
    /// What became of a trapped access in the transport window.
    enum Outcome {
        /// No transport there: the access gets the external abort of any unbacked address.
        case noTransport
        /// Answered (a read's value in its register): step over the instruction.
        case done
        /// The vCPU was told to stop while parked: leave it as it is, the exit path stops it.
        case stopped
    }

    /// What the wait for an answer ended with.
    private enum Answer {
        case value(UInt64)
        case failed
        case stopped
    }

    static let statusRegister = UInt32(DeviceModel.MMIO.status)
    static let needsReset = UInt64(DeviceModel.MMIO.deviceNeedsReset)
    static let interruptStatusRegister = VirtqueueLayout.Register.interruptStatus

    /// The trapped access `access` at `ipa` (aligned to its size: checked by the caller), after
    /// every emulated device missed it. Transports past the VM's own count are not there (an
    /// external abort, as for any address outside the VM), so a guest probing the window finds
    /// exactly the transports its device tree lists.
    @inline(never)
    static func access(_ vcpu: VCPUHandle, ipa: UInt64, access: MMIOAccess) -> Outcome {
        let vm = vcpu.state.vmHandle
        let count = vm.state.dm.transportCount
        guard ipa >= DeviceModel.transportIPA, ipa - DeviceModel.transportIPA < UInt64(count) * DeviceModel.transportSize else {
            return .noTransport
        }
        let index = nospec(Int((ipa - DeviceModel.transportIPA) / DeviceModel.transportSize), below: count)
        let offset = UInt32(truncatingIfNeeded: (ipa - DeviceModel.transportIPA) % DeviceModel.transportSize)
        let written = access.isWrite ? access.storedValue(register: vcpu.state.x(access.register)) : 0
        let answer = transact(vcpu, transport: index, offset: offset, bytes: access.bytes, write: access.isWrite, value: written)
        guard let answer else { return .stopped }
        if !access.isWrite { vcpu.state.setX(access.register, access.loadedValue(answer)) }
        vcpu.state.trace.width = UInt8(truncatingIfNeeded: access.bytes)
        vcpu.state.trace.register = UInt8(truncatingIfNeeded: access.register)
        vcpu.state.trace.flags = access.isWrite ? 1 : 0
        return .done
    }

    /// One register access of transport `index`; the read value (all ones when it failed), or
    /// nil when the vCPU was stopped meanwhile.
    private static func transact(_ vcpu: VCPUHandle, transport index: Int, offset: UInt32, bytes: Int, write: Bool,
                                 value: UInt64) -> UInt64? {
        let vm = vcpu.state.vmHandle
        let transport = vm.state.dm.transports[index]
        let server = VMHandle(id: transport.server)
        let bit = UInt32(1) << UInt32(index)
        if vm.brokenWord.loadAcquire() & bit != 0 {
            // Given up on: only the frontend's reset (Status 0) brings it back, and only with
            // its device model running again; until then nothing reaches the device model.
            guard write && offset == statusRegister && value == 0 && running(server) else {
                let read: UInt64 = offset == statusRegister ? needsReset : failedRead(offset)
                vcpu.state.noteAction(write ? .mmioWrite : .mmioRead, arg0: write ? value : read)
                // A blk request made after the give-up would otherwise wait forever for its
                // notify (Linux's virtio_blk has no timeout): it fails now, as those before did.
                if write && offset == VirtqueueLayout.Register.queueNotify && bytes == 4 {
                    DeviceModelFailure.notifiedWhileFailed(vm, transport: index, from: vcpu)
                }
                return write ? 0 : read
            }
            DeviceModelFailure.repair(vm, transport: index)
        }
        if write { QueueTracking.noteWrite(vm, transport: index, offset: offset, bytes: bytes, value: value) }
        guard running(server) else {
            DeviceModelFailure.fail(vm, transport: index, from: vcpu)
            vcpu.state.noteAction(write ? .mmioWrite : .mmioRead, arg0: ~0)
            return failedRead(offset)
        }
        switch post(vcpu, transport: transport, offset: offset, bytes: bytes, write: write, value: value) {
        case .value(let v):
            let split = latency(vcpu.state.forward)
            vcpu.state.noteAction(.mmioForwarded, arg0: write ? value : v, arg1: split.split)
            vcpu.state.trace.detail = split.resume
            return v
        case .failed:
            DeviceModelFailure.fail(vm, transport: index, from: vcpu)
            let read = failedRead(offset)
            vcpu.state.noteAction(.mmioForwarded, arg0: read, arg1: TraceRecord.forwardedUnanswered)
            return read
        case .stopped:
            return nil
        }
    }

    /// What a read of a failed transport gives: all ones, but InterruptStatus says "used
    /// buffers" only (Keel put the IOERRs there). With the configuration-change bit of all ones,
    /// Linux's virtio_blk re-read the capacity (all ones too) and resized the disk instead of
    /// failing the read; a read parked when the device model went off is answered so too.
    static func failedRead(_ offset: UInt32) -> UInt64 {
        offset == interruptStatusRegister ? 1 : ~0
    }

    /// Whether device model `server` may answer: built and neither off nor being stopped or
    /// reset (a server that restarts has forgotten what it was asked).
    static func running(_ server: VMHandle) -> Bool {
        server.state.vcpuCount > 0 && server.stoppingWord.loadAcquire() == 0 && !server.state.poweredOff
    }

    /// Posts the request in this CPU's slot of the server's page and waits for its answer.
    private static func post(_ vcpu: VCPUHandle, transport: Transport, offset: UInt32, bytes: Int, write: Bool,
                             value: UInt64) -> Answer {
        let cpu = vcpu.state.physicalCPU
        let page = RequestPageHandle(vm: transport.server)
        let at = RequestPageLayout.slot(cpu)
        let sequence = page.word(at + RequestPageLayout.slotSequence)
        // Even: only this CPU posts here, and every request it posted was ended (made even) by
        // whoever resolved it. Odd would be a Keel bug; skip past it rather than reuse it.
        let old = sequence.loadAcquire()
        let open = old & 1 == 0 ? old &+ 1 : old &+ 2
        page.store32(at + RequestPageLayout.slotDevice, UInt32(truncatingIfNeeded: transport.device))
        page.store32(at + RequestPageLayout.slotOffset, offset)
        page.store8(at + RequestPageLayout.slotSize8, UInt8(truncatingIfNeeded: bytes))
        page.store8(at + RequestPageLayout.slotWrite, write ? 1 : 0)
        page.store8(at + RequestPageLayout.slotVCPU, UInt8(truncatingIfNeeded: vcpu.state.id))
        page.store8(at + RequestPageLayout.slotVCPU + 1, 0)
        page.store64(at + RequestPageLayout.slotData, write ? value : 0)
        let posted = read_cntvct_el0()
        page.store64(at + RequestPageLayout.slotPosted, posted)
        let token = Ticket.token(server: transport.server, sequence: open)
        vcpu.state.forward = ForwardedAccess(ticket: Ticket.idle, value: 0, posted: posted, pickedUp: posted, completed: posted, resumed: posted)
        // The ticket before the odd sequence: a COMPLETE that sees the request finds its token.
        vcpu.ticketWord.storeRelease(token)
        // Release: every field above is visible before the sequence says the slot is open.
        sequence.storeRelease(open)
        let server = VMHandle(id: transport.server)
        let polls = page.load32(RequestPageLayout.flags) & DeviceModel.Page.flagPolling != 0
        if !polls {
            VGIC.raiseEdge(server, intid: Int(DeviceModel.requestINTID), from: vcpu)
        }
        return park(vcpu, token: token, sequence: sequence, open: open, server: server, slot: cpu, polls: polls,
                    deadline: posted &+ transport.timeoutTicks)
    }

    /// Waits for the answer to the request with `token`: COMPLETE's kick (in `state`), or the
    /// device model's answer in slot `slot` of its answer page (`AnswerPage`), which this CPU
    /// takes itself; the timer at the deadline (and every few milliseconds, to look at the server
    /// again); a stop request's kick. It waits in WFI, or, when the server polls, in WFE, which
    /// the device model's `sev` after an answer ends at once (and the event stream every 10 µs:
    /// a masked interrupt does not end a WFE). Interrupts that arrive meanwhile are taken as the
    /// IRQ exit takes them, so the guest finds them on its way back (a pending one left
    /// unacknowledged would end every later WFI at once).
    private static func park(_ vcpu: VCPUHandle, token: UInt32, sequence: AtomicWord, open: UInt32, server: VMHandle, slot: Int,
                             polls: Bool, deadline: UInt64) -> Answer {
        let recheck = max(read_cntfrq_el0() / 100, 1)  // 10 ms
        let events = polls ? EventStream.start() : 0
        defer { if polls { EventStream.stop(events) } }
        // Once for the WFE wait (its ISR_EL1 must see what the guest left pending); WFI, each time.
        if polls { GIC.refreshBeforeWait() }
        while true {
            let state = vcpu.ticketWord.loadAcquire()
            if state == Ticket.done {
                vcpu.state.forward.resumed = read_cntvct_el0()
                let value = vcpu.state.forward.value
                vcpu.ticketWord.storeRelease(Ticket.idle)
                return .value(value)
            }
            // Claimed from the ticket as COMPLETE claims it: a COMPLETE of the same request
            // racing this one loses (-2), and a claimed ticket here means COMPLETE's value follows.
            if let answer = AnswerPage.answer(server, slot: slot, open: open), vcpu.ticketWord.compareExchange(token, Ticket.claimed) {
                let now = read_cntvct_el0()
                vcpu.state.forward.pickedUp = answer.pickedUp
                vcpu.state.forward.completed = now
                vcpu.state.forward.resumed = now
                sequence.storeRelease(open &+ 1)
                vcpu.ticketWord.storeRelease(Ticket.idle)
                return .value(answer.value)
            }
            let now = read_cntvct_el0()
            let stop = vcpu.stopWord.loadAcquire() != 0
            if stop || !running(server) || now >= deadline {
                if vcpu.ticketWord.compareExchange(token, Ticket.abandoned) {
                    sequence.storeRelease(open &+ 1)
                    vcpu.ticketWord.storeRelease(Ticket.idle)
                    return stop ? .stopped : .failed
                }
                continue  // COMPLETE claimed it: its value follows within a few instructions
            }
            if polls {
                if read_isr_el1() != 0 { takeInterrupts(vcpu) }
                if vcpu.ticketWord.loadAcquire() == token { keel_wfe() }
                continue
            }
            let wait = min(deadline - now, recheck, 0x7FFF_FFFF)
            write_cnthp_tval_el2(wait)
            write_cnthp_ctl_el2(1)
            keel_isb()
            GIC.refreshBeforeWait()
            if vcpu.ticketWord.loadAcquire() == token { keel_wfi() }
            write_cnthp_ctl_el2(0)
            keel_isb()
            takeInterrupts(vcpu)
        }
    }

    /// Every interrupt pending at this CPU's GIC, handled as `handleLowerIRQ` handles one: the
    /// guest's timers and passed-through SPIs raised for it, Keel's kick and alarm retired.
    /// List-register maintenance cannot be served while the guest is away: its underflow
    /// interrupt is turned off (a level line that would end every wait) and the refill done on
    /// the way back in.
    private static func takeInterrupts(_ vcpu: VCPUHandle) {
        while true {
            let iar = GIC.acknowledge()
            let intid = GIC.intid(of: iar)
            guard intid < GIC.spurious else { return }
            routePhysicalIRQ(vcpu, iar: iar, intid: intid)
            if intid == GIC.maintenancePPI {
                vcpu.state.vgic.underflow = false
                GIC.setUnderflowInterrupt(false)
            }
        }
    }

    /// The latency split of the answered request, for the trace (`TraceRecord.Action.mmioForwarded`):
    /// ticks from posting to the device model's pickup (by its own word) in the low half of
    /// the result, from the pickup to Keel's completion in the high half, each saturated at
    /// 2^32 - 1 (and 0 for a pickup the device model dated outside that span); and the ticks from
    /// the completion to the vCPU seeing it.
    static func latency(_ f: ForwardedAccess) -> (split: UInt64, resume: UInt32) {
        let pickedUp = min(max(f.pickedUp, f.posted), f.completed)
        func ticks(_ from: UInt64, _ to: UInt64) -> UInt64 { to >= from ? min(to - from, 0xFFFF_FFFF) : 0 }
        return (ticks(f.posted, pickedUp) | ticks(pickedUp, f.completed) << 32,
                UInt32(truncatingIfNeeded: ticks(f.completed, f.resumed)))
    }
}
