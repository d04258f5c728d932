import Foundation
import KeelCore
import KeelKit
import Testing

/// Crafted inputs the firmware and the host tool must refuse with a message, never crash on
/// (issue 17): a packed image whose VM table is rewritten with valid CRCs, and DTBs whose GIC
/// frame or memory range sums wrap.
/// The firmware's refusal is `keel run`'s status 76 (`ExitStatus.refused`), never a panic (70).
@Suite("Crafted images and DTBs: refused, never a panic or a crash")
struct CraftedInputTests {
    /// Two raw VMs sharing a 64 KiB region, packed; `edit` then rewrites the VM table (at
    /// `table`, the offset of its header in the image) before the header CRC is made valid again.
    static func craftedImage(_ scratch: PackTests.Scratch, board: String = "qemu-virt",
                             _ edit: (_ bytes: inout Data, _ table: Int) -> Void) throws -> String {
        let image = scratch.path("crafted.img")
        let config = try scratch.config(PackTests.twoRawVMsConfig(board: board, extra: """
            [[shared_memory]]
            name = "ring"
            size = "64K"
            ipa = 0x7000_0000
            vms = ["a", "b"]
            """))
        let pack = try runKeel(["pack", "--config", config, "-o", image])
        try #require(pack.status == 0, "\(pack.stderr)")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: image))
        let table = Int(try PackTests.appendedBundleAddress() - 0x4008_0000)
        try #require(bytes[table..<(table + 8)] == Data("KEELSYST".utf8))
        edit(&bytes, table)
        let crc = SystemManifest.headerChecksum([UInt8](bytes[table...]).span, count: 2, regions: 1)
        for i in 0..<4 { bytes[table + 28 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        try bytes.write(to: URL(fileURLWithPath: image))
        return image
    }

    static func put(_ value: UInt64, _ bytes: inout Data, at offset: Int) {
        for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    /// Offsets in the VM table: VM `vm`'s RAM IPA, shared region `k`'s IPA.
    static func ramIPA(_ table: Int, vm: Int) -> Int { table + SystemManifest.headerSize + vm * SystemManifest.recordSize + 24 }
    static func regionIPA(_ table: Int, region k: Int) -> Int {
        table + SystemManifest.tablesSize(count: 2, regions: 0) + k * SystemManifest.regionSize + 16
    }

    struct Crafted: CustomStringConvertible, Sendable {
        var description: String
        var board = "qemu-virt"
        /// Offset of the u64 to rewrite, from the table's start, and its new value.
        var field: @Sendable (Int) -> Int
        var value: UInt64
        var message: String
    }

    static let craftedTables: [Crafted] = [
        // The image: RAM + size wrapped in `g.ipa < r.ramIPA + r.ramSize` (BRK, PANIC).
        Crafted(description: "VM b's RAM at IPA 0xFFFFFFFFFFE00000, named in a shared region",
                field: { ramIPA($0, vm: 1) }, value: 0xFFFF_FFFF_FFE0_0000,
                message: "a VM's RAM reaches past the end of the IPA space"),
        // No wrap, but past stage 2's 40-bit IPA space: "cannot build a VM's stage-2 tables" (PANIC).
        Crafted(description: "VM b's RAM at IPA 0xFFFFFFFFFFC00000, past the IPA space",
                field: { ramIPA($0, vm: 1) }, value: 0xFFFF_FFFF_FFC0_0000,
                message: "a VM's RAM reaches past the end of the IPA space"),
        // No wrap (0xFFFFFFFFFFFF0000 would: refused before), past the IPA space: "cannot map a
        // shared region" (PANIC).
        Crafted(description: "the shared region at IPA 0xFFFFFFFFFFFE0000, past the IPA space",
                field: { regionIPA($0, region: 0) }, value: 0xFFFF_FFFF_FFFE_0000,
                message: "a shared region reaches past the end of the IPA space"),
        // GICv2: VM b's RAM blocks cover the GICC address where Keel maps GICV, which then fails
        // (PANIC). Here the boot bundle's check (its images lie outside this RAM) would refuse it
        // later too; the VM table's check now names the cause first.
        Crafted(description: "GICv2: VM b's RAM at IPA 0x8000000, over the virtual CPU interface", board: "qemu-virt-gicv2",
                field: { ramIPA($0, vm: 1) }, value: 0x0800_0000,
                message: "a VM's RAM or shared region covers the guest address of the virtual GIC's CPU interface"),
    ]

    @Test("a packed image whose VM table is rewritten with valid CRCs is refused by the firmware", arguments: craftedTables)
    func craftedVMTable(_ crafted: Crafted) throws {
        let scratch = try PackTests.Scratch()
        let image = try Self.craftedImage(scratch, board: crafted.board) { bytes, table in
            Self.put(crafted.value, &bytes, at: crafted.field(table))
        }
        let run = try runKeel(["run", image, "--board", crafted.board, "--smp", "2", "--timeout", "60"])
        #expect(!run.stdout.contains("[keel] PANIC"), "\(run.stdout)")
        #expect(run.status == ExitStatus.refused.rawValue, "\(run.stderr)\n\(run.stdout)")
        let address = "0x" + String(try PackTests.appendedBundleAddress(), radix: 16)
        #expect(run.lines.contains("[keel] ERROR: the VM table appended to Keel's image (\(address)) is unusable: \(crafted.message); no VM is started"),
                "\(run.stdout)")
        #expect(run.stderr.contains("keel: Keel refused the image's VMs (see its message above); no guest ran"), "\(run.stderr)")
        #expect(!run.stdout.contains("Hello from a bare-metal guest"))
    }

    @Test("a shared region rewritten onto the packed images themselves (which VMs would then write) is refused")
    func regionOverTheImages() throws {
        let scratch = try PackTests.Scratch()
        let appended = try PackTests.appendedBundleAddress()
        let image = try Self.craftedImage(scratch) { bytes, table in
            Self.put(appended, &bytes, at: Self.regionIPA(table, region: 0) - 16)  // the region's PA
        }
        let run = try runKeel(["run", image, "--smp", "2", "--timeout", "60"])
        #expect(!run.stdout.contains("[keel] PANIC"), "\(run.stdout)")
        #expect(run.status == ExitStatus.refused.rawValue, "\(run.stderr)\n\(run.stdout)")
        let address = "0x" + String(appended, radix: 16)
        #expect(run.lines.contains("[keel] ERROR: the VM table appended to Keel's image (\(address)) is unusable: "
                                   + "a shared region overlaps Keel, the images, a VM's RAM or another region; no VM is started"), "\(run.stdout)")
        #expect(!run.stdout.contains("hvc: done"))
    }

