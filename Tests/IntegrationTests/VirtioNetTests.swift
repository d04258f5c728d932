import Foundation
import KeelCore
import KeelKit
import Testing

/// virtio-net end to end (issue 15): two Debian Linux frontends, each with one virtio-net
/// device on the network "lan", switched by keel-dm in a device-model VM. They ping each other
/// and the sender sends a random file over TCP with busybox `nc`; the receiver's SHA-256 must be
/// the host's.
@Suite("virtio-net between two frontends served by a device-model VM")
struct VirtioNetTests {
    static let senderAddress = "10.0.0.1", receiverAddress = "10.0.0.2"
    static let dataPort = 5000, answerPort = 5001
    static let payloadBytes = 4 << 20

    static let applets = ["sh", "mount", "insmod", "sleep", "sha256sum", "ip", "ping", "nc", "mkfifo", "cat", "wc", "poweroff"]

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
        for m in virtio_ring virtio virtio_mmio failover net_failover virtio_net; do insmod /lib/modules/$m.ko || echo "\(tag): insmod $m failed"; done
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
    /// receiver listens), prints how long nc took (it ends when the receiver closed the
    /// connection, after the last byte), then the answer, and powers the machine off.
    static let senderInit = prelude("NET-A", address: senderAddress) + """
        pingPeer \(receiverAddress)
        nc -l -p \(answerPort) <&3 > /tmp/answer &
        answer=$!
        tries=0
        while :; do
            start=$(now)
            nc \(receiverAddress) \(dataPort) < /data.bin && break
            tries=$((tries + 1))
            [ "$tries" -ge 60 ] && { echo "NET-A: cannot send"; break; }
            sleep 1
        done
        end=$(now)
        echo "NET-A: sent $(wc -c < /data.bin) bytes in $((end - start)) centiseconds"
        wait $answer
        echo "NET-A: receiver says $(cat /tmp/answer)"
        poweroff -f

        """

    /// The receiver: listens first, pings the sender, hashes what arrived and sends the hash back.
    static let receiverInit = prelude("NET-B", address: receiverAddress) + """
        nc -l -p \(dataPort) <&3 > /tmp/got &
        receiver=$!
        pingPeer \(senderAddress)
        wait $receiver
        set -- $(sha256sum /tmp/got)
        echo "NET-B: received $(wc -c < /tmp/got) bytes sha256 $1"
        tries=0
        until echo "sha256 $1" | nc \(senderAddress) \(answerPort) || [ "$tries" -ge 60 ]; do tries=$((tries + 1)); sleep 1; done
        echo "NET-B: done"
        while :; do sleep 60; done

        """

    /// The system: the device-model VM on CPU 0, the sender on 1, the receiver on 2; the
    /// machine powers off with the sender.
    static func config(sender: String, receiver: String) -> String {
        func frontend(_ name: String, cpu: Int, initrd: String) -> String {
            """

            [[vm]]
            name = "\(name)"
            cpus = [\(cpu)]
            memory = { base = 0x4000_0000, size = "256M" }
            kernel = "\(LinuxTests.kernel)"
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
            kernel = "\(LinuxTests.kernel)"
            device_model = true
            bootargs = "console=ttyAMA0 panic=-1"

            """ + frontend("sender", cpu: 1, initrd: sender) + frontend("receiver", cpu: 2, initrd: receiver)
    }

    /// "NET-A: sent N bytes in C centiseconds" as (N, C).
    static func sent(_ output: String) -> (bytes: Int, centiseconds: Int)? {
        for line in output.split(separator: "\n") {
            guard let at = line.range(of: "NET-A: sent ") else { continue }
            let words = line[at.upperBound...].split(separator: " ")
            if words.count >= 4, let bytes = Int(words[0]), let cs = Int(words[3]) { return (bytes, cs) }
        }
        return nil
    }

    @Test("two frontends on one network ping each other and move 4 MiB over TCP with the same SHA-256")
    func pingAndTCP() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let scratch = try PackTests.Scratch()
        let payload = VirtioFrontendInitramfs.randomBytes(Self.payloadBytes)
        try payload.write(to: URL(fileURLWithPath: scratch.path("data.bin")))
        let hash = try VirtioDiskTests.sha256(scratch.path("data.bin"))
        try VirtioFrontendInitramfs.write(to: scratch.path("sender.cpio"), initScript: Self.senderInit, applets: Self.applets,
                                          files: [("data.bin", payload)])
        try VirtioFrontendInitramfs.write(to: scratch.path("receiver.cpio"), initScript: Self.receiverInit, applets: Self.applets)
        let config = try scratch.config(Self.config(sender: "sender.cpio", receiver: "receiver.cpio"))

        let started = Date()
        let run = try runKeel(["run", "--config", config, "--timeout", "600"])
        let wall = Date().timeIntervalSince(started)
        let out = run.stdout
        #expect(run.status == 0, "\(run.stderr)\n\(out.suffix(6000))")
        #expect(out.contains("keel-dm: serving 2 devices"), "\(out.suffix(6000))")
        // Each frontend has its own MAC: the switch could not tell them apart otherwise.
        let macs = [1, 2].map { DeviceModelInitramfs.mac(frontend: $0, transport: 0) }
        #expect(out.contains("NET-A: eth0 \(macs[0])") && out.contains("NET-B: eth0 \(macs[1])"), "\(out.suffix(6000))")
        #expect(out.contains("NET-A: ping \(Self.receiverAddress) ok"), "\(out.suffix(6000))")
        #expect(out.contains("NET-B: ping \(Self.senderAddress) ok"), "\(out.suffix(6000))")
        #expect(out.contains("NET-B: received \(Self.payloadBytes) bytes sha256 \(hash)"), "\(out.suffix(6000))")
        #expect(out.contains("NET-A: receiver says sha256 \(hash)"), "\(out.suffix(6000))")
        #expect(!out.contains("did not answer"), "no forwarded access timed out")
        for line in run.lines where !line.contains("Kernel command line:") {
            for word in LinuxTests.trouble { #expect(!line.contains(word), "guest log: \(line)") }
        }
        let figure = try #require(Self.sent(out), "\(out.suffix(6000))")
        #expect(figure.bytes == Self.payloadBytes)
        let mibPerSecond = Double(figure.bytes) / 1_048_576 / max(Double(figure.centiseconds) / 100, 0.01)
        print(String(format: "virtio-net TCP: %d bytes in %.2f s of the sender's uptime: %.2f MiB/s (whole run %.0f s wall)",
                     figure.bytes, Double(figure.centiseconds) / 100, mibPerSecond, wall))
    }
}
