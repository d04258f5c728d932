import Foundation
import KeelCore
import Testing
@testable import KeelKit

/// The fuzz targets' fix-ups: what they seal must get past the checksums, or the fuzzer never
/// reaches the checks behind them.
@Suite("Fuzz targets seal their input")
struct FuzzSealingTests {
    static let corpus = FuzzCorpusTests.corpus

    @Test("a VM table whose image byte changed is refused, and accepted once sealed")
    func manifestSealed() throws {
        var bytes = try [UInt8](Data(contentsOf: Self.corpus.appendingPathComponent("bootBundle/two-vms.manifest")))
        let limits = SystemManifest.Limits(cpus: 4, dramBase: 0x4000_0000, dramSize: 0x4000_0000, reservedStart: 0x4000_0000, reservedEnd: 0x4020_0000)
        let manifest = try SystemManifest.open(bytes.span, limits)
        let range = manifest.bundle(1)
        let record = manifest.record(1)
        bytes[range.lowerBound + BootBundle.alignment + 100] ^= 0x5A  // inside VM 1's first image
        bytes[SystemManifest.headerSize + SystemManifest.recordSize + 68] ^= 1  // VM 1's reset limit: the table's CRC
        #expect(throws: SystemManifest.Problem.badChecksum) { try SystemManifest.open(bytes.span, limits) }
        #expect(throws: BootBundle.Problem.self) { try BootBundle.open(bytes.span.extracting(range), ramIPA: record.ramIPA, ramSize: record.ramSize) }
        FuzzTargets.sealManifest(&bytes)
        _ = try SystemManifest.open(bytes.span, limits)
        _ = try BootBundle.open(bytes.span.extracting(range), ramIPA: record.ramIPA, ramSize: record.ramSize)
    }

    @Test("payloads after 0xFF become a header and records, with the kind and action mapped onto valid values")
    func traceFramed() {
        var header = [UInt8](repeating: 0, count: TraceHeader.size)
        var out = header.mutableSpan
        TraceHeader().encode(into: &out)
        var input: [UInt8] = [FuzzTargets.framedPrefix] + header
        for i in 0..<3 { input += [UInt8](repeating: UInt8(0xF0 + i), count: TraceRecord.size) }  // no valid kind or action
        input += [1, 2, 3]  // a remainder: raw bytes
        let log = TraceLog.decode(FuzzTargets.framedTrace(input.dropFirst()))
        #expect(log.header != nil && log.records.count == 3 && log.corruptFrames == 0)
        // A first byte ending in 0xF: a batch (version 2) of the bytes after it.
        var batch = input
        batch[1 + TraceHeader.size] = 0x0F
        let batchLog = TraceLog.decode(FuzzTargets.framedTrace(batch.dropFirst()))
        #expect(batchLog.records.count == 2 && batchLog.corruptFrames == 0 && batchLog.badPayloads == 1)
    }
}
