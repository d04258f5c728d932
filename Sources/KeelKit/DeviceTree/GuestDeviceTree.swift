import KeelCore

/// The device tree a Linux arm64 guest of Keel boots with: RAM, the vCPUs (PSCI over HVC), the
/// GIC, the architected timer, one PL011 and `/chosen`. The nodes mirror those of QEMU's own
/// `-M virt` DTB, minus what a Keel guest does not have (PMU, ITS/v2m, virtio, flash, fw-cfg,
/// the GIC maintenance interrupt).
public struct GuestDeviceTree {
    public enum GIC: Equatable, Sendable {
        case v2(distributor: UInt64, cpuInterface: UInt64)
        case v3(distributor: UInt64, redistributors: UInt64)
    }

    public var ramIPA: UInt64
    public var ramSize: UInt64
    /// 1...8; vCPU N has MPIDR_EL1 affinity N (`reg = <N>`).
    public var vcpus: Int
    public var gic: GIC
    /// A PL011 of `uartSize` bytes.
    public var uartIPA: UInt64
    /// SPI number (INTID - 32); QEMU virt uses 1.
    public var uartSPI: UInt32
    public var bootargs: String
    /// IPAs of the first byte and one past the last byte of the initrd.
    public var initrd: (start: UInt64, end: UInt64)?
    /// In a packed image with several VMs: this VM's index (what a peer's doorbell names) and
    /// the shared regions it maps. Then the tree gets `/hypervisor` (Keel's doorbell) and one
    /// `keel,shared-memory` node per region.
    public var vmIndex: Int?
    public var sharedRegions: [(ipa: UInt64, size: UInt64)] = []
    /// Bytes for `/chosen/rng-seed`, as QEMU and U-Boot give their guests: Linux mixes them into
    /// its entropy pool at boot (and, as Debian's kernel trusts the boot loader, credits them),
    /// so its random number generator is ready before user space starts. Without one, every
    /// exec takes the generator's not-ready path under one global lock: a Linux with several
    /// vCPUs on fewer host cores (QEMU's multi-threaded TCG) then spends most of its time
    /// spinning on that lock behind a preempted holder. Fresh for each boot, or none: a seed
    /// written into an image that boots again and again would be no secret.
    public var rngSeed: [UInt8]?
    /// Board devices passed through to the VM, described at their guest addresses.
    public var devices: [Device] = []
    /// For a device-model VM (docs/device-model.md): the `keel,device-model` node keel-dm.ko binds.
    public var deviceModel: DeviceModelNode?

    /// `keel-dm@<request page> { compatible = "keel,device-model"; reg = <request page>,
    /// <one window per frontend served>; interrupts = <0 SPI 1>; }`.
    public struct DeviceModelNode: Equatable, Sendable {
        public var requestPage: UInt64
        public var requestPageSize: UInt64
        /// The frontends' RAM as the device model sees it, in frontend order.
        public var windows: [MemoryRange]
        public var intid: UInt32

        public init(requestPage: UInt64, requestPageSize: UInt64 = 0x1000, windows: [MemoryRange], intid: UInt32) {
            self.requestPage = requestPage
            self.requestPageSize = requestPageSize
            self.windows = windows
            self.intid = intid
        }

        public var nodeName: String { "keel-dm@" + String(requestPage, radix: 16) }
    }

    /// A virtio-mmio transport a device model serves (transport k of a frontend): a `virtio,mmio`
    /// node of `size` bytes at `ipa` with its edge SPI, as a passed-through transport gets; with
    /// `dmaPool`, its restricted DMA pool (`dma = "pool"`).
    public static func virtioTransport(ipa: UInt64, size: UInt64, intid: UInt32, dmaPool: MemoryRange? = nil) -> Device {
        var device = Device(compatible: "virtio,mmio", ranges: [(base: ipa, size: size)], intids: [intid])
        device.dmaPool = dmaPool
        return device
    }

