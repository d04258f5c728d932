import Foundation
import KeelCore

/// The `config` target: the input as a `system.toml` (TOMLPrecheck, TOMLKit, ConfigReader,
/// ConfigValidator), read in a scratch folder laid out like the repository, so the example
/// configs' relative paths and the test fixtures' file names name real files.
extension FuzzTargets {
    static func config(_ input: [UInt8]) {
        guard let text = String(validating: input, as: UTF8.self) else { return }  // ConfigReader.load refuses it
        do throws(ConfigError) {
            _ = try ConfigValidator.validate(try ConfigReader.parse(text, file: "system.toml", directory: configFolder))
        } catch {
            precondition(!error.messages.isEmpty, "config: a ConfigError without problems")
        }
    }

    /// root/boards/examples, beside root/build/guests/*.bin and root/.cache/linux/*; made once per
    /// process and left for the next (small files, the same every time).
    static let configFolder: String = {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("keel-fuzz-config").path
        let folder = root + "/boards/examples"
        let image = linuxImageHeader(imageSize: 8 << 20)
        let files: [(String, Data)] = [
            ("/build/guests/demo.bin", Data(repeating: 0xD5, count: 4096)), ("/build/guests/hvc.bin", Data(repeating: 0xD5, count: 4096)),
            ("/.cache/linux/Image", image), ("/.cache/linux/initramfs.cpio", Data(repeating: 0x30, count: 4096)),
            ("/boards/examples/raw.bin", Data(repeating: 0xD5, count: 4096)), ("/boards/examples/Image", image),
            ("/boards/examples/initrd.cpio", Data(repeating: 0x30, count: 4096)), ("/boards/examples/empty.bin", Data()),
        ]
        for (path, contents) in files {
            let url = URL(fileURLWithPath: root + path)
            try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            if FileManager.default.contents(atPath: url.path) != contents { try? contents.write(to: url) }
        }
        return folder
    }()

    /// A minimal arm64 Image header (text_offset 0x80000, `imageSize`, 4 KiB pages, little-endian).
    static func linuxImageHeader(imageSize: UInt64) -> Data {
        var header = [UInt8](repeating: 0, count: 4096)
        LittleEndian.storeLittle(0x80000, 8, at: 8, in: &header)
        LittleEndian.storeLittle(imageSize, 8, at: 16, in: &header)
        LittleEndian.storeLittle(0x2, 8, at: 24, in: &header)
        header.replaceSubrange(GuestImage.imageMagicOffset..<(GuestImage.imageMagicOffset + 4), with: GuestImage.imageMagic)
        return Data(header)
    }
}
