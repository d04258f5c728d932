import KeelHW

/// An exception taken while Keel itself ran: a hypervisor bug, never a guest's doing. Print the
/// syndrome and every register, then stop this CPU. The host runner watches for `PANIC`.
@c(keel_hyp_exception)
@_optimize(size)
func hypervisorException(_ frame: UnsafeMutablePointer<keel_regs>, _ kind: UInt64) -> Never {
    let esr = ESR(rawValue: read_esr_el2())
    Console.begin()
    Console.print("PANIC: ")
    switch kind {
    case UInt64(KEEL_EXC_IRQ): Console.print("IRQ")
    case UInt64(KEEL_EXC_FIQ): Console.print("FIQ")
    case UInt64(KEEL_EXC_SERROR): Console.print("SError")
    default: Console.print("synchronous exception")
    }
    Console.print(" in the hypervisor")
    Console.newline()
    Console.begin()
    Console.print("ESR_EL2 ")
    Console.hex(esr.rawValue)
    Console.print(" (")
    Console.print(esr.ec.name ?? "unallocated EC")
    Console.print(")  ELR_EL2 ")
    Console.hex(frame.pointee.elr_el2)
    Console.print("  FAR_EL2 ")
    Console.hex(read_far_el2())
    Console.print("  SPSR_EL2 ")
    Console.hex(frame.pointee.spsr_el2)
    Console.newline()
    withUnsafeBytes(of: frame.pointee.x) { x in
        for row in 0..<8 {
            Console.begin()
            for column in 0..<4 {
                let n = row * 4 + column
                guard n < 31 else { break }
                Console.print(n < 10 ? " x" : "x")
                Console.dec(UInt64(n))
                Console.print(" ")
                Console.hex(x.load(fromByteOffset: n * 8, as: UInt64.self))
                Console.print("  ")
            }
            Console.newline()
        }
    }
    Console.begin()
    Console.print("sp ")
    Console.hex(frame.pointee.sp_el0)
    Console.newline()
    Platform.park()
}

/// A condition Keel cannot continue from (its own, never a guest's).
func panic(_ message: StaticString) -> Never {
    Console.begin()
    Console.print("PANIC: ")
    Console.print(message)
    Console.newline()
    Platform.park()
}

/// Entered from the boot stub, MMU off, when Keel was started at another exception level.
@c(keel_wrong_el)
func wrongExceptionLevel(_ el: UInt64) -> Never {
    Console.start()
    Console.begin()
    Console.print("error: started at EL")
    Console.dec(el)
    Console.print("; Keel is a hypervisor and needs EL2 (QEMU: -M virt,virtualization=on). Halting.")
    Console.newline()
    Platform.park()
}
