/// A value of an Exception Syndrome Register (`ESR_EL1`, `ESR_EL2`).
///
/// Layout (Arm ARM D17.2.37): ISS2 [55:32], EC [31:26], IL [25], ISS [24:0].
public struct ESR: Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Builds a syndrome from its fields (what Keel writes into `ESR_EL1` when it injects).
    public init(ec: ExceptionClass, il: Bool, iss: UInt32) {
        rawValue = UInt64(ec.rawValue) << 26 | (il ? 1 << 25 : 0) | UInt64(iss & 0x1FF_FFFF)
    }

    public var ec: ExceptionClass { ExceptionClass(rawValue: UInt8(truncatingIfNeeded: rawValue >> 26)) }
    /// Instruction length: true for a 32-bit instruction.
    public var il: Bool { rawValue & (1 << 25) != 0 }
    public var iss: UInt32 { UInt32(truncatingIfNeeded: rawValue) & 0x1FF_FFFF }
    public var iss2: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) & 0xFF_FFFF }
    /// Bits [63:56] are RES0.
    public var reservedBitsSet: Bool { rawValue >> 56 != 0 }

    public var dataAbort: DataAbortISS { DataAbortISS(rawValue: iss) }
    public var instructionAbort: InstructionAbortISS { InstructionAbortISS(rawValue: iss) }
    public var sysReg: SysRegISS { SysRegISS(rawValue: iss) }
    public var wfx: WFxISS { WFxISS(rawValue: iss) }
    /// The immediate of HVC, SVC and SMC (ISS[15:0]).
    public var imm16: UInt16 { UInt16(truncatingIfNeeded: iss) }
}

@inline(__always)
func bits(_ value: UInt32, _ high: UInt32, _ low: UInt32) -> UInt32 {
    (value >> low) & ((1 << (high - low + 1)) - 1)
}
