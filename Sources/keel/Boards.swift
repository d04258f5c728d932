import ArgumentParser
import KeelKit

/// `keel boards`: the boards Keel knows and which of them QEMU can run here.
struct Boards: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the boards (boards/) and whether each can run under QEMU on this machine."
    )

    @Option(name: .long, help: "The QEMU executable.")
    var qemu: String = "qemu-system-aarch64"

    func run() {
        let listing = BoardListing(machines: BoardListing.queryMachines(qemu: qemu), qemu: qemu)
        print(listing.text)
        print("\nKeel's firmware (build/hyp/keel.bin) is built for qemu-virt; the other boards' data is used to check configs.")
    }
}
