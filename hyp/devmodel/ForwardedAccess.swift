import KeelHW

/// The forwarded MMIO access a vCPU is parked on, in its vCPU slot. The vCPU (its own CPU) and
/// the device model's COMPLETE (another CPU) race for it through `ticket`, so that a completion
/// and a timeout resolve it exactly once:
///
///     idle --post--> token --COMPLETE claims--> claimed --value stored--> done --vCPU--> idle
///                          \--its answer in the answer page: the vCPU claims--> claimed --> idle
///                          \--timeout, stop or device model off: the vCPU claims--> abandoned --> idle
///
/// Only the claimant writes the answer and ends the slot's request in the request page (its
/// sequence made even), so a late COMPLETE finds neither its token nor an odd sequence.
struct ForwardedAccess {
    /// `Ticket`: 0, a request's token (odd), or one of the even states.
    var ticket: UInt32 = 0
    /// The read value COMPLETE brought (an answer from the answer page goes straight back).
    var value: UInt64 = 0
    /// CNTVCT when Keel posted it, when the device model says it picked it up, when COMPLETE
    /// came and when the parked vCPU saw it: the trace's latency split.
    var posted: UInt64 = 0
    var pickedUp: UInt64 = 0
    var completed: UInt64 = 0
    var resumed: UInt64 = 0
}

enum Ticket {
    static let idle: UInt32 = 0
    static let claimed: UInt32 = 2
    static let done: UInt32 = 4
    static let abandoned: UInt32 = 6

    /// The token of the open request with odd `sequence` in VM `server`'s request page: odd, so
    /// never one of the states. Its VM bits tell a late COMPLETE from another device model's
    /// request the vCPU posted since; the sequence bits, an old request from the current one
    /// (until the slot's sequence wraps 2^27 requests later).
    static func token(server: Int, sequence: UInt32) -> UInt32 {
        UInt32(truncatingIfNeeded: server & 0xF) << 28 | sequence & 0x0FFF_FFFF
    }

    static func server(of token: UInt32) -> Int { Int(token >> 28) }
}
