import Foundation
import KeelCore

/// `keel trace stats`' table of forwarded exits (`TraceRecord.Action.mmioForwarded`), the way
/// `perf kvm stat` reports exits to user space: per frontend VM and virtio transport, how long
/// each part of the round trip took. Keel to the device model (posted until keel-dm picked the
/// request up), in the device model (picked up until its completion), back (completed until the
/// parked vCPU saw it).
extension TraceReports {
    public struct ForwardedRow {
        public var vm: UInt8
        /// `virtio k`, as `keel trace decode` names the transport.
        public var transport: String
        /// Accesses the device model answered, with their split in ticks.
        public var pickup: [UInt64] = [], service: [UInt64] = [], resume: [UInt64] = []
        /// Accesses it did not answer: Keel completed them with all ones (timeout or its stop).
        public var unanswered = 0

        public var answered: Int { pickup.count }
    }

    public var forwardedRows: [ForwardedRow] {
        var rows: [String: ForwardedRow] = [:]
        for event in events where event.record.kind == .exit && event.record.action == .mmioForwarded {
            visits.count += 1
            let r = event.record
            let id = "\(r.vm)\u{0}\(event.subKey)"
            var row = rows[id, default: ForwardedRow(vm: r.vm, transport: event.subKey)]
            if r.arg1 == TraceRecord.forwardedUnanswered {
                row.unanswered += 1
            } else {
                row.pickup.append(r.arg1 & 0xFFFF_FFFF)
                row.service.append(r.arg1 >> 32)
                row.resume.append(UInt64(r.detail))
            }
            rows[id] = row
        }
        return rows.values.sorted { ($0.vm, $0.transport) < ($1.vm, $1.transport) }
    }

    /// Average and 99th percentile of one part, in nanoseconds.
    func split(_ ticks: [UInt64]) -> (avg: Double, p99: Double) {
        guard !ticks.isEmpty else { return (0, 0) }
        return (nanoseconds(ticks.reduce(0, saturatingAdd)) / Double(ticks.count), nanoseconds(percentile(ticks.sorted(), 99)))
    }

    /// The table's lines, none when the trace has no forwarded exit.
    var forwardedText: [String] {
        let rows = forwardedRows
        guard !rows.isEmpty else { return [] }
        var cells = [["vm / transport", "answered", "unanswered", "to DM avg", "p99", "in DM avg", "p99", "back avg", "p99"]]
        for row in rows {
            let parts = [split(row.pickup), split(row.service), split(row.resume)]
            cells.append(["vm\(row.vm) \(row.transport)", "\(row.answered)", "\(row.unanswered)"]
                + parts.flatMap { [formatNanoseconds($0.avg), formatNanoseconds($0.p99)] })
        }
        return ["", "forwarded to device models (Keel to the device model, in it, back)"] + align(cells)
    }

    var forwardedJSONLines: [String] {
        forwardedRows.map { row in
            var object: [String: Any] = ["table": "forwarded", "vm": Int(row.vm), "key": row.transport,
                                         "answered": row.answered, "unanswered": row.unanswered]
            for (name, ticks) in [("to_dm", row.pickup), ("in_dm", row.service), ("back", row.resume)] {
                let s = split(ticks)
                object["\(name)_avg_ns"] = s.avg
                object["\(name)_p99_ns"] = s.p99
            }
            return json(object)
        }
    }
}
