import KeelHW

/// The emulated registers whose 32-bit read gives the same value for the whole life of a VM,
/// which the synchronous vector answers from a table (`MMIOFastPath`, hyp/arch/vectors.S
/// `keel_dabt_fast`) filled from the Swift emulation itself at VM start. A register belongs here
/// only if its read has no side effect and its value depends on nothing a guest, another VM or
/// time can change; what each depends on:
///
/// - GICD_TYPER (0x004): the INTID limit (`VirtualDistributor.intidLimit`, a constant), the VM's
///   vCPU count (fixed when the VM is built; SYSTEM_RESET keeps its vCPUs) and the GIC version
///   (the machine's).
/// - GICD_IIDR (0x008): `VirtualGICD.iidr`, a constant.
/// - GICD_PIDR2 (0xFFE8 on a GICv3, 0xFE8 on a GICv2): the architecture revision.
/// - Each vCPU's redistributor (GICv3): GICR_IIDR (0x0004, the distributor's IIDR), GICR_TYPER's
///   two words (0x0008, 0x000C: the vCPU's index as affinity and processor number, Last from the
///   vCPU count) and GICR_PIDR2 (0xFFE8).
/// - The PL011's PeriphID0-3 and PCellID0-3 (0xFE0-0xFFC): `VirtualPL011.identification`, the
///   same for every instance (read here from a fresh one: no lock, no console-input poll).
///
/// Not here: GICD_CTLR and GICR_WAKER (the guest writes them), the IRQ registers (pending,
/// enabled, active, priorities change), GICD_TYPER2 and the other reserved offsets (they read as
/// zero, but a later emulation may give them meaning), every other UART register (FR and DR
/// follow the receive FIFO; the programmable ones keep what the guest wrote), and any read
/// that is not a word.
enum ConstantRegisters {
    /// PeriphID0 to PCellID3.
    static let uartIDs: ClosedRange<UInt64> = 0xFE0...0xFFC

    static func isConstant(uart offset: UInt64) -> Bool { uartIDs.contains(offset) && offset & 3 == 0 }

    static var distributorPIDR2: UInt64 { GIC.version == .v3 ? 0xFFE8 : 0xFE8 }

    /// GICD_TYPER, GICD_IIDR, GICD_PIDR2: the one list `isConstant` and `forEach` read.
    static var distributorOffsets: [3 of UInt64] { [0x004, 0x008, distributorPIDR2] }

    /// GICR_TYPER's two words, GICR_IIDR, GICR_PIDR2 (a vCPU's frame), in the order they claim
    /// table slots.
    static var redistributorOffsets: [4 of UInt64] { [0x0008, 0x000C, 0x0004, 0xFFE8] }

    static func isConstant(distributor offset: UInt64) -> Bool { contains(distributorOffsets, offset) }

    static func isConstant(redistributor offset: UInt64) -> Bool { contains(redistributorOffsets, offset) }

    private static func contains<let n: Int>(_ offsets: [n of UInt64], _ offset: UInt64) -> Bool {
        for k in offsets.indices where offsets[k] == offset { return true }
        return false
    }

    /// Each such register's IPA in `vm` (the VM's vCPUs all built), the distributor's first:
    /// the table keeps the first of two that share a slot.
    static func forEach(in vm: VMHandle, _ body: (UInt64) -> Void) {
        let layout = vm.state.layout
        let distributor = distributorOffsets
        for k in distributor.indices { body(layout.gicDistributorIPA + distributor[k]) }
        if GIC.version == .v3 {
            let redistributor = redistributorOffsets
            for index in 0..<vm.state.vcpuCount {
                let frame = layout.gicRedistributorIPA + UInt64(index) * VirtualGICR.stride
                for k in redistributor.indices { body(frame + redistributor[k]) }
            }
        }
        var offset = uartIDs.lowerBound
        while offset <= uartIDs.upperBound {
            body(layout.uartIPA + offset)
            offset += 4
        }
    }
}
