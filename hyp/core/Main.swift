import KeelHW

let keelVersion: StaticString = "0.1.0"

/// Swift entry on the boot CPU, MMU and caches on, on this CPU's stack. Builds the VMs (those
/// of a packed image's VM table, or the one VM the board describes) and runs CPU 0's vCPU;
/// never returns (every later exit comes in through the vectors).
@c(keel_main)
@_optimize(size)
func keelMain(_ dtb: UInt64, _ cpu: UInt64) -> Never {
    Console.start()
    Console.begin()
    Console.print("Keel ")
    Console.print(keelVersion)
    Console.print(" on ")
    Console.print(activeBoard.name)
    Console.print(", CPU ")
    Console.dec(cpu)
    Console.print(" at EL2, DTB at ")
    Console.hex(dtb)
    Console.newline()

    Console.lockingEnabled = true
    // The machine from the DTB, before anything is driven: the console may move with it.
    guard BootDTB.readMachine(dtb) else { Platform.powerOff() }
    VCPUs.checkLayout()
    VMs.checkLayout()
#if KEEL_TEST_HOOKS
    TestHooks.readForcedEntry(dtb)
#endif
    EL2.configureTraps()
    GIC.detect()
    GIC.initDistributor()
    GIC.initCPU(0)
    let cpus = SMP.startSecondaries(limit: machine.hasPSCI || machine.cpuStart == .spinTable ? machine.cpuCount : 1)
    if machine.cpuStart == .spinTable && cpus > 1 {
        Console.begin()
        if cpus == 2 {
            Console.print("CPU 1 started from its spin table (cpu-release-addr)")
        } else {
            Console.print("CPUs 1 to ")
            Console.dec(UInt64(cpus - 1))
            Console.print(" started from their spin table (cpu-release-addr)")
        }
        Console.newline()
    }
    Trace.start(mode: BootDTB.traceMode(dtb))
    Console.begin()
    Console.print("GICv")
    Console.dec(UInt64(GIC.version.rawValue))
    Console.print(", ")
    Console.dec(UInt64(GIC.listRegisterCount))
    Console.print(" list registers per CPU")
    Console.newline()

    // Several VMs from a packed image's VM table, or the one VM of the board's slot.
    var refused = false
    if let manifest = BootLoader.openSystem(cpus: cpus, refused: &refused) {
        VMs.powerOffWith = manifest.powerOffWith ?? -1
        // The device models' request pages, before any VM (a frontend among them) runs.
guard DeviceModelSetup.prepare(manifest) else { Platform.powerOff() }
        var boot: VCPUHandle? = nil
        for i in 0..<manifest.count {
            let r = manifest.record(i)
            var layout = defaultVMLayout
            layout.ramIPA = r.ramIPA
            layout.ramPA = r.ramPA
            layout.ramSize = r.ramSize
            guard let images = BootLoader.open(manifest, vm: i, layout: layout) else { Platform.powerOff() }
            let vcpu0 = startVM(id: i, layout: layout, images: images, firstCPU: r.firstCPU, cpuCount: r.cpuCount,
                                prefixed: manifest.count > 1, shared: manifest, faultLimit: r.faultLimit, resetLimit: r.resetLimit)
            if r.firstCPU == 0 { boot = vcpu0 }
        }
        // Every VM is built before any runs (as Xen's dom0less unpauses its domains together):
        // a VM's first doorbell, or a frontend's first access to its device model, never finds
        // a peer that does not exist yet.
        for i in 0..<manifest.count where manifest.record(i).firstCPU != 0 {
            release(VCPUHandle(index: manifest.record(i).firstCPU))
        }
        // CPU 0 runs its VM's vCPU 0, or waits like the other CPUs when no VM has it.
        if let boot { EL2.run(boot) }
        SMP.idle(0)
    }
    if refused { Platform.powerOff() }
    let layout = defaultVMLayout
    guard BootDTB.machineHolds(layout) else { Platform.powerOff() }
    guard let images = BootLoader.open(for: layout) else { Platform.powerOff() }
    let vcpu = startVM(id: 0, layout: layout, images: images, firstCPU: 0, cpuCount: max(cpus, 1), prefixed: false)
    EL2.run(vcpu)
}

