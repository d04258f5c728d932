import Foundation

/// A cpio archive in the "newc" format (SVR4 without checksums), the one the Linux kernel
/// unpacks as an initramfs. Written here rather than with `cpio` so that building an initramfs
/// needs no extra tool and no root: owners, modes and device nodes are just header fields.
///
/// Every entry is a 110-byte ASCII header (magic `070701`, then thirteen 8-digit hex fields),
/// its NUL-terminated name padded to a multiple of 4 bytes (header included), then its data
/// padded to a multiple of 4 bytes. A `TRAILER!!!` entry ends the archive.
public struct CPIOArchive: Equatable {
    public enum Kind: Equatable {
        case directory
        case file(Data)
        /// The link's data is its target.
        case symlink(target: String)
        case characterDevice(major: UInt32, minor: UInt32)
    }

    public struct Entry: Equatable {
        /// Relative to the archive's root, without a leading slash (the kernel and `cpio -i`
        /// both take names that way).
        public var path: String
        public var kind: Kind
        /// Permission bits only (e.g. 0o755); the file type bits come from `kind`.
        public var permissions: UInt32
        public var uid: UInt32 = 0
        public var gid: UInt32 = 0
    }

    public static let magic = "070701"
    public static let trailerName = "TRAILER!!!"
    public static let headerSize = 110

    // File type bits of `c_mode` (<sys/stat.h>).
    static let typeDirectory: UInt32 = 0o040000
    static let typeRegular: UInt32 = 0o100000
    static let typeSymlink: UInt32 = 0o120000
    static let typeCharacterDevice: UInt32 = 0o020000

    public private(set) var entries: [Entry] = []

    public init() {}

    public mutating func addDirectory(_ path: String, permissions: UInt32 = 0o755) throws {
        try add(Entry(path: path, kind: .directory, permissions: permissions))
    }

    public mutating func addFile(_ path: String, contents: Data, permissions: UInt32 = 0o644) throws {
        try add(Entry(path: path, kind: .file(contents), permissions: permissions))
    }

    public mutating func addSymlink(_ path: String, target: String) throws {
        try add(Entry(path: path, kind: .symlink(target: target), permissions: 0o777))
    }

    public mutating func addCharacterDevice(_ path: String, major: UInt32, minor: UInt32, permissions: UInt32 = 0o600) throws {
        try add(Entry(path: path, kind: .characterDevice(major: major, minor: minor), permissions: permissions))
    }

    /// Adds `entry` once its parent is in the archive: the kernel creates entries in archive
    /// order and does not make missing parents, so an orphan would be silently lost at boot.
    public mutating func add(_ entry: Entry) throws {
        var entry = entry
        entry.path = Self.normalized(entry.path)
        guard !entry.path.isEmpty, !entry.path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) else {
            throw KeelError("cpio: '\(entry.path)' is not a usable path in an archive")
        }
        guard entry.path != Self.trailerName else { throw KeelError("cpio: '\(Self.trailerName)' is reserved for the end of the archive") }
        guard entry.permissions & ~0o7777 == 0 else {
            throw KeelError("cpio: permissions \(String(entry.permissions, radix: 8)) of '\(entry.path)' are more than permission bits")
        }
        if case .file(let contents) = entry.kind, contents.count > Int(UInt32.max) {
            throw KeelError("cpio: '\(entry.path)' is \(contents.count) bytes; newc sizes stop at 4 GiB")
        }
        guard !entries.contains(where: { $0.path == entry.path }) else { throw KeelError("cpio: '\(entry.path)' is already in the archive") }
        if let slash = entry.path.lastIndex(of: "/") {
            let parent = String(entry.path[..<slash])
            guard entries.contains(where: { $0.path == parent && $0.kind == .directory }) else {
                throw KeelError("cpio: '\(entry.path)' comes before its directory '\(parent)'")
            }
        }
        entries.append(entry)
    }

    /// The archive's bytes: the entries in the order they were added (inode numbers 1, 2, ...),
    /// then the trailer. Times are 0 so the same contents always give the same bytes.
    public func encoded() -> Data {
        var out = Data()
        for (index, entry) in entries.enumerated() {
            let (type, body, nlink, rdev): (UInt32, Data, UInt32, (UInt32, UInt32)) = switch entry.kind {
            case .directory: (Self.typeDirectory, Data(), 2, (0, 0))
            case .file(let contents): (Self.typeRegular, contents, 1, (0, 0))
            case .symlink(let target): (Self.typeSymlink, Data(target.utf8), 1, (0, 0))
            case .characterDevice(let major, let minor): (Self.typeCharacterDevice, Data(), 1, (major, minor))
            }
            Self.append(name: entry.path, ino: UInt32(index + 1), mode: type | entry.permissions, uid: entry.uid, gid: entry.gid,
                        nlink: nlink, rdev: rdev, body: body, to: &out)
        }
        Self.append(name: Self.trailerName, ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, rdev: (0, 0), body: Data(), to: &out)
        return out
    }

    static func normalized(_ path: String) -> String {
        var path = Substring(path)
        while path.hasPrefix("/") { path = path.dropFirst() }
        while path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }

    private static func append(name: String, ino: UInt32, mode: UInt32, uid: UInt32, gid: UInt32, nlink: UInt32,
                               rdev: (UInt32, UInt32), body: Data, to out: inout Data) {
        let nameBytes = Array(name.utf8) + [0]
        // c_ino c_mode c_uid c_gid c_nlink c_mtime c_filesize c_devmajor c_devminor
        // c_rdevmajor c_rdevminor c_namesize c_check
        let fields: [UInt32] = [ino, mode, uid, gid, nlink, 0, UInt32(body.count), 0, 0, rdev.0, rdev.1, UInt32(nameBytes.count), 0]
        var header = magic
        for field in fields {
            let hex = String(field, radix: 16, uppercase: true)
            header += String(repeating: "0", count: 8 - hex.count) + hex
        }
        out.append(contentsOf: Array(header.utf8))
        out.append(contentsOf: nameBytes)
        pad(&out)
        out.append(body)
        pad(&out)
    }

    /// Zeroes up to the next multiple of 4 bytes. Entries start 4-byte aligned, so the archive's
    /// length is the alignment that matters.
    private static func pad(_ out: inout Data) {
        let remainder = out.count % 4
        if remainder != 0 { out.append(contentsOf: [UInt8](repeating: 0, count: 4 - remainder)) }
    }
}
