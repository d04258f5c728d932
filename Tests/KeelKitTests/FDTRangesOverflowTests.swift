import Foundation
import KeelCore
@testable import KeelKit
import Testing

/// `reg` through a bus's `ranges`: a window whose parent base plus the offset passes 2^64 maps
/// nothing there (it wrapped to a low address before; issue 17's audit of the DTB sums).
@Suite("Boot DTB: ranges that would wrap")
struct FDTRangesOverflowTests {
    /// A bus with one window: child addresses 0..<0x2000 at parent 0xFFFFFFFFFFFFF000, and a
    /// device at child address `device`.
    static func blob(device: UInt32) throws -> [UInt8] {
        var dev = FDTNode("dev@\(String(device, radix: 16))")
        dev.set("reg", u32: device, 0x1)
        var bus = FDTNode("bus")
        bus.set("#address-cells", u32: 1)
        bus.set("#size-cells", u32: 1)
        bus.set("ranges", u32: 0x0, 0xFFFF_FFFF, 0xFFFF_F000, 0x2000)
        bus.add(dev)
        var root = FDTNode("")
        root.set("#address-cells", u32: 2)
        root.set("#size-cells", u32: 2)
        root.add(bus)
        return try FDTWriter.blob(root: root)
    }

    static func address(device: UInt32) throws -> UInt64? {
        let bytes = try blob(device: device)
        guard let fdt = FDT(bytes.span) else { Issue.record("no FDT"); return nil }
        let path = "/bus/dev@\(String(device, radix: 16))"
        var found: UInt64? = nil
        let pathBytes = Array(path.utf8)
        if let node = fdt.walk(to: pathBytes.span) { found = node.reg(0)?.address }
        return found
    }

    @Test("the last byte below 2^64 is mapped; the next child address, which would wrap, is not")
    func edge() throws {
        #expect(try Self.address(device: 0xFFF) == 0xFFFF_FFFF_FFFF_FFFF)
        #expect(try Self.address(device: 0x800) == 0xFFFF_FFFF_FFFF_F800)
        #expect(try Self.address(device: 0x1000) == nil)
        #expect(try Self.address(device: 0x1FFF) == nil)
    }
}
