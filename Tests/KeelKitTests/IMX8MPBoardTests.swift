import Foundation
import KeelBoards
import KeelCore
import KeelMachine
import Testing
@testable import KeelKit

/// The i.MX 8M Plus EVK's board file against Debian's `freescale/imx8mp-evk.dtb`
/// (DeviceTrees/README.md): what the firmware's DTB reader makes of it, the cross-check, and
/// every device of `imx8mpEVKDevices` found in the tree as the file describes it.
@Suite("imx8mp-evk: the board file and Debian's DTB")
struct IMX8MPBoardTests {
    static func blob() throws -> [UInt8] {
        try DeviceTreeMachineTests.blob("imx8mp-evk.dtb")
    }

    @Test("the DTB reader: two DRAM ranges, 4 A53s by PSCI 1.0 over SMC, GICv3, UART2 the stdout i.MX UART")
    func tree() throws {
        let m = try DeviceTreeMachineTests.machine(file: "imx8mp-evk.dtb")
        #expect(m.memoryCount == 2)
        #expect(m.memory[0] == .init(base: 0x4000_0000, size: 0xC000_0000))
        #expect(m.memory[1] == .init(base: 0x1_0000_0000, size: 0xC000_0000))
        #expect(m.cpuCount == 4 && (0..<4).map { m.mpidr[$0] } == [0, 1, 2, 3] && m.enableMethod == .psci)
        #expect(m.gic == .v3 && m.gicDistributor == 0x3880_0000 && m.gicRedistributors == 0x3888_0000)
        #expect(m.gicMaintenanceINTID == 25)
        // "fsl,imx8mp-uart", "fsl,imx6q-uart": an i.MX UART; only UART2 is enabled on the EVK.
        #expect(m.stdout.kind == .imx && m.stdout.base == 0x3089_0000)
        #expect(m.uartCount == 1 && m.uart(.imx)?.base == 0x3089_0000)
        #expect(m.uart(.pl011) == nil)
        #expect(m.psciMethod == .smc && m.psciVersion == 0x1_0000)
        #expect((0..<4).map { m.timerINTIDs[$0] } == [29, 30, 27, 26])
    }

    @Test("the cross-check: the board file agrees with the DTB, Keel's image in the first DRAM range")
    func crossCheck() throws {
        let m = try DeviceTreeMachineTests.machine(file: "imx8mp-evk.dtb")
        let (machine, findings, differences) = DeviceTreeMachineTests.resolve(m, imx8mpEVK)
        #expect(findings.isEmpty && differences.isEmpty, "\(findings) \(differences)")
        let r = try #require(machine)
        #expect(r.fromDTB && r.cpuCount == 4 && r.hasPSCI && r.gicVersion == 3)
        #expect(r.ramBase == 0x4000_0000 && r.ramSize == 0xC000_0000)
        #expect(r.uartBase == 0x3089_0000 && r.gic.redistributors == 0x3888_0000)
        // A firmware with another board's driver finds no UART of its kind here, and says so.
        let (_, pl011Findings, _) = DeviceTreeMachineTests.resolve(m, qemuVirt, imageBase: 0x4008_0000)
        #expect(pl011Findings.contains(.init(note: .noUART, value: qemuVirt.uartBase)), "\(pl011Findings)")
        // The i.MX firmware on a tree whose stdout is a PL011: the i.MX UART it finds, noted.
        var other = m
        other.stdout = .init(kind: .pl011, base: 0x0900_0000)
        let (_, stdoutFindings, _) = DeviceTreeMachineTests.resolve(other, imx8mpEVK)
        #expect(stdoutFindings == [.init(note: .stdoutWithoutDriver, value: 0x3089_0000)])
    }

    @Test("every device of the board file is a node of the DTB: its compatible, its window, its SPIs",
          arguments: (0..<imx8mpEVKDevices.count).map { $0 })
    func device(_ index: Int) throws {
        let device = imx8mpEVKDevices[index]
        let bytes = try Self.blob()
        guard let fdt = FDT(bytes.span) else { Issue.record("no FDT"); return }
        var found = false, compatible = false, size: UInt64 = 0
        var interrupts: [UInt32] = []
        var walk = FDT.Walk(fdt)
        while walk.next() {
            guard let reg = walk.reg(0), reg.address == device.base, walk.property("compatible") != nil else { continue }
            found = true
            compatible = walk.isCompatible(with: device.compatible)
            size = reg.size
            var i = 0
            while let intid = walk.interrupt(i) { interrupts.append(intid); i += 1 }
            break
        }
        #expect(found, "\(device.name): no node at \(String(device.base, radix: 16))")
        #expect(compatible, "\(device.name): not \(device.compatible)")
        #expect(size == device.size, "\(device.name)")
        let expected = (0..<device.interruptCount).map { device.intid + $0 }
        #expect(interrupts.sorted() == expected, "\(device.name): \(interrupts)")
    }

    @Test("the catalog entry: firmware slot, Debian's DTB handed to QEMU, the console on QEMU's second serial port")
    func catalog() throws {
        let known = try #require(BoardCatalog.named("imx8mp-evk"))
        #expect(known.firmwareDirectory == "hyp-imx8mp-evk" && known.qemuDTB == "imx8mp-evk.dtb")
        #expect(known.qemuSerials == ["null", "stdio"] && known.qemuPassesDTB)
        #expect(known.qemuMachineType == "imx8mp-evk")
        #expect(FirmwareSupport.firmwareBoards.contains("imx8mp-evk"))
        #expect(imx8mpEVK.uartKind == .imx && imx8mpEVK.gicVersion == 3 && imx8mpEVK.maxCPUs == 4)
        #expect(imx8mpEVK.loadAddress == 0x4008_0000)
        // The VM, the bundle and Keel stay below the DTB's 32 MiB reserved for the audio DSP.
        let vm = try #require(known.firmwareVM)
        #expect(vm.ramPA + vm.ramSize <= imx8mpEVK.bundlePA && imx8mpEVK.bundlePA + imx8mpEVK.bundleLimit <= 0x9240_0000)
        #expect(BoardListing.uartName(.imx) == "i.MX")
    }

    @Test("Mutated copies of the blob: the reader gives an answer or nil, never a fault", arguments: [31, 32])
    func mutated(seed: UInt64) throws {
        var rng = RandomInputTests.Random(state: seed)
        let original = try Self.blob()
        for _ in 0..<300 {
            var bytes = original
            for _ in 0..<rng.below(8) + 1 { bytes[rng.below(bytes.count)] = rng.byte() }
            if rng.next() % 4 == 0 { bytes.removeLast(rng.below(bytes.count)) }
            if let m = DeviceTreeMachineTests.machine(bytes) {
                #expect(m.memoryCount <= DeviceTreeMachine.memoryCapacity && m.uartCount <= DeviceTreeMachine.uartCapacity)
                _ = DeviceTreeMachineTests.resolve(m, imx8mpEVK)
            }
        }
    }
}
