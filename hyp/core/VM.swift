import KeelHW

/// A virtual machine: its memory (stage 2), its emulated devices, its vCPUs.
struct VM {
    var id = 0
    /// VMID tagging the VM's TLB entries; VM n gets n + 1 (VMID 0 stays unused).
    var vmid: UInt64 = 0
    var layout = VMLayout(ramIPA: 0, ramPA: 0, ramSize: 0, uartIPA: 0, entryOffset: 0)
    var stage2 = Stage2()
    var uart = VirtualPL011()
    var console = GuestConsole()
    var vgic = VirtualDistributor()
    var vcpuCount = 0
    /// Pool index of its vCPU 0; its vCPUs are consecutive.
    var firstVCPU = 0
    var poweredOff = false
    /// Where vCPU 0 starts and its x0, from the boot bundle (again after SYSTEM_RESET).
    var entry: UInt64 = 0
    var entryX0: UInt64 = 0
    /// Its boot bundle (checked at boot), the pristine copy SYSTEM_RESET reloads from.
    var bundleBase: UInt = 0
    var bundleLimit: UInt64 = 0
    /// Containment policy from the packed image (0: none) and what counts against it.
    var faultLimit: UInt32 = 0
    var resetLimit: UInt32 = 0
    var faults: UInt32 = 0
    var resets: UInt32 = 0
    /// Set while one of its vCPUs carries out PSCI SYSTEM_RESET (`VirtualPSCI.systemReset`).
    var resetting: UInt32 = 0

    /// vCPU `index` of this VM.
    func vcpu(_ index: Int) -> UnsafeMutablePointer<VCPU> { VCPUs.pointer(firstVCPU + index) }
}

extension UnsafeMutablePointer where Pointee == VM {
    /// Safety: `resetting` is a stored property of a VM in the static pool; its address is stable.
    var resettingWord: UnsafeMutablePointer<UInt32> {
        withUnsafeMutablePointer(to: &pointee.resetting) { $0 }
    }
}

/// The static pool of VMs.
enum VMs {
    /// As many as a packed image may describe (`SystemManifest.maxVMs`), in `keel_vm_pool`
    /// (mm/pool.S): BSS, not a Swift global, which would be initialized lazily.
    static var capacity: Int { Int(keel_max_vms()) }

    /// Storage of VM `id`. Safety: the pool is BSS, so its address is stable and its bytes are
    /// zero before `create` (an unused slot: no vCPU); `checkLayout` proves a VM fits its slot;
    /// ids are checked against the pool size.
    @inline(__always)
    static func pointer(_ id: Int) -> UnsafeMutablePointer<VM> {
        precondition(id >= 0 && id < capacity)
        return UnsafeMutableRawPointer(bitPattern: keel_vm_pool_base() + UInt(id) * keel_vm_slot_size())!.assumingMemoryBound(to: VM.self)
    }

    static func checkLayout() {
        if MemoryLayout<VM>.stride > Int(keel_vm_slot_size()) { panic("VM outgrew KEEL_VM_SLOT") }
    }

    /// Build VM `id`: its stage-2 tables with the guest RAM mapped (normal memory, read, write,
    /// execute). Emulated devices stay unmapped so each access traps.
    @inline(never) @_optimize(size)  // cold, and a VM literal is long straight-line code
    static func create(id: Int, layout: VMLayout) -> UnsafeMutablePointer<VM>? {
        guard id < capacity, var stage2 = Stage2.create() else { return nil }
        guard stage2.map(ipa: layout.ramIPA, pa: layout.ramPA, size: layout.ramSize,
                         memory: .normal, access: .readWrite, executable: true) else { return nil }
        // GICv2: the guest's CPU interface is the real GIC's virtual CPU interface (GICV), mapped
        // at the guest's GICC address; its accesses never trap.
        if GIC.version == .v2 {
            guard stage2.map(ipa: layout.gicCPUInterfaceIPA, pa: machine.gic.virtualCPUInterface, size: 0x2000,
                             memory: .device, access: .readWrite, executable: false) else { return nil }
        }
        let vm = pointer(id)
        vm.pointee = VM(id: id, vmid: UInt64(id + 1), layout: layout, stage2: stage2)
        vm.pointee.vgic = VirtualDistributor.reset(v3: GIC.version == .v3)
        return vm
    }

    /// The VM whose power-off powers the machine off (a packed image's `power_off_with`), or
    /// -1: the last VM's.
    nonisolated(unsafe) static var powerOffWith = -1

    static var allPoweredOff: Bool {
        for id in 0..<capacity where pointer(id).pointee.vcpuCount > 0 && !pointer(id).pointee.poweredOff {
            return false
        }
        return true
    }
}

extension VirtualDistributor {
    /// Reset state: everything disabled; GICv3 interrupts in group 1 (as KVM resets them),
    /// GICv2 in group 0; SPIs routed to vCPU 0.
    static func reset(v3: Bool) -> VirtualDistributor {
        var d = VirtualDistributor()
        for b in 0..<d.spis.count {
            d.spis[b].group1 = v3 ? ~0 : 0
            for i in 0..<32 { d.spis[b].target[i] = 1 }
        }
        return d
    }
}
