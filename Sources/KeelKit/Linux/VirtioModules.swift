import Foundation

/// Debian's cloud kernel builds virtio as modules: a guest given a virtio-mmio device
/// (passthrough) loads these from its initramfs. `keel linux fetch` keeps them from the kernel
/// package in `<cache>/modules`.
public enum VirtioModules {
    /// File names in load order (each needs the ones before it: `depends=` in each module).
    public static let files = ["virtio_ring.ko", "virtio.ko", "virtio_mmio.ko", "virtio_blk.ko"]
    /// Where each lies under `lib/modules/<release>/kernel/` of the kernel package.
    static let packagePaths = ["drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko",
                               "drivers/virtio/virtio_mmio.ko", "drivers/block/virtio_blk.ko"]

    /// True when every module is in `directory`.
    public static func present(in directory: String) -> Bool {
        files.allSatisfy { FileManager.default.fileExists(atPath: directory + "/" + $0) }
    }

    /// The modules, in load order, read from `directory`.
    public static func load(from directory: String) throws -> [(name: String, contents: Data)] {
        try files.map { name in
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else {
                throw KeelError("\(directory)/\(name) is missing: run `keel linux fetch --force`")
            }
            return (name, data)
        }
    }

    /// Copies the modules from an unpacked kernel package (`root`) of kernel `release` into
    /// `directory` (the modules are uncompressed .ko files in Debian 12's packages).
    static func keep(from root: String, release: String, into directory: String) throws {
        let manager = FileManager.default
        try? manager.removeItem(atPath: directory)
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (file, path) in zip(files, packagePaths) {
            let source = "\(root)/lib/modules/\(release)/kernel/\(path)"
            guard manager.fileExists(atPath: source) else { throw KeelError("the kernel package has no \(path) (looked at \(source))") }
            try manager.copyItem(atPath: source, toPath: directory + "/" + file)
        }
    }
}
