import Foundation
import Testing
@testable import KeelKit

/// Replays fuzz/corpus/<target>/ through the fuzz targets in the ordinary test build (no
/// sanitizers): the real inputs the corpus was seeded from and every crash reproducer fixed since
/// must go through without a trap. A crash here is the reproducer's file name in the test's
/// output (`swift test --filter FuzzCorpusTests`); `make fuzz` is the search for new ones.
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fuzz/corpus")

    static func files(_ target: String) -> [URL] {
        let folder = corpus.appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { folder.appendingPathComponent($0) }
    }

    @Test("every corpus folder is a target, and every target has seeds")
    func foldersMatchTargets() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter { !$0.hasPrefix(".") }
        #expect(Set(folders) == Set(FuzzTargets.all.map(\.name)))
        for target in FuzzTargets.all { #expect(!Self.files(target.name).isEmpty, "fuzz/corpus/\(target.name) is empty") }
    }

    @Test("every reproducer waiting in fuzz/pending has its line in fuzz/pending/README.md")
    func pendingExplained() throws {
        let pending = Self.corpus.deletingLastPathComponent().appendingPathComponent("pending")
        let readme = (try? String(contentsOf: pending.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: pending.path)) ?? []).filter { !$0.hasPrefix(".") && $0 != "README.md" }
        for folder in folders {
            for name in try FileManager.default.contentsOfDirectory(atPath: pending.appendingPathComponent(folder).path) where !name.hasPrefix(".") {
                #expect(readme.contains("\(folder)/\(name)"), "fuzz/pending/\(folder)/\(name) has no line in fuzz/pending/README.md")
            }
        }
    }

    @Test("the corpus goes through its target without a crash", arguments: FuzzTargets.all.map(\.name))
    func replay(target: String) throws {
        let run = try #require(FuzzTargets.named(target)).run
        for file in Self.files(target) {
            let bytes = try [UInt8](Data(contentsOf: file))
            run(bytes)  // a trap ends the test process: `keel-fuzz TARGET FILE...` names the file
        }
    }
}
