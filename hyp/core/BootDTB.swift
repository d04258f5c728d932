import KeelHW

/// What Keel takes from the DTB it is booted with (x0, Linux boot protocol): the machine
/// (memory, CPUs, GIC, console UART, PSCI), held against the board file, and the trace mode
/// from `/chosen/bootargs`. Without a DTB (an ELF boot, a boot loader that passes none) the board
/// file is all there is.
enum BootDTB {
    /// `body` on the DTB at `address` (the boot protocol's x0); nil when there is none there
    /// (no header, or not one of version 17).
    static func open<R>(_ address: UInt64, _ body: (FDT) -> R) -> R? {
        let result: R?? = BootMemory.withDTB(at: address) { bytes in
            guard let fdt = FDT(bytes) else { return nil }
            return body(fdt)
        }
        return result ?? nil
    }

    /// Sets `machine` from the DTB at `address`; false (after saying why) when Keel cannot run
    /// on the machine it describes.
    @_optimize(size)
    static func readMachine(_ address: UInt64) -> Bool {
        guard let read = open(address, { DeviceTreeMachine($0) }) else {
            Console.begin()
            Console.print("no DTB at ")
            Console.hex(address)
            Console.print(": the machine is the board file's")
            Console.newline()
            return true
        }
        guard let dtb = read else {
            Console.log("the DTB's structure block is malformed: the machine is the board file's")
            return true
        }
        let cpuHasGICv3 = (read_id_aa64pfr0_el1() >> 24) & 0xF != 0
        let imageBase = UInt64(keelImageStart())
        guard let resolved = MachineCheck.resolve(dtb, board: activeBoard, imageBase: imageBase,
                                                  imageSize: UInt64(keelImageEnd()) - imageBase,
                                                  cpuHasGICv3: cpuHasGICv3, note: note) else { return false }
        // What differs from the board file (which the DTB overrides).
        let board = Machine(board: resolved.gicVersion == 2 ? activeBoardGICv2 : activeBoard)
        var field = 0
        while let f = MachineField(rawValue: field) {
            if f.differs(in: resolved, from: board) {
                Console.begin()
                Console.print("DTB: ")
                Console.print(f.name)
                number(f.value(in: resolved) ?? 0, f.isCount)
                Console.print("; the board file says")
                number(f.value(in: board) ?? 0, f.isCount)
                Console.newline()
            }
            field += 1
        }
        machine = resolved
        if machine.uartBase != activeBoard.uartBase { Console.start() }
        Console.begin()
        Console.print("DTB: ")
        Console.dec(machine.ramSize >> 20)
        Console.print(" MiB RAM at ")
        Console.hex(machine.ramBase)
        Console.print(", ")
        Console.dec(machine.cpuCount)
        Console.print(machine.cpuCount == 1 ? " CPU" : " CPUs")
        Console.print(machine.cpuStart == .spinTable ? " by spin table" : machine.hasPSCI ? " by PSCI" : "")
        Console.print(machine.hasPSCI ? ", GICv" : ", no PSCI, GICv")
        Console.dec(machine.gicVersion)
        Console.print(" at ")
        Console.hex(machine.gic.distributor)
        Console.print(", console at ")
        Console.hex(machine.uartBase)
        Console.newline()
        return true
    }

    /// True when the VM's RAM is the machine's RAM; else says so (the DTB may describe less
    /// memory than the board file plans for: QEMU's `-m`, a board with a smaller module).
    @inline(never)
    @_optimize(size)
    static func machineHolds(_ layout: VMLayout) -> Bool {
        if machine.ramHolds(layout.ramPA, size: layout.ramSize) { return true }
        Console.begin()
        Console.print("ERROR: DTB: the VM's RAM (PA ")
        Console.hex(layout.ramPA)
        Console.print(", ")
        Console.dec(layout.ramSize >> 20)
        Console.print(" MiB) is not all in the machine's RAM (")
        Console.dec(machine.ramSize >> 20)
        Console.print(" MiB at ")
        Console.hex(machine.ramBase)
        Console.print("): give the machine more memory")
        Console.newline()
        return false
    }

    /// `DTB: <message> <value>`, or `ERROR: DTB: ...` when Keel cannot run.
    @inline(never)
    private static func note(_ note: MachineNote, _ value: UInt64) {
        Console.begin()
        Console.print(note.isRefusal ? "ERROR: DTB: " : "DTB: ")
        Console.print(note.message)
        number(value, note.isCount)
        if note.isRefusal { Console.print(": Keel cannot run here") }
        Console.newline()
    }

    @inline(never)
    private static func number(_ value: UInt64, _ isCount: Bool) {
        Console.print(" ")
        if isCount { Console.dec(value) } else { Console.hex(value) }
    }

    /// The trace mode from `keel.trace=` in /chosen/bootargs (QEMU: `-append`), else counters.
    /// A missing or malformed DTB just means the default.
    @_optimize(size)
    static func traceMode(_ address: UInt64) -> TraceMode {
        let found: TraceMode?? = open(address) { fdt in
            guard let bootargs = fdt.property(path: "/chosen", name: "bootargs") else { return nil }
            return BootArguments.traceMode(bootargs)
        }
        guard let found, let mode = found else { return .counters }
        Console.begin()
        Console.print("trace mode from bootargs: ")
        Console.print(mode == .full ? "full" : mode == .memory ? "memory" : mode == .off ? "off" : "counters")
        Console.newline()
        return mode
    }
}
