import KeelHW

/// The IRQ vector answers the virtual timer's interrupt itself when it goes straight back into
/// the list register its previous instance used (hyp/arch/vectors.S, `keel_irq_fast`; the Swift
/// twin is `VGIC.raiseHardwareFast`): it reads the vCPU's vGIC state and its VM's distributor
/// enables, writes one list register and counts the exit. Every other IRQ exit takes the Swift
/// path, with the IAR the vector read.
///
/// Swift lays out `VCPU` and `VM`: the boot check below ties keel/irqfast.h's numbers to both,
/// so the assembly never reads a field it did not check.
enum IRQFastPath {
    /// Whether keel/irqfast.h agrees with Swift's `VCPU` and `VM` layouts and with the GIC's INTIDs.
    static var matchesSwift: Bool {
        MemoryLayout<VCPU>.offset(of: \.vm) == Int(KEEL_VCPU_VM)
            && MemoryLayout<VCPU>.offset(of: \.vgic) == Int(KEEL_VCPU_VGIC)
            && MemoryLayout<VCPU>.offset(of: \.vgic.bank.enabled) == Int(KEEL_VCPU_BANK_ENABLED)
            && MemoryLayout<VCPU>.offset(of: \.vgic.bank.pending) == Int(KEEL_VCPU_BANK_PENDING)
            && MemoryLayout<VCPU>.offset(of: \.vgic.bank.level) == Int(KEEL_VCPU_BANK_LEVEL)
            && MemoryLayout<VCPU>.offset(of: \.vgic.bank.active) == Int(KEEL_VCPU_BANK_ACTIVE)
            && MemoryLayout<VCPU>.offset(of: \.vgic.bank.group1) == Int(KEEL_VCPU_BANK_GROUP1)
            && MemoryLayout<VCPU>.offset(of: \.vgic.bank.inLR) == Int(KEEL_VCPU_BANK_INLR)
            && MemoryLayout<VCPU>.offset(of: \.vgic.bank.hardware) == Int(KEEL_VCPU_BANK_HARDWARE)
            && MemoryLayout<VCPU>.offset(of: \.vgic.bank.withdrawn) == Int(KEEL_VCPU_BANK_WITHDRAWN)
            && MemoryLayout<VCPU>.offset(of: \.vgic.bank.priority) == Int(KEEL_VCPU_BANK_PRIORITY)
            && MemoryLayout<VCPU>.offset(of: \.vgic.lrINTID) == Int(KEEL_VCPU_LR_INTID)
            && MemoryLayout<VCPU>.offset(of: \.vgic.usedLRs) == Int(KEEL_VCPU_USED_LRS)
            && MemoryLayout<VCPU>.offset(of: \.vgic.underflow) == Int(KEEL_VCPU_VGIC_UNDERFLOW)
            && MemoryLayout<VCPU>.offset(of: \.exits.irq) == Int(KEEL_VCPU_EXITS_IRQ)
            && MemoryLayout<VM>.offset(of: \.vgic.ctlr) == Int(KEEL_VM_VGIC_CTLR)
            && MemoryLayout<VM>.offset(of: \.vgic.spis) == Int(KEEL_VM_VGIC_SPIS)
            && VirtualDistributor.spiCount / 32 == Int(KEEL_VM_SPI_BANKS)
            && MemoryLayout<IRQBank>.stride == Int(KEEL_BANK_STRIDE)
            && MemoryLayout<IRQBank>.offset(of: \.enabled) == Int(KEEL_BANK_ENABLED)
            && MemoryLayout<IRQBank>.offset(of: \.pending) == Int(KEEL_BANK_PENDING)
            && MemoryLayout<IRQBank>.offset(of: \.level) == Int(KEEL_BANK_LEVEL)
            && MemoryLayout<IRQBank>.offset(of: \.group1) == Int(KEEL_BANK_GROUP1)
            && MemoryLayout<IRQBank>.offset(of: \.inLR) == Int(KEEL_BANK_INLR)
            && MemoryLayout<IRQBank>.offset(of: \.priority) == Int(KEEL_BANK_PRIORITY)
            && MemoryLayout<[32 of UInt8]>.stride == 32 && MemoryLayout<[16 of UInt16]>.stride == 32
            && MemoryLayout<Bool>.size == 1 && MemoryLayout<Int>.size == 8
            && UInt32(KEEL_IRQFAST_INTID) == GIC.virtualTimerPPI
    }

    /// The vector reads ICC_IAR1_EL1 (a GICv3 system register) and answers from the list
    /// registers alone: only on a GICv3 whose virtual IRQ the GIC signals itself (not where Keel
    /// drives HCR_EL2.VI, `VirtualIRQLine`), and never with full tracing, which records every exit.
    /// The SGI fast path of the synchronous vector is configured here too (`Trace.start` calls
    /// this once, with the trace mode, before any guest runs).
    static func configure(tracing full: Bool) {
        keel_set_irq_fast_on(GIC.version == .v3 && !virtualIRQsByHCR && !full ? 1 : 0)
        SGIFastPath.configure(tracing: full)
        UARTFastPath.configure(tracing: full)
    }

    /// The IAR of an IRQ exit: the vector's when it read it, else read now.
    @inline(__always)
    static func acknowledged(_ iar: UInt64) -> UInt32 {
        iar == UInt64(bitPattern: Int64(KEEL_IRQ_NOT_ACKNOWLEDGED)) ? GIC.acknowledge() : UInt32(truncatingIfNeeded: iar)
    }
}
