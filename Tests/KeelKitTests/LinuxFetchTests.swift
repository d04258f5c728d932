import Foundation
import Testing
@testable import KeelKit

/// `keel linux fetch` without the network: the private apt configuration, the package
/// resolution, the kernel checks, the initramfs contents, and the whole fetch against stand-in
/// apt and dpkg-deb that leave plausible files behind.
@Suite("keel linux fetch")
struct LinuxFetchTests {
    /// 64 bytes with the arm64 Image magic at 0x38.
    static let fakeImage: [UInt8] = {
        var bytes = [UInt8](repeating: 0x11, count: 64)
        bytes.replaceSubrange(0x38..<0x3c, with: Array("ARM\u{64}".utf8))
        return bytes
    }()

    static let metapackageRecord = """
        Package: linux-image-cloud-arm64
        Source: linux-signed-arm64 (6.1.192+2)
        Version: 6.1.192-2
        Architecture: arm64
        Depends: linux-image-6.1.0-56-cloud-arm64 (= 6.1.192-2)
        Description: Linux for arm64 cloud (meta-package)

        """

    // MARK: private apt

    @Test("the apt configuration keeps every apt folder in the cache and selects arm64 only")
    func aptConfiguration() {
        let apt = PrivateApt(root: "/c/apt", sources: "")
        let text = apt.configuration
        for line in ["APT::Architecture \"arm64\";", "APT::Architectures { \"arm64\"; };", "APT::Sandbox::User \"root\";",
                     "Dir::Etc::Parts \"/c/apt/etc/apt.conf.d\";", "Dir::Etc::SourceParts \"/c/apt/etc/sources.list.d\";",
                     "Dir::State \"/c/apt/state\";", "Dir::State::status \"/c/apt/state/status\";", "Dir::Cache \"/c/apt/cache\";",
                     "Dir::Log \"/c/apt/log\";", "Dir::Etc::Main \"/dev/null\";", "Dir::Etc::SourceList \"/dev/null\";"] {
            #expect(text.contains(line + "\n"), "\(line)")
        }
        #expect(apt.update() == HostCommand("apt-get", ["-q", "update"], environment: ["APT_CONFIG": "/c/apt/apt.conf"]))
        #expect(apt.show("p") == HostCommand("apt-cache", ["show", "--no-all-versions", "p"], environment: ["APT_CONFIG": "/c/apt/apt.conf"]))
        #expect(apt.download(["a", "b"], into: "/d") == HostCommand("apt-get", ["-q", "download", "a", "b"], environment: ["APT_CONFIG": "/c/apt/apt.conf"], directory: "/d"))
    }

    static let aptConfigInstalled = FileManager.default.isExecutableFile(atPath: "/usr/bin/apt-config")

    @Test("apt itself reads the private configuration and none of the machine's", .enabled(if: aptConfigInstalled, "apt is not installed"))
    func aptReadsIt() throws {
        let scratch = try Scratch()
        let apt = PrivateApt(root: scratch.url.path + "/apt", sources: PrivateApt.defaultSources)
        try apt.prepare()
        let dump = try HostCommand("apt-config", ["dump"], environment: apt.environment).run()
        #expect(dump.contains("APT::Architecture \"arm64\";"))
        #expect(dump.contains("Dir::State::status \"\(apt.root)/state/status\";"))
        #expect(dump.contains("Dir::Etc::parts \"\(apt.root)/etc/apt.conf.d\";"))  // apt-config spells it so
        // The machine's apt.conf.d (its dpkg and update hooks) is not read.
        #expect(!dump.contains("Post-Invoke"))
        #expect(FileManager.default.contents(atPath: apt.root + "/etc/sources.list.d/debian.sources") == Data(PrivateApt.defaultSources.utf8))
        #expect(FileManager.default.contents(atPath: apt.root + "/state/status") == Data())
    }

    @Test("sources come from the machine, or default to bookworm")
    func sources() throws {
        let scratch = try Scratch()
        let path = try scratch.file("debian.sources", Array("Types: deb\nURIs: http://mirror/debian\n".utf8))
        #expect(PrivateApt.sourcesOfThisMachine(path: path) == "Types: deb\nURIs: http://mirror/debian\n")
        #expect(PrivateApt.sourcesOfThisMachine(path: "/nonexistent") == PrivateApt.defaultSources)
        #expect(PrivateApt.defaultSources.contains("Suites: bookworm bookworm-updates\n"))
        #expect(PrivateApt.defaultSources.contains("Suites: bookworm-security\n"))
    }

