/// The always-on exit counters of a vCPU, printed when its VM powers off:
/// `[keel] vm0/vcpu0 exits: HVC64=3 SMC64=1 SYS64=5 DABT_LOW=120 irq=0`.
enum ExitReport {
    @_optimize(size)
    static func print(_ vcpu: VCPUHandle) {
        Console.begin(vm: vcpu.state.vm, vcpu: vcpu.state.id)
        Console.print(" exits:")
        var total: UInt64 = 0
        for ec in 0..<64 {
            let count = vcpu.state.exits.byEC[ec]
            guard count > 0 else { continue }
            total += UInt64(count)
            Console.print(" ")
            if let name = ExceptionClass(rawValue: UInt8(ec)).name {
                Console.print(name)
            } else {
                Console.print("EC_")
                Console.hex(UInt64(ec))
            }
            Console.print("=")
            Console.dec(UInt64(count))
        }
        Console.print(" irq=")
        Console.dec(UInt64(vcpu.state.exits.irq))
        Console.print(" total=")
        Console.dec(total + UInt64(vcpu.state.exits.irq))
        Console.newline()
    }
}
