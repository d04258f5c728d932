import Foundation

/// Watches a console stream for one line of Keel's, e.g. the refusal of a damaged boot bundle
/// (the firmware then powers off, which QEMU reports as a clean exit).
public final class ConsoleWatch: @unchecked Sendable {
    public static let bundleRefused = "[keel] ERROR: the boot bundle"
    /// The firmware's line when it refuses a packed image's VM table, or the VM's RAM.
    public static let vmRefused = "[keel] ERROR: the VM"
    /// The firmware's line when the machine its DTB describes cannot run Keel or the VM.
    public static let machineRefused = "[keel] ERROR: DTB: "

    private let marker: Data
    private let lock = NSLock()
    private var tail = Data()
    private var found = false

    public init(_ marker: String) { self.marker = Data(marker.utf8) }

    public var seen: Bool { lock.withLock { found } }

    /// Feed console bytes (the marker may straddle two reads).
    public func feed(_ data: Data) {
        lock.withLock {
            guard !found else { return }
            tail.append(data)
            if tail.range(of: marker) != nil { found = true }
            if tail.count > marker.count { tail = tail.suffix(marker.count) }
        }
    }
}
