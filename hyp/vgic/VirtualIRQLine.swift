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
/// signals the guest's virtual IRQ with HCR_EL2.VI (and its virtual FIQ with VF, for group 0),
/// which the architecture ORs with the GIC's lines: set while a list register holds a pending
/// interrupt the guest's virtual CPU interface would signal (its group enabled, priority above
/// the guest's mask), clear otherwise. Maintenance interrupts bring Keel back when that changes
/// while the guest runs: NPIE (no list register is pending any more: the guest acknowledged
/// them) while a line is set, and VGrp0EIE/VGrp1EIE (the guest enabled the group) while one
/// waits for that. On the real EVK, where the lines are wired, VI and VF only repeat what the
/// GIC signals.
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
    private static let vf: UInt64 = 1 << 6            // HCR_EL2.VF
    private static let vi: UInt64 = 1 << 7            // HCR_EL2.VI
    private static let npie: UInt64 = 1 << 3          // ICH_HCR_EL2.NPIE
    private static let vgrp0eie: UInt64 = 1 << 4      // ICH_HCR_EL2.VGrp0EIE
    private static let vgrp1eie: UInt64 = 1 << 6      // ICH_HCR_EL2.VGrp1EIE
    private static let veng0: UInt64 = 1 << 0         // ICH_VMCR_EL2.VENG0
    private static let veng1: UInt64 = 1 << 1         // ICH_VMCR_EL2.VENG1

    /// What the list registers ask for: the virtual IRQ (group 1) and FIQ (group 0) lines, and
    /// the group enables Keel waits for.
    private struct Lines {
        var irq = false, fiq = false
        var waitGroup0 = false, waitGroup1 = false
    }

    /// After Keel changed `vcpu`'s list registers, on its CPU, before it enters the guest.
    @inline(__always)
    static func update(_ vcpu: VCPUHandle) {
        if virtualIRQsByHCR { refresh(vcpu) }
    }

    /// The vCPU leaves its CPU or restarts: nothing signalled, no maintenance asked for.
    @inline(__always)
    static func clear() {
        if virtualIRQsByHCR { set(Lines()) }
    }

    @inline(never)
    private static func refresh(_ vcpu: VCPUHandle) {
        guard GIC.version == .v3 else { return }
        let vmcr = read_ich_vmcr_el2()
        let mask = UInt8(truncatingIfNeeded: vmcr >> 24)  // VPMR
        var lines = Lines()
        var used = vcpu.state.vgic.usedLRs
        while used != 0 {
            let n = used.trailingZeroBitCount
            used &= used - 1
            let lr = GIC.readListRegister(n)
            // Pending only: the CPU interface signals no pending+active register, and NPIE
            // ignores them (`VGIC.retrigger` makes none on this board).
            guard lr.state == .pending else { continue }
            let enabled = vmcr & (lr.group1 ? veng1 : veng0) != 0
            if !enabled {
                if lr.group1 { lines.waitGroup1 = true } else { lines.waitGroup0 = true }
            } else if lr.priority < mask {
                if lr.group1 { lines.irq = true } else { lines.fiq = true }
            }
        }
        set(lines)
    }

    private static func set(_ lines: Lines) {
        let hcr = read_hcr_el2()
        var wantedHCR = hcr & ~(vi | vf)
        if lines.irq { wantedHCR |= vi }
        if lines.fiq { wantedHCR |= vf }
        if wantedHCR != hcr { write_hcr_el2(wantedHCR) }
        guard GIC.version == .v3 else { return }
        let ich = read_ich_hcr_el2()
        var wantedICH = ich & ~(npie | vgrp0eie | vgrp1eie)
        if lines.irq || lines.fiq { wantedICH |= npie }
        if lines.waitGroup0 { wantedICH |= vgrp0eie }
        if lines.waitGroup1 { wantedICH |= vgrp1eie }
        if wantedICH != ich { write_ich_hcr_el2(wantedICH) }
    }
}
