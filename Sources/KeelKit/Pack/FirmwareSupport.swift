import KeelBoards
import KeelCore

/// What today's firmware can run, checked after `ConfigValidator` (which checks what the board
/// allows): one VM, on a board the firmware is built for, in the VM slot the firmware sets up
/// (the board's `firmwareVM`, on every board so far 256 MiB at IPA 0x4000_0000, the console at
/// 0x0900_0000), its vCPUs on
/// CPUs 0 to n-1, no shared memory yet. Devices passed through and identity-mapped RAM go in
/// the VM table, within its limits (`SystemManifest.maxDevices`, `maxInterrupts`).
public enum FirmwareSupport {
    /// The boards a firmware is built for (qemu-virt's serves the same machine with either GIC).
    public static let firmwareBoards = BoardCatalog.all.filter { $0.firmwareVM != nil }.map(\.name)
    /// Boards for which `keel pack` writes a boot folder for the board's own boot firmware (the
    /// folder's kernel8.img is the board's own Keel firmware).
    public static let bootFolderBoards = ["raspberry-pi-4"]

    /// The VM slot of `board`'s firmware; qemu-virt's for a board without one of its own.
    public static func layout(for board: String) -> VMLayout {
        BoardCatalog.named(board)?.firmwareVM ?? qemuVirtDefaultVM
    }

    public static func check(_ system: ValidatedSystem) throws(ConfigError) {
        var problems = ProblemList(file: system.config.file)
        let board = system.board.name
        if !firmwareBoards.contains(board) && !bootFolderBoards.contains(board) {
            problems.add(nil, "board", "Keel's firmware is not built for \(board) yet (its data is here to check configs)",
                         fix: "pack for \(firmwareBoards.joined(separator: ", ")), or raspberry-pi-4 for an SD card folder")
        }
        if system.vms.count > SystemManifest.maxVMs {
            problems.add(nil, "vm", "\(system.vms.count) VMs are described; Keel's firmware runs at most \(SystemManifest.maxVMs)",
                         fix: "keep at most \(SystemManifest.maxVMs) [[vm]] tables")
        }
        if system.config.sharedMemory.count > SystemManifest.maxRegions {
            problems.add(nil, "shared_memory", "\(system.config.sharedMemory.count) shared regions are described; Keel's firmware maps at most \(SystemManifest.maxRegions)",
                         fix: "keep at most \(SystemManifest.maxRegions) [[shared_memory]] tables")
        }
        // Shared regions are mapped where the config says in each VM: not over its devices.
        let slot = layout(for: board)
        let devices = MemoryRange(base: slot.gicDistributorIPA, size: slot.uartIPA + 0x1000 - slot.gicDistributorIPA)
        for (index, region) in system.config.sharedMemory.enumerated() where region.range.overlaps(devices) {
            problems.add(nil, "shared_memory[\(index)].ipa", "\(hexString(region.ipa)) overlaps the devices the firmware emulates at \(hexString(devices.base))-\(hexString(devices.base + devices.size))",
                         fix: "put the region outside \(hexString(devices.base))-\(hexString(devices.base + devices.size)) and the VMs' RAM")
        }
        // Several VMs: each on consecutive CPUs, its RAM anywhere 2 MiB aligned (the firmware's
        // VM table says where), the devices of the firmware's slot.
        for (index, vm) in system.vms.enumerated() where system.vms.count > 1 {
            let scope = vmScope(vm.name, index: index)
            let cpus = vm.config.cpus.sorted()
            if let first = cpus.first, cpus != Array(first..<(first + cpus.count)) {
                problems.add(scope, "cpus", "the firmware gives a VM consecutive CPUs, not \(vm.config.cpus)",
                             fix: "write cpus = \(Array(first..<(first + cpus.count)))")
            }
            let twoMiB: UInt64 = 2 << 20
            if vm.config.memory.base % twoMiB != 0 {
                problems.add(scope, "memory.base", "\(hexString(vm.config.memory.base)) is not 2 MiB aligned, as the firmware maps VM RAM",
                             fix: "use a multiple of 0x20_0000")
            }
        }
        checkPassthrough(system, into: &problems)
        // The slot checks only make sense for the one VM the firmware would run.
        let layout = layout(for: board)
        for (index, vm) in system.vms.enumerated() where system.vms.count == 1 {
            let scope = vmScope(vm.name, index: index)
            let memory = vm.config.memory
            if memory.base != layout.ramIPA || memory.size > layout.ramSize {
                problems.add(scope, "memory", "the firmware gives its VM up to \(sizeString(layout.ramSize)) at IPA \(hexString(layout.ramIPA)), not \(sizeString(memory.size)) at \(hexString(memory.base))",
                             fix: "use memory = { base = \(hexString(layout.ramIPA)), size = \"\(layout.ramSize >> 20)M\" } or less")
            }
            if vm.config.cpus != Array(0..<vm.config.cpus.count) {
                problems.add(scope, "cpus", "the firmware runs vCPU i on CPU i, so a VM's CPUs are 0 to n-1, not \(vm.config.cpus)",
                             fix: "write cpus = \(Array(0..<max(1, vm.config.cpus.count)))")
            }
            for (i, device) in vm.config.emulated.enumerated() where device.base != layout.uartIPA {
                problems.add(scope, "emulated[\(i)].base", "the firmware emulates the \(device.kind.rawValue) at \(hexString(layout.uartIPA)), not \(hexString(device.base))",
                             fix: "write base = \(hexString(layout.uartIPA)), or leave emulated out")
            }
        }
        try problems.throwIfAny()
    }

