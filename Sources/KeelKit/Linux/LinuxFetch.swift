import Foundation

/// `keel linux fetch`: Debian's arm64 cloud kernel as `<cache>/Image` and a busybox initramfs as
/// `<cache>/initramfs.cpio`, made once and then reused.
///
/// The cloud kernel is chosen because it is an uncompressed arm64 Image with everything a QEMU
/// virt guest needs built in (PL011 console, GICv2 and v3, PSCI), so it boots with no modules.
/// Packages come from Debian through a `PrivateApt` under the cache, never the machine's apt.
///
/// The boards' own device trees (`<cache>/dtb/bcm2711-rpi-4-b.dtb`, `imx8mp-evk.dtb`), which QEMU's
/// raspi4b and imx8mp-evk machines boot Keel with, come from the same release's generic kernel
/// package (`linux-image-6.1.0-N-arm64-unsigned`): the cloud one ships no DTBs. Only those files
/// are taken out of it.
public struct LinuxFetch {
    public static let defaultCache = ".cache/linux"
    /// Resolved to the versioned package it depends on (linux-image-6.1.0-N-cloud-arm64).
    public static let kernelMetapackage = "linux-image-cloud-arm64"
    public static let busyboxPackage = "busybox-static"
    /// The DTBs taken from the generic kernel package, by their path under its dtbs folder.
    public static let boardDTBs = ["broadcom/bcm2711-rpi-4-b.dtb", "freescale/imx8mp-evk.dtb"]

    /// The generic kernel package of the cloud one's ABI (`linux-image-6.1.0-56-cloud-arm64` ->
    /// `linux-image-6.1.0-56-arm64-unsigned`): the same source build, with the DTBs.
    public static func dtbPackage(forCloudKernel package: String) -> String {
        let stem = package.hasSuffix("-cloud-arm64") ? String(package.dropLast("-cloud-arm64".count)) : package
        return stem + "-arm64-unsigned"
    }

    public struct Result: Equatable {
        public var image: String
        public var initramfs: String
        /// The first line of `<cache>/kernel-version` (e.g. 6.1.0-56-cloud-arm64).
        public var kernelRelease: String?
        /// False when both files were already there and nothing was done.
        public var fetched: Bool
    }

    /// As given (relative paths are relative to the current directory); reported this way.
    public var cache: String
    /// Redo everything even when the Image and initramfs exist.
    public var force = false
    /// deb822 sources for the private apt.
    public var sources = PrivateApt.sourcesOfThisMachine()
    public var progress: (String) -> Void = { print($0) }
    /// Runs apt-get, apt-cache and dpkg-deb; tests replace it.
    public var runCommand: (HostCommand) throws -> String = { try $0.run() }

    public init(cache: String = defaultCache) {
        self.cache = cache
    }

    public var imagePath: String { cache + "/Image" }
    public var initramfsPath: String { cache + "/initramfs.cpio" }
    public var kernelVersionPath: String { cache + "/kernel-version" }
    /// Where a board DTB of `boardDTBs` is kept: `<cache>/dtb/<file name>`.
    public func dtbPath(_ name: String) -> String { cache + "/dtb/" + (name as NSString).lastPathComponent }
    var dtbsPresent: Bool { Self.boardDTBs.allSatisfy { FileManager.default.fileExists(atPath: dtbPath($0)) } }
    /// The kernel's virtio modules (`VirtioModules`), for guests given a virtio-mmio device;
    /// also in the initramfs, whose /init loads them.
    public var modulesPath: String { cache + "/modules" }
    /// The busybox and /init the initramfs was made from, kept so a changed /init only
    /// rebuilds the archive.
    var busyboxPath: String { cache + "/busybox" }
    var initPath: String { cache + "/init" }

    /// Writes initramfs.cpio (aside, then renamed), with the virtio modules kept in
    /// `modulesPath`, and keeps what it was made from; /init last, so an interrupted write is
    /// redone next time.
    func writeInitramfs(busybox: Data) throws {
        let manager = FileManager.default
        let archive = try Initramfs.archive(busybox: busybox, modules: try VirtioModules.load(from: modulesPath))
        try? manager.removeItem(atPath: initPath)
        try archive.encoded().write(to: URL(fileURLWithPath: initramfsPath + ".partial"))
        try? manager.removeItem(atPath: initramfsPath)
        try manager.moveItem(atPath: initramfsPath + ".partial", toPath: initramfsPath)
        try busybox.write(to: URL(fileURLWithPath: busyboxPath))
        try Data(Initramfs.initScript.utf8).write(to: URL(fileURLWithPath: initPath))
    }
    /// apt is given absolute paths: `apt-get download` runs in another directory.
    var absoluteCache: String { URL(fileURLWithPath: cache).standardizedFileURL.path }

