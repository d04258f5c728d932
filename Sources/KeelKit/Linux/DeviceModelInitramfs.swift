import Foundation

/// The initramfs `keel pack` (and `keel run --config`) gives a Linux VM with `device_model =
/// true` (docs/device-model.md): Debian's static busybox, the driver `/lib/modules/keel-dm.ko`,
/// the device model `/bin/keel-dm`, each blk disk it serves as `/disks/<device>.img`,
/// `/etc/keel-dm.conf` naming what it serves, and an `/init` that loads the driver and becomes
/// keel-dm (`keel-dm --poll` with `device_model_poll = true`).
public enum DeviceModelInitramfs {
    /// What `/init` prints; the host matches on these.
    public enum Marker {
        public static let started = "KEEL-DM: started"
        public static let driverLoaded = "KEEL-DM: keel-dm.ko loaded"
        public static let driverFailed = "KEEL-DM: insmod keel-dm.ko failed"
        /// Followed by the number of devices in /etc/keel-dm.conf.
        public static let devices = "KEEL-DM: devices "
        /// Followed by the command line: /init becomes keel-dm.
        public static let exec = "KEEL-DM: exec "
        public static let noProgram = "KEEL-DM: no /bin/keel-dm"
    }

    public static let programPath = "/bin/keel-dm"
    public static let driverPath = "/lib/modules/keel-dm.ko"
    public static let configurationPath = "/etc/keel-dm.conf"
    /// Where the disk of device `device` is in the initramfs.
    public static func diskPath(device: Int) -> String { "/disks/\(device).img" }

    public static let applets = ["sh", "mount", "insmod", "poweroff"]

    /// keel-dm's command line: `--poll` for a VM with `device_model_poll = true`.
    public static func commandLine(poll: Bool) -> String {
        "\(programPath)\(poll ? " --poll" : "") --conf \(configurationPath)"
    }

    /// `/init`; `poll`: keel-dm spins on the request page instead of waiting for interrupts.
    public static func initScript(poll: Bool) -> String { """
        #!/bin/busybox sh
        # /init of a device-model VM, written by `keel pack` (docs/device-model.md). The lines
        # starting "KEEL-DM:" are what the host looks for (DeviceModelInitramfs.Marker).
        export PATH=/bin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        echo "\(Marker.started)"
        if insmod \(driverPath); then
            echo "\(Marker.driverLoaded)"
        else
            echo "\(Marker.driverFailed)"
        fi
        devices=0
        while read -r line; do
            [ -n "$line" ] && devices=$((devices + 1))
        done < \(configurationPath)
        echo "\(Marker.devices)$devices"
        if [ -x \(programPath) ]; then
            echo "\(Marker.exec)\(commandLine(poll: poll))"
            exec \(commandLine(poll: poll))
        fi
        echo "\(Marker.noProgram)"
        poweroff -f

        """
    }

    /// The locally administered, unicast MAC of transport `transport` of frontend VM `frontend`:
    /// 02:4b:45:4c:ff:tt ("KEL").
    public static func mac(frontend: Int, transport: Int) -> String {
        [0x02, 0x4B, 0x45, 0x4C, UInt8(truncatingIfNeeded: frontend), UInt8(truncatingIfNeeded: transport)]
            .map { String(format: "%02x", $0) }.joined(separator: ":")
    }

    /// `/etc/keel-dm.conf` of device-model VM `vm`: a line per device it serves, device 0 first
    /// (docs/device-model.md): `blk <device> /disks/<device>.img`, `net <device> <mac>`,
    /// `console <device>`.
    public static func configuration(_ plan: VirtioPlan, servedBy vm: Int) -> String {
        plan.served(by: vm).map { device in
            switch device.kind {
            case .blk: return "blk \(device.device) \(diskPath(device: device.device))\n"
            case .net: return "net \(device.device) \(mac(frontend: device.frontend, transport: device.transport))\n"
            case .console: return "console \(device.device)\n"
            }
        }.joined()
    }

