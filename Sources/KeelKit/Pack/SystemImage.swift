import Foundation
import KeelBoards
import KeelCore

/// `keel pack`'s output: Keel's firmware (a Linux arm64 Image) with the VM's boot bundle
/// appended at the first 4 KiB boundary past the firmware's BSS, where the firmware looks for
/// it (`_keel_appended_bundle` in linker/keel.ld). The Image header stays, its `image_size`
/// raised to cover the bundle, so a boot loader (QEMU `-kernel`, U-Boot `booti`, the Raspberry
/// Pi firmware) loads and keeps the whole file.
public struct SystemImage {
    public static let bundleAlignment: UInt64 = 4096
    /// The most image_size (file and BSS) a Keel firmware may claim: it is under 1 MiB. A larger
    /// one is not Keel's, and one near 2^64 would wrap the bundle's offset.
    public static let maxFirmwareFootprint: UInt64 = 64 << 20

    public var bytes: Data
    /// Offset of the bundle in `bytes`.
    public var bundleOffset: UInt64
    public var bundleSize: UInt64

    /// Packs `system` (validated and within `FirmwareSupport`) around `firmware`, keel.bin's bytes.
    /// `freshRNGSeeds`: each Linux VM's device tree gets a `/chosen/rng-seed` of its own, for an
    /// image booted once (`keel run --config`); never for `keel pack`, whose image boots again
    /// and again, where a seed would be no secret.
    /// `deviceModelFiles`: what a Linux device-model VM's initramfs is made of; nil: found by
    /// `DeviceModelFiles.locate()` when there is such a VM.
    public init(system: ValidatedSystem, firmware: Data, firmwareName: String, freshRNGSeeds: Bool = false,
                deviceModelFiles: DeviceModelFiles? = nil) throws {
        let header = try LinuxBoot.Header(firmware, name: firmwareName)
        guard header.imageSize >= UInt64(firmware.count) else {
            throw KeelError("'\(firmwareName)' says its image is \(header.imageSize) bytes but the file has \(firmware.count): is it already packed?")
        }
        guard header.imageSize <= SystemImage.maxFirmwareFootprint else {
            throw KeelError("'\(firmwareName)' says its image is \(header.imageSize) bytes, more than a Keel firmware's \(SystemImage.maxFirmwareFootprint >> 20) MiB: is it Keel's keel.bin?")
        }
        guard !SystemImage.holdsBundle(firmware) else {
            throw KeelError("'\(firmwareName)' already carries a boot bundle (it is a packed image); pack from keel.bin")
        }
        guard let vm = system.vms.first else { throw KeelError("\(system.config.file): no VM to pack") }
        // One VM without a containment policy: its bundle alone, as every firmware reads it. Else
        // the VM table, which also carries each VM's limits, devices and CPUs: also for one VM on a board
        // whose CPUs are all started whatever the run asks (the Pi's four), so that the VM gets
        // the vCPUs its config names, not one per CPU.
        let policy = system.vms.contains { $0.config.faultLimit != nil || $0.config.resetLimit != nil || !$0.config.devices.isEmpty || $0.config.identityMemory }
            || system.config.powerOffWith != nil
            // The VM table names the device models and what they serve.
            || system.vms.contains { $0.config.deviceModel || !$0.config.virtio.isEmpty }
        let allCPUsRun = system.board.qemuCPUCount != nil && vm.config.cpus.count < system.board.board.maxCPUs
        let bundle = system.vms.count == 1 && !policy && !allCPUsRun
            ? try SystemImage.bundle(for: vm, board: system.board.board, freshRNGSeed: freshRNGSeeds).bytes()
            : try SystemImage.manifest(for: system, freshRNGSeeds: freshRNGSeeds, deviceModelFiles: deviceModelFiles).bytes()
        bundleOffset = (header.imageSize + SystemImage.bundleAlignment - 1) / SystemImage.bundleAlignment * SystemImage.bundleAlignment
        bundleSize = UInt64(bundle.count)
        var out = firmware
        out.append(Data(count: Int(bundleOffset) - firmware.count))
        out.append(bundle)
        // image_size: everything from the load address the firmware needs kept.
        let total = UInt64(out.count)
        for i in 0..<8 { out[16 + i] = UInt8(truncatingIfNeeded: total >> (8 * UInt64(i))) }
        bytes = out
    }

    /// True when a bundle header sits at a 4 KiB boundary of `image`, where `keel pack` puts one.
    static func holdsBundle(_ image: Data) -> Bool {
        let magic = Data("KEELBOOT".utf8)
        return stride(from: Int(bundleAlignment), to: image.count - 16, by: Int(bundleAlignment)).contains { offset in
            let at = image.startIndex + offset
            return image[at..<(at + 8)] == magic && image[at + 12] == UInt8(BootBundle.headerSize) && image[at + 13] == 0
        }
    }