/// Builds VM `id` on CPUs `firstCPU ..< firstCPU + cpuCount`: its stage 2, its images copied
/// in, one vCPU per CPU. Its vCPU 0 is returned, for the caller to enter (CPU 0) or release (another
/// CPU, once every VM is built); the others wait for PSCI CPU_ON.
@_optimize(size)
private func startVM(id: Int, layout: VMLayout, images: BootImages, firstCPU: Int, cpuCount: Int,
                     prefixed: Bool, shared: SystemManifest? = nil, faultLimit: UInt32 = 0, resetLimit: UInt32 = 0) -> VCPUHandle {
    guard let vm = VMs.create(id: id, layout: layout) else { panic("cannot build a VM's stage-2 tables") }
    vm.state.faultLimit = faultLimit
    vm.state.resetLimit = resetLimit
    vm.state.doorbellPeers = shared?.doorbellPeers(of: id) ?? 1 << UInt32(id)
    // The shared regions this VM is given: normal memory, read-write, never executable.
    if let shared {
        for k in 0..<shared.regionCount where shared.region(k).vms & (1 << UInt32(id)) != 0 {
            let g = shared.region(k)
            guard vm.state.stage2.map(ipa: g.ipa, pa: g.pa, size: g.size, memory: .normal, access: .readWrite, executable: false) else {
                panic("cannot map a shared region: the stage-2 page pool is spent")
            }
            logMapping(vm: id, ": shared memory at IPA ", ipa: g.ipa, pa: g.pa, size: g.size, " KiB)")
        }
    }
    if let shared {
        passThrough(shared, to: vm, firstCPU: firstCPU)
DeviceModelSetup.configure(vm, shared)
    }
    BootLoader.load(images, into: layout)
    let bundle = images.bundle
    vm.state.entry = bundle.entryIPA
    vm.state.entryX0 = bundle.x0
    vm.state.bundleBase = UInt(images.address)
    vm.state.bundleLimit = images.limit
    vm.state.firstVCPU = firstCPU
    vm.state.console = GuestConsole(vm: id, prefixed: prefixed)
    let vcpu = VCPUs.create(index: firstCPU, vm: vm, entry: bundle.entryIPA, x0: bundle.x0)
    for index in 1..<cpuCount { _ = VCPUs.create(index: firstCPU + index, vm: vm, entry: 0, x0: 0) }
    MMIOFastPath.fill(vm)  // its vCPUs built, none running yet
    Trace.event(.vmCreated, vm: id, vcpu: 0, arg0: layout.ramSize)

    Console.begin()
    Console.print("vm")
    Console.dec(UInt64(id))
    Console.print(": ")
    Console.dec(UInt64(cpuCount))
    Console.print(cpuCount == 1 ? " vCPU" : " vCPUs")
    if prefixed {
        Console.print(" on CPU ")
        Console.dec(UInt64(firstCPU))
        if cpuCount > 1 {
            Console.print("-")
            Console.dec(UInt64(firstCPU + cpuCount - 1))
        }
    }
    Console.print(", ")
    Console.dec(layout.ramSize >> 20)
    Console.print(" MiB RAM at IPA ")
    Console.hex(layout.ramIPA)
    Console.print(" (PA ")
    Console.hex(layout.ramPA)
    Console.print("), console at IPA ")
    Console.hex(layout.uartIPA)
    Console.print(", VTCR_EL2 ")
    Console.hex(vm.state.stage2.vtcr)
    Console.newline()
    Console.begin()
    Console.print("vm")
    Console.dec(UInt64(id))
    Console.print("/vcpu0: entering at ")
    Console.hex(vcpu.state.pc)
    Console.print(bundle.isLinux ? " (EL1h, Linux boot protocol, x0 = " : " (EL1h, x0 = ")
    Console.hex(bundle.x0)
    Console.print(")")
    Console.newline()
    // CPU 0's vCPU runs when the caller enters it; another CPU's when the caller releases it.
    if firstCPU == 0 {
        vcpu.state.power = PowerState.on.rawValue
        Trace.event(.vcpuStarted, vm: id, vcpu: 0, arg0: vcpu.state.pc)
    }
    return vcpu
}

/// Lets the CPU of a VM's vCPU 0 enter it: that CPU waits in SMP.idle for exactly this.
private func release(_ vcpu: VCPUHandle) {
    vcpu.powerWord.storeRelease(PowerState.onPending.rawValue)
    SMP.wake(vcpu)
}

/// The devices the VM table passes through to VM `vm` (checked by `SystemManifest`): each MMIO
/// range mapped Device-nGnRE, read-write, never executable, each SPI routed to the VM's first
/// CPU and forwarded to it (`Passthrough`).
@_optimize(size)
private func passThrough(_ manifest: SystemManifest, to vm: VMHandle, firstCPU: Int) {
    let id = vm.state.id
    for k in 0..<manifest.deviceCount where manifest.device(k).vm == UInt32(id) {
        let d = manifest.device(k)
        guard vm.state.stage2.map(ipa: d.ipa, pa: d.pa, size: d.size, memory: .device, access: .readWrite, executable: false) else {
            panic("cannot map a passed-through device: the stage-2 page pool is spent")
        }
        logMapping(vm: id, ": device at IPA ", ipa: d.ipa, pa: d.pa, size: d.size, " KiB) passed through")
    }
    for k in 0..<manifest.interruptCount where manifest.interrupt(k).vm == UInt32(id) {
        let intid = manifest.interrupt(k).intid
        Passthrough.give(vm, intid: intid, cpu: firstCPU)
        Console.begin()
        Console.print("vm")
        Console.dec(UInt64(id))
        Console.print(": INTID ")
        Console.dec(UInt64(intid))
        Console.print(" passed through to CPU ")
        Console.dec(UInt64(firstCPU))
        Console.newline()
    }
}

/// One line for a region mapped into VM `id`: "vmN<what>IPA (PA pa, size<tail>".
@_optimize(size)
private func logMapping(vm id: Int, _ what: StaticString, ipa: UInt64, pa: UInt64, size: UInt64, _ tail: StaticString) {
    Console.begin()
    Console.print("vm")
    Console.dec(UInt64(id))
    Console.print(what)
    Console.hex(ipa)
    Console.print(" (PA ")
    Console.hex(pa)
    Console.print(", ")
    Console.dec(size >> 10)
    Console.print(tail)
    Console.newline()
}

/// Embedded Swift's `print` ends here; Keel itself uses `Console`.
@c(putchar)
func putchar(_ c: Int32) -> Int32 {
    Console.put(UInt8(truncatingIfNeeded: c))
    return c
}
