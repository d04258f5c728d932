import Foundation
import KeelBoards
import KeelCore
import Testing
@testable import KeelKit

/// A synthetic arm64 Image: text_offset at 0x08, image_size at 0x10, flags at 0x18, magic
/// "ARM\x64" at 0x38, all little-endian (Documentation/arch/arm64/booting.rst).
func syntheticImage(textOffset: UInt64 = 0, imageSize: UInt64 = 2 << 20, flags: UInt64 = 0xA, size: Int = 4096,
                    magic: [UInt8] = [0x41, 0x52, 0x4D, 0x64]) -> Data {
    var bytes = [UInt8](repeating: 0, count: size)
    func put(_ at: Int, _ value: UInt64) { for i in 0..<8 { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) } }
    bytes[0] = 0x4D  // "MZ", as an EFI-stub kernel has it
    bytes[1] = 0x5A
    put(0x08, textOffset)
    put(0x10, imageSize)
    put(0x18, flags)
    bytes.replaceSubrange(0x38..<0x3C, with: magic)
    for i in 0x40..<size { bytes[i] = UInt8(truncatingIfNeeded: i &* 31) }
    return Data(bytes)
}

/// What `BootBundle.open` returned, copied out while the bytes are alive.
struct OpenedBundle: Equatable {
    var totalSize: UInt64
    var entryIPA: UInt64
    var x0: UInt64
    var isLinux: Bool
    var entries: [BootBundle.Entry]
}

func openBundle(_ data: Data, limit: UInt64? = nil, layout: VMLayout = qemuVirtDefaultVM) -> Result<OpenedBundle, BootBundle.Problem> {
    data.withSpan { (buffer: Span<UInt8>) -> Result<OpenedBundle, BootBundle.Problem> in
        do throws(BootBundle.Problem) {
            let readable = Int(min(limit ?? UInt64(buffer.count), UInt64(buffer.count)))
            let b = try BootBundle.open(buffer.extracting(0..<readable), ramIPA: layout.ramIPA,
                                        ramSize: layout.ramSize)
            return .success(OpenedBundle(totalSize: b.totalSize, entryIPA: b.entryIPA, x0: b.x0, isLinux: b.isLinux,
                                         entries: (0..<b.count).map { b.entry($0) }))
        } catch {
            return .failure(error)
        }
    }
}

@Suite("Linux guests are placed per the arm64 boot protocol")
struct LinuxBootTests {
    let layout = qemuVirtDefaultVM  // 256 MiB at IPA 0x4000_0000
    static let mib: UInt64 = 1 << 20

    // MARK: The Image header

    @Test("the header's fields are read little-endian, also from a slice")
    func header() throws {
        let image = syntheticImage(textOffset: 0x8_0000, imageSize: 0x0123_4567, flags: 0xA)
        let header = try LinuxBoot.Header(image, name: "Image")
        #expect(header.textOffset == 0x8_0000 && header.imageSize == 0x0123_4567 && header.flags == 0xA)
        // Data slices keep their parent's indices.
        let framed = Data([1, 2, 3]) + image
        let slice = framed[3...]
        #expect(slice.startIndex == 3)
        #expect(try LinuxBoot.Header(slice, name: "Image") == header)
    }

