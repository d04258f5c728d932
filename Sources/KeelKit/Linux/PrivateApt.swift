import Foundation

/// An apt of its own for arm64 packages, kept entirely under one folder: its configuration,
/// sources, package lists, cache and (empty) dpkg status. The machine's apt and dpkg never learn
/// of it: no `dpkg --add-architecture arm64`, nothing written under /etc/apt, /var/lib/apt or
/// /var/cache/apt.
///
/// It is selected with `APT_CONFIG`, the only way to set options before apt reads
/// `Dir::Etc::Parts`: with `-o` on the command line the machine's /etc/apt/apt.conf.d would
/// already be in effect, and its hooks (e.g. Docker images' `APT::Update::Post-Invoke`, which
/// empties /var/cache/apt) would run on every update.
public struct PrivateApt: Equatable {
    /// The folder everything lives in.
    public var root: String
    /// deb822 sources, normally a copy of the machine's.
    public var sources: String

    /// Where the machine's Debian sources are (deb822), and what to use on a machine without
    /// them: the release the cloud kernel and busybox-static are taken from.
    public static let machineSources = "/etc/apt/sources.list.d/debian.sources"
    public static let defaultSources = """
        Types: deb
        URIs: http://deb.debian.org/debian
        Suites: bookworm bookworm-updates
        Components: main
        Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

        Types: deb
        URIs: http://deb.debian.org/debian-security
        Suites: bookworm-security
        Components: main
        Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

        """

    public init(root: String, sources: String) {
        self.root = root
        self.sources = sources
    }

    /// Sources copied from the machine (`machineSources`), or the bookworm defaults.
    public static func sourcesOfThisMachine(path: String = machineSources) -> String {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return defaultSources }
        return String(decoding: data, as: UTF8.self)
    }

    public var configPath: String { root + "/apt.conf" }
    var partsDirectory: String { root + "/etc/apt.conf.d" }
    var preferencesDirectory: String { root + "/etc/preferences.d" }
    var sourcesDirectory: String { root + "/etc/sources.list.d" }
    var stateDirectory: String { root + "/state" }
    var statusFile: String { root + "/state/status" }
    var cacheDirectory: String { root + "/cache" }
    var logDirectory: String { root + "/log" }

    /// The generated apt.conf. Each machine-wide location apt would read or write is pointed
    /// into `root`, or at /dev/null where nothing is wanted.
    public var configuration: String {
        """
        // Written by `keel linux fetch`: a private apt for arm64 packages (see PrivateApt.swift).
        Dir::Etc::Main "/dev/null";
        Dir::Etc::Parts "\(partsDirectory)";
        Dir::Etc::SourceList "/dev/null";
        Dir::Etc::SourceParts "\(sourcesDirectory)";
        Dir::Etc::Preferences "/dev/null";
        Dir::Etc::PreferencesParts "\(preferencesDirectory)";
        Dir::State "\(stateDirectory)";
        Dir::State::Lists "\(stateDirectory)/lists";
        Dir::State::status "\(statusFile)";
        Dir::Cache "\(cacheDirectory)";
        Dir::Cache::Archives "\(cacheDirectory)/archives";
        // Lists stay compressed and the binary caches are built in memory: about 10 MB on disk
        // instead of 120 MB, for a second more per apt command.
        Dir::Cache::pkgcache "";
        Dir::Cache::srcpkgcache "";
        Acquire::GzipIndexes "true";
        Dir::Log "\(logDirectory)";
        APT::Architecture "arm64";
        APT::Architectures { "arm64"; };
        // apt-get download run by root hands the download to the `_apt` user, which may not
        // write to the cache folder; the packages are only unpacked, never installed.
        APT::Sandbox::User "root";
        Acquire::Languages "none";

        """
    }

    /// The environment every apt command of this apt runs with.
    public var environment: [String: String] { ["APT_CONFIG": configPath] }

    /// Creates the folders, the empty dpkg status (no package is installed for arm64) and
    /// writes the configuration and sources.
    public func prepare() throws {
        let manager = FileManager.default
        for directory in [partsDirectory, preferencesDirectory, sourcesDirectory, stateDirectory + "/lists/partial",
                          cacheDirectory + "/archives/partial", logDirectory] {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        if !manager.fileExists(atPath: statusFile) { _ = manager.createFile(atPath: statusFile, contents: Data()) }
        try Data(configuration.utf8).write(to: URL(fileURLWithPath: configPath))
        try Data(sources.utf8).write(to: URL(fileURLWithPath: sourcesDirectory + "/debian.sources"))
    }

    public func update() -> HostCommand {
        HostCommand("apt-get", ["-q", "update"], environment: environment)
    }

    /// The candidate version's record only, so its Depends names one kernel.
    public func show(_ package: String) -> HostCommand {
        HostCommand("apt-cache", ["show", "--no-all-versions", package], environment: environment)
    }

    /// Downloads the .deb files of `packages` into `directory`.
    public func download(_ packages: [String], into directory: String) -> HostCommand {
        HostCommand("apt-get", ["-q", "download"] + packages, environment: environment, directory: directory)
    }

    /// The versioned kernel package a metapackage's record depends on, e.g.
    /// `linux-image-6.1.0-56-cloud-arm64` for `linux-image-cloud-arm64`, and the record's version.
    public static func kernelDependency(ofRecord record: String, metapackage: String) throws -> (package: String, version: String?) {
        var depends: String?
        var version: String?
        for line in record.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty, depends != nil { break }  // only the first record
            if line.hasPrefix("Depends:") { depends = String(line.dropFirst("Depends:".count)) }
            if line.hasPrefix("Version:") { version = line.dropFirst("Version:".count).trimmingCharacters(in: .whitespaces) }
        }
        // "linux-image-6.1.0-56-cloud-arm64 (= 6.1.192-2), other | alternative"
        let names = (depends ?? "").split(separator: ",").flatMap { $0.split(separator: "|") }
            .compactMap { $0.split(separator: " ", omittingEmptySubsequences: true).first.map(String.init) }
        guard let kernel = names.first(where: { $0.hasPrefix("linux-image-") && $0 != metapackage }) else {
            throw KeelError("apt-cache show \(metapackage): no linux-image-* package among its dependencies ('\(depends ?? "")')")
        }
        return (kernel, version)
    }
}