    // MARK: DTBs

    static let dtcAvailable = DeviceTreeBootTests.dtc != nil

    /// QEMU virt's GICv2 tree with a 128 KiB CPU interface at 0xffffffffffff8000: its
    /// aliased-frame offset wrapped in `MachineCheck.resolve`.
    static func topGICC() throws -> String {
        try DeviceTreeBootTests.editedVirtDTB(smp: 2, gic: 2) {
            $0.replacingOccurrences(of: "0x00 0x8010000 0x00 0x10000", with: "0xffffffff 0xffff8000 0x00 0x20000")
        }
    }

    /// QEMU virt's tree with a memory node of base 0x1000 and size 0xFFFFFFFFFFFFF000 beside its
    /// own (QEMU rewrites the nodes called memory, so the crafted one has another name and
    /// device_type memory; QEMU puts its own first).
    static func wrappingMemory() throws -> String {
        try DeviceTreeBootTests.editedVirtDTB(smp: 2) {
            $0.replacingOccurrences(of: "\tmemory@40000000 {", with: "\tram@1000 {\n\t\treg = <0x00 0x1000 0xffffffff 0xfffff000>;\n\t\tdevice_type = \"memory\";\n\t};\n\n\tmemory@40000000 {")
        }
    }

    static let gicMessage = "a GIC frame or the console UART reaches past the 512 GiB Keel's EL2 map covers; it is at 0xffffffffffff8000"
    static let memoryMessage = "a memory range runs past the end of the address space; it starts at 0x1000"

