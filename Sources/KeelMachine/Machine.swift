// The machine Keel runs on, from the boot DTB with the board file as the cross-check. Portable:
// the Makefile compiles this into the firmware (one module, so no imports there); SwiftPM
// builds it for `keel dtb` and the host tests.
#if canImport(KeelCore)
import KeelCore
import KeelBoards
#endif

/// What Keel drives: where its DRAM, CPUs, GIC, console UART and PSCI firmware are. From the
/// board file alone (`init(board:)`, no DTB), or what `MachineCheck.resolve` makes of a DTB.
public struct Machine {
    /// The DRAM range holding Keel's image: VMs and boot bundles must lie inside it.
    public var ramBase: UInt64
    public var ramSize: UInt64
    /// CPUs Keel may start, as indices 0..<cpuCount (CPU i has MPIDR affinity i).
    public var cpuCount: Int
    public var gicVersion: Int
    public var gic: GICFrames
    public var uartBase: UInt64
    /// PSCI 0.2 or later over SMC: CPU_ON for the other CPUs (unless they are on a spin
    /// table), SYSTEM_OFF at the end.
    public var hasPSCI: Bool
    /// How the other CPUs are started: PSCI CPU_ON, or (`enable-method = "spin-table"`, the
    /// Raspberry Pi's firmware) by writing the entry address to each CPU's release address.
    public var cpuStart: CPUStart
    /// CPU i's `cpu-release-addr` for `.spinTable`, checked by `resolve`: 8-byte aligned, in
    /// DRAM and outside Keel's image (index 0, the boot CPU, is unused).
    public var releaseAddress: InlineArray<8, UInt64>
    /// The BCM2835-family power management watchdog (Raspberry Pi): how Keel powers off
    /// without PSCI; 0 when there is none.
    public var powerWatchdog: UInt64
    /// True when the DTB, not the board file, gave these values.
    public var fromDTB: Bool

    public enum CPUStart: UInt8 { case psci, spinTable }

    @inline(__always)
    public init(board: Board) {
        ramBase = board.ramBase
        ramSize = board.ramSize
        cpuCount = board.maxCPUs
        gicVersion = board.gicVersion
        gic = board.gic
        uartBase = board.uartBase
        hasPSCI = true
        cpuStart = .psci
        releaseAddress = InlineArray(repeating: 0)
        powerWatchdog = 0
        fromDTB = false
    }

    public var ramEnd: UInt64 { ramBase &+ ramSize }

    /// True when `[base, base + size)` is DRAM.
    public func ramHolds(_ base: UInt64, size: UInt64) -> Bool {
        DeviceTreeMachine.Region(base: ramBase, size: ramSize).contains(base, size: size)
    }
}

/// A value the DTB and the board file both give, compared field by field.
public enum MachineField: Int, CaseIterable {
    case ramBase, gicVersion, gicDistributor, gicRedistributors, gicCPUInterface, gicHypervisorControl,
         gicVirtualCPUInterface, gicMaintenanceINTID, uartBase

    @_optimize(size)
    public var name: StaticString {
        switch self {
        case .ramBase: "DRAM at"
        case .gicVersion: "GIC version"
        case .gicDistributor: "GIC distributor at"
        case .gicRedistributors: "GIC redistributors at"
        case .gicCPUInterface: "GIC CPU interface at"
        case .gicHypervisorControl: "GICH at"
        case .gicVirtualCPUInterface: "GICV at"
        case .gicMaintenanceINTID: "GIC maintenance INTID"
        case .uartBase: "console UART at"
        }
    }

    /// A number rather than an address.
    public var isCount: Bool { self == .gicVersion || self == .gicMaintenanceINTID }

    /// True when both machines have this field and their values differ.
    @_optimize(size)
    public func differs(in machine: Machine, from expected: Machine) -> Bool {
        guard let mine = self.value(in: machine), let theirs = self.value(in: expected) else { return false }
        return mine != theirs
    }

    /// Its value in `machine`, or nil when `machine` has no such thing (a GICv2's redistributors).
    @inline(never)
    @_optimize(size)
    public func value(in machine: Machine) -> UInt64? {
        let v3 = machine.gicVersion == 3
        switch self {
        case .ramBase: return machine.ramBase
        case .gicVersion: return UInt64(machine.gicVersion)
        case .gicDistributor: return machine.gic.distributor
        case .gicRedistributors: return v3 ? machine.gic.redistributors : nil
        case .gicCPUInterface: return v3 ? nil : machine.gic.cpuInterface
        case .gicHypervisorControl: return v3 ? nil : machine.gic.hypervisorControl
        case .gicVirtualCPUInterface: return v3 ? nil : machine.gic.virtualCPUInterface
        case .gicMaintenanceINTID: return UInt64(machine.gic.maintenanceINTID)
        case .uartBase: return machine.uartBase
        }
    }
}