    @Test("the metapackage resolves to the versioned kernel package it depends on")
    func kernelDependency() throws {
        let resolved = try PrivateApt.kernelDependency(ofRecord: Self.metapackageRecord, metapackage: "linux-image-cloud-arm64")
        #expect(resolved.package == "linux-image-6.1.0-56-cloud-arm64")
        #expect(resolved.version == "6.1.192-2")
        let alternatives = "Package: m\nVersion: 1\nDepends: initramfs-tools | linux-initramfs-tool, linux-image-6.1.0-9-cloud-arm64 (= 1)\n"
        #expect(try PrivateApt.kernelDependency(ofRecord: alternatives, metapackage: "m").package == "linux-image-6.1.0-9-cloud-arm64")
        #expect(throws: KeelError("apt-cache show m: no linux-image-* package among its dependencies (' libc6')")) {
            try PrivateApt.kernelDependency(ofRecord: "Package: m\nDepends: libc6\n", metapackage: "m")
        }
    }

    // MARK: kernel

    @Test("an uncompressed Image is copied, a gzip-compressed one inflated, anything else refused")
    func kernelImage() throws {
        let scratch = try Scratch()
        let image = try scratch.file("vmlinuz-raw", Self.fakeImage)
        try KernelImage.install(image, to: scratch.url.path + "/Image1")
        #expect(FileManager.default.contents(atPath: scratch.url.path + "/Image1") == Data(Self.fakeImage))

        let compressed = scratch.url.path + "/vmlinuz-gz"
        _ = try HostCommand("gzip", ["-c", image], outputFile: compressed).run()
        #expect(KernelImage.form(of: try Data(contentsOf: URL(fileURLWithPath: compressed))) == .gzip)
        try KernelImage.install(compressed, to: scratch.url.path + "/Image2")
        #expect(FileManager.default.contents(atPath: scratch.url.path + "/Image2") == Data(Self.fakeImage))

        let other = try scratch.file("vmlinuz-other", [UInt8](repeating: 7, count: 64))
        #expect(throws: KeelError("the kernel '\(other)' is not an arm64 Image (no \"ARM\\x64\" at 0x38) nor gzip-compressed")) {
            try KernelImage.install(other, to: scratch.url.path + "/Image3")
        }
        let notImage = try scratch.file("not-image", [UInt8](repeating: 7, count: 64))
        let compressedOther = scratch.url.path + "/vmlinuz-gz-other"
        _ = try HostCommand("gzip", ["-c", notImage], outputFile: compressedOther).run()
        #expect(throws: KeelError("the kernel '\(compressedOther)' is gzip-compressed but not an arm64 Image inside (no \"ARM\\x64\" at 0x38)")) {
            try KernelImage.install(compressedOther, to: scratch.url.path + "/Image4")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.url.path + "/Image4"))
    }

    // MARK: initramfs

    @Test("the initramfs holds busybox, its applet links, the mount points, /dev/console and an executable /init")
    func initramfs() throws {
        let busybox = Data("busybox binary".utf8)
        let archive = try Initramfs.archive(busybox: busybox)
        let byPath = Dictionary(uniqueKeysWithValues: archive.entries.map { ($0.path, $0) })
        #expect(byPath["bin/busybox"]?.kind == .file(busybox))
        #expect(byPath["bin/busybox"]?.permissions == 0o755)
        #expect(byPath["bin/sh"]?.kind == .symlink(target: "busybox"))
        for applet in ["mount", "taskset", "sha256sum", "poweroff"] {
            #expect(byPath["bin/\(applet)"]?.kind == .symlink(target: "busybox"), "\(applet)")
        }
        for directory in ["bin", "dev", "proc", "sys", "tmp"] { #expect(byPath[directory]?.kind == .directory, "\(directory)") }
        #expect(byPath["dev/console"]?.kind == .characterDevice(major: 5, minor: 1))
        #expect(byPath["init"]?.permissions == 0o755)
        #expect(byPath["init"]?.kind == .file(Data(Initramfs.initScript.utf8)))

        let script = Initramfs.initScript
        #expect(script.hasPrefix("#!/bin/busybox sh\n"))
        for line in ["mount -t proc proc /proc", "mount -t sysfs sysfs /sys", "mount -t devtmpfs devtmpfs /dev",
                     "echo \"<2>keel-init: reached /init\" > /dev/kmsg", "echo \"KEEL-INIT: started\"",
                     "echo \"KEEL-INIT: cpus online $#\"", "echo \"KEEL-INIT: workload done $ok jobs\"",
                     "echo \"KEEL-INIT: powering off\"", "poweroff -f"] {
            #expect(script.contains(line + "\n"), "\(line)")
        }
        // Every command /init runs by name is an applet link (or an ash builtin).
        #expect(script.contains("taskset -c \"$cpu\" sh -c 'for pass in 1 2 3; do sha256sum /bin/busybox"))
    }

    // MARK: the whole fetch

    /// Stand-in apt-get, apt-cache and dpkg-deb: records each command and leaves what the real
    /// ones would.
    final class FakeTools {
        var commands: [HostCommand] = []
        var record = LinuxFetchTests.metapackageRecord
        /// The modules the kernel package holds (virtio_console is built in in some kernels).
        var modulePaths = VirtioModules.packagePaths

        func run(_ command: HostCommand) throws -> String {
            commands.append(command)
            let manager = FileManager.default
            switch (command.executable, command.arguments.first(where: { !$0.hasPrefix("-") })) {
            case ("apt-get", "update"):
                return ""
            case ("apt-cache", "show"):
                return record
            case ("apt-get", "download"):
                for package in command.arguments.dropFirst(2) {
                    _ = manager.createFile(atPath: command.directory! + "/\(package)_1.0_arm64.deb", contents: Data("deb".utf8))
                }
                return ""
            case ("sh", _):
                // dpkg-deb --fsys-tarfile DEB | tar -x -C DIR PATTERN...: leave the DTBs.
                let directory = command.arguments[3]
                for pattern in command.arguments.dropFirst(4) {
                    let path = directory + "/usr/lib/linux-image-6.1.0-56-arm64/" + pattern.dropFirst(2)
                    try manager.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    _ = manager.createFile(atPath: path, contents: Data("dtb \(pattern)".utf8))
                }
                return ""
            case ("dpkg-deb", _):
                let target = command.arguments[2]
                if target.hasSuffix("/busybox-static") {
                    try manager.createDirectory(atPath: target + "/bin", withIntermediateDirectories: true)
                    _ = manager.createFile(atPath: target + "/bin/busybox", contents: Data("busybox".utf8))
                } else {
                    try manager.createDirectory(atPath: target + "/boot", withIntermediateDirectories: true)
                    _ = manager.createFile(atPath: target + "/boot/vmlinuz-6.1.0-56-cloud-arm64", contents: Data(LinuxFetchTests.fakeImage))
                    _ = manager.createFile(atPath: target + "/boot/config-6.1.0-56-cloud-arm64", contents: Data())
                    let modules = target + "/lib/modules/6.1.0-56-cloud-arm64/kernel/"
                    for path in modulePaths {
                        try manager.createDirectory(atPath: modules + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                        _ = manager.createFile(atPath: modules + path, contents: Data(path.utf8))
                    }
                }
                return ""
            default:
                throw KeelError("unexpected command \(command.shellLine)")
            }
        }
    }

    func fetch(_ cache: String, tools: FakeTools) -> LinuxFetch {
        var fetch = LinuxFetch(cache: cache)
        fetch.sources = PrivateApt.defaultSources
        fetch.progress = { _ in }
        fetch.runCommand = { try tools.run($0) }
        return fetch
    }

    @Test("a fetch resolves, downloads, unpacks and writes Image, initramfs.cpio and kernel-version")
    func fullFetch() throws {
        let scratch = try Scratch()
        let cache = scratch.url.path + "/cache"
        let tools = FakeTools()
        let result = try fetch(cache, tools: tools).run()

        #expect(result == LinuxFetch.Result(image: cache + "/Image", initramfs: cache + "/initramfs.cpio",
                                            kernelRelease: "6.1.0-56-cloud-arm64", fetched: true))
        #expect(tools.commands.map(\.shellLine).map { $0.replacingOccurrences(of: cache, with: "C") } == [
            "APT_CONFIG=C/apt/apt.conf apt-get -q update",
            "APT_CONFIG=C/apt/apt.conf apt-cache show --no-all-versions linux-image-cloud-arm64",
            "APT_CONFIG=C/apt/apt.conf apt-get -q download linux-image-6.1.0-56-cloud-arm64 busybox-static linux-image-6.1.0-56-arm64-unsigned",
            "dpkg-deb -x C/debs/linux-image-6.1.0-56-cloud-arm64_1.0_arm64.deb C/unpacked/linux-image-6.1.0-56-cloud-arm64",
            "dpkg-deb -x C/debs/busybox-static_1.0_arm64.deb C/unpacked/busybox-static",
            "sh -c 'dir=\"$1\"; shift; dpkg-deb --fsys-tarfile \"$0\" | tar -x -C \"$dir\" --wildcards \"$@\"' C/debs/linux-image-6.1.0-56-arm64-unsigned_1.0_arm64.deb C/unpacked/linux-image-6.1.0-56-arm64-unsigned */broadcom/bcm2711-rpi-4-b.dtb */freescale/imx8mp-evk.dtb",
        ])
        #expect(FileManager.default.contents(atPath: cache + "/dtb/bcm2711-rpi-4-b.dtb") == Data("dtb */broadcom/bcm2711-rpi-4-b.dtb".utf8))
        #expect(FileManager.default.contents(atPath: cache + "/dtb/imx8mp-evk.dtb") == Data("dtb */freescale/imx8mp-evk.dtb".utf8))
        let manager = FileManager.default
        #expect(manager.contents(atPath: cache + "/Image") == Data(Self.fakeImage))
        // The initramfs carries the virtio modules, in load order.
        let modules = try VirtioModules.load(from: cache + "/modules")
        #expect(modules.map(\.name) == ["virtio_ring.ko", "virtio.ko", "virtio_mmio.ko", "virtio_blk.ko", "failover.ko", "net_failover.ko", "virtio_net.ko", "virtio_console.ko"])
        #expect(manager.contents(atPath: cache + "/initramfs.cpio") == (try Initramfs.archive(busybox: Data("busybox".utf8), modules: modules)).encoded())
        #expect(manager.contents(atPath: cache + "/kernel-version") == Data("6.1.0-56-cloud-arm64\nlinux-image-6.1.0-56-cloud-arm64 6.1.192-2\n".utf8))
        #expect(!manager.fileExists(atPath: cache + "/unpacked") && !manager.fileExists(atPath: cache + "/debs"))
        #expect(manager.fileExists(atPath: cache + "/apt/apt.conf"))
        // The virtio modules, kept for guests given a virtio-mmio device.
        #expect(manager.contents(atPath: cache + "/modules/virtio_blk.ko") == Data("drivers/block/virtio_blk.ko".utf8))
        #expect(manager.contents(atPath: cache + "/modules/virtio_net.ko") == Data("drivers/net/virtio_net.ko".utf8))
        #expect(VirtioModules.present(in: cache + "/modules"))
        let archive = try CPIOTests.read(try Data(contentsOf: URL(fileURLWithPath: cache + "/initramfs.cpio")))
        #expect(archive.first { $0.name == "lib/modules/net_failover.ko" }?.data == Array("drivers/net/net_failover.ko".utf8))
    }

    @Test("a cache with only the disk's modules (from before the net and console ones were kept) is fetched again")
    func netModulesMissing() throws {
        let scratch = try Scratch()
        let cache = scratch.url.path + "/cache"
        _ = try fetch(cache, tools: FakeTools()).run()
        for file in ["failover.ko", "net_failover.ko", "virtio_net.ko", "virtio_console.ko"] {
            try FileManager.default.removeItem(atPath: cache + "/modules/" + file)
        }
        #expect(!VirtioModules.present(in: cache + "/modules"))
        let tools = FakeTools()
        #expect(try fetch(cache, tools: tools).run().fetched)
        #expect(tools.commands.count == 6)
        #expect(VirtioModules.present(in: cache + "/modules"))
    }

    @Test("a kernel with virtio_console built in: the fetch keeps the others, and the cache counts as complete")
    func consoleBuiltIn() throws {
        let scratch = try Scratch()
        let cache = scratch.url.path + "/cache"
        let tools = FakeTools()
        tools.modulePaths.removeAll { $0.hasSuffix("virtio_console.ko") }
        _ = try fetch(cache, tools: tools).run()
        #expect(try VirtioModules.load(from: cache + "/modules").map(\.name).last == "virtio_net.ko")
        let again = FakeTools()
        #expect(try !fetch(cache, tools: again).run().fetched)
        #expect(again.commands.isEmpty)
        // A required one missing from the package is an error that names it.
        let broken = FakeTools()
        broken.modulePaths.removeAll { $0.hasSuffix("virtio_net.ko") }
        var forced = fetch(cache, tools: broken)
        forced.force = true
        #expect(throws: KeelError.self) { try forced.run() }
    }

    @Test("/init loads the virtio modules in dependency order, each only if it is there, before the workload")
    func initLoadsModules() throws {
        let script = Initramfs.initScript
        #expect(script.contains("for module in virtio_ring virtio virtio_mmio virtio_blk failover net_failover virtio_net virtio_console; do\n"))
        #expect(script.contains("    [ -f /lib/modules/$module.ko ] && insmod /lib/modules/$module.ko 2> /dev/null\n"))
        let load = try #require(script.range(of: "insmod"))
        let workload = try #require(script.range(of: Initramfs.Marker.workloadStartLog))
        let reached = try #require(script.range(of: Initramfs.Marker.kernelLog))
        #expect(reached.lowerBound < load.lowerBound && load.lowerBound < workload.lowerBound)
        #expect(Initramfs.applets.contains("insmod"))
    }

    @Test("a cache without the virtio modules (from before they were kept) is fetched again")
    func modulesMissing() throws {
        let scratch = try Scratch()
        let cache = scratch.url.path + "/cache"
        _ = try fetch(cache, tools: FakeTools()).run()
        try FileManager.default.removeItem(atPath: cache + "/modules")
        let tools = FakeTools()
        #expect(try fetch(cache, tools: tools).run().fetched)
        #expect(tools.commands.count == 6)
        #expect(VirtioModules.present(in: cache + "/modules"))
    }

    @Test("a cache without the board DTBs (from before they were kept) is fetched again")
    func dtbsMissing() throws {
        let scratch = try Scratch()
        let cache = scratch.url.path + "/cache"
        _ = try fetch(cache, tools: FakeTools()).run()
        try FileManager.default.removeItem(atPath: cache + "/dtb/imx8mp-evk.dtb")
        let tools = FakeTools()
        #expect(try fetch(cache, tools: tools).run().fetched)
        #expect(tools.commands.count == 6)
        #expect(FileManager.default.fileExists(atPath: cache + "/dtb/imx8mp-evk.dtb"))
    }

    @Test("with Image and initramfs in the cache nothing runs, unless forced")
    func cached() throws {
        let scratch = try Scratch()
        let cache = scratch.url.path + "/cache"
        _ = try fetch(cache, tools: FakeTools()).run()

        let tools = FakeTools()
        let again = try fetch(cache, tools: tools).run()
        #expect(tools.commands.isEmpty)
        #expect(again == LinuxFetch.Result(image: cache + "/Image", initramfs: cache + "/initramfs.cpio",
                                           kernelRelease: "6.1.0-56-cloud-arm64", fetched: false))

        var forced = fetch(cache, tools: tools)
        forced.force = true
        #expect(try forced.run().fetched)
        #expect(tools.commands.count == 6)
    }

    @Test("a failed fetch leaves no Image or initramfs behind, so the next one starts over")
    func failed() throws {
        let scratch = try Scratch()
        let cache = scratch.url.path + "/cache"
        _ = try fetch(cache, tools: FakeTools()).run()
        let tools = FakeTools()
        tools.record = "Package: linux-image-cloud-arm64\nDepends: nothing\n"
        var forced = fetch(cache, tools: tools)
        forced.force = true
        #expect(throws: KeelError("apt-cache show linux-image-cloud-arm64: no linux-image-* package among its dependencies (' nothing')")) {
            try forced.run()
        }
        #expect(!FileManager.default.fileExists(atPath: cache + "/Image"))
        #expect(!FileManager.default.fileExists(atPath: cache + "/initramfs.cpio"))
    }
}