    @Test("a DTB whose GICv2 CPU interface is 128 KiB at 0xffffffffffff8000: the firmware refuses it, keel dtb says so (65)",
          .enabled(if: dtcAvailable, "dtc is not installed"))
    func gicFrameAtTheTop() throws {
        let dtb = try Self.topGICC()
        let run = try boot("hvc", ["--gic", "2", "--smp", "2", "--dtb", dtb])
        #expect(!run.stdout.contains("[keel] PANIC"), "\(run.stdout)")
        #expect(run.status == ExitStatus.refused.rawValue, "\(run.stderr)\n\(run.stdout)")
        #expect(run.lines.contains("[keel] ERROR: DTB: \(Self.gicMessage): Keel cannot run here"), "\(run.stdout)")
        #expect(run.stderr.contains("Keel cannot run on the machine its DTB describes"), "\(run.stderr)")
        #expect(!run.stdout.contains("hvc: done"))

        let described = try runKeel(["dtb", dtb])
        #expect(described.status == ExitStatus.dataError.rawValue, "\(described.stderr)\n\(described.stdout)")
        #expect(described.lines.contains("ERROR: \(Self.gicMessage)"), "\(described.stdout)")
        #expect(described.lines.contains("Keel cannot run on this machine as qemu-virt"), "\(described.stdout)")
    }

    @Test("a DTB with a memory range that wraps (base 0x1000, size 0xFFFFFFFFFFFFF000): refused, by the firmware and keel dtb (65)",
          .enabled(if: dtcAvailable, "dtc is not installed"))
    func memoryThatWraps() throws {
        let dtb = try Self.wrappingMemory()
        let run = try boot("hvc", ["--smp", "2", "--dtb", dtb])
        #expect(!run.stdout.contains("[keel] PANIC"), "\(run.stdout)")
        #expect(run.status == ExitStatus.refused.rawValue, "\(run.stderr)\n\(run.stdout)")
        #expect(run.lines.contains("[keel] ERROR: DTB: \(Self.memoryMessage): Keel cannot run here"), "\(run.stdout)")
        #expect(!run.stdout.contains("17592186044415 MiB"), "\(run.stdout)")

        let described = try runKeel(["dtb", dtb])
        #expect(described.status == ExitStatus.dataError.rawValue, "\(described.stderr)\n\(described.stdout)")
        #expect(described.lines.contains("ERROR: \(Self.memoryMessage)"), "\(described.stdout)")
    }

    // MARK: The host tool's options

    @Test("--timeout 1e10 (NSCondition.wait crashed) and other values outside (0, 604800] are usage errors, 64, before QEMU starts",
          arguments: ["1e10", "604800.5", "0", "-1", "nan", "inf"])
    func timeoutOutOfRange(_ value: String) throws {
        let run = try runKeel(["run", "--guest", Repo.guest("demo"), "--timeout=\(value)"])
        #expect(run.status == ExitStatus.usage.rawValue, "\(run.stderr)")
        #expect(run.stderr.contains("is not possible: give more than 0 and at most 604800 seconds (a week)"), "\(run.stderr)")
        #expect(!run.stdout.contains("Hello from a bare-metal guest"))
    }

    @Test("--timeout 604800, the longest, is taken")
    func longestTimeout() throws {
        let run = try runKeel(["run", "--guest", Repo.guest("demo"), "--timeout", "604800"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout)")
        #expect(run.stdout.contains("Hello from a bare-metal guest"))
    }
}
