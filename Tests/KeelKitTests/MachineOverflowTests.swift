import Foundation
import KeelBoards
import KeelCore
import KeelMachine
import Testing

/// `MachineCheck.resolve` on DTB values that would wrap a sum (issue 17): a GICv2 CPU interface
/// of 128 KiB at 0xffffffffffff8000 (its aliased-frame offset wrapped: a trap at boot and in
/// `keel dtb`), a memory node whose base + size wraps (accepted as 17592186044415 MiB).
@Suite("Boot DTB: sums at the edge")
struct MachineOverflowTests {
    static func v2() throws -> DeviceTreeMachine { try DeviceTreeMachineTests.machine(file: "qemu-virt-gicv2-smp4.dtb") }

    static func notes(_ m: DeviceTreeMachine) -> (Machine?, [DeviceTreeMachineTests.Finding]) {
        let (machine, findings, _) = DeviceTreeMachineTests.resolve(m, qemuVirtGICv2)
        return (machine, findings)
    }

    @Test("GICC of 128 KiB at 0xffffffffffff8000 is refused; the last aliased frame that fits the EL2 map is not")
    func cpuInterface() throws {
        var m = try Self.v2()
        m.gicCPUInterface = 0xFFFF_FFFF_FFFF_8000
        m.gicCPUInterfaceSize = 0x2_0000
        let (refused, findings) = Self.notes(m)
        #expect(refused == nil)
        #expect(findings == [.init(note: .deviceOutsideMap, value: 0xFFFF_FFFF_FFFF_8000)] && findings[0].note.isRefusal)
        // +0xF000, then two 4 KiB pages: the frame may start 0x11000 below the map's end, not a byte later.
        m.gicCPUInterface = MachineCheck.mappedEnd - 0x1_1000
        #expect(Self.notes(m).0?.gic.cpuInterface == MachineCheck.mappedEnd - 0x2000)
        m.gicCPUInterface += 1
        #expect(Self.notes(m).0 == nil)
    }

    @Test("GICV of 128 KiB at the top is refused (the same sum); so are GICD, GICH and the UART past the EL2 map")
    func otherFrames() throws {
        var m = try Self.v2()
        m.gicVirtualCPUInterface = 0xFFFF_FFFF_FFFF_8000
        m.gicVirtualCPUInterfaceSize = 0x2_0000
        #expect(Self.notes(m).1 == [.init(note: .deviceOutsideMap, value: 0xFFFF_FFFF_FFFF_8000)])
        m = try Self.v2()
        m.gicDistributor = MachineCheck.mappedEnd - 0x1_0000
        #expect(Self.notes(m).0 != nil)
        m.gicDistributor += 0x1000
        #expect(Self.notes(m).1 == [.init(note: .deviceOutsideMap, value: MachineCheck.mappedEnd - 0xF000)])
        m = try Self.v2()
        m.gicHypervisorControl = MachineCheck.mappedEnd
        #expect(Self.notes(m).0 == nil)
        m = try Self.v2()
        m.stdout.base = MachineCheck.mappedEnd - 0x1000
        #expect(Self.notes(m).0?.uartBase == MachineCheck.mappedEnd - 0x1000)
        m.stdout.base = .max
        #expect(Self.notes(m).1 == [.init(note: .deviceOutsideMap, value: .max)])
        // GICv3: the redistributors Keel walks (64 frames of 128 KiB).
        var v3 = try DeviceTreeMachineTests.machine(file: "qemu-virt-gicv3-smp4.dtb")
        v3.gicRedistributors = MachineCheck.mappedEnd - 64 * 0x2_0000
        #expect(DeviceTreeMachineTests.resolve(v3, qemuVirt).0 != nil)
        v3.gicRedistributors += 0x2_0000
        #expect(DeviceTreeMachineTests.resolve(v3, qemuVirt).1.map(\.note) == [.deviceOutsideMap])
    }

    @Test("memory of base 0x1000, size 0xFFFFFFFFFFFFF000 (base + size = 2^64) is refused; a byte less is not; so is any other range that wraps")
    func memoryWraps() throws {
        var m = try Self.v2()
        m.memory[0] = .init(base: 0x1000, size: 0xFFFF_FFFF_FFFF_F000)
        let (refused, findings) = Self.notes(m)
        #expect(refused == nil)
        #expect(findings == [.init(note: .memoryWraps, value: 0x1000)] && findings[0].note.isRefusal)
        m.memory[0].size -= 1
        let machine = try #require(Self.notes(m).0)
        #expect(machine.ramEnd == .max)
        // Any range that wraps, not only the one holding Keel's image.
        m = try Self.v2()
        m.memory[1] = .init(base: 0x1_0000_0000, size: 0xFFFF_FFFF_0000_0000)
        m.memoryCount = 2
        #expect(Self.notes(m).1 == [.init(note: .memoryWraps, value: 0x1_0000_0000)])
        m.memory[1].size -= 1
        #expect(Self.notes(m).0?.ramBase == 0x4000_0000)
    }
}
