import KeelHW
import _Volatile

/// The board's interrupt controller as Keel itself drives it: the physical distributor,
/// redistributors (v3) or banked registers (v2), the CPU interface Keel acknowledges interrupts
/// on, and the list registers through which the guest gets virtual ones.
///
/// Keel takes only the interrupts of the vCPU it runs: the virtual and EL1 physical timers
/// (forwarded to the guest as hardware interrupts), the list-register maintenance interrupt,
/// and its own SGI that other CPUs send to make this one look at its vCPU's pending interrupts.
/// Priority drop and deactivation are split (EOImode 1), so a forwarded interrupt stays active
/// until the guest deactivates its virtual twin and the GIC deactivates the physical one.
enum GIC {
    enum Version: UInt8 { case v2 = 2, v3 = 3 }

    nonisolated(unsafe) static var version: Version = .v3
    /// List registers of the CPU interface (ICH_VTR_EL2 / GICH_VTR), the same on every CPU.
    nonisolated(unsafe) static var listRegisterCount = 0

    /// The SGI Keel sends between CPUs: "your vCPU has new pending interrupts".
    static let kickSGI: UInt32 = 1
    static let virtualTimerPPI: UInt32 = 27
    static let physicalTimerPPI: UInt32 = 30
    /// The EL2 physical timer (CNTHP), Keel's alarm in a contended lock's wait.
    static let hypervisorTimerPPI: UInt32 = 26
    static var maintenancePPI: UInt32 { machine.gic.maintenanceINTID }
    /// INTIDs 1020-1023: nothing to acknowledge.
    static let spurious: UInt32 = 1020
    private static let priority: UInt8 = 0x80

    private static var frames: GICFrames { machine.gic }

    // MARK: MMIO
    // Safety of the four accessors: callers pass an address inside a GIC frame of `machine.gic`
    // (checked against the board file at boot, mapped Device-nGnRE at EL2), at a register of
    // the accessed width.

    @inline(__always) static func read32(_ address: UInt64) -> UInt32 {
        unsafe VolatileMappedRegister<UInt32>(unsafeBitPattern: UInt(address)).load()
    }
    @inline(__always) static func write32(_ address: UInt64, _ value: UInt32) {
        unsafe VolatileMappedRegister<UInt32>(unsafeBitPattern: UInt(address)).store(value)
    }
    @inline(__always) static func read64(_ address: UInt64) -> UInt64 {
        unsafe VolatileMappedRegister<UInt64>(unsafeBitPattern: UInt(address)).load()
    }
    @inline(__always) static func write64(_ address: UInt64, _ value: UInt64) {
        unsafe VolatileMappedRegister<UInt64>(unsafeBitPattern: UInt(address)).store(value)
    }
    @inline(__always) static func write8(_ address: UInt64, _ value: UInt8) {
        unsafe VolatileMappedRegister<UInt8>(unsafeBitPattern: UInt(address)).store(value)
    }

    /// Distributor and redistributor register offsets shared by v2 and v3.
    enum Reg {
        static let ctlr: UInt64 = 0x000
        static let igroupr: UInt64 = 0x080
        static let isenabler: UInt64 = 0x100
        static let icenabler: UInt64 = 0x180
        static let icactiver: UInt64 = 0x380
        static let ipriorityr: UInt64 = 0x400
        static let icfgr: UInt64 = 0xC00
        static let sgir: UInt64 = 0xF00  // v2
        // GICv3 redistributor (RD_base frame, then the SGI_base frame 64 KiB above)
        static let waker: UInt64 = 0x014
        static let typer: UInt64 = 0x008
        static let sgiFrame: UInt64 = 0x1_0000
        static let redistributorStride: UInt64 = 0x2_0000
        // GICv2 CPU interface and hypervisor control
        static let gicc_pmr: UInt64 = 0x004
        static let gicc_bpr: UInt64 = 0x008
        static let gicc_iar: UInt64 = 0x00C
        static let gicc_eoir: UInt64 = 0x010
        static let gicc_dir: UInt64 = 0x1000
        static let gich_hcr: UInt64 = 0x000
        static let gich_vtr: UInt64 = 0x004
        static let gich_vmcr: UInt64 = 0x008
        static let gich_misr: UInt64 = 0x010
        static let gich_elrsr0: UInt64 = 0x030
        static let gich_apr: UInt64 = 0x0F0
        static let gich_lr0: UInt64 = 0x100
    }

    // MARK: Bring-up

    /// Which GIC the board has: the DTB's (`MachineCheck` held it against the CPU), or without
    /// a DTB the CPU's word: ID_AA64PFR0_EL1.GIC reads non-zero when the CPU has the GICv3
    /// system-register interface (QEMU sets it only when a GICv3 is attached).
    @_optimize(size)
    static func detect() {
        let v3 = machine.fromDTB ? machine.gicVersion == 3 : (read_id_aa64pfr0_el1() >> 24) & 0xF != 0
        version = v3 ? .v3 : .v2
    }