/// What the cross-check says beyond field differences: what the DTB lacks, what Keel makes of
/// it, and what Keel cannot run on (`isRefusal`). Each comes with one number (`value`).
public enum MachineNote: UInt8 {
    case noMemory, noPSCI, psciNotSMC, psciTooOld, cpusUnnumbered, cpusNotPSCI, noCPUs, noGIC, noUART,
         stdoutWithoutDriver, timerINTID, releaseAddressRefused
    case imageOutsideMemory, gicv3WithoutSystemRegisters, gicv2WithoutVirtualization, memoryWraps, deviceOutsideMap

    public var isRefusal: Bool { rawValue >= MachineNote.imageOutsideMemory.rawValue }

    /// Its value is a number (of CPUs, an INTID) rather than an address.
    public var isCount: Bool { rawValue >= MachineNote.noPSCI.rawValue && rawValue <= MachineNote.noCPUs.rawValue || self == .timerINTID }

    /// Why a spin-table CPU's release address is not written to (`MachineCheck.releaseAddressProblem`).
    public enum ReleaseProblem: UInt8, Sendable { case missing, unaligned, outsideRAM, insideKeel }

    /// The message; `value` follows it.
    @_optimize(size)
    public var message: StaticString {
        switch self {
        case .noMemory: "no memory node with a size; DRAM from the board file at"
        case .noPSCI: "no /psci: CPUs only from a spin table, no power-off but the Pi's watchdog; CPUs listed"
        case .psciNotSMC: "PSCI not over SMC, the one way from EL2: one CPU; CPUs listed"
        case .psciTooOld: "PSCI 0.1 has no standard function IDs: one CPU; CPUs listed"
        case .cpusUnnumbered: "CPUs past the first whose MPIDR is not its index, or past the board's maximum, are left off; CPUs used"
        case .cpusNotPSCI: "enable-method is neither psci nor spin-table: one CPU; CPUs listed"
        case .noCPUs: "no CPU nodes: CPUs start until PSCI refuses, at most"
        case .noGIC: "no GICv2/v3 node: the board file's GIC at"
        case .noUART: "no enabled UART of the board's kind: the board file's at"
        case .stdoutWithoutDriver: "stdout-path names a UART without a Keel driver: console on the board's kind at"
        case .timerINTID: "timer INTIDs differ from the board file's; Keel forwards virtual"
        case .releaseAddressRefused: "a spin-table CPU's cpu-release-addr is missing, unaligned, outside DRAM or inside Keel: not written, CPUs from there left off; it is"
        case .imageOutsideMemory: "no memory range holds Keel's image at"
        case .gicv3WithoutSystemRegisters: "a GICv3, but this CPU has no GIC system registers; GICD at"
        case .gicv2WithoutVirtualization: "a GICv2 without GICH/GICV frames; GICD at"
        case .memoryWraps: "a memory range runs past the end of the address space; it starts at"
        case .deviceOutsideMap: "a GIC frame or the console UART reaches past the 512 GiB Keel's EL2 map covers; it is at"
        }
    }
}

public enum MachineCheck {
    /// A GIC-400 frame of 128 KiB repeats its 4 KiB pages every 64 KiB: its two pages are
    /// contiguous only at +0xF000 (as Linux's GIC driver and the board files use them).
    public static let aliasedFrameSize: UInt64 = 0x2_0000
    public static let aliasedFrameOffset: UInt64 = 0xF000

    /// Keel's EL2 map covers the first 512 GiB of physical addresses (hyp/boot/start.S): a
    /// device beyond it would fault on Keel's first access. Checking each frame against it also
    /// keeps every sum of a DTB address and an offset below it, so none can wrap.
    public static let mappedEnd: UInt64 = 1 << 39

    /// How far past its base Keel reaches into each frame: the GICv3 distributor (64 KiB), the
    /// redistributors Keel walks (at most 64 frames of 128 KiB), a GICv2 CPU interface and GICV
    /// (8 KiB, after any aliased-frame offset), GICH (4 KiB) and the UART (4 KiB).
    static let distributorSpan: UInt64 = 0x1_0000
    static let redistributorsSpan: UInt64 = 64 * 0x2_0000
    static let cpuInterfaceSpan: UInt64 = 0x2000
    static let pageSpan: UInt64 = 0x1000

