import Foundation

/// `keel --version`: the host tool's version and the build id of the firmware it would boot.
public enum KeelVersion {
    /// The firmware's `keelVersion` (hyp/core/Main.swift), which its banner prints; a test keeps
    /// the two equal.
    public static let version = "0.1.0"

    /// The GNU build id ld.lld writes into the firmware (`keel_build_id_note`, linker/keel.ld):
    /// in keel.bin too, as the note's header (name size 4, id size 20, type 3, "GNU\0") and
    /// then the id. Nil when `image` holds no such note.
    public static func buildID(firmware image: Data) -> [UInt8]? {
        let header: [UInt8] = [4, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0, 0x47, 0x4E, 0x55, 0]
        guard let found = image.range(of: Data(header)), image.endIndex - found.upperBound >= 20 else { return nil }
        return Array(image[found.upperBound..<(found.upperBound + 20)])
    }

    /// The lines `keel --version` prints.
    public static func text(firmwarePath: String?) -> String {
        var lines = ["keel \(version)"]
        if let firmwarePath, let image = FileManager.default.contents(atPath: firmwarePath) {
            let id = buildID(firmware: image).map { $0.map { String(format: "%02x", $0) }.joined() } ?? "none (not a Keel firmware)"
            lines.append("firmware \(firmwarePath): build id \(id)")
        } else {
            lines.append("firmware: not found (run make)")
        }
        return lines.joined(separator: "\n")
    }
}
