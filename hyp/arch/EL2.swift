import KeelHW

/// EL2 controls that every guest runs under, and entering a vCPU.
enum EL2 {
    /// HCR_EL2 for guests on this CPU: the fixed set, plus no PAuth traps where PAuth exists.
    static func guestHCR() -> HCR {
        var hcr = HCR.guest
        if ISAR1.hasPAuth(read_id_aa64isar1_el1()) { hcr.formUnion([.apk, .api]) }
        return hcr
    }

    /// Per-CPU trap configuration, written once before the first guest runs on this CPU.
    static func configureTraps() {
        write_hcr_el2(guestHCR().rawValue)
        let pmuCounters = (read_pmcr_el0() >> 11) & 0x1F
        write_mdcr_el2((MDCR.hpmn(pmuCounters).union([.tpm, .tpmcr])).rawValue)
        write_cptr_el2(CPTR.guest.rawValue)
        // The guest reads the physical counter and uses the EL1 physical timer directly; its
        // virtual counter has no offset. Keel itself uses no timer.
        write_cnthctl_el2(CNTHCTL([.el1pcten, .el1pcen]).rawValue)
        write_cntvoff_el2(0)
        keel_isb()
        Spectre.install()
    }

    /// Run `vcpu`: install its VM's stage 2, its identity, its EL1 reset state, and ERET.
    static func run(_ vcpu: UnsafeMutablePointer<VCPU>) -> Never {
        let vm = vcpu.pointee.vmPointer
        write_vtcr_el2(vm.pointee.stage2.vtcr)
        write_vttbr_el2(vm.pointee.stage2.vttbr(vmid: vm.pointee.vmid))
        keel_isb()
        keel_tlbi_vmalls12e1is()
        keel_dsb_ish()
        // The guest sees the real MIDR and an MPIDR whose Aff0 is its vCPU number (bit 31 RES1).
        write_vpidr_el2(read_midr_el1())
        write_vmpidr_el2(1 << 31 | UInt64(vcpu.pointee.id))
        // EL1 registers are UNKNOWN at reset on hardware: give the guest a defined start.
        write_sctlr_el1(SCTLR_EL1.reset)
        write_vbar_el1(0)
        // Timers stopped and no interrupt left over from a previous life of this vCPU.
        write_cntv_ctl_el0(0)
        write_cntp_ctl_el0(0)
        VGIC.resetCPU(vcpu)
        // Nothing of this vCPU is live in the registers: enter it from the whole frame.
        vcpu.pointee.regs.restore_all = 1
        write_tpidr_el2(UInt64(UInt(bitPattern: vcpu)))
        keel_isb()
        keel_enter_guest()
    }
}
