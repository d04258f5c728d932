import KeelHW

/// The synchronous vector answers a guest's plain write of ICC_SGI1R_EL1 itself
/// (hyp/arch/vectors.S, `keel_sysreg_fast`; the Swift twin is `trapSysReg` with
/// `VGIC.raiseSGI`): it marks the SGI pending in the targets' banks under the VM's vGIC lock,
/// sets their `dirty` and kicks their CPUs as `VGIC.notify` does, steps the PC over the MSR and
/// counts the exit. Every other case takes the Swift path with the guest's registers intact.
///
/// Swift lays out `VCPU` and `VM`, and the lock and kick are Swift's (keel/atomic.h, `GIC`): the
/// boot check below ties keel/sgifast.h's numbers to them, so the assembly never touches a field
/// it did not check.
enum SGIFastPath {
    /// Whether keel/sgifast.h agrees with Swift's `VCPU` and `VM` layouts, the power states and
    /// Keel's kick SGI.
    static var matchesSwift: Bool {
        MemoryLayout<VCPU>.offset(of: \.id) == Int(KEEL_VCPU_ID)
            && MemoryLayout<VCPU>.offset(of: \.physicalCPU) == Int(KEEL_VCPU_PHYSICAL_CPU)
            && MemoryLayout<VCPU>.offset(of: \.power) == Int(KEEL_VCPU_POWER)
            && MemoryLayout<VM>.offset(of: \.vgic.lock) == Int(KEEL_VM_VGIC_LOCK)
            && MemoryLayout<VM>.offset(of: \.vcpuCount) == Int(KEEL_VM_VCPU_COUNT)
            && MemoryLayout<VM>.offset(of: \.firstVCPU) == Int(KEEL_VM_FIRST_VCPU)
            && Int(keel_vcpu_slot_size()) == 1 << Int(KEEL_VCPU_SLOT_SHIFT)
            && PowerState.on.rawValue == UInt32(KEEL_POWER_ON)
            && GIC.kickSGI == UInt32(KEEL_KICK_SGI)
            && isSGI1RWrite(ESR(rawValue: UInt64(KEEL_ESR_SGI1R_WRITE)))
    }

    /// The ESR the vector compares with (Rt 0) is an AArch64 MSR of `SysRegEncoding.iccSGI1R`.
    private static func isSGI1RWrite(_ esr: ESR) -> Bool {
        esr.ec == .sys64 && esr.il && esr.sysReg.encoding == .iccSGI1R && !esr.sysReg.isRead && esr.sysReg.rt == 0
    }

    /// On for a GICv3 (the only GIC whose guests write ICC_SGI1R_EL1), never while exits are
    /// traced: every exit is recorded through the Swift path then.
    static func configure(tracing: Bool) {
        keel_set_sgi_fast_on(GIC.version == .v3 && !tracing ? 1 : 0)
    }
}
