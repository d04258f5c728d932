import Foundation
import KeelCore

/// Writes a `SystemManifest` (KeelCore): the VM table, then each VM's boot bundle at a 4 KiB
/// boundary, for `keel pack` with several VMs.
public struct SystemManifestWriter {
    public struct VM {
        public var name: String
        public var firstCPU: Int
        public var cpuCount: Int
        public var ramIPA: UInt64
        public var ramPA: UInt64
        public var ramSize: UInt64
        public var bundle: Data
        public var faultLimit: UInt32 = 0
        public var resetLimit: UInt32 = 0
        /// The VMs it may ring (bit n: VM n), from the config's `doorbell_peers`; nil: those it
        /// shares memory with.
        public var doorbellPeers: UInt32? = nil

        public init(name: String, firstCPU: Int, cpuCount: Int, ramIPA: UInt64, ramPA: UInt64, ramSize: UInt64, bundle: Data) {
            self.name = name
            self.firstCPU = firstCPU
            self.cpuCount = cpuCount
            self.ramIPA = ramIPA
            self.ramPA = ramPA
            self.ramSize = ramSize
            self.bundle = bundle
        }
    }

    public var vms: [VM] = []
    public var regions: [SystemManifest.Region] = []
    /// Devices passed through: their MMIO ranges and SPIs, each with its VM.
    public var devices: [SystemManifest.DeviceRange] = []
    public var interrupts: [SystemManifest.Interrupt] = []
    /// Virtio devices served by device-model VMs, in transport and device order.
    public var virtio: [SystemManifest.Virtio] = []
    /// The VM whose power-off powers the machine off; nil for the last VM's.
    public var powerOffWith: Int? = nil
    public init() {}

    public func bytes() -> Data {
        let alignment = UInt64(BootBundle.alignment)
        func align(_ v: UInt64) -> UInt64 { (v + alignment - 1) / alignment * alignment }
        var offsets: [UInt64] = []
        let tables = SystemManifest.tablesSize(count: vms.count, regions: regions.count, devices: devices.count, interrupts: interrupts.count, virtio: virtio.count)
        var cursor = align(UInt64(tables))
        for vm in vms {
            offsets.append(cursor)
            cursor = align(cursor + UInt64(vm.bundle.count))
        }
        var out = [UInt8](repeating: 0, count: Int(cursor))
        func put(_ value: UInt64, _ width: Int, at offset: Int) {
            for i in 0..<width { out[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
        out.replaceSubrange(0..<8, with: Array("KEELSYST".utf8))
        put(UInt64(SystemManifest.version), 4, at: 8)
        put(UInt64(SystemManifest.headerSize), 4, at: 12)
        put(cursor, 8, at: 16)
        put(UInt64(vms.count), 4, at: 24)
        put(UInt64(regions.count), 4, at: 32)
        put(UInt64(powerOffWith.map { $0 + 1 } ?? 0), 4, at: 36)
        put(UInt64(devices.count), 4, at: 40)
        put(UInt64(interrupts.count), 4, at: 44)
        put(UInt64(virtio.count), 4, at: 48)
        let devicesAt = SystemManifest.tablesSize(count: vms.count, regions: regions.count)
        for (k, device) in devices.enumerated() {
            let at = devicesAt + k * SystemManifest.deviceSize
            put(device.pa, 8, at: at)
            put(device.size, 8, at: at + 8)
            put(device.ipa, 8, at: at + 16)
            put(UInt64(device.vm), 4, at: at + 24)
        }
        for (k, interrupt) in interrupts.enumerated() {
            let at = devicesAt + devices.count * SystemManifest.deviceSize + k * SystemManifest.interruptSize
            put(UInt64(interrupt.intid), 4, at: at)
            put(UInt64(interrupt.vm), 4, at: at + 4)
        }
        let virtioAt = devicesAt + devices.count * SystemManifest.deviceSize + interrupts.count * SystemManifest.interruptSize
        for (k, v) in virtio.enumerated() {
            let at = virtioAt + k * SystemManifest.virtioSize
            put(UInt64(v.frontend), 4, at: at)
            put(UInt64(v.servedBy), 4, at: at + 4)
            put(UInt64(v.type), 4, at: at + 8)
            put(UInt64(v.timeoutMs), 4, at: at + 12)
            put(UInt64(v.network), 4, at: at + 16)
            if v.hasPool {
                put(UInt64(SystemManifest.Virtio.flagPool), 4, at: at + SystemManifest.Virtio.flagsOffset)
                put(v.poolIPA, 8, at: at + SystemManifest.Virtio.poolIPAOffset)
                put(v.poolSize, 8, at: at + SystemManifest.Virtio.poolSizeOffset)
            }
        }
        for (k, region) in regions.enumerated() {
            let at = SystemManifest.headerSize + vms.count * SystemManifest.recordSize + k * SystemManifest.regionSize
            put(region.pa, 8, at: at)
            put(region.size, 8, at: at + 8)
            put(region.ipa, 8, at: at + 16)
            put(UInt64(region.vms), 4, at: at + 24)
        }
        for (i, vm) in vms.enumerated() {
            let at = SystemManifest.headerSize + i * SystemManifest.recordSize
            let name = Array(vm.name.utf8.prefix(SystemManifest.nameSize))
            out.replaceSubrange(at..<(at + name.count), with: name)
            put(UInt64(vm.firstCPU), 4, at: at + 16)
            put(UInt64(vm.cpuCount), 4, at: at + 20)
            put(vm.ramIPA, 8, at: at + 24)
            put(vm.ramPA, 8, at: at + 32)
            put(vm.ramSize, 8, at: at + 40)
            put(offsets[i], 8, at: at + 48)
            put(UInt64(vm.bundle.count), 8, at: at + 56)
            put(UInt64(vm.faultLimit), 4, at: at + 64)
            put(UInt64(vm.resetLimit), 4, at: at + 68)
            put(UInt64(vm.doorbellPeers ?? 0), 4, at: at + 72)
            put(UInt64(vm.doorbellPeers == nil ? 0 : SystemManifest.doorbellExplicit), 4, at: at + 76)
            out.replaceSubrange(Int(offsets[i])..<(Int(offsets[i]) + vm.bundle.count), with: vm.bundle)
        }
        let crc = SystemManifest.headerChecksum(out.span, count: vms.count, regions: regions.count, devices: devices.count, interrupts: interrupts.count, virtio: virtio.count)
        put(UInt64(crc), 4, at: 28)
        return Data(out)
    }
}
