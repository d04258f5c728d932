import Foundation
import KeelBoards
import KeelCore

/// Where a Linux arm64 guest's kernel, initrd and device tree go in its VM's RAM, following the
/// arm64 boot protocol (Documentation/arch/arm64/booting.rst): the kernel at a 2 MiB aligned
/// base plus its `text_offset`, with `image_size` bytes free from there; the DTB 8-byte aligned
/// (Keel puts it in the last 2 MiB of RAM); the initrd just below the DTB. vCPU 0 enters the
/// kernel with x0 = the DTB's address.
public struct LinuxBoot {
    /// The fields of the arm64 Image header Keel uses.
    public struct Header: Equatable {
        public var textOffset: UInt64
        public var imageSize: UInt64
        public var flags: UInt64

        public init(_ data: Data, name: String) throws {
            guard data.count >= 64 else { throw KeelError("'\(name)' is not a Linux arm64 Image: only \(data.count) bytes") }
            func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(data[data.startIndex + at + $1]) << (8 * UInt64($1)) } }
            guard Array(data[(data.startIndex + 0x38)..<(data.startIndex + 0x3C)]) == GuestImage.imageMagic else {
                throw KeelError("'\(name)' is not a Linux arm64 Image: no \"ARM\\x64\" magic at offset 0x38")
            }
            textOffset = u64(8)
            imageSize = u64(16)
            flags = u64(24)
            guard flags & 1 == 0 else { throw KeelError("'\(name)' is a big-endian kernel; Keel's guests are little-endian") }
        }
    }

    public static let deviceTreeReserve: UInt64 = 2 << 20
    public static let kernelAlignment: UInt64 = 2 << 20

    public var kernelIPA: UInt64
    public var kernelEnd: UInt64
    public var initrd: (start: UInt64, end: UInt64)?
    public var deviceTreeIPA: UInt64

    /// Places `kernel` (and `initrd`) in `layout`'s RAM. Errors say what does not fit.
    public init(kernel: Data, kernelName: String, initrdSize: Int?, layout: VMLayout) throws {
        let header = try Header(kernel, name: kernelName)
        let mib = { (bytes: UInt64) in String(format: "%.1f", Double(bytes) / 1048576) }
        // The header's text_offset and image_size are the file's word, and the layout may be a
        // config's: every sum is checked (a wrapped one reads as "does not fit").
        let tooBig = KeelError("kernel '\(kernelName)' does not fit the VM's \(layout.ramSize >> 20) MiB of RAM at \(hexString(layout.ramIPA)): "
            + "its Image header asks for text_offset \(hexString(header.textOffset)), image_size \(hexString(header.imageSize))")
        func sum(_ a: UInt64, _ b: UInt64) throws -> UInt64 {
            let (s, overflow) = a.addingReportingOverflow(b)
            if overflow { throw tooBig }
            return s
        }
        let ramEnd = try sum(layout.ramIPA, layout.ramSize)
        guard ramEnd - layout.ramIPA >= LinuxBoot.deviceTreeReserve else { throw tooBig }
        let base = try sum(layout.ramIPA, LinuxBoot.kernelAlignment - 1) / LinuxBoot.kernelAlignment * LinuxBoot.kernelAlignment
        kernelIPA = try sum(base, header.textOffset)
        // image_size 0 means an old kernel: assume the file and a generous BSS.
        let footprint = header.imageSize != 0 ? header.imageSize : UInt64(kernel.count) + (8 << 20)
        kernelEnd = try sum(kernelIPA, max(footprint, UInt64(kernel.count)))
        deviceTreeIPA = ramEnd - LinuxBoot.deviceTreeReserve
        guard kernelEnd <= deviceTreeIPA else {
            throw KeelError("kernel '\(kernelName)' needs \(mib(kernelEnd - layout.ramIPA)) MiB, more than the VM's \(layout.ramSize >> 20) MiB of RAM leaves")
        }
        if let size = initrdSize {
            // Checked before subtracting: an initrd larger than the RAM below the DTB would
            // otherwise wrap the start address around.
            let fits = UInt64(size) <= deviceTreeIPA - kernelEnd
            let start = fits ? (deviceTreeIPA - UInt64(size)) & ~0xFFF : 0
            guard fits, start >= kernelEnd else {
                let free = deviceTreeIPA - kernelEnd
                throw KeelError("the initrd (\(mib(UInt64(size))) MiB) does not fit the VM's memory: \(layout.ramSize >> 20) MiB of RAM leave \(mib(free)) MiB beside the kernel and device tree")
            }
            initrd = (start, start + UInt64(size))
        }
    }

    /// The bundle for these placements; `deviceTree` is the DTB to pass (at most 2 MiB).
    public func bundle(kernel: Data, initrd initrdBytes: Data?, deviceTree: Data) throws -> BootBundleWriter {
        guard UInt64(deviceTree.count) <= LinuxBoot.deviceTreeReserve else {
            throw KeelError("the guest device tree is \(deviceTree.count) bytes, more than 2 MiB")
        }
        var writer = BootBundleWriter(entryIPA: kernelIPA, x0: deviceTreeIPA, linux: true)
        writer.add(.kernel, kernel, at: kernelIPA)
        if let initrdBytes, let initrd { writer.add(.initrd, initrdBytes, at: initrd.start) }
        writer.add(.deviceTree, deviceTree, at: deviceTreeIPA)
        return writer
    }
}
