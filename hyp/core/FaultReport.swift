import KeelHW

/// The report of an exception Keel took at EL2: what every peer's users ask for when a port
/// hangs silently. The syndrome decoded (`keel esr` explains it further), Keel's registers,
/// the guest's registers when it happened during a vCPU's exit, and this CPU's last trace
/// records. Cold: `@_optimize(size)` throughout.
enum FaultReport {
    /// `[keel] vm1/vcpu0: FAULT in Keel while handling this vCPU's exit ...`, then the syndrome.
    @_optimize(size)
    static func header(_ fault: HypFault, vm: Int, vcpu: Int) {
        Console.begin(vm: vm, vcpu: vcpu)
        Console.print(": FAULT in Keel (")
        kind(fault)
        Console.print(") while handling this vCPU's exit: Keel stops vm")
        Console.dec(vm)
        Console.newline()
        syndrome(fault)
    }

    /// `[keel] PANIC: ...`: the fault stops the machine.
    @_optimize(size)
    static func panicHeader(_ fault: HypFault, nested: Bool) {
        Console.begin()
        Console.print("PANIC: ")
        kind(fault)
        Console.print(nested ? " in the hypervisor while it contained a fault: the machine stops" : " in the hypervisor")
        Console.newline()
        syndrome(fault)
    }

    private static func kind(_ fault: HypFault) {
        switch fault.kind {
        case UInt64(KEEL_EXC_IRQ): Console.print("IRQ")
        case UInt64(KEEL_EXC_FIQ): Console.print("FIQ")
        case UInt64(KEEL_EXC_SERROR): Console.print("SError")
        default: Console.print(fault.isFailedCheck ? "a failed Swift check" : "synchronous exception")
        }
    }

    @_optimize(size)
    private static func syndrome(_ fault: HypFault) {
        Console.begin()
        Console.print("ESR_EL2 ")
        Console.hex(fault.esr.rawValue)
        Console.print(" (")
        Console.print(fault.esr.ec.name ?? "unallocated EC")
        if fault.esr.ec == .brk64 {
            Console.print(" #")
            Console.hex(UInt64(fault.esr.imm16))
        }
        Console.print(")  ELR_EL2 ")
        Console.hex(fault.elr)
        // FAR_EL2 holds a stale value after other classes (a BRK sets none).
        switch fault.esr.ec {
        case .dabtCur, .iabtCur, .pcAlign, .watchptCur:
            Console.print("  FAR_EL2 ")
            Console.hex(fault.far)
        default:
            break
        }
        Console.print("  SPSR_EL2 ")
        Console.hex(fault.spsr)
        Console.newline()
    }

    /// Keel's x0-x30 and sp at the fault, four to a line.
    @_optimize(size)
    static func registers(_ fault: HypFault) {
        for row in 0..<8 {
            Console.begin()
            for column in 0..<4 {
                let n = row * 4 + column
                guard n < 31 else { break }
                register(n, fault.x[n])
            }
            if row == 7 {
                Console.print("sp ")
                Console.hex(fault.sp)
            }
            Console.newline()
        }
    }

    private static func register(_ n: Int, _ value: UInt64) {
        Console.print(n < 10 ? " x" : "x")
        Console.dec(UInt64(n))
        Console.print(" ")
        Console.hex(value)
        Console.print("  ")
    }

    /// The guest's state at its exit: PC, PSTATE, the exit's syndrome, and the registers the
    /// exit saved (x20-x29 only after a full exit: a light one leaves them live, and Keel's code
    /// has used them since).
    @_optimize(size)
    static func guest(_ vcpu: VCPUHandle) {
        let full = vcpu.state.regs.restore_all != 0
        Console.begin(vm: vcpu.state.vm, vcpu: vcpu.state.id)
        Console.print(" guest: pc ")
        Console.hex(vcpu.state.regs.elr_el2)
        Console.print("  spsr ")
        Console.hex(vcpu.state.regs.spsr_el2)
        Console.print("  exit ESR_EL2 ")
        let exit = ESR(rawValue: vcpu.state.exitESR)
        Console.hex(exit.rawValue)
        Console.print(" (")
        Console.print(exit.ec.name ?? "unallocated EC")
        Console.print(")")
        if full {
            Console.print("  sp_el0 ")
            Console.hex(vcpu.state.regs.sp_el0)
        }
        Console.newline()
        var n = 0
        while n < 31 {
            Console.begin()
            Console.print("  ")
            var column = 0
            while column < 4 && n < 31 {
                if n < 20 || n > 29 || full {
                    register(n, vcpu.state.regs.x[n])
                    column += 1
                }
                n += 1
            }
            Console.newline()
        }
        if !full { Console.log("  x20-x29, sp_el0: live at a light exit, not saved") }
    }

    /// This CPU's last trace records (keel.trace=full or memory), a few.
    @_optimize(size)
    static func traceTail() {
        guard Trace.recording else {
            Console.log("no trace records: keel.trace=full or memory (keel run --trace FILE) keeps the last exits of each CPU")
            return
        }
        Trace.forEachRecent { record in
            Console.begin()
            Console.print("trace #")
            Console.dec(UInt64(record.sequence))
            Console.print(" vm")
            Console.dec(UInt64(record.vm))
            Console.print("/vcpu")
            Console.dec(UInt64(record.vcpu))
            switch record.kind {
            case .exit:
                Console.print(" exit ")
                Console.print(ESR(rawValue: record.esr).ec.name ?? "unallocated EC")
                Console.print(" ESR ")
                Console.hex(record.esr)
            case .interrupt: Console.print(" interrupt")
            default:
                Console.print(" event ")
                Console.dec(UInt64(record.kind.rawValue))
            }
            Console.print(" pc ")
            Console.hex(record.elr)
            Console.print(" action ")
            Console.dec(UInt64(record.action.rawValue))
            Console.print(" arg0 ")
            Console.hex(record.arg0)
            Console.print(" arg1 ")
            Console.hex(record.arg1)
            Console.newline()
        }
    }
}
