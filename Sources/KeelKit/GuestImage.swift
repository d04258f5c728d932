import Foundation
import KeelBoards

/// A guest image given on the command line, checked before anything boots.
public struct GuestImage: Equatable {
    public enum Kind: Equatable {
        /// A raw AArch64 binary, entered at its first byte at EL1h.
        case raw
        /// A Linux arm64 Image (magic "ARM\x64" at offset 0x38).
        case linuxImage
    }

    public var path: String
    public var size: Int
    public var kind: Kind

    /// Offset and value of the arm64 Image magic.
    public static let imageMagicOffset = 0x38
    public static let imageMagic: [UInt8] = Array("ARM\u{64}".utf8)

    /// Loads and checks `path`: it must exist, be a regular file, not be empty, and fit the VM's
    /// RAM.
    public static func load(_ path: String, fitting layout: VMLayout) throws -> GuestImage {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw KeelError("guest image '\(path)' does not exist", status: .noInput)
        }
        guard !isDirectory.boolValue else { throw KeelError("guest image '\(path)' is a directory, not a file", status: .noInput) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeelError("guest image '\(path)' cannot be read", status: .ioError)
        }
        guard !data.isEmpty else { throw KeelError("guest image '\(path)' is empty", status: .noInput) }
        guard UInt64(data.count) <= layout.ramSize else {
            throw KeelError("guest image '\(path)' is \(data.count) bytes, more than the VM's \(layout.ramSize >> 20) MiB of RAM")
        }
        return GuestImage(path: path, size: data.count, kind: kind(of: data))
    }

    static func kind(of data: Data) -> Kind {
        let end = imageMagicOffset + imageMagic.count
        guard data.count >= 64, Array(data[imageMagicOffset..<end]) == imageMagic else { return .raw }
        return .linuxImage
    }
}
