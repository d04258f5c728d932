import Foundation
import Testing
@testable import KeelKit

/// The newc writer, read back field by field with an independent reader.
@Suite("cpio newc archives")
struct CPIOTests {
    /// One entry as read back from the bytes.
    struct Read: Equatable {
        var fields: [UInt32]  // c_ino ... c_check, in header order
        var name: String
        var data: [UInt8]
        var headerOffset: Int
        var dataOffset: Int

        var ino: UInt32 { fields[0] }
        var mode: UInt32 { fields[1] }
        var nlink: UInt32 { fields[4] }
        var mtime: UInt32 { fields[5] }
        var fileSize: UInt32 { fields[6] }
        var rdevMajor: UInt32 { fields[9] }
        var rdevMinor: UInt32 { fields[10] }
        var nameSize: UInt32 { fields[11] }
    }

    static func read(_ data: Data) throws -> [Read] {
        let bytes = [UInt8](data)
        var offset = 0
        var entries: [Read] = []
        func align(_ value: Int) -> Int { (value + 3) & ~3 }
        while true {
            let header = offset
            let magic = String(decoding: bytes[offset..<offset + 6], as: UTF8.self)
            try #require(magic == "070701", "bad magic at \(offset)")
            var fields: [UInt32] = []
            for index in 0..<13 {
                let start = offset + 6 + index * 8
                let text = String(decoding: bytes[start..<start + 8], as: UTF8.self)
                fields.append(try #require(UInt32(text, radix: 16), "field \(index) '\(text)'"))
            }
            let nameStart = offset + 110
            let nameSize = Int(fields[11])
            #expect(bytes[nameStart + nameSize - 1] == 0, "name is NUL-terminated")
            let name = String(decoding: bytes[nameStart..<nameStart + nameSize - 1], as: UTF8.self)
            let dataStart = align(nameStart + nameSize)
            #expect(bytes[(nameStart + nameSize)..<dataStart].allSatisfy { $0 == 0 }, "name padding is zeroes")
            let size = Int(fields[6])
            entries.append(Read(fields: fields, name: name, data: Array(bytes[dataStart..<dataStart + size]), headerOffset: header, dataOffset: dataStart))
            offset = align(dataStart + size)
            #expect(bytes[(dataStart + size)..<offset].allSatisfy { $0 == 0 }, "data padding is zeroes")
            if name == "TRAILER!!!" { break }
        }
        #expect(offset == bytes.count, "nothing after the trailer's padding")
        return entries
    }

    @Test("an empty archive is the trailer alone")
    func empty() throws {
        let data = CPIOArchive().encoded()
        let header = "070701" + "00000000" + "00000000" + "00000000" + "00000000" + "00000001" + "00000000"
            + "00000000" + "00000000" + "00000000" + "00000000" + "00000000" + "0000000B" + "00000000"
        // 110 + 11 name bytes = 121, padded to 124.
        #expect(data == Data(header.utf8) + Data("TRAILER!!!\0".utf8) + Data([0, 0, 0]))
        #expect(data.count == 124)
    }

    @Test("header fields of files, directories, symlinks and device nodes")
    func fields() throws {
        var archive = CPIOArchive()
        try archive.addDirectory("/bin")
        try archive.addFile("/bin/tool", contents: Data("#!/bin/sh\n".utf8), permissions: 0o755)
        try archive.addSymlink("bin/sh", target: "busybox")
        try archive.addDirectory("dev")
        try archive.addCharacterDevice("dev/console", major: 5, minor: 1)
        try archive.addDirectory("tmp", permissions: 0o1777)
        try archive.addFile("etc-file", contents: Data([1, 2, 3]))
        let entries = try Self.read(archive.encoded())

        #expect(entries.map(\.name) == ["bin", "bin/tool", "bin/sh", "dev", "dev/console", "tmp", "etc-file", "TRAILER!!!"])
        #expect(entries.map(\.mode) == [0o040755, 0o100755, 0o120777, 0o040755, 0o020600, 0o041777, 0o100644, 0])
        #expect(entries.map(\.ino) == [1, 2, 3, 4, 5, 6, 7, 0])
        #expect(entries.map(\.nlink) == [2, 1, 1, 2, 1, 2, 1, 1])
        #expect(entries.allSatisfy { $0.mtime == 0 && $0.fields[2] == 0 && $0.fields[3] == 0 && $0.fields[12] == 0 })
        #expect(entries.map(\.nameSize) == entries.map { UInt32($0.name.utf8.count + 1) })
        #expect(entries[1].data == Array("#!/bin/sh\n".utf8))
        #expect(entries[2].data == Array("busybox".utf8), "a symlink's data is its target")
        #expect(entries[0].fileSize == 0 && entries[3].fileSize == 0)
        #expect(entries[4].rdevMajor == 5 && entries[4].rdevMinor == 1 && entries[4].fileSize == 0)
        #expect(entries[6].data == [1, 2, 3])
    }

    @Test("every header and every file's data start 4-byte aligned, whatever the name and data lengths")
    func padding() throws {
        var archive = CPIOArchive()
        // Name sizes (with NUL) 2...9 and data sizes 0...7 cover every remainder mod 4.
        for length in 1...8 {
            try archive.addFile(String(repeating: "n", count: length), contents: Data(repeating: UInt8(length), count: length - 1))
        }
        let data = archive.encoded()
        let entries = try Self.read(data)
        #expect(entries.count == 9)
        #expect(entries.allSatisfy { $0.headerOffset % 4 == 0 && $0.dataOffset % 4 == 0 })
        #expect(data.count % 4 == 0)
        for (index, entry) in entries.dropLast().enumerated() {
            #expect(entry.data == [UInt8](repeating: UInt8(index + 1), count: index))
        }
    }

    @Test("the same contents give the same bytes")
    func deterministic() throws {
        func build() throws -> Data {
            var archive = CPIOArchive()
            try archive.addDirectory("d")
            try archive.addFile("d/f", contents: Data("x".utf8))
            return archive.encoded()
        }
        #expect(try build() == build())
    }

    @Test("entries the kernel would lose or misread are refused")
    func refused() throws {
        var archive = CPIOArchive()
        #expect(throws: KeelError("cpio: 'bin/sh' comes before its directory 'bin'")) { try archive.addSymlink("/bin/sh", target: "busybox") }
        try archive.addDirectory("bin")
        try archive.addFile("bin/f", contents: Data())
        #expect(throws: KeelError("cpio: 'bin/f' is already in the archive")) { try archive.addFile("/bin/f/", contents: Data()) }
        #expect(throws: KeelError("cpio: 'bin/f/g' comes before its directory 'bin/f'")) { try archive.addFile("bin/f/g", contents: Data()) }
        #expect(throws: KeelError("cpio: '' is not a usable path in an archive")) { try archive.addDirectory("/") }
        #expect(throws: KeelError("cpio: 'bin/../x' is not a usable path in an archive")) { try archive.addFile("bin/../x", contents: Data()) }
        #expect(throws: KeelError("cpio: 'TRAILER!!!' is reserved for the end of the archive")) { try archive.addFile("TRAILER!!!", contents: Data()) }
        #expect(throws: KeelError("cpio: permissions 100755 of 'bin/x' are more than permission bits")) {
            try archive.addFile("bin/x", contents: Data(), permissions: 0o100755)
        }
        #expect(archive.entries.map(\.path) == ["bin", "bin/f"])
    }

