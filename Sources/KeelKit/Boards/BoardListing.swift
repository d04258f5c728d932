import Foundation
import KeelBoards

/// `keel boards`: every board and whether it can run under QEMU on this machine, which needs
/// `qemu-system-aarch64` and its support for the board's machine (`-M help` lists them).
public struct BoardListing {
    public enum QEMUSupport: Equatable {
        case yes
        /// The board is real hardware only.
        case notEmulated
        case noQEMU(String)
        /// This QEMU lacks the machine (e.g. `raspi4b` came with QEMU 9).
        case machineMissing(String)

        public var text: String {
            switch self {
            case .yes: "yes"
            case .notEmulated: "no (QEMU does not emulate it)"
            case .noQEMU(let qemu): "no (\(qemu) cannot be run; make deps installs QEMU)"
            case .machineMissing(let machine): "no (this QEMU has no \(machine) machine)"
            }
        }
    }

    public struct Row {
        public var board: KnownBoard
        public var qemu: QEMUSupport
    }

    public var rows: [Row]

    /// `machines`: the machine types this QEMU has, nil when it cannot be run.
    public init(machines: Set<String>?, qemu: String = "qemu-system-aarch64", boards: [KnownBoard] = BoardCatalog.all) {
        rows = boards.map { board in
            guard let machine = board.qemuMachineType else { return Row(board: board, qemu: .notEmulated) }
            guard let machines else { return Row(board: board, qemu: .noQEMU(qemu)) }
            return Row(board: board, qemu: machines.contains(machine) ? .yes : .machineMissing(machine))
        }
    }

    /// The machine types in `qemu -M help` output: the first word of each line after the title.
    public static func machineTypes(helpOutput: String) -> Set<String> {
        Set(helpOutput.split(separator: "\n").dropFirst().compactMap { $0.split(separator: " ").first.map(String.init) })
    }

    /// Asks `qemu` for its machines; nil when it is not installed or fails.
    public static func queryMachines(qemu: String) -> Set<String>? {
        guard let output = try? HostCommand(qemu, ["-M", "help"]).run() else { return nil }
        return machineTypes(helpOutput: output)
    }

    public var text: String {
        var lines = [pad("board", 16) + pad("CPUs", 18) + pad("GIC", 6) + pad("console", 24) + pad("load at", 12) + "runs under QEMU here"]
        for row in rows {
            let b = row.board.board
            let uart = Self.uartName(b.uartKind) + " " + hex(b.uartBase)
            lines.append(pad(row.board.name, 16) + pad("\(b.maxCPUs) x \(b.qemuCPU)", 18) + pad("v\(b.gicVersion)", 6)
                         + pad(uart, 24) + pad(hex(b.loadAddress), 12) + row.qemu.text)
        }
        return lines.joined(separator: "\n")
    }

    static func uartName(_ kind: Board.UARTKind) -> String {
        switch kind {
        case .pl011: "PL011"
        case .cadence: "Cadence"
        case .imx: "i.MX"
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
