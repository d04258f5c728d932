import Foundation
import KeelBoards
import KeelCore
import KeelMachine

/// Every parser that reads what a user, a boot loader or a serial line hands Keel, as one
/// entry each: a function of arbitrary bytes that must return, never trap. `keel-fuzz` runs them
/// under libFuzzer (+ASan); `FuzzCorpusTests` replays fuzz/corpus/<name>/ through the same
/// functions in the normal test build, so a reproducer, once fixed, stays fixed.
///
/// Where a checksum stands in front of the checks worth reaching, the target seals the input
/// first (BootBundle and SystemManifest CRCs, trace frames): random bytes would otherwise stop at
/// the checksum and the fuzzer would never see the bounds behind it.
public enum FuzzTargets {
    public struct Target: Sendable {
        public let name: String
        public let run: @Sendable ([UInt8]) -> Void
    }

    public static let all: [Target] = [
        Target(name: "fdt", run: fdt),
        Target(name: "bootBundle", run: bootBundle),
        Target(name: "trace", run: trace),
        Target(name: "elf", run: elf),
        Target(name: "config", run: config),
        Target(name: "cpio", run: cpio),
    ]

    public static func named(_ name: String) -> Target? { all.first { $0.name == name } }

    // MARK: fdt

    /// FDT, DeviceTreeMachine and MachineCheck against every board, as the firmware's boot reads
    /// a DTB, and, for one input in four, `keel dtb`'s report for one board (the input's length
    /// picks them: the report's text costs more than all the rest). A blob whose header does not
    /// read is tried again with a valid one (magic, total size), so mutations of the structure
    /// get past the header.
    static func fdt(_ input: [UInt8]) {
        if FDT(input.span) == nil, input.count >= 40 {
            var framed = input
            LittleEndian.storeBig32(FDT.magic, at: 0, in: &framed)
            LittleEndian.storeBig32(UInt32(clamping: framed.count), at: 4, in: &framed)
            fdtOnce(framed)
        } else {
            fdtOnce(input)
        }
    }

    static let fdtLookups: [(StaticString, StaticString)] = [
        ("/chosen", "bootargs"), ("/chosen", "stdout-path"), ("/chosen", "linux,initrd-start"), ("/memory", "reg"),
        ("/cpus/cpu@0", "reg"), ("/psci", "method"), ("/intc", "reg"), ("/", "compatible"), ("/timer", "interrupts"),
    ]

    private static func fdtOnce(_ bytes: [UInt8]) {
        if let tree = FDT(bytes.span) {
            for (path, name) in fdtLookups { _ = tree.property(path: path, name: name) }
            var walk = FDT.Walk(tree)
            var steps = 0
            while steps < 100_000, walk.next() { _ = walk.name; _ = walk.property("reg"); steps += 1 }
        }
        if bytes.count % 4 == 0 {
            let reported = BoardCatalog.all[bytes.count / 4 % BoardCatalog.all.count].board
            _ = BootDeviceTree.describe(bytes, board: reported, boardGICv2: reported.gicVersion == 3 ? qemuVirtGICv2 : nil)
        }
        guard let dtb = DeviceTreeMachine(bytes.span) else { return }
        for known in BoardCatalog.all {
            _ = dtb.memoryRegion(holding: known.board.loadAddress)
            // The firmware asks the CPU; the host cannot: both answers.
            for hasGICv3 in [false, true] {
                guard let machine = MachineCheck.resolve(dtb, board: known.board, imageBase: known.board.loadAddress, imageSize: 0x20_0000,
                                                         cpuHasGICv3: hasGICv3, note: { _, _ in }) else { continue }
                // Every release address the firmware would write to: in RAM, aligned, outside Keel.
                if machine.cpuStart == .spinTable {
                    for cpu in 1..<min(machine.cpuCount, DeviceTreeMachine.cpuCapacity) {
                        let release = machine.releaseAddress[cpu]
                        precondition(release & 7 == 0 && machine.ramHolds(release, size: 8)
                                     && (release + 8 <= known.board.loadAddress || release >= known.board.loadAddress + 0x20_0000),
                                     "a release address Keel would write to is not safe: \(release)")
                    }
                }
                let expected = Machine(board: known.board)
                for field in MachineField.allCases { _ = field.differs(in: machine, from: expected); _ = field.value(in: machine) }
                _ = machine.ramHolds(machine.ramBase, size: machine.ramSize)
                // The firmware's end of RAM (BootLoader: `machine.ramEnd - address`) must not wrap.
                _ = machine.ramBase + machine.ramSize
            }
        }
    }

    // MARK: elf

    /// The GNU build id reader `keel trace decode --elf` uses.
    static func elf(_ input: [UInt8]) {
        _ = try? ELFBuildID.read(Data(input))
        // `keel bench`'s readers of the firmware's ELF: sections, symbols, and the code itself.
        _ = try? FirmwareFootprint(elf: input, name: "fuzz.elf")
        _ = try? FirmwareReach(elf: input, name: "fuzz.elf")
    }

    // MARK: cpio

    /// Keel has no cpio reader: what it makes of Linux files is the kernel's Image header
    /// (`KernelImage.form`, `GuestImage.kind`) and the initramfs it writes. The input is read as
    /// an Image and as busybox, and its lines as entries (first byte: kind; the rest: path, or
    /// path and target) of an archive whose encoding must stay well-formed newc.
    static func cpio(_ input: [UInt8]) {
        let data = Data(input)
        _ = KernelImage.form(of: data)
        _ = GuestImage.kind(of: data)
        if let archive = try? Initramfs.archive(busybox: data) { checkNewc(archive.encoded()) }
        var archive = CPIOArchive()
        for line in input.split(separator: 0x0A, omittingEmptySubsequences: false).prefix(64) {
            guard let kind = line.first else { continue }
            let text = String(decoding: line.dropFirst(), as: UTF8.self)
            let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
            let path = parts.first ?? "", other = parts.count > 1 ? parts[1] : ""
            switch kind % 4 {
            case 0: try? archive.addDirectory(path, permissions: UInt32(kind) << 4)
            case 1: try? archive.addFile(path, contents: Data(other.utf8))
            case 2: try? archive.addSymlink(path, target: other)
            default: try? archive.addCharacterDevice(path, major: UInt32(kind), minor: UInt32(other.utf8.count))
            }
        }
        checkNewc(archive.encoded())
    }

    /// What the kernel's initramfs unpacker needs of every archive Keel writes.
    private static func checkNewc(_ encoded: Data) {
        precondition(encoded.count % 4 == 0, "cpio: archive length not a multiple of 4")
        precondition(encoded.starts(with: Array(CPIOArchive.magic.utf8)), "cpio: archive does not start with the newc magic")
        let trailer = Array((CPIOArchive.trailerName + "\0").utf8)
        precondition(encoded.range(of: Data(trailer), options: .backwards) != nil, "cpio: no trailer")
    }
}

extension LittleEndian {
    /// Big-endian store into an array, for FDT header fields (fuzz fix-ups only).
    static func storeBig32(_ value: UInt32, at offset: Int, in bytes: inout [UInt8]) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(3 - i))) }
    }

    /// Little-endian store into an array (fuzz fix-ups only).
    static func storeLittle(_ value: UInt64, _ size: Int, at offset: Int, in bytes: inout [UInt8]) {
        for i in 0..<size { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }
}
