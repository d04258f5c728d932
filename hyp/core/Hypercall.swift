import KeelHW

/// HVC from the guest. ELR_EL2 already points past the HVC.
func trapHVC(_ vcpu: VCPUHandle, _ esr: UInt64) {
    callSMCCC(vcpu, ESR(rawValue: esr))
}

/// SMC from the guest, trapped by HCR_EL2.TSC before it reached the secure firmware. Unlike
/// HVC, ELR_EL2 points at the SMC itself, so it is stepped over first.
func trapSMC(_ vcpu: VCPUHandle, _ esr: UInt64) {
    vcpu.state.skipInstruction(ESR(rawValue: esr))
    callSMCCC(vcpu, ESR(rawValue: esr))
}

/// One SMC Calling Convention call, the same over HVC and SMC: function id in w0, arguments in
/// x1-x7, results in x0-x3; x4-x17 are preserved (Keel touches only what it returns).
@inline(__always)
private func callSMCCC(_ vcpu: VCPUHandle, _ esr: ESR) {
    // SMCCC uses immediate 0; anything else is not a call Keel knows.
    let function = UInt32(truncatingIfNeeded: vcpu.state.x(0))
    vcpu.state.noteAction(.hypercall, arg0: UInt64(function))
    if esr.imm16 != 0 {
        vcpu.state.setResult(SMCCC.notSupported)
    } else {
        switch SMCCC.owner(function) {
        case 0: armArchitectureCall(vcpu, function)
        case 4: VirtualPSCI.call(vcpu, function)
        case 6: vendorHypervisorCall(vcpu, function)
        default: vcpu.state.setResult(SMCCC.notSupported)
        }
    }
    vcpu.state.trace.arg1 = vcpu.state.x(0)
}

@inline(__always)
private func armArchitectureCall(_ vcpu: VCPUHandle, _ function: UInt32) {
    switch function {
    case SMCCC.version:
        vcpu.state.setX(0, SMCCC.version1_1)
    case SMCCC.archFeatures:
        // SMCCC_ARCH_FEATURES itself, and the Spectre workarounds as this CPU needs them.
        let queried = UInt32(truncatingIfNeeded: vcpu.state.x(1))
        let answer = queried == SMCCC.archFeatures ? 0 : Spectre.features(queried, cpu: vcpu.state.physicalCPU)
        vcpu.state.setResult(answer ?? SMCCC.notSupported)
    case SMCCC.archWorkaround1, SMCCC.archWorkaround2, SMCCC.archWorkaround3:
        // Done by the vectors on the way in (Spectre.call); x1 of WORKAROUND_2 is not used.
        vcpu.state.setResult(Spectre.call(function, cpu: vcpu.state.physicalCPU))
    default:
        vcpu.state.setResult(SMCCC.notSupported)
    }
}

/// Keel's own service (vendor-specific hypervisor range): its UID and revision, so a guest can
/// tell it runs on Keel.
@inline(__always)
private func vendorHypervisorCall(_ vcpu: VCPUHandle, _ function: UInt32) {
    switch function {
    case SMCCC.vendorHypCallUID:
        vcpu.state.setX(0, UInt64(SMCCC.keelUID.0))
        vcpu.state.setX(1, UInt64(SMCCC.keelUID.1))
        vcpu.state.setX(2, UInt64(SMCCC.keelUID.2))
        vcpu.state.setX(3, UInt64(SMCCC.keelUID.3))
    case SMCCC.vendorHypRevision:
        vcpu.state.setX(0, 0)
        vcpu.state.setX(1, 1)
    case SMCCC.keelDoorbell:
        vcpu.state.setResult(VGIC.ringDoorbell(from: vcpu, vm: vcpu.state.x(1)))
    case SMCCC.keelDMComplete, SMCCC.keelDMNotify, SMCCC.keelDMPolling, SMCCC.keelDMAnswers:
        vcpu.state.setResult(DeviceModelCalls.call(vcpu, function))
#if KEEL_TEST_HOOKS
    case TestHooks.failCheck:
        TestHooks.failCheck(vcpu)
    case TestHooks.failOutsideExit:
        TestHooks.failOutsideExit(vcpu)
    case TestHooks.failWhileStopping:
        TestHooks.failWhileStopping(vcpu)
#endif
    default:
        vcpu.state.setResult(SMCCC.notSupported)
    }
}
