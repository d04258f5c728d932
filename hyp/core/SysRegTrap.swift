import KeelHW

/// MSR/MRS (and system instructions) trapped by HCR_EL2.TID3, TACR, TIDCP and MDCR_EL2.TPM:
///   - the feature ID registers read as the hardware's, sanitized (KeelCore `FeatureID`);
///   - ACTLR_EL1 reads as the hardware's and ignores writes, as under KVM;
///   - everything else (the PMU, IMPLEMENTATION DEFINED registers) is an Undefined Instruction
///     exception for the guest, reported on the console a few times per vCPU.
func trapSysReg(_ vcpu: VCPUHandle, _ esr: UInt64) {
    let syndrome = ESR(rawValue: esr)
    let access = syndrome.sysReg
    let encoding = access.encoding

    vcpu.state.trace.register = UInt8(access.rt)
    if encoding.isFeatureID && access.isRead {
        let index = UInt32(encoding.crm * 8 + encoding.op2)
        let ipaBits = vcpu.state.vmHandle.state.stage2.ipaBits
        let value = FeatureID.sanitize(encoding, hardware: keel_read_id_reg(index), ipaBits: ipaBits)
        vcpu.state.setX(access.rt, value)
        vcpu.state.noteAction(.sysRegRead, arg0: value)
    } else if !access.isRead && GIC.version == .v3 &&
                (encoding == .iccSGI1R || encoding == .iccASGI1R || encoding == .iccSGI0R) {
        let value = vcpu.state.x(access.rt)
        let vm = vcpu.state.vmHandle
        let request = SGIRequest(iccSGIR: value, sender: vcpu.state.id, vcpuCount: vm.state.vcpuCount)
        VGIC.raiseSGI(vcpu, intid: request.intid, targets: request.targets)
        vcpu.state.noteAction(.sysRegWrite, arg0: value)
    } else if encoding == .actlrEL1 {
        if access.isRead { vcpu.state.setX(access.rt, read_actlr_el1()) }
        vcpu.state.noteAction(access.isRead ? .sysRegRead : .sysRegWrite, arg0: vcpu.state.x(access.rt))
    } else {
        reportUnhandled(vcpu, access)
        return vcpu.state.injectUndefined(syndrome)
    }
    vcpu.state.skipInstruction(syndrome)
}

/// `[keel] vm0/vcpu0: sysreg S3_3_C9_C12_0 read at 0x40000123 -> UNDEF`, the first few times.
@_optimize(size)
private func reportUnhandled(_ vcpu: VCPUHandle, _ access: SysRegISS) {
    guard vcpu.state.mayReportFault() else { return }
    Console.begin(vm: vcpu.state.vm, vcpu: vcpu.state.id)
    Console.print(": sysreg S")
    Console.dec(UInt64(access.op0))
    Console.print("_")
    Console.dec(UInt64(access.op1))
    Console.print("_C")
    Console.dec(UInt64(access.crn))
    Console.print("_C")
    Console.dec(UInt64(access.crm))
    Console.print("_")
    Console.dec(UInt64(access.op2))
    Console.print(access.isRead ? " read at " : " write at ")
    Console.hex(vcpu.state.pc)
    Console.print(" -> UNDEF")
    Console.newline()
}
