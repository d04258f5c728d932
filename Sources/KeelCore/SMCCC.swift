/// SMC Calling Convention (Arm DEN 0028) and PSCI (Arm DEN 0022) function identifiers and
/// return codes, as a guest passes them in x0 of HVC or SMC.
public enum SMCCC {
    public static let version: UInt32 = 0x8000_0000
    public static let archFeatures: UInt32 = 0x8000_0001
    /// The Spectre workarounds (SpectreProfile): variant 2 (branch target injection), variant 4
    /// (speculative store bypass), Spectre-BHB (branch history injection).
    public static let archWorkaround1: UInt32 = 0x8000_8000
    public static let archWorkaround2: UInt32 = 0x8000_7FFF
    public static let archWorkaround3: UInt32 = 0x8000_3FFF
    /// Vendor-specific hypervisor service range (owner 6), where Keel's own calls live.
    public static let vendorHypCallUID: UInt32 = 0x8600_FF01
    public static let vendorHypRevision: UInt32 = 0x8600_FF03
    /// Keel's doorbell: x1 = the VM to ring (its number in the packed image). Its vCPUs get
    /// SPI `doorbellINTID`, edge-triggered. Returns 0; -1 (NOT_SUPPORTED) for a VM the caller
    /// may not ring (the config's `doorbell_peers`, by default the VMs it shares memory with,
    /// and itself) or that does not exist; -2 for a peer that is powered off.
    public static let keelDoorbell: UInt32 = 0x8600_0010
    public static let doorbellINTID: UInt32 = 47
    /// The device model's calls (docs/device-model.md), only from a VM that serves virtio
    /// devices: complete request (x1 slot, x2 its odd sequence, x3 the read value, x4 CNTVCT
    /// when picked up), raise a frontend's interrupt (x1 device index), polling on or off (x1),
    /// the page of the caller's RAM where it writes answers (x1 its IPA, 0 none).
    public static let keelDMComplete: UInt32 = 0x8600_0020
    public static let keelDMNotify: UInt32 = 0x8600_0021
    public static let keelDMPolling: UInt32 = 0x8600_0022
    public static let keelDMAnswers: UInt32 = 0x8600_0023
    /// The range of ids the device-model driver may pass through (`KEEL_DM_IOC_HVC`).
    public static let keelDMFirst: UInt32 = 0x8600_0020
    public static let keelDMLast: UInt32 = 0x8600_002F

    /// SMCCC v1.1.
    public static let version1_1: UInt64 = 0x0001_0001

    public static let notSupported: Int64 = -1
    /// SMCCC_ARCH_FEATURES of WORKAROUND_2: no PE needs the call (unaffected, or mitigated for good).
    public static let notRequired: Int64 = -2
    /// SMCCC_ARCH_FEATURES of WORKAROUND_1 or _3: implemented, but this PE does not need it.
    public static let workaroundUnaffected: Int64 = 1

    /// Bit 31 set: a fast call. Bit 30: SMC64/HVC64 convention.
    public static func isFastCall(_ id: UInt32) -> Bool { id & 0x8000_0000 != 0 }
    /// Owning entity, bits [29:24]: 0 Arm architecture, 4 standard secure service (PSCI),
    /// 5 standard hypervisor service, 6 vendor hypervisor service.
    public static func owner(_ id: UInt32) -> UInt32 { (id >> 24) & 0x3F }

    /// Keel's UID for the vendor hypervisor service query, as four 32-bit words in x0..x3.
    /// ("keel" "-hyp" "-arm" "v8.0" in ASCII, little-endian words.)
    public static let keelUID: (UInt32, UInt32, UInt32, UInt32) = (0x6C65_656B, 0x7079_682D, 0x6D72_612D, 0x302E_3876)
}

public enum PSCI {
    public static let version: UInt32 = 0x8400_0000
    public static let cpuSuspend32: UInt32 = 0x8400_0001
    public static let cpuOff: UInt32 = 0x8400_0002
    public static let cpuOn32: UInt32 = 0x8400_0003
    public static let affinityInfo32: UInt32 = 0x8400_0004
    public static let migrateInfoType: UInt32 = 0x8400_0006
    public static let systemOff: UInt32 = 0x8400_0008
    public static let systemReset: UInt32 = 0x8400_0009
    public static let features: UInt32 = 0x8400_000A
    public static let cpuSuspend64: UInt32 = 0xC400_0001
    public static let cpuOn64: UInt32 = 0xC400_0003
    public static let affinityInfo64: UInt32 = 0xC400_0004

    /// PSCI 1.1.
    public static let version1_1: UInt64 = 0x0001_0001

    public static let success: Int64 = 0
    public static let notSupported: Int64 = -1
    /// SMCCC_ARCH_FEATURES of WORKAROUND_2: no PE needs the call (unaffected, or mitigated for good).
    public static let notRequired: Int64 = -2
    /// SMCCC_ARCH_FEATURES of WORKAROUND_1 or _3: implemented, but this PE does not need it.
    public static let workaroundUnaffected: Int64 = 1
    public static let invalidParameters: Int64 = -2
    public static let denied: Int64 = -3
    public static let alreadyOn: Int64 = -4
    public static let onPending: Int64 = -5
    public static let internalFailure: Int64 = -6
    public static let notPresent: Int64 = -7
    public static let disabled: Int64 = -8
    public static let invalidAddress: Int64 = -9
}
