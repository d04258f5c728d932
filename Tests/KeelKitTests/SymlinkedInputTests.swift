import Foundation
import KeelBoards
import Testing
@testable import KeelKit

/// Inputs reached through a symbolic link are the files they point at: their size is the
/// target's (it was the link's own, and a symlinked initrd was refused as "changed size while
/// being read"; an empty file behind a link passed as non-empty).
@Suite("Symlinked inputs")
struct SymlinkedInputTests {
    @Test("a symlinked initrd packs; an empty file behind a link is still empty")
    func symlinkedInitrd() throws {
        let fixture = try ConfigFixture()
        let link = fixture.directory.appendingPathComponent("linked.cpio").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: fixture.directory.appendingPathComponent("initrd.cpio").path)
        let system = try fixture.validate(linuxVM.replacingOccurrences(of: "initrd = \"initrd.cpio\"", with: "initrd = \"linked.cpio\""))
        let writer = try SystemImage.bundle(for: system.vms[0], board: system.board.board)
        #expect(writer.bytes().count > 1 << 20)
        let empty = fixture.directory.appendingPathComponent("empty.bin").path
        FileManager.default.createFile(atPath: empty, contents: Data())
        let emptyLink = fixture.directory.appendingPathComponent("empty-link.bin").path
        try FileManager.default.createSymbolicLink(atPath: emptyLink, withDestinationPath: empty)
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "kernel = \"raw.bin\"", with: "kernel = \"empty-link.bin\"")).first?.contains("is empty") == true)
    }
}
