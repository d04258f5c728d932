/// What the boot DTB says about the machine: its memory, CPUs, interrupt controller, UARTs,
/// PSCI firmware and timer interrupts. Read once at boot by the firmware (and by `keel dtb` on
/// the host); `MachineCheck` then holds it against the board file.
///
/// Fixed capacities and no allocation. Whatever the DTB does not say stays at its zero value
/// (`gic == .none`, `memoryCount == 0`, ...).
public struct DeviceTreeMachine {
    public struct Region: Equatable {
        public var base: UInt64
        public var size: UInt64
        @_optimize(size)
        public init(base: UInt64, size: UInt64) { self.base = base; self.size = size }
        public var end: UInt64 { base &+ size }
        @_optimize(size)
        public func contains(_ address: UInt64, size length: UInt64 = 1) -> Bool {
            address >= base && address - base < size && length <= size - (address - base)
        }
    }

    public enum GICKind: UInt8 { case none = 0, v2 = 2, v3 = 3 }
    public enum UARTKind: UInt8 { case none, pl011, cadence, other, imx }
    public enum PSCIMethod: UInt8 { case none, smc, hvc }
    public enum EnableMethod: UInt8 { case none, psci, spinTable, other }

    public struct UART {
        public var kind: UARTKind = .none
        public var base: UInt64 = 0
        @_optimize(size)
        public init() {}
        @_optimize(size)
        public init(kind: UARTKind, base: UInt64) { self.kind = kind; self.base = base }
    }

    public static let memoryCapacity = 4
    public static let cpuCapacity = 8
    public static let uartCapacity = 4

    /// `memory` nodes' ranges, in order, empty ones left out.
    public var memory = InlineArray<4, Region>(repeating: Region(base: 0, size: 0))
    public var memoryCount = 0

    /// Enabled `/cpus/cpu@…` nodes: how many, and the first `cpuCapacity` MPIDRs (their `reg`).
    public var cpuCount = 0
    public var mpidr = InlineArray<8, UInt64>(repeating: 0)
    /// How the CPUs are started: `.psci` when every CPU says so, else the first other method.
    public var enableMethod: EnableMethod = .none
    /// Each of the first `cpuCapacity` CPUs' `cpu-release-addr` (a 64-bit value, as Linux reads
    /// it): where a spin-table CPU waits for its entry address; 0 when it has none.
    public var releaseAddress = InlineArray<8, UInt64>(repeating: 0)

    /// The BCM2835/BCM2711 power management block's watchdog (`brcm,bcm2835-pm-wdt`): on a
    /// Raspberry Pi, without PSCI, the one way to power off (as Linux's bcm2835_wdt does); 0
    /// when absent.
    public var powerWatchdog: UInt64 = 0

    public var gic: GICKind = .none
    public var gicDistributor: UInt64 = 0
    /// GICv3: the first redistributor region.
    public var gicRedistributors: UInt64 = 0
    /// GICv2: the CPU interface, GICH and GICV frames and their sizes (128 KiB means 4 KiB pages
    /// repeated every 64 KiB, GIC-400 style).
    public var gicCPUInterface: UInt64 = 0
    public var gicCPUInterfaceSize: UInt64 = 0
    public var gicHypervisorControl: UInt64 = 0
    public var gicVirtualCPUInterface: UInt64 = 0
    public var gicVirtualCPUInterfaceSize: UInt64 = 0
    /// The GIC's own interrupt (list-register maintenance), as an INTID; 0 when not given.
    public var gicMaintenanceINTID: UInt32 = 0

    /// The UART `/chosen/stdout-path` names (through `/aliases`), if any.
    public var stdout = UART()
    /// Enabled PL011, Cadence and i.MX UARTs, in order.
    public var uarts = InlineArray<4, UART>(repeating: UART())
    public var uartCount = 0

    /// `/psci`: how it is called, and its version from `compatible` (0x1_0000 for 1.0,
    /// 0x2 for 0.2, 0x1 for the original binding's "arm,psci"); 0 without a node.
    public var psciMethod: PSCIMethod = .none
    public var psciVersion: UInt32 = 0

    /// The generic timer's INTIDs (secure physical, physical, virtual, hypervisor); 0 when absent.
    public var timerINTIDs = InlineArray<4, UInt32>(repeating: 0)

    @_optimize(size)
    public init() {}

    /// Reads `fdt`. Nil when its structure block is malformed.
    @_optimize(size)
    public init?(_ fdt: FDT) {
        self.init()
        // stdout-path is "path[:options]" or "alias[:options]".
        var stdoutPath = fdt.bytes.extracting(0..<0)
        if let chosen = fdt.property(path: "/chosen", name: "stdout-path") {
            var end = 0
            while end < chosen.count && chosen[end] != 0 && chosen[end] != UInt8(ascii: ":") { end += 1 }
            stdoutPath = chosen.extracting(0..<end)
            if end > 0 && chosen[0] != UInt8(ascii: "/"),
               let target = fdt.property(path: "/aliases", name: stdoutPath) {
                var length = 0
                while length < target.count && target[length] != 0 { length += 1 }
                stdoutPath = target.extracting(0..<length)
            }
        }
        var allPSCI = true
        var walk = FDT.Walk(fdt)
        while walk.next() { read(walk, stdoutPath: stdoutPath, allPSCI: &allPSCI) }
        guard !walk.malformed else { return nil }
        if cpuCount > 0 && allPSCI { enableMethod = .psci }
    }

