import Foundation
import KeelBoards
import KeelCore
import KeelMachine

/// A device tree a person hands Keel's tools (`keel run --dtb`, `keel dtb`): read, checked, and
/// described the way the firmware reads it at boot (`DeviceTreeMachine`, `MachineCheck`).
public enum BootDeviceTree {
    /// The blob in `path`; an error naming the file when it is missing or not a DTB.
    public static func read(_ path: String) throws -> [UInt8] {
        let bytes = [UInt8](try InputFile.read(path, what: "device tree"))
        let valid = DeviceTreeMachine(bytes.span) != nil
        guard valid else {
            throw KeelError("\(path) is not a device tree blob (no FDT header of version 17, or a damaged structure block); `dtc -I dts -O dtb` makes one")
        }
        return bytes
    }

    public static func check(_ path: String) throws { _ = try read(path) }

    /// What Keel would make of `bytes` on `board`: the DTB's view, then the machine Keel would
    /// drive, the notes, and every field where the board file says otherwise. `refused` is set
    /// when Keel would not run there.
    public static func describe(_ bytes: [UInt8], board: Board, boardGICv2: Board? = nil) -> (lines: [String], refused: Bool) {
        do {
            guard let dtb = DeviceTreeMachine(bytes.span) else {
                return (["not a device tree blob"], true)
            }
            var lines = describe(dtb)
            var notes: [String] = []
            var refused = false
            // The host cannot ask the board's CPU (ID_AA64PFR0_EL1.GIC): take it to match its GIC.
            // Keel's image: from the load address, at most the 2 MiB block Keel's EL2 map gives it.
            let machine = MachineCheck.resolve(dtb, board: board, imageBase: board.loadAddress, imageSize: 0x20_0000, cpuHasGICv3: dtb.gic == .v3 || board.gicVersion == 3) { note, value in
                let number = note.isCount ? String(value) : hex(value)
                notes.append("\(note.isRefusal ? "ERROR: " : "")\(string(note.message)) \(number)")
                refused = refused || note.isRefusal
            }
            lines += notes
            guard let machine else { return (lines + ["Keel cannot run on this machine as \(board.name)"], true) }
            let expected = Machine(board: machine.gicVersion == 2 ? boardGICv2 ?? board : board)
            for field in MachineField.allCases where field.differs(in: machine, from: expected) {
                let show = { (v: UInt64?) in field.isCount ? String(v ?? 0) : hex(v ?? 0) }
                lines.append("\(string(field.name)) \(show(field.value(in: machine))); the board file says \(show(field.value(in: expected)))")
            }
            lines.append("Keel on \(board.name): \(machine.ramSize >> 20) MiB RAM at \(hex(machine.ramBase)), \(machine.cpuCount) CPU\(machine.cpuCount == 1 ? "" : "s")"
                + "\(machine.cpuStart == .spinTable ? " by spin table" : machine.hasPSCI ? " by PSCI" : "")\(machine.hasPSCI ? "" : ", no PSCI"), GICv\(machine.gicVersion) at \(hex(machine.gic.distributor)), console at \(hex(machine.uartBase))")
            return (lines, refused)
        }
    }

    /// The DTB's own word, before any board file.
    static func describe(_ m: DeviceTreeMachine) -> [String] {
        let memory = (0..<m.memoryCount).map { "\(m.memory[$0].size >> 20) MiB at \(hex(m.memory[$0].base))" }
        let mpidrs = (0..<min(m.cpuCount, DeviceTreeMachine.cpuCapacity)).map { hex(m.mpidr[$0]) }
        let releases = (0..<min(m.cpuCount, DeviceTreeMachine.cpuCapacity)).map { hex(m.releaseAddress[$0]) }
        let methods: [DeviceTreeMachine.EnableMethod: String] = [.none: "none", .psci: "psci", .spinTable: "spin-table", .other: "other"]
        var gic = "none"
        switch m.gic {
        case .none: break
        case .v3: gic = "GICv3, GICD \(hex(m.gicDistributor)), GICR \(hex(m.gicRedistributors))"
        case .v2: gic = "GICv2, GICD \(hex(m.gicDistributor)), GICC \(hex(m.gicCPUInterface)) (\(m.gicCPUInterfaceSize >> 10) KiB), "
            + "GICH \(hex(m.gicHypervisorControl)), GICV \(hex(m.gicVirtualCPUInterface)) (\(m.gicVirtualCPUInterfaceSize >> 10) KiB)"
        }
        if m.gic != .none { gic += ", maintenance INTID \(m.gicMaintenanceINTID)" }
        let kinds: [DeviceTreeMachine.UARTKind: String] = [.none: "none", .pl011: "PL011", .cadence: "Cadence", .imx: "i.MX", .other: "no Keel driver"]
        let uarts = (0..<m.uartCount).map { "\(kinds[m.uarts[$0].kind]!) at \(hex(m.uarts[$0].base))" }
        let psci = m.psciVersion == 0 ? "none" : "\(m.psciVersion >> 16).\(m.psciVersion & 0xFFFF) over \(m.psciMethod == .smc ? "SMC" : m.psciMethod == .hvc ? "HVC" : "?")"
        return [
            "memory: \(memory.isEmpty ? "none" : memory.joined(separator: ", "))",
            "CPUs: \(m.cpuCount) (MPIDR \(mpidrs.joined(separator: " "))), enable-method \(methods[m.enableMethod]!)"
                + (m.enableMethod == .spinTable ? ", cpu-release-addr \(releases.joined(separator: " "))" : ""),
            "GIC: \(gic)",
            "stdout: \(m.stdout.kind == .none ? "none" : "\(kinds[m.stdout.kind]!) at \(hex(m.stdout.base))"); UARTs: \(uarts.isEmpty ? "none" : uarts.joined(separator: ", "))",
            "PSCI: \(psci)",
            "timer INTIDs: \((0..<4).map { String(m.timerINTIDs[$0]) }.joined(separator: " "))",
        ]
    }

    private static func string(_ s: StaticString) -> String { s.withUTF8Buffer { String(decoding: $0, as: UTF8.self) } }
}