    /// A device passed through: its `compatible`, its MMIO ranges and its SPIs (as INTIDs).
    public struct Device: Equatable, Sendable {
        public var compatible: String
        public var ranges: [(base: UInt64, size: UInt64)]
        public var intids: [UInt32]
        /// For a bank of identical devices (QEMU virt's virtio-mmio transports): the bytes each
        /// takes; they get one node each, interrupt `firstINTID + n` for the n-th from `bankBase`.
        public var bank: (base: UInt64, stride: UInt64, firstINTID: UInt32)?
        /// A range of the VM's RAM the device's DMA must go through: a `restricted-dma-pool` child
        /// of `/reserved-memory`, which the device's node names in `memory-region`. Linux (with
        /// CONFIG_DMA_RESTRICTED_POOL) then bounces every buffer of the device through it.
        public var dmaPool: MemoryRange?

        public init(compatible: String, ranges: [(base: UInt64, size: UInt64)], intids: [UInt32],
                    bank: (base: UInt64, stride: UInt64, firstINTID: UInt32)? = nil) {
            self.compatible = compatible
            self.ranges = ranges
            self.intids = intids
            self.bank = bank
        }

        public static func == (a: Device, b: Device) -> Bool {
            a.compatible == b.compatible && a.intids == b.intids && a.ranges.map(\.base) == b.ranges.map(\.base)
                && a.ranges.map(\.size) == b.ranges.map(\.size) && a.bank?.base == b.bank?.base
                && a.bank?.stride == b.bank?.stride && a.bank?.firstINTID == b.bank?.firstINTID && a.dmaPool == b.dmaPool
        }

        /// The nodes it needs: (unit address, reg, INTIDs). A bank gives one node per member
        /// inside the ranges whose interrupt the VM has (the others' lines it does not own).
        var nodes: [(address: UInt64, reg: [UInt64], intids: [UInt32])] {
            guard let bank else {
                return [(ranges.first?.base ?? 0, ranges.flatMap { [$0.base, $0.size] }, intids)]
            }
            var nodes: [(address: UInt64, reg: [UInt64], intids: [UInt32])] = []
            for range in ranges {
                var at = range.base
                while at + bank.stride <= range.base + range.size {
                    let intid = bank.firstINTID + UInt32((at - bank.base) / bank.stride)
                    if intids.contains(intid) { nodes.append((at, [at, bank.stride], [intid])) }
                    at += bank.stride
                }
            }
            return nodes
        }
    }

    public static let maxVCPUs = 8
    public static let uartSize: UInt64 = 0x1000
    public static let gicv2DistributorSize: UInt64 = 0x1000
    public static let gicv2CPUInterfaceSize: UInt64 = 0x2000
    public static let gicv3DistributorSize: UInt64 = 0x10000
    /// One redistributor (RD_base + SGI_base frames) per vCPU.
    public static let gicv3RedistributorSize: UInt64 = 0x20000
    /// The PL011's clock, as on QEMU virt.
    public static let clockFrequency: UInt32 = 24_000_000

    public init(ramIPA: UInt64, ramSize: UInt64, vcpus: Int, gic: GIC, uartIPA: UInt64, uartSPI: UInt32 = 1,
                bootargs: String = "", initrd: (start: UInt64, end: UInt64)? = nil) {
        self.ramIPA = ramIPA
        self.ramSize = ramSize
        self.vcpus = vcpus
        self.gic = gic
        self.uartIPA = uartIPA
        self.uartSPI = uartSPI
        self.bootargs = bootargs
        self.initrd = initrd
    }

    /// Interrupt specifier types (first cell) and flags (third cell) of the GIC binding.
    enum Interrupt {
        static let spi: UInt32 = 0
        static let ppi: UInt32 = 1
        /// IRQ_TYPE_LEVEL_HIGH, what QEMU virt gives the timer and the PL011.
        static let levelHigh: UInt32 = 4
        /// IRQ_TYPE_EDGE_RISING: Keel's doorbell.
        static let edgeRising: UInt32 = 1
    }

