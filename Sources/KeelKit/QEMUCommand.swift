import Foundation
import KeelBoards
import KeelCore

/// The QEMU command line that boots Keel with one VM on a board QEMU emulates.
public struct QEMUCommand {
    public var executable = "qemu-system-aarch64"
    public var firmware: String
    /// The VM's boot bundle (`BootBundleWriter`), loaded where the board says Keel finds it;
    /// nil for an image `keel pack` wrote, which carries its bundle.
    public var bundle: String?
    public var board: Board
    public var layout: VMLayout
    public var gicVersion = 3
    public var cpu: String
    public var smp = 1
    public var extraArguments: [String] = []
    /// The board's RAM for QEMU (`-m`), in MiB; nil for the board file's.
    public var memoryMiB: UInt64?
    /// A device tree QEMU hands Keel instead of its own (`-dtb`; QEMU still sets its /chosen
    /// and /memory). On boards where QEMU makes none (xlnx-zcu102), the only way to give one.
    public var dtb: String?
    /// `-serial` for each of the board's UARTs in QEMU's order, up to the console's
    /// (`KnownBoard.qemuSerials`): "stdio" is the console.
    public var serials = ["stdio"]
    /// The machine's own extra options (`KnownBoard.qemuOptions`), before `-kernel`.
    public var machineOptions: [String] = []
    /// Set for QEMU on top of this process's environment: no host audio, which the ZynqMP's
    /// DisplayPort audio device would otherwise try (and complain about on the console). QEMU 10
    /// reads only `-audio none` (`KnownBoard.qemuOptions`); this is for older ones.
    public var environment = ["QEMU_AUDIO_DRV": "none"]

    /// Halt at the first instruction with QEMU's gdb stub on 127.0.0.1:1234 (`GDBAttach`).
    public var gdb = false
    /// The stub's port on 127.0.0.1, with `gdb`.
    public var gdbPort = GDBAttach.defaultPort

    public init(firmware: String, bundle: String?, board: Board, layout: VMLayout, gicVersion: Int? = nil, cpu: String? = nil, smp: Int = 1) {
        self.firmware = firmware
        self.bundle = bundle
        self.board = board
        self.layout = layout
        self.gicVersion = gicVersion ?? board.gicVersion
        self.cpu = cpu ?? board.qemuCPU.description
        self.smp = smp
    }

    /// Firmware through `-kernel` (an arm64 Image: QEMU enters it at EL2 with the DTB in x0);
    /// the VM's boot bundle through QEMU's generic loader at the board's bundle address, from
    /// where Keel copies the images into the VM's RAM.
    public var arguments: [String] {
        var arguments = [
            "-M", board.qemuSelectsGIC ? "\(board.qemuMachine),gic-version=\(gicVersion)" : board.qemuMachine.description,
            "-cpu", cpu,
            "-smp", String(smp),
            "-m", "\(memoryMiB ?? board.ramSize >> 20)M",
            "-display", "none",
            "-monitor", "none",
        ]
        for serial in serials { arguments += ["-serial", serial] }
        arguments += machineOptions
        arguments += [
            "-kernel", firmware,
        ]
        if let bundle {
            arguments += ["-device", "loader,file=\(bundle),addr=\(hex(board.bundlePA)),force-raw=on"]
        }
        if let dtb { arguments += ["-dtb", dtb] }
        if gdb { arguments += GDBAttach.qemuArguments(port: gdbPort) }
        return arguments + extraArguments
    }

    /// The command as a person would type it (`--print-cmd`).
    public var shellLine: String {
        ([executable] + arguments).map(shellQuoted).joined(separator: " ")
    }
}

func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

func shellQuoted(_ word: String) -> String {
    let safe = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=,:+@%".contains($0) }
    return safe ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// A boot bundle in a temporary file, removed when this value goes away.
public final class TemporaryBundle {
    public let path: String

    public init(_ writer: BootBundleWriter, board: Board) throws {
        let bytes = writer.bytes()
        guard UInt64(bytes.count) <= board.bundleLimit else {
            throw KeelError("the VM's images take \(bytes.count >> 20) MiB, more than the \(board.bundleLimit >> 20) MiB \(board.name) has room for")
        }
        path = FileManager.default.temporaryDirectory.appendingPathComponent("keel-\(getpid())-\(UUID().uuidString).bundle").path
        // Registered before it exists: a signal from here on removes it.
        RunCleanup.shared.register(path: path)
        do {
            try bytes.write(to: URL(fileURLWithPath: path))
        } catch {
            RunCleanup.shared.unregister(path: path)
            throw KeelError("cannot write the boot bundle to \(path): \(InputFile.reason(of: error))", status: .cannotCreate)
        }
    }

    /// The bundle of a raw guest binary: loaded at the start of the VM's RAM and entered there.
    public convenience init(rawGuest path: String, layout: VMLayout, board: Board) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw KeelError("guest image '\(path)' cannot be read") }
        var writer = BootBundleWriter(entryIPA: layout.ramIPA + layout.entryOffset)
        writer.add(.raw, data, at: layout.ramIPA + layout.entryOffset)
        try self.init(writer, board: board)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
        RunCleanup.shared.unregister(path: path)
    }
}
