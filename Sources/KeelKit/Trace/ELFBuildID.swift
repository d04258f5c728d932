import Foundation

/// The GNU build id of an ELF file (the `.note.gnu.build-id` section), for `keel trace
/// --elf`. The file is untrusted: every offset and size in it is checked against the file's
/// length before it is used, and every sum of two of them is checked for overflow, so a
/// crafted file is refused with a message instead of crashing the tool.
public enum ELFBuildID {
    /// Bytes of an ELF64 section header (the least `e_shentsize` this reader accepts).
    static let sectionHeaderSize: UInt64 = 0x40
    static let noteType: UInt64 = 7  // SHT_NOTE
    static let gnuBuildIDNote: UInt64 = 3  // NT_GNU_BUILD_ID

    /// Reads the file; a file that cannot be read is a `KeelError` too (the caller checks for
    /// a missing file first when it wants to tell the two apart).
    public static func read(_ path: String) throws(KeelError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw KeelError("cannot read ELF '\(path)'") }
        return try read(data, path: path)
    }

    public static func read(_ data: Data, path: String = "ELF") throws(KeelError) -> [UInt8] {
        let file = Fields(bytes: [UInt8](data), path: path)
        guard file.bytes.count >= 64, file.bytes[0..<4] == [0x7F, 0x45, 0x4C, 0x46], file.bytes[4] == 2, file.bytes[5] == 1 else {
            throw KeelError("'\(path)' is not a 64-bit little-endian ELF file")
        }
        let shoff = try file.u(0x28, 8), shentsize = try file.u(0x3A, 2), shnum = try file.u(0x3C, 2)
        guard shnum > 0, shoff != 0 else { throw KeelError("'\(path)' has no section headers, so no GNU build id note") }
        guard shentsize >= sectionHeaderSize else {
            throw KeelError("'\(path)' is damaged: its section headers are \(shentsize) bytes, an ELF64 section header is \(sectionHeaderSize)")
        }
        // shnum and shentsize are 16-bit: their product cannot overflow; the sum can.
        let tableEnd = try file.sum(shoff, shnum * shentsize, "the section header table (offset \(hex(shoff)))")
        try file.within(tableEnd, "the section header table (offset \(hex(shoff)), \(shnum) headers of \(shentsize) bytes)")
        for i in 0..<shnum {
            let header = shoff + i * shentsize  // inside the table, checked above
            guard try file.u(header + 4, 4) == noteType else { continue }
            let offset = try file.u(header + 0x18, 8), size = try file.u(header + 0x20, 8)
            let end = try file.sum(offset, size, "note section \(i) (offset \(hex(offset)), \(size) bytes)")
            try file.within(end, "note section \(i) (offset \(hex(offset)), \(size) bytes)")
            if let id = try buildID(in: file, from: offset, to: end) { return id }
        }
        throw KeelError("'\(path)' has no GNU build id note")
    }

    /// Walks the notes of one section (`start..<end`, inside the file); the GNU build id's
    /// descriptor when one of them is it.
    static func buildID(in file: Fields, from start: UInt64, to end: UInt64) throws(KeelError) -> [UInt8]? {
        var offset = start
        // Each note: namesz, descsz, type (4 bytes each), the name and the descriptor, each
        // padded to 4 bytes. The sizes are 32-bit and offsets stay inside the file, so the
        // sums below fit in 64 bits; they are checked all the same.
        while end >= 12, offset <= end - 12 {
            let namesz = try file.u(offset, 4), descsz = try file.u(offset + 4, 4), type = try file.u(offset + 8, 4)
            let name = offset + 12
            let desc = try file.sum(name, (namesz + 3) & ~3, "a note's name")
            let descEnd = try file.sum(desc, descsz, "a note's descriptor")
            guard descEnd <= end else { throw KeelError("'\(file.path)' is damaged: a note at \(hex(offset)) runs past the end of its section") }
            if type == gnuBuildIDNote, namesz == 4, file.bytes[Int(name)..<Int(name) + 4] == [0x47, 0x4E, 0x55, 0] {
                return Array(file.bytes[Int(desc)..<Int(descEnd)])
            }
            offset = try file.sum(desc, (descsz + 3) & ~3, "a note")
        }
        return nil
    }

    /// Little-endian fields of the file, read only where the file has them.
    struct Fields {
        let bytes: [UInt8]
        let path: String

        /// The `size`-byte field at `offset`.
        func u(_ offset: UInt64, _ size: Int) throws(KeelError) -> UInt64 {
            guard offset <= UInt64(bytes.count), UInt64(size) <= UInt64(bytes.count) - offset else {
                throw KeelError("'\(path)' is truncated: a field at \(hex(offset)) is past its end (\(bytes.count) bytes)")
            }
            let start = Int(offset)
            return (0..<size).reduce(UInt64(0)) { $0 | UInt64(bytes[start + $1]) << (8 * UInt64($1)) }
        }

        /// `a + b`, or an error naming `what` when the sum does not fit in 64 bits.
        func sum(_ a: UInt64, _ b: UInt64, _ what: String) throws(KeelError) -> UInt64 {
            let (total, overflow) = a.addingReportingOverflow(b)
            guard !overflow else { throw KeelError("'\(path)' is damaged: \(what) ends past the end of the 64-bit address space") }
            return total
        }

        /// Refuses an `end` past the file's last byte.
        func within(_ end: UInt64, _ what: String) throws(KeelError) {
            guard end <= UInt64(bytes.count) else {
                throw KeelError("'\(path)' is damaged: \(what) ends at \(hex(end)), past the end of the file (\(bytes.count) bytes)")
            }
        }
    }
}
