import ArgumentParser
import Foundation
import KeelBoards
import KeelKit

/// `keel dtb FILE`: what Keel's firmware would read from a device tree at boot, and how it
/// compares with a board file. For checking a board's own DTB before flashing Keel onto it.
struct DTB: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what Keel reads from a device tree blob (memory, CPUs, GIC, UART, PSCI) and check it against a board file.",
        discussion: "Exits 65 when Keel would refuse to run on the machine the DTB describes (or the file is not a DTB), 66 when the file is missing, a directory or empty."
    )

    @Argument(help: "The device tree blob (dtc -I dts -O dtb makes one from source).")
    var file: String

    @Option(name: .long, help: "The board file to check against (keel boards lists them).")
    var board: String = "qemu-virt"

    func run() throws {
        guard let known = BoardCatalog.named(board) else {
            throw ValidationError("--board \(board): no such board (keel boards lists them)")
        }
        let bytes: [UInt8]
        do { bytes = try BootDeviceTree.read(file) } catch let error as KeelError { throw failure(error) }
        // One firmware runs qemu-virt and qemu-virt-gicv2: a GICv2 tree is held against the latter.
        let gicv2 = board == qemuVirt.name.description ? qemuVirtGICv2 : nil
        let (lines, refused) = BootDeviceTree.describe(bytes, board: known.board, boardGICv2: gicv2)
        print(lines.joined(separator: "\n"))
        if refused { throw ExitCode(ExitStatus.dataError) }
    }
}
