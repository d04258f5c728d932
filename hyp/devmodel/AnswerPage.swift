import KeelHW

/// A device-model VM's answer page (docs/device-model.md, `KEEL_DM_ANSWERS`): a page of its own
/// RAM where it answers the request in slot n of its request page by writing slot n here, the
/// odd sequence last with release order, instead of making `KEEL_DM_COMPLETE`. The parked vCPU
/// looks here itself, so a polling device model completes with neither a system call nor a
/// hypercall. The device model may write anything at any time: each field is read exactly once,
/// every address is checked against its RAM, and only an answer naming the open request counts.
enum AnswerPage {
    static let size = 4096

    /// The answer in slot `slot` of `server`'s page to the request with odd sequence `open`:
    /// the read value and the device model's pickup time; nil when it has no page or the slot
    /// names another request.
    @inline(__always)
    static func answer(_ server: VMHandle, slot: Int, open: UInt32) -> (value: UInt64, pickedUp: UInt64)? {
        let page = server.answersWord.loadAcquire()
        guard page != 0 else { return nil }
        // Its RAM's place is fixed from boot; the page number was checked to lie inside it.
        let ram = GuestMemory(server.state.layout)
        let at = ram.ramIPA &+ UInt64(page - 1) &* UInt64(size) &+ UInt64(truncatingIfNeeded: RequestPageLayout.slotSize &* (slot & (RequestPageLayout.slots - 1)))
        guard ram.loadAcquire32(at &+ UInt64(DeviceModel.Answer.sequence)) == open,
              let value = ram.load64(at &+ UInt64(DeviceModel.Answer.value)),
              let pickedUp = ram.load64(at &+ UInt64(DeviceModel.Answer.pickedUp)) else { return nil }
        return (value, pickedUp)
    }
}

/// The event stream while a vCPU waits in WFE for a polling device model: an event about every
/// 10 µs, so that the wait looks at its deadline, its stop request and the interrupts pending at
/// this CPU (which do not end a WFE while Keel masks them) without any other wake-up.
enum EventStream {
    /// Starts it; returns what `stop` puts back.
    static func start() -> UInt64 {
        let saved = read_cnthctl_el2()
        let ticks = max(read_cntfrq_el0() / 100_000, 2)
        // Bit b going from 0 to 1: every 2^(b+1) ticks, the largest such period not above `ticks`.
        let bit = min(62 - ticks.leadingZeroBitCount, 15)
        write_cnthctl_el2(saved & ~UInt64(0xFC) | CNTHCTL.evnten.rawValue | CNTHCTL.evnti(bit).rawValue)
        return saved
    }

    static func stop(_ saved: UInt64) {
        write_cnthctl_el2(saved)
    }
}
