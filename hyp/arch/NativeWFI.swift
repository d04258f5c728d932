import KeelHW

/// A vCPU's WFI runs natively once it has waited in one (issue 16): HCR_EL2.TWI is cleared on
/// its CPU, which it owns (vCPUs are pinned, one to a CPU), so the guest's later WFIs put the
/// CPU to sleep without an exit, as on Bao, and KVM with `wfi_trap_policy=notrap`. Whatever
/// would have ended Keel's wait ends the native one: every event for a running vCPU already
/// comes as a physical interrupt routed to EL2 (HCR_EL2.IMO) or as a list register the GIC
/// signals itself, namely the guest's timers, Keel's kick from another CPU (an SGI raised, an
/// SPI routed here, a stop request), list-register maintenance, a passed-through SPI; and an
/// SGI's receiver then takes it as an IRQ exit, without the WFI exit before it.
///
/// Trapped until the first wait, so that a WFI with nothing enabled still completes at once (a
/// guest that never enabled an interrupt cannot sleep for good in one); a guest that disables
/// every interrupt after it has waited, then waits, sleeps until Keel kicks it (a stop or a
/// reset still does): a guest can only hurt itself. Trapped again whenever the vCPU (re)starts
/// (`EL2.run`: boot, CPU_ON, SYSTEM_RESET).
///
/// Only where the GIC signals the guest's virtual IRQ itself and on a GICv3 (`keel_irq_fast_on`'s
/// conditions): a GICv2 under QEMU needs `GIC.refreshBeforeWait` before each wait, and the
/// imx8mp-evk's model does not wire the virtual IRQ line (`VirtualIRQLine`); and never while
/// exits are recorded (full or memory tracing), whose records show each WFI.
enum NativeWFI {
    /// After a WFI that waited on this CPU: the guest's next ones do not trap, where the IRQ
    /// vector's fast paths are on (`IRQFastPath.configure` sets them once at boot).
    @inline(__always)
    static func afterWait() {
        if keel_irq_fast_enabled() != 0 { write_hcr_el2(read_hcr_el2() & ~HCR.twi.rawValue) }
    }

    /// A vCPU (re)starts on this CPU: its WFIs trap until it waits in one.
    static func trapAgain() { write_hcr_el2(read_hcr_el2() | HCR.twi.rawValue) }
}
