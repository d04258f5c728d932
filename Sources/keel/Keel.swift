import ArgumentParser
import KeelKit

/// `keel`: the host side of the Keel hypervisor.
@main
struct Keel: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Host tools of the Keel hypervisor: boot it under QEMU, decode what it reports.",
        subcommands: [Run.self, Pack.self, Boards.self, DTB.self, ESRCommand.self, Trace.self, BenchCommand.self, Linux.self]
    )

    // Not CommandConfiguration's version: that is a fixed string, and the firmware's build id
    // is read from the firmware keel would boot.
    @Flag(help: "Print keel's version and the build id of the firmware it boots.")
    var version = false

    func run() throws {
        guard version else { throw CleanExit.helpRequest(self) }
        print(KeelVersion.text(firmwarePath: try? Firmware.locate(explicit: nil)))
    }
}