    /// Board devices that are Arm PrimeCells (on Linux's AMBA bus).
    static let primeCells: Set<String> = ["arm,pl031", "arm,pl061", "arm,pl011"]

    /// Architected timer PPIs: secure physical, non-secure physical, virtual, hypervisor.
    public static let timerPPIs: [UInt32] = [13, 14, 11, 10]

    public var uartNodeName: String { "pl011@" + String(uartIPA, radix: 16) }
    public var memoryNodeName: String { "memory@" + String(ramIPA, radix: 16) }
    public var gicNodeName: String { "intc@" + String(gicDistributor, radix: 16) }

    var gicDistributor: UInt64 {
        switch gic {
        case .v2(let distributor, _), .v3(let distributor, _): return distributor
        }
    }

    /// The MMIO regions of the GIC, as its `reg` lists them.
    var gicRegions: [(name: String, base: UInt64, size: UInt64)] {
        switch gic {
        case .v2(let distributor, let cpuInterface):
            return [("GIC distributor", distributor, Self.gicv2DistributorSize),
                    ("GIC CPU interface", cpuInterface, Self.gicv2CPUInterfaceSize)]
        case .v3(let distributor, let redistributors):
            return [("GIC distributor", distributor, Self.gicv3DistributorSize),
                    ("GIC redistributors", redistributors, UInt64(vcpus) * Self.gicv3RedistributorSize)]
        }
    }

    /// Throws `KeelError` when the spec cannot describe a VM Linux would boot on.
    public func validate() throws {
        guard (1...Self.maxVCPUs).contains(vcpus) else {
            throw KeelError("guest device tree: \(vcpus) vCPUs; a VM has 1 to \(Self.maxVCPUs)")
        }
        guard ramSize > 0 else { throw KeelError("guest device tree: the VM's RAM size is 0") }
        guard ramIPA <= UInt64.max - ramSize else {
            throw KeelError("guest device tree: RAM at \(hexValue(ramIPA)) of \(hexValue(ramSize)) bytes goes past the end of the address space")
        }
        guard uartSPI <= 987 else {
            throw KeelError("guest device tree: UART SPI \(uartSPI) is out of range (0...987, INTID 32...1019)")
        }
        let ramEnd = ramIPA + ramSize
        if let initrd {
            guard initrd.end >= initrd.start else {
                throw KeelError("guest device tree: the initrd ends (\(hexValue(initrd.end))) before it starts (\(hexValue(initrd.start)))")
            }
            guard initrd.start >= ramIPA, initrd.end <= ramEnd else {
                throw KeelError("guest device tree: the initrd \(hexValue(initrd.start))..<\(hexValue(initrd.end)) is outside the VM's RAM \(hexValue(ramIPA))..<\(hexValue(ramEnd))")
            }
        }
        let regions = [("RAM", ramIPA, ramSize), ("UART", uartIPA, Self.uartSize)] + gicRegions.map { ($0.name, $0.base, $0.size) }
        for (i, a) in regions.enumerated() {
            guard a.1 <= UInt64.max - a.2 else {
                throw KeelError("guest device tree: the \(a.0) at \(hexValue(a.1)) goes past the end of the address space")
            }
            for b in regions[..<i] where a.1 < b.1 + b.2 && b.1 < a.1 + a.2 {
                throw KeelError("guest device tree: the \(b.0) at \(hexValue(b.1)) and the \(a.0) at \(hexValue(a.1)) overlap")
            }
        }
    }

