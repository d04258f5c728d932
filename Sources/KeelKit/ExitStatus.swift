/// Every status a `keel` command exits with, in one table (sysexits where one fits). Scripts
/// read these; `keel run --help` and the README list them from here.
public enum ExitStatus: Int32, CaseIterable, Sendable {
    case poweredOff = 0
    case failure = 1
    case usage = 64
    case dataError = 65
    case noInput = 66
    case panicked = 70
    case vmStopped = 71
    case cannotCreate = 73
    case ioError = 74
    case qemuKilled = 75
    case refused = 76
    case timedOut = 124

    /// keel itself got signal N: 128 + N (its QEMU killed, its temporary files removed).
    public static let signalBase: Int32 = 128

    public var meaning: String {
        switch self {
        case .poweredOff: "the guest powered off cleanly (PSCI SYSTEM_OFF)"
        case .failure: "any other failure"
        case .usage: "usage: bad flags or arguments, an option value out of range"
        case .dataError: "data error: invalid config, damaged or wrong image, DTB, trace, ELF"
        case .noInput: "no input: a missing file, or a directory or empty file given for a file"
        case .panicked: "Keel panicked (the machine stopped)"
        case .vmStopped: "Keel stopped a VM after a fault of its own (the other VMs ran on)"
        case .cannotCreate: "an output file cannot be created"
        case .ioError: "an I/O error while reading or writing"
        case .qemuKilled: "QEMU was killed by a signal (not a clean power-off)"
        case .refused: "the firmware refused the image, its VMs or the machine its DTB describes"
        case .timedOut: "timeout: the guest did not power off in time"
        }
    }

    /// The table as help text: one line per status, and the signal rule.
    public static var table: String {
        let lines = allCases.map { "  \(String($0.rawValue).padding(toLength: 4, withPad: " ", startingAt: 0)) \($0.meaning)" }
        return (lines + ["  128+N keel got signal N (QEMU stopped, temporary files removed)"]).joined(separator: "\n")
    }
}
