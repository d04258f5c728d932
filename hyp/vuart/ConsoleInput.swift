import KeelHW

/// Keel's console input: what arrives on the board's UART goes to one VM at a time, the one with
/// the focus (VM 0 at boot). `Ctrl-A` then a digit gives the focus to that VM (`[keel] console
/// input: vmN`); `Ctrl-A Ctrl-A` sends one `Ctrl-A`. Keel polls the UART whenever a guest reads
/// its own (a guest waiting for input reads it), so nothing is taken while no guest looks; the
/// bytes wait in the real UART's FIFO meanwhile. Boards with a PL011 or an i.MX UART, today.
enum ConsoleInput {
    static let escape: UInt8 = 0x01

    nonisolated(unsafe) private static var focus = 0
    nonisolated(unsafe) private static var escaped = false
    /// `StaticWords.consoleInputLock` guards the above and the reading of the real UART. A VM's
    /// FIFO has its own lock (`GuestUART`), taken inside this one.

    /// Moves what the UART received into the focused VM's FIFO. `caller` is the vCPU whose
    /// UART read polls, of any VM: the focused VM's vCPUs other than it are kicked when their
    /// UART interrupt rises. Nothing waiting (the common case): one read of the UART's status, no lock.
    @inline(__always)  // on every UART read
    static func poll(from caller: VCPUHandle) {
        guard Console.hasInput else { return }
        drain(from: caller)
    }

    @inline(never)
    private static func drain(from caller: VCPUHandle) {
        StaticWords.consoleInputLock.locked {
            while let byte = Console.receive() { take(byte, from: caller) }
        }
    }

    @_optimize(size)
    private static func take(_ byte: UInt8, from caller: VCPUHandle) {
        if escaped {
            escaped = false
            if byte == escape { return deliver(byte, from: caller) }
            let digit = Int(byte) - Int(UInt8(ascii: "0"))
            if digit >= 0 && digit < VMs.capacity && VMHandle(id: digit).state.vcpuCount > 0 {
                focus = digit
                Console.begin()
                Console.print("console input: vm")
                Console.dec(UInt64(digit))
                Console.newline()
            }
            return
        }
        if byte == escape {
            escaped = true
            return
        }
        deliver(byte, from: caller)
    }

    private static func deliver(_ byte: UInt8, from caller: VCPUHandle) {
        let vm = VMHandle(id: focus)
        guard vm.state.vcpuCount > 0, !vm.state.poweredOff else { return }
        GuestUART.receive(vm, byte, from: caller)
    }
}
