import Foundation
import Testing
@testable import KeelKit

/// What the README and docs/ show must still hold: the sample run, the config keys, the
/// subcommands, the links. A doc that drifts from the code fails here, not in a user's hands.
@Suite struct DocsTests {
    /// README and every page under docs/, as (relative path, text).
    static func pages() throws -> [(String, String)] {
        let docs = try FileManager.default.contentsOfDirectory(atPath: Repo.path("docs"))
            .filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
        return try (["README.md"] + docs).map { ($0, try String(contentsOfFile: Repo.path($0), encoding: .utf8)) }
    }

    /// The fenced code blocks of a Markdown text, each as its lines.
    static func codeBlocks(_ text: String) -> [[String]] {
        var blocks: [[String]] = [], current: [String]? = nil
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix("```") {
                if let block = current { blocks.append(block); current = nil } else { current = [] }
            } else if current != nil {
                current!.append(line)
            }
        }
        return blocks
    }

    @Test("README's sample `make run` output is what the demo prints today, line for line")
    func readmeRunSample() throws {
        let readme = try String(contentsOfFile: Repo.path("README.md"), encoding: .utf8)
        let section = try #require(readme.components(separatedBy: "## What a run prints").dropFirst().first)
        let sample = try #require(Self.codeBlocks(section).first)
        #expect(sample.contains { $0.hasPrefix("[keel] DTB:") }, "the sample lacks the DTB line")
        let run = try runKeel(["run", "--guest", Repo.guest("demo"), "--timeout", "60"])
        #expect(run.status == 0, "\(run.stderr)")
        let printed = run.lines.filter { !$0.isEmpty }
        #expect(printed == sample, "README's sample differs from what `make run` prints:\n\(printed.joined(separator: "\n"))")
    }

    @Test("the configuration reference lists exactly the keys the reader knows, table by table")
    func configKeysDocumented() throws {
        let text = try String(contentsOfFile: Repo.path("docs/configuration.md"), encoding: .utf8)
        let reference = try #require(text.components(separatedBy: "## Key reference").dropFirst().first)
        // "### heading" -> the backticked keys in the first column of its table.
        var tables: [String: Set<String>] = [:], heading = ""
        for line in reference.components(separatedBy: "\n") {
            if line.hasPrefix("### ") { heading = String(line.dropFirst(4)); tables[heading] = [] }
            guard line.hasPrefix("| `"), let end = line.dropFirst(3).firstIndex(of: "`") else { continue }
            tables[heading, default: []].insert(String(line[line.index(line.startIndex, offsetBy: 3)..<end]))
        }
        func keys(_ headingPrefix: String) -> Set<String> {
            tables.first { $0.key.hasPrefix(headingPrefix) }?.value ?? []
        }
        #expect(keys("Top level") == Set(ConfigReader.topKeys))
        #expect(keys("`[[vm]]`") == Set(ConfigReader.vmKeys))
        #expect(keys("`memory`") == Set(ConfigReader.vmMemoryKeys))
        #expect(Set(ConfigReader.memoryKeys).isSubset(of: Set(ConfigReader.vmMemoryKeys)))
        #expect(keys("`[qemu]`") == Set(ConfigReader.qemuKeys))
        #expect(keys("A device") == Set(ConfigReader.deviceKeys))
        #expect(keys("`emulated`") == Set(ConfigReader.emulatedKeys))
        #expect(keys("`[[shared_memory]]`") == Set(ConfigReader.sharedKeys))
        #expect(keys("`[[vm.virtio]]`") == Set(ConfigReader.virtioKeys))
    }

    @Test("every `keel SUBCOMMAND` the docs show exists (its --help succeeds)")
    func subcommandsExist() throws {
        var shown: Set<String> = []
        let pattern = try Regex(#"(?:build/bin/)?keel ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?"#)
        for (_, text) in try Self.pages() {
            for block in Self.codeBlocks(text) {
                for line in block where line.contains("keel ") && !line.hasPrefix("[keel]") {
                    for match in line.matches(of: pattern) {
                        guard let first = match.output[1].substring else { continue }
                        shown.insert(String(first))
                    }
                }
            }
        }
        #expect(shown.isSuperset(of: ["run", "pack", "trace", "esr", "dtb", "boards"]), "\(shown.sorted())")
        for subcommand in shown.sorted() {
            let run = try runKeel([subcommand, "--help"])
            #expect(run.status == 0, "docs show `keel \(subcommand)`, which keel does not have: \(run.stderr)")
        }
    }

    @Test("every relative link in README and docs/ names a file that exists")
    func linksResolve() throws {
        let link = try Regex(#"\]\(([^)#\s]+)(#[^)]*)?\)"#)
        for (page, text) in try Self.pages() {
            let folder = URL(fileURLWithPath: Repo.path(page)).deletingLastPathComponent()
            for match in text.matches(of: link) {
                let target = String(match.output[1].substring ?? "")
                guard !target.contains("://"), !target.hasPrefix("mailto:") else { continue }
                let path = folder.appendingPathComponent(target).standardized.path
                #expect(FileManager.default.fileExists(atPath: path), "\(page) links to \(target), which does not exist")
            }
        }
    }

    @Test("docs/exit-codes.md lists exactly ExitStatus's statuses, and `keel run --help` prints them")
    func exitCodesDocumented() throws {
        let text = try String(contentsOfFile: Repo.path("docs/exit-codes.md"), encoding: .utf8)
        let documented = Set(text.components(separatedBy: "\n").compactMap { line -> Int32? in
            // "| 65 | data | ..." rows; "| 128+N |" is the signal rule, not a status of the table.
            guard line.hasPrefix("| "), let number = line.dropFirst(2).split(separator: " ").first else { return nil }
            return Int32(number)
        })
        #expect(documented == Set(ExitStatus.allCases.map(\.rawValue)))
        let help = try runKeel(["run", "--help"])
        for status in ExitStatus.allCases {
            #expect(help.stdout.contains("\(status.rawValue)") && help.stdout.contains(status.meaning), "keel run --help lacks \(status)")
        }
    }

    @Test("README stays a two-minute read")
    func readmeIsShort() throws {
        let size = try FileManager.default.attributesOfItem(atPath: Repo.path("README.md"))[.size] as? Int ?? .max
        #expect(size <= 6_000, "README.md is \(size) bytes: move detail into docs/")
    }
}
