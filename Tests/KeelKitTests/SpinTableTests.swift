import Foundation
import KeelBoards
import KeelCore
import KeelKit
import KeelMachine
import Testing

/// Spin-table CPUs (`enable-method = "spin-table"`, `cpu-release-addr`): what the reader takes
/// from real Raspberry Pi 4 trees and crafted ones, and which release addresses `MachineCheck`
/// lets the firmware write to.
@Suite("Spin-table CPUs: release addresses from the DTB, and the ones Keel refuses")
struct SpinTableTests {
    typealias Finding = DeviceTreeMachineTests.Finding

    @Test("Debian's bcm2711-rpi-4-b.dtb: four spin-table CPUs released at 0xd8, 0xe0, 0xe8, 0xf0")
    func debianTree() throws {
        let m = try DeviceTreeMachineTests.machine(file: "bcm2711-rpi-4-b.dtb")
        #expect(m.cpuCount == 4 && m.enableMethod == .spinTable)
        #expect((0..<4).map { m.mpidr[$0] } == [0, 1, 2, 3])
        #expect((0..<4).map { m.releaseAddress[$0] } == [0xD8, 0xE0, 0xE8, 0xF0])
        #expect(m.powerWatchdog == 0xFE10_0000, "the PM block at 0x7e100000 on the VPU bus")

        let (machine, findings, differences) = DeviceTreeMachineTests.resolve(m, raspberryPi4)
        let r = try #require(machine)
        #expect(r.cpuStart == .spinTable && r.cpuCount == 4 && !r.hasPSCI)
        #expect((1..<4).map { r.releaseAddress[$0] } == [0xE0, 0xE8, 0xF0])
        #expect(r.powerWatchdog == 0xFE10_0000)
        #expect(findings == [Finding(note: .noMemory, value: 0), Finding(note: .noPSCI, value: 4),
                             Finding(note: .stdoutWithoutDriver, value: 0xFE20_1000)])
        #expect(differences.isEmpty, "\(differences)")
    }

    @Test("QEMU 10's raspi4b tree (its /memory filled in): 960 MiB from 0, four CPUs from the spin table")
    func qemuTree() throws {
        let m = try DeviceTreeMachineTests.machine(file: "qemu-raspi4b.dtb")
        #expect(m.memoryCount == 1 && m.memory[0] == .init(base: 0, size: 0x3C00_0000))
        let (machine, findings, _) = DeviceTreeMachineTests.resolve(m, raspberryPi4)
        let r = try #require(machine)
        #expect(r.ramBase == 0 && r.ramSize == 0x3C00_0000)
        #expect(r.cpuStart == .spinTable && r.cpuCount == 4)
        #expect(!findings.contains { $0.note == .releaseAddressRefused })
    }

    /// Debian's tree with CPU `cpu`'s release address replaced.
    static func withRelease(_ address: UInt64, cpu: Int = 2) throws -> DeviceTreeMachine {
        var m = try DeviceTreeMachineTests.machine(file: "bcm2711-rpi-4-b.dtb")
        m.releaseAddress[cpu] = address
        return m
    }

    @Test("A release address outside DRAM, inside Keel's image, unaligned or missing: not written, that CPU and the later ones left off",
          arguments: [
            (UInt64(0xFE20_1000), MachineNote.ReleaseProblem.outsideRAM),       // the PL011: a device, not RAM
            (UInt64(0x3B40_0000), .outsideRAM),                                 // the first byte past the board's DRAM
            (UInt64(0x3B3F_FFFC), .unaligned),                                  // straddles the end, and unaligned
            (UInt64(0x8_0000), .insideKeel),                                    // Keel's Image header
            (UInt64(0x8_0000 + 0x1_0000), .insideKeel),                         // Keel's text
            (UInt64(0xE4), .unaligned),
            (UInt64(0), .missing),
          ])
    func refused(address: UInt64, problem: MachineNote.ReleaseProblem) throws {
        let m = try Self.withRelease(address)
        var ram = Machine(board: raspberryPi4)
        ram.ramSize = raspberryPi4.ramSize
        let image = DeviceTreeMachine.Region(base: raspberryPi4.loadAddress, size: 0x20_0000)
        #expect(MachineCheck.releaseAddressProblem(address, ram: ram, image: image) == problem)
        var findings: [Finding] = []
        let machine = MachineCheck.resolve(m, board: raspberryPi4, imageBase: raspberryPi4.loadAddress, imageSize: 0x20_0000,
                                           cpuHasGICv3: false) { findings.append(Finding(note: $0, value: $1)) }
        let r = try #require(machine, "a bad release address costs CPUs, not the boot")
        #expect(r.cpuCount == 2, "CPUs 0 and 1 only")
        #expect(r.releaseAddress[2] == 0 && r.releaseAddress[3] == 0, "nothing kept for Keel to write")
        #expect(findings.contains(Finding(note: .releaseAddressRefused, value: address)))
    }

    @Test("Release addresses next to Keel's image, and at the end of DRAM, are accepted")
    func accepted() throws {
        var ram = Machine(board: raspberryPi4)
        ram.ramSize = 0x3C00_0000
        let image = DeviceTreeMachine.Region(base: 0x8_0000, size: 0x4_0000)
        #expect(MachineCheck.releaseAddressProblem(0x8_0000 - 8, ram: ram, image: image) == nil)
        #expect(MachineCheck.releaseAddressProblem(0xC_0000, ram: ram, image: image) == nil)
        #expect(MachineCheck.releaseAddressProblem(0x3C00_0000 - 8, ram: ram, image: image) == nil)
        #expect(MachineCheck.releaseAddressProblem(0x3C00_0000 - 4, ram: ram, image: image) == .unaligned)
        #expect(MachineCheck.releaseAddressProblem(UInt64.max - 7, ram: ram, image: image) == .outsideRAM)
    }

    /// A tree with `cpus` CPUs, each with its enable-method and release address (nil: none).
    static func crafted(_ cpus: [(method: String, release: UInt64?)], psci: Bool) throws -> [UInt8] {
        var root = FDTNode("")
        root.set("#address-cells", u32: 2)
        root.set("#size-cells", u32: 2)
        var memory = FDTNode("memory@0")
        memory.set("device_type", string: "memory")
        memory.set("reg", u32: 0, 0, 0, 0x4000_0000)
        root.add(memory)
        var list = FDTNode("cpus")
        list.set("#address-cells", u32: 1)
        list.set("#size-cells", u32: 0)
        for (i, cpu) in cpus.enumerated() {
            var node = FDTNode("cpu@\(i)")
            node.set("device_type", string: "cpu")
            node.set("compatible", string: "arm,cortex-a72")
            node.set("reg", u32: UInt32(i))
            node.set("enable-method", string: cpu.method)
            if let release = cpu.release { node.set("cpu-release-addr", u32: UInt32(release >> 32), UInt32(truncatingIfNeeded: release)) }
            list.add(node)
        }
        root.add(list)
        if psci {
            var node = FDTNode("psci")
            node.set("compatible", strings: "arm,psci-1.0", "arm,psci-0.2")
            node.set("method", string: "smc")
            root.add(node)
        }
        return try FDTWriter.blob(root: root)
    }

    @Test("Crafted trees: a spin table with PSCI for power-off, one CPU without a release address, PSCI CPUs")
    func craftedTrees() throws {
        // Spin-table CPUs beside a PSCI node: CPUs from the table, PSCI kept (SYSTEM_OFF).
        let spin = try #require(DeviceTreeMachineTests.machine(try Self.crafted(
            [("spin-table", 0xD8), ("spin-table", 0xE0), ("spin-table", 0x1_0000_0000 - 8)], psci: true)))
        #expect((0..<3).map { spin.releaseAddress[$0] } == [0xD8, 0xE0, 0xFFFF_FFF8])
        let (both, f1, _) = DeviceTreeMachineTests.resolve(spin, raspberryPi4)
        #expect(both?.cpuStart == .spinTable && both?.hasPSCI == true)
        // CPU 2's address is past the tree's 1 GiB of memory: refused, CPUs 0 and 1 run.
        #expect(both?.cpuCount == 2)
        #expect(f1 == [Finding(note: .releaseAddressRefused, value: 0xFFFF_FFF8), Finding(note: .noGIC, value: raspberryPi4.gic.distributor),
                       Finding(note: .noUART, value: raspberryPi4.uartBase)])
        // A CPU without cpu-release-addr.
        let missing = try #require(DeviceTreeMachineTests.machine(try Self.crafted([("spin-table", 0xD8), ("spin-table", nil)], psci: false)))
        #expect(missing.releaseAddress[1] == 0)
        #expect(DeviceTreeMachineTests.resolve(missing, raspberryPi4).0?.cpuCount == 1)
        // PSCI CPUs: no release addresses used, CPU_ON as before.
        let psci = try #require(DeviceTreeMachineTests.machine(try Self.crafted([("psci", nil), ("psci", nil)], psci: true)))
        #expect(psci.enableMethod == .psci)
        let (machine, _, _) = DeviceTreeMachineTests.resolve(psci, raspberryPi4)
        #expect(machine?.cpuStart == .psci && machine?.cpuCount == 2)
    }
}
