import KeelHW

/// Stage-2 data abort: the guest touched an IPA with no RAM behind it. An emulated device there
/// and a syndrome that describes the access (ISV) means MMIO emulation; anything else is an
/// access the VM has no right to, and the guest gets a synchronous external abort.
func trapDataAbort(_ vcpu: VCPUHandle, _ esr: UInt64) {
    let syndrome = ESR(rawValue: esr)
    let far = read_far_el2()
    let ipa = faultingIPA(hpfar: read_hpfar_el2(), far: far)
    let iss = syndrome.dataAbort
    vcpu.state.trace.ipa = ipa

    // An access not aligned to its size cannot reach a device register on hardware (Device
    // memory faults it at stage 1; QEMU with the guest's MMU off lets it through to stage 2),
    // so it gets the abort too rather than an emulation of half a register.
    if !iss.s1ptw, let access = MMIOAccess(iss), ipa & UInt64(access.bytes &- 1) == 0,
       emulateMMIO(vcpu, ipa: ipa, access: access) {
        vcpu.state.skipInstruction(syndrome)
        return
    }
    noEmulatedDevice(vcpu, syndrome, ipa: ipa, far: far)
}

/// A data abort no emulated device took: a virtio transport's register, forwarded to the
/// device-model VM that serves it (hyp/devmodel), or an external abort. Out of line, so that
/// the emulated devices' exits pay nothing for it.
@inline(never)
private func noEmulatedDevice(_ vcpu: VCPUHandle, _ syndrome: ESR, ipa: UInt64, far: UInt64) {
    let iss = syndrome.dataAbort
    if !iss.s1ptw, let access = MMIOAccess(iss), ipa & UInt64(access.bytes &- 1) == 0 {
        switch Forwarding.access(vcpu, ipa: ipa, access: access) {
        case .done:
            vcpu.state.skipInstruction(syndrome)
            return
        case .stopped:
            return
        case .noTransport:
            break
        }
    }
    reportAbort(vcpu, ipa: ipa, write: iss.wnr, fetch: false)
    vcpu.state.injectExternalAbort(syndrome, far: far)
}

/// Stage-2 instruction abort: the guest jumped to an IPA with no RAM behind it.
func trapInstructionAbort(_ vcpu: VCPUHandle, _ esr: UInt64) {
    let far = read_far_el2()
    let ipa = faultingIPA(hpfar: read_hpfar_el2(), far: far)
    vcpu.state.trace.ipa = ipa
    reportAbort(vcpu, ipa: ipa, write: false, fetch: true)
    vcpu.state.injectExternalAbort(ESR(rawValue: esr), far: far)
}

/// The emulated devices of a VM, by guest address.
private enum Device {
    case uart, gicDistributor, gicRedistributor(Int)
}

@inline(__always)
private func device(at ipa: UInt64, in vm: VMHandle) -> (Device, UInt64)? {
    let layout = vm.state.layout
    if ipa >= layout.uartIPA && ipa - layout.uartIPA < VirtualPL011.size { return (.uart, ipa - layout.uartIPA) }
    if ipa >= layout.gicDistributorIPA && ipa - layout.gicDistributorIPA < VirtualGICD.size {
        return (.gicDistributor, ipa - layout.gicDistributorIPA)
    }
    if GIC.version == .v3 && ipa >= layout.gicRedistributorIPA {
        let offset = ipa - layout.gicRedistributorIPA
        let index = Int(offset / VirtualGICR.stride)
        if index < vm.state.vcpuCount { return (.gicRedistributor(index), offset % VirtualGICR.stride) }
    }
    return nil
}

/// Emulate one access to a device of the vCPU's VM. False when no device is at `ipa`.
@inline(__always)
private func emulateMMIO(_ vcpu: VCPUHandle, ipa: UInt64, access: MMIOAccess) -> Bool {
    let vm = vcpu.state.vmHandle
    guard let (device, offset) = device(at: ipa, in: vm) else { return false }
    let value: UInt64
    if access.isWrite {
        value = access.storedValue(register: vcpu.state.x(access.register))
        switch device {
        case .uart: GuestUART.write(vcpu, offset: offset, value: value, bytes: access.bytes)
        case .gicDistributor: VirtualGICD.write(vcpu, offset: offset, bytes: access.bytes, value: value)
        case .gicRedistributor(let index): VirtualGICR.write(vcpu, index: index, offset: offset, bytes: access.bytes, value: value)
        }
    } else {
        let raw: UInt64
        switch device {
        case .uart: raw = GuestUART.read(vcpu, offset: offset, bytes: access.bytes)
        case .gicDistributor: raw = VirtualGICD.read(vcpu, offset: offset, bytes: access.bytes)
        case .gicRedistributor(let index): raw = VirtualGICR.read(vcpu, index: index, offset: offset, bytes: access.bytes)
        }
        value = access.loadedValue(raw)
        vcpu.state.setX(access.register, value)
    }
    vcpu.state.noteAction(access.isWrite ? .mmioWrite : .mmioRead, arg0: value)
    vcpu.state.trace.width = UInt8(truncatingIfNeeded: access.bytes)
    vcpu.state.trace.register = UInt8(truncatingIfNeeded: access.register)
    vcpu.state.trace.flags = access.isWrite ? 1 : 0
    return true
}

/// What a read (`access`) at `ipa` gives when it is of a register `ConstantRegisters` lists, as
/// `emulateMMIO` answers it (the same device lookup, the same device's read, the same
/// `loadedValue`); nil for any other address. For `MMIOFastPath.fill`, at VM start.
func constantRegisterRead(_ vm: VMHandle, ipa: UInt64, access: MMIOAccess) -> UInt64? {
    guard !access.isWrite, let (device, offset) = device(at: ipa, in: vm) else { return nil }
    let raw: UInt64
    switch device {
    case .uart:
        guard ConstantRegisters.isConstant(uart: offset) else { return nil }
        var fresh = VirtualPL011()  // identification registers: the same in every state
        raw = fresh.read(offset: offset, bytes: access.bytes)
    case .gicDistributor:
        guard ConstantRegisters.isConstant(distributor: offset) else { return nil }
        raw = VirtualGICD.read(vm.state.vcpu(0), offset: offset, bytes: access.bytes)
    case .gicRedistributor(let index):
        guard ConstantRegisters.isConstant(redistributor: offset) else { return nil }
        raw = VirtualGICR.read(vm.state.vcpu(0), index: index, offset: offset, bytes: access.bytes)
    }
    return access.loadedValue(raw)
}

/// `[keel] vm0/vcpu0: write to IPA 0x20000000 outside the VM at pc 0x40000100 -> external abort`
@_optimize(size)
private func reportAbort(_ vcpu: VCPUHandle, ipa: UInt64, write: Bool, fetch: Bool) {
    guard vcpu.state.mayReportFault() else { return }
    Console.begin(vm: vcpu.state.vm, vcpu: vcpu.state.id)
    Console.print(fetch ? ": fetch from IPA " : (write ? ": write to IPA " : ": read from IPA "))
    Console.hex(ipa)
    Console.print(" outside the VM at pc ")
    Console.hex(vcpu.state.pc)
    Console.print(" -> external abort")
    Console.newline()
}
