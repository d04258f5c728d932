import KeelHW

/// MSR/MRS (and system instructions) trapped by HCR_EL2.TID3, TACR, TIDCP and MDCR_EL2.TPM:
///   - the feature ID registers read as the hardware's, sanitized (KeelCore `FeatureID`);
///   - ACTLR_EL1 reads as the hardware's and ignores writes, as under KVM;
///   - everything else (the PMU, IMPLEMENTATION DEFINED registers) is an Undefined Instruction
///     exception for the guest, reported on the console a few times per vCPU.
func trapSysReg(_ frame: UnsafeMutableRawPointer, _ esr: UInt64) {
    let vcpu = VCPUs.from(frame)
    let syndrome = ESR(rawValue: esr)
    let access = syndrome.sysReg
    let encoding = access.encoding

    vcpu.pointee.trace.register = UInt8(access.rt)
    if encoding.isFeatureID && access.isRead {
        let index = UInt32(encoding.crm * 8 + encoding.op2)
        let ipaBits = vcpu.pointee.vmPointer.pointee.stage2.ipaBits
        let value = FeatureID.sanitize(encoding, hardware: keel_read_id_reg(index), ipaBits: ipaBits)
        vcpu.pointee.setX(access.rt, value)
        vcpu.pointee.noteAction(.sysRegRead, arg0: value)
    } else if !access.isRead && GIC.version == .v3 &&
                (encoding == .iccSGI1R || encoding == .iccASGI1R || encoding == .iccSGI0R) {
        let value = vcpu.pointee.x(access.rt)
        let vm = vcpu.pointee.vmPointer
        let request = SGIRequest(iccSGIR: value, sender: vcpu.pointee.id, vcpuCount: vm.pointee.vcpuCount)
        VGIC.raiseSGI(vcpu, intid: request.intid, targets: request.targets)
        vcpu.pointee.noteAction(.sysRegWrite, arg0: value)
    } else if encoding == .actlrEL1 {
        if access.isRead { vcpu.pointee.setX(access.rt, read_actlr_el1()) }
        vcpu.pointee.noteAction(access.isRead ? .sysRegRead : .sysRegWrite, arg0: vcpu.pointee.x(access.rt))
    } else {
        reportUnhandled(vcpu, access)
        return vcpu.pointee.injectUndefined(syndrome)
    }
    vcpu.pointee.skipInstruction(syndrome)
}

/// `[keel] vm0/vcpu0: sysreg S3_3_C9_C12_0 read at 0x40000123 -> UNDEF`, the first few times.
@_optimize(size)
private func reportUnhandled(_ vcpu: UnsafeMutablePointer<VCPU>, _ access: SysRegISS) {
    guard vcpu.pointee.mayReportFault() else { return }
    Console.begin(vm: vcpu.pointee.vm, vcpu: vcpu.pointee.id)
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
    Console.hex(vcpu.pointee.pc)
    Console.print(" -> UNDEF")
    Console.newline()
}
