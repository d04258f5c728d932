import Foundation
import KeelCore
import KeelKit
import Testing

/// virtio-blk end to end (issue 15): Debian's Linux as a frontend, its disks served by keel-dm in
/// a second Linux VM (the device-model VM), every register access forwarded by Keel and every
/// buffer moved by keel-dm through its window on the frontend's RAM.
@Suite("virtio disks served by a device-model VM")
struct VirtioDiskTests {
    /// What the frontend's /init prints; the host matches on these.
    static let initScript = """
        #!/bin/busybox sh
        export PATH=/bin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        echo "APP: started"
        for m in virtio_ring virtio virtio_mmio virtio_blk virtio_console; do insmod /lib/modules/$m.ko || echo "APP: insmod $m failed"; done
        tries=0
        while [ ! -b /dev/vdb ] && [ "$tries" -lt 30 ]; do sleep 1; tries=$((tries + 1)); done
        set -- $(sha256sum /dev/vda); echo "APP: vda sha256 $1"
        # A write through the page cache, the cache dropped, and a re-read from keel-dm's disk.
        echo "written by the frontend through keel-dm" | dd of=/dev/vda bs=512 seek=100 conv=fsync 2>/dev/null
        sync
        echo 3 > /proc/sys/vm/drop_caches
        echo "APP: reread $(dd if=/dev/vda bs=512 skip=100 count=1 2>/dev/null | head -n 1)"
        set -- $(sha256sum /dev/vda); echo "APP: vda sha256 after $1"
        mkdir -p /mnt
        if mount -t ext4 -o ro /dev/vdb /mnt; then
            for f in /mnt/hello.txt /mnt/data/blob; do set -- $(sha256sum $f); echo "APP: file $f $1"; done
            umount /mnt
        else
            echo "APP: mount failed"
        fi
        # The virtio console, served by keel-dm too: its lines come out under the frontend's name.
        tries=0
        while [ ! -c /dev/hvc0 ] && [ "$tries" -lt 10 ]; do sleep 1; tries=$((tries + 1)); done
        echo "hello through virtio-console from the frontend" > /dev/hvc0 || echo "APP: hvc0 failed"
        sleep 1
        echo "APP: done"
        poweroff -f

        """

    @Test("Linux reads a random disk back by its SHA-256, writes and re-reads it, mounts an ext4 image made on the host, and writes a line to its virtio console")
    func blk() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let scratch = try PackTests.Scratch()
        // The raw disk: 1 MiB of random bytes.
        try VirtioFrontendInitramfs.randomBytes(1 << 20).write(to: URL(fileURLWithPath: scratch.path("raw.img")))
        let rawHash = try HostSHA256.file(scratch.path("raw.img"))
        // The ext4 image, made from a folder with `mke2fs -d`.
        let tree = scratch.path("tree")
        try FileManager.default.createDirectory(atPath: tree + "/data", withIntermediateDirectories: true)
        try Data("hello from the host\n".utf8).write(to: URL(fileURLWithPath: tree + "/hello.txt"))
        try VirtioFrontendInitramfs.randomBytes(300_000).write(to: URL(fileURLWithPath: tree + "/data/blob"))
        let mke2fs = Process()
        mke2fs.executableURL = URL(fileURLWithPath: "/usr/sbin/mke2fs")
        mke2fs.arguments = ["-q", "-t", "ext4", "-d", tree, scratch.path("fs.img"), "4M"]
        try mke2fs.run()
        mke2fs.waitUntilExit()
        try #require(mke2fs.terminationStatus == 0)
        let hello = try HostSHA256.file(tree + "/hello.txt"), blobHash = try HostSHA256.file(tree + "/data/blob")

        try VirtioFrontendInitramfs.write(to: scratch.path("app.cpio"), cache: Repo.path(LinuxFetch.defaultCache),
                                          applets: ["sh", "mount", "umount", "insmod", "sleep", "sha256sum", "dd", "sync", "head", "mkdir", "poweroff"],
                                          initScript: Self.initScript)

        let config = try scratch.config("""
            board = "qemu-virt"
            power_off_with = "app"

            \(DeviceModelSystem.deviceModelVM())
            \(DeviceModelSystem.linuxFrontend(initrd: "app.cpio"))
            \(DeviceModelSystem.blk(disk: "raw.img"))
            \(DeviceModelSystem.blk(disk: "fs.img"))
            [[vm.virtio]]
            type = "console"
            served_by = "dm"
            timeout_ms = 30000

            """)
        let run = try runKeel(["run", "--config", config, "--timeout", "300"])
        let out = run.stdout
        #expect(run.status == 0, "\(run.stderr)\n\(out.suffix(4000))")
        #expect(out.contains("keel-dm: serving 3 devices"), "\(out.suffix(4000))")
        // keel-dm prints the frontend's console lines behind its VM number, as Keel prints its
        // PL011 lines; they reach the terminal through the device model's own console.
        #expect(out.contains("[vm0] [vm1] hello through virtio-console from the frontend"), "\(out.suffix(4000))")
        #expect(out.contains("APP: vda sha256 \(rawHash)"), "\(out.suffix(4000))")
        #expect(out.contains("APP: reread written by the frontend through keel-dm"), "\(out.suffix(4000))")
        #expect(!out.contains("APP: vda sha256 after \(rawHash)"), "the write changed the disk")
        #expect(out.contains("APP: file /mnt/hello.txt \(hello)") && out.contains("APP: file /mnt/data/blob \(blobHash)"), "\(out.suffix(4000))")
        #expect(out.contains("APP: done"))
        #expect(!out.contains("did not answer"), "no forwarded access timed out")
    }
}
