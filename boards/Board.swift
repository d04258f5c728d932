/// What Keel needs to know about a board. Addresses are physical.
///
/// Plain data: compiled into the firmware and into the host tools alike, so it must stay free of
/// Foundation and of anything that allocates.
public struct Board: Sendable {
    public enum UARTKind: Sendable { case pl011 }

    /// Short name used on the command line (`--board`).
    public var name: StaticString
    /// QEMU machine and its options, for boards QEMU emulates.
    public var qemuMachine: StaticString
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
    /// The interrupt controller's frames (which of them exist depends on its version).
    public var gic: GICFrames
    /// Where the host tool loads the VM's boot bundle (`BootBundle`), and how many bytes may
    /// follow: outside Keel's image and outside every VM's RAM.
    public var bundlePA: UInt64
    public var bundleLimit: UInt64

    public init(
        name: StaticString, qemuMachine: StaticString, qemuCPU: StaticString, maxCPUs: Int,
        ramBase: UInt64, ramSize: UInt64, uartKind: UARTKind, uartBase: UInt64, textOffset: UInt64,
        gic: GICFrames, bundlePA: UInt64, bundleLimit: UInt64
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
    }
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
