import Foundation
import KeelCore

/// One `keel trace decode` line per record, as text or as a JSON object. Time 0 and the
/// counter frequency are fixed when the formatter is made, so a line costs the same whatever
/// came before it (the decoder once recomputed time 0 from every record for every line).
public struct TraceLineFormatter {
    /// Counter ticks per second; 1 when the trace has no header (times read as ticks).
    public let counterHz: UInt64
    /// The counter value printed as time 0.
    public let origin: UInt64

    public init(counterHz: UInt64, origin: UInt64) {
        self.counterHz = max(counterHz, 1)
        self.origin = origin
    }

    public init(header: TraceHeader?, origin: UInt64) {
        self.init(counterHz: header?.counterHz ?? 1, origin: origin)
    }

    /// `0.001234567 vm0/vcpu1 MMIO write 4B w1 -> 0x9000018 (uart DR) = 0x41 312 ticks`
    public func text(_ event: TraceEvent) -> String {
        let r = event.record
        var line = time(r.exitTime)
        line += " vm\(r.vm)/vcpu\(r.vcpu) "
        line += event.text
        if r.hasHandlingTime { line += " \(r.checkedHandlingTicks) ticks" }
        return line
    }

    /// The record as one JSON object, keys sorted (`keel-trace` schema, version 1).
    public func json(_ event: TraceEvent) -> String {
        let r = event.record
        var out = JSONObjectWriter()
        out.string("action", "\(r.action)")
        out.number("arg0", r.arg0)
        out.number("arg1", r.arg1)
        out.number("cpu", UInt64(r.cpu))
        out.number("elr", r.elr)
        out.number("entry_ticks", r.entryTime)
        out.number("esr", r.esr)
        out.number("exit_ticks", r.exitTime)
        out.number("far", r.far)
        out.number("handling_ticks", r.checkedHandlingTicks)
        out.number("ipa", r.ipa)
        out.string("key", event.subKey)
        out.string("kind", "\(r.kind)")
        out.string("reason", event.reason)
        out.number("seq", UInt64(r.sequence))
        out.raw("t", time(r.exitTime))
        out.string("text", event.text)
        out.number("vcpu", UInt64(r.vcpu))
        out.number("vm", UInt64(r.vm))
        return out.finish()
    }

    /// Seconds since time 0 with nine decimals, from the counter in integers (exact, and
    /// without a format string per line). Negative for a record older than time 0 (a live
    /// stream's time 0 is its first record; another CPU's ring may drain older ones later).
    public func time(_ counter: UInt64) -> String {
        counter >= origin ? Self.seconds(counter - origin, hz: counterHz) : "-" + Self.seconds(origin - counter, hz: counterHz)
    }

    /// A duration in microseconds with three decimals (`12.345`): Chrome trace time stamps.
    public func microseconds(_ ticks: UInt64) -> String {
        let (whole, nanos) = Self.split(ticks, hz: counterHz)
        let micros = String(nanos / 1000), fraction = String(nanos % 1000)
        let zeros = String(repeating: "0", count: 3 - fraction.count)
        if whole == 0 { return micros + "." + zeros + fraction }
        return "\(whole)" + String(repeating: "0", count: 6 - micros.count) + micros + "." + zeros + fraction
    }

    /// `ticks / hz` as `S.NNNNNNNNN`, rounded to the nearest nanosecond.
    static func seconds(_ ticks: UInt64, hz: UInt64) -> String {
        let (whole, nanos) = split(ticks, hz: hz)
        let digits = String(nanos)
        return "\(whole)." + String(repeating: "0", count: 9 - digits.count) + digits
    }

    /// Whole seconds and nanoseconds (rounded) in `ticks` of a `hz` counter.
    static func split(_ ticks: UInt64, hz: UInt64) -> (whole: UInt64, nanos: UInt64) {
        var whole = ticks / hz
        let rest = ticks % hz
        // rest < hz, so rest * 1e9 / hz < 1e9: the quotient fits and the division cannot trap.
        let product = rest.multipliedFullWidth(by: 1_000_000_000)
        var (nanos, remainder) = hz.dividingFullWidth(product)
        if remainder >= hz - remainder { nanos += 1 }  // remainder * 2 >= hz, without overflow
        if nanos == 1_000_000_000 { (whole, nanos) = (whole + 1, 0) }
        return (whole, nanos)
    }
}

