/// `ESR_ELx.EC`, bits [31:26]: why an exception was taken.
///
/// Names follow Linux's `ESR_ELx_EC_*` macros (arch/arm64/include/asm/esr.h) without the prefix;
/// the classes Linux does not name (0x14, 0x1B, 0x3D) take a name from the Arm ARM description.
/// `summary` is the Arm ARM's description. Checked against shared/reference/ in the tests.
public struct ExceptionClass: RawRepresentable, Equatable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x3F }

    public static let unknown = ExceptionClass(rawValue: 0x00)
    public static let wfx = ExceptionClass(rawValue: 0x01)
    public static let cp15_32 = ExceptionClass(rawValue: 0x03)
    public static let cp15_64 = ExceptionClass(rawValue: 0x04)
    public static let cp14_mr = ExceptionClass(rawValue: 0x05)
    public static let cp14_ls = ExceptionClass(rawValue: 0x06)
    public static let fpASIMD = ExceptionClass(rawValue: 0x07)
    public static let cp10_id = ExceptionClass(rawValue: 0x08)
    public static let pac = ExceptionClass(rawValue: 0x09)
    public static let other = ExceptionClass(rawValue: 0x0A)
    public static let cp14_64 = ExceptionClass(rawValue: 0x0C)
    public static let bti = ExceptionClass(rawValue: 0x0D)
    public static let illegalState = ExceptionClass(rawValue: 0x0E)
    public static let svc32 = ExceptionClass(rawValue: 0x11)
    public static let hvc32 = ExceptionClass(rawValue: 0x12)
    public static let smc32 = ExceptionClass(rawValue: 0x13)
    public static let sys128 = ExceptionClass(rawValue: 0x14)
    public static let svc64 = ExceptionClass(rawValue: 0x15)
    public static let hvc64 = ExceptionClass(rawValue: 0x16)
    public static let smc64 = ExceptionClass(rawValue: 0x17)
    public static let sys64 = ExceptionClass(rawValue: 0x18)
    public static let sve = ExceptionClass(rawValue: 0x19)
    public static let eret = ExceptionClass(rawValue: 0x1A)
    public static let tstart = ExceptionClass(rawValue: 0x1B)
    public static let fpac = ExceptionClass(rawValue: 0x1C)
    public static let sme = ExceptionClass(rawValue: 0x1D)
    public static let impDef = ExceptionClass(rawValue: 0x1F)
    public static let iabtLow = ExceptionClass(rawValue: 0x20)
    public static let iabtCur = ExceptionClass(rawValue: 0x21)
    public static let pcAlign = ExceptionClass(rawValue: 0x22)
    public static let dabtLow = ExceptionClass(rawValue: 0x24)
    public static let dabtCur = ExceptionClass(rawValue: 0x25)
    public static let spAlign = ExceptionClass(rawValue: 0x26)
    public static let mops = ExceptionClass(rawValue: 0x27)
    public static let fpExc32 = ExceptionClass(rawValue: 0x28)
    public static let fpExc64 = ExceptionClass(rawValue: 0x2C)
    public static let gcs = ExceptionClass(rawValue: 0x2D)
    public static let serror = ExceptionClass(rawValue: 0x2F)
    public static let breakptLow = ExceptionClass(rawValue: 0x30)
    public static let breakptCur = ExceptionClass(rawValue: 0x31)
    public static let softstpLow = ExceptionClass(rawValue: 0x32)
    public static let softstpCur = ExceptionClass(rawValue: 0x33)
    public static let watchptLow = ExceptionClass(rawValue: 0x34)
    public static let watchptCur = ExceptionClass(rawValue: 0x35)
    public static let bkpt32 = ExceptionClass(rawValue: 0x38)
    public static let vector32 = ExceptionClass(rawValue: 0x3A)
    public static let brk64 = ExceptionClass(rawValue: 0x3C)
    public static let profiling = ExceptionClass(rawValue: 0x3D)

    /// Short name, or nil for an unallocated class.
    @_optimize(size)
    public var name: StaticString? {
        switch rawValue {
        case 0x00: "UNKNOWN"
        case 0x01: "WFx"
        case 0x03: "CP15_32"
        case 0x04: "CP15_64"
        case 0x05: "CP14_MR"
        case 0x06: "CP14_LS"
        case 0x07: "FP_ASIMD"
        case 0x08: "CP10_ID"
        case 0x09: "PAC"
        case 0x0A: "OTHER"
        case 0x0C: "CP14_64"
        case 0x0D: "BTI"
        case 0x0E: "ILL"
        case 0x11: "SVC32"
        case 0x12: "HVC32"
        case 0x13: "SMC32"
        case 0x14: "SYS128"
        case 0x15: "SVC64"
        case 0x16: "HVC64"
        case 0x17: "SMC64"
        case 0x18: "SYS64"
        case 0x19: "SVE"
        case 0x1A: "ERET"
        case 0x1B: "TSTART"
        case 0x1C: "FPAC"
        case 0x1D: "SME"
        case 0x1F: "IMP_DEF"
        case 0x20: "IABT_LOW"
        case 0x21: "IABT_CUR"
        case 0x22: "PC_ALIGN"
        case 0x24: "DABT_LOW"
        case 0x25: "DABT_CUR"
        case 0x26: "SP_ALIGN"
        case 0x27: "MOPS"
        case 0x28: "FP_EXC32"
        case 0x2C: "FP_EXC64"
        case 0x2D: "GCS"
        case 0x2F: "SERROR"
        case 0x30: "BREAKPT_LOW"
        case 0x31: "BREAKPT_CUR"
        case 0x32: "SOFTSTP_LOW"
        case 0x33: "SOFTSTP_CUR"
        case 0x34: "WATCHPT_LOW"
        case 0x35: "WATCHPT_CUR"
        case 0x38: "BKPT32"
        case 0x3A: "VECTOR32"
        case 0x3C: "BRK64"
        case 0x3D: "PROFILING"
        default: nil
        }
    }

    /// The Arm ARM's description of the class.
    public var summary: StaticString {
        switch rawValue {
        case 0x00: "Unknown reason"
        case 0x01: "Trapped WFI, WFE, WFIT or WFET"
        case 0x03: "Trapped MCR/MRC, coproc==0b1111"
        case 0x04: "Trapped MCRR/MRRC, coproc==0b1111"
        case 0x05: "Trapped MCR/MRC, coproc==0b1110"
        case 0x06: "Trapped LDC/STC"
        case 0x07: "Access to SME/SVE/AdvSIMD/FP trapped by CPACR/CPTR"
        case 0x08: "Trapped VMRS access, ID group trap"
        case 0x09: "Trapped PAuth instruction"
        case 0x0A: "Trapped LD64B/ST64B/ST64BV/ST64BV0 or other"
        case 0x0C: "Trapped MRRC, coproc==0b1110"
        case 0x0D: "Branch Target Exception"
        case 0x0E: "Illegal Execution state"
        case 0x11: "SVC in AArch32"
        case 0x12: "HVC in AArch32"
        case 0x13: "SMC in AArch32"
        case 0x14: "Trapped MSRR/MRRS/SYSP (128-bit)"
        case 0x15: "SVC in AArch64"
        case 0x16: "HVC in AArch64"
        case 0x17: "SMC in AArch64"
        case 0x18: "Trapped MSR/MRS/System instruction in AArch64"
        case 0x19: "Access to SVE trapped"
        case 0x1A: "Trapped ERET/ERETAA/ERETAB"
        case 0x1B: "TSTART (Transactional Memory)"
        case 0x1C: "Pointer Authentication failure"
        case 0x1D: "Access to SME trapped"
        case 0x1F: "IMPLEMENTATION DEFINED exception to EL3"
        case 0x20: "Instruction Abort from a lower EL"
        case 0x21: "Instruction Abort, same EL"
        case 0x22: "PC alignment fault"
        case 0x24: "Data Abort from a lower EL"
        case 0x25: "Data Abort, same EL"
        case 0x26: "SP alignment fault"
        case 0x27: "Memory Operation (CPY*/SET*) exception"
        case 0x28: "Trapped FP exception from AArch32"
        case 0x2C: "Trapped FP exception from AArch64"
        case 0x2D: "GCS exception"
        case 0x2F: "SError exception"
        case 0x30: "Breakpoint from a lower EL"
        case 0x31: "Breakpoint, same EL"
        case 0x32: "Software Step from a lower EL"
        case 0x33: "Software Step, same EL"
        case 0x34: "Watchpoint from a lower EL"
        case 0x35: "Watchpoint, same EL"
        case 0x38: "BKPT in AArch32"
        case 0x3A: "Vector Catch from AArch32"
        case 0x3C: "BRK in AArch64"
        case 0x3D: "Profiling exception"
        default: "unallocated"
        }
    }

    /// True for the exception classes of data and instruction aborts.
    public var isAbort: Bool { self == .dabtLow || self == .dabtCur || self == .iabtLow || self == .iabtCur }
}
