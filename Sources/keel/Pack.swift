import ArgumentParser
import Foundation
import KeelKit

/// `keel pack --config system.toml -o keel.img`: one bootable file (or, for the Raspberry Pi 4,
/// an SD card boot folder) from a system config.
struct Pack: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pack Keel's firmware and the VM's images into one bootable image.",
        discussion: """
            The image is keel.bin (a Linux arm64 Image) with the VM's checksummed boot bundle \
            appended; QEMU -kernel, U-Boot booti or a board's boot firmware load it whole. With \
            --board raspberry-pi-4, OUTPUT is a folder: kernel8.img (Keel's raspberry-pi-4 \
            firmware with the VMs packed in) and config.txt for the SD card.
            """
    )

    @OptionGroup var system: SystemOptions

    @Option(name: [.short, .customLong("output")], help: "The image to write (a folder for raspberry-pi-4).")
    var output: String

    @Option(name: .long, help: "The Keel firmware image (default: the board's, build/hyp/keel.bin for qemu-virt).")
    var firmware: String?

    func run() throws {
        let validated = try system.loadSystem()
        do {
            let firmwarePath = try Firmware.locate(explicit: firmware, directory: validated.board.firmwareDirectory ?? "hyp")
            let image = try SystemPack.image(validated, firmware: firmwarePath)
            let what = validated.vms.map { vm in
                "vm \"\(vm.name)\" (\(vm.kind.rawValue), \(vm.config.cpus.count) vCPU\(vm.config.cpus.count == 1 ? "" : "s"), \(vm.config.memory.size >> 20) MiB)"
            }.joined(separator: ", ")
            if FirmwareSupport.bootFolderBoards.contains(validated.board.name) {
                let folder = try SDCardFolder.write(image, board: validated.board, to: output)
                print("keel: packed \(what) for \(validated.board.name) into \(output)/: \(folder.files.joined(separator: ", "))")
            } else {
                try SystemPack.write(image.bytes, to: output)
                print("keel: packed \(what) for \(validated.board.name) into \(output): \(image.bytes.count) bytes, boot bundle at offset \(hexString(image.bundleOffset))")
            }
        } catch let error as KeelError {
            throw failure(error)
        }
    }
}

private func hexString(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
