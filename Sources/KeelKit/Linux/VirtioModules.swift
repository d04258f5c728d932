import Foundation

/// Debian's cloud kernel builds virtio as modules: a guest given a virtio-mmio device
/// (passthrough, or served by a device-model VM) loads these from its initramfs. `keel linux
/// fetch` keeps them from the kernel package in `<cache>/modules`.
public enum VirtioModules {
    /// Each module: its file name, where it lies under `lib/modules/<release>/kernel/` of the
    /// kernel package, and whether a fetch needs it (virtio_console is a module only in some
    /// kernels' configurations; where it is built in, there is no file to keep).
    static let modules: [(file: String, path: String, required: Bool)] = [
        ("virtio_ring.ko", "drivers/virtio/virtio_ring.ko", true),
        ("virtio.ko", "drivers/virtio/virtio.ko", true),
        ("virtio_mmio.ko", "drivers/virtio/virtio_mmio.ko", true),
        ("virtio_blk.ko", "drivers/block/virtio_blk.ko", true),
        ("failover.ko", "net/core/failover.ko", true),
        ("net_failover.ko", "drivers/net/net_failover.ko", true),
        ("virtio_net.ko", "drivers/net/virtio_net.ko", true),
        ("virtio_console.ko", "drivers/char/virtio_console.ko", false),
    ]
    /// File names in load order (each needs the ones before it: `depends=` in each module;
    /// virtio_ring before virtio, failover before net_failover before virtio_net).
    public static let files = modules.map(\.file)
    /// The ones every fetch keeps: a cache without one of them is from before it was kept.
    public static let requiredFiles = modules.filter(\.required).map(\.file)
    static let packagePaths = modules.map(\.path)

    /// True when every required module is in `directory`.
    public static func present(in directory: String) -> Bool {
        requiredFiles.allSatisfy { FileManager.default.fileExists(atPath: directory + "/" + $0) }
    }

    /// The modules in `directory`, in load order: every required one, the others if there.
    public static func load(from directory: String) throws -> [(name: String, contents: Data)] {
        try modules.compactMap { module in
            guard let data = FileManager.default.contents(atPath: directory + "/" + module.file) else {
                if !module.required { return nil }
                throw KeelError("\(directory)/\(module.file) is missing: run `keel linux fetch --force`")
            }
            return (module.file, data)
        }
    }

    /// Copies the modules from an unpacked kernel package (`root`) of kernel `release` into
    /// `directory` (the modules are uncompressed .ko files in Debian 12's packages).
    static func keep(from root: String, release: String, into directory: String) throws {
        let manager = FileManager.default
        try? manager.removeItem(atPath: directory)
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for module in modules {
            let source = "\(root)/lib/modules/\(release)/kernel/\(module.path)"
            guard manager.fileExists(atPath: source) else {
                if !module.required { continue }
                throw KeelError("the kernel package has no \(module.path) (looked at \(source))")
            }
            try manager.copyItem(atPath: source, toPath: directory + "/" + module.file)
        }
    }
}
