import Foundation

/// The initramfs of a Linux guest given a virtio-mmio disk (device passthrough): Debian's
/// static busybox, the kernel's virtio modules (`VirtioModules`) and an `/init` that loads them,
/// waits for `/dev/vda`, prints its size and SHA-256 and the virtio interrupt counts from
/// `/proc/interrupts`, then powers off.
public enum PassthroughInitramfs {
    /// What `/init` prints; the host matches on these.
    public enum Marker {
        public static let started = "KEEL-PT: started"
        /// Followed by the disk's size in 512-byte sectors.
        public static let sectors = "KEEL-PT: vda sectors "
        /// Followed by the SHA-256 of the whole disk.
        public static let sha256 = "KEEL-PT: vda sha256 "
        /// Followed by one /proc/interrupts line of a virtio device.
        public static let interrupts = "KEEL-PT: irq "
        public static let noDisk = "KEEL-PT: no /dev/vda"
        public static let done = "KEEL-PT: done"
    }

    public static let applets = ["sh", "mount", "insmod", "sleep", "sha256sum", "grep", "poweroff"]

    public static let initScript = """
        #!/bin/busybox sh
        # /init of Keel's passthrough test: the virtio disk passed through to this VM, read whole.
        export PATH=/bin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        echo "\(Marker.started)"
        for module in \(VirtioModules.files.joined(separator: " ")); do
            [ -f /lib/modules/$module ] || continue
            insmod /lib/modules/$module || echo "KEEL-PT: insmod $module failed"
        done
        tries=0
        while [ ! -b /dev/vda ] && [ "$tries" -lt 30 ]; do
            sleep 1
            tries=$((tries + 1))
        done
        if [ -b /dev/vda ]; then
            read -r sectors < /sys/block/vda/size
            echo "\(Marker.sectors)$sectors"
            set -- $(sha256sum /dev/vda)
            echo "\(Marker.sha256)$1"
            grep virtio /proc/interrupts | while read -r line; do echo "\(Marker.interrupts)$line"; done
        else
            echo "\(Marker.noDisk)"
        fi
        echo "\(Marker.done)"
        poweroff -f

        """

    /// The archive: busybox with its applet links, the modules under /lib/modules, /init.
    public static func archive(busybox: Data, modules: [(name: String, contents: Data)]) throws -> CPIOArchive {
        try Initramfs.busyboxArchive(busybox: busybox, applets: applets, initScript: initScript, modules: modules)
    }
}
