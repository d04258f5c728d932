import Foundation
import KeelBoards
import Testing
@testable import KeelKit

@Suite("Board data and keel boards")
struct BoardTests {
    @Test("every board's devices are inside its address map and do not overlap each other or the GIC",
          arguments: BoardCatalog.all.map(\.name))
    func devicesAreConsistent(_ name: String) throws {
        let known = try #require(BoardCatalog.named(name))
        let board = known.board
        let devices = known.deviceList
        #expect(devices.count >= 5)
        // Keel's console is one of the board's devices and is marked as Keel's.
        let console = try #require(devices.first { $0.base == board.uartBase })
        #expect(console.hypervisorOwned)
        #expect(devices.filter(\.hypervisorOwned).count == 1)
        let gicFrames = [board.gic.distributor, board.gic.cpuInterface, board.gic.hypervisorControl, board.gic.virtualCPUInterface]
        for (i, a) in devices.enumerated() {
            let ra = MemoryRange(base: a.base, size: a.size)
            #expect(a.size > 0)
            #expect(!ra.overlaps(MemoryRange(base: board.ramBase, size: board.ramSize)), "\(a.name) in RAM")
            for frame in gicFrames { #expect(!ra.overlaps(MemoryRange(base: frame, size: 0x1000)), "\(a.name) on the GIC") }
            for b in devices[..<i] {
                #expect(!ra.overlaps(MemoryRange(base: b.base, size: b.size)), "\(a.name) overlaps \(b.name)")
            }
            if a.intid != 0 { #expect(a.intid >= 32 && a.intid + a.interruptCount <= 1020, "\(a.name): SPIs only") }
        }
        #expect(board.timers.virtual == 27 && board.timers.physical == 30)
        #expect(board.gic.maintenanceINTID == 25)
        #expect(board.loadAddress == (board.ramBase & ~0x1F_FFFF) + board.textOffset)
    }

    @Test("the GIC version: v3 for qemu-virt, GIC-400 (v2) elsewhere")
    func gicVersions() {
        #expect(qemuVirt.gicVersion == 3)
        #expect(qemuVirtGICv2.gicVersion == 2)
        #expect(xlnxZCU102.gicVersion == 2 && xlnxZCU102.uartKind == .cadence && xlnxZCU102.maxCPUs == 4)
        #expect(raspberryPi4.gicVersion == 2 && raspberryPi4.uartKind == .pl011 && raspberryPi4.loadAddress == 0x80000)
        #expect(imx8mpEVK.gicVersion == 3 && imx8mpEVK.uartKind == .imx && imx8mpEVK.loadAddress == 0x4008_0000)
    }

    @Test("QEMU's machine list decides which boards run here")
    func listing() {
        let help = """
            Supported machines are:
            virt                 QEMU 7.2 ARM Virtual Machine (alias of virt-7.2)
            xlnx-zcu102          Xilinx ZynqMP ZCU102 board with 4xA53s and 2xR5Fs based on the value of smp
            """
        let machines = BoardListing.machineTypes(helpOutput: help)
        #expect(machines == ["virt", "xlnx-zcu102"])
        let listing = BoardListing(machines: machines)
        #expect(listing.rows.map(\.qemu) == [.yes, .yes, .yes, .machineMissing("raspi4b"), .machineMissing("imx8mp-evk")])
        #expect(listing.text.contains("raspberry-pi-4  4 x cortex-a72    v2    PL011 0xfe201000        0x80000     no (this QEMU has no raspi4b machine)"))
        #expect(BoardListing(machines: nil).rows.allSatisfy { $0.qemu == .noQEMU("qemu-system-aarch64") })
    }
}