    static let cpioInstalled = ["/usr/bin/cpio", "/bin/cpio"].contains { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("GNU cpio extracts what was written", .enabled(if: cpioInstalled, "cpio is not installed"))
    func roundTrip() throws {
        let scratch = try Scratch()
        var archive = CPIOArchive()
        try archive.addDirectory("bin")
        try archive.addFile("bin/tool", contents: Data("echo hi\n".utf8), permissions: 0o755)
        try archive.addSymlink("bin/sh", target: "tool")
        try archive.addFile("init", contents: Data("#!/bin/sh\n".utf8), permissions: 0o700)
        let path = try scratch.file("a.cpio", [UInt8](archive.encoded()))
        let out = scratch.url.appendingPathComponent("out").path
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        _ = try HostCommand("sh", ["-c", "cpio -idv --no-absolute-filenames < '\(path)'"], directory: out).run()
        let manager = FileManager.default
        #expect(manager.contents(atPath: out + "/bin/tool") == Data("echo hi\n".utf8))
        #expect(try manager.destinationOfSymbolicLink(atPath: out + "/bin/sh") == "tool")
        #expect(try manager.attributesOfItem(atPath: out + "/bin/tool")[.posixPermissions] as? Int == 0o755)
        #expect(try manager.attributesOfItem(atPath: out + "/init")[.posixPermissions] as? Int == 0o700)
    }
}
