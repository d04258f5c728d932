import Foundation
import Testing
import KeelCore
@testable import KeelKit

/// The kernel command line a Linux guest gets (issue 12, item 11): what `keel run --append` or a
/// `[[vm]]`'s `bootargs` gives, an empty string included; the default only when nothing is given.
@Suite("Linux bootargs: given, empty, or the default")
struct BootargsTests {
    @Test("nil is the default; an empty string stays empty; anything else as it is")
    func resolution() {
        #expect(LinuxGuest.bootargs(nil) == "console=ttyAMA0")
        #expect(LinuxGuest.bootargs("") == "")
        #expect(LinuxGuest.bootargs("quiet panic=-1") == "quiet panic=-1")
    }

    /// /chosen/bootargs of the device tree `keel pack` writes for the fixture's Linux VM with
    /// `line` as its bootargs line (nil: no bootargs key).
    static func packedBootargs(_ line: String?) throws -> String? {
        let fixture = try ConfigFixture()
        let text = linuxVM.replacingOccurrences(of: "bootargs = \"console=ttyAMA0\"", with: line ?? "")
        let system = try fixture.validate(text)
        let writer = try SystemImage.bundle(for: system.vms[0], board: system.board.board)
        let blob = try #require(writer.images.last { $0.kind == .deviceTree }?.bytes)
        return blob.withSpan { raw -> String? in
            guard let fdt = FDT(raw), let value = fdt.property(path: "/chosen", name: "bootargs") else { return nil }
            return String(decoding: (0..<value.count).map { value[$0] }.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    @Test("the packed device tree: bootargs = \"\" is an empty command line, no bootargs the default")
    func packed() throws {
        #expect(try Self.packedBootargs("bootargs = \"\"") == "")
        #expect(try Self.packedBootargs(nil) == "console=ttyAMA0")
        #expect(try Self.packedBootargs("bootargs = \"quiet\"") == "quiet")
    }
}
