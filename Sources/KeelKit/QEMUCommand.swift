import KeelBoards

/// The QEMU command line that boots Keel with one guest on a board QEMU emulates.
public struct QEMUCommand {
    public var executable = "qemu-system-aarch64"
    public var firmware: String
    public var guest: String
    public var board: Board
    public var layout: VMLayout
    public var gicVersion = 3
    public var cpu: String
    public var smp = 1
    public var extraArguments: [String] = []

    public init(firmware: String, guest: String, board: Board, layout: VMLayout, gicVersion: Int = 3, cpu: String? = nil, smp: Int = 1) {
        self.firmware = firmware
        self.guest = guest
        self.board = board
        self.layout = layout
        self.gicVersion = gicVersion
        self.cpu = cpu ?? board.qemuCPU.description
        self.smp = smp
    }

    /// Firmware through `-kernel` (an arm64 Image: QEMU enters it at EL2 with the DTB in x0);
    /// the guest through QEMU's generic loader at the physical address backing the VM's RAM.
    public var arguments: [String] {
        [
            "-M", "\(board.qemuMachine),gic-version=\(gicVersion)",
            "-cpu", cpu,
            "-smp", String(smp),
            "-m", "\(board.ramSize >> 20)M",
            "-display", "none",
            "-monitor", "none",
            "-serial", "stdio",
            "-kernel", firmware,
            "-device", "loader,file=\(guest),addr=\(hex(layout.ramPA + layout.entryOffset)),force-raw=on",
        ] + extraArguments
    }

    /// The command as a person would type it (`--print-cmd`).
    public var shellLine: String {
        ([executable] + arguments).map(shellQuoted).joined(separator: " ")
    }
}

func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

func shellQuoted(_ word: String) -> String {
    let safe = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=,:+@%".contains($0) }
    return safe ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
