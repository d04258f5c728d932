import Foundation
import KeelBoards
import KeelCore
import KeelMachine
import Testing

/// The DTB reader (`DeviceTreeMachine`) on real blobs, QEMU's and Debian's (DeviceTrees/README.md),
/// and the cross-check against the board files (`MachineCheck`).
@Suite("Boot DTB: what it says, and the board file as the cross-check")
struct DeviceTreeMachineTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("DeviceTrees")

    static func blob(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
    }

    /// Reads `bytes` as the firmware does.
    static func machine(_ bytes: [UInt8]) -> DeviceTreeMachine? {
        DeviceTreeMachine(bytes.span)
    }

    static func machine(file: String) throws -> DeviceTreeMachine {
        try #require(machine(try blob(file)), "\(file) did not parse")
    }

    struct Finding: Equatable {
        var note: MachineNote
        var value: UInt64
    }

    /// The machine, its notes, and the fields in which it differs from the board file.
    static func resolve(_ dtb: DeviceTreeMachine, _ board: Board, imageBase: UInt64? = nil, gicv3: Bool? = nil)
        -> (Machine?, [Finding], [MachineField]) {
        var findings: [Finding] = []
        let machine = MachineCheck.resolve(dtb, board: board, imageBase: imageBase ?? board.loadAddress,
                                           cpuHasGICv3: gicv3 ?? (board.gicVersion == 3)) { findings.append(Finding(note: $0, value: $1)) }
        let expected = Machine(board: board)
        let differences = machine.map { m in MachineField.allCases.filter { $0.differs(in: m, from: expected) } } ?? []
        return (machine, findings, differences)
    }

    static func text(_ s: StaticString) -> String { s.withUTF8Buffer { String(decoding: $0, as: UTF8.self) } }

    @Test("QEMU virt, GICv3: memory, 4 CPUs, GICv3 frames, PL011, PSCI 1.0 over SMC, timers")
    func qemuVirtV3Tree() throws {
        let m = try Self.machine(file: "qemu-virt-gicv3-smp4.dtb")
        #expect(m.memoryCount == 1)
        #expect(m.memory[0] == .init(base: 0x4000_0000, size: 0x4000_0000))
        #expect(m.cpuCount == 4)
        #expect((0..<4).map { m.mpidr[$0] } == [0, 1, 2, 3])
        #expect(m.enableMethod == .psci)
        #expect(m.gic == .v3)
        #expect(m.gicDistributor == 0x0800_0000)
        #expect(m.gicRedistributors == 0x080A_0000)
        #expect(m.gicMaintenanceINTID == 25)
        #expect(m.stdout.kind == .pl011 && m.stdout.base == 0x0900_0000)
        #expect(m.psciMethod == .smc && m.psciVersion == 0x1_0000)
        #expect((0..<4).map { m.timerINTIDs[$0] } == [29, 30, 27, 26])

        let (machine, findings, differences) = Self.resolve(m, qemuVirt)
        #expect(findings.isEmpty && differences.isEmpty, "\(findings) \(differences)")
        let r = try #require(machine)
        #expect(r.fromDTB && r.cpuCount == 4 && r.hasPSCI && r.gicVersion == 3)
        #expect(r.ramBase == 0x4000_0000 && r.ramSize == 0x4000_0000)
        #expect(r.uartBase == 0x0900_0000)
    }

    @Test("QEMU virt, GICv2: the CPU interface, GICH and GICV frames agree with the board file")
    func qemuVirtV2Tree() throws {
        let m = try Self.machine(file: "qemu-virt-gicv2-smp4.dtb")
        #expect(m.gic == .v2)
        #expect(m.gicDistributor == 0x0800_0000)
        #expect(m.gicCPUInterface == 0x0801_0000)
        #expect(m.gicHypervisorControl == 0x0803_0000)
        #expect(m.gicVirtualCPUInterface == 0x0804_0000)
        #expect(m.gicMaintenanceINTID == 25)
        let (machine, findings, differences) = Self.resolve(m, qemuVirtGICv2)
        #expect(findings.isEmpty && differences.isEmpty, "\(findings) \(differences)")
        #expect(machine?.gic.virtualCPUInterface == 0x0804_0000)
        // The GICv3 board file against a GICv2 machine: the version differs (the frames are
        // the same addresses in both board files).
        let (other, notes, against) = Self.resolve(m, qemuVirt, gicv3: false)
        #expect(other?.gicVersion == 2 && notes.isEmpty)
        #expect(against == [.gicVersion])
        var moved = m
        moved.gicDistributor = 0x0900_0000
        moved.gicMaintenanceINTID = 26
        #expect(Self.resolve(moved, qemuVirtGICv2).2 == [.gicDistributor, .gicMaintenanceINTID])
    }

    @Test("ZCU102 (Debian's DTB): two DDR ranges, GIC-400 with aliased 128 KiB frames, Cadence UART, PSCI 0.2")
    func zcu102Tree() throws {
        let m = try Self.machine(file: "zynqmp-zcu102-rev1.0.dtb")
        #expect(m.memoryCount == 2)
        #expect(m.memory[0] == .init(base: 0, size: 0x8000_0000))
        #expect(m.memory[1] == .init(base: 0x8_0000_0000, size: 0x8000_0000))
        #expect(m.cpuCount == 4 && m.enableMethod == .psci)
        #expect(m.gic == .v2)
        #expect(m.gicDistributor == 0xF901_0000)
        #expect(m.gicCPUInterface == 0xF902_0000 && m.gicCPUInterfaceSize == 0x2_0000)
        #expect(m.gicHypervisorControl == 0xF904_0000)
        #expect(m.gicVirtualCPUInterface == 0xF906_0000 && m.gicVirtualCPUInterfaceSize == 0x2_0000)
        #expect(m.stdout.kind == .cadence && m.stdout.base == 0xFF00_0000)
        #expect(m.uartCount == 2)
        #expect(m.psciMethod == .smc && m.psciVersion == 0x2)
        // The 8 KiB frames at +0xF000, as the board file has them: no disagreement.
        let (machine, findings, differences) = Self.resolve(m, xlnxZCU102)
        #expect(findings.isEmpty && differences.isEmpty, "\(findings) \(differences)")
        #expect(machine?.gic.cpuInterface == 0xF902_F000 && machine?.gic.virtualCPUInterface == 0xF906_F000)
        #expect(machine?.ramBase == 0 && machine?.ramSize == 0x8000_0000)
    }

    @Test("Raspberry Pi 4 (Debian's DTB): addresses through /soc's ranges, spin-table CPUs (SpinTableTests), no PSCI, stdout on the mini UART")
    func raspberryPi4Tree() throws {
        let m = try Self.machine(file: "bcm2711-rpi-4-b.dtb")
        #expect(m.memoryCount == 0, "the Pi firmware fills in the memory node")
        #expect(m.cpuCount == 4 && m.enableMethod == .spinTable)
        #expect(m.gic == .v2)
        #expect(m.gicDistributor == 0xFF84_1000)
        #expect(m.gicCPUInterface == 0xFF84_2000 && m.gicCPUInterfaceSize == 0x2000)
        #expect(m.gicHypervisorControl == 0xFF84_4000)
        #expect(m.gicVirtualCPUInterface == 0xFF84_6000)
        #expect(m.stdout.kind == .other && m.stdout.base == 0xFE21_5040, "serial1: the mini UART at 0x7e215040 on the VPU bus")
        #expect(m.uart(.pl011)?.base == 0xFE20_1000)
        #expect(m.psciVersion == 0)

        let (machine, findings, differences) = Self.resolve(m, raspberryPi4)
        let r = try #require(machine)
        #expect(r.cpuCount == 4 && r.cpuStart == .spinTable && !r.hasPSCI)
        #expect(r.uartBase == 0xFE20_1000 && r.gic.distributor == 0xFF84_1000)
        #expect(findings == [Finding(note: .noMemory, value: 0), Finding(note: .noPSCI, value: 4),
                             Finding(note: .stdoutWithoutDriver, value: 0xFE20_1000)])
        #expect(differences.isEmpty, "the board file agrees with Debian's DTB: \(differences)")
        #expect(findings.allSatisfy { !$0.note.isRefusal })
    }

    @Test("A refusal when no memory range holds Keel, or a GICv3 without its system registers")
    func refusals() throws {
        let m = try Self.machine(file: "qemu-virt-gicv3-smp4.dtb")
        let (outside, f1, _) = Self.resolve(m, qemuVirt, imageBase: 0x8000_0000)
        #expect(outside == nil)
        #expect(f1 == [Finding(note: .imageOutsideMemory, value: 0x8000_0000)] && f1[0].note.isRefusal)
        let (noSysregs, f2, _) = Self.resolve(m, qemuVirt, gicv3: false)
        #expect(noSysregs == nil)
        #expect(f2 == [Finding(note: .gicv3WithoutSystemRegisters, value: 0x0800_0000)])
        var bare = try Self.machine(file: "qemu-virt-gicv2-smp4.dtb")
        bare.gicHypervisorControl = 0
        #expect(Self.resolve(bare, qemuVirtGICv2).1 == [Finding(note: .gicv2WithoutVirtualization, value: 0x0800_0000)])
        // Every message names its subject; refusals are the last five.
        for raw in 0...UInt8(16) {
            let note = try #require(MachineNote(rawValue: raw))
            #expect(!Self.text(note.message).isEmpty)
            #expect(note.isRefusal == (raw >= 12))
        }
    }

    @Test("CPUs: MPIDRs Keel cannot number by index stop the count; more CPUs than the board has are cut")
    func cpuNumbering() throws {
        var m = try Self.machine(file: "qemu-virt-gicv3-smp4.dtb")
        m.mpidr[2] = 0x100  // a second cluster
        let (machine, findings, _) = Self.resolve(m, qemuVirt)
        #expect(machine?.cpuCount == 2)
        #expect(findings == [Finding(note: .cpusUnnumbered, value: 2)])
        m = try Self.machine(file: "qemu-virt-gicv3-smp4.dtb")
        var small = qemuVirt
        small.maxCPUs = 3
        #expect(Self.resolve(m, small).0?.cpuCount == 3)
        // PSCI over HVC cannot reach firmware from EL2.
        m.psciMethod = .hvc
        let (hvc, hvcFindings, _) = Self.resolve(m, qemuVirt)
        #expect(hvc?.cpuCount == 1 && hvc?.hasPSCI == false)
        #expect(hvcFindings == [Finding(note: .psciNotSMC, value: 4)])
        m.psciMethod = .smc
        m.psciVersion = 0x1
        #expect(Self.resolve(m, qemuVirt).1 == [Finding(note: .psciTooOld, value: 4)])
        m.psciVersion = 0x2
        m.enableMethod = .other
        #expect(Self.resolve(m, qemuVirt).0?.cpuCount == 1)
        #expect(Self.resolve(m, qemuVirt).1 == [Finding(note: .cpusNotPSCI, value: 4)])
        m.cpuCount = 0
        #expect(Self.resolve(m, qemuVirt).0?.cpuCount == 8)
        #expect(Self.resolve(m, qemuVirt).1 == [Finding(note: .noCPUs, value: 8)])
    }

    @Test("Memory from QEMU's -m, a DRAM base the board file does not expect")
    func memory() throws {
        var m = try Self.machine(file: "qemu-virt-gicv3-smp4.dtb")
        m.memory[0] = .init(base: 0x4000_0000, size: 0x2000_0000)
        #expect(Self.resolve(m, qemuVirt).0?.ramSize == 0x2000_0000)
        m.memory[0] = .init(base: 0x4008_0000, size: 0x2000_0000)
        let (machine, findings, differences) = Self.resolve(m, qemuVirt)
        #expect(machine?.ramBase == 0x4008_0000 && findings.isEmpty)
        #expect(differences == [.ramBase])
    }

    @Test("Path lookups: aliases, unit addresses, the root; addresses only through ranges")
    func lookups() throws {
        let bytes = try Self.blob("bcm2711-rpi-4-b.dtb")
        do {
            guard let fdt = FDT(bytes.span) else { Issue.record("no FDT"); return }
            var alias: String? = nil
            if let value = fdt.property(path: "/aliases", name: "serial0") {
                alias = String(decoding: (0..<value.count).map { value[$0] }.prefix { $0 != 0 }, as: UTF8.self)
            }
            #expect(alias == "/soc/serial@7e201000")
            // (A walk borrows the blob: what each says is taken out before #expect sees it.)
            let serial = fdt.walk(to: "/soc/serial@7e201000")?.reg(0)?.address
            #expect(serial == 0xFE20_1000)
            let primecell = fdt.walk(to: "/soc/serial")?.isCompatible(with: "arm,primecell")
            #expect(primecell == true)
            let rootDepth = fdt.walk(to: "/")?.depth
            #expect(rootDepth == 0)
            var found = true
            if fdt.walk(to: "/no/such/node") == nil { found = false }
            #expect(!found)
            // /soc's children are on the VPU bus (0x7e000000 is 0xfe000000 for the CPU); /soc itself
            // has no reg; a child of a bus without `ranges` (an SDIO function) has no CPU address.
            var socHasReg: Bool? = nil
            if let soc = fdt.walk(to: "/soc") { socHasReg = soc.rawReg(0) != nil }
            #expect(socHasReg == false)
            let serialRaw = fdt.walk(to: "/soc/serial@7e201000")?.rawReg(0)?.address
            #expect(serialRaw == 0x7E20_1000)
            var wifiRaw: UInt64? = nil
            var wifiMapped = true
            if let wifi = fdt.walk(to: "/soc/mmc@7e300000/wifi@1") {
                wifiRaw = wifi.rawReg(0)?.address
                wifiMapped = wifi.reg(0) != nil
            }
            #expect(wifiRaw == 1)
            #expect(!wifiMapped, "an SDIO function number is not a CPU address")
            var walk = FDT.Walk(fdt)
            var nodes = 0
            while walk.next() { nodes += 1 }
            #expect(!walk.malformed && nodes > 100)
        }
    }

    @Test("Mutated real blobs: the reader gives an answer or nil, never a fault", arguments: [21, 22, 23])
    func mutated(seed: UInt64) throws {
        var rng = RandomInputTests.Random(state: seed)
        for file in ["qemu-virt-gicv3-smp4.dtb", "zynqmp-zcu102-rev1.0.dtb", "bcm2711-rpi-4-b.dtb"] {
            let original = try Self.blob(file)
            for _ in 0..<300 {
                var bytes = original
                for _ in 0..<rng.below(8) + 1 {
                    let at = rng.below(bytes.count)
                    bytes[at] = rng.byte()
                }
                if rng.next() % 4 == 0 { bytes.removeLast(rng.below(bytes.count)) }
                if let m = Self.machine(bytes) {
                    #expect(m.memoryCount <= DeviceTreeMachine.memoryCapacity && m.uartCount <= DeviceTreeMachine.uartCapacity)
                    _ = Self.resolve(m, qemuVirt)
                }
            }
        }
    }
}