    /// Several VMs: each on its CPUs (consecutive, checked by `FirmwareSupport`), its RAM at the
    /// config's IPA and at physical addresses handed out from the board's VM slot upwards, 2 MiB
    /// aligned, inside the 1 GiB block Keel maps as normal memory.
    static func manifest(for system: ValidatedSystem, freshRNGSeeds: Bool = false, deviceModelFiles: DeviceModelFiles? = nil) throws -> SystemManifestWriter {
        let board = system.board.board
        let slot = FirmwareSupport.layout(for: board.name.description)
        let block: UInt64 = 1 << 30
        let blockEnd = (board.loadAddress & ~(block - 1)) + block
        var cursor = slot.ramPA
        var writer = SystemManifestWriter()
        let twoMiB: UInt64 = 2 << 20
        func rounded(_ size: UInt64, to alignment: UInt64) -> UInt64 { (size + alignment - 1) & ~(alignment - 1) }
        // Identity-mapped RAM is where the config says; everything else is placed around it.
        let fixed = system.vms.filter(\.config.identityMemory).map { MemoryRange(base: $0.config.memory.base, size: rounded($0.config.memory.size, to: twoMiB)) }
        func place(_ size: UInt64) -> UInt64 {
            while let hit = fixed.first(where: { $0.overlaps(MemoryRange(base: cursor, size: size)) }) { cursor = rounded(hit.end, to: twoMiB) }
            defer { cursor += size }
            return cursor
        }
        for vm in system.vms {
            let size = rounded(vm.config.memory.size, to: twoMiB)
            let pa = vm.config.identityMemory ? vm.config.memory.base : place(size)
            guard pa + size <= blockEnd else {
                throw KeelError("\(system.config.file): the VMs' RAM does not fit: vm \"\(vm.name)\" would end at \(hexString(pa + size)), past \(hexString(blockEnd)), where \(board.name)'s firmware maps normal memory (fix: give the VMs less memory)")
            }
            var record = SystemManifestWriter.VM(
                name: vm.name, firstCPU: vm.config.cpus.min() ?? 0, cpuCount: vm.config.cpus.count,
                ramIPA: vm.config.memory.base, ramPA: pa, ramSize: size,
                bundle: try bundle(for: vm, board: board, in: system, freshRNGSeed: freshRNGSeeds, deviceModelFiles: deviceModelFiles).bytes())
            record.faultLimit = UInt32(truncatingIfNeeded: vm.config.faultLimit ?? 0)
            record.resetLimit = UInt32(truncatingIfNeeded: vm.config.resetLimit ?? 0)
            record.doorbellPeers = vm.config.doorbellPeers.map { names in
                names.reduce(UInt32(0)) { mask, name in mask | (system.vms.firstIndex { $0.name == name }.map { 1 << UInt32($0) } ?? 0) }
            }
            writer.vms.append(record)
        }
        (writer.devices, writer.interrupts) = FirmwareSupport.passthrough(system)
        writer.virtio = VirtioPlan(system.config).records
        writer.powerOffWith = system.config.powerOffWith.flatMap { name in system.vms.firstIndex { $0.name == name } }
        // Shared regions after the VMs' RAM, each mapped at its IPA in the VMs it names.
        for region in system.config.sharedMemory {
            let size = (region.size + 4095) & ~4095
            let pa = place(size)
            guard pa + size <= blockEnd else {
                throw KeelError("\(system.config.file): shared region \"\(region.name)\" does not fit after the VMs' RAM (fix: give the VMs less memory)")
            }
            var mask: UInt32 = 0
            for name in region.vms {
                if let index = system.vms.firstIndex(where: { $0.name == name }) { mask |= 1 << UInt32(index) }
            }
            writer.regions.append(SystemManifest.Region(pa: pa, size: size, ipa: region.ipa, vms: mask))
        }
        return writer
    }

    /// The board devices passed through to `vm`, as its device tree describes them (at their
    /// physical addresses: Keel maps them there).
    static func guestDevices(of vm: ValidatedVM, board: KnownBoard?) -> [GuestDeviceTree.Device] {
        guard let board else { return [] }
        return vm.config.devices.compactMap { assignment in
            guard let device = board.device(named: assignment.name), !device.hypervisorOwned else { return nil }
            let own = device.intid == 0 ? [] : Array(device.intid..<(device.intid + device.interruptCount))
            let ranges = (assignment.mmio ?? [MemoryRange(base: device.base, size: device.size)]).map { (base: $0.base, size: $0.size) }
            // A bank of transports, one interrupt each (QEMU virt's virtio-mmio).
            let bank = device.interruptCount > 1 && device.size % UInt64(device.interruptCount) == 0
                ? (base: device.base, stride: device.size / UInt64(device.interruptCount), firstINTID: device.intid) : nil
            return GuestDeviceTree.Device(compatible: device.compatible.description, ranges: ranges,
                                          intids: assignment.interrupts ?? own, bank: device.compatible.description == "virtio,mmio" ? bank : nil)
        }
    }

