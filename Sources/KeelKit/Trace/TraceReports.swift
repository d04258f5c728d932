import Foundation
import KeelCore

/// The reports `keel trace` prints: one line per event, statistics, JSON Lines, Chrome trace.
public struct TraceReports {
    public let log: TraceLog
    /// What each record means (made when asked for: `export` needs one at a time).
    public var events: [TraceEvent] {
        visits.count += log.records.count
        return log.records.map(TraceEvent.init)
    }

    public static let jsonSchema = "keel-trace"
    public static let jsonVersion = 1

    /// Time 0 and the counter frequency, fixed once for every line.
    let formatter: TraceLineFormatter
    /// Records (or events) the reports have looked at, one per record per pass: a report that
    /// went over every record again for each record (as time 0 once did) shows here.
    let visits = VisitCounter()

    public init(_ log: TraceLog) {
        self.log = log
        formatter = TraceLineFormatter(header: log.header, origin: log.origin)
    }

    /// How many records the reports made so far have visited (for the complexity test).
    var recordsVisited: Int { visits.count }

    func seconds(_ ticks: UInt64) -> Double { Double(ticks) / log.counterHz }
    func nanoseconds(_ ticks: UInt64) -> Double { Double(ticks) * 1e9 / log.counterHz }

    // MARK: decode

    /// `0.001234567 vm0/vcpu1 MMIO write 4B w1 -> 0x9000018 (uart DR) = 0x41 312 ticks`
    public var decodeLines: [String] {
        events.map { event in
            visits.count += 1
            return formatter.text(event)
        }
    }

    public var decodeJSONLines: [String] {
        [Self.schemaLine("decode", header: log.header)] + events.map { event in
            visits.count += 1
            return formatter.json(event)
        }
    }

    // MARK: stats

    public struct Row {
        public var reason: String
        public var key: String
        public var count = 0
        public var ticks: [UInt64] = []
        /// Saturates rather than traps: the ticks are the trace's, not ours.
        public var total: UInt64 { ticks.reduce(0, saturatingAdd) }
    }

    /// Exits (and interrupts) grouped by reason, and by reason and sub-key.
    public var rows: (byReason: [Row], byKey: [Row]) {
        var reasons: [String: Row] = [:], keys: [String: Row] = [:]
        for event in events where event.record.kind == .exit || event.record.kind == .interrupt {
            visits.count += 1
            let t = event.record.checkedHandlingTicks
            reasons[event.reason, default: Row(reason: event.reason, key: "")].count += 1
            reasons[event.reason]!.ticks.append(t)
            let k = event.reason + "\u{0}" + event.subKey
            keys[k, default: Row(reason: event.reason, key: event.subKey)].count += 1
            keys[k]!.ticks.append(t)
        }
        let sort: (Row, Row) -> Bool = { $0.count != $1.count ? $0.count > $1.count : ($0.reason, $0.key) < ($1.reason, $1.key) }
        return (reasons.values.sorted(by: sort), keys.values.sorted(by: sort))
    }

    /// Per vCPU: exits, time in handlers, time in the guest (between a re-entry and the next
    /// exit, less trace flushes), time in trace flushes.
    public struct VCPUTime {
        public var vm: UInt8, vcpu: UInt8
        public var exits = 0
        public var handling: UInt64 = 0
        public var guest: UInt64 = 0
        public var flush: UInt64 = 0
    }

    public var vcpuTimes: [VCPUTime] {
        var times: [String: VCPUTime] = [:]
        var lastEntry: [String: UInt64] = [:]
        var flushSince: [UInt8: UInt64] = [:]  // per physical CPU: flush ticks since the last exit
        for r in log.records.sorted(by: { $0.exitTime < $1.exitTime }) {
            visits.count += 1
            let id = "\(r.vm)/\(r.vcpu)"
            let ticks = r.checkedHandlingTicks
            switch r.kind {
            case .flush:
                flushSince[r.cpu] = saturatingAdd(flushSince[r.cpu] ?? 0, ticks)
                var t = times[id, default: VCPUTime(vm: r.vm, vcpu: r.vcpu)]
                t.flush = saturatingAdd(t.flush, ticks)
                times[id] = t
            case .exit, .interrupt:
                var t = times[id, default: VCPUTime(vm: r.vm, vcpu: r.vcpu)]
                t.exits += 1
                t.handling = saturatingAdd(t.handling, ticks)
                if let entry = lastEntry[id], r.exitTime >= entry {
                    let flushed = flushSince[r.cpu] ?? 0
                    let span = r.exitTime - entry
                    t.guest = saturatingAdd(t.guest, span > flushed ? span - flushed : 0)
                }
                flushSince[r.cpu] = 0
                lastEntry[id] = r.entryTime
                times[id] = t
            case .vcpuStarted:
                lastEntry[id] = r.entryTime
            default:
                break
            }
        }
        return times.values.sorted { ($0.vm, $0.vcpu) < ($1.vm, $1.vcpu) }
    }

