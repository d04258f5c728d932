import KeelHW

/// The firmware signals the guest's virtual IRQ itself (below): the imx8mp-evk one.
#if KEEL_BOARD_IMX8MP_EVK
let virtualIRQsByHCR = true
#else
let virtualIRQsByHCR = false
#endif

/// QEMU 10's `imx8mp-evk` leaves the GICv3's virtual IRQ outputs unconnected (its SoC model
/// wires each Cortex-A53's IRQ and FIQ inputs only): a list register holding a pending interrupt
/// never interrupts the guest there, so a guest waits for its timer for ever. On that board Keel
/// signals the guest's virtual IRQ with HCR_EL2.VI, which the architecture ORs with the GIC's
/// line: set while a list register holds a pending group-1 interrupt the guest's virtual CPU
/// interface would signal (group 1 enabled, priority above the guest's mask), clear otherwise.
/// Two maintenance interrupts bring Keel back when that changes while the guest runs: NPIE (no
/// list register is pending any more: the guest acknowledged them) while VI is set, and VGrp1EIE
/// (the guest enabled group 1) while one waits for that. On the real EVK, where the line is
/// wired, VI only repeats what the GIC signals.
///
/// A list register in the pending and active state is neither signalled nor seen by NPIE, so
/// on this board `VGIC.retrigger` makes none: an edge raised again while its previous instance
/// is active waits in software, and that register's EOI maintenance interrupt brings Keel back
/// when the guest deactivates it.
///
/// What this does not follow: the guest's running priority. A guest that unmasks IRQs inside a
/// handler while a lower-priority interrupt waits reads a spurious INTID until it finishes that
/// handler (Linux keeps IRQs masked in its handlers).
enum VirtualIRQLine {
    private static let vi: UInt64 = 1 << 7            // HCR_EL2.VI
    private static let npie: UInt64 = 1 << 3          // ICH_HCR_EL2.NPIE
    private static let vgrp1eie: UInt64 = 1 << 6      // ICH_HCR_EL2.VGrp1EIE
    private static let veng1: UInt64 = 1 << 1         // ICH_VMCR_EL2.VENG1

    /// After Keel changed `vcpu`'s list registers, on its CPU, before it enters the guest.
    @inline(__always)
    static func update(_ vcpu: VCPUHandle) {
        if virtualIRQsByHCR { refresh(vcpu) }
    }

    /// The vCPU leaves its CPU or restarts: nothing signalled, no maintenance asked for.
    @inline(__always)
    static func clear() {
        if virtualIRQsByHCR { set(signalled: false, waitingForGroup1: false) }
    }

    @inline(never)
    private static func refresh(_ vcpu: VCPUHandle) {
        guard GIC.version == .v3 else { return }
        let vmcr = read_ich_vmcr_el2()
        let groupEnabled = vmcr & veng1 != 0
        let mask = UInt8(truncatingIfNeeded: vmcr >> 24)  // VPMR
        var waiting = false
        var signalled = false
        var used = vcpu.state.vgic.usedLRs
        while used != 0 {
            let n = used.trailingZeroBitCount
            used &= used - 1
            let lr = GIC.readListRegister(n)
            // Pending only: the CPU interface signals no pending+active register, and NPIE
            // ignores them (`VGIC.retrigger` makes none on this board).
            guard lr.state == .pending, lr.group1 else { continue }
            waiting = true
            if groupEnabled && lr.priority < mask { signalled = true }
        }
        set(signalled: signalled, waitingForGroup1: waiting && !groupEnabled)
    }

    private static func set(signalled: Bool, waitingForGroup1: Bool) {
        let hcr = read_hcr_el2()
        let wantedHCR = signalled ? hcr | vi : hcr & ~vi
        if wantedHCR != hcr { write_hcr_el2(wantedHCR) }
        guard GIC.version == .v3 else { return }
        let ich = read_ich_hcr_el2()
        var wantedICH = ich & ~(npie | vgrp1eie)
        if signalled { wantedICH |= npie } else if waitingForGroup1 { wantedICH |= vgrp1eie }
        if wantedICH != ich { write_ich_hcr_el2(wantedICH) }
    }
}
