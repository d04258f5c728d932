import Foundation
import KeelBoards

/// `keel pack` and `keel run --config`: read the config, check it against the board and what
/// the firmware runs, and write the image (or, for a board with its own boot firmware, the
/// folder that boots it).
public enum SystemPack {
    /// Reads and checks `configPath`; `board` overrides the file's `board =`.
    public static func load(_ configPath: String, board: String? = nil) throws -> ValidatedSystem {
        // --board is the flag's word, not the file's: a wrong one is the flag's fault.
        if let board, BoardCatalog.named(board) == nil {
            throw KeelError("--board \(board): no such board; the boards are \(BoardCatalog.names.joined(separator: ", ")) (keel boards lists them)", status: .usage)
        }
        var config = try ConfigReader.load(configPath)
        if let board { config.board = board }
        let system = try ConfigValidator.validate(config)
        try FirmwareSupport.check(system)
        return system
    }

    /// `freshRNGSeeds`: for an image booted once (`keel run --config`; `SystemImage`).
    /// `deviceModelFiles`: for a Linux device-model VM's initramfs (nil: `DeviceModelFiles.locate()`).
    public static func image(_ system: ValidatedSystem, firmware firmwarePath: String, freshRNGSeeds: Bool = false,
                             deviceModelFiles: DeviceModelFiles? = nil) throws -> SystemImage {
        guard let firmware = FileManager.default.contents(atPath: firmwarePath) else {
            throw KeelError("the firmware '\(firmwarePath)' cannot be read")
        }
        let image = try SystemImage(system: system, firmware: firmware, firmwareName: firmwarePath, freshRNGSeeds: freshRNGSeeds,
                                    deviceModelFiles: deviceModelFiles)
        // QEMU puts its DTB 128 MiB above the DRAM base (without an initrd), and the bundle must
        // end before the VM's RAM it is copied into.
        let limit = min(system.board.board.ramBase + (128 << 20), FirmwareSupport.layout(for: system.board.name).ramPA) - system.board.board.loadAddress
        guard UInt64(image.bytes.count) <= limit else {
            throw KeelError("the packed image is \(image.bytes.count >> 20) MiB; at most \(limit >> 20) MiB fit between Keel's load address and what follows it (make the initrd smaller)")
        }
        return image
    }

    /// Writes `data` to `path` (`OutputFile`: through a temporary file for a regular file, so
    /// a failed write leaves what was there; through the path for a device or FIFO).
    public static func write(_ data: Data, to path: String) throws {
        try OutputFile.write(data, to: path, what: "output")
    }
}
