/// What Keel needs to know about a board. Addresses are physical.
///
/// Plain data: compiled into the firmware and into the host tools alike, so it must stay free of
/// Foundation and of anything that allocates.
public struct Board: Sendable {
    /// The UART Keel's console drives: Arm's PL011 (qemu-virt, BCM2711), Cadence's (ZynqMP) or
    /// NXP's i.MX UART (i.MX 8M Plus).
    public enum UARTKind: Sendable { case pl011, cadence, imx }

    /// Short name used on the command line (`--board`).
    public var name: StaticString
    /// QEMU machine and its options (`-M`), for boards QEMU emulates; empty for boards it does not.
    public var qemuMachine: StaticString
    /// Whether QEMU's machine takes `gic-version=` (virt does; fixed-SoC machines do not).
    public var qemuSelectsGIC: Bool = false
    /// QEMU CPU model the integration tests use.
    public var qemuCPU: StaticString
    /// Maximum CPUs the board has.
    public var maxCPUs: Int
    /// DRAM base and the size Keel asks QEMU for.
    public var ramBase: UInt64
    public var ramSize: UInt64
    /// The hypervisor's own console.
    public var uartKind: UARTKind
    public var uartBase: UInt64
    /// Offset of the firmware from the 2 MiB aligned DRAM base (the Image header's `text_offset`).
    public var textOffset: UInt64
    /// The interrupt controller's architecture version (2: GIC-400 and alike, 3) and frames
    /// (which of them exist depends on the version).
    public var gicVersion: Int = 3
    public var gic: GICFrames
    /// The generic timer's PPIs.
    public var timers: TimerInterrupts = TimerInterrupts()
    /// Where the host tool loads the VM's boot bundle (`BootBundle`), and how many bytes may
    /// follow: outside Keel's image and outside every VM's RAM.
    public var bundlePA: UInt64
    public var bundleLimit: UInt64

    public init(
        name: StaticString, qemuMachine: StaticString, qemuCPU: StaticString, maxCPUs: Int,
        ramBase: UInt64, ramSize: UInt64, uartKind: UARTKind, uartBase: UInt64, textOffset: UInt64,
        gic: GICFrames, bundlePA: UInt64, bundleLimit: UInt64, gicVersion: Int = 3, qemuSelectsGIC: Bool = false,
        timers: TimerInterrupts = TimerInterrupts()
    ) {
        self.name = name
        self.qemuMachine = qemuMachine
        self.qemuCPU = qemuCPU
        self.maxCPUs = maxCPUs
        self.ramBase = ramBase
        self.ramSize = ramSize
        self.uartKind = uartKind
        self.uartBase = uartBase
        self.textOffset = textOffset
        self.gic = gic
        self.bundlePA = bundlePA
        self.bundleLimit = bundleLimit
        self.gicVersion = gicVersion
        self.qemuSelectsGIC = qemuSelectsGIC
        self.timers = timers
    }

    /// Where a boot loader puts the firmware: the 2 MiB aligned DRAM base plus `textOffset`.
    public var loadAddress: UInt64 { ((ramBase + 0x1F_FFFF) & ~0x1F_FFFF) + textOffset }
}

/// The generic timer's interrupts as INTIDs (PPI n is INTID 16 + n).
public struct TimerInterrupts: Sendable {
    public var securePhysical: UInt32 = 29
    public var physical: UInt32 = 30
    public var virtual: UInt32 = 27
    public var hypervisor: UInt32 = 26
    public init() {}
}

/// A device of the board: its MMIO window and its first SPI (as an INTID; 0 when it has none).
public struct BoardDevice: Sendable {
    public var name: StaticString
    /// What it is, as its device-tree `compatible` says.
    public var compatible: StaticString
    public var base: UInt64
    public var size: UInt64
    public var intid: UInt32
    /// How many consecutive INTIDs from `intid` it raises.
    public var interruptCount: UInt32
    /// Keel drives it itself (its console): it cannot be given to a VM.
    public var hypervisorOwned: Bool

