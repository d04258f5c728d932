import Foundation
import KeelCore

/// An ESR value explained for a person (`keel esr`): the exception class, IL, and the fields of
/// the ISS for the classes whose layout is known. Never fails: unallocated classes, reserved
/// fault codes and stray RES0 bits are reported as such.
public struct ESRReport {
    public let esr: ESR
    /// Ordered (field, value) pairs, as printed.
    public private(set) var fields: [(String, String)] = []
    /// The same fields with typed values, for JSON.
    private var values: [String: Any] = [:]

    public init(_ raw: UInt64) {
        esr = ESR(rawValue: raw)
        let ec = esr.ec
        add("value", hex(raw), raw)
        add("ec", "\(hex(UInt64(ec.rawValue))) \(ec.name.map { "\($0)" } ?? "UNALLOCATED"): \(ec.summary)", UInt64(ec.rawValue))
        values["ec_name"] = ec.name.map { "\($0)" } ?? "UNALLOCATED"
        values["ec_description"] = "\(ec.summary)"
        add("il", esr.il ? "1 (32-bit instruction)" : "0 (16-bit instruction, or no instruction)", esr.il)
        add("iss", hex(UInt64(esr.iss)), UInt64(esr.iss))
        if esr.iss2 != 0 { add("iss2", hex(UInt64(esr.iss2)), UInt64(esr.iss2)) }
        if esr.reservedBitsSet { add("warning", "bits [63:56] are RES0 but set", "bits [63:56] are RES0 but set") }

        switch ec {
        case .dabtLow, .dabtCur: decodeDataAbort(esr.dataAbort)
        case .iabtLow, .iabtCur: decodeInstructionAbort(esr.instructionAbort)
        case .sys64: decodeSysReg(esr.sysReg)
        case .hvc64, .hvc32, .smc64, .smc32, .svc64, .svc32, .brk64:
            add("imm16", hex(UInt64(esr.imm16)), UInt64(esr.imm16))
        case .wfx: decodeWFx(esr.wfx)
        default: break
        }
    }

    private mutating func add(_ field: String, _ text: String, _ value: Any) {
        fields.append((field, text))
        values[field] = value
    }

    private mutating func decodeDataAbort(_ iss: DataAbortISS) {
        add("isv", iss.isv ? "1 (syndrome valid)" : "0 (no instruction syndrome)", iss.isv)
        if iss.isv {
            add("sas", "\(iss.sas) (\(iss.accessBytes)-byte access)", iss.sas)
            add("sse", iss.sse ? "1 (sign-extended)" : "0", iss.sse)
            add("srt", iss.srt == 31 ? "31 (xzr/wzr)" : "\(iss.srt) (x\(iss.srt))", iss.srt)
            add("sf", iss.sf ? "1 (64-bit register)" : "0 (32-bit register)", iss.sf)
            add("ar", iss.ar ? "1 (acquire/release)" : "0", iss.ar)
        }
        add("vncr", iss.vncr ? "1" : "0", iss.vncr)
        add("set", "\(iss.set)", iss.set)
        add("fnv", iss.fnv ? "1 (FAR not valid)" : "0 (FAR valid)", iss.fnv)
        add("ea", iss.ea ? "1" : "0", iss.ea)
        add("cm", iss.cm ? "1 (cache maintenance)" : "0", iss.cm)
        add("s1ptw", iss.s1ptw ? "1 (stage-2 fault on a stage-1 walk)" : "0", iss.s1ptw)
        add("wnr", iss.wnr ? "1 (write)" : "0 (read)", iss.wnr)
        addFaultStatus("dfsc", iss.dfsc)
    }

    private mutating func decodeInstructionAbort(_ iss: InstructionAbortISS) {
        add("set", "\(iss.set)", iss.set)
        add("fnv", iss.fnv ? "1 (FAR not valid)" : "0 (FAR valid)", iss.fnv)
        add("ea", iss.ea ? "1" : "0", iss.ea)
        add("s1ptw", iss.s1ptw ? "1 (stage-2 fault on a stage-1 walk)" : "0", iss.s1ptw)
        addFaultStatus("ifsc", iss.ifsc)
    }

    private mutating func addFaultStatus(_ field: String, _ status: FaultStatus) {
        let (kind, level) = status.decoded
        var text = "\(hex(UInt64(status.rawValue))) \(kind.name)"
        if let level { text += ", level \(level)" }
        add(field, text, UInt64(status.rawValue))
        values["\(field)_name"] = "\(kind.name)"
        if let level { values["\(field)_level"] = Int(level) }
    }

    private mutating func decodeSysReg(_ iss: SysRegISS) {
        let e = iss.encoding
        let generic = "S\(e.op0)_\(e.op1)_C\(e.crn)_C\(e.crm)_\(e.op2)"
        let name = SysRegNames.name(of: e) ?? (e.op0 == 1 ? "system instruction \(generic)" : generic)
        add("register", name, name)
        add("op0", "\(e.op0)", e.op0)
        add("op1", "\(e.op1)", e.op1)
        add("crn", "\(e.crn)", e.crn)
        add("crm", "\(e.crm)", e.crm)
        add("op2", "\(e.op2)", e.op2)
        add("rt", iss.rt == 31 ? "31 (xzr)" : "\(iss.rt) (x\(iss.rt))", iss.rt)
        add("direction", iss.isRead ? "read (MRS)" : "write (MSR)", iss.isRead ? "read" : "write")
    }

    private mutating func decodeWFx(_ iss: WFxISS) {
        let names = ["WFI", "WFE", "WFIT", "WFET"]
        add("ti", "\(iss.kind.rawValue) (\(names[Int(iss.kind.rawValue)]))", names[Int(iss.kind.rawValue)])
        if iss.rv { add("rn", "\(iss.rn) (x\(iss.rn))", iss.rn) }
    }

    /// `field: value` lines.
    public var text: String {
        let width = fields.map(\.0.count).max() ?? 0
        return fields.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }

    /// One JSON object with sorted keys.
    public var json: String {
        let data = try! JSONSerialization.data(withJSONObject: values, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// Hex (0x...) or decimal.
    public static func parse(_ text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
        if trimmed.lowercased().hasPrefix("0x") { return UInt64(trimmed.dropFirst(2), radix: 16) }
        return UInt64(trimmed)
    }
}