    /// The tree, validated.
    public func tree() throws -> FDTNode {
        try validate()
        var phandles = FDTPhandles()
        let gicHandle = phandles.allocate()
        let clockHandle = phandles.allocate()

        var root = FDTNode("")
        root.set("#address-cells", u32: 2)
        root.set("#size-cells", u32: 2)
        root.set("compatible", string: "linux,dummy-virt")
        root.set("model", string: "Keel VM")
        root.set("interrupt-parent", u32: gicHandle.value)

        var memory = FDTNode(memoryNodeName)
        memory.set("device_type", string: "memory")
        memory.set("reg", .u64([ramIPA, ramSize]))
        root.add(memory)

        var cpus = FDTNode("cpus")
        cpus.set("#address-cells", u32: 1)
        cpus.set("#size-cells", u32: 0)
        for n in 0..<vcpus {
            var cpu = FDTNode("cpu@" + String(n, radix: 16))
            cpu.set("device_type", string: "cpu")
            cpu.set("compatible", string: "arm,armv8")
            cpu.set("reg", u32: UInt32(n))
            cpu.set("enable-method", string: "psci")
            cpus.add(cpu)
        }
        root.add(cpus)

        var psci = FDTNode("psci")
        psci.set("compatible", strings: "arm,psci-1.0", "arm,psci-0.2")
        psci.set("method", string: "hvc")
        root.add(psci)

        var intc = FDTNode(gicNodeName)
        let ppiFlags: UInt32
        switch gic {
        case .v2:
            intc.set("compatible", string: "arm,cortex-a15-gic")
            intc.set("#interrupt-cells", u32: 3)
            intc.set(flag: "interrupt-controller")
            // No child nodes (QEMU's v2m frame is not there); dtc wants #address-cells on an
            // interrupt provider.
            intc.set("#address-cells", u32: 0)
            // GICv2 PPI specifiers carry the mask of the CPUs they go to in bits [15:8].
            ppiFlags = UInt32((1 << vcpus) - 1) << 8 | Interrupt.levelHigh
        case .v3:
            intc.set("compatible", string: "arm,gic-v3")
            intc.set("#interrupt-cells", u32: 3)
            intc.set(flag: "interrupt-controller")
            intc.set("#address-cells", u32: 2)
            intc.set("#size-cells", u32: 2)
            intc.set(flag: "ranges")
            intc.set("#redistributor-regions", u32: 1)
            ppiFlags = Interrupt.levelHigh
        }
        intc.set("reg", .u64(gicRegions.flatMap { [$0.base, $0.size] }))
        intc.setPhandle(gicHandle)
        root.add(intc)

        var timer = FDTNode("timer")
        timer.set("compatible", string: "arm,armv8-timer")
        timer.set(flag: "always-on")
        timer.set("interrupts", .u32(Self.timerPPIs.flatMap { [Interrupt.ppi, $0, ppiFlags] }))
        root.add(timer)

        var clock = FDTNode("apb-pclk")
        clock.set("compatible", string: "fixed-clock")
        clock.set("#clock-cells", u32: 0)
        clock.set("clock-frequency", u32: Self.clockFrequency)
        clock.set("clock-output-names", string: "clk24mhz")
        clock.setPhandle(clockHandle)
        root.add(clock)

        var uart = FDTNode(uartNodeName)
        uart.set("compatible", strings: "arm,pl011", "arm,primecell")
        uart.set("reg", .u64([uartIPA, Self.uartSize]))
        uart.set("interrupts", u32: Interrupt.spi, uartSPI, Interrupt.levelHigh)
        uart.set("clocks", u32: clockHandle.value, clockHandle.value)
        uart.set("clock-names", strings: "uartclk", "apb_pclk")
        root.add(uart)

        if let vmIndex {
            // Keel's doorbell (README "Between VMs"): SMCCC function `keel,doorbell` over HVC,
            // x1 = the VM to ring; this VM's own doorbell is the interrupt below.
            var hypervisor = FDTNode("hypervisor")
            hypervisor.set("compatible", string: "keel,hypervisor")
            hypervisor.set("method", string: "hvc")
            hypervisor.set("keel,vm-index", u32: UInt32(vmIndex))
            hypervisor.set("keel,doorbell", u32: SMCCC.keelDoorbell)
            hypervisor.set("interrupts", u32: Interrupt.spi, SMCCC.doorbellINTID - 32, Interrupt.edgeRising)
            root.add(hypervisor)
            for region in sharedRegions {
                // "generic-uio": uio_pdrv_genirq (of_id=generic-uio) hands the region to user space.
                var shm = FDTNode("shm@" + String(region.ipa, radix: 16))
                shm.set("compatible", strings: "keel,shared-memory", "generic-uio")
                shm.set("reg", .u64([region.ipa, region.size]))
                root.add(shm)
            }
        }

        // The devices' restricted DMA pools (Documentation/devicetree/bindings/reserved-memory/
        // shared-dma-pool.yaml): Linux keeps them out of its page allocator and gives each its
        // own swiotlb. Not `no-map` (Linux's restricted-dma-pool refuses that: it copies
        // through its linear map) and not `reusable`.
        var poolHandles: [UInt64: FDTPhandle] = [:]
        let pools = devices.compactMap(\.dmaPool)
        if !pools.isEmpty {
            var reserved = FDTNode("reserved-memory")
            reserved.set("#address-cells", u32: 2)
            reserved.set("#size-cells", u32: 2)
            reserved.set(flag: "ranges")
            for pool in pools where poolHandles[pool.base] == nil {
                let handle = phandles.allocate()
                poolHandles[pool.base] = handle
                var node = FDTNode("dma-pool@" + String(pool.base, radix: 16))
                node.set("compatible", string: "restricted-dma-pool")
                node.set("reg", .u64([pool.base, pool.size]))
                node.setPhandle(handle)
                reserved.add(node)
            }
            root.add(reserved)
        }

        for device in devices {
            // Named as QEMU names them: virtio_mmio@..., pl031@...
            let name = device.compatible == "virtio,mmio" ? "virtio_mmio" : device.compatible.split(separator: ",").last.map(String.init) ?? "device"
            for node in device.nodes {
                var n = FDTNode(name + "@" + String(node.address, radix: 16))
                if Self.primeCells.contains(device.compatible) {
                    // An AMBA PrimeCell: Linux's AMBA bus binds it by "arm,primecell" and reads
                    // its ID registers with its bus clock on, as QEMU's own tree says.
                    n.set("compatible", strings: device.compatible, "arm,primecell")
                    n.set("clocks", u32: clockHandle.value)
                    n.set("clock-names", string: "apb_pclk")
                } else {
                    n.set("compatible", string: device.compatible)
                }
                if device.compatible == "arm,pl061" {
                    n.set(flag: "gpio-controller")
                    n.set("#gpio-cells", u32: 2)
                }
                n.set("reg", .u64(node.reg))
                if !node.intids.isEmpty {
                    // virtio-mmio as QEMU virt describes it (edge); other devices level-high.
                    let flags = device.compatible == "virtio,mmio" ? Interrupt.edgeRising : Interrupt.levelHigh
                    n.set("interrupts", .u32(node.intids.flatMap { [Interrupt.spi, $0 - 32, flags] }))
                }
                if device.compatible == "virtio,mmio" { n.set(flag: "dma-coherent") }
                if let pool = device.dmaPool, let handle = poolHandles[pool.base] { n.set("memory-region", u32: handle.value) }
                root.add(n)
            }
        }

        if let deviceModel {
            var node = FDTNode(deviceModel.nodeName)
            node.set("compatible", string: "keel,device-model")
            node.set("reg", .u64([deviceModel.requestPage, deviceModel.requestPageSize] + deviceModel.windows.flatMap { [$0.base, $0.size] }))
            node.set("interrupts", u32: Interrupt.spi, deviceModel.intid - 32, Interrupt.edgeRising)
            root.add(node)
        }

        var chosen = FDTNode("chosen")
        chosen.set("bootargs", string: bootargs)
        chosen.set("stdout-path", string: "/" + uartNodeName)
        if let initrd {
            chosen.set("linux,initrd-start", .u64([initrd.start]))
            chosen.set("linux,initrd-end", .u64([initrd.end]))
        }
        if let rngSeed { chosen.set("rng-seed", .bytes(rngSeed)) }
        root.add(chosen)
        return root
    }

    /// The DTB.
    public func blob() throws -> [UInt8] {
        try FDTWriter.blob(root: tree())
    }

    private func hexValue(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
}
