import Foundation
import KeelBoards
import KeelCore
import Testing
@testable import KeelKit

/// Seeded random-input tests (fixed seeds, bounded iterations, a second or two each) for the
/// three parsers that read what a person or a boot loader hands Keel: the FDT reader, the boot
/// bundle manifest and the system config. Each checks an invariant on whatever it accepts, not
/// only that nothing crashed.
@Suite("Random input: FDT, boot bundle manifest, system config")
struct RandomInputTests {
    /// SplitMix64: deterministic, so a failure names a reproducible seed.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
        mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    }

    /// The device tree Keel writes for a Linux guest: a real, non-trivial blob to damage.
    static let guestTree: [UInt8] = try! GuestDeviceTree(
        ramIPA: 0x4000_0000, ramSize: 256 << 20, vcpus: 4, gic: .v3(distributor: 0x0800_0000, redistributors: 0x080A_0000),
        uartIPA: 0x0900_0000, uartSPI: 1, bootargs: "console=ttyAMA0 keel.trace=full", initrd: (0x4F00_0000, 0x4F10_0000)).blob()

    static let lookups: [(StaticString, StaticString)] = [
        ("/chosen", "bootargs"), ("/chosen", "linux,initrd-start"), ("/memory", "reg"), ("/cpus/cpu@3", "reg"),
        ("/psci", "method"), ("/intc", "reg"), ("/", "compatible"), ("/timer", "interrupts"),
    ]

    @Test("FDT: mutated, truncated and random blobs give nil or a property inside the blob", arguments: [11, 12, 13])
    func fdt(seed: UInt64) {
        var rng = Random(state: seed)
        var accepted = 0
        for round in 0..<1500 {
            var blob = Self.guestTree
            switch round % 3 {
            case 0:  // a few bytes changed anywhere, header included
                for _ in 0..<(1 + rng.below(6)) { blob[rng.below(blob.count)] = rng.byte() }
            case 1:  // header sizes and offsets set to edge values
                let fields = [4, 8, 12, 32, 36]
                let edges: [UInt32] = [0, 1, 3, 40, UInt32(blob.count), UInt32(blob.count) + 1, 0x7FFF_FFFF, 0xFFFF_FFFF]
                let at = fields[rng.below(fields.count)]
                let v = edges[rng.below(edges.count)]
                blob.replaceSubrange(at..<(at + 4), with: [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)])
            default:  // random structure after a valid header
                for i in 40..<blob.count where rng.below(8) == 0 { blob[i] = rng.byte() }
            }
            let limit = rng.below(4) == 0 ? rng.below(blob.count) : blob.count
            do {
                guard let fdt = FDT(blob.span.extracting(0..<limit)) else { return }
                accepted += 1
                #expect(fdt.totalSize <= limit)
                for (path, name) in Self.lookups {
                    if let value = fdt.property(path: path, name: name) {
                        // A span checks its own bounds; this checks it is a part of the blob's.
                        #expect(fdt.bytes.indices(of: value) != nil, "seed \(seed) round \(round): \(path) \(name) outside the blob")
                    }
                }
            }
        }
        #expect(accepted > 0)  // the damage leaves some blobs readable, so lookups ran
    }

    static func linuxBundle() -> Data {
        var writer = BootBundleWriter(entryIPA: 0x4008_0000, x0: 0x4FE0_0000, linux: true)
        writer.add(.kernel, Data((0..<9_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }), at: 0x4008_0000)
        writer.add(.initrd, Data((0..<3_000).map { UInt8(truncatingIfNeeded: $0 >> 2) }), at: 0x4F00_0000)
        writer.add(.deviceTree, Data(Self.guestTree), at: 0x4FE0_0000)
        return writer.bytes()
    }

    @Test("boot bundle: any single damaged byte of manifest or image is refused", arguments: [21, 22])
    func bundleSingleByte(seed: UInt64) {
        let original = Self.linuxBundle()
        var rng = Random(state: seed)
        let opened = original.withSpan { raw in (try? BootBundle.open(raw, ramIPA: 0x4000_0000, ramSize: 256 << 20)) != nil }
        #expect(opened)
        // Bytes that matter: header, table, and each image (not the alignment padding).
        let images = [(0x1000, 9_000), (0x4000, 3_000), (0x5000, Self.guestTree.count)]
        for _ in 0..<600 {
            var damaged = original
            let region = rng.below(4)
            let at = region == 0 ? rng.below(64 + 3 * 32) : images[region - 1].0 + rng.below(images[region - 1].1)
            damaged[at] ^= UInt8(1 + rng.below(255))
            let result = damaged.withSpan { raw in
                Result { () throws(BootBundle.Problem) in
                    try BootBundle.open(raw, ramIPA: 0x4000_0000, ramSize: 256 << 20).count
                }
            }
            #expect(throws: BootBundle.Problem.self, "seed \(seed): byte \(at) damaged but accepted") { try result.get() }
        }
    }

    @Test("boot bundle: random manifests with a valid checksum give an error or images inside bundle and RAM", arguments: [23, 24])
    func bundleResealed(seed: UInt64) {
        let original = Self.linuxBundle()
        var rng = Random(state: seed)
        for _ in 0..<800 {
            var damaged = original
            for _ in 0..<(1 + rng.below(4)) { damaged[16 + rng.below(64 + 3 * 32 - 16)] = rng.below(2) == 0 ? rng.byte() : [0, 0xFF, 0x40, 0x10][rng.below(4)] }
            // Reseal the header so the deeper checks run.
            let count = min(Int(damaged.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 40, as: UInt32.self) }.littleEndian), 8)
            let crc = damaged.withSpan { BootBundle.headerChecksum($0, count: count) }
            for i in 0..<4 { damaged[damaged.startIndex + 48 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
            let limit = UInt64(damaged.count - rng.below(2) * rng.below(8192))
            damaged.withSpan { raw in
                guard let bundle = try? BootBundle.open(raw.extracting(0..<Int(limit)), ramIPA: 0x4000_0000, ramSize: 256 << 20) else { return }
                #expect(bundle.totalSize <= limit)
                for i in 0..<bundle.count {
                    let e = bundle.entry(i)
                    #expect(e.offset + e.size <= bundle.totalSize && e.loadIPA >= 0x4000_0000 && e.loadIPA + e.size <= 0x5000_0000)
                    #expect(CRC32.checksum(raw.extracting(Int(e.offset)..<Int(e.offset + e.size))) == e.checksum)
                }
            }
        }
    }

    /// KEEL_FUZZ_ROUNDS raises the count for a longer hunt.
    static let configRounds = Int(ProcessInfo.processInfo.environment["KEEL_FUZZ_ROUNDS"] ?? "") ?? 700

    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz_0123456789xX \n\t=[]{},.\"'#-+:") + ["\u{7F}", "é", "\u{0}"]

    @Test("system config: mutated TOML is read or refused with file, key and fix, never a crash", arguments: [31, 32, 33])
    func config(seed: UInt64) throws {
        let fixture = try ConfigFixture()
        let seeds = [linuxVM, rawVM + "\ndevices = [\"rtc\", { name = \"gpio\", interrupts = [39] }]\nemulated = [{ kind = \"pl011\", base = 0x0900_0000 }]\n",
                     rawVM + "\n[[shared_memory]]\nname = \"r\"\nsize = \"64K\"\nipa = 0x7000_0000\nvms = [\"demo\"]\n"]
        var rng = Random(state: seed)
        var valid = 0, refused = 0
        for round in 0..<Self.configRounds {
            var text = Array(seeds[round % seeds.count])
            for _ in 0..<(1 + rng.below(4)) {
                let at = rng.below(text.count)
                switch rng.below(3) {
                case 0: text[at] = Self.alphabet[rng.below(Self.alphabet.count)]
                case 1: text.insert(Self.alphabet[rng.below(Self.alphabet.count)], at: at)
                default: text.remove(at: at)
                }
            }
            if let dump = ProcessInfo.processInfo.environment["KEEL_FUZZ_DUMP"] {
                // The input about to be read, for reproducing a crash outside the test.
                try? String(text).write(toFile: "\(dump)-\(seed).toml", atomically: false, encoding: .utf8)
            }
            let messages = Self.problems(String(text), directory: fixture.directory.path)
            if messages.isEmpty { valid += 1 } else { refused += 1 }
            for message in messages {
                #expect(message.hasPrefix("system.toml: ") && message.contains(" key ") && message.hasSuffix(")") && message.contains("(fix: "),
                        "seed \(seed) round \(round): \(message)")
            }
        }
        #expect(valid > 0 && refused > 0)
    }

    /// The config's problems, empty when it is valid.
    static func problems(_ text: String, directory: String) -> [String] {
        do throws(ConfigError) {
            _ = try ConfigValidator.validate(try ConfigReader.parse(text, file: "system.toml", directory: directory))
            return []
        } catch {
            return error.messages.isEmpty ? ["(a ConfigError without problems)"] : error.messages
        }
    }
}
