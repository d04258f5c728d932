import Foundation

/// The initramfs of a Linux frontend given virtio devices served by a device-model VM (the
/// virtio tests and `keel bench virtio-net`): Debian's static busybox with `applets`, the
/// kernel's virtio modules (`VirtioModules`, loaded by `/init` itself) in `/lib/modules`,
/// `files` (path in the archive, contents) and `initScript` as `/init`.
public enum VirtioFrontendInitramfs {
    public static func archive(busybox: Data, modules: [(name: String, contents: Data)], applets: [String], initScript: String,
                               files: [(path: String, contents: Data)] = []) throws -> CPIOArchive {
        try Initramfs.busyboxArchive(busybox: busybox, applets: applets, initScript: initScript, modules: modules, files: files,
                                     directories: ["bin", "dev", "proc", "sys", "tmp", "mnt", "lib", "lib/modules"])
    }

    /// The archive with busybox and the modules of a `keel linux fetch` cache, written to `path`.
    public static func write(to path: String, cache: String, applets: [String], initScript: String,
                             files: [(path: String, contents: Data)] = []) throws {
        let fetch = LinuxFetch(cache: cache)
        guard let busybox = FileManager.default.contents(atPath: cache + "/busybox") else {
            throw KeelError("\(cache)/busybox cannot be read: run `make linux` (keel linux fetch)", status: .noInput)
        }
        let archive = try archive(busybox: busybox, modules: try VirtioModules.load(from: fetch.modulesPath), applets: applets,
                                  initScript: initScript, files: files)
        try archive.encoded().write(to: URL(fileURLWithPath: path))
    }

    /// `count` random bytes, eight at a time (a payload whose hash no bug reproduces).
    public static func randomBytes(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        var data = Data(count: count)
        let whole = count - count % 8
        data.withUnsafeMutableBytes { buffer in
            for i in stride(from: 0, to: whole, by: 8) {
                buffer.storeBytes(of: generator.next() as UInt64, toByteOffset: i, as: UInt64.self)
            }
            for i in whole..<count { buffer[i] = UInt8.random(in: 0...255, using: &generator) }
        }
        return data
    }
}