    public func run() throws -> Result {
        let manager = FileManager.default
        if !force, manager.fileExists(atPath: imagePath), manager.fileExists(atPath: initramfsPath), dtbsPresent, VirtioModules.present(in: modulesPath) {
            let cached = Result(image: imagePath, initramfs: initramfsPath, kernelRelease: Self.release(in: kernelVersionPath), fetched: false)
            if manager.contents(atPath: initPath) == Data(Initramfs.initScript.utf8) { return cached }
            // /init changed since the initramfs was made: make it again from the kept busybox.
            if let busybox = manager.contents(atPath: busyboxPath) {
                progress("linux: /init changed, writing the initramfs again")
                try writeInitramfs(busybox: busybox)
                return cached
            }
        }
        // Gone first, so an interrupted fetch never leaves a pair that looks complete.
        for path in [imagePath, initramfsPath, kernelVersionPath] + Self.boardDTBs.map(dtbPath) { try? manager.removeItem(atPath: path) }
        try manager.createDirectory(atPath: absoluteCache, withIntermediateDirectories: true)

        let apt = PrivateApt(root: absoluteCache + "/apt", sources: sources)
        try apt.prepare()
        progress("linux: apt-get update (arm64, private configuration \(cache)/apt/apt.conf)")
        _ = try runCommand(apt.update())

        let record = try runCommand(apt.show(Self.kernelMetapackage))
        let kernel = try PrivateApt.kernelDependency(ofRecord: record, metapackage: Self.kernelMetapackage)
        progress("linux: \(Self.kernelMetapackage) \(kernel.version ?? "") -> \(kernel.package)")

        let debs = absoluteCache + "/debs"
        try? manager.removeItem(atPath: debs)
        try manager.createDirectory(atPath: debs, withIntermediateDirectories: true)
        let dtbPackage = Self.dtbPackage(forCloudKernel: kernel.package)
        progress("linux: apt-get download \(kernel.package) \(Self.busyboxPackage) \(dtbPackage)")
        _ = try runCommand(apt.download([kernel.package, Self.busyboxPackage, dtbPackage], into: debs))

        // dpkg-deb -x unpacks a package as plain files; the dpkg database is not involved.
        let unpacked = absoluteCache + "/unpacked"
        try? manager.removeItem(atPath: unpacked)
        try manager.createDirectory(atPath: unpacked, withIntermediateDirectories: true)
        // The packages are only needed until Image and initramfs.cpio are written.
        defer {
            try? manager.removeItem(atPath: unpacked)
            try? manager.removeItem(atPath: debs)
        }
        for package in [kernel.package, Self.busyboxPackage] {
            let deb = try Self.downloaded(package, in: debs)
            progress("linux: dpkg-deb -x \((deb as NSString).lastPathComponent)")
            _ = try runCommand(HostCommand("dpkg-deb", ["-x", deb, unpacked + "/" + package]))
        }

        try extractDTBs(from: try Self.downloaded(dtbPackage, in: debs), into: unpacked + "/" + dtbPackage)

        let (vmlinuz, release) = try KernelImage.find(in: unpacked + "/" + kernel.package + "/boot")
        let busyboxPath = unpacked + "/" + Self.busyboxPackage + "/bin/busybox"
        guard let busybox = manager.contents(atPath: busyboxPath) else {
            throw KeelError("\(Self.busyboxPackage) has no /bin/busybox")
        }

        let versionText = "\(release)\n\(kernel.package) \(kernel.version ?? "")\n"
        try Data(versionText.utf8).write(to: URL(fileURLWithPath: kernelVersionPath))
        // Written aside and renamed, so Image and initramfs.cpio exist only when complete.
        try KernelImage.install(vmlinuz, to: imagePath + ".partial")
        try manager.moveItem(atPath: imagePath + ".partial", toPath: imagePath)
        // The modules first: the initramfs carries them.
        try VirtioModules.keep(from: unpacked + "/" + kernel.package, release: release, into: modulesPath)
        try writeInitramfs(busybox: busybox)
        progress("linux: kernel \(release), initramfs with busybox (\(busybox.count) bytes) and /init")
        return Result(image: imagePath, initramfs: initramfsPath, kernelRelease: release, fetched: true)
    }

    /// Takes `boardDTBs` out of the generic kernel package (only them: it unpacks to 350 MB) and
    /// puts them in `<cache>/dtb`, each written aside and renamed.
    func extractDTBs(from deb: String, into directory: String) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        progress("linux: board DTBs from \((deb as NSString).lastPathComponent)")
        let patterns = Self.boardDTBs.map { "*/" + $0 }
        _ = try runCommand(HostCommand("sh", ["-c", "dir=\"$1\"; shift; dpkg-deb --fsys-tarfile \"$0\" | tar -x -C \"$dir\" --wildcards \"$@\"", deb, directory] + patterns))
        try manager.createDirectory(atPath: cache + "/dtb", withIntermediateDirectories: true)
        let found = manager.enumerator(atPath: directory)?.compactMap { $0 as? String } ?? []
        for dtb in Self.boardDTBs {
            guard let relative = found.first(where: { $0.hasSuffix("/" + dtb) }) else {
                throw KeelError("\((deb as NSString).lastPathComponent) has no \(dtb)")
            }
            let destination = dtbPath(dtb)
            try? manager.removeItem(atPath: destination + ".partial")
            try manager.copyItem(atPath: directory + "/" + relative, toPath: destination + ".partial")
            try? manager.removeItem(atPath: destination)
            try manager.moveItem(atPath: destination + ".partial", toPath: destination)
        }
    }

    /// The .deb `apt-get download` left for `package` (named `package_VERSION_arm64.deb`).
    static func downloaded(_ package: String, in directory: String) throws -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        guard let name = names.sorted().first(where: { $0.hasPrefix(package + "_") && $0.hasSuffix(".deb") }) else {
            throw KeelError("apt-get download left no \(package)_*.deb in \(directory)")
        }
        return directory + "/" + name
    }

    static func release(in path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init)
    }
}
