import ArgumentParser
import Foundation
import KeelBoards
import KeelKit

/// `keel run --guest FILE | --config FILE | IMAGE`: boot Keel under QEMU with one guest and
/// wait for it to power off.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Boot Keel under QEMU (virtualization=on) with one guest.",
        discussion: """
            The guest is a Linux arm64 Image (recognised by its header; booted with a device \
            tree Keel's host tool writes, and --initrd/--append) or a raw AArch64 binary, \
            loaded at the start of the VM's RAM and entered at its first byte at EL1h. With \
            --config, the system the config describes is packed (keel pack) into a temporary \
            image and booted on its board; IMAGE is an image keel pack wrote. Once the guest \
            powers off (PSCI SYSTEM_OFF), exits with QEMU's status.

            Exit status:
            \(ExitStatus.table)
            """
    )

    @Argument(help: "An image `keel pack` wrote (instead of --guest or --config).")
    var image: String?

    @OptionGroup var system: SystemOptions

    @Option(name: .long, help: "The guest image: a Linux arm64 Image or a raw binary.")
    var guest: String?

    @Option(name: .long, help: "Initial ramdisk for a Linux guest.")
    var initrd: String?

    @Option(name: .long, help: "Kernel command line for a Linux guest (default: \(LinuxGuest.defaultBootargs); --append \"\" for none).")
    var append: String?

    @Option(name: .long, help: "Seconds before a run that has not powered off is stopped.")
    var timeout: Double = 60

    @Option(name: .long, help: "GIC version of the emulated board (2 or 3; default: the board's, 3 on qemu-virt).")
    var gic: Int?

    @Option(name: .long, help: "CPUs of the emulated board; the VM gets one vCPU on each.")
    var smp: Int = 1

    @Option(name: .long, help: "QEMU CPU model.")
    var cpu: String?

    @Option(name: .long, help: "The Keel firmware image (default: the board's, build/hyp/keel.bin for qemu-virt).")
    var firmware: String?

    @Option(name: .long, help: "The QEMU executable.")
    var qemu: String = "qemu-system-aarch64"

    @Option(name: .customLong("qemu-arg"), parsing: .unconditionalSingleValue,
            help: "One more word for QEMU's command line (repeatable), after the board's and a config's [qemu] args: e.g. --qemu-arg -device --qemu-arg virtio-blk-device,drive=d.")
    var qemuArguments: [String] = []

    @Flag(name: .customLong("print-cmd"), help: "Print the QEMU command line before running it.")
    var printCommand = false

    @Option(help: "Record every exit (keel.trace=full) and write the trace frames to this file; the console shows as usual.")
    var trace: String?

    @Flag(name: .customLong("trace-memory"), help: "With --trace: keep the records in a ring in Keel's RAM (keel.trace=memory), sent when a VM powers off and when the machine does: an exit costs a few hundred instructions instead of thousands, and the oldest records are overwritten (counted as lost) when a CPU takes more than 1,023 between drains.")
    var traceMemory = false

    @Option(name: .long, help: "RAM of the emulated board in MiB (default: the board file's). Keel takes its RAM from the DTB QEMU passes.")
    var memory: UInt64?

    @Option(name: .long, help: "A device tree for QEMU to hand Keel instead of its own (QEMU still fills in /chosen and /memory); on xlnx-zcu102 the only way to give Keel one.")
    var dtb: String?

    @Flag(help: "Start QEMU halted with its gdb stub on 127.0.0.1:1234 and print the gdb-multiarch command that attaches.")
    var gdb = false

    @Option(help: "The gdb stub's port on 127.0.0.1, with --gdb (several runs at once each need their own).")
    var gdbPort: Int = GDBAttach.defaultPort

    /// The longest --timeout, in seconds: a week.
    static let maxTimeout: Double = 604_800

    func validate() throws {
        let sources = [guest != nil, system.config != nil, image != nil].filter { $0 }.count
        guard sources == 1 else { throw ValidationError("give one of --guest FILE, --config FILE or a packed IMAGE") }
        if guest == nil, initrd != nil || append != nil {
            throw ValidationError("--initrd and --append go with --guest; a config names them as initrd and bootargs")
        }
        if system.config != nil, smp != 1 || gic != nil {
            throw ValidationError("--smp and --gic go with --guest or IMAGE; a config gives its VM's cpus, and its board the GIC (--board qemu-virt-gicv2)")
        }
        if image != nil, gic != nil {
            throw ValidationError("--gic goes with --guest; a packed image takes --board qemu-virt-gicv2 for GICv2")
        }
        if let gic { guard gic == 2 || gic == 3 else { throw ValidationError("--gic must be 2 or 3, not \(gic)") } }
        // At most a week: a deadline far past that (1e10 s) crashes Foundation's NSCondition wait.
        guard timeout > 0, timeout <= Self.maxTimeout else {
            throw ValidationError("--timeout \(timeout) is not possible: give more than 0 and at most \(Int(Self.maxTimeout)) seconds (a week)")
        }
        guard (1...65535).contains(gdbPort) else { throw ValidationError("--gdb-port \(gdbPort) is not a TCP port: give 1 to 65535") }
        if gdbPort != GDBAttach.defaultPort && !gdb { throw ValidationError("--gdb-port goes with --gdb") }
        if traceMemory && trace == nil { throw ValidationError("--trace-memory goes with --trace FILE") }
        if let memory { guard memory >= 16 && memory <= 64 << 10 else { throw ValidationError("--memory \(memory) is not possible: give 16 to 65536 MiB") } }
        if let dtb {
            do { try BootDeviceTree.check(dtb) } catch let error as KeelError { throw failure(error) }
        }
        if system.config == nil {
            let board = try runBoard().board
            guard smp >= 1 && smp <= board.maxCPUs else {
                throw ValidationError("--smp \(smp) is not possible: \(board.name) has 1 to \(board.maxCPUs) CPUs")
            }
            if let gic, gic != board.gicVersion, !board.qemuSelectsGIC {
                throw ValidationError("--gic \(gic) is not possible: \(board.name) has a GICv\(board.gicVersion)")
            }
            try checkTrace(on: try runBoard())
        }
    }

    /// --trace asks Keel for its trace through the bootargs of the DTB QEMU passes it.
    private func checkTrace(on board: KnownBoard) throws {
        if trace != nil, !board.qemuPassesDTB, dtb == nil {
            throw ValidationError("--trace is not possible on \(board.name): QEMU gives Keel no device tree there, so keel.trace=full cannot reach it (give one with --dtb FILE, e.g. the board's DTB, and --trace works)")
        }
    }

    /// The board of --guest and IMAGE: --board (default qemu-virt), one Keel's firmware is built for.
    private func runBoard() throws -> KnownBoard {
        let name = system.board ?? qemuVirt.name.description
        guard let board = BoardCatalog.named(name), board.firmwareVM != nil else {
            throw ValidationError("--board \(name): Keel's firmware runs under QEMU on \(FirmwareSupport.firmwareBoards.joined(separator: ", ")) (keel boards)")
        }
        return board
    }

    func run() throws {
        // From here a signal stops QEMU and removes the temporary files.
        RunCleanup.shared.install()
        try precheck()
        var command: QEMUCommand
        var keepAlive: AnyObject?
        var vmNames: [Int: String] = [:]
        if let guest {
            (command, keepAlive) = try guestCommand(guest)
        } else if system.config != nil {
            (command, keepAlive, vmNames) = try configCommand()
        } else {
            command = try imageCommand(image!)
        }
        defer { withExtendedLifetime(keepAlive) {} }
        command.executable = qemu
        command.gdb = gdb
        command.gdbPort = gdbPort
        command.memoryMiB = memory
        command.dtb = dtb
        command.extraArguments += qemuArguments
        if let known = BoardCatalog.named(command.board.name.description) {
            command.serials = known.qemuSerials
            command.machineOptions = known.qemuOptions
            if memory == nil, let required = known.qemuMemoryMiB { command.memoryMiB = required }
            if let cpus = known.qemuCPUCount, command.smp != cpus {
                if system.config == nil {
                    printError("keel: note: QEMU's \(known.qemuMachineType ?? known.name) always has \(cpus) CPUs: Keel starts all \(cpus), and a --guest VM gets \(cpus) vCPUs\n")
                }
                command.smp = cpus
            }
            if dtb == nil, let boardDTB = known.qemuDTB { command.dtb = try Self.boardDTB(boardDTB, of: known) }
        }
        try boot(command, vmNames: vmNames)
    }

    /// The board's own DTB from the Linux cache (`keel linux fetch`), for boards QEMU boots
    /// only with it.
    static func boardDTB(_ name: String, of board: KnownBoard) throws -> String {
        let path = LinuxFetch(cache: LinuxFetch.defaultCache).dtbPath(name)
        guard FileManager.default.fileExists(atPath: path) else {
            throw KeelError("\(board.name) boots with its own device tree, \(path), which is not there: run `keel linux fetch` (or `make linux`), or give one with --dtb FILE", status: .noInput)
        }
        return path
    }

    /// What can be checked before QEMU starts: a wrong file would otherwise run silently into
    /// the timeout. A config's board is known once it is read (`configCommand`).
    private func precheck() throws {
        do {
            if let image {
                try RunPrecheck.packedImage(image, board: try runBoard(), boardGiven: system.board != nil)
            } else if let firmware, system.config == nil {
                try RunPrecheck.firmware(firmware, board: try runBoard())
            }
        } catch let error as KeelError {
            throw failure(error)
        }
    }

    /// --guest: the VM's images in a bundle QEMU loads at the board's bundle address.
    private func guestCommand(_ guest: String) throws -> (QEMUCommand, AnyObject) {
        let known = try runBoard()
        let board = known.board
        let layout = known.firmwareVM!
        let gic = self.gic ?? board.gicVersion
        let bundle: TemporaryBundle
        let firmwarePath: String
        do {
            let image = try GuestImage.load(guest, fitting: layout)
            switch image.kind {
            case .linuxImage:
                let dtbGIC: GuestDeviceTree.GIC = gic == 3
                    ? .v3(distributor: layout.gicDistributorIPA, redistributors: layout.gicRedistributorIPA)
                    : .v2(distributor: layout.gicDistributorIPA, cpuInterface: layout.gicCPUInterfaceIPA)
                // A fresh entropy seed for this boot, as QEMU gives its own guests.
                bundle = try LinuxGuest.bundle(kernel: image.path, initrd: initrd, bootargs: LinuxGuest.bootargs(append),
                                               vcpus: smp, gic: dtbGIC, layout: layout, board: board,
                                               rngSeed: LinuxGuest.freshRNGSeed())
            case .raw:
                guard initrd == nil, append == nil else {
                    throw KeelError("--initrd and --append are for Linux guests; '\(guest)' is a raw binary (no arm64 Image header)")
                }
                bundle = try TemporaryBundle(rawGuest: image.path, layout: layout, board: board)
            }
            firmwarePath = try Firmware.locate(explicit: firmware, directory: known.firmwareDirectory!)
        } catch let error as KeelError {
            throw failure(error)
        }
        let command = QEMUCommand(firmware: firmwarePath, bundle: bundle.path, board: board, layout: layout, gicVersion: gic, cpu: cpu, smp: smp)
        return (command, bundle)
    }

    /// --config: `keel pack` into a temporary image, booted on the config's board.
    private func configCommand() throws -> (QEMUCommand, AnyObject, [Int: String]) {
        let validated = try system.loadSystem()
        guard validated.board.qemuMachineType != nil, FirmwareSupport.firmwareBoards.contains(validated.board.name) else {
            throw failure("\(validated.board.name) does not run under QEMU here (keel boards); keel pack writes its boot files", .dataError)
        }
        try checkTrace(on: validated.board)
        do {
            if let firmware { try RunPrecheck.firmware(firmware, board: validated.board) }
            // Booted once: each Linux VM gets a fresh /chosen/rng-seed, as --guest gives one.
            let packed = try SystemPack.image(validated, firmware: try Firmware.locate(explicit: firmware, directory: validated.board.firmwareDirectory!),
                                              freshRNGSeeds: true)
            let file = try TemporaryFile(packed.bytes, suffix: ".img")
            var command = QEMUCommand(firmware: file.path, bundle: nil, board: validated.board.board, layout: FirmwareSupport.layout(for: validated.board.name),
                                      cpu: cpu, smp: validated.vms.map { ($0.config.cpus.max() ?? 0) + 1 }.max() ?? 1)
            // The config's [qemu] args: the devices its VMs are given, which the board lacks.
            command.extraArguments += validated.config.qemuArguments
            let names = Dictionary(uniqueKeysWithValues: validated.vms.enumerated().map { ($0.offset, $0.element.config.name) })
            return (command, file, names)
        } catch let error as KeelError {
            throw failure(error)
        }
    }

    /// IMAGE: a file `keel pack` wrote, on --board (default qemu-virt) with --smp CPUs.
    private func imageCommand(_ path: String) throws -> QEMUCommand {
        let board = try runBoard()
        return QEMUCommand(firmware: path, bundle: nil, board: board.board, layout: board.firmwareVM!, cpu: cpu, smp: smp)
    }

    /// Where the firmware whose symbols gdb wants lives: --board's (a config's own board is not
    /// read for this).
    private var gdbFirmwareDirectory: String {
        BoardCatalog.named(system.board ?? qemuVirt.name.description)?.firmwareDirectory ?? "hyp"
    }

    private func boot(_ original: QEMUCommand, vmNames: [Int: String] = [:]) throws {
        var command = original
        let capture: TraceCapture?
        if let trace {
            command.extraArguments += ["-append", traceMemory ? "keel.trace=memory" : "keel.trace=full"]
            do {
                capture = try TraceCapture(path: trace, text: { RunCleanup.shared.writeToStandardOutput($0) })
            } catch let error as KeelError {
                throw failure(error)
            }
        } else {
            capture = nil
        }
        if printCommand {
            RunCleanup.shared.writeToStandardOutput(Data((command.shellLine + "\n").utf8))
        }
        if printCommand {
            let temporary = RunCleanup.shared.temporaryPaths.filter { command.shellLine.contains($0) }
            if !temporary.isEmpty {
                printError("keel: note: \(temporary.joined(separator: ", ")) \(temporary.count == 1 ? "is a temporary file" : "are temporary files") of this run, removed when it ends")
            }
        }

        let refusal = ConsoleWatch(ConsoleWatch.bundleRefused), machineRefusal = ConsoleWatch(ConsoleWatch.machineRefused)
        let vmRefusal = ConsoleWatch(ConsoleWatch.vmRefused)
        let contained = ContainedFaultWatch()
        let watch: @Sendable (Data) -> Void = { refusal.feed($0); machineRefusal.feed($0); vmRefusal.feed($0); contained.feed($0) }
        let stubListened = Mark()
        var runner = capture.map { capture in QEMURunner(command: command, timeout: gdb ? .infinity : timeout, output: { watch($0); capture.feed($0) }) }
            ?? QEMURunner(command: command, timeout: gdb ? .infinity : timeout, output: { watch($0); RunCleanup.shared.writeToStandardOutput($0) })
        if gdb {
            // Said once QEMU's stub listens; a QEMU that cannot bind it says why and exits.
            let instructions = GDBAttach.instructions(elf: Firmware.elf(for: (try? Firmware.locate(explicit: firmware, directory: gdbFirmwareDirectory)) ?? "build/hyp/keel.bin"), port: gdbPort)
            runner.whenListening = (gdbPort, {
                stubListened.mark()
                RunCleanup.shared.writeToStandardOutput(Data((instructions + "\n").utf8))
            })
        }
        let outcome = try runner.run()
        if refusal.seen {
            printError("keel: Keel refused the image's boot bundle (see its message above); no guest ran\n")
            throw ExitCode(ExitStatus.refused)
        }
        if vmRefusal.seen {
            printError("keel: Keel refused the image's VMs (see its message above); no guest ran\n")
            throw ExitCode(ExitStatus.refused)
        }
        if machineRefusal.seen {
            printError("keel: Keel cannot run on the machine its DTB describes (see its message above); no guest ran\n")
            throw ExitCode(ExitStatus.refused)
        }
        var traceWriteFailed = false
        if let capture, let trace {
            let (frames, damaged) = capture.finish()
            printError("keel: trace: \(frames) frames written to \(trace)\(damaged > 0 ? ", \(damaged) damaged frames dropped" : "")\n")
            if let error = capture.writeError {
                printError("keel: trace: \(error); the trace stops there\n")
                traceWriteFailed = true
            }
        }
        // VMs Keel stopped after a fault of its own: named on the last line, whatever else
        // happened; status 71 when the run otherwise ended well.
        let stopped = contained.faults
        let stoppedLines = stopped.map { $0.summary(name: vmNames[$0.vm]) + "\n" }.joined()
        switch outcome {
        case .exited(0):
            guard !stopped.isEmpty else {
                if traceWriteFailed { throw ExitCode(ExitStatus.ioError) }  // the run was fine, its trace is not
                return
            }
            printError(stoppedLines)
            throw ExitCode(ExitStatus.vmStopped)
        case .exited(let status) where gdb && !stubListened.isSet:
            printError("keel: QEMU could not start its gdb stub on \(GDBAttach.address):\(gdbPort) (see its message above); status \(status)\n" + stoppedLines)
            throw ExitCode(status == 0 ? ExitStatus.failure.rawValue : status)
        case .exited(let status):
            printError("keel: QEMU exited with status \(status)\n" + stoppedLines)
            throw ExitCode(status)
        case .hypervisorPanic:
            printError("keel: the hypervisor panicked (see its report above)\n" + stoppedLines)
            throw ExitCode(ExitStatus.panicked)
        case .timedOut(let seconds):
            printError("keel: timed out after \(seconds.formatted()) s: the guest did not power off\n" + stoppedLines)
            throw ExitCode(ExitStatus.timedOut)
        case .killed(let signal):
            printError("keel: QEMU was killed by signal \(signal) (\(signalName(signal))): the guest did not power off\n" + stoppedLines)
            throw ExitCode(ExitStatus.qemuKilled)
        }
    }
}

/// Set once, from any thread.
private final class Mark: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    func mark() { lock.withLock { set = true } }
    var isSet: Bool { lock.withLock { set } }
}

/// SIGTERM, SIGKILL...: the signal's name for a message.
private func signalName(_ number: Int32) -> String {
    let names: [Int32: String] = [SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGABRT: "SIGABRT", SIGKILL: "SIGKILL",
                                  SIGSEGV: "SIGSEGV", SIGPIPE: "SIGPIPE", SIGTERM: "SIGTERM", SIGBUS: "SIGBUS"]
    return names[number] ?? "signal \(number)"
}

private extension Double {
    func formatted() -> String {
        self == rounded() ? String(Int(self)) : String(self)
    }
}