    /// What `vm`'s device tree gets of the device model (docs/device-model.md): a `virtio,mmio`
    /// node per transport it has, and, for a device-model VM, its `keel,device-model` node.
    static func virtioNodes(of vm: ValidatedVM, in system: ValidatedSystem?) -> (transports: [GuestDeviceTree.Device], deviceModel: GuestDeviceTree.DeviceModelNode?) {
        guard let system, let index = system.config.vms.firstIndex(where: { $0.name == vm.name }) else { return ([], nil) }
        let plan = VirtioPlan(system.config)
        let transports = plan.transports(of: index).map {
            GuestDeviceTree.virtioTransport(ipa: VirtioPlan.transportIPA($0.transport), size: VirtioPlan.transportSize, intid: VirtioPlan.transportINTID($0.transport),
                                            dmaPool: $0.pool)
        }
        let deviceModel = vm.config.deviceModel
            ? GuestDeviceTree.DeviceModelNode(requestPage: VirtioPlan.requestPage.base, requestPageSize: VirtioPlan.requestPage.size,
                                              windows: plan.windows(of: index, in: system.config), intid: VirtioPlan.requestINTID)
            : nil
        return (transports, deviceModel)
    }

    /// The VM's images with their load addresses: a Linux kernel with its initrd and device
    /// tree (the one Keel writes for this VM, or the config's file), or a raw binary.
    static func bundle(for vm: ValidatedVM, board: Board, in system: ValidatedSystem? = nil, freshRNGSeed: Bool = false,
                       deviceModelFiles: DeviceModelFiles? = nil) throws -> BootBundleWriter {
        var layout = FirmwareSupport.layout(for: board.name.description)
        // The VM is told about, and its images placed in, the memory the config gives it.
        layout.ramIPA = vm.config.memory.base
        layout.ramSize = vm.config.memory.size
        switch vm.kind {
        case .linux:
            let gic: GuestDeviceTree.GIC = board.gicVersion == 3
                ? .v3(distributor: layout.gicDistributorIPA, redistributors: layout.gicRedistributorIPA)
                : .v2(distributor: layout.gicDistributorIPA, cpuInterface: layout.gicCPUInterfaceIPA)
            let deviceTree = try vm.dtbPath.map { path in
                guard let data = FileManager.default.contents(atPath: path) else { throw KeelError("device tree '\(path)' cannot be read") }
                return data
            }
            // With several VMs, the tree names this VM's index and the shared regions it maps.
            let index = system.flatMap { $0.vms.count > 1 ? $0.vms.firstIndex { $0.name == vm.name } : nil }
            let regions = (system?.config.sharedMemory ?? []).filter { $0.vms.contains(vm.name) }.map { (ipa: $0.ipa, size: ($0.size + 4095) & ~4095) }
            let (transports, deviceModel) = virtioNodes(of: vm, in: system)
            // A Linux device model boots into keel-dm: its initramfs, before the config's initrd.
            var prefix: Data?
            if vm.config.deviceModel, let system, let index = system.config.vms.firstIndex(where: { $0.name == vm.name }) {
                prefix = try DeviceModelInitramfs.archive(for: index, in: system, files: try deviceModelFiles ?? DeviceModelFiles.locate()).encoded()
            }
            return try LinuxGuest.writer(kernel: vm.kernelPath, initrd: vm.initrdPath, bootargs: LinuxGuest.bootargs(vm.config.bootargs),
                                         vcpus: vm.config.cpus.count, gic: gic, layout: layout, deviceTree: deviceTree,
                                         vmIndex: index, sharedRegions: regions, rngSeed: freshRNGSeed ? LinuxGuest.freshRNGSeed() : nil,
                                         devices: guestDevices(of: vm, board: system?.board) + transports, deviceModel: deviceModel,
                                         initrdPrefix: prefix)
        case .raw:
            guard let data = FileManager.default.contents(atPath: vm.kernelPath) else { throw KeelError("kernel '\(vm.kernelPath)' cannot be read") }
            var writer = BootBundleWriter(entryIPA: vm.entry)
            writer.add(.raw, data, at: vm.config.memory.base)
            return writer
        }
    }
}
