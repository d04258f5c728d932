import Foundation
import KeelBoards
import KeelCore

/// What one record means, for people: the exit reason, a sub-key (register, device register,
/// SMCCC function) and a one-line description.
public struct TraceEvent {
    public let record: TraceRecord
    /// `HVC64`, `DABT_LOW`, `IRQ`, `vm created`, ...
    public let reason: String
    /// The finer key `keel trace stats` groups by: `PSCI_VERSION`, `uart DR`, `ID_AA64DFR0_EL1`.
    public let subKey: String
    /// Everything after the vCPU in a `decode` line.
    public let text: String

    /// Guest devices by address, for naming MMIO accesses (the board's default VM layout).
    public static let layout: VMLayout = qemuVirtDefaultVM

    public init(_ r: TraceRecord) {
        record = r
        let esr = ESR(rawValue: r.esr)
        let ecName = esr.ec.name.map { "\($0)" } ?? "EC_0x" + String(esr.ec.rawValue, radix: 16)
        switch r.kind {
        case .vmCreated:
            (reason, subKey, text) = ("vm created", "", "VM created, \(r.arg0 >> 20) MiB RAM")
            return
        case .vcpuStarted:
            (reason, subKey, text) = ("vcpu started", "", "vCPU started at \(hex(r.arg0))")
            return
        case .vmPoweredOff:
            (reason, subKey, text) = ("vm powered off", "", "VM powered off")
            return
        case .vmStopped:
            if r.arg0 == 3 {
                (reason, subKey, text) = ("vm stopped", "fault in Keel", "VM stopped by Keel: a fault in Keel while it handled the VM's exit")
                return
            }
            let why = r.arg0 == 1 ? "fault limit" : (r.arg0 == 2 ? "reset limit" : "policy \(r.arg0)")
            (reason, subKey, text) = ("vm stopped", why, "VM stopped by Keel: its \(why) was reached")
            return
        case .flush:
            (reason, subKey, text) = ("trace flush", "", "trace ring drained to the UART")
            return
        case .interrupt:
            reason = "IRQ"
        case .exit:
            reason = ecName
        }

        let what: String
        var key = ""
        switch r.action {
        case .mmioRead, .mmioWrite:
            let device = TraceEvent.deviceName(ipa: r.ipa)
            key = device
            let arrow = r.isWrite ? "->" : "<-"
            let reg = r.register == 31 ? "zr" : "\(r.width == 8 ? "x" : "w")\(r.register)"
            what = "MMIO \(r.isWrite ? "write" : "read") \(r.width)B \(reg) \(arrow) \(hex(r.ipa)) (\(device)) = \(hex(r.arg0))"
        case .hypercall:
            let function = UInt32(truncatingIfNeeded: r.arg0)
            key = TraceEvent.smcccName(function)
            what = "\(ecName == "SMC64" ? "SMC" : "HVC") \(key) (\(hex(UInt64(function)))) -> \(TraceEvent.result(r.arg1))"
        case .sysRegRead, .sysRegWrite:
            key = TraceEvent.sysRegName(esr)
            let reg = r.register == 31 ? "xzr" : "x\(r.register)"
            what = r.action == .sysRegRead ? "MRS \(reg) <- \(key) = \(hex(r.arg0))" : "MSR \(key) <- \(reg) = \(hex(r.arg0))"
        case .undefInjected:
            if esr.ec == .sys64 {
                key = TraceEvent.sysRegName(esr)
                what = "\(esr.sysReg.isRead ? "MRS" : "MSR") \(key) -> UNDEF injected"
            } else {
                what = "\(ecName) -> UNDEF injected"
            }
        case .abortInjected:
            key = "outside the VM"
            let isData = esr.ec == .dabtLow || esr.ec == .dabtCur
            let access = isData ? (esr.dataAbort.wnr ? "write" : "read") : "fetch"
            what = "\(access) at IPA \(hex(r.ipa)) outside the VM -> external abort injected (ESR_EL1 \(hex(r.arg0)))"
        case .wfx:
            key = esr.wfx.kind == .wfi ? "WFI" : esr.wfx.kind == .wfe ? "WFE" : "WFxT"
            what = key
        case .virtualIRQInjected:
            what = "virtual IRQ \(r.arg0) injected"
        case .serrorInjected:
            what = "SError -> virtual SError injected"
        case .mmioForwarded:
            let (transport, offset) = Self.virtioTransport(ipa: r.ipa) ?? (0, 0)
            key = "virtio \(transport)"
            let arrow = r.isWrite ? "->" : "<-"
            let reg = r.register == 31 ? "zr" : "\(r.width == 8 ? "x" : "w")\(r.register)"
            let pickup = r.arg1 & 0xFFFF_FFFF, service = r.arg1 >> 32
            what = "MMIO \(r.isWrite ? "write" : "read") \(r.width)B \(reg) \(arrow) \(hex(r.ipa)) (virtio \(transport) +\(hex(offset))) = \(hex(r.arg0))"
                + (r.arg1 == TraceRecord.forwardedUnanswered
                    ? " forwarded: not answered (timed out, or the device model stopped)"
                    : " forwarded: picked up after \(pickup), completed after \(service), resumed after \(r.detail) ticks")
        case .none:
            what = r.kind == .interrupt ? "physical IRQ" : ecName
        }
        subKey = key
        text = what
    }