    @Test("shorter than a header")
    func tooShort() {
        #expect(throws: KeelError("'tiny' is not a Linux arm64 Image: only 63 bytes")) {
            try LinuxBoot.Header(Data(count: 63), name: "tiny")
        }
        #expect(throws: KeelError("'none' is not a Linux arm64 Image: only 0 bytes")) {
            try LinuxBoot(kernel: Data(), kernelName: "none", initrdSize: nil, layout: qemuVirtDefaultVM)
        }
    }

    @Test("not an Image: no magic")
    func noMagic() {
        let expected = KeelError(#"'vmlinux' is not a Linux arm64 Image: no "ARM\x64" magic at offset 0x38"#)
        for magic: [UInt8] in [[0, 0, 0, 0], [0x41, 0x52, 0x4D, 0x65], [0x64, 0x4D, 0x52, 0x41]] {
            #expect(throws: expected) {
                try LinuxBoot(kernel: syntheticImage(magic: magic), kernelName: "vmlinux", initrdSize: nil, layout: layout)
            }
        }
        // An ELF file is not an Image either.
        var elf = [UInt8](repeating: 0, count: 4096)
        elf.replaceSubrange(0..<4, with: [0x7F, 0x45, 0x4C, 0x46])
        #expect(throws: expected) { try LinuxBoot(kernel: Data(elf), kernelName: "vmlinux", initrdSize: nil, layout: layout) }
    }

    @Test("a big-endian kernel")
    func bigEndian() {
        #expect(throws: KeelError("'Image.be' is a big-endian kernel; Keel's guests are little-endian")) {
            try LinuxBoot(kernel: syntheticImage(flags: 0xB), kernelName: "Image.be", initrdSize: nil, layout: layout)
        }
        #expect(throws: KeelError("'Image.be' is a big-endian kernel; Keel's guests are little-endian")) {
            try LinuxBoot.Header(syntheticImage(flags: 1), name: "Image.be")
        }
    }

    @Test("a kernel too big for the VM's RAM")
    func kernelTooBig() throws {
        // image_size one byte more than RAM minus the DTB's 2 MiB.
        #expect(throws: KeelError("kernel 'Image' needs 254.0 MiB, more than the VM's 256 MiB of RAM leaves")) {
            try LinuxBoot(kernel: syntheticImage(imageSize: 254 * LinuxBootTests.mib + 1), kernelName: "Image",
                          initrdSize: nil, layout: layout)
        }
        #expect(throws: KeelError("kernel 'Image' needs 254.5 MiB, more than the VM's 256 MiB of RAM leaves")) {
            try LinuxBoot(kernel: syntheticImage(textOffset: 0x8_0000, imageSize: 254 * LinuxBootTests.mib), kernelName: "Image",
                          initrdSize: nil, layout: layout)
        }
        #expect(throws: KeelError("kernel 'Image' needs 1024.0 MiB, more than the VM's 256 MiB of RAM leaves")) {
            try LinuxBoot(kernel: syntheticImage(imageSize: 1 << 30), kernelName: "Image", initrdSize: nil, layout: layout)
        }
        // A small VM.
        var small = layout
        small.ramSize = 8 * LinuxBootTests.mib
        #expect(throws: KeelError("kernel 'Image' needs 6.5 MiB, more than the VM's 8 MiB of RAM leaves")) {
            try LinuxBoot(kernel: syntheticImage(imageSize: 6 * LinuxBootTests.mib + 512 * 1024), kernelName: "Image",
                          initrdSize: nil, layout: small)
        }
        // Exactly up to the DTB fits.
        let exact = try LinuxBoot(kernel: syntheticImage(imageSize: 254 * LinuxBootTests.mib), kernelName: "Image",
                                  initrdSize: nil, layout: layout)
        #expect(exact.kernelEnd == exact.deviceTreeIPA)
    }

    @Test("the kernel's footprint: image_size, the file when larger, or file + 8 MiB when image_size is 0")
    func footprint() throws {
        let sized = try LinuxBoot(kernel: syntheticImage(imageSize: 0x1000, size: 0x3000), kernelName: "k", initrdSize: nil, layout: layout)
        #expect(sized.kernelEnd == 0x4000_3000)
        let old = try LinuxBoot(kernel: syntheticImage(imageSize: 0, size: 0x3000), kernelName: "k", initrdSize: nil, layout: layout)
        #expect(old.kernelEnd == 0x4000_3000 + 8 * LinuxBootTests.mib)
    }

    @Test("an initrd that does not fit")
    func initrdTooBig() throws {
        // Kernel [0x4000_0000, 0x4100_0000), DTB at 0x4FE0_0000: 238 MiB free between them.
        let kernel = syntheticImage(imageSize: 16 * LinuxBootTests.mib)
        let error = #expect(throws: KeelError.self) {
            try LinuxBoot(kernel: kernel, kernelName: "Image", initrdSize: 240 << 20, layout: layout)
        }
        #expect(error?.message.contains("initrd") == true)
        #expect(error?.message.contains("256 MiB") == true)
        #expect(error == KeelError("the initrd (240.0 MiB) does not fit the VM's memory: 256 MiB of RAM leave 238.0 MiB beside the kernel and device tree"))
        // 238 MiB fits exactly; one byte more does not (page alignment pushes it into the kernel).
        let exact = try LinuxBoot(kernel: kernel, kernelName: "Image", initrdSize: 238 << 20, layout: layout)
        #expect(exact.initrd?.start == exact.kernelEnd && exact.initrd?.end == exact.deviceTreeIPA)
        #expect(throws: KeelError.self) {
            try LinuxBoot(kernel: kernel, kernelName: "Image", initrdSize: (238 << 20) + 1, layout: layout)
        }
        // Larger than the whole RAM (but below the DTB's IPA).
        let huge = #expect(throws: KeelError.self) {
            try LinuxBoot(kernel: kernel, kernelName: "Image", initrdSize: 1 << 30, layout: layout)
        }
        #expect(huge?.message.hasPrefix("the initrd (1024.0 MiB) does not fit") == true)
    }

    @Test("an initrd larger than all of the RAM below the device tree is an error, not a wrap-around")
    func initrdLargerThanDeviceTreeIPA() {
        // DTB at 0x4FE0_0000; a 2 GiB initrd should be an error, not a crash.
        #expect(throws: KeelError.self) {
            try LinuxBoot(kernel: syntheticImage(), kernelName: "Image", initrdSize: 2 << 30, layout: qemuVirtDefaultVM)
        }
    }

    /// The protocol's rules, checked for any placement.
    func checkPlacement(_ boot: LinuxBoot, header: LinuxBoot.Header, kernelSize: Int, initrdSize: Int?, layout: VMLayout) {
        let ramEnd = layout.ramIPA + layout.ramSize
        let base = boot.kernelIPA - header.textOffset
        #expect(base % (2 << 20) == 0 && base >= layout.ramIPA && base - layout.ramIPA < 2 << 20)
        #expect(boot.kernelEnd == boot.kernelIPA + max(header.imageSize, UInt64(kernelSize)))
        #expect(boot.deviceTreeIPA == ramEnd - (2 << 20) && boot.deviceTreeIPA % 8 == 0)
        #expect(boot.kernelEnd <= boot.deviceTreeIPA)
        if let initrdSize {
            guard let initrd = boot.initrd else {
                Issue.record("no initrd placed")
                return
            }
            #expect(initrd.start % 4096 == 0)
            #expect(initrd.end - initrd.start == UInt64(initrdSize))
            #expect(initrd.end <= boot.deviceTreeIPA && boot.deviceTreeIPA - initrd.end < 4096)
            #expect(initrd.start >= boot.kernelEnd)
        } else {
            #expect(boot.initrd == nil)
        }
    }

    @Test("a good placement", arguments: [0, 0x8_0000, 0x20_0000])
    func placement(textOffset: UInt64) throws {
        let kernel = syntheticImage(textOffset: textOffset, imageSize: 32 * LinuxBootTests.mib, size: 64 * 1024)
        let header = try LinuxBoot.Header(kernel, name: "Image")
        let boot = try LinuxBoot(kernel: kernel, kernelName: "Image", initrdSize: 0x12345, layout: layout)
        #expect(boot.kernelIPA == 0x4000_0000 + textOffset)
        #expect(boot.kernelEnd == 0x4200_0000 + textOffset)
        #expect(boot.deviceTreeIPA == 0x4FE0_0000)
        #expect(boot.initrd?.start == 0x4FDE_D000 && boot.initrd?.end == 0x4FDF_F345)
        checkPlacement(boot, header: header, kernelSize: kernel.count, initrdSize: 0x12345, layout: layout)

        let none = try LinuxBoot(kernel: kernel, kernelName: "Image", initrdSize: nil, layout: layout)
        checkPlacement(none, header: header, kernelSize: kernel.count, initrdSize: nil, layout: layout)
    }

    @Test("RAM not 2 MiB aligned: the kernel's base rounds up")
    func unalignedRAM() throws {
        var odd = layout
        odd.ramIPA = 0x4010_0000
        let kernel = syntheticImage(textOffset: 0x8_0000, imageSize: 4 * LinuxBootTests.mib)
        let boot = try LinuxBoot(kernel: kernel, kernelName: "Image", initrdSize: 4096, layout: odd)
        #expect(boot.kernelIPA == 0x4028_0000)
        #expect(boot.deviceTreeIPA == 0x4FF0_0000)
        #expect(boot.initrd?.start == 0x4FEF_F000 && boot.initrd?.end == 0x4FF0_0000)
        checkPlacement(boot, header: try LinuxBoot.Header(kernel, name: "Image"), kernelSize: kernel.count, initrdSize: 4096, layout: odd)
    }

    @Test("assorted sizes keep the rules")
    func sizes() throws {
        let cases: [(UInt64, Int)] = [(0x10_0000, 1), (0x80_0000, 4095), (0x80_0000, 4096), (0x80_0000, 4097),
                                      (0x1E0_0000, 0x640_0000), (0xC80_0000, 0x320_0000), (0x20_0000, 0)]
        for (imageSize, initrd) in cases {
            let kernel = syntheticImage(imageSize: imageSize)
            let boot = try LinuxBoot(kernel: kernel, kernelName: "Image", initrdSize: initrd, layout: layout)
            checkPlacement(boot, header: try LinuxBoot.Header(kernel, name: "Image"), kernelSize: kernel.count, initrdSize: initrd,
                           layout: layout)
        }
    }

    // MARK: The bundle

    @Test("bundle(): kernel, initrd and DTB where they were placed; x0 = DTB, entry = kernel")
    func bundle() throws {
        let kernel = syntheticImage(textOffset: 0x8_0000, imageSize: 16 * LinuxBootTests.mib, size: 20_000)
        let initrd = Data((0..<9_000).map { UInt8(truncatingIfNeeded: $0 &* 5) })
        let dtb = Data((0..<1_500).map { UInt8(truncatingIfNeeded: $0 ^ 0x5A) })
        let boot = try LinuxBoot(kernel: kernel, kernelName: "Image", initrdSize: initrd.count, layout: layout)
        let writer = try boot.bundle(kernel: kernel, initrd: initrd, deviceTree: dtb)
        #expect(writer.entryIPA == boot.kernelIPA && writer.entryIPA == 0x4008_0000)
        #expect(writer.x0 == boot.deviceTreeIPA && writer.x0 == 0x4FE0_0000)
        #expect(writer.linux)
        #expect(writer.images.map(\.kind) == [.kernel, .initrd, .deviceTree])
        #expect(writer.images.map(\.loadIPA) == [boot.kernelIPA, boot.initrd!.start, boot.deviceTreeIPA])
        #expect(writer.images.map(\.bytes) == [kernel, initrd, dtb])

        let bytes = writer.bytes()
        let opened = try openBundle(bytes).get()
        #expect(opened.isLinux && opened.entryIPA == 0x4008_0000 && opened.x0 == 0x4FE0_0000)
        #expect(opened.entries.map(\.kind) == [.kernel, .initrd, .deviceTree])
        #expect(opened.entries.map(\.loadIPA) == [0x4008_0000, 0x4FDF_D000, 0x4FE0_0000])
        for (entry, image) in zip(opened.entries, [kernel, initrd, dtb]) {
            #expect(bytes[Int(entry.offset)..<Int(entry.offset + entry.size)] == image)
        }
    }

    @Test("bundle() without an initrd, and with an initrd that was not placed")
    func bundleNoInitrd() throws {
        let kernel = syntheticImage()
        let dtb = Data(count: 64)
        let boot = try LinuxBoot(kernel: kernel, kernelName: "Image", initrdSize: nil, layout: layout)
        for initrd in [nil, Data([1, 2, 3])] {
            let writer = try boot.bundle(kernel: kernel, initrd: initrd, deviceTree: dtb)
            #expect(writer.images.map(\.kind) == [.kernel, .deviceTree])
            #expect(try openBundle(writer.bytes()).get().entries.count == 2)
        }
    }

    @Test("a device tree over 2 MiB")
    func bigDeviceTree() throws {
        let kernel = syntheticImage()
        let boot = try LinuxBoot(kernel: kernel, kernelName: "Image", initrdSize: nil, layout: layout)
        #expect(throws: KeelError("the guest device tree is 2097153 bytes, more than 2 MiB")) {
            try boot.bundle(kernel: kernel, initrd: nil, deviceTree: Data(count: (2 << 20) + 1))
        }
        // Exactly 2 MiB fills the reserve up to the end of RAM and still opens.
        let writer = try boot.bundle(kernel: kernel, initrd: nil, deviceTree: Data(count: 2 << 20))
        #expect(try openBundle(writer.bytes()).get().entries.last == BootBundle.Entry(kind: .deviceTree, offset: 0x2000,
                                                                                      size: 2 << 20, loadIPA: 0x4FE0_0000,
                                                                                      checksum: BootBundleWriterTests.crc(Data(count: 2 << 20))))
    }
}