    public init(_ name: StaticString, _ compatible: StaticString, base: UInt64, size: UInt64, intid: UInt32 = 0,
                interruptCount: UInt32 = 1, hypervisorOwned: Bool = false) {
        self.name = name
        self.compatible = compatible
        self.base = base
        self.size = size
        self.intid = intid
        self.interruptCount = intid == 0 ? 0 : interruptCount
        self.hypervisorOwned = hypervisorOwned
    }
}

/// A board's devices, a VM may be given (the hypervisor's own console is marked as such): a
/// fixed number of slots, filled from the first. Each board file keeps its list beside its
/// `Board` rather than in it: the firmware copies its `Board` value, which must stay small to
/// be initialized statically.
public struct BoardDevices: Sendable {
    public static let capacity = 12
    public var slots: InlineArray<12, BoardDevice?>

    public init(_ slots: InlineArray<12, BoardDevice?>) { self.slots = slots }
    public init() { slots = InlineArray(repeating: nil) }

    public var count: Int {
        var n = 0
        while n < BoardDevices.capacity, slots[n] != nil { n += 1 }
        return n
    }

    public subscript(index: Int) -> BoardDevice { slots[index]! }
}

/// Physical addresses of a GIC's frames. GICv3 has a distributor and one redistributor (two
/// 64 KiB frames) per CPU; GICv2 a distributor, a CPU interface, and with the virtualization
/// extensions the hypervisor control (GICH) and virtual CPU interface (GICV) frames.
public struct GICFrames: Sendable {
    public var distributor: UInt64
    /// GICv3 only.
    public var redistributors: UInt64
    /// GICv2 only.
    public var cpuInterface: UInt64
    public var hypervisorControl: UInt64
    public var virtualCPUInterface: UInt64
    /// The PPI (as an INTID) the GIC raises for list-register maintenance.
    public var maintenanceINTID: UInt32

    public init(distributor: UInt64, redistributors: UInt64, cpuInterface: UInt64, hypervisorControl: UInt64,
                virtualCPUInterface: UInt64, maintenanceINTID: UInt32) {
        self.distributor = distributor
        self.redistributors = redistributors
        self.cpuInterface = cpuInterface
        self.hypervisorControl = hypervisorControl
        self.virtualCPUInterface = virtualCPUInterface
        self.maintenanceINTID = maintenanceINTID
    }
}

/// Where one VM lives: its RAM as the guest sees it (IPA) and where that RAM really is (PA), and
/// the emulated devices' guest addresses.
public struct VMLayout: Sendable {
    public var ramIPA: UInt64
    public var ramPA: UInt64
    public var ramSize: UInt64
    /// Guest address of the emulated PL011 console.
    public var uartIPA: UInt64
    /// Its interrupt, as an INTID (SPI n is INTID 32 + n).
    public var uartINTID: UInt32 = 33
    /// Guest addresses of the virtual GIC: the distributor, and the redistributors (GICv3) or
    /// the CPU interface (GICv2, backed by the real GICV frame).
    public var gicDistributorIPA: UInt64 = 0x0800_0000
    public var gicRedistributorIPA: UInt64 = 0x080A_0000
    public var gicCPUInterfaceIPA: UInt64 = 0x0801_0000
    /// Where the guest starts, as an offset into its RAM (raw binaries start at their first byte).
    public var entryOffset: UInt64

    public init(ramIPA: UInt64, ramPA: UInt64, ramSize: UInt64, uartIPA: UInt64, entryOffset: UInt64) {
        self.ramIPA = ramIPA
        self.ramPA = ramPA
        self.ramSize = ramSize
        self.uartIPA = uartIPA
        self.entryOffset = entryOffset
    }

    /// True when `ipa` falls in the guest's RAM.
    public func containsRAM(_ ipa: UInt64) -> Bool {
        ipa >= ramIPA && ipa - ramIPA < ramSize
    }
}
