import Foundation
@testable import KeelKit

/// A scratch directory holding a config file and the images it names: `raw.bin` (a bare
/// binary), `Image` (a minimal arm64 Image header, image_size 8 MiB) and `initrd.cpio`.
final class ConfigFixture {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("keel-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(repeating: 0xD5, count: 4096).write(to: directory.appendingPathComponent("raw.bin"))
        try ConfigFixture.linuxImage(imageSize: 8 << 20).write(to: directory.appendingPathComponent("Image"))
        try Data(repeating: 0x30, count: 1 << 20).write(to: directory.appendingPathComponent("initrd.cpio"))
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    static func linuxImage(imageSize: UInt64) -> Data {
        var header = Data(count: 4096)
        func put(_ value: UInt64, at offset: Int) {
            for i in 0..<8 { header[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
        put(0x80000, at: 8)          // text_offset
        put(imageSize, at: 16)       // image_size
        put(0x2, at: 24)             // flags
        header.replaceSubrange(0x38..<0x3C, with: Array("ARM\u{64}".utf8))
        return header
    }

    func write(_ name: String, _ bytes: Data) throws { try bytes.write(to: directory.appendingPathComponent(name)) }

    /// Reads and validates `toml` as `system.toml` in the directory.
    func validate(_ toml: String) throws -> ValidatedSystem {
        let path = directory.appendingPathComponent("system.toml").path
        try toml.write(toFile: path, atomically: true, encoding: .utf8)
        return try ConfigValidator.validate(try ConfigReader.parse(toml, file: "system.toml", directory: directory.path))
    }

    /// The messages of the ConfigError `toml` gives (empty if it is valid).
    func problems(_ toml: String) -> [String] {
        do {
            _ = try validate(toml)
            return []
        } catch let error as ConfigError {
            return error.messages
        } catch {
            return ["unexpected \(error)"]
        }
    }
}

/// A valid single-VM system the tests change one thing in.
let rawVM = """
    board = "qemu-virt"

    [[vm]]
    name = "demo"
    cpus = [0]
    memory = { base = 0x4000_0000, size = "256M" }
    kernel = "raw.bin"
    kind = "raw"
    """

let linuxVM = """
    board = "qemu-virt"

    [[vm]]
    name = "linux"
    cpus = [0, 1]
    memory = { base = 0x4000_0000, size = "256M" }
    kernel = "Image"
    initrd = "initrd.cpio"
    dtb = "generate"
    bootargs = "console=ttyAMA0"
    """