    /// The device ranges and interrupts each VM is given, as the VM table carries them: every
    /// range of a board device (the config's `mmio`, or the whole device) and its interrupts.
    public static func passthrough(_ system: ValidatedSystem) -> (ranges: [SystemManifest.DeviceRange], interrupts: [SystemManifest.Interrupt]) {
        var ranges: [SystemManifest.DeviceRange] = []
        var interrupts: [SystemManifest.Interrupt] = []
        for (index, vm) in system.vms.enumerated() {
            for assignment in vm.config.devices {
                guard let device = system.board.device(named: assignment.name), !device.hypervisorOwned else { continue }
                for range in assignment.mmio ?? [MemoryRange(base: device.base, size: device.size)] {
                    ranges.append(SystemManifest.DeviceRange(pa: range.base, size: range.size, ipa: range.base, vm: UInt32(index)))
                }
                let own = device.intid == 0 ? [] : Array(device.intid..<(device.intid + device.interruptCount))
                for intid in assignment.interrupts ?? own {
                    interrupts.append(SystemManifest.Interrupt(intid: intid, vm: UInt32(index)))
                }
            }
        }
        return (ranges, interrupts)
    }

    /// What the VM table holds of devices, and where identity-mapped RAM may lie: in the 1 GiB
    /// block Keel's EL2 map makes Normal, above Keel's image, its packed images and QEMU's DTB
    /// (from the board's VM slot up, where every VM's RAM is placed).
    static func checkPassthrough(_ system: ValidatedSystem, into problems: inout ProblemList) {
        let (ranges, interrupts) = passthrough(system)
        if ranges.count > SystemManifest.maxDevices {
            problems.add(nil, "devices", "the VMs are given \(ranges.count) device ranges; Keel's firmware maps at most \(SystemManifest.maxDevices)",
                         fix: "pass fewer devices, or name the pages needed with mmio = [{ base = ..., size = ... }]")
        }
        if interrupts.count > SystemManifest.maxInterrupts {
            problems.add(nil, "devices", "the VMs are given \(interrupts.count) interrupts; Keel's firmware forwards at most \(SystemManifest.maxInterrupts)",
                         fix: "list the interrupts a device needs with interrupts = [...]")
        }
        let board = system.board.board
        let slot = layout(for: system.board.name)
        let block: UInt64 = 1 << 30
        let blockEnd = (board.loadAddress & ~(block - 1)) + block
        let allowed = MemoryRange(base: slot.ramPA, size: blockEnd > slot.ramPA ? blockEnd - slot.ramPA : 0)
        for (index, vm) in system.vms.enumerated() where vm.config.identityMemory && !allowed.contains(vm.config.memory) {
            problems.add(vmScope(vm.name, index: index), "memory.identity", "IPA = PA puts the VM's RAM at \(rangeString(vm.config.memory)); the firmware gives VMs RAM in \(rangeString(allowed)) (below is Keel, its images and the boot DTB; above, memory its EL2 map does not make Normal)",
                         fix: "put memory.base and memory.size inside \(rangeString(allowed))")
        }
    }
}