    /// True when `[base, base + span)` lies below `mappedEnd`, computed without a sum that
    /// could wrap.
    @inline(__always)
    public static func isMapped(_ base: UInt64, span: UInt64) -> Bool { span <= mappedEnd && base <= mappedEnd - span }

    /// How the DTB reader names the board's kind of console UART.
    @inline(__always)
    public static func deviceTreeKind(of kind: Board.UARTKind) -> DeviceTreeMachine.UARTKind {
        switch kind {
        case .pl011: .pl011
        case .cadence: .cadence
        case .imx: .imx
        }
    }

    /// The machine `dtb` describes, with the board file filling in what the DTB lacks. Notes go
    /// to `note`; nil after a refusal. `imageBase` is where Keel's image is; `cpuHasGICv3`
    /// whether ID_AA64PFR0_EL1.GIC shows the GICv3 system registers. The board file's values
    /// it differs from: `MachineField.value(in:)` of this and of `Machine(board:)`.
    @_optimize(size)
    public static func resolve(_ dtb: DeviceTreeMachine, board: Board, imageBase: UInt64, imageSize: UInt64 = 0, cpuHasGICv3: Bool,
                               note: (MachineNote, UInt64) -> Void) -> Machine? {
        var machine = Machine(board: board)
        machine.fromDTB = true

        // A memory range whose base + size wraps is no memory: `ramEnd` and every
        // `ramEnd - address` after it need the sum not to wrap.
        for i in 0..<min(dtb.memoryCount, DeviceTreeMachine.memoryCapacity) where dtb.memory[i].size > UInt64.max - dtb.memory[i].base {
            note(.memoryWraps, dtb.memory[i].base)
            return nil
        }

        // DRAM: the range Keel was loaded into.
        if dtb.memoryCount == 0 {
            note(.noMemory, board.ramBase)
        } else if let ram = dtb.memoryRegion(holding: imageBase) {
            machine.ramBase = ram.base
            machine.ramSize = ram.size
        } else {
            note(.imageOutsideMemory, imageBase)
            return nil
        }

        // CPUs: Keel numbers them by MPIDR Aff0 (CPU i has affinity i). PSCI (CPU_ON, SYSTEM_OFF)
        // Keel at EL2 reaches only with SMC; PSCI 0.1 has no standard function IDs. CPUs on a
        // spin table (the Raspberry Pi's firmware) need no PSCI: each waits on its release address.
        let listed = UInt64(dtb.cpuCount)
        if dtb.psciVersion == 0 {
            note(.noPSCI, listed)
            machine.hasPSCI = false
        } else if dtb.psciMethod != .smc {
            note(.psciNotSMC, listed)
            machine.hasPSCI = false
        } else if dtb.psciVersion < 0x2 {
            note(.psciTooOld, listed)
            machine.hasPSCI = false
        }
        machine.powerWatchdog = dtb.powerWatchdog
        let limit = min(dtb.cpuCount, DeviceTreeMachine.cpuCapacity, board.maxCPUs)
        if dtb.cpuCount > 1 && dtb.enableMethod == .spinTable {
            machine.cpuStart = .spinTable
            let image = DeviceTreeMachine.Region(base: imageBase, size: imageSize)
            var usable = 1, refused = false
            while usable < limit && dtb.mpidr[usable] & 0xFF_00FF_FFFF == UInt64(usable) {
                let release = dtb.releaseAddress[usable]
                guard releaseAddressProblem(release, ram: machine, image: image) == nil else {
                    note(.releaseAddressRefused, release)
                    refused = true
                    break
                }
                machine.releaseAddress[usable] = release
                usable &+= 1
            }
            if usable < dtb.cpuCount && !refused { note(.cpusUnnumbered, UInt64(usable)) }
            machine.cpuCount = usable
        } else if !machine.hasPSCI {
            machine.cpuCount = 1
        } else if dtb.cpuCount == 0 {
            note(.noCPUs, UInt64(board.maxCPUs))
        } else if dtb.enableMethod != .psci && dtb.cpuCount > 1 {
            note(.cpusNotPSCI, listed)
            machine.cpuCount = 1
        } else {
            var usable = 0
            while usable < limit && dtb.mpidr[usable] & 0xFF_00FF_FFFF == UInt64(usable) { usable &+= 1 }
            if usable < dtb.cpuCount { note(.cpusUnnumbered, UInt64(usable)) }
            machine.cpuCount = max(usable, 1)
        }

        // The interrupt controller.
        switch dtb.gic {
        case .none:
            note(.noGIC, board.gic.distributor)
        case .v3:
            guard cpuHasGICv3 else {
                note(.gicv3WithoutSystemRegisters, dtb.gicDistributor)
                return nil
            }
            machine.gicVersion = 3
            machine.gic.distributor = dtb.gicDistributor
            machine.gic.redistributors = dtb.gicRedistributors
        case .v2:
            guard dtb.gicHypervisorControl != 0 else {
                note(.gicv2WithoutVirtualization, dtb.gicDistributor)
                return nil
            }
            machine.gicVersion = 2
            machine.gic.distributor = dtb.gicDistributor
            // The offsets are added only to frames `isMapped` has placed below `mappedEnd`.
            let giccOffset = dtb.gicCPUInterfaceSize == aliasedFrameSize ? aliasedFrameOffset : 0
            let gicvOffset = dtb.gicVirtualCPUInterfaceSize == aliasedFrameSize ? aliasedFrameOffset : 0
            guard isMapped(dtb.gicCPUInterface, span: giccOffset + cpuInterfaceSpan) else {
                note(.deviceOutsideMap, dtb.gicCPUInterface)
                return nil
            }
            guard isMapped(dtb.gicVirtualCPUInterface, span: gicvOffset + cpuInterfaceSpan) else {
                note(.deviceOutsideMap, dtb.gicVirtualCPUInterface)
                return nil
            }
            machine.gic.cpuInterface = dtb.gicCPUInterface + giccOffset
            machine.gic.hypervisorControl = dtb.gicHypervisorControl
            machine.gic.virtualCPUInterface = dtb.gicVirtualCPUInterface + gicvOffset
        }
        guard isMapped(machine.gic.distributor, span: distributorSpan) else {
            note(.deviceOutsideMap, machine.gic.distributor)
            return nil
        }
        let v3 = machine.gicVersion == 3
        let other = v3 ? machine.gic.redistributors : machine.gic.hypervisorControl
        guard isMapped(other, span: v3 ? redistributorsSpan : pageSpan) else {
            note(.deviceOutsideMap, other)
            return nil
        }
        if dtb.gicMaintenanceINTID != 0 { machine.gic.maintenanceINTID = dtb.gicMaintenanceINTID }

        // The console: the firmware has the board's UART driver; find that UART in the DTB.
        let kind = MachineCheck.deviceTreeKind(of: board.uartKind)
        if let uart = dtb.uart(kind) {
            // stdout-path names a UART this firmware has no driver for (none, or another kind's).
            if dtb.stdout.kind != .none && dtb.stdout.kind != kind { note(.stdoutWithoutDriver, uart.base) }
            guard isMapped(uart.base, span: pageSpan) else {
                note(.deviceOutsideMap, uart.base)
                return nil
            }
            machine.uartBase = uart.base
        } else {
            note(.noUART, board.uartBase)
        }

        // Timers: Keel forwards the virtual and EL1 physical timers at the board's INTIDs.
        let virtual = dtb.timerINTIDs[2], physical = dtb.timerINTIDs[1]
        if virtual != 0 && virtual != board.timers.virtual || physical != 0 && physical != board.timers.physical {
            note(.timerINTID, UInt64(board.timers.virtual))
        }
        return machine
    }

    /// Why Keel will not write a spin-table CPU's entry address to `address`, or nil when it
    /// may: the 8 bytes must be aligned (a single-copy atomic store the waiting CPU reads
    /// whole), in the DRAM range `ram` holds Keel in, inside Keel's EL2 map, and outside Keel's
    /// own `image` (a DTB must not make Keel overwrite itself).
    @_optimize(size)
    public static func releaseAddressProblem(_ address: UInt64, ram: Machine, image: DeviceTreeMachine.Region) -> MachineNote.ReleaseProblem? {
        if address == 0 { return .missing }
        if address & 7 != 0 { return .unaligned }
        if !ram.ramHolds(address, size: 8) || !isMapped(address, span: 8) { return .outsideRAM }
        if image.size > 0 && address < image.base &+ image.size && image.base < address &+ 8 { return .insideKeel }
        return nil
    }
}
