import Foundation
import KeelKit

/// The initramfs of a Linux frontend in the virtio tests: Debian's static busybox with
/// `applets`, the kernel's virtio modules (`VirtioModules`) in `/lib/modules`, `files` (path in
/// the archive, contents) and `initScript` as `/init`.
enum VirtioFrontendInitramfs {
    static func write(to path: String, initScript: String, applets: [String], files: [(path: String, contents: Data)] = []) throws {
        var archive = CPIOArchive()
        for directory in ["bin", "dev", "proc", "sys", "tmp", "mnt", "lib", "lib/modules"] {
            try archive.addDirectory(directory, permissions: 0o755)
        }
        try archive.addCharacterDevice("dev/console", major: 5, minor: 1, permissions: 0o600)
        try archive.addFile("bin/busybox", contents: try Data(contentsOf: URL(fileURLWithPath: PassthroughTests.busybox)), permissions: 0o755)
        for applet in applets {
            try archive.addSymlink("bin/\(applet)", target: "busybox")
        }
        for module in try VirtioModules.load(from: PassthroughTests.modules) {
            try archive.addFile("lib/modules/\(module.name)", contents: module.contents, permissions: 0o644)
        }
        for file in files {
            try archive.addFile(file.path, contents: file.contents, permissions: 0o644)
        }
        try archive.addFile("init", contents: Data(initScript.utf8), permissions: 0o755)
        try archive.encoded().write(to: URL(fileURLWithPath: path))
    }

    /// `count` random bytes, eight at a time.
    static func randomBytes(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        var data = Data(count: count)
        data.withUnsafeMutableBytes { buffer in
            for i in stride(from: 0, to: count - count % 8, by: 8) {
                buffer.storeBytes(of: generator.next() as UInt64, toByteOffset: i, as: UInt64.self)
            }
            for i in (count - count % 8)..<count { buffer[i] = UInt8.random(in: 0...255) }
        }
        return data
    }
}
