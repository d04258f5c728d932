import Foundation

/// A VM Keel stopped because Keel itself faulted while handling one of its exits (a failed
/// Swift check at EL2: hyp/core/Containment.swift); the other VMs ran on. Found on the console
/// by its line `[keel] vm1: stopped by a fault in Keel (ESR_EL2 0xf2000001, BRK64: a failed
/// Swift check) while handling its vCPU 0's exit; 3 locks released; the other VMs run on`.
public struct ContainedFault: Equatable, Sendable {
    /// `keel run`'s exit status when the run otherwise ended well (every other VM powered off).
    public static let exitStatus: Int32 = ExitStatus.vmStopped.rawValue
    public static let marker = ": stopped by a fault in Keel"

    public var vm: Int
    /// What the line says between the marker and `; the other VMs run on`: the syndrome, the
    /// vCPU, the locks released.
    public var detail: String

    /// The stop this console line reports, or nil.
    public init?(line: String) {
        guard let marker = line.range(of: Self.marker), let prefix = line.range(of: "[keel] vm"),
              prefix.upperBound <= marker.lowerBound, let vm = Int(line[prefix.upperBound..<marker.lowerBound]) else { return nil }
        self.vm = vm
        var detail = line[marker.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
        if let end = detail.range(of: "; the other VMs run on") { detail = String(detail[..<end.lowerBound]) }
        self.detail = detail
    }

    /// `keel run`'s last line for it.
    public func summary(name: String? = nil) -> String {
        "keel: Keel stopped vm\(vm)\(name.map { " (\($0))" } ?? "") after a fault of its own \(detail); the other VMs ran on"
    }
}

/// Collects the contained faults of a console stream, line by line.
public final class ContainedFaultWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var partial = Data()
    private var found: [ContainedFault] = []

    public init() {}

    public var faults: [ContainedFault] { lock.withLock { found } }

    public func feed(_ data: Data) {
        lock.withLock {
            partial.append(data)
            while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: partial[partial.startIndex..<newline], as: UTF8.self)
                partial = Data(partial[partial.index(after: newline)...])
                if let fault = ContainedFault(line: line) { found.append(fault) }
            }
            // Lines of a guest that never ends one: keep what a marker line could still need.
            if partial.count > 4096 { partial = Data(partial.suffix(512)) }
        }
    }
}
