import Foundation
import Testing
@testable import KeelKit

/// `keel linux headers` without the network: stand-in apt and dpkg-deb leave Debian's layout
/// (a one-line Makefile including /usr/src/...-common, scripts linked to ../../lib/linux-kbuild-6.1),
/// and the cache must end up buildable without anything under /usr/src.
@Suite("keel linux headers")
struct LinuxHeadersTests {
    final class FakeTools: @unchecked Sendable {
        var commands: [HostCommand] = []
        var makefile = "include /usr/src/linux-headers-6.1.0-57-common/Makefile\n"

        func run(_ command: HostCommand) throws -> String {
            commands.append(command)
            let manager = FileManager.default
            switch (command.executable, command.arguments.first(where: { !$0.hasPrefix("-") })) {
            case ("apt-get", "update"):
                return ""
            case ("apt-get", "download"):
                for package in command.arguments.dropFirst(2) {
                    let name = package.split(separator: "=")[0]
                    _ = manager.createFile(atPath: command.directory! + "/\(name)_6.1.192-3_arm64.deb", contents: Data("deb".utf8))
                }
                return ""
            case ("dpkg-deb", _):
                let root = command.arguments[2]
                if command.arguments[1].contains("cloud-arm64") {
                    let tree = root + "/usr/src/linux-headers-6.1.0-57-cloud-arm64"
                    try manager.createDirectory(atPath: tree, withIntermediateDirectories: true)
                    try Data(makefile.utf8).write(to: URL(fileURLWithPath: tree + "/Makefile"))
                    try manager.createSymbolicLink(atPath: tree + "/scripts", withDestinationPath: "../../lib/linux-kbuild-6.1/scripts")
                } else {
                    let tree = root + "/usr/src/linux-headers-6.1.0-57-common"
                    try manager.createDirectory(atPath: tree, withIntermediateDirectories: true)
                    try Data("# common\n".utf8).write(to: URL(fileURLWithPath: tree + "/Makefile"))
                }
                return ""
            default:
                throw KeelError("unexpected command \(command.shellLine)")
            }
        }
    }

    func headers(_ cache: String, tools: FakeTools) -> LinuxHeaders {
        var headers = LinuxHeaders(cache: cache)
        headers.sources = PrivateApt.defaultSources
        headers.progress = { _ in }
        headers.runCommand = { try tools.run($0) }
        headers.hostLib = "/host/lib"
        return headers
    }

    func cache(in scratch: Scratch) throws -> String {
        let cache = scratch.url.path + "/cache"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        try Data("6.1.0-57-cloud-arm64\nlinux-image-6.1.0-57-cloud-arm64 6.1.192-3\n".utf8)
            .write(to: URL(fileURLWithPath: cache + "/kernel-version"))
        return cache
    }

    @Test("the flavour's and the common package of the fetched kernel's exact version, unpacked under the cache, Makefile and kbuild link made local")
    func fetch() throws {
        let scratch = try Scratch()
        let cache = try cache(in: scratch)
        let tools = FakeTools()
        let result = try headers(cache, tools: tools).run()
        #expect(result == LinuxHeaders.Result(build: cache + "/headers/build", release: "6.1.0-57-cloud-arm64", fetched: true))
        #expect(tools.commands.map(\.shellLine).map { $0.replacingOccurrences(of: cache, with: "C") } == [
            "APT_CONFIG=C/apt/apt.conf apt-get -q update",
            "APT_CONFIG=C/apt/apt.conf apt-get -q download linux-headers-6.1.0-57-cloud-arm64=6.1.192-3 linux-headers-6.1.0-57-common=6.1.192-3",
            "dpkg-deb -x C/headers-debs/linux-headers-6.1.0-57-cloud-arm64_6.1.192-3_arm64.deb C/headers.partial",
            "dpkg-deb -x C/headers-debs/linux-headers-6.1.0-57-common_6.1.192-3_arm64.deb C/headers.partial",
        ])
        let manager = FileManager.default
        let tree = cache + "/headers/usr/src/linux-headers-6.1.0-57-cloud-arm64"
        #expect(manager.contents(atPath: tree + "/Makefile") == Data("include $(dir $(lastword $(MAKEFILE_LIST)))../linux-headers-6.1.0-57-common/Makefile\n".utf8))
        #expect(try manager.destinationOfSymbolicLink(atPath: cache + "/headers/build") == "usr/src/linux-headers-6.1.0-57-cloud-arm64")
        #expect(try manager.destinationOfSymbolicLink(atPath: cache + "/headers/usr/lib/linux-kbuild-6.1") == "/host/lib/linux-kbuild-6.1")
        // The rewritten include reaches the common tree through the build link.
        #expect(manager.contents(atPath: cache + "/headers/build/../linux-headers-6.1.0-57-common/Makefile") == Data("# common\n".utf8))
        #expect(!manager.fileExists(atPath: cache + "/headers.partial") && !manager.fileExists(atPath: cache + "/headers-debs"))

        // Done once: a second run runs nothing.
        let again = FakeTools()
        #expect(try headers(cache, tools: again).run().fetched == false)
        #expect(again.commands.isEmpty)
        // Headers of another kernel (a `keel linux fetch --force` moved on) are fetched anew.
        try Data("6.1.0-58-cloud-arm64\nlinux-image-6.1.0-58-cloud-arm64 6.1.193-1\n".utf8).write(to: URL(fileURLWithPath: cache + "/kernel-version"))
        let newer = FakeTools()
        #expect(throws: KeelError.self) { try headers(cache, tools: newer).run() }  // the fake only has -57
        #expect(newer.commands.count == 4)
        #expect(manager.fileExists(atPath: tree + "/Makefile"), "the old headers stay until new ones are complete")
    }

    @Test("no kernel fetched, a release that is not Debian's, or a Makefile of another shape: a clear error")
    func errors() throws {
        let scratch = try Scratch()
        let empty = scratch.url.path + "/empty"
        #expect(throws: KeelError("no \(empty)/kernel-version: run `keel linux fetch` first (the headers are those of the kernel it fetched)")) {
            try headers(empty, tools: FakeTools()).run()
        }
        #expect(throws: KeelError("kernel release 'vmlinux' is not Debian's <version>-<abi>-<flavour>")) {
            try LinuxHeaders.packages(release: "vmlinux")
        }
        let packages = try LinuxHeaders.packages(release: "6.1.0-57-cloud-arm64")
        #expect(packages.flavour == "linux-headers-6.1.0-57-cloud-arm64" && packages.common == "linux-headers-6.1.0-57-common")
        let cache = try cache(in: scratch)
        let tools = FakeTools()
        tools.makefile = "include /somewhere/else/Makefile\n"
        #expect(throws: KeelError("linux-headers-6.1.0-57-cloud-arm64's Makefile does not include /usr/src/linux-headers-6.1.0-57-common/Makefile")) {
            try headers(cache, tools: tools).run()
        }
        #expect(!FileManager.default.fileExists(atPath: cache + "/headers"))
    }
}
