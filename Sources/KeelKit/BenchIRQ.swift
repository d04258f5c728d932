import Foundation
import KeelBoards

/// Interrupt figures: the guest `benchirq` (Tests/Guests/benchirq.S) on two CPUs, once under Keel
/// and once natively on the same QEMU (the ELF through `-kernel`, at EL1, QEMU's own PSCI over
/// HVC), both with `-icount shift=0,sleep=off`: each instruction, guest or Keel, is 1 ns, so the
/// two sides compare in instructions and repeat exactly.
public enum IRQBench {
    public static let icount = "shift=0,sleep=off"
    public static let cpus = 2

    /// The figures the guest prints, in the order of the table.
    public static let figureNames = ["timer_latency", "timer_back_to_back", "ipi_latency", "ipi_round_trip"]

    /// What each figure means, for the table.
    public static let descriptions = [
        "timer_latency": "virtual timer expiry to guest handler (16 ns counter resolution)",
        "timer_back_to_back": "virtual timer interrupt, entry + handler + EOI + return",
        "ipi_latency": "SGI from vCPU 0 to the handler on vCPU 1 (16 ns resolution)",
        "ipi_round_trip": "SGI ping-pong between two vCPUs",
    ]

    public enum Side: String, Sendable { case native, keel }

    /// Instructions per event of each figure in the guest's output.
    public static func perEvent(_ output: String) -> [String: Double] {
        let parsed = Bench.parse(output)
        guard let hz = parsed.counterHz, hz > 0 else { return [:] }
        let nsPerTick = 1e9 / Double(hz)
        return Dictionary(parsed.figures.map { ($0.name, Double($0.ticks) * nsPerTick / Double(max($0.iterations, 1))) },
                          uniquingKeysWith: { a, _ in a })
    }

    /// The native QEMU command line (without the executable).
    public static func nativeArguments(elf: String, board: Board = qemuVirt) -> [String] {
        ["-M", "virt,gic-version=3", "-cpu", board.qemuCPU.description, "-smp", String(cpus), "-m", "256M",
         "-icount", icount, "-display", "none", "-monitor", "none", "-serial", "stdio", "-kernel", elf]
    }

    /// Runs the guest on one side; returns its figures. `elf` is the guest's ELF (native side);
    /// the raw binary beside it (same name, `.bin`) is what Keel loads, with Keel's boot
    /// arguments `bootargs` (QEMU's `-append`) when there are any.
    public static func run(_ side: Side, elf: String, firmware: String, qemu: String = "qemu-system-aarch64",
                           bootargs: String = "", timeout: Double = 120) throws -> [String: Double] {
        let arguments: [String]
        var keep: TemporaryBundle?
        switch side {
        case .native:
            arguments = nativeArguments(elf: elf)
        case .keel:
            let binary = (elf as NSString).deletingPathExtension + ".bin"
            let bundle = try TemporaryBundle(rawGuest: binary, layout: qemuVirtDefaultVM, board: qemuVirt)
            keep = bundle
            var command = QEMUCommand(firmware: firmware, bundle: bundle.path, board: qemuVirt, layout: qemuVirtDefaultVM, smp: cpus)
            command.extraArguments = ["-icount", icount] + (bootargs.isEmpty ? [] : ["-append", bootargs])
            arguments = command.arguments
        }
        let (status, console) = try LinuxBench.runProcess(qemu, arguments, timeout: timeout)
        withExtendedLifetime(keep) {}
        let figures = perEvent(console)
        guard status == 0, figureNames.allSatisfy({ figures[$0] != nil }) else {
            let why = status.map { "QEMU exited with status \($0)" } ?? "no power-off within \(Int(timeout)) s"
            throw KeelError("the interrupt benchmark guest did not finish \(side.rawValue == "keel" ? "under Keel" : "natively") (\(why))\n\(LinuxBench.tail(console))")
        }
        return figures
    }
}
