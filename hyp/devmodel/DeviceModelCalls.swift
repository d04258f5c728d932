import KeelHW

/// The device-model hypercalls (docs/device-model.md, docs/hypercalls.md), for the VMs that
/// serve devices; every other VM gets NOT_SUPPORTED, as for a function Keel does not have.
/// Arguments are whole x registers (a read value and a counter are 64 bits).
enum DeviceModelCalls {
    /// No such open request, or no such device: SMCCC INVALID_PARAMETERS.
    static let invalid: Int64 = -2

    /// The call's result, for x0.
    @inline(never)  // off the null hypercall's path
    static func call(_ vcpu: VCPUHandle, _ function: UInt32) -> Int64 {
        let vm = vcpu.state.vmHandle
        guard vm.state.dm.deviceCount > 0 else { return SMCCC.notSupported }
        switch function {
        case SMCCC.keelDMComplete:
            return complete(vcpu, slot: vcpu.state.x(1), sequence: vcpu.state.x(2), value: vcpu.state.x(3), pickedUp: vcpu.state.x(4))
        case SMCCC.keelDMNotify:
            return notify(vcpu, device: vcpu.state.x(1))
        case SMCCC.keelDMPolling:
            return polling(vcpu, on: vcpu.state.x(1))
        case SMCCC.keelDMAnswers:
            return answers(vcpu, ipa: vcpu.state.x(1))
        default:
            return SMCCC.notSupported
        }
    }

    /// COMPLETE: the open request with odd `sequence` in slot `slot` of the caller's request
    /// page gets `value` and its vCPU is woken. The caller's own page, so only a request for a
    /// device it serves; the sequence and the parked vCPU's ticket must both still name it, and
    /// the ticket is claimed atomically, so a completion racing the vCPU's timeout (or a second
    /// completion) loses cleanly: -2.
    private static func complete(_ vcpu: VCPUHandle, slot: UInt64, sequence: UInt64, value: UInt64, pickedUp: UInt64) -> Int64 {
        guard slot < UInt64(min(RequestPageLayout.slots, VCPUs.count)), sequence <= 0xFFFF_FFFF, sequence & 1 == 1 else { return invalid }
        let n = nospec(Int(slot), below: min(RequestPageLayout.slots, VCPUs.count))
        let server = vcpu.state.vm
        let open = UInt32(truncatingIfNeeded: sequence)
        let word = RequestPageHandle(vm: server).word(RequestPageLayout.slot(n) + RequestPageLayout.slotSequence)
        guard word.loadAcquire() == open else { return invalid }
        let parked = VCPUHandle(index: n)
        guard parked.ticketWord.compareExchange(Ticket.token(server: server, sequence: open), Ticket.claimed) else { return invalid }
        parked.state.forward.value = value
        parked.state.forward.pickedUp = pickedUp
        parked.state.forward.completed = read_cntvct_el0()
        word.storeRelease(open &+ 1)
        parked.ticketWord.storeRelease(Ticket.done)
        // Its CPU waits in WFI, or in WFE when this VM polls (never this one: this vCPU is not
        // parked).
        keel_sev()
        if n != vcpu.state.physicalCPU { GIC.kick(cpu: n) }
        return 0
    }

    /// NOTIFY: the caller's device `device` used buffers: its frontend's transport interrupt.
    private static func notify(_ vcpu: VCPUHandle, device: UInt64) -> Int64 {
        let vm = vcpu.state.vmHandle
        let count = vm.state.dm.deviceCount
        guard device < UInt64(count) else { return invalid }
        let served = vm.state.dm.devices[nospec(Int(device), below: count)]
        let frontend = VMHandle(id: served.frontend)
        if frontend.state.vcpuCount > 0 && !frontend.state.poweredOff {
            VGIC.raiseEdge(frontend, intid: Int(DeviceModel.firstTransportINTID) + served.transport, from: vcpu)
        }
        return 0
    }

    /// ANSWERS: the page of the caller's own RAM at `ipa` (4 KiB aligned, all of it inside the
    /// RAM) is where it writes answers (`DeviceModel.Answer`), which the parked vCPUs take
    /// without a COMPLETE; 0: no such page. The request page's flag bit 1 says which. Keel only
    /// ever reads it, each answer's fields once (`AnswerPage.answer`), and the page stays the
    /// caller's RAM: whatever it writes there reaches only the requests it serves.
    private static func answers(_ vcpu: VCPUHandle, ipa: UInt64) -> Int64 {
        let vm = vcpu.state.vmHandle
        guard ipa != 0 else {
            vm.answersWord.storeRelease(0)
            setFlag(vcpu, DeviceModel.Page.flagAnswers, false)
            return 0
        }
        let ram = vm.state.layout
        let size = UInt64(AnswerPage.size)
        guard ipa & (size - 1) == 0, ipa >= ram.ramIPA, ipa - ram.ramIPA < ram.ramSize, ram.ramSize - (ipa - ram.ramIPA) >= size,
              (ipa - ram.ramIPA) / size < 0xFFFF_FFFF else { return invalid }
        vm.answersWord.storeRelease(UInt32(truncatingIfNeeded: (ipa - ram.ramIPA) / size) + 1)
        setFlag(vcpu, DeviceModel.Page.flagAnswers, true)
        return 0
    }

    /// POLLING: bit 0 of the request page's flags; while set, Keel posts without the request
    /// interrupt and the parked vCPU waits in WFE.
    private static func polling(_ vcpu: VCPUHandle, on: UInt64) -> Int64 {
        guard on <= 1 else { return invalid }
        setFlag(vcpu, DeviceModel.Page.flagPolling, on == 1)
        return 0
    }

    /// Sets or clears `flag` in the caller's request page, leaving the other flags as they are
    /// (the caller's vCPUs may make both calls at once).
    private static func setFlag(_ vcpu: VCPUHandle, _ flag: UInt32, _ on: Bool) {
        let flags = RequestPageHandle(vm: vcpu.state.vm).word(RequestPageLayout.flags)
        var old = flags.loadAcquire()
        while !flags.compareExchange(old, on ? old | flag : old & ~flag) { old = flags.loadAcquire() }
    }
}
