import Foundation
import TOMLKit

/// Typed reads of one TOML table for `ConfigReader`: each read names the key (with its path
/// inside the VM, e.g. `memory.size`) in the problem it records, and every key not read is
/// reported as unknown, with the nearest known key when one is close.
struct TOMLFields {
    let table: TOMLTable
    let scope: String?
    /// Path of this table inside its scope (`memory.`, `devices[0].`), prefixed to key names.
    let prefix: String
    let known: [String]

    init(_ table: TOMLTable, scope: String?, prefix: String = "", known: [String]) {
        self.table = table
        self.scope = scope
        self.prefix = prefix
        self.known = known
    }

    func unknownKeys(into problems: inout ProblemList) {
        for key in table.keys.sorted() where !known.contains(key) {
            let fix = nearest(key, in: known).map { "did you mean \"\($0)\"?" }
                ?? "remove it; the keys here are \(known.joined(separator: ", "))"
            problems.add(scope, prefix + key, "unknown key", fix: fix)
        }
    }

    func has(_ key: String) -> Bool { table[key] != nil }

    func string(_ key: String, required: Bool = false, example: String, into problems: inout ProblemList) -> String? {
        guard let value = table[key] else {
            if required { problems.add(scope, prefix + key, "missing", fix: "add \(key) = \(example)") }
            return nil
        }
        guard let string = value.string else {
            problems.add(scope, prefix + key, "must be a string, not \(describe(value))", fix: "write \(key) = \(example)")
            return nil
        }
        return string
    }

    /// A non-negative integer (TOML allows 0x..., 0o..., 0b... and _ separators).
    func integer(_ key: String, required: Bool = false, example: String, into problems: inout ProblemList) -> UInt64? {
        guard let value = table[key] else {
            if required { problems.add(scope, prefix + key, "missing", fix: "add \(key) = \(example)") }
            return nil
        }
        guard let int = value.int else {
            problems.add(scope, prefix + key, "must be an integer, not \(describe(value))", fix: "write \(key) = \(example)")
            return nil
        }
        guard int >= 0 else {
            problems.add(scope, prefix + key, "\(int) is negative", fix: "write \(key) = \(example)")
            return nil
        }
        return UInt64(int)
    }

    /// A size: an integer of bytes, or a string with a unit ("256M", "256 MiB", "4K", "1G").
    func size(_ key: String, required: Bool = false, example: String, into problems: inout ProblemList) -> UInt64? {
        guard let value = table[key] else {
            if required { problems.add(scope, prefix + key, "missing", fix: "add \(key) = \(example)") }
            return nil
        }
        if let int = value.int {
            guard int >= 0 else {
                problems.add(scope, prefix + key, "\(int) is negative", fix: "write \(key) = \(example)")
                return nil
            }
            return UInt64(int)
        }
        if let text = value.string, let bytes = parseSize(text) { return bytes }
        problems.add(scope, prefix + key, "\(describe(value)) is not a size", fix: "write \(key) = \(example) (bytes, or a number with K, M or G)")
        return nil
    }

    func bool(_ key: String, example: String, into problems: inout ProblemList) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let bool = value.bool else {
            problems.add(scope, prefix + key, "must be true or false, not \(describe(value))", fix: "write \(key) = \(example)")
            return nil
        }
        return bool
    }

    func array(_ key: String, example: String, into problems: inout ProblemList) -> TOMLArray? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else {
            problems.add(scope, prefix + key, "must be an array, not \(describe(value))", fix: "write \(key) = \(example)")
            return nil
        }
        return array
    }

    func subtable(_ key: String, example: String, into problems: inout ProblemList) -> TOMLTable? {
        guard let value = table[key] else { return nil }
        guard let sub = value.table else {
            problems.add(scope, prefix + key, "must be a table, not \(describe(value))", fix: "write \(key) = \(example)")
            return nil
        }
        return sub
    }
}

/// "the string \"x\"", "the integer 3", ... for messages.
func describe(_ value: TOMLValueConvertible) -> String {
    switch value.type {
    case .string: return "the string \"\(value.string ?? "")\""
    case .int: return "the integer \(value.int ?? 0)"
    case .bool: return "the boolean \(value.bool ?? false)"
    case .double: return "the number \(value.double ?? 0)"
    case .array: return "an array"
    case .table: return "a table"
    default: return "a \(value.type)"
    }
}

/// "256M", "256 MiB", "4k", "1G", "4096" -> bytes; nil when it is not a size or overflows.
func parseSize(_ text: String) -> UInt64? {
    let trimmed = text.replacingOccurrences(of: "_", with: "").trimmingCharacters(in: .whitespaces)
    let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
    guard !digits.isEmpty, let number = UInt64(digits) else { return nil }
    let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
    let shift: UInt64
    switch unit {
    case "", "b": shift = 0
    case "k", "kb", "kib": shift = 10
    case "m", "mb", "mib": shift = 20
    case "g", "gb", "gib": shift = 30
    default: return nil
    }
    let (result, overflow) = number.multipliedReportingOverflow(by: 1 << shift)
    return overflow ? nil : result
}
