import Foundation

/// virtio-net between two Linux frontends (issue 15): the system `VirtioNetTests` checks and
/// `keel bench virtio-net` times. A device-model VM on CPU 0 serves one virtio-net device to
/// each of two Debian frontends (the sender on CPU 1, the receiver on CPU 2) on the network
/// "lan". Each frontend's /init loads the virtio modules, brings eth0 up, and pings the other
/// until it answers; the receiver listens with busybox `nc`, the sender sends a random payload
/// from its initramfs and times its `nc` with its own uptime (from before the connect to the
/// end of the connection, which the receiver closes after the last byte); the receiver prints
/// the payload's SHA-256 and sends it back, and the sender powers the machine off.
///
/// The figure is the payload over that time, in MiB/s of wall time (no -icount: multi-threaded
/// TCG, as `keel run`), so it depends on the host. A benchmark figure, never a test's pass or fail.
public enum VirtioNetBench {
    public static let senderAddress = "10.0.0.1", receiverAddress = "10.0.0.2"
    public static let dataPort = 5000, answerPort = 5001
    /// The lines the frontends print start with these.
    public static let senderTag = "NET-A", receiverTag = "NET-B"
    /// The payload the test sends; the benchmark's default is larger.
    public static let testPayloadBytes = 4 << 20
    public static let defaultBenchPayloadBytes = 16 << 20

    public static let applets = ["sh", "mount", "insmod", "sleep", "sha256sum", "ip", "ping", "nc", "mkfifo", "cat", "wc", "poweroff"]

    /// Mounts, the net modules, eth0 up at `address`, and a read-write FIFO on fd 3: a stdin
    /// that never ends for busybox `nc` (at the end of its stdin it shuts its side of the
    /// connection down, and at the end of the socket it exits).
    static func prelude(_ tag: String, address: String) -> String {
        """
        #!/bin/busybox sh
        export PATH=/bin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        echo "\(tag): started"
        for m in \(VirtioModules.files.filter { $0 != "virtio_blk.ko" && $0 != "virtio_console.ko" }.map { String($0.dropLast(3)) }.joined(separator: " ")); do
            insmod /lib/modules/$m.ko || echo "\(tag): insmod $m failed"
        done
        tries=0
        while [ ! -e /sys/class/net/eth0 ] && [ "$tries" -lt 30 ]; do sleep 1; tries=$((tries + 1)); done
        ip link set lo up
        ip addr add \(address)/24 dev eth0
        ip link set eth0 up
        echo "\(tag): eth0 $(cat /sys/class/net/eth0/address)"
        mkfifo /tmp/hold
        exec 3<>/tmp/hold
        # Centiseconds of uptime.
        now() { read up _ < /proc/uptime; echo "${up%.*}${up#*.}"; }
        # The other frontend may still be booting: one ping a second until it answers, then 3.
        pingPeer() {
            tries=0
            until ping -c 1 -W 1 $1 >/dev/null 2>&1 || [ "$tries" -ge 120 ]; do tries=$((tries + 1)); done
            if ping -c 3 $1; then echo "\(tag): ping $1 ok"; else echo "\(tag): ping $1 failed"; fi
        }

        """
    }

    /// The sender: listens for the receiver's answer, sends /data.bin (retrying until the
    /// receiver listens), prints how long its nc took, then the answer, and powers off.
    public static let senderInit = prelude(senderTag, address: senderAddress) + """
        pingPeer \(receiverAddress)
        nc -l -p \(answerPort) <&3 > /tmp/answer &
        answer=$!
        tries=0
        while :; do
            start=$(now)
            nc \(receiverAddress) \(dataPort) < /data.bin && break
            tries=$((tries + 1))
            [ "$tries" -ge 60 ] && { echo "\(senderTag): cannot send"; break; }
            sleep 1
        done
        end=$(now)
        echo "\(senderTag): sent $(wc -c < /data.bin) bytes in $((end - start)) centiseconds"
        wait $answer
        echo "\(senderTag): receiver says $(cat /tmp/answer)"
        poweroff -f

        """

    /// The receiver: listens first, pings the sender, hashes what arrived and sends the hash back.
    public static let receiverInit = prelude(receiverTag, address: receiverAddress) + """
        nc -l -p \(dataPort) <&3 > /tmp/got &
        receiver=$!
        pingPeer \(senderAddress)
        wait $receiver
        set -- $(sha256sum /tmp/got)
        echo "\(receiverTag): received $(wc -c < /tmp/got) bytes sha256 $1"
        tries=0
        until echo "sha256 $1" | nc \(senderAddress) \(answerPort) || [ "$tries" -ge 60 ]; do tries=$((tries + 1)); sleep 1; done
        echo "\(receiverTag): done"
        while :; do sleep 60; done

        """

