import Foundation

/// `keel linux headers`: Debian's arm64 headers for the kernel `keel linux fetch` fetched, so
/// out-of-tree modules (keel-dm.ko, Sources/KeelDMDriver) build against exactly that kernel:
///
///     make -C <cache>/headers/build M=<dir> ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
///
/// Two packages, the same version as the kernel (its Module.symvers and vermagic must match):
/// `linux-headers-<release>` (the flavour's .config and Makefile) and
/// `linux-headers-<abi>-common` (the source tree's headers and Makefiles). Both are unpacked
/// under `<cache>/headers` as `usr/src/...`, as they would lie under `/`, and two things Debian's
/// layout expects of `/` are put right there instead, so nothing is written outside the cache:
/// - the flavour's Makefile is one line, `include /usr/src/linux-headers-<abi>-common/Makefile`:
///   rewritten to include the -common tree beside it (relative to the Makefile itself);
/// - `scripts` and `tools` are relative links to `../../lib/linux-kbuild-6.1/...`: the host's
///   `linux-kbuild-6.1` (amd64, installed by `make deps`), so `usr/lib/linux-kbuild-6.1` under
///   the cache is a link to `/usr/lib/linux-kbuild-6.1`.
/// `<cache>/headers/build` links to the flavour's tree, as `/lib/modules/<release>/build` does.
public struct LinuxHeaders {
    public var cache: String
    public var sources = PrivateApt.sourcesOfThisMachine()
    public var progress: (String) -> Void = { print($0) }
    /// Runs apt-get and dpkg-deb; tests replace it.
    public var runCommand: (HostCommand) throws -> String = { try $0.run() }
    /// Where the host's linux-kbuild packages are (tests point it elsewhere).
    public var hostLib = "/usr/lib"

    public init(cache: String = LinuxFetch.defaultCache) {
        self.cache = cache
    }

    public struct Result: Equatable {
        /// `<cache>/headers/build`: the `make -C` folder.
        public var build: String
        public var release: String
        /// False when they were already there.
        public var fetched: Bool
    }

    var absoluteCache: String { URL(fileURLWithPath: cache).standardizedFileURL.path }
    public var headersPath: String { cache + "/headers" }
    public var buildPath: String { headersPath + "/build" }

    /// The packages for kernel `release` (6.1.0-57-cloud-arm64): its flavour's and the common one.
    public static func packages(release: String) throws -> (flavour: String, common: String) {
        let parts = release.split(separator: "-")
        // <version>-<abi>-<flavour...>: 6.1.0-57-cloud-arm64.
        guard parts.count >= 3, parts[0].contains("."), Int(parts[1]) != nil else {
            throw KeelError("kernel release '\(release)' is not Debian's <version>-<abi>-<flavour>")
        }
        return ("linux-headers-\(release)", "linux-headers-\(parts[0])-\(parts[1])-common")
    }

    /// The kernel release and the package version from `<cache>/kernel-version`
    /// ("6.1.0-57-cloud-arm64\nlinux-image-6.1.0-57-cloud-arm64 6.1.192-3\n").
    static func kernel(in path: String) throws -> (release: String, version: String) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeelError("no \(path): run `keel linux fetch` first (the headers are those of the kernel it fetched)")
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        let words = lines.count > 1 ? lines[1].split(separator: " ") : []
        guard let release = lines.first, words.count == 2 else {
            throw KeelError("\(path) is not '<release>\\n<package> <version>': run `keel linux fetch --force`")
        }
        return (String(release), String(words[1]))
    }

    public func run() throws -> Result {
        let manager = FileManager.default
        let (release, version) = try Self.kernel(in: cache + "/kernel-version")
        let (flavour, common) = try Self.packages(release: release)
        let flavourTree = "usr/src/" + flavour
        if manager.fileExists(atPath: headersPath + "/" + flavourTree + "/Makefile"),
           (try? manager.destinationOfSymbolicLink(atPath: buildPath)) == flavourTree {
            return Result(build: buildPath, release: release, fetched: false)
        }
        // Unpacked aside and renamed, so <cache>/headers only ever holds a complete tree.
        let partial = absoluteCache + "/headers.partial"
        let debs = absoluteCache + "/headers-debs"
        for path in [partial, debs] {
            try? manager.removeItem(atPath: path)
            try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        defer {
            try? manager.removeItem(atPath: partial)
            try? manager.removeItem(atPath: debs)
        }
        let apt = PrivateApt(root: absoluteCache + "/apt", sources: sources)
        try apt.prepare()
        progress("linux: apt-get update (arm64, private configuration \(cache)/apt/apt.conf)")
        _ = try runCommand(apt.update())
        // The kernel's exact version: other headers would not match its symbol versions.
        progress("linux: apt-get download \(flavour)=\(version) \(common)=\(version)")
        do {
            _ = try runCommand(apt.download(["\(flavour)=\(version)", "\(common)=\(version)"], into: debs))
        } catch let error as KeelError {
            throw KeelError("\(error.message)\nDebian no longer has the headers of kernel \(release) \(version): `keel linux fetch --force` fetches its current kernel, whose headers it has")
        }
        for package in [flavour, common] {
            let deb = try LinuxFetch.downloaded(package, in: debs)
            progress("linux: dpkg-deb -x \((deb as NSString).lastPathComponent)")
            _ = try runCommand(HostCommand("dpkg-deb", ["-x", deb, partial]))
        }

        let makefile = partial + "/" + flavourTree + "/Makefile"
        let commonMakefile = "/usr/src/\(common)/Makefile"
        guard let text = manager.contents(atPath: makefile).map({ String(decoding: $0, as: UTF8.self) }),
              text.contains("include " + commonMakefile) else {
            throw KeelError("\(flavour)'s Makefile does not include \(commonMakefile)")
        }
        // $(lastword $(MAKEFILE_LIST)) is this Makefile while it is being read, wherever it lies.
        try Data(text.replacingOccurrences(of: "include " + commonMakefile,
                                           with: "include $(dir $(lastword $(MAKEFILE_LIST)))../\(common)/Makefile").utf8)
            .write(to: URL(fileURLWithPath: makefile))

        // scripts -> ../../lib/linux-kbuild-6.1/scripts: the host package's folder.
        let scripts = try manager.destinationOfSymbolicLink(atPath: partial + "/" + flavourTree + "/scripts")
        let parts = scripts.split(separator: "/")
        guard parts.count == 5, parts[0] == "..", parts[1] == "..", parts[2] == "lib", parts[3].hasPrefix("linux-kbuild-") else {
            throw KeelError("\(flavour)'s scripts link '\(scripts)' is not ../../lib/linux-kbuild-*/scripts")
        }
        let kbuild = String(parts[3])
        try manager.createDirectory(atPath: partial + "/usr/lib", withIntermediateDirectories: true)
        try manager.createSymbolicLink(atPath: partial + "/usr/lib/" + kbuild, withDestinationPath: hostLib + "/" + kbuild)
        try manager.createSymbolicLink(atPath: partial + "/build", withDestinationPath: flavourTree)

        try? manager.removeItem(atPath: absoluteCache + "/headers")
        try manager.moveItem(atPath: partial, toPath: absoluteCache + "/headers")
        if !manager.fileExists(atPath: hostLib + "/" + kbuild + "/scripts") {
            progress("linux: warning: \(hostLib)/\(kbuild) is missing: install Debian's \(kbuild) (`make deps`) to build modules")
        }
        progress("linux: headers of \(release) in \(buildPath)")
        return Result(build: buildPath, release: release, fetched: true)
    }
}
