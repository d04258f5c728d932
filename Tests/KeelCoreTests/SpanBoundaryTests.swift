import KeelCore
import Testing

/// The sums of untrusted values the span-based parsers check without overflowing: each case
/// here trapped (an overflow check in a sum) or gave a wrong answer (a wrapped sum) before.
@Suite("Parsers over spans: sums at the top of the address space")
struct SpanBoundaryTests {
    @Test("interval helpers answer as if the sums did not wrap")
    func interval() {
        #expect(Interval.isBelow(UInt64.max, sumOf: UInt64.max, 1))  // the sum is 2^64
        #expect(!Interval.isBelow(UInt64.max, sumOf: UInt64.max - 1, 1))
        #expect(Interval.isBelow(5, sumOf: 10, 0))  // below y itself
        #expect(Interval.overlap(UInt64.max - 0xFFF, 0x1000, UInt64.max - 0x7FF, 0x10))
        #expect(!Interval.overlap(UInt64.max - 0xFFF, 0x800, UInt64.max - 0x7FF, 0x10))
        #expect(!Interval.overlap(0, 0x1000, 0x1000, UInt64.max))
    }

    /// `DoorbellPeersTests.table` with VM 0's RAM IPA replaced, resealed.
    static func table(ramIPA: UInt64, regions: [UInt32]) -> [UInt8] {
        var bytes = DoorbellPeersTests.table(count: 1, regions: regions)
        let at = SystemManifest.headerSize + 24
        for i in 0..<8 { bytes[at + i] = UInt8(truncatingIfNeeded: ramIPA >> (8 * UInt64(i))) }
        let crc = SystemManifest.headerChecksum(bytes.span, count: 1, regions: regions.count)
        for i in 0..<4 { bytes[28 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        return bytes
    }

    static func open(_ bytes: [UInt8]) -> SystemManifest.Problem? {
        do throws(SystemManifest.Problem) {
            _ = try SystemManifest.open(bytes.span, DoorbellPeersTests.limits)
            return nil
        } catch {
            return error
        }
    }

    @Test("a VM whose RAM IPA range wraps past 2^64 is refused (the shared-region check summed it and trapped)")
    func manifestIPAWrap() {
        let sixteenMiB: UInt64 = 16 << 20
        // Ends exactly at 2^64: the end is not representable, refused.
        #expect(Self.open(Self.table(ramIPA: 0 &- sixteenMiB, regions: [0b1])) == .ramIPAOverflow(0))
        #expect(Self.open(Self.table(ramIPA: 0 &- (2 << 20), regions: [0b1])) == .ramIPAOverflow(0))
        // The highest that fits, with a shared region mapped into the VM: accepted.
        #expect(Self.open(Self.table(ramIPA: 0 &- 2 * sixteenMiB, regions: [0b1])) == nil)
    }

    @Test("two images at the top of the IPA space overlap even where the end of one wraps to 0")
    func bundleOverlapAtTop() {
        let ramIPA = UInt64.max - 0xFFFF, ramSize: UInt64 = 0x10000
        let bytes = BootBundleTests.encode([BootBundleTests.Image(kind: 1, bytes: [UInt8](repeating: 1, count: 0x1000), load: UInt64.max - 0xFFF),
                                            BootBundleTests.Image(kind: 1, bytes: [UInt8](repeating: 2, count: 0x10), load: UInt64.max - 0x7FF)],
                                           entry: ramIPA)
        #expect(BootBundleTests.open(bytes, ramIPA: ramIPA, ramSize: ramSize) == .failure(.overlap(0, 1)))
        // Apart, the same two fit.
        let apart = BootBundleTests.encode([BootBundleTests.Image(kind: 1, bytes: [UInt8](repeating: 1, count: 0x800), load: UInt64.max - 0xFFF),
                                            BootBundleTests.Image(kind: 1, bytes: [UInt8](repeating: 2, count: 0x10), load: UInt64.max - 0x7FF)],
                                           entry: ramIPA)
        #expect(BootBundleTests.problem(BootBundleTests.open(apart, ramIPA: ramIPA, ramSize: ramSize)) == nil)
    }

    @Test("reg, cell and interrupt indexes near Int.max give nil (the products trapped)")
    func fdtIndexes() {
        let blob = FDTBuilder.sample
        guard let fdt = FDT(blob.span), let memory = fdt.walk(to: "/memory") else { Issue.record("no /memory"); return }
        let first = memory.rawReg(0)?.address
        let huge = memory.rawReg(Int.max) == nil && memory.rawReg(Int.max / 8) == nil && memory.reg(Int.max) == nil
        let cells = memory.cell("reg", Int.max) == nil && memory.cell("reg", Int.max / 4 + 1) == nil && memory.cell("reg", -1) == nil
        let interrupts = memory.interrupt(Int.max) == nil && memory.interrupt(Int.max / 3) == nil && memory.interrupt(-1) == nil
        #expect(first == 0x4000_0000)
        #expect(huge)
        #expect(cells)
        #expect(interrupts)
    }
}
