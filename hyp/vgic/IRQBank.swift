/// Thirty-two virtual interrupts' state, kept the way the distributor's registers lay it out
/// (one bit per interrupt), so register emulation is a mask operation.
///
/// A vCPU has one bank for its SGIs and PPIs (INTIDs 0-31); a VM has banks for its SPIs.
struct IRQBank {
    var enabled: UInt32 = 0
    /// Latched pending state: edges, ISPENDR writes, SGIs, forwarded hardware interrupts.
    var pending: UInt32 = 0
    /// Line of a level-sensitive emulated device: pending while high.
    var level: UInt32 = 0
    var active: UInt32 = 0
    /// ICFGR: set for edge-triggered.
    var edge: UInt32 = 0
    var group1: UInt32 = 0
    /// In a list register of the vCPU it targets (the CPU interface owns its state then).
    var inLR: UInt32 = 0
    /// Forwarded physical interrupt (same INTID): the list register links the two.
    var hardware: UInt32 = 0
    /// Pending cleared (ICPENDR) while in a list register: the next refill takes the
    /// register's pending state back instead of leaving the guest an interrupt it cancelled.
    var withdrawn: UInt32 = 0
    var priority: [32 of UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    /// SPIs: the vCPUs it may go to, one bit each (GICv2 ITARGETSR; GICv3 IROUTER as a bit).
    var target: [32 of UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]

    /// What asks to be delivered: pending or a high line, enabled, not yet in a list register.
    var deliverable: UInt32 { (pending | level) & enabled & ~inLR }
}

/// A VM's distributor state.
struct VirtualDistributor {
    /// GICD_CTLR enables: bit 0 group 0, bit 1 group 1.
    var ctlr: UInt32 = 0
    var spis: [2 of IRQBank] = [IRQBank(), IRQBank()]
    /// Protects every bank of the VM (its vCPUs' too): vCPUs on other CPUs raise SGIs and
    /// program SPIs while this one runs.
    var lock: UInt32 = 0

    static let spiCount = 64
    static let intidLimit = 32 + spiCount

    /// Groups the guest enabled, as a mask to apply to the bits of a bank whose group-1 bits are
    /// `group1`. (Takes the word, not the bank: a bank is 96 bytes to copy.)
    @inline(__always)
    func groupMask(group1: UInt32) -> UInt32 {
        (ctlr & 1 != 0 ? ~group1 : 0) | (ctlr & 2 != 0 ? group1 : 0)
    }
}

/// A vCPU's side of the vGIC: its private interrupts and its list registers.
struct VGICCPU {
    var bank = IRQBank()
    /// GICv2: for each SGI, the vCPUs that sent it and are still waiting (one bit each).
    var sgiSources: [16 of UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    /// INTID held by each list register Keel filled, and which ones those are.
    var lrINTID: [16 of UInt16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    var usedLRs: UInt32 = 0
    /// Set (by any CPU) when this vCPU may have something new to deliver.
    var dirty: UInt32 = 0
    /// Underflow maintenance is on: more was deliverable than list registers.
    var underflow = false
    /// GICv3 GICR_WAKER.ProcessorSleep as the guest wrote it.
    var processorSleep = true
}
