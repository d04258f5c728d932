import Foundation
import KeelCore

/// The virtio devices of a system (`[[vm.virtio]]`) as the VM table, the device trees and the
/// device model's initramfs carry them (docs/device-model.md): one record per device, in table
/// order (the VMs in file order, each VM's `[[vm.virtio]]` tables in file order). The k-th record
/// of frontend f is transport k of f; the records a device-model VM serves are its devices 0, 1,
/// ... in its request page.
public struct VirtioPlan: Equatable, Sendable {
    public struct Device: Equatable, Sendable {
        /// VM indexes (in the config's order, as the VM table numbers them).
        public var frontend: Int
        public var servedBy: Int
        public var kind: VirtioDeviceConfig.Kind
        /// Its transport in the frontend: at `transportIPA(transport)`, INTID `transportINTID(transport)`.
        public var transport: Int
        /// Its index among the devices of `servedBy` (the request page's device table).
        public var device: Int
        public var timeoutMs: UInt32
        /// net: 1, 2, ... for the distinct `network` names in order of first appearance; 0 else.
        public var network: UInt32
        /// blk: the disk image, resolved against the config's directory.
        public var disk: String?
        /// `dma = "pool"`: its restricted DMA pool in the frontend's guest addresses. A frontend's
        /// pools are carved from the top of its RAM down, in transport order (transport 0's
        /// highest), so the kernel, initrd and device tree are placed below them all.
        public var pool: MemoryRange?
    }

    public var devices: [Device] = []
    /// The network names; name `networks[i]` is network `i + 1`.
    public var networks: [String] = []

    /// The plan of `config`; tables whose `served_by` names no VM are left out (the validator
    /// refuses them).
    public init(_ config: SystemConfig) {
        var served: [Int: Int] = [:]
        for (f, vm) in config.vms.enumerated() {
            var poolTop = vm.memory.base &+ vm.memory.size
            for (k, table) in vm.virtio.enumerated() {
                // Pools that do not fit are left out: the validator refuses them (checkPools).
                var pool: MemoryRange?
                if let size = table.poolSize, size <= poolTop &- vm.memory.base, poolTop >= vm.memory.base {
                    poolTop -= size
                    pool = MemoryRange(base: poolTop, size: size)
                }
                guard let s = config.vms.firstIndex(where: { $0.name == table.servedBy }) else { continue }
                var network: UInt32 = 0
                if table.kind == .net, let name = table.network {
                    if let i = networks.firstIndex(of: name) { network = UInt32(i + 1) } else {
                        networks.append(name)
                        network = UInt32(networks.count)
                    }
                }
                let device = served[s, default: 0]
                served[s] = device + 1
                devices.append(Device(frontend: f, servedBy: s, kind: table.kind, transport: k, device: device,
                                      timeoutMs: UInt32(clamping: table.timeoutMs ?? UInt64(Self.defaultTimeoutMs)), network: network,
                                      disk: table.disk.map { ConfigValidator.resolve($0, in: config.directory) }, pool: pool))
            }
        }
    }

    public var isEmpty: Bool { devices.isEmpty }
    /// The VM table's virtio records (manifest version 5), in table order.
    public var records: [SystemManifest.Virtio] {
        devices.map {
            SystemManifest.Virtio(frontend: UInt32($0.frontend), servedBy: UInt32($0.servedBy), type: Self.typeID($0.kind),
                                  timeoutMs: $0.timeoutMs, network: $0.network, poolIPA: $0.pool?.base ?? 0, poolSize: $0.pool?.size ?? 0)
        }
    }
    /// The devices of frontend `vm`, transport 0 first.
    public func transports(of vm: Int) -> [Device] { devices.filter { $0.frontend == vm } }
    /// The devices `vm` serves, device 0 first.
    public func served(by vm: Int) -> [Device] { devices.filter { $0.servedBy == vm } }

    // The addresses and numbers of docs/device-model.md, from KeelCore's `DeviceModel`.
    public static let maxTransports = DeviceModel.maxTransports
    public static let maxDevices = DeviceModel.maxDevices
    public static let defaultTimeoutMs = DeviceModel.defaultTimeoutMilliseconds
    public static let transportSize = DeviceModel.transportSize
    /// All transports a frontend may have: the range no RAM, region or device of it may meet.
    public static let transportWindow = MemoryRange(base: DeviceModel.transportIPA, size: DeviceModel.transportWindow)
    public static func transportIPA(_ k: Int) -> UInt64 { DeviceModel.transportIPA + UInt64(k) * DeviceModel.transportSize }
    public static func transportINTID(_ k: Int) -> UInt32 { DeviceModel.transportINTID(k) }
    public static let requestPage = MemoryRange(base: DeviceModel.requestPageIPA, size: DeviceModel.requestPageSize)
    public static let requestINTID = DeviceModel.requestINTID
    /// Where frontend VM `frontend`'s RAM appears in the device model that serves it.
    public static func windowIPA(frontend: Int) -> UInt64 { DeviceModel.windowIPA(frontend: frontend) }
    /// The virtio device ID the VM table carries.
    public static func typeID(_ kind: VirtioDeviceConfig.Kind) -> UInt32 {
        switch kind {
        case .net: return DeviceModel.DeviceType.net.rawValue
        case .blk: return DeviceModel.DeviceType.blk.rawValue
        case .console: return DeviceModel.DeviceType.console.rawValue
        }
    }

    /// The RAM size the VM table gives a VM of `size` bytes (`SystemImage.manifest` rounds to
    /// 2 MiB): what a window maps.
    public static func mappedRAMSize(_ size: UInt64) -> UInt64 {
        size > UInt64.max - (2 << 20) ? size : (size + (2 << 20) - 1) & ~((2 << 20) - 1)
    }

    /// The windows a device-model VM `vm` has, in frontend order: per frontend it serves, the
    /// frontend's RAM at its window IPA; or, when every device of that frontend it serves has a
    /// DMA pool, only the pools, each at its place in the window (as the firmware maps them,
    /// `SystemManifest.poolsOnly`).
    public func windows(of vm: Int, in config: SystemConfig) -> [MemoryRange] {
        windowRanges(of: vm, in: config).map(\.range)
    }

    /// `windows(of:in:)` with the frontend each range shows.
    public func windowRanges(of vm: Int, in config: SystemConfig) -> [(frontend: Int, range: MemoryRange)] {
        let frontends = Set(served(by: vm).map(\.frontend)).sorted()
        return frontends.flatMap { f -> [(frontend: Int, range: MemoryRange)] in
            let mine = served(by: vm).filter { $0.frontend == f }
            let window = Self.windowIPA(frontend: f)
            guard mine.allSatisfy({ $0.pool != nil }) else {
                return [(f, MemoryRange(base: window, size: Self.mappedRAMSize(config.vms[f].memory.size)))]
            }
            return mine.compactMap(\.pool).map { (f, MemoryRange(base: window + ($0.base - config.vms[f].memory.base), size: $0.size)) }
        }
    }
}
