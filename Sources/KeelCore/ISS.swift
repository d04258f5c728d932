/// ISS of a data abort (EC 0x24/0x25).
public struct DataAbortISS: Equatable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Instruction syndrome valid: SAS, SSE, SRT, SF and AR hold information.
    public var isv: Bool { bits(rawValue, 24, 24) != 0 }
    /// Access size as log2 of bytes: 0 = byte ... 3 = doubleword.
    public var sas: UInt32 { bits(rawValue, 23, 22) }
    public var accessBytes: Int { 1 &<< Int(sas) }
    /// Sign-extend the loaded value.
    public var sse: Bool { bits(rawValue, 21, 21) != 0 }
    /// The transfer register (31 means xzr/wzr).
    public var srt: Int { Int(bits(rawValue, 20, 16)) }
    /// 64-bit register transfer (X rather than W).
    public var sf: Bool { bits(rawValue, 15, 15) != 0 }
    /// Acquire/release semantics.
    public var ar: Bool { bits(rawValue, 14, 14) != 0 }
    public var vncr: Bool { bits(rawValue, 13, 13) != 0 }
    /// Synchronous error type (with FEAT_RAS), or LST for LD64B/ST64B.
    public var set: UInt32 { bits(rawValue, 12, 11) }
    /// FAR not valid.
    public var fnv: Bool { bits(rawValue, 10, 10) != 0 }
    /// External abort type.
    public var ea: Bool { bits(rawValue, 9, 9) != 0 }
    /// Cache maintenance.
    public var cm: Bool { bits(rawValue, 8, 8) != 0 }
    /// Stage-2 fault on a stage-1 translation table walk.
    public var s1ptw: Bool { bits(rawValue, 7, 7) != 0 }
    /// Write not read.
    public var wnr: Bool { bits(rawValue, 6, 6) != 0 }
    public var dfsc: FaultStatus { FaultStatus(rawValue: UInt8(bits(rawValue, 5, 0))) }
}

/// ISS of an instruction abort (EC 0x20/0x21).
public struct InstructionAbortISS: Equatable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public var set: UInt32 { bits(rawValue, 12, 11) }
    public var fnv: Bool { bits(rawValue, 10, 10) != 0 }
    public var ea: Bool { bits(rawValue, 9, 9) != 0 }
    public var s1ptw: Bool { bits(rawValue, 7, 7) != 0 }
    public var ifsc: FaultStatus { FaultStatus(rawValue: UInt8(bits(rawValue, 5, 0))) }
}

/// ISS of a trapped MSR, MRS or system instruction (EC 0x18).
public struct SysRegISS: Equatable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public var op0: UInt32 { bits(rawValue, 21, 20) }
    public var op2: UInt32 { bits(rawValue, 19, 17) }
    public var op1: UInt32 { bits(rawValue, 16, 14) }
    public var crn: UInt32 { bits(rawValue, 13, 10) }
    public var rt: Int { Int(bits(rawValue, 9, 5)) }
    public var crm: UInt32 { bits(rawValue, 4, 1) }
    /// True for MRS (a read into Rt), false for MSR.
    public var isRead: Bool { bits(rawValue, 0, 0) != 0 }
    /// The register named by op0, op1, CRn, CRm, op2 (no direction, no Rt).
    public var encoding: SysRegEncoding {
        SysRegEncoding(op0: op0, op1: op1, crn: crn, crm: crm, op2: op2)
    }
}

/// ISS of a trapped WFI/WFE/WFIT/WFET (EC 0x01).
public struct WFxISS: Equatable, Sendable {
    public enum Kind: UInt32, Sendable { case wfi = 0, wfe = 1, wfit = 2, wfet = 3 }
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Condition code valid (AArch32).
    public var cv: Bool { bits(rawValue, 24, 24) != 0 }
    public var cond: UInt32 { bits(rawValue, 23, 20) }
    /// Register field valid (WFIT/WFET).
    public var rv: Bool { bits(rawValue, 14, 14) != 0 }
    public var rn: Int { Int(bits(rawValue, 9, 5)) }
    public var kind: Kind { Kind(rawValue: bits(rawValue, 1, 0))! }
}
