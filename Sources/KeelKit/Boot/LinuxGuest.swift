import Foundation
import KeelBoards

/// A Linux guest ready to boot: its kernel, initrd and a device tree describing exactly the VM
/// Keel gives it, packed into a boot bundle.
public enum LinuxGuest {
    /// The command line of a Linux guest given none (`keel run` without `--append`, a `[[vm]]`
    /// without `bootargs`).
    public static let defaultBootargs = "console=ttyAMA0"

    /// The kernel command line for what the user gave: that text as it is, an empty string
    /// meaning an empty command line; nil (nothing given) the default.
    public static func bootargs(_ given: String?) -> String { given ?? defaultBootargs }

    /// A bundle for one boot (`keel run`, `keel bench linux`); `rngSeed` goes to the guest's
    /// `/chosen/rng-seed` (`GuestDeviceTree.rngSeed`).
    public static func bundle(kernel kernelPath: String, initrd initrdPath: String?, bootargs: String, vcpus: Int,
                              gic: GuestDeviceTree.GIC, layout: VMLayout, board: Board, rngSeed: [UInt8]? = nil) throws -> TemporaryBundle {
        let writer = try writer(kernel: kernelPath, initrd: initrdPath, bootargs: bootargs, vcpus: vcpus, gic: gic, layout: layout,
                                rngSeed: rngSeed)
        return try TemporaryBundle(writer, board: board)
    }

    /// The size of the seed QEMU virt gives its own guests (`rng-seed`, 32 bytes) doubled: 512
    /// bits, more than the 256 Linux needs to call its generator ready.
    public static let rngSeedSize = 64

    /// A seed for one boot, from the host's cryptographic generator.
    public static func freshRNGSeed() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<rngSeedSize).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// The bundle's contents; `deviceTree` replaces the one Keel writes (a DTB file from the
    /// config, passed as is).
    public static func writer(kernel kernelPath: String, initrd initrdPath: String?, bootargs: String, vcpus: Int,
                              gic: GuestDeviceTree.GIC, layout: VMLayout, deviceTree: Data? = nil,
                              vmIndex: Int? = nil, sharedRegions: [(ipa: UInt64, size: UInt64)] = [],
                              rngSeed: [UInt8]? = nil, devices: [GuestDeviceTree.Device] = [],
                              deviceModel: GuestDeviceTree.DeviceModelNode? = nil, initrdPrefix: Data? = nil) throws -> BootBundleWriter {
        guard let kernel = FileManager.default.contents(atPath: kernelPath) else {
            throw KeelError("kernel '\(kernelPath)' cannot be read")
        }
        var initrd: Data?
        var initrdSize: Int?
        if let initrdPath {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: initrdPath, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw KeelError("initrd '\(initrdPath)' does not exist or is not a file")
            }
            // Size first: an initrd that cannot fit is refused without reading it.
            initrdSize = fileSize(atPath: initrdPath)
        }
        // An initramfs made in memory (a device model's, `DeviceModelInitramfs`) goes first, padded
        // to 4 bytes: Linux unpacks concatenated archives in order, later files replacing earlier
        // ones, so the file's initrd, after it, may replace what Keel put there (e.g. /init).
        let prefix = initrdPrefix.map { $0 + Data(count: (4 - $0.count % 4) % 4) }
        if let prefix { initrdSize = (initrdSize ?? 0) + prefix.count }
        // Placement (and its errors) before reading a possibly huge initrd; below the devices'
        // DMA pools (at the top of RAM, VirtioPlan), which Linux reserves and must find empty.
        var below = layout
        if let low = devices.compactMap(\.dmaPool).map(\.base).min(), low > layout.ramIPA {
            below.ramSize = min(layout.ramSize, low - layout.ramIPA)
        }
        let placement = try LinuxBoot(kernel: kernel, kernelName: kernelPath, initrdSize: initrdSize ?? (initrdPath == nil ? nil : 0), layout: below)
        if let initrdPath {
            guard let data = FileManager.default.contents(atPath: initrdPath) else { throw KeelError("initrd '\(initrdPath)' cannot be read") }
            guard data.count + (prefix?.count ?? 0) == initrdSize else { throw KeelError("initrd '\(initrdPath)' changed size while being read") }
            initrd = data
        }
        if let prefix { initrd = prefix + (initrd ?? Data()) }
        var tree = GuestDeviceTree(ramIPA: layout.ramIPA, ramSize: layout.ramSize, vcpus: vcpus, gic: gic,
                                   uartIPA: layout.uartIPA, uartSPI: layout.uartINTID - 32, bootargs: bootargs,
                                   initrd: placement.initrd)
        tree.vmIndex = vmIndex
        tree.sharedRegions = sharedRegions
        tree.rngSeed = rngSeed
        tree.devices = devices
        tree.deviceModel = deviceModel
        return try placement.bundle(kernel: kernel, initrd: initrd, deviceTree: try deviceTree ?? Data(try tree.blob()))
    }
}
