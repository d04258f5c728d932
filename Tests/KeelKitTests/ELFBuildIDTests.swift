import Foundation
import Testing
@testable import KeelKit

/// The build-id reader behind `keel trace decode --elf`, on hand-made ELF files whose offsets
/// and sizes sit at and just past every boundary.
@Suite("ELF build id: every offset and sum checked")
struct ELFBuildIDTests {
    static let id: [UInt8] = Array(1...20)

    /// ELF header, one note section (the GNU build id), then the section headers (null, note).
    struct Image {
        var bytes: [UInt8]
        /// Where the fields the tests change are.
        var shoffField = 0x28
        var noteHeader: Int { Int(read(0x28, 8)) + 64 }

        init(id: [UInt8] = ELFBuildIDTests.id) {
            bytes = [UInt8](repeating: 0, count: 64)
            bytes.replaceSubrange(0..<6, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1])
            var note: [UInt8] = []
            func word(_ v: Int) { for i in 0..<4 { note.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
            word(4); word(id.count); word(3)
            note += [0x47, 0x4E, 0x55, 0] + id
            while note.count % 4 != 0 { note.append(0) }
            let noteOffset = bytes.count
            bytes += note
            let shoff = bytes.count
            bytes += [UInt8](repeating: 0, count: 128)
            put(UInt64(shoff), 8, at: 0x28)
            put(64, 2, at: 0x3A)
            put(2, 2, at: 0x3C)
            put(7, 4, at: shoff + 64 + 4)  // SHT_NOTE
            put(UInt64(noteOffset), 8, at: shoff + 64 + 0x18)
            put(UInt64(note.count), 8, at: shoff + 64 + 0x20)
        }

        mutating func put(_ value: UInt64, _ width: Int, at offset: Int) {
            for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }

        func read(_ offset: Int, _ width: Int) -> UInt64 {
            (0..<width).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
        }

        func buildID() throws(KeelError) -> [UInt8] { try ELFBuildID.read(Data(bytes), path: "k.elf") }
    }

    func refusal(_ image: Image) -> String? {
        do { _ = try image.buildID(); return nil } catch { return error.message }
    }

    @Test("a well-formed note: the id")
    func wellFormed() throws {
        #expect(try Image().buildID() == Self.id)
    }

    @Test("section-header offset 0x7fff...ffff (the fuzzer's file) and offsets whose sum wraps are refused, not a crash",
          arguments: [UInt64(0x7FFF_FFFF_FFFF_FFFF), .max, .max - 127, .max - 128, 0x8000_0000_0000_0000])
    func hugeSectionHeaderOffset(_ shoff: UInt64) {
        var image = Image()
        image.put(shoff, 8, at: 0x28)
        let message = refusal(image)
        #expect(message?.hasPrefix("'k.elf' is damaged: the section header table") == true, "\(message ?? "accepted")")
    }

    @Test("the section header table ending exactly at the end of the file is read; one byte further is refused")
    func tableAtTheEnd() throws {
        var image = Image()
        #expect(image.read(0x28, 8) + 128 == UInt64(image.bytes.count))
        #expect(try image.buildID() == Self.id)
        image.put(image.read(0x28, 8) + 1, 8, at: 0x28)
        #expect(refusal(image)?.contains("past the end of the file (\(image.bytes.count) bytes)") == true)
    }

    @Test("a note section whose offset + size wraps, or runs one byte past the file, is refused")
    func noteSectionBounds() throws {
        let shoff = Int(Image().read(0x28, 8))
        var wraps = Image()
        wraps.put(0x10, 8, at: shoff + 64 + 0x18)
        wraps.put(.max - 0xF, 8, at: shoff + 64 + 0x20)  // 0x10 + (2^64 - 16) = 2^64
        #expect(refusal(wraps)?.contains("ends past the end of the 64-bit address space") == true)

        var exact = Image()
        let noteOffset = exact.read(shoff + 64 + 0x18, 8)
        exact.put(UInt64(exact.bytes.count) - noteOffset, 8, at: shoff + 64 + 0x20)  // the section runs to the last byte
        #expect(try exact.buildID() == Self.id)
        exact.put(UInt64(exact.bytes.count) - noteOffset + 1, 8, at: shoff + 64 + 0x20)
        #expect(refusal(exact)?.contains("past the end of the file") == true)
    }

    @Test("a note whose descriptor size runs past its section, even by 4 GiB, is refused")
    func noteDescriptorBounds() {
        for descsz in [UInt64(21), 0xFFFF_FFFF] {
            var image = Image()
            let note = Int(image.read(Int(image.read(0x28, 8)) + 64 + 0x18, 8))
            image.put(descsz, 4, at: note + 4)
            #expect(refusal(image)?.contains("runs past the end of its section") == true)
        }
    }

    @Test("section headers smaller than ELF64's, no section headers, or a truncated header: refused with a message")
    func otherDamage() {
        var small = Image()
        small.put(8, 2, at: 0x3A)
        #expect(refusal(small)?.contains("section headers are 8 bytes") == true)
        var none = Image()
        none.put(0, 2, at: 0x3C)
        #expect(refusal(none)?.contains("has no section headers") == true)
        #expect(refusal(Image(id: [])) == nil)  // an empty id is still an id
        #expect((try? ELFBuildID.read(Data([0x7F, 0x45, 0x4C, 0x46]))) == nil)
    }
}