/// A flat JSON object written field by field, in the order given (the caller sorts the keys).
struct JSONObjectWriter {
    private var text = "{"

    mutating func number(_ key: String, _ value: UInt64) { raw(key, String(value)) }
    mutating func string(_ key: String, _ value: String) { raw(key, Self.quoted(value)) }

    /// A value already in JSON form.
    mutating func raw(_ key: String, _ json: String) {
        if text.utf8.count > 1 { text += "," }
        text += Self.quoted(key)
        text += ":"
        text += json
    }

    mutating func finish() -> String {
        text += "}"
        return text
    }

    /// A JSON string: quotes, backslashes and control characters escaped.
    static func quoted(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) else { return "\"" + value + "\"" }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// The lines of `keel trace decode`, text or JSON, written as bytes straight into the output
/// buffer: the same bytes as `TraceLineFormatter.text` and `.json`, without building Strings
/// per line. What a record's description (`TraceEvent`) says depends only on its kind, action,
/// access, ESR, IPA and arguments, and a trace repeats a few hundred of those millions of
/// times, so the description is kept in a small cache rather than built again for every record.
public struct TraceLineWriter {
    public let formatter: TraceLineFormatter
    private var cache: [Entry?]

    /// What `TraceEvent` reads from a record, and what it made of it.
    private struct Entry {
        var kind: UInt8, action: UInt8, width: UInt8, register: UInt8, flags: UInt8
        var esr: UInt64, ipa: UInt64, arg0: UInt64, arg1: UInt64
        /// `event.text`.
        var text: [UInt8]
        /// The JSON values: the action quoted; `"key":...,"kind":...,"reason":...`; the text quoted.
        var jsonAction: [UInt8], jsonKeyKindReason: [UInt8], jsonText: [UInt8]

        init(_ r: TraceRecord) {
            (kind, action, width, register, flags) = (r.kind.rawValue, r.action.rawValue, r.width, r.register, r.flags)
            (esr, ipa, arg0, arg1) = (r.esr, r.ipa, r.arg0, r.arg1)
            let event = TraceEvent(r)
            text = Array(event.text.utf8)
            jsonAction = Array(JSONObjectWriter.quoted("\(r.action)").utf8)
            jsonKeyKindReason = Array(("\"key\":" + JSONObjectWriter.quoted(event.subKey) + ",\"kind\":" + JSONObjectWriter.quoted("\(r.kind)")
                + ",\"reason\":" + JSONObjectWriter.quoted(event.reason)).utf8)
            jsonText = Array(JSONObjectWriter.quoted(event.text).utf8)
        }

        func describes(_ r: TraceRecord) -> Bool {
            esr == r.esr && arg0 == r.arg0 && ipa == r.ipa && arg1 == r.arg1 && kind == r.kind.rawValue
                && action == r.action.rawValue && width == r.width && register == r.register && flags == r.flags
        }
    }

    static let cacheSize = 4096

    public init(_ formatter: TraceLineFormatter) {
        self.formatter = formatter
        cache = Array(repeating: nil, count: Self.cacheSize)
    }

    /// The cache slot of the record's description, filled if it held another.
    private mutating func slot(_ r: TraceRecord) -> Int {
        var h = r.esr &* 0x9E37_79B9_7F4A_7C15 ^ r.arg0 &* 0xC2B2_AE3D_27D4_EB4F ^ r.ipa &* 0x1656_67B1_9E37_79F9
        h ^= r.arg1 &* 0x27D4_EB2F_1656_67C5 ^ UInt64(r.action.rawValue) << 8 ^ UInt64(r.kind.rawValue) ^ UInt64(r.width) << 16
        h ^= UInt64(r.register) << 24 ^ UInt64(r.flags) << 32
        let slot = Int(truncatingIfNeeded: (h ^ h >> 29) & UInt64(Self.cacheSize - 1))
        if cache[slot]?.describes(r) != true { cache[slot] = Entry(r) }
        return slot
    }