    /// The archive from its parts; `disks` by device index.
    public static func archive(busybox: Data, driver: Data, program: Data, configuration: String,
                               disks: [(device: Int, contents: Data)], poll: Bool = false) throws -> CPIOArchive {
        var archive = CPIOArchive()
        for directory in ["bin", "dev", "proc", "sys", "tmp", "etc", "lib", "lib/modules", "disks"] {
            try archive.addDirectory(directory, permissions: directory == "tmp" ? 0o1777 : 0o755)
        }
        try archive.addCharacterDevice("dev/console", major: 5, minor: 1, permissions: 0o600)
        try archive.addFile("bin/busybox", contents: busybox, permissions: 0o755)
        for applet in applets {
            try archive.addSymlink("bin/\(applet)", target: "busybox")
        }
        try archive.addFile(String(driverPath.dropFirst()), contents: driver, permissions: 0o644)
        try archive.addFile(String(programPath.dropFirst()), contents: program, permissions: 0o755)
        try archive.addFile(String(configurationPath.dropFirst()), contents: Data(configuration.utf8), permissions: 0o644)
        for disk in disks {
            // Writable: keel-dm keeps the disk's writes for the VM's lifetime.
            try archive.addFile(String(diskPath(device: disk.device).dropFirst()), contents: disk.contents, permissions: 0o644)
        }
        try archive.addFile("init", contents: Data(initScript(poll: poll).utf8), permissions: 0o755)
        return archive
    }

    /// The archive of device-model VM `vm` (its index in `system`): the files found by `files`,
    /// the disks of the blk devices it serves read from the config's paths.
    public static func archive(for vm: Int, in system: ValidatedSystem, files: DeviceModelFiles) throws -> CPIOArchive {
        let plan = VirtioPlan(system.config)
        func read(_ path: String, _ what: String) throws -> Data {
            guard let data = FileManager.default.contents(atPath: path) else { throw KeelError("\(what) '\(path)' cannot be read") }
            return data
        }
        let disks = try plan.served(by: vm).compactMap { device -> (device: Int, contents: Data)? in
            guard device.kind == .blk, let path = device.disk else { return nil }
            return (device.device, try read(path, "the disk"))
        }
        return try archive(busybox: try read(files.busybox, "busybox"), driver: try read(files.driver, "the driver"),
                           program: try read(files.program, "the device model"),
                           configuration: configuration(plan, servedBy: vm), disks: disks,
                           poll: system.config.vms[vm].deviceModelPoll)
    }
}

/// Where `keel pack` finds what goes into a device model's initramfs: `keel-dm` and
/// `keel-dm.ko` (built by `make` into `build/keel-dm/`) and busybox (kept by `keel linux fetch`
/// in `.cache/linux/busybox`).
public struct DeviceModelFiles: Equatable, Sendable {
    public var program: String
    public var driver: String
    public var busybox: String

    public init(program: String, driver: String, busybox: String) {
        self.program = program
        self.driver = driver
        self.busybox = busybox
    }

    /// The build products' folder, in order: `$KEEL_DM_DIR`, `../keel-dm/` beside the `keel`
    /// executable as invoked (`build/bin/keel` -> `build/keel-dm/`), `build/keel-dm/` under the
    /// current directory; the first holding both files. Busybox: `$KEEL_LINUX_CACHE/busybox`,
    /// `../../.cache/linux/busybox` beside the executable, `.cache/linux/busybox` under the
    /// current directory.
    public static func locate(executable: String = CommandLine.arguments[0],
                              environment: [String: String] = ProcessInfo.processInfo.environment,
                              currentDirectory: String = FileManager.default.currentDirectoryPath) throws -> DeviceModelFiles {
        let manager = FileManager.default
        let bin = URL(fileURLWithPath: executable).deletingLastPathComponent()
        var folders: [String] = []
        if let dir = environment["KEEL_DM_DIR"], !dir.isEmpty { folders.append(dir) }
        folders.append(bin.appendingPathComponent("../keel-dm").standardized.path)
        folders.append(currentDirectory + "/build/keel-dm")
        guard let folder = folders.first(where: { manager.fileExists(atPath: $0 + "/keel-dm") && manager.fileExists(atPath: $0 + "/keel-dm.ko") }) else {
            throw KeelError("cannot find the device model's keel-dm and keel-dm.ko (looked in \(folders.joined(separator: ", "))): run `make` (or set KEEL_DM_DIR)", status: .noInput)
        }
        var caches: [String] = []
        if let cache = environment["KEEL_LINUX_CACHE"], !cache.isEmpty { caches.append(cache) }
        caches.append(bin.appendingPathComponent("../../" + LinuxFetch.defaultCache).standardized.path)
        caches.append(currentDirectory + "/" + LinuxFetch.defaultCache)
        guard let cache = caches.first(where: { manager.fileExists(atPath: $0 + "/busybox") }) else {
            throw KeelError("cannot find busybox for the device model's initramfs (looked in \(caches.joined(separator: ", "))): run `make linux` (keel linux fetch)", status: .noInput)
        }
        return DeviceModelFiles(program: folder + "/keel-dm", driver: folder + "/keel-dm.ko", busybox: cache + "/busybox")
    }
}
