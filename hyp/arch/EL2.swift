import KeelHW

/// EL2 controls that every guest runs under, and entering a vCPU.
enum EL2 {
    /// HCR_EL2 for guests on this CPU: the fixed set, plus no PAuth traps where PAuth exists,
    /// and the RAS and LORegion traps where those exist (their bits are RES0 elsewhere).
    static func guestHCR(_ cpu: CPUFeatures) -> HCR {
        var hcr = HCR.guest
        if ISAR1.hasPAuth(read_id_aa64isar1_el1()) { hcr.formUnion([.apk, .api]) }
        if cpu.hasRAS { hcr.insert(.terr) }
        if cpu.hasLOR { hcr.insert(.tlor) }
        return hcr
    }

    /// Per-CPU trap configuration, written once before the first guest runs on this CPU.
    static func configureTraps() {
        let cpu = CPUFeatures.current()
        write_hcr_el2(guestHCR(cpu).rawValue)
        let pmuCounters = (read_pmcr_el0() >> 11) & 0x1F
        write_mdcr_el2((MDCR.hpmn(pmuCounters).union([.tpm, .tpmcr])).rawValue)
        write_cptr_el2(CPTR.guest.rawValue)
        // The guest reads the physical counter and uses the EL1 physical timer directly; its
        // virtual counter has no offset. Keel itself uses no timer.
        write_cnthctl_el2(CNTHCTL([.el1pcten, .el1pcen]).rawValue)
        write_cntvoff_el2(0)
        configureFeatureTraps(cpu)
        keel_isb()
        Spectre.install()
    }

    /// The fine-grained traps and HCRX_EL2 reset to UNKNOWN values, and are UNDEFINED at EL2
    /// on a CPU without them (a Cortex-A72 has neither): written only where the ID registers
    /// say they exist, with KeelCore's `TrapControls` values.
    private static func configureFeatureTraps(_ cpu: CPUFeatures) {
        if cpu.hasFGT {
            let hfgxtr = TrapControls.hfgxtr(cpu)
            write_hfgrtr_el2(hfgxtr)
            write_hfgwtr_el2(hfgxtr)
            write_hfgitr_el2(TrapControls.hfgitr(cpu))
            write_hdfgrtr_el2(TrapControls.hdfgxtr)
            write_hdfgwtr_el2(TrapControls.hdfgxtr)
            if cpu.hasAMU { write_hafgrtr_el2(TrapControls.hafgrtr) }
            if cpu.hasFGT2 {
                write_hfgrtr2_el2(TrapControls.fgt2)
                write_hfgwtr2_el2(TrapControls.fgt2)
                write_hfgitr2_el2(TrapControls.fgt2)
                write_hdfgrtr2_el2(TrapControls.fgt2)
                write_hdfgwtr2_el2(TrapControls.fgt2)
            }
        }
        if cpu.hasHCX { write_hcrx_el2(TrapControls.hcrx(cpu)) }
    }

    /// Run `vcpu`: install its VM's stage 2, its identity, its EL1 reset state, and ERET.
    static func run(_ vcpu: VCPUHandle) -> Never {
        let vm = vcpu.state.vmHandle
        write_vtcr_el2(vm.state.stage2.vtcr)
        write_vttbr_el2(vm.state.stage2.vttbr(vmid: vm.state.vmid))
        keel_isb()
        keel_tlbi_vmalls12e1is()
        keel_dsb_ish()
        // The guest sees the real MIDR and an MPIDR whose Aff0 is its vCPU number (bit 31 RES1).
        write_vpidr_el2(read_midr_el1())
        write_vmpidr_el2(1 << 31 | UInt64(vcpu.state.id))
        // EL1 registers are UNKNOWN at reset on hardware: give the guest a defined start.
        write_sctlr_el1(SCTLR_EL1.reset)
        write_vbar_el1(0)
        // Timers stopped and no interrupt left over from a previous life of this vCPU.
        write_cntv_ctl_el0(0)
        write_cntp_ctl_el0(0)
        VGIC.resetCPU(vcpu)
        VGIC.beforeEntry(vcpu)
        NativeWFI.trapAgain()
        // Nothing of this vCPU is live in the registers: enter it from the whole frame.
        vcpu.state.regs.restore_all = 1
        write_tpidr_el2(vcpu.frameAddress)
        keel_isb()
        keel_enter_guest()
    }
}

extension CPUFeatures {
    /// This CPU's feature ID registers, as they read at EL2 (never trapped there).
    static func current() -> CPUFeatures {
        CPUFeatures(pfr0: keel_read_id_reg(CPUFeatures.pfr0Index), pfr1: keel_read_id_reg(CPUFeatures.pfr1Index),
                    pfr2: keel_read_id_reg(CPUFeatures.pfr2Index), mmfr0: keel_read_id_reg(CPUFeatures.mmfr0Index),
                    mmfr1: keel_read_id_reg(CPUFeatures.mmfr1Index), mmfr2: keel_read_id_reg(CPUFeatures.mmfr2Index),
                    mmfr3: keel_read_id_reg(CPUFeatures.mmfr3Index), isar1: keel_read_id_reg(CPUFeatures.isar1Index),
                    isar2: keel_read_id_reg(CPUFeatures.isar2Index))
    }
}

extension EL1EntryControls {
    /// What an exception entry to this vCPU's EL1 depends on: its live SCTLR_EL1 (and
    /// GCSCR_EL1), and this CPU's features.
    static func current() -> EL1EntryControls {
        let cpu = CPUFeatures.current()
        return EL1EntryControls(sctlr: read_sctlr_el1(), features: cpu, gcscr: cpu.hasGCS ? read_gcscr_el1() : 0)
    }
}
