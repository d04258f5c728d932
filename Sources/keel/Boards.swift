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
        for known in BoardCatalog.all {
            guard let directory = known.firmwareDirectory else { continue }
            let path = "build/\(directory)/keel.bin"
            print("\(known.name): firmware \(path)\((try? Firmware.locate(explicit: nil, directory: directory)) == nil ? " (not built: run make)" : "")")
        }
        if BoardCatalog.all.contains(where: { $0.firmwareDirectory == nil }) {
            print("\nThe other boards' data is used to check configs.")
        }
    }
}
