import KeelHW

/// Keel's console input: what arrives on the board's UART goes to one VM at a time, the one with
/// the focus (VM 0 at boot). `Ctrl-A` then a digit gives the focus to that VM (`[keel] console
/// input: vmN`); `Ctrl-A Ctrl-A` sends one `Ctrl-A`. Keel polls the UART whenever a guest reads
/// its own (a guest waiting for input reads it), so nothing is taken while no guest looks; the
/// bytes wait in the real UART's FIFO meanwhile. Boards with a PL011 only, today.
enum ConsoleInput {
    static let escape: UInt8 = 0x01

    nonisolated(unsafe) private static var focus = 0
    nonisolated(unsafe) private static var escaped = false
    /// Guards the above and every VM's receive FIFO: one vCPU may fill another VM's FIFO while
    /// that VM's vCPU empties it.
    nonisolated(unsafe) private static var lock: UInt32 = 0

    /// Runs `body` holding the input lock.
    static func locked<T>(_ body: () -> T) -> T {
        withUnsafeMutablePointer(to: &lock) { keel_spin_lock($0) }
        defer { withUnsafeMutablePointer(to: &lock) { keel_spin_unlock($0) } }
        return body()
    }

    /// Moves what the UART received into the focused VM's FIFO. Caller holds the lock.
    static func poll() {
        guard activeBoard.uartKind == .pl011 else { return }
        let uart = PL011(base: UInt(machine.uartBase))
        while let byte = uart.receive() { take(byte) }
    }

    @_optimize(size)
    private static func take(_ byte: UInt8) {
        if escaped {
            escaped = false
            if byte == escape { return deliver(byte) }
            let digit = Int(byte) - Int(UInt8(ascii: "0"))
            if digit >= 0 && digit < VMs.capacity && VMs.pointer(digit).pointee.vcpuCount > 0 {
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
        deliver(byte)
    }

    private static func deliver(_ byte: UInt8) {
        let vm = VMs.pointer(focus)
        guard vm.pointee.vcpuCount > 0, !vm.pointee.poweredOff else { return }
        _ = vm.pointee.uart.receive(byte)
        syncLine(vm)
    }

    /// The VM's UART interrupt follows its receive FIFO and mask (`VirtualPL011.interruptPending`);
    /// only a change reaches the vGIC.
    static func syncLine(_ vm: UnsafeMutablePointer<VM>) {
        let high = vm.pointee.uart.interruptPending
        guard high != vm.pointee.uart.lineHigh else { return }
        vm.pointee.uart.lineHigh = high
        VGIC.setLevel(vm.pointee.vcpu(0), intid: Int(vm.pointee.layout.uartINTID), high: high)
    }
}
