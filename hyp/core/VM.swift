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
    /// Serializes `uart` and `console` (`GuestUART`); kept outside both, so that resetting
    /// them never rewrites a lock word someone holds.
    var uartLock: UInt32 = 0
    var vgic = VirtualDistributor()
    var vcpuCount = 0
    /// Pool index of its vCPU 0; its vCPUs are consecutive.
    var firstVCPU = 0
    var poweredOff = false
    /// Non-zero while one of its vCPUs stops the others (SYSTEM_RESET, SYSTEM_OFF, a policy
    /// stop), and for good once the VM is off: PSCI CPU_ON starts no vCPU then. Atomics only.
    var stopping: UInt32 = 0
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
    /// The VMs it may ring with Keel's doorbell, one bit each (`SystemManifest.doorbellPeers`):
    /// itself, and those the config lets it talk to.
    var doorbellPeers: UInt32 = 0
    /// The physical SPIs passed through to it (`Passthrough`), one bit each: word b holds
    /// INTIDs 32 + 32b to 63 + 32b.
    var passedSPIs: [2 of UInt32] = [0, 0]
    /// Its part in the device model (hyp/devmodel): the virtio transports it has (as a
    /// frontend), the devices it serves (as a device-model VM).
    var dm = DeviceModelVM()
    /// Set (release) once the vCPU that turned it off has sent its exit reports and trace
    /// records: the machine's power-off waits for that (`VMs.allOffReported`). Last, so
    /// that no offset the vectors use moves.
    var offReported: UInt32 = 0

    /// vCPU `index` of this VM.
    func vcpu(_ index: Int) -> VCPUHandle { VCPUHandle(index: firstVCPU + index) }
}

/// The static pool of VMs.
enum VMs {
    /// As many as a packed image may describe (`SystemManifest.maxVMs`), in `keel_vm_pool`
    /// (mm/pool.S): BSS, not a Swift global, which would be initialized lazily.
    static var capacity: Int { Int(keel_max_vms()) }

    /// The GICv2 virtual CPU interface each VM gets at its GICC address (two 4 KiB pages).
    static var gicCPUInterfaceSize: UInt64 { 0x2000 }

    static func checkLayout() {
        if MemoryLayout<VM>.stride > Int(keel_vm_slot_size()) { panic("VM outgrew KEEL_VM_SLOT") }
    }

    /// Build VM `id`: its stage-2 tables with the guest RAM mapped (normal memory, read, write,
    /// execute). Emulated devices stay unmapped so each access traps.
    @inline(never) @_optimize(size)  // cold, and a VM literal is long straight-line code
    static func create(id: Int, layout: VMLayout) -> VMHandle? {
        guard id < capacity, var stage2 = Stage2.create() else { return nil }
        guard stage2.map(ipa: layout.ramIPA, pa: layout.ramPA, size: layout.ramSize,
                         memory: .normal, access: .readWrite, executable: true) else { return nil }
        // GICv2: the guest's CPU interface is the real GIC's virtual CPU interface (GICV), mapped
        // at the guest's GICC address; its accesses never trap.
        if GIC.version == .v2 {
            guard stage2.map(ipa: layout.gicCPUInterfaceIPA, pa: machine.gic.virtualCPUInterface, size: gicCPUInterfaceSize,
                             memory: .device, access: .readWrite, executable: false) else { return nil }
        }
        let vm = VMHandle(id: id)
        vm.state = VM(id: id, vmid: UInt64(id + 1), layout: layout, stage2: stage2)
        vm.state.vgic = VirtualDistributor.reset(v3: GIC.version == .v3)
        return vm
    }

    /// The VM whose power-off powers the machine off (a packed image's `power_off_with`), or
    /// -1: the last VM's.
    nonisolated(unsafe) static var powerOffWith = -1

    /// Every VM that is off has reported so (`offReported`). The last VM's power-off can come
    /// while another CPU still turns its own VM off (its `poweredOff` is set first): the machine
    /// waits for this before it goes, so that CPU's exit reports and trace records are out.
    @_optimize(size)
    static var allOffReported: Bool {
        for id in 0..<capacity where VMHandle(id: id).state.vcpuCount > 0 {
            let vm = VMHandle(id: id)
            if vm.state.poweredOff && vm.offReportedWord.loadAcquire() == 0 { return false }
        }
        return true
    }

    @_optimize(size)
    static var allPoweredOff: Bool {
        for id in 0..<capacity where VMHandle(id: id).state.vcpuCount > 0 && !VMHandle(id: id).state.poweredOff {
            return false
        }
        return true
    }
}

extension VirtualDistributor {
    /// Reset state: everything disabled; GICv3 interrupts in group 1 (as KVM resets them),
    /// GICv2 in group 0; SPIs routed to vCPU 0.
    @_optimize(size)
    static func reset(v3: Bool) -> VirtualDistributor {
        var d = VirtualDistributor()
        for b in 0..<d.spis.count {
            d.spis[b].group1 = v3 ? ~0 : 0
            for i in 0..<32 { d.spis[b].target[i] = 1 }
        }
        return d
    }
}
