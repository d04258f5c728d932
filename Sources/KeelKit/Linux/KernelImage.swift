import Foundation

/// The kernel a Debian linux-image package ships as /boot/vmlinuz-RELEASE, made into a bootable
/// arm64 Image. Debian's arm64 kernels are uncompressed Images today; a gzip-compressed one
/// (what other distributions ship, and what `vmlinuz` suggests) is decompressed, since neither
/// QEMU's `-kernel` for a hypervisor's guest nor a guest loader wants to inflate it.
public enum KernelImage {
    public enum Form: Equatable {
        case image
        case gzip
        case unknown
    }

    static let gzipMagic: [UInt8] = [0x1f, 0x8b]

    public static func form(of data: Data) -> Form {
        if GuestImage.kind(of: data) == .linuxImage { return .image }
        if data.count >= 2, Array(data.prefix(2)) == gzipMagic { return .gzip }
        return .unknown
    }

    /// The `RELEASE` of the one `vmlinuz-RELEASE` in `bootDirectory` (an unpacked package's
    /// /boot).
    public static func find(in bootDirectory: String) throws -> (path: String, release: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: bootDirectory)) ?? []
        let kernels = names.filter { $0.hasPrefix("vmlinuz-") }.sorted()
        guard kernels.count == 1 else {
            throw KeelError("expected one vmlinuz-* in \(bootDirectory), found \(kernels.isEmpty ? "none" : kernels.joined(separator: ", "))")
        }
        return (bootDirectory + "/" + kernels[0], String(kernels[0].dropFirst("vmlinuz-".count)))
    }

    /// Writes `source` to `destination` as an uncompressed Image (via `gzip -dc` if needed) and
    /// checks the result carries the arm64 Image magic, so a wrong package is caught here rather
    /// than as a silent boot failure.
    public static func install(_ source: String, to destination: String) throws {
        guard let data = FileManager.default.contents(atPath: source) else { throw KeelError("cannot read the kernel '\(source)'") }
        switch form(of: data) {
        case .image:
            try data.write(to: URL(fileURLWithPath: destination))
        case .gzip:
            try HostCommand("gzip", ["-dc", source], outputFile: destination).run()
            guard let inflated = FileManager.default.contents(atPath: destination), form(of: inflated) == .image else {
                try? FileManager.default.removeItem(atPath: destination)
                throw KeelError("the kernel '\(source)' is gzip-compressed but not an arm64 Image inside (no \"ARM\\x64\" at 0x38)")
            }
        case .unknown:
            throw KeelError("the kernel '\(source)' is not an arm64 Image (no \"ARM\\x64\" at 0x38) nor gzip-compressed")
        }
    }
}
