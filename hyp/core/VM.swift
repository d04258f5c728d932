/// A virtual machine: its memory (stage 2), its emulated devices, its vCPUs.
struct VM {
    var id = 0
    /// VMID tagging the VM's TLB entries; VM n gets n + 1 (VMID 0 stays unused).
    var vmid: UInt64 = 0
    var layout = VMLayout(ramIPA: 0, ramPA: 0, ramSize: 0, uartIPA: 0, entryOffset: 0)
    var stage2 = Stage2()
    var uart = VirtualPL011()
    var vcpuCount = 0
    var poweredOff = false
}

/// The static pool of VMs.
enum VMs {
    nonisolated(unsafe) private static var pool: [1 of VM] = [VM()]

    /// Storage of VM `id`. Safety: the pool is a global, so the address is stable for the life
    /// of the firmware; ids are checked against the pool size.
    static func pointer(_ id: Int) -> UnsafeMutablePointer<VM> {
        precondition(id >= 0 && id < pool.count)
        return withUnsafeMutablePointer(to: &pool) { UnsafeMutableRawPointer($0).assumingMemoryBound(to: VM.self) + id }
    }

    /// Build VM `id`: its stage-2 tables with the guest RAM mapped (normal memory, read, write,
    /// execute). Emulated devices stay unmapped so each access traps.
    static func create(id: Int, layout: VMLayout) -> UnsafeMutablePointer<VM>? {
        guard id < pool.count, var stage2 = Stage2.create() else { return nil }
        guard stage2.map(ipa: layout.ramIPA, pa: layout.ramPA, size: layout.ramSize,
                         memory: .normal, access: .readWrite, executable: true) else { return nil }
        let vm = pointer(id)
        vm.pointee = VM(id: id, vmid: UInt64(id + 1), layout: layout, stage2: stage2)
        return vm
    }

    static var allPoweredOff: Bool {
        for id in 0..<pool.count where pointer(id).pointee.vcpuCount > 0 && !pointer(id).pointee.poweredOff {
            return false
        }
        return true
    }
}
