import KeelBoards

/// Every board Keel knows, with its devices, by the name `--board` and `board =` use.
public struct KnownBoard: Sendable {
    public var board: Board
    public var devices: BoardDevices
    /// The VM slot Keel's firmware for this board sets up; nil when the firmware is not built
    /// for it (`make` builds one per board in its BOARDS).
    public var firmwareVM: VMLayout?
    /// Where `make` puts that firmware, relative to build/ (`hyp/keel.bin` is qemu-virt's, and
    /// serves both of its GIC variants: Keel finds the GIC version from the CPU).
    public var firmwareDirectory: String?
    /// QEMU hands the firmware a device tree, whose /chosen/bootargs (`-append`) is how Keel is
    /// told `keel.trace=` (virt writes one; the ZynqMP model has none without `-dtb`).
    public var qemuPassesDTB: Bool
    /// The board's own device tree that `keel run` hands QEMU (`-dtb`) when none is given: a
    /// file of `LinuxFetch.boardDTBs`, by its name in `<cache>/dtb` (`keel linux fetch` takes it
    /// from Debian's kernel package). For machines whose DTB QEMU does not write itself (raspi4b
    /// and imx8mp-evk boot Linux only with the real board's).
    public var qemuDTB: String?
    /// QEMU's `-serial` options: the first is the UART the board's console is, so a board whose
    /// console is its second UART (imx8mp-evk: UART2) gives `null` first.
    public var qemuSerials: [String]
    /// More QEMU options the machine needs (`-audio none` where it has a sound device: QEMU 10
    /// no longer reads QEMU_AUDIO_DRV and would open the host's ALSA).
    public var qemuOptions: [String]
    /// The RAM QEMU's machine must be given (`-m`, MiB) when it is not the board file's: raspi4b
    /// takes only 2 GiB, of which its DTB then gives the ARM the 960 MiB below the VideoCore's.
    public var qemuMemoryMiB: UInt64?
    /// The CPUs QEMU's machine must be given (`-smp`) whatever the run asks for: raspi4b has
    /// exactly 4, as the SoC does. Keel starts them all; the VM gets as many vCPUs as its
    /// config (or, with --guest, the CPUs Keel started).
    public var qemuCPUCount: Int?

    public init(board: Board, devices: BoardDevices, firmwareVM: VMLayout? = nil, firmwareDirectory: String? = nil,
                qemuPassesDTB: Bool = false, qemuDTB: String? = nil, qemuSerials: [String] = ["stdio"], qemuOptions: [String] = [],
                qemuMemoryMiB: UInt64? = nil, qemuCPUCount: Int? = nil) {
        self.board = board
        self.devices = devices
        self.firmwareVM = firmwareVM
        self.firmwareDirectory = firmwareDirectory
        self.qemuPassesDTB = qemuPassesDTB || qemuDTB != nil
        self.qemuDTB = qemuDTB
        self.qemuSerials = qemuSerials
        self.qemuOptions = qemuOptions
        self.qemuMemoryMiB = qemuMemoryMiB
        self.qemuCPUCount = qemuCPUCount
    }

    public var name: String { board.name.description }
    /// The QEMU machine type (`-M` up to its first comma), nil for a board QEMU does not emulate.
    public var qemuMachineType: String? {
        let machine = board.qemuMachine.description
        guard !machine.isEmpty else { return nil }
        return String(machine.split(separator: ",").first ?? "")
    }

    /// The devices a VM may be given or that Keel keeps.
    public var deviceList: [BoardDevice] { (0..<devices.count).map { devices[$0] } }

    public func device(named name: String) -> BoardDevice? {
        deviceList.first { $0.name.description == name }
    }
}

public enum BoardCatalog {
    public static let all: [KnownBoard] = [
        KnownBoard(board: qemuVirt, devices: qemuVirtDevices, firmwareVM: qemuVirtDefaultVM, firmwareDirectory: "hyp",
                   qemuPassesDTB: true),
        KnownBoard(board: qemuVirtGICv2, devices: qemuVirtDevices, firmwareVM: qemuVirtDefaultVM, firmwareDirectory: "hyp",
                   qemuPassesDTB: true),
        KnownBoard(board: xlnxZCU102, devices: xlnxZCU102Devices, firmwareVM: xlnxZCU102DefaultVM, firmwareDirectory: "hyp-xlnx-zcu102",
                   qemuOptions: ["-audio", "none"]),
        KnownBoard(board: raspberryPi4, devices: raspberryPi4Devices, firmwareVM: raspberryPi4DefaultVM, firmwareDirectory: "hyp-raspberry-pi-4",
                   qemuDTB: "bcm2711-rpi-4-b.dtb", qemuMemoryMiB: 2048, qemuCPUCount: 4),
        KnownBoard(board: imx8mpEVK, devices: imx8mpEVKDevices, firmwareVM: imx8mpEVKDefaultVM, firmwareDirectory: "hyp-imx8mp-evk",
                   qemuDTB: "imx8mp-evk.dtb", qemuSerials: ["null", "stdio"]),
    ]

    public static var names: [String] { all.map(\.name) }

    public static func named(_ name: String) -> KnownBoard? { all.first { $0.name == name } }
}