@Suite("Boot bundles: the host's writer, read back by the firmware's reader")
struct BootBundleWriterTests {
    static func get(_ data: Data, _ at: Int, _ width: Int) -> UInt64 {
        (0..<width).reduce(0) { $0 | UInt64(data[data.startIndex + at + $1]) << (8 * UInt64($1)) }
    }

    /// Bitwise CRC-32 (IEEE), independent of the table-driven one under test.
    static func crc(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? crc >> 1 ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func linuxWriter() -> BootBundleWriter {
        var writer = BootBundleWriter(entryIPA: 0x4008_0000, x0: 0x4FE0_0000, linux: true)
        writer.add(.kernel, Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0) }), at: 0x4008_0000)
        writer.add(.initrd, Data((0..<4_096).map { UInt8(truncatingIfNeeded: $0 >> 3) }), at: 0x4F00_0000)
        writer.add(.deviceTree, Data((0..<300).map { UInt8(truncatingIfNeeded: ~$0) }), at: 0x4FE0_0000)
        return writer
    }

    @Test("the writer's bytes follow the format, field by field")
    func format() {
        let bytes = BootBundleWriterTests.linuxWriter().bytes()
        let get = BootBundleWriterTests.get
        #expect(Array(bytes[0..<8]) == Array("KEELBOOT".utf8))
        #expect(get(bytes, 8, 4) == 2 && get(bytes, 12, 4) == 64)
        #expect(get(bytes, 16, 8) == UInt64(bytes.count) && bytes.count % 4096 == 0)
        #expect(get(bytes, 24, 8) == 0x4008_0000 && get(bytes, 32, 8) == 0x4FE0_0000)
        #expect(get(bytes, 40, 4) == 3 && get(bytes, 44, 4) == 1)
        #expect(bytes[52..<64].allSatisfy { $0 == 0 })
        // Entries: kind, the image's CRC-32, offset (4 KiB aligned, past the table, in order), size, load.
        var previousEnd: UInt64 = 64 + 3 * 32
        let expected: [(UInt64, UInt64, UInt64)] = [(2, 10_000, 0x4008_0000), (3, 4_096, 0x4F00_0000), (4, 300, 0x4FE0_0000)]
        for (i, (kind, size, load)) in expected.enumerated() {
            let at = 64 + 32 * i
            let offset = get(bytes, at + 8, 8)
            #expect(get(bytes, at, 4) == kind)
            #expect(get(bytes, at + 4, 4) == UInt64(BootBundleWriterTests.crc(BootBundleWriterTests.linuxWriter().images[i].bytes)))
            #expect(offset % 4096 == 0 && offset >= previousEnd)
            #expect(get(bytes, at + 16, 8) == size && get(bytes, at + 24, 8) == load)
            previousEnd = offset + size
        }
        #expect(get(bytes, 64 + 8, 8) == 0x1000 && get(bytes, 96 + 8, 8) == 0x4000 && get(bytes, 128 + 8, 8) == 0x5000)
        #expect(bytes.count == 0x6000)
        // The CRC-32 of the header (checksum field zero) and the table.
        var covered = Array(bytes[0..<160])
        covered.replaceSubrange(48..<52, with: [0, 0, 0, 0])
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in covered {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? crc >> 1 ^ 0xEDB8_8320 : crc >> 1 }
        }
        #expect(get(bytes, 48, 4) == UInt64(~crc))
    }

    @Test("round trip: every field and entry")
    func roundTrip() throws {
        let writer = BootBundleWriterTests.linuxWriter()
        let bytes = writer.bytes()
        let opened = try openBundle(bytes).get()
        #expect(opened == OpenedBundle(totalSize: 0x6000, entryIPA: 0x4008_0000, x0: 0x4FE0_0000, isLinux: true, entries: [
            BootBundle.Entry(kind: .kernel, offset: 0x1000, size: 10_000, loadIPA: 0x4008_0000, checksum: Self.crc(writer.images[0].bytes)),
            BootBundle.Entry(kind: .initrd, offset: 0x4000, size: 4_096, loadIPA: 0x4F00_0000, checksum: Self.crc(writer.images[1].bytes)),
            BootBundle.Entry(kind: .deviceTree, offset: 0x5000, size: 300, loadIPA: 0x4FE0_0000, checksum: Self.crc(writer.images[2].bytes)),
        ]))
        for (entry, image) in zip(opened.entries, writer.images) {
            #expect(bytes[Int(entry.offset)..<Int(entry.offset + entry.size)] == image.bytes)
        }
    }

    @Test("round trip: raw, empty and full bundles")
    func shapes() throws {
        var raw = BootBundleWriter(entryIPA: 0x4000_0000)
        raw.add(.raw, Data([0xD5, 0x03, 0x20, 0x1F]), at: 0x4000_0000)
        #expect(try openBundle(raw.bytes()).get() == OpenedBundle(totalSize: 0x2000, entryIPA: 0x4000_0000, x0: 0, isLinux: false,
                                                                  entries: [BootBundle.Entry(kind: .raw, offset: 0x1000, size: 4, loadIPA: 0x4000_0000,
                                                                                             checksum: Self.crc(Data([0xD5, 0x03, 0x20, 0x1F])))]))
        let empty = BootBundleWriter(entryIPA: 0x4FFF_FFFF, x0: 7)
        #expect(try openBundle(empty.bytes()).get() == OpenedBundle(totalSize: 0x1000, entryIPA: 0x4FFF_FFFF, x0: 7, isLinux: false,
                                                                    entries: []))
        var full = BootBundleWriter(entryIPA: 0x4000_0000)
        for i in 0..<BootBundle.maxEntries {
            full.add(.raw, Data(repeating: UInt8(i), count: 4097), at: 0x4000_0000 + UInt64(i) * 0x2000)
        }
        let opened = try openBundle(full.bytes()).get()
        #expect(opened.entries.count == 8)
        #expect(opened.entries.map(\.offset) == (0..<8).map { 0x1000 + UInt64($0) * 0x2000 })
    }

    @Test("the reader rejects what the writer was told to pack wrongly")
    func problems() {
        var overlap = BootBundleWriter(entryIPA: 0x4000_0000)
        overlap.add(.kernel, Data(count: 0x2000), at: 0x4000_0000)
        overlap.add(.initrd, Data(count: 0x10), at: 0x4000_1FF0)
        #expect(openBundle(overlap.bytes()) == .failure(.overlap(0, 1)))

        var outside = BootBundleWriter(entryIPA: 0x4000_0000)
        outside.add(.kernel, Data(count: 0x10), at: 0x4000_0000)
        outside.add(.deviceTree, Data(count: 0x10), at: 0x4FFF_FFF8)
        #expect(openBundle(outside.bytes()) == .failure(.loadOutsideRAM(1)))

        var entry = BootBundleWriter(entryIPA: 0x5000_0000)
        entry.add(.raw, Data(count: 0x10), at: 0x4000_0000)
        #expect(openBundle(entry.bytes()) == .failure(.entryOutsideRAM))

        let bytes = BootBundleWriterTests.linuxWriter().bytes()
        #expect(openBundle(bytes, limit: UInt64(bytes.count) - 1) == .failure(.tooSmall))
        #expect(openBundle(bytes, limit: 63) == .failure(.tooSmall))
        var flipped = bytes
        flipped[24] ^= 1
        #expect(openBundle(flipped) == .failure(.badChecksum))
    }

    @Test("random single-byte damage of the writer's header and table is always rejected")
    func randomDamage() {
        let bytes = BootBundleWriterTests.linuxWriter().bytes()
        var state: UInt64 = 0xC0FF_EE00
        func next() -> UInt64 {  // SplitMix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        for _ in 0..<300 {
            var damaged = bytes
            let at = Int(next() % 160)
            damaged[at] ^= UInt8(1 + next() % 255)
            if case .success = openBundle(damaged) { Issue.record("byte \(at) damaged, bundle accepted") }
        }
    }
}