    /// log2 buckets of handling time in nanoseconds: bucket b holds [2^b, 2^(b+1)).
    public var histogram: [(bucket: Int, count: Int)] {
        var counts: [Int: Int] = [:]
        for r in log.records where r.kind == .exit || r.kind == .interrupt {
            visits.count += 1
            let ns = max(1, nanoseconds(r.checkedHandlingTicks))
            counts[Int(log2(ns)), default: 0] += 1
        }
        return counts.keys.sorted().map { ($0, counts[$0]!) }
    }

    func percentile(_ sorted: [UInt64], _ p: Double) -> UInt64 {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    func summary(_ row: Row, of total: Int) -> [String: Any] {
        let s = row.ticks.sorted()
        return [
            "reason": row.reason, "key": row.key, "count": row.count,
            "percent": total == 0 ? 0 : Double(row.count) * 100 / Double(total),
            "min_ns": nanoseconds(s.first ?? 0), "avg_ns": row.count == 0 ? 0 : nanoseconds(row.total) / Double(row.count),
            "p50_ns": nanoseconds(percentile(s, 50)), "p99_ns": nanoseconds(percentile(s, 99)), "max_ns": nanoseconds(s.last ?? 0),
        ]
    }

    public var statsText: String {
        let (byReason, byKey) = rows
        let total = byReason.reduce(0) { $0 + $1.count }
        var out: [String] = []
        if let header = log.header {
            out.append("firmware \(header.buildIDHex), counter \(header.counterHz) Hz")
        }
        func table(_ title: String, _ rows: [Row], withKey: Bool) {
            out.append("")
            out.append(title)
            let head = [withKey ? "reason / key" : "reason", "count", "%", "min", "avg", "p50", "p99", "max"]
            var cells = [head]
            for row in rows {
                let s = summary(row, of: total)
                let name = withKey && !row.key.isEmpty ? "\(row.reason) \(row.key)" : row.reason
                cells.append([name, "\(row.count)", String(format: "%.2f", s["percent"] as! Double)]
                    + ["min_ns", "avg_ns", "p50_ns", "p99_ns", "max_ns"].map { formatNanoseconds(s[$0] as! Double) })
            }
            out += align(cells)
        }
        table("exits by reason (handling time)", byReason, withKey: false)
        table("exits by reason and key", byKey, withKey: true)
        out.append("")
        out.append("per vCPU")
        var cells = [["vcpu", "exits", "guest", "handling", "trace flush", "handling %"]]
        for t in vcpuTimes {
            let busy = saturatingAdd(t.guest, t.handling)  // each is the trace's, and may be near 2^64
            cells.append(["vm\(t.vm)/vcpu\(t.vcpu)", "\(t.exits)", formatNanoseconds(nanoseconds(t.guest)),
                          formatNanoseconds(nanoseconds(t.handling)), formatNanoseconds(nanoseconds(t.flush)),
                          busy == 0 ? "-" : String(format: "%.2f", Double(t.handling) * 100 / Double(busy))])
        }
        out += align(cells)
        out += forwardedText
        out.append("")
        out.append("handling time histogram (log2 ns)")
        let maxCount = histogram.map(\.count).max() ?? 1
        for (bucket, count) in histogram {
            let range = "\(formatNanoseconds(pow(2, Double(bucket))))-\(formatNanoseconds(pow(2, Double(bucket + 1))))"
            let bar = String(repeating: "#", count: max(1, count * 40 / maxCount))
            out.append(range.padding(toLength: 22, withPad: " ", startingAt: 0) + String(count).leftPadded(7, with: " ") + " " + bar)
        }
        out.append("")
        out.append(log.lossSummary)
        out += log.warnings.map { "warning: \($0)" }
        return out.joined(separator: "\n")
    }

    public var statsJSONLines: [String] {
        let (byReason, byKey) = rows
        let total = byReason.reduce(0) { $0 + $1.count }
        var lines = [Self.schemaLine("stats", header: log.header)]
        lines += byReason.map { json(["table": "reason"].merging(summary($0, of: total)) { a, _ in a }) }
        lines += byKey.map { json(["table": "key"].merging(summary($0, of: total)) { a, _ in a }) }
        lines += vcpuTimes.map { t in
            json(["table": "vcpu", "vm": Int(t.vm), "vcpu": Int(t.vcpu), "exits": t.exits, "guest_ns": nanoseconds(t.guest),
                  "handling_ns": nanoseconds(t.handling), "flush_ns": nanoseconds(t.flush)])
        }
        lines += forwardedJSONLines
        lines += histogram.map { json(["table": "histogram", "log2_ns": $0.bucket, "count": $0.count]) }
        lines.append(json(["table": "loss", "records": log.records.count, "lost_records": log.lostRecords,
                           "damaged_frames": log.corruptFrames, "damaged_bytes": log.corruptBytes,
                           "backward_records": log.backwardRecords, "warnings": log.warnings]))
        return lines
    }

    // MARK: Chrome / Perfetto

    /// Chrome trace event format: each VM a process, each vCPU a thread, each exit a complete
    /// ("X") slice, a counter of exits per VM. One event per line; `piece` gets the text in
    /// order, so a million records go to a file without the whole document in memory.
    public func writeChrome<E: Error>(_ piece: (String) throws(E) -> Void) throws(E) {
        try piece("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n")
        var first = true
        func event(_ text: String) throws(E) {
            try piece(first ? text : ",\n" + text)
            first = false
        }
        var named = Set<UInt32>()  // vm << 8 | vcpu for a thread, 1 << 16 | vm for a VM's process
        var exitCount: [UInt8: Int] = [:]
        for r in log.records {
            visits.count += 1
            let e = TraceEvent(r)
            let pid = UInt64(r.vm), tid = UInt64(r.vcpu)
            if named.insert(1 << 16 | UInt32(r.vm)).inserted {
                var m = JSONObjectWriter()
                m.raw("args", "{\"name\":\"vm\(pid)\"}")
                m.string("name", "process_name"); m.string("ph", "M"); m.number("pid", pid)
                try event(m.finish())
            }
            if named.insert(UInt32(r.vm) << 8 | UInt32(r.vcpu)).inserted {
                var m = JSONObjectWriter()
                m.raw("args", "{\"name\":\"vcpu\(tid)\"}")
                m.string("name", "thread_name"); m.string("ph", "M"); m.number("pid", pid); m.number("tid", tid)
                try event(m.finish())
            }
            let ts = formatter.microseconds(r.exitTime - log.origin)  // origin is the earliest exit
            switch r.kind {
            case .exit, .interrupt, .flush:
                var x = JSONObjectWriter()
                var args = JSONObjectWriter()
                args.string("elr", hex(r.elr)); args.string("text", e.text)
                x.raw("args", args.finish())
                x.string("cat", e.reason)
                x.raw("dur", formatter.microseconds(r.checkedHandlingTicks))
                x.string("name", e.subKey.isEmpty ? e.reason : "\(e.reason) \(e.subKey)")
                x.string("ph", "X"); x.number("pid", pid); x.number("tid", tid); x.raw("ts", ts)
                try event(x.finish())
                if r.kind != .flush {
                    exitCount[r.vm, default: 0] += 1
                    var c = JSONObjectWriter()
                    c.raw("args", "{\"exits\":\(exitCount[r.vm]!)}")
                    c.string("name", "exits"); c.string("ph", "C"); c.number("pid", pid); c.raw("ts", ts)
                    try event(c.finish())
                }
            default:
                var i = JSONObjectWriter()
                i.string("name", e.text); i.string("ph", "i"); i.number("pid", pid); i.string("s", "t"); i.number("tid", tid)
                i.raw("ts", ts)
                try event(i.finish())
            }
        }
        try piece("\n]}\n")
    }

    /// The Chrome trace as one string (tests; `keel trace export` streams `writeChrome`).
    public var chromeJSON: String {
        var text = ""
        writeChrome { (piece) throws(Never) in text += piece }
        return text
    }

    // MARK: helpers

    /// The first line of every JSON Lines report: the schema, its version, the firmware.
    public static func schemaLine(_ report: String, header: TraceHeader?) -> String {
        var object: [String: Any] = ["schema": Self.jsonSchema, "version": Self.jsonVersion, "report": report,
                                     "counter_hz": header?.counterHz ?? 0]
        if let header { object["build_id"] = header.buildIDHex }
        return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    func json(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    func align(_ rows: [[String]]) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        let widths = (0..<columns).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max()! }
        return rows.map { row in
            row.enumerated().map { c, cell in
                c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) : cell.leftPadded(widths[c], with: " ")
            }.joined(separator: "  ")
        }
    }
}

/// Counts work done inside computed properties of a value type.
final class VisitCounter {
    var count = 0
}

/// `a + b`, or the largest value when the sum does not fit.
func saturatingAdd(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? .max : sum
}

/// `950ns`, `12.3us`, `4.56ms`, `1.20s`.
func formatNanoseconds(_ ns: Double) -> String {
    switch ns {
    case ..<1000: return String(format: "%.0fns", ns)
    case ..<1_000_000: return String(format: "%.1fus", ns / 1e3)
    case ..<1_000_000_000: return String(format: "%.2fms", ns / 1e6)
    default: return String(format: "%.2fs", ns / 1e9)
    }
}
