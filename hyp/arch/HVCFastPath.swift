import KeelHW

/// The vectors answer a few hypercalls themselves (hyp/arch/vectors.S, `keel_hvc_fast`): HVC #0
/// with a function id whose answer is the same for every VM at every moment (keel/hvcfast.h),
/// when full tracing is off and the vCPU has nothing to do before re-entry. They count the exit
/// and keep its ESR as `handleLowerSync` does; every other exit takes the Swift path.
///
/// Swift lays out `VCPU`, and the answers are KeelCore's: the boot check below ties the
/// header's numbers to both, so the assembly never writes a field it did not check.
enum HVCFastPath {
    /// Whether keel/hvcfast.h agrees with Swift's `VCPU` layout and with the Swift path's answers.
    static var matchesSwift: Bool {
        MemoryLayout<VCPU>.offset(of: \.vgic.dirty) == Int(KEEL_VCPU_VGIC_DIRTY)
            && MemoryLayout<VCPU>.offset(of: \.stop) == Int(KEEL_VCPU_STOP)
            && MemoryLayout<VCPU>.offset(of: \.exits.byEC) == Int(KEEL_VCPU_EXITS_BY_EC)
            && MemoryLayout<VCPU>.offset(of: \.exitESR) == Int(KEEL_VCPU_EXIT_ESR)
            && MemoryLayout<[64 of UInt32]>.stride == 64 * 4
            && UInt32(KEEL_FAST_SMCCC_VERSION) == SMCCC.version
            && UInt32(KEEL_FAST_PSCI_VERSION) == PSCI.version
            && UInt64(KEEL_FAST_VERSION_ANSWER) == SMCCC.version1_1
            && UInt64(KEEL_FAST_VERSION_ANSWER) == PSCI.version1_1
            && keelVendorCallsAreSMC32
    }

    /// The vectors answer every vendor-hypervisor SMC64 id (top byte 0xC6) NOT_SUPPORTED, which
    /// is what `vendorHypervisorCall` answers as long as each id it knows is SMC32.
    private static var keelVendorCallsAreSMC32: Bool {
        let known: [7 of UInt32] = [
            SMCCC.vendorHypCallUID, SMCCC.vendorHypRevision, SMCCC.keelDoorbell, SMCCC.keelDMComplete,
            SMCCC.keelDMNotify, SMCCC.keelDMPolling, SMCCC.keelDMAnswers,
        ]
        for i in known.indices where isFast(known[i]) { return false }
#if KEEL_TEST_HOOKS
        if isFast(TestHooks.failCheck) || isFast(TestHooks.failOutsideExit) || isFast(TestHooks.failWhileStopping) { return false }
#endif
        return true
    }

    private static func isFast(_ function: UInt32) -> Bool { function >> 24 == UInt32(KEEL_FAST_UNKNOWN_TOP) }

    /// Full tracing records every exit, so it sends every HVC through the Swift path.
    static func setTracing(_ full: Bool) {
        keel_set_hvc_fast_off(full ? 1 : 0)
    }
}