    /// The system's TOML, its initramfs paths relative to the config; the machine powers off
    /// with the sender.
    public static func config(kernel: String, sender: String, receiver: String) -> String {
        func frontend(_ name: String, cpu: Int, initrd: String) -> String {
            """

            [[vm]]
            name = "\(name)"
            cpus = [\(cpu)]
            memory = { base = 0x4000_0000, size = "256M" }
            kernel = "\(kernel)"
            initrd = "\(initrd)"
            bootargs = "console=ttyAMA0 panic=-1"

            [[vm.virtio]]
            type = "net"
            served_by = "dm"
            network = "lan"
            timeout_ms = 30000

            """
        }
        return """
            board = "qemu-virt"
            power_off_with = "sender"

            [[vm]]
            name = "dm"
            cpus = [0]
            memory = { base = 0x4000_0000, size = "128M" }
            kernel = "\(kernel)"
            device_model = true
            bootargs = "console=ttyAMA0 panic=-1"

            """ + frontend("sender", cpu: 1, initrd: sender) + frontend("receiver", cpu: 2, initrd: receiver)
    }

    /// Writes the payload, both initramfs archives and the config into `directory`; returns the
    /// config's path and the payload's SHA-256.
    public static func prepare(in directory: String, kernel: String, cache: String, payloadBytes: Int) throws -> (config: String, sha256: String) {
        let payload = VirtioFrontendInitramfs.randomBytes(payloadBytes)
        try payload.write(to: URL(fileURLWithPath: directory + "/data.bin"))
        try VirtioFrontendInitramfs.write(to: directory + "/sender.cpio", cache: cache, applets: applets, initScript: senderInit,
                                          files: [("data.bin", payload)])
        try VirtioFrontendInitramfs.write(to: directory + "/receiver.cpio", cache: cache, applets: applets, initScript: receiverInit)
        let path = directory + "/virtio-net.toml"
        try config(kernel: kernel, sender: "sender.cpio", receiver: "receiver.cpio").write(toFile: path, atomically: true, encoding: .utf8)
        return (path, try HostSHA256.file(directory + "/data.bin"))
    }

    /// "NET-A: sent N bytes in C centiseconds" as (N, C).
    public static func sent(_ output: String) -> (bytes: Int, centiseconds: Int)? {
        for line in output.split(separator: "\n") {
            guard let at = line.range(of: "\(senderTag): sent ") else { continue }
            let words = line[at.upperBound...].split(separator: " ")
            if words.count >= 4, let bytes = Int(words[0]), let cs = Int(words[3]) { return (bytes, cs) }
        }
        return nil
    }

    /// MiB per second of `bytes` in `centiseconds` (a transfer under 10 ms counts as 10 ms).
    public static func mibPerSecond(bytes: Int, centiseconds: Int) -> Double {
        Double(bytes) / 1_048_576 / (Double(max(centiseconds, 1)) / 100)
    }

    /// One run's figures.
    public struct Run: Equatable, Sendable {
        public var bytes: Int
        /// The sender's nc, in its uptime.
        public var seconds: Double
        /// The whole `keel run`, host clock.
        public var wall: Double
        public var mibPerSecond: Double { VirtioNetBench.mibPerSecond(bytes: bytes, centiseconds: Int((seconds * 100).rounded())) }
    }

    /// One `keel run --config` of the system with a fresh payload, by the `keel` executable
    /// `keel`; throws unless the payload arrived whole (both frontends report its SHA-256).
    public static func run(keel: String, kernel: String, cache: String, payloadBytes: Int, timeout: Double) throws -> Run {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-bench-net-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The config names the kernel relative to itself: give it the absolute path.
        let (config, hash) = try prepare(in: directory, kernel: URL(fileURLWithPath: kernel).standardizedFileURL.path, cache: cache,
                                         payloadBytes: payloadBytes)
        let start = DispatchTime.now()
        let (status, output) = try LinuxBench.runProcess(keel, ["run", "--config", config, "--timeout", String(Int(timeout))], timeout: timeout + 30)
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        guard status == 0, output.contains("\(receiverTag): received \(payloadBytes) bytes sha256 \(hash)"),
              output.contains("\(senderTag): receiver says sha256 \(hash)"), let figure = sent(output), figure.bytes == payloadBytes else {
            throw KeelError("virtio-net: the payload did not arrive whole (keel run status \(status.map(String.init) ?? "none"))\n\(LinuxBench.tail(output))")
        }
        return Run(bytes: figure.bytes, seconds: Double(figure.centiseconds) / 100, wall: wall)
    }

    public static func jsonSection(_ runs: [Run]) -> [String: Any] {
        [
            "icount": "none (multi-threaded TCG)", "host_cores": ProcessInfo.processInfo.activeProcessorCount,
            "payload_bytes": runs.first?.bytes ?? 0, "statistic": "median of the runs",
            "clock": "the sender's uptime around its busybox nc (connect to the receiver's close)",
            "mib_per_second": LinuxWallBench.median(runs.map(\.mibPerSecond)),
            "runs_mib_per_second": runs.map(\.mibPerSecond), "runs_seconds": runs.map(\.seconds), "runs_wall_s": runs.map(\.wall),
        ]
    }
}