    /// Once, on the boot CPU, before any other CPU starts.
    @_optimize(size)
    static func initDistributor() {
        let d = frames.distributor
        switch version {
        case .v3:
            write32(d + Reg.ctlr, 0)
            waitForRWP(d)
            // ARE (affinity routing) | EnableGrp1 | EnableGrp0; this GIC has a single security
            // state (DS reads one), so these are the only enables.
            write32(d + Reg.ctlr, 1 << 4 | 1 << 1 | 1 << 0)
            waitForRWP(d)
        case .v2:
            write32(d + Reg.ctlr, 1)
        }
    }

    /// On every CPU: its redistributor or banked registers, its CPU interface, the virtual
    /// interface's control, and the list register count.
    @_optimize(size)
    static func initCPU(_ cpu: Int) {
        switch version {
        case .v3: initCPUv3(cpu)
        case .v2: initCPUv2()
        }
        for n in 0..<listRegisterCount { writeListRegister(n, ListRegister(virtualID: 0, state: .invalid, priority: 0)) }
        setUnderflowInterrupt(false)
    }

    /// The interrupts Keel takes on each CPU; the EL2 physical timer's only ends the WFI of a
    /// waiter on a contended lock (hyp/runtime/locks.c).
    private static var privateEnables: UInt32 {
        1 << kickSGI | 1 << maintenancePPI | 1 << virtualTimerPPI | 1 << physicalTimerPPI | 1 << hypervisorTimerPPI
    }

    /// Each CPU's redistributor (GICv3), found once at bring-up.
    nonisolated(unsafe) private static var redistributorOf: [8 of UInt64] = .init(repeating: 0)  // KEEL_MAX_CPUS

    @_optimize(size)
    private static func initCPUv3(_ cpu: Int) {
        guard let rd = redistributor(ofCPU: cpu) else { return }
        redistributorOf[cpu & 7] = rd
        // Wake the redistributor: ProcessorSleep off, then wait for ChildrenAsleep to clear.
        write32(rd + Reg.waker, read32(rd + Reg.waker) & ~UInt32(1 << 1))
        var spins = 0
        while read32(rd + Reg.waker) & (1 << 2) != 0 && spins < 1_000_000 { spins += 1 }
        let sgi = rd + Reg.sgiFrame
        write32(sgi + Reg.icenabler, 0xFFFF_FFFF)
        write32(sgi + Reg.icactiver, 0xFFFF_FFFF)
        write32(sgi + Reg.igroupr, 0xFFFF_FFFF)  // all group 1 (non-secure IRQs)
        for i in 0..<32 { write8(sgi + Reg.ipriorityr + UInt64(i), priority) }
        write32(sgi + Reg.icfgr + 4, 0)  // PPIs level-sensitive
        write32(sgi + Reg.isenabler, privateEnables)

        // System-register interface for EL2 and (Enable) for EL1's accesses to ICC_SRE_EL1.
        write_icc_sre_el2(read_icc_sre_el2() | 0xF)
        keel_isb()
        write_icc_pmr_el1(0xFF)
        write_icc_bpr1_el1(0)
        write_icc_ctlr_el1(1 << 1)  // EOImode: EOIR drops priority, DIR deactivates
        write_icc_igrpen1_el1(1)
        listRegisterCount = Int(read_ich_vtr_el2() & 0x1F) + 1
        write_ich_vmcr_el2(0)
        write_ich_hcr_el2(1)  // En: the virtual CPU interface works
        keel_isb()
    }

    @_optimize(size)
    private static func initCPUv2() {
        let d = frames.distributor, c = frames.cpuInterface, h = frames.hypervisorControl
        // Banked per CPU: SGIs and PPIs.
        write32(d + Reg.icenabler, 0xFFFF_FFFF)
        write32(d + Reg.icactiver, 0xFFFF_FFFF)
        for i in 0..<32 { write8(d + Reg.ipriorityr + UInt64(i), priority) }
        write32(d + Reg.isenabler, privateEnables)
        write32(c + Reg.gicc_pmr, 0xFF)
        write32(c + Reg.gicc_bpr, 0)
        // EnableGrp0 | EnableGrp1 | EOImode (bit 9: this GIC has no security extensions, so
        // the secure-view layout applies).
        write32(c + Reg.ctlr, 1 << 0 | 1 << 1 | 1 << 9)
        listRegisterCount = Int(read32(h + Reg.gich_vtr) & 0x3F) + 1
        write32(h + Reg.gich_vmcr, 0)
        write32(h + Reg.gich_hcr, 1)  // En
    }