    /// Appends the record's text line (without its newline) to `out`.
    public mutating func append(_ r: TraceRecord, to out: inout [UInt8]) {
        let slot = slot(r)
        formatter.appendTime(r.exitTime, to: &out)
        out.append(contentsOf: " vm".utf8)
        Self.appendDecimal(UInt64(r.vm), to: &out)
        out.append(contentsOf: "/vcpu".utf8)
        Self.appendDecimal(UInt64(r.vcpu), to: &out)
        out.append(0x20)
        out.append(contentsOf: cache[slot].unsafelyUnwrapped.text)
        if r.hasHandlingTime {
            out.append(0x20)
            Self.appendDecimal(r.checkedHandlingTicks, to: &out)
            out.append(contentsOf: " ticks".utf8)
        }
    }

    /// Appends the record's JSON line (without its newline) to `out`: `TraceLineFormatter.json`'s
    /// keys in its order.
    public mutating func appendJSON(_ r: TraceRecord, to out: inout [UInt8]) {
        let slot = slot(r)
        out.append(contentsOf: "{\"action\":".utf8)
        out.append(contentsOf: cache[slot].unsafelyUnwrapped.jsonAction)
        func number(_ key: StaticString, _ value: UInt64) {
            out.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
            Self.appendDecimal(value, to: &out)
        }
        number(",\"arg0\":", r.arg0)
        number(",\"arg1\":", r.arg1)
        number(",\"cpu\":", UInt64(r.cpu))
        number(",\"elr\":", r.elr)
        number(",\"entry_ticks\":", r.entryTime)
        number(",\"esr\":", r.esr)
        number(",\"exit_ticks\":", r.exitTime)
        number(",\"far\":", r.far)
        number(",\"handling_ticks\":", r.checkedHandlingTicks)
        number(",\"ipa\":", r.ipa)
        out.append(0x2C)  // ","
        out.append(contentsOf: cache[slot].unsafelyUnwrapped.jsonKeyKindReason)
        number(",\"seq\":", UInt64(r.sequence))
        out.append(contentsOf: ",\"t\":".utf8)
        formatter.appendTime(r.exitTime, to: &out)
        out.append(contentsOf: ",\"text\":".utf8)
        out.append(contentsOf: cache[slot].unsafelyUnwrapped.jsonText)
        number(",\"vcpu\":", UInt64(r.vcpu))
        number(",\"vm\":", UInt64(r.vm))
        out.append(0x7D)  // "}"
    }

    /// The text line as a String (what `TraceLineFormatter.text` returns).
    public mutating func text(_ r: TraceRecord) -> String {
        var out: [UInt8] = []
        append(r, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The JSON line as a String (what `TraceLineFormatter.json` returns).
    public mutating func json(_ r: TraceRecord) -> String {
        var out: [UInt8] = []
        appendJSON(r, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `value` in decimal, as `String(value)` spells it.
    @inline(__always)
    static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
        if value < 10 { out.append(0x30 + UInt8(value)); return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var v = value, i = 20
            while v > 0 {
                i -= 1
                digits[i] = 0x30 + UInt8(v % 10)
                v /= 10
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i..<20]))
        }
    }
}

extension TraceLineFormatter {
    /// `time(counter)` as bytes appended to `out`.
    public func appendTime(_ counter: UInt64, to out: inout [UInt8]) {
        let ticks: UInt64
        if counter >= origin {
            ticks = counter - origin
        } else {
            out.append(0x2D)  // "-"
            ticks = origin - counter
        }
        let (whole, nanos) = Self.split(ticks, hz: counterHz)
        TraceLineWriter.appendDecimal(whole, to: &out)
        out.append(0x2E)  // "."
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 9) { digits in
            var n = nanos
            for i in stride(from: 8, through: 0, by: -1) {
                digits[i] = 0x30 + UInt8(n % 10)
                n /= 10
            }
            out.append(contentsOf: UnsafeBufferPointer(digits))
        }
    }
}
