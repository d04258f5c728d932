import Foundation
import Testing
@testable import KeelKit

/// Inputs on which toml++ (TOMLKit 0.6) aborts or overflows its stack, refused by the pre-check
/// with the line and a message before toml++ sees them (issue 17). Each reproducer crashed
/// `keel pack --config` before the pre-check knew its shape.
@Suite("TOML pre-check: what toml++ cannot take")
struct TOMLPrecheckTests {
    static let syntax = "(fix: correct the TOML syntax there)"

    @Test("a local date followed by a number (toml++ asserted: SIGABRT) is refused, as is every date or time value")
    func dates() throws {
        let fixture = try ConfigFixture()
        let message = "a date or time value; Keel's config has none (give sizes and addresses as numbers or strings)"
        #expect(fixture.problems("d=0615-10-15 5\n") == ["system.toml: key (syntax): line 1: \(message) \(Self.syntax)"])
        for value in ["[0615-10-15 5]", "{ x = 0615-10-15 5 }", "1979-05-27", "1979-05-27T07:32:00Z", "07:32:00", "-0615-10-15 5"] {
            #expect(tomlPitfall("board = \"qemu-virt\"\nd = \(value)\n")?.line == 2, "\(value)")
        }
        // Numbers and keys with digits and dashes are not dates.
        for fine in ["a = -5", "a = +5", "a = 1e-5", "a = 1_000", "a = 0x4000_0000", "a-1.b-2 = 3", "1-2 = 3", "a = [1, -2, 3e-1]", "a = \"1979-05-27\""] {
            #expect(tomlPitfall(fine + "\n") == nil, "\(fine)")
        }
    }

    @Test("a byte-order mark anywhere but first (two, then [+a]: toml++ asserted) is refused; one at the start is fine")
    func byteOrderMarks() throws {
        let fixture = try ConfigFixture()
        let message = "a byte-order mark (U+FEFF) may only be the file's first character"
        #expect(fixture.problems("\u{FEFF}\u{FEFF}[+a]\n") == ["system.toml: key (syntax): line 1: \(message) \(Self.syntax)"])
        #expect(tomlPitfall("a = 1\n\u{FEFF}b = 2\n")?.line == 2)
        #expect(tomlPitfall("a = \"x\u{FEFF}\"\n")?.line == 1)
        #expect(tomlPitfall("[t\u{FEFF}]\n")?.line == 1)
        #expect(tomlPitfall("\u{FEFF}a = 1\n") == nil)
        // One mark, then a header toml++ would assert on: still caught (the mark is skipped, the line start kept).
        #expect(tomlPitfall("\u{FEFF}[+a]\n")?.problem == "a table header's name must follow its [ or [[ on the same line")

        // Read from a file: Foundation's decoder drops the first mark; the second must still be seen.
        let path = fixture.directory.appendingPathComponent("bom.toml").path
        try Data([0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF] + Array("[+a]\n".utf8)).write(to: URL(fileURLWithPath: path))
        #expect(throws: ConfigError.self) { _ = try ConfigReader.load(path) }
        do { _ = try ConfigReader.load(path) } catch { #expect(error.messages.first?.contains(message) == true, "\(error.messages)") }
    }

    @Test("a key of 40,000 dotted parts (toml++ overflowed its stack: SIGSEGV) is refused; 64 parts are fine, 65 are not")
    func dottedKeys() throws {
        let fixture = try ConfigFixture()
        let deep = Array(repeating: "a", count: 40_000).joined(separator: ".")
        #expect(fixture.problems("board = \"qemu-virt\"\n\(deep) = 1\n")
                == ["system.toml: key (syntax): line 2: a key has more than 64 dotted parts \(Self.syntax)"])
        func key(_ parts: Int) -> String { Array(repeating: "k", count: parts).joined(separator: ".") }
        #expect(tomlPitfall("\(key(64)) = 1\n") == nil)
        #expect(tomlPitfall("\(key(65)) = 1\n")?.problem == "a key has more than 64 dotted parts")
        #expect(tomlPitfall("a = { \(key(65)) = 1 }\n")?.problem == "a key has more than 64 dotted parts")
        #expect(tomlPitfall("[\(key(64))]\n") == nil)
        #expect(tomlPitfall("[[\(key(65))]]\n")?.problem == "a table header has more than 64 dotted parts")
        // Dots in strings and values are not key parts.
        #expect(tomlPitfall("\"\(key(70))\" = \"\(key(70))\"\nb = 1.5\n") == nil)
    }

    @Test("values nested more than 64 deep are refused; 64 are fine")
    func nesting() {
        func nested(_ depth: Int) -> String { "a = " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n" }
        #expect(tomlPitfall(nested(64)) == nil)
        #expect(tomlPitfall(nested(65))?.problem == "arrays and inline tables nested more than 64 deep")
        #expect(tomlPitfall("a = " + String(repeating: "{ b = ", count: 65) + "1" + String(repeating: " }", count: 65) + "\n") != nil)
    }
}