    /// The redistributor whose GICR_TYPER affinity matches CPU `cpu` (Aff0 = cpu on the boards
    /// Keel knows), found by walking the frames until the one marked Last.
    @_optimize(size)
    private static func redistributor(ofCPU cpu: Int) -> UInt64? {
        let affinity = UInt32(truncatingIfNeeded: read_mpidr_el1() & 0xFF_FFFF)
        var frame = frames.redistributors
        for _ in 0..<64 {
            let typer = read64(frame + Reg.typer)
            if UInt32(truncatingIfNeeded: typer >> 32) == affinity { return frame }
            if typer & (1 << 4) != 0 { break }  // Last
            frame += Reg.redistributorStride
        }
        Console.log("no GICv3 redistributor for this CPU")
        return nil
    }

    @_optimize(size)
    private static func waitForRWP(_ distributor: UInt64) {
        var spins = 0
        while read32(distributor + Reg.ctlr) & (1 << 31) != 0 && spins < 1_000_000 { spins += 1 }
    }

    // MARK: Taking interrupts

    /// Acknowledge the highest-priority pending interrupt: its raw IAR value (pass it back to
    /// `dropPriority`/`deactivate`); the INTID is `intid(of:)`.
    @inline(__always) static func acknowledge() -> UInt32 {
        switch version {
        case .v3: UInt32(truncatingIfNeeded: read_icc_iar1_el1())
        case .v2: read32(frames.cpuInterface + Reg.gicc_iar)
        }
    }

    @inline(__always) static func intid(of iar: UInt32) -> UInt32 {
        version == .v3 ? iar & 0xFF_FFFF : iar & 0x3FF
    }

    @inline(__always) static func dropPriority(_ iar: UInt32) {
        switch version {
        case .v3: write_icc_eoir1_el1(UInt64(iar))
        case .v2: write32(frames.cpuInterface + Reg.gicc_eoir, iar)
        }
    }

    @inline(__always) static func deactivate(_ iar: UInt32) {
        switch version {
        case .v3: write_icc_dir_el1(UInt64(iar))
        case .v2: write32(frames.cpuInterface + Reg.gicc_dir, iar)
        }
    }

    /// Before Keel waits for an interrupt on behalf of a vCPU (its WFI), on a GICv2: the private
    /// enables rewritten with the bits already set, a no-op for the GIC itself. QEMU's GICv2
    /// re-evaluates its CPU interfaces on that write but not when a guest's deactivation of a
    /// hardware-linked virtual interrupt (GICV_EOIR, HW bit) deactivates the physical one: a
    /// level interrupt whose line was still high (the timer, a passed-through device) then sat
    /// pending and enabled in the distributor while GICC_HPPIR read 1023, and the CPU slept for
    /// good (Linux hanging in poweroff under load; seen with gdb: GICD_ISPENDR0 holding PPI 27).
    static func refreshBeforeWait() {
        if version == .v2 { write32(frames.distributor + Reg.isenabler, privateEnables) }
    }

    /// Send Keel's kick SGI to physical CPU `cpu` (Aff0 = cpu; Keel's CPUs are one cluster).
    static func kick(cpu: Int) {
        keel_dsb_ish()
        switch version {
        case .v3:
            write_icc_sgi1r_el1(UInt64(kickSGI) << 24 | 1 << UInt64(cpu))
            keel_isb()
        case .v2:
            write32(frames.distributor + Reg.sgir, 1 << (16 + UInt32(cpu)) | kickSGI)
        }
    }

    /// Clear the active state of this CPU's private interrupts in `mask` (a forwarded timer
    /// interrupt whose guest is gone would otherwise stay active for good).
    static func deactivatePrivate(_ mask: UInt32) {
        switch version {
        case .v3:
            let rd = redistributorOf[SMP.currentCPU & 7]
            if rd != 0 { write32(rd + Reg.sgiFrame + Reg.icactiver, mask) }
        case .v2:
            write32(frames.distributor + Reg.icactiver, mask)  // banked per CPU
        }
    }

    // MARK: Passed-through SPIs

