import KeelHW

let keelVersion: StaticString = "0.1.0"

/// Swift entry on the boot CPU, MMU and caches on, on this CPU's stack. Builds the VM the board
/// describes and runs its first vCPU; never returns (every later exit comes in through the
/// vectors).
@c(keel_main)
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
    VCPUs.checkLayout()
    EL2.configureTraps()
    GIC.detect()
    GIC.initDistributor()
    GIC.initCPU(0)
    let cpus = SMP.startSecondaries(limit: activeBoard.maxCPUs)
    Trace.start(mode: bootTraceMode(dtb: dtb))
    Console.begin()
    Console.print("GICv")
    Console.dec(UInt64(GIC.version.rawValue))
    Console.print(", ")
    Console.dec(UInt64(GIC.listRegisterCount))
    Console.print(" list registers per CPU")
    Console.newline()

    let layout = defaultVMLayout
    guard let bundle = BootLoader.open(for: layout) else { Platform.powerOff() }
    guard let vm = VMs.create(id: 0, layout: layout) else { panic("cannot build vm0's stage-2 tables") }
    BootLoader.load(bundle, into: layout)
    vm.pointee.entry = bundle.entryIPA
    vm.pointee.entryX0 = bundle.x0
    // One vCPU per CPU; vCPU 0 starts, the others wait for PSCI CPU_ON.
    let vcpu = VCPUs.create(index: 0, vm: vm, entry: bundle.entryIPA, x0: bundle.x0)
    for index in 1..<max(cpus, 1) { _ = VCPUs.create(index: index, vm: vm, entry: 0, x0: 0) }
    vcpu.pointee.power = PowerState.on.rawValue
    Trace.event(.vmCreated, vm: 0, vcpu: 0, arg0: layout.ramSize)
    Trace.event(.vcpuStarted, vm: 0, vcpu: 0, arg0: vcpu.pointee.pc)

    Console.begin()
    Console.print("vm0: ")
    Console.dec(UInt64(cpus))
    Console.print(cpus == 1 ? " vCPU, " : " vCPUs, ")
    Console.dec(layout.ramSize >> 20)
    Console.print(" MiB RAM at IPA ")
    Console.hex(layout.ramIPA)
    Console.print(" (PA ")
    Console.hex(layout.ramPA)
    Console.print("), console at IPA ")
    Console.hex(layout.uartIPA)
    Console.print(", VTCR_EL2 ")
    Console.hex(vm.pointee.stage2.vtcr)
    Console.newline()
    Console.begin()
    Console.print("vm0/vcpu0: entering at ")
    Console.hex(vcpu.pointee.pc)
    Console.print(bundle.isLinux ? " (EL1h, Linux boot protocol, x0 = " : " (EL1h, x0 = ")
    Console.hex(bundle.x0)
    Console.print(")")
    Console.newline()
    EL2.run(vcpu)
}

/// The trace mode from `keel.trace=` in the DTB's /chosen/bootargs (QEMU: `-append`), else
/// counters. A missing or malformed DTB just means the default.
private func bootTraceMode(dtb: UInt64) -> TraceMode {
    guard dtb != 0, let base = UnsafeRawPointer(bitPattern: UInt(dtb)),
          let fdt = FDT(base, limit: 2 << 20),
          let bootargs = fdt.property(path: "/chosen", name: "bootargs"),
          let mode = BootArguments.traceMode(bootargs) else { return .counters }
    Console.begin()
    Console.print("trace mode from bootargs: ")
    Console.print(mode == .full ? "full" : (mode == .off ? "off" : "counters"))
    Console.newline()
    return mode
}

/// Embedded Swift's `print` ends here; Keel itself uses `Console`.
@c(putchar)
func putchar(_ c: Int32) -> Int32 {
    Console.put(UInt8(truncatingIfNeeded: c))
    return c
}
