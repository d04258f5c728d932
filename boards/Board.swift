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

    public init(
        name: StaticString, qemuMachine: StaticString, qemuCPU: StaticString, maxCPUs: Int,
        ramBase: UInt64, ramSize: UInt64, uartKind: UARTKind, uartBase: UInt64, textOffset: UInt64
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
