import Foundation
import KeelBoards
import KeelCore
import Testing
@testable import KeelKit

/// `dma = "pool"` (docs/device-model.md, "Restricted DMA pools"): where the pools go in the
/// frontend's RAM, what the validator refuses, the VM table's pool fields, the frontend's
/// `restricted-dma-pool` nodes and the device model's windows onto only the pools.
@Suite("Config file: restricted DMA pools of virtio devices")
struct VirtioPoolConfigTests {
    /// VirtioConfigTests' system: "app" (31M) has a blk and a net on shared memory and a console
    /// with a default pool; "peer" (16M) has two nets with pools of 1M and 512K.
    static let system = VirtioConfigTests.changed("dma = \"shared\"", "dma = \"pool\"",
        in: VirtioConfigTests.changed("network = \"wan\"", "network = \"wan\"\ndma = \"pool\"\ndma_pool = \"1M\""))
        + "dma = \"pool\"\ndma_pool = 0x8_0000\n"  // the last table: peer's second net

    static func problems(_ toml: String) throws -> [String] {
        VirtioConfigTests.problems(toml, try VirtioConfigTests.fixture())
    }

    @Test("pools are carved from the top of the frontend's RAM in transport order, reach the VM table and narrow the device model's windows")
    func plan() throws {
        let fixture = try VirtioConfigTests.fixture()
        #expect(VirtioConfigTests.problems(Self.system, fixture) == [])
        let system = try fixture.validate(Self.system)
        #expect(system.config.vms[1].virtio[2].dma == .pool && system.config.vms[1].virtio[2].poolSize == 4 << 20)
        #expect(system.config.vms[2].virtio.map(\.poolSize) == [1 << 20, 512 << 10])
        let plan = VirtioPlan(system.config)
        #expect(plan.devices.map(\.pool) == [nil, nil, MemoryRange(base: 0x4000_0000 + (31 << 20) - (4 << 20), size: 4 << 20),
                                             MemoryRange(base: 0x40F0_0000, size: 1 << 20), MemoryRange(base: 0x40E8_0000, size: 512 << 10)])
        // "app" has devices without a pool: its whole RAM; "peer" only its two pools.
        #expect(plan.windows(of: 0, in: system.config) == [
            MemoryRange(base: 0x50_0000_0000, size: 32 << 20),
            MemoryRange(base: 0x60_00F0_0000, size: 1 << 20), MemoryRange(base: 0x60_00E8_0000, size: 512 << 10),
        ])
        // The VM table: flags and pool fields, read back as the firmware reads them.
        let writer = try SystemImage.manifest(for: system)
        #expect(writer.virtio.map(\.poolIPA) == [0, 0, 0x41B0_0000, 0x40F0_0000, 0x40E8_0000])
        #expect(writer.virtio.map(\.poolSize) == [0, 0, 4 << 20, 1 << 20, 512 << 10])
        let bytes = writer.bytes()
        try bytes.withSpan { raw in
            let limits = SystemManifest.Limits(cpus: 8, dramBase: 0x4000_0000, dramSize: 0x4000_0000, reservedStart: 0x4008_0000, reservedEnd: 0x4010_0000)
            let m = try SystemManifest.open(raw, limits)
            #expect((0..<m.virtioCount).map { m.virtio($0) } == writer.virtio)
            #expect(!m.poolsOnly(frontend: 1, server: 0) && m.poolsOnly(frontend: 2, server: 0))
            #expect(!m.poolsOnly(frontend: 0, server: 0), "no devices: not pools only")
        }
    }

    @Test("the frontend's tree: a restricted-dma-pool per pool under /reserved-memory, named by its transport's memory-region; the device model's: only the pools")
    func deviceTrees() throws {
        let fixture = try VirtioConfigTests.fixture()
        let system = try fixture.validate(Self.system)
        let peer = SystemImage.virtioNodes(of: system.vms[2], in: system)
        var tree = GuestDeviceTree(ramIPA: 0x4000_0000, ramSize: 16 << 20, vcpus: 1, gic: .v3(distributor: 0x0800_0000, redistributors: 0x080A_0000), uartIPA: 0x0900_0000)
        tree.devices = peer.transports
        let root = try tree.tree()
        let reserved = try #require(root.child("reserved-memory"))
        #expect(reserved.property("#address-cells") == .u32([2]) && reserved.property("#size-cells") == .u32([2]))
        #expect(reserved.property("ranges") == .empty)
        let first = try #require(reserved.child("dma-pool@40f00000")), second = try #require(reserved.child("dma-pool@40e80000"))
        #expect(first.property("compatible") == .string("restricted-dma-pool"))
        #expect(first.property("reg") == .u64([0x40F0_0000, 1 << 20]))
        #expect(second.property("reg") == .u64([0x40E8_0000, 512 << 10]))
        #expect(first.property("no-map") == nil && first.property("reusable") == nil, "Linux refuses a restricted pool with either")
        let handle0 = try #require(first.property("phandle")), handle1 = try #require(second.property("phandle"))
        #expect(handle0 != handle1)
        #expect(try #require(root.child("virtio_mmio@b000000")).property("memory-region") == handle0)
        #expect(try #require(root.child("virtio_mmio@b000200")).property("memory-region") == handle1)
        // Without pools, neither node nor property.
        var plain = tree
        plain.devices = SystemImage.virtioNodes(of: system.vms[1], in: system).transports.map { var d = $0; d.dmaPool = nil; return d }
        let plainRoot = try plain.tree()
        #expect(plainRoot.child("reserved-memory") == nil)
        #expect(plainRoot.child("virtio_mmio@b000000")?.property("memory-region") == nil)

        let dm = try #require(SystemImage.virtioNodes(of: system.vms[0], in: system).deviceModel)
        #expect(dm.windows == VirtioPlan(system.config).windows(of: 0, in: system.config))
        if let dts = try VirtioConfigTests.decompiled(try tree.blob()) {
            #expect(dts.contains("compatible = \"restricted-dma-pool\";"))
            #expect(dts.contains("reg = <0x00 0x40f00000 0x00 0x100000>;"))
            #expect(dts.contains("memory-region = <"))
        }
    }

    @Test("a Linux frontend's kernel, initrd and device tree go below its pools")
    func linuxBelowPools() throws {
        let fixture = try VirtioConfigTests.fixture()
        let kernel = fixture.directory.appendingPathComponent("Image").path
        let initrd = fixture.directory.appendingPathComponent("initrd").path
        try syntheticImage().write(to: URL(fileURLWithPath: kernel))
        try Data(repeating: 0x11, count: 64 << 10).write(to: URL(fileURLWithPath: initrd))
        let layout = qemuVirtDefaultVM  // 256 MiB at 0x4000_0000
        let pools = [MemoryRange(base: 0x4FC0_0000, size: 4 << 20), MemoryRange(base: 0x4F80_0000, size: 4 << 20)]
        let devices = pools.enumerated().map { GuestDeviceTree.virtioTransport(ipa: VirtioPlan.transportIPA($0.offset), size: VirtioPlan.transportSize,
                                                                              intid: VirtioPlan.transportINTID($0.offset), dmaPool: $0.element) }
        let gic = GuestDeviceTree.GIC.v3(distributor: 0x0800_0000, redistributors: 0x080A_0000)
        let writer = try LinuxGuest.writer(kernel: kernel, initrd: initrd, bootargs: "", vcpus: 1, gic: gic, layout: layout, devices: devices)
        let low = pools.map(\.base).min()!
        #expect(writer.x0 == low - LinuxBoot.deviceTreeReserve, "the DTB in the last 2 MiB below the pools")
        for image in writer.images {
            #expect(image.loadIPA + UInt64(image.bytes.count) <= low, "an image at \(String(image.loadIPA, radix: 16)) reaches the pools")
        }
        let plain = try LinuxGuest.writer(kernel: kernel, initrd: initrd, bootargs: "", vcpus: 1, gic: gic, layout: layout)
        #expect(plain.x0 == layout.ramIPA + layout.ramSize - LinuxBoot.deviceTreeReserve)
    }

    @Test("dma_pool: only with dma = \"pool\", a multiple of 4 KiB of at least 256 KiB, and the pools leaving RAM for the kernel")
    func refused() throws {
        #expect(try Self.problems(VirtioConfigTests.changed("dma = \"shared\"", "dma = \"shared\"\ndma_pool = \"1M\"")) == [
            "system.toml: vm \"app\" key virtio[2].dma_pool: 1 MiB given, but dma is \"shared\" (a pool is for dma = \"pool\") (fix: add dma = \"pool\" (the frontend's kernel needs CONFIG_DMA_RESTRICTED_POOL), or remove dma_pool)",
        ])
        #expect(try Self.problems(VirtioConfigTests.changed("dma = \"shared\"", "dma = \"pool\"\ndma_pool = 0x40100")) == [
            "system.toml: vm \"app\" key virtio[2].dma_pool: 0x40100 bytes is not a DMA pool Keel can map (a multiple of 4 KiB, at least 256 KiB) (fix: write dma_pool = \"4M\" (the default when dma_pool is left out))",
        ])
        #expect(try Self.problems(VirtioConfigTests.changed("dma = \"shared\"", "dma = \"pool\"\ndma_pool = \"128K\"")).count == 1)
        #expect(try Self.problems(VirtioConfigTests.changed("dma = \"shared\"", "dma = \"pool\"\ndma_pool = \"big\"")) == [
            "system.toml: vm \"app\" key virtio[2].dma_pool: the string \"big\" is not a size (fix: write dma_pool = \"4M\" (bytes, or a number with K, M or G))",
        ])
        #expect(try Self.problems(VirtioConfigTests.changed("dma = \"shared\"", "dma = \"pool\"\ndma_pool = \"31M\"")) == [
            "system.toml: vm \"app\" key virtio[2].dma_pool: the DMA pools take 31 MiB, and the VM has 31 MiB of memory: none would be left for its kernel (fix: make dma_pool smaller (it is carved from the top of memory), or give the VM more memory.size)",
        ])
        #expect(try Self.problems(VirtioConfigTests.changed("dma = \"shared\"", "dma = \"pool\"\ndma_pool = \"30M\"")) == [])
    }
}