    /// The virtio transport (index, register offset) at `ipa`, if it is in the transport window.
    static func virtioTransport(ipa: UInt64) -> (index: UInt64, offset: UInt64)? {
        guard ipa >= DeviceModel.transportIPA, ipa - DeviceModel.transportIPA < UInt64(DeviceModel.maxTransports) * DeviceModel.transportSize else {
            return nil
        }
        return ((ipa - DeviceModel.transportIPA) / DeviceModel.transportSize, (ipa - DeviceModel.transportIPA) % DeviceModel.transportSize)
    }

    /// `uart DR`, `uart FR`, ... or `IPA 0x...` where no device is known.
    static func deviceName(ipa: UInt64) -> String {
        let uart = layout.uartIPA
        if let (index, offset) = virtioTransport(ipa: ipa) {
            // A virtio transport Keel answered itself (one given up on, or its device model off).
            return "virtio \(index) +\(hex(offset))"
        }
        guard ipa >= uart && ipa - uart < 0x1000 else { return "unknown device" }
        let offset = ipa - uart
        if let name = uartRegisters[offset] { return "uart \(name)" }
        if offset >= 0xFE0 && offset < 0x1000 { return "uart ID" }
        return "uart +\(hex(offset))"
    }

    /// The PL011's registers by offset (built once: a decode names millions of accesses).
    static let uartRegisters: [UInt64: String] = [
        0x000: "DR", 0x004: "RSR", 0x018: "FR", 0x020: "ILPR", 0x024: "IBRD", 0x028: "FBRD", 0x02C: "LCR_H",
        0x030: "CR", 0x034: "IFLS", 0x038: "IMSC", 0x03C: "RIS", 0x040: "MIS", 0x044: "ICR", 0x048: "DMACR",
    ]

    static func smcccName(_ function: UInt32) -> String {
        smcccNames[function] ?? "function \(hex(UInt64(function)))"
    }

    /// SMCCC and PSCI function ids Keel knows, by id (built once).
    static let smcccNames: [UInt32: String] = [
        SMCCC.version: "SMCCC_VERSION", SMCCC.archFeatures: "SMCCC_ARCH_FEATURES",
        SMCCC.vendorHypCallUID: "KEEL_CALL_UID", SMCCC.vendorHypRevision: "KEEL_REVISION",
        PSCI.version: "PSCI_VERSION", PSCI.cpuSuspend32: "PSCI_CPU_SUSPEND", PSCI.cpuSuspend64: "PSCI_CPU_SUSPEND64",
        PSCI.cpuOff: "PSCI_CPU_OFF", PSCI.cpuOn32: "PSCI_CPU_ON", PSCI.cpuOn64: "PSCI_CPU_ON64",
        PSCI.affinityInfo32: "PSCI_AFFINITY_INFO", PSCI.affinityInfo64: "PSCI_AFFINITY_INFO64",
        PSCI.migrateInfoType: "PSCI_MIGRATE_INFO_TYPE", PSCI.systemOff: "PSCI_SYSTEM_OFF",
        PSCI.systemReset: "PSCI_SYSTEM_RESET", PSCI.features: "PSCI_FEATURES",
    ]

    static func sysRegName(_ esr: ESR) -> String {
        let e = esr.sysReg.encoding
        return SysRegNames.name(of: e) ?? "S\(e.op0)_\(e.op1)_C\(e.crn)_C\(e.crm)_\(e.op2)"
    }

    static func result(_ value: UInt64) -> String {
        let signed = Int64(bitPattern: value)
        return signed < 0 && signed > -100 ? "\(signed)" : hex(value)
    }
}