    /// Reads the DTB at the start of `bytes`; nil when it has no valid header or a malformed
    /// structure block.
    @_optimize(size)
    public init?(_ bytes: Span<UInt8>) {
        guard let fdt = FDT(bytes) else { return nil }
        self.init(fdt)
    }

    @_optimize(size)
    private mutating func read(_ node: borrowing FDT.Walk, stdoutPath: Span<UInt8>, allPSCI: inout Bool) {
        if node.depth == 1 && (node.string("device_type", is: "memory") || node.isNamed("memory")) {
            var i = 0
            while let (base, size) = node.reg(i), memoryCount < DeviceTreeMachine.memoryCapacity {
                if size > 0 { memory[memoryCount] = Region(base: base, size: size); memoryCount += 1 }
                i += 1
            }
            return
        }
        if node.depth == 2 && FDT.nodeName(node.ancestorName(1), matches: "cpus") && node.string("device_type", is: "cpu") {
            guard node.isEnabled, let (mpidr, _) = node.rawReg(0) else { return }
            if cpuCount < DeviceTreeMachine.cpuCapacity {
                self.mpidr[cpuCount] = mpidr
                // Two cells (Devicetree Specification 3.8.1: cpu-release-addr is a <u64>).
                if let release = node.property("cpu-release-addr"), release.count == 8 {
                    releaseAddress[cpuCount] = FDT.cells(release, 0, 2)
                }
            }
            cpuCount += 1
            let method: EnableMethod = node.string("enable-method", is: "psci") ? .psci
                : node.string("enable-method", is: "spin-table") ? .spinTable : node.property("enable-method") == nil ? .none : .other
            if method != .psci && allPSCI { allPSCI = false; enableMethod = method }
            return
        }
        if node.depth == 1 && node.isNamed("psci") {
            psciMethod = node.string("method", is: "smc") ? .smc : node.string("method", is: "hvc") ? .hvc : .none
            psciVersion = node.isCompatible(with: "arm,psci-1.0") ? 0x1_0000
                : node.isCompatible(with: "arm,psci-0.2") ? 0x2 : node.isCompatible(with: "arm,psci") ? 0x1 : 0
            return
        }
        if node.isCompatible(with: "arm,armv8-timer") {
            for i in 0..<4 { timerINTIDs[i] = node.interrupt(i) ?? 0 }
            return
        }
        guard node.isEnabled else { return }
        if powerWatchdog == 0 && node.isCompatible(with: "brcm,bcm2835-pm-wdt"), let (base, _) = node.reg(0) {
            powerWatchdog = base
            return
        }
        if gic == .none && node.property("interrupt-controller") != nil { readGIC(node) }
        let kind: UARTKind = node.isCompatible(with: "arm,pl011") ? .pl011
            : node.isCompatible(with: "cdns,uart-r1p12") || node.isCompatible(with: "cdns,uart-r1p8") || node.isCompatible(with: "xlnx,xuartps") ? .cadence
            : node.isCompatible(with: "fsl,imx6q-uart") || node.isCompatible(with: "fsl,imx21-uart") ? .imx
            : .other
        let isStdout = stdoutPath.count > 0 && node.hasPath(stdoutPath)
        guard kind != .other || isStdout, let (base, _) = node.reg(0) else { return }
        if isStdout { stdout = UART(kind: kind, base: base) }
        if kind != .other && uartCount < DeviceTreeMachine.uartCapacity {
            uarts[uartCount] = UART(kind: kind, base: base)
            uartCount += 1
        }
    }

    /// The first GICv3 or GICv2 (GIC-400 and its relatives, Linux's "arm,gic" binding).
    @_optimize(size)
    private mutating func readGIC(_ node: borrowing FDT.Walk) {
        if node.isCompatible(with: "arm,gic-v3") {
            guard let (gicd, _) = node.reg(0), let (gicr, _) = node.reg(1) else { return }
            gic = .v3
            gicDistributor = gicd
            gicRedistributors = gicr
        } else if node.isCompatible(with: "arm,gic-400") || node.isCompatible(with: "arm,cortex-a15-gic")
                    || node.isCompatible(with: "arm,cortex-a7-gic") || node.isCompatible(with: "arm,pl390") {
            guard let (gicd, _) = node.reg(0), let (gicc, giccSize) = node.reg(1) else { return }
            gic = .v2
            gicDistributor = gicd
            gicCPUInterface = gicc
            gicCPUInterfaceSize = giccSize
            // Without the virtualization extensions' frames there is nothing for Keel: zeros.
            if let (gich, _) = node.reg(2), let (gicv, gicvSize) = node.reg(3) {
                gicHypervisorControl = gich
                gicVirtualCPUInterface = gicv
                gicVirtualCPUInterfaceSize = gicvSize
            }
        } else {
            return
        }
        gicMaintenanceINTID = node.interrupt(0) ?? 0
    }

    /// The memory range holding `address`, or nil.
    @_optimize(size)
    public func memoryRegion(holding address: UInt64) -> Region? {
        for i in 0..<memoryCount where memory[i].contains(address) { return memory[i] }
        return nil
    }

    /// The UART Keel should drive with a driver for `kind`: the stdout UART when it is one,
    /// else the first enabled one of that kind.
    @_optimize(size)
    public func uart(_ kind: UARTKind) -> UART? {
        if stdout.kind == kind { return stdout }
        for i in 0..<uartCount where uarts[i].kind == kind { return uarts[i] }
        return nil
    }
}
