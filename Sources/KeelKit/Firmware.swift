import Foundation

/// Finds the Keel firmware image (`keel.bin`) the CLI boots.
public enum Firmware {
    /// In order: an explicit path, `$KEEL_FIRMWARE`, `../hyp/keel.bin` beside the `keel`
    /// executable as invoked (`build/bin/keel` -> `build/hyp/keel.bin`), `build/hyp/keel.bin`
    /// under the current directory. `directory` names another board's firmware under build/
    /// (`KnownBoard.firmwareDirectory`, e.g. `hyp-xlnx-zcu102`); `$KEEL_FIRMWARE` stands for
    /// qemu-virt's only, so that it cannot put one board's firmware on another.
    public static func locate(explicit: String?, directory: String = "hyp", executable: String = CommandLine.arguments[0],
                              environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let explicit {
            guard FileManager.default.fileExists(atPath: explicit) else {
                throw KeelError("firmware '\(explicit)' does not exist", status: .noInput)
            }
            return explicit
        }
        var candidates: [String] = []
        if directory == "hyp", let fromEnvironment = environment["KEEL_FIRMWARE"], !fromEnvironment.isEmpty {
            candidates.append(fromEnvironment)
        }
        let executableURL = URL(fileURLWithPath: executable)
        candidates.append(executableURL.deletingLastPathComponent().appendingPathComponent("../\(directory)/keel.bin").standardized.path)
        candidates.append(FileManager.default.currentDirectoryPath + "/build/\(directory)/keel.bin")
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) { return found }
        throw KeelError("cannot find the Keel firmware (looked at \(candidates.joined(separator: ", "))); run `make` or pass --firmware", status: .noInput)
    }

    /// The ELF beside a firmware image (build/hyp/keel.bin -> build/hyp/keel.elf): Keel's symbols.
    public static func elf(for firmware: String) -> String {
        firmware.hasSuffix(".bin") ? String(firmware.dropLast(4)) + ".elf" : firmware + ".elf"
    }
}
