import KeelHW

/// An exception taken while Keel itself ran: a hypervisor bug, never a guest's doing. During a
/// vCPU's exit it stops that VM only; anywhere else, the machine (`Containment`). Either way
/// the report gives the syndrome and every register (`FaultReport`). Entered from
/// `keel_hyp_exception` (hyp/arch/HypFault.swift).
@_optimize(size)
func hypervisorException(_ fault: HypFault) -> Never {
    Containment.handle(fault)
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