    /// Prepare SPI `intid` (32...1019, checked by the VM table) for a VM on physical CPU `cpu`:
    /// group 1 (GICv3; GICv2 keeps group 0, which Keel's CPU interface signals as IRQ), Keel's
    /// priority, level-sensitive (a device line; the guest's ICFGR is its own), routed to that
    /// CPU only, inactive and disabled until the guest enables it (`setSharedEnabled`).
    @_optimize(size)
    static func routeShared(_ intid: UInt32, toCPU cpu: Int) {
        let d = frames.distributor
        let word = UInt64(intid / 32) * 4, bit = UInt32(1) << (intid & 31)
        write32(d + Reg.icenabler + word, bit)
        write32(d + Reg.icactiver + word, bit)
        write8(d + Reg.ipriorityr + UInt64(intid), priority)
        let cfg = d + Reg.icfgr + UInt64(intid / 16) * 4
        write32(cfg, read32(cfg) & ~(UInt32(3) << ((intid & 15) * 2)))
        switch version {
        case .v3:
            let group = d + Reg.igroupr + word
            write32(group, read32(group) | bit)
            // GICD_IROUTER<n>: affinity routing to one PE (Aff0 = cpu; Keel's CPUs are one cluster).
            write64(d + 0x6000 + UInt64(intid) * 8, UInt64(cpu & 0xFF))
        case .v2:
            write8(d + 0x800 + UInt64(intid), UInt8(truncatingIfNeeded: 1 << (cpu & 7)))  // GICD_ITARGETSR
        }
        if version == .v3 { waitForRWP(d) }
    }

    /// Enable or disable physical SPI `intid`: the guest's own enable of its virtual twin.
    static func setSharedEnabled(_ intid: UInt32, _ on: Bool) {
        let word = UInt64(intid / 32) * 4
        write32(frames.distributor + (on ? Reg.isenabler : Reg.icenabler) + word, UInt32(1) << (intid & 31))
    }

    /// Clear the active state of physical SPI `intid` (one forwarded to a guest that will never
    /// deactivate it: withdrawn, or its VM reset).
    static func deactivateShared(_ intid: UInt32) {
        write32(frames.distributor + Reg.icactiver + UInt64(intid / 32) * 4, UInt32(1) << (intid & 31))
    }

    /// The virtual CPU interface as a vCPU finds it at reset, for one that (re)starts (CPU_ON,
    /// SYSTEM_RESET): ICH_VMCR_EL2 / GICH_VMCR zero (group enables off, priority mask 0, EOImode
    /// 0: as at boot) and no active priority (ICH_AP0R<n>_EL2 and ICH_AP1R<n>_EL2 / GICH_APR).
    /// Both belong to the CPU interface, not to a list register: a guest that restarted from
    /// inside an interrupt handler would otherwise keep that handler's priority active, and never
    /// again take an interrupt of that priority or lower.
    @_optimize(size)
    static func resetVirtualCPUInterface() {
        switch version {
        case .v3:
            write_ich_vmcr_el2(0)
            write_ich_ap0r0_el2(0)
            write_ich_ap1r0_el2(0)
            // PREbits [28:26] + 1 preemption bits: 5 -> one register per group, 6 -> two, 7 -> four.
            let preemptionBits = ((read_ich_vtr_el2() >> 26) & 7) + 1
            if preemptionBits >= 6 {
                write_ich_ap0r1_el2(0)
                write_ich_ap1r1_el2(0)
            }
            if preemptionBits >= 7 {
                write_ich_ap0r2_el2(0)
                write_ich_ap0r3_el2(0)
                write_ich_ap1r2_el2(0)
                write_ich_ap1r3_el2(0)
            }
        case .v2:
            write32(frames.hypervisorControl + Reg.gich_vmcr, 0)
            write32(frames.hypervisorControl + Reg.gich_apr, 0)
        }
    }

    // MARK: List registers

    @inline(__always) static func readListRegister(_ n: Int) -> ListRegister {
        switch version {
        case .v3: ListRegister(v3: keel_read_ich_lr(UInt32(n)))
        case .v2: ListRegister(v2: read32(frames.hypervisorControl + Reg.gich_lr0 + UInt64(n) * 4))
        }
    }

    @inline(__always) static func writeListRegister(_ n: Int, _ lr: ListRegister) {
        switch version {
        case .v3: keel_write_ich_lr(UInt32(n), lr.v3)
        case .v2: write32(frames.hypervisorControl + Reg.gich_lr0 + UInt64(n) * 4, lr.v2)
        }
    }

    /// Bit n set: list register n holds nothing (ICH_ELRSR_EL2 / GICH_ELRSR0).
    @inline(__always) static var emptyListRegisters: UInt32 {
        switch version {
        case .v3: UInt32(truncatingIfNeeded: read_ich_elrsr_el2())
        case .v2: read32(frames.hypervisorControl + Reg.gich_elrsr0)
        }
    }

    /// Underflow maintenance interrupt (UIE): raised when at most one list register is still
    /// valid, so Keel can refill them when more interrupts wait than there are registers.
    static func setUnderflowInterrupt(_ on: Bool) {
        switch version {
        case .v3:
            let hcr = read_ich_hcr_el2()
            write_ich_hcr_el2(on ? hcr | 1 << 1 : hcr & ~UInt64(1 << 1))
        case .v2:
            let address = frames.hypervisorControl + Reg.gich_hcr
            let hcr = read32(address)
            write32(address, on ? hcr | 1 << 1 : hcr & ~UInt32(1 << 1))
        }
    }
}
