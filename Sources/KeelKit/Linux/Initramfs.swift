import Foundation

/// The initramfs Keel's Linux guests boot into: Debian's static busybox and an `/init` script
/// that proves the guest got to user space, on every CPU, and powers off by itself (PSCI
/// SYSTEM_OFF), so a run needs no one at the console.
public enum Initramfs {
    /// What `/init` prints. The host matches on these, so they are stated once, here.
    public enum Marker {
        /// Written to /dev/kmsg at kernel log level 2 (critical): it reaches the console even
        /// with `quiet`, and with the kernel's timestamp (a boot time under `-icount`).
        public static let kernelLog = "keel-init: reached /init"
        /// Around the workload, also in the kernel log: its timestamps time it (`keel bench linux`).
        public static let workloadStartLog = "keel-init: workload start"
        public static let workloadEndLog = "keel-init: workload end"
        public static let started = "KEEL-INIT: started"
        /// Followed by the number of online CPUs.
        public static let cpusOnline = "KEEL-INIT: cpus online "
        /// Followed by "N jobs", N the jobs that exited 0 (one per online CPU when all is well).
        public static let workloadDone = "KEEL-INIT: workload done "
        public static let poweringOff = "KEEL-INIT: powering off"
    }

    /// The busybox applets `/init` calls by name, as symlinks in /bin.
    public static let applets = ["sh", "mount", "taskset", "sha256sum", "poweroff", "insmod"]

    /// `/init`. Busybox ash builtins do the rest (echo, read, test, wait, arithmetic). The kernel
    /// starts init with no PATH. Each job hashes busybox (1.8 MB) three times: well under a
    /// second per CPU under QEMU TCG, yet long enough that the jobs overlap.
    public static let initScript = """
        #!/bin/busybox sh
        # /init of Keel's Linux test initramfs, written by `keel linux fetch`. The lines starting
        # "KEEL-INIT:" are what the host looks for (Initramfs.Marker); keep them as they are.
        export PATH=/bin

        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev

        echo "<2>\(Marker.kernelLog)" > /dev/kmsg
        echo "\(Marker.started)"

        # The kernel's virtio modules (`keel linux fetch` keeps them), in dependency order, so
        # virtio devices (passed through, or served by a device-model VM) come up as /dev/vda,
        # eth0, hvc0; quietly, and skipped when absent.
        for module in \(VirtioModules.files.map { String($0.dropLast(3)) }.joined(separator: " ")); do
            [ -f /lib/modules/$module.ko ] && insmod /lib/modules/$module.ko 2> /dev/null
        done

        # The online CPUs' numbers, from ranges such as "0-3" or "0,2-3".
        cpus=""
        read -r online < /sys/devices/system/cpu/online
        IFS=,
        for range in $online; do
            i=${range%-*}
            while [ "$i" -le "${range#*-}" ]; do
                cpus="$cpus $i"
                i=$((i + 1))
            done
        done
        unset IFS
        set -- $cpus
        echo "\(Marker.cpusOnline)$#"

        # One job per online CPU, pinned to it: a CPU-bound workload, timed by the kernel's
        # timestamps of the two log lines around it.
        echo "<2>\(Marker.workloadStartLog)" > /dev/kmsg
        pids=""
        for cpu in $cpus; do
            taskset -c "$cpu" sh -c 'for pass in 1 2 3; do sha256sum /bin/busybox > /dev/null || exit 1; done' &
            pids="$pids $!"
        done
        ok=0
        for pid in $pids; do
            wait "$pid" && ok=$((ok + 1))
        done
        echo "<2>\(Marker.workloadEndLog)" > /dev/kmsg
        echo "\(Marker.workloadDone)$ok jobs"

        echo "\(Marker.poweringOff)"
        poweroff -f
        # Only if PSCI SYSTEM_OFF failed: init exiting panics the kernel, which says so.
        echo "KEEL-INIT: poweroff failed"
        exit 1

        """

    /// The archive: /bin/busybox and its applet links, /init, the mount points, and
    /// /dev/console, which the kernel opens for init's standard streams before /init mounts
    /// devtmpfs (without it init would run with no output); `modules` (`VirtioModules`) in
    /// /lib/modules.
    public static func archive(busybox: Data, modules: [(name: String, contents: Data)] = []) throws -> CPIOArchive {
        try busyboxArchive(busybox: busybox, applets: applets, initScript: initScript, modules: modules)
    }

    /// Every busybox initramfs Keel writes (this one, `PassthroughInitramfs`,
    /// `VirtioFrontendInitramfs`): the directories, /dev/console, busybox and `applets` as
    /// links to it, `modules` in /lib/modules, `files` (path, contents) and `initScript` as /init.
    static func busyboxArchive(busybox: Data, applets: [String], initScript: String,
                               modules: [(name: String, contents: Data)] = [],
                               files: [(path: String, contents: Data)] = [],
                               directories: [String] = ["bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules"]) throws -> CPIOArchive {
        var archive = CPIOArchive()
        for directory in directories {
            try archive.addDirectory(directory, permissions: directory == "tmp" ? 0o1777 : 0o755)
        }
        try archive.addCharacterDevice("dev/console", major: 5, minor: 1, permissions: 0o600)
        try archive.addFile("bin/busybox", contents: busybox, permissions: 0o755)
        for applet in applets {
            try archive.addSymlink("bin/\(applet)", target: "busybox")
        }
        for module in modules {
            try archive.addFile("lib/modules/\(module.name)", contents: module.contents, permissions: 0o644)
        }
        for file in files {
            try archive.addFile(file.path, contents: file.contents, permissions: 0o644)
        }
        try archive.addFile("init", contents: Data(initScript.utf8), permissions: 0o755)
        return archive
    }
}
