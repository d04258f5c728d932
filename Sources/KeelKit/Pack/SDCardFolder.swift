import Foundation
import KeelBoards

/// The Raspberry Pi 4's SD card boot folder for a packed image: `kernel8.img` (Keel's
/// raspberry-pi-4 firmware with the VMs' boot bundle appended, Image header kept), `config.txt`
/// for the Pi's boot firmware, and a README.txt saying what else the card needs. The Pi's
/// firmware (start4.elf) enters a 64-bit kernel at EL2 through its built-in armstub, at
/// `kernel_address`, with the DTB in x0 (the booti protocol Keel's stub expects), and parks the
/// other cores on the spin table its DTB names (`cpu-release-addr`), from where Keel starts them.
public struct SDCardFolder {
    public static let kernelName = "kernel8.img"

    public var files: [String] { [SDCardFolder.kernelName, "config.txt", "README.txt"] }

    /// The config.txt settings, in order, each with why.
    public static func configText(board: Board) -> String {
        """
        # Keel on the \(board.name), written by `keel pack`.
        # A 64-bit kernel: start4.elf's built-in armstub (no armstub= line) enters it at EL2, DTB
        # (bcm2711-rpi-4-b.dtb from this partition, memory filled in) in x0; the other cores wait
        # on the DTB's spin table (cpu-release-addr), where Keel releases them.
        arm_64bit=1
        kernel=\(kernelName)
        # Keel's load address: DRAM base + the Image header's text_offset.
        kernel_address=0x\(String(board.loadAddress, radix: 16))
        # Keep the GIC-400 (Keel drives it; the Pi 4's default, said here since Keel needs it).
        enable_gic=1
        # Keel's console: the PL011 (UART0, 0x\(String(board.uartBase, radix: 16, uppercase: true))) on GPIO 14/15, 115200 8N1;
        # disable-bt moves Bluetooth off it.
        enable_uart=1
        dtoverlay=disable-bt

        """
    }

    static let readme = """
        Keel SD card boot folder (keel pack --board raspberry-pi-4).

        Copy these files to the FAT boot partition of an SD card that already holds the
        Raspberry Pi 4 boot firmware: start4.elf, fixup4.dat, bcm2711-rpi-4-b.dtb and the
        overlays/ folder (from Raspberry Pi OS's boot partition, or the Raspberry Pi firmware
        release; overlays/disable-bt.dtbo is the one config.txt uses). Keel's console is the
        PL011 on GPIO 14 (TXD, header pin 8) and 15 (RXD, pin 10), ground on pin 6: a 3.3 V
        USB-serial adapter at 115200 8N1. kernel8.img is Keel with its VMs packed in; try it
        first with `keel run --board raspberry-pi-4 kernel8.img` (QEMU's raspi4b).

        """

    /// Writes the folder at `path` (created if missing; other files in it are left alone).
    @discardableResult
    public static func write(_ image: SystemImage, board: KnownBoard, to path: String) throws -> SDCardFolder {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw KeelError("'\(path)' is a file; for \(board.name) the output is a folder (the SD card's boot files)", status: .cannotCreate)
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw KeelError("cannot create the folder '\(path)': \(InputFile.reason(of: error))", status: .cannotCreate)
        }
        let folder = URL(fileURLWithPath: path)
        try SystemPack.write(image.bytes, to: folder.appendingPathComponent(kernelName).path)
        try SystemPack.write(Data(configText(board: board.board).utf8), to: folder.appendingPathComponent("config.txt").path)
        try SystemPack.write(Data(readme.utf8), to: folder.appendingPathComponent("README.txt").path)
        return SDCardFolder()
    }
}
