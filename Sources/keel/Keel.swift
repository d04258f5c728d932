import ArgumentParser

/// `keel`: the host side of the Keel hypervisor.
@main
struct Keel: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Host tools of the Keel hypervisor: boot it under QEMU, decode what it reports.",
        subcommands: [Run.self, Pack.self, Boards.self, DTB.self, ESRCommand.self, Trace.self, BenchCommand.self, Linux.self]
    )
}
