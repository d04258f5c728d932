import KeelHW

/// Every access to a VM's emulated UART, under the VM's UART lock (`VM.uartLock`). Its
/// registers and receive FIFO (`VirtualPL011`), its interrupt line and its console line buffer
/// (`GuestConsole`) are one VM's, but all of that VM's vCPUs trap on them at the same time, and
/// console input (`ConsoleInput`) fills the FIFO from whichever CPU polled the real UART: a
/// vCPU of any VM. Unserialized, two vCPUs storing to DR at once indexed the line buffer past
/// its end, a bounds check at EL2 and a panic of every VM (issue 12).
///
/// Lock order: the console input lock, then a VM's UART lock, then that VM's vGIC lock or
/// Keel's console lock. Nothing that holds one of the later ones takes an earlier one.
enum GuestUART {
    /// `body` under the VM's UART lock (`VM.uartLock`: outside `uart` and `console`, so
    /// resetting those never touches a held lock).
    @inline(__always)
    static func locked<T>(_ vm: VMHandle, _ body: () -> T) -> T {
        vm.uartLock.locked(body)
    }

    /// A guest's store to its UART: a DR byte goes on to the VM's console; another register
    /// may have (un)masked the receive interrupt.
    @inline(__always)
    static func write(_ caller: VCPUHandle, offset: UInt64, value: UInt64, bytes: Int) {
        let vm = caller.state.vmHandle
        locked(vm) {
            if let byte = vm.state.uart.write(offset: offset, value: value, bytes: bytes) {
                vm.state.console.transmit(byte)
            } else {
                syncLine(vm, from: caller)
            }
        }
    }

    /// A guest's load from its UART. It may be waiting for input: what arrived is taken first.
    @inline(__always)
    static func read(_ caller: VCPUHandle, offset: UInt64, bytes: Int) -> UInt64 {
        let vm = caller.state.vmHandle
        ConsoleInput.poll(from: caller)
        return locked(vm) {
            let value = vm.state.uart.read(offset: offset, bytes: bytes)
            syncLine(vm, from: caller)
            return value
        }
    }

    /// A byte of console input for `vm`, delivered by `caller` (a vCPU of any VM, the one that
    /// polled). Dropped when the FIFO is full, as an overrun.
    static func receive(_ vm: VMHandle, _ byte: UInt8, from caller: VCPUHandle) {
        locked(vm) {
            _ = vm.state.uart.receive(byte)
            syncLine(vm, from: caller)
        }
    }

    /// SYSTEM_RESET: the UART as at boot. The line the guest left unfinished stays, to be ended
    /// by its next newline.
    @_optimize(size)
    static func reset(_ vm: VMHandle) {
        locked(vm) { vm.state.uart = VirtualPL011() }
    }

    /// The VM's UART interrupt follows its receive FIFO and mask (`VirtualPL011.interruptPending`);
    /// only a change reaches the vGIC. `caller` is the vCPU doing this, of this VM or another:
    /// any vCPU of the VM other than it is kicked when the line rises. Caller holds the lock.
    private static func syncLine(_ vm: VMHandle, from caller: VCPUHandle) {
        let high = vm.state.uart.interruptPending
        guard high != vm.state.uart.lineHigh else { return }
        vm.state.uart.lineHigh = high
        VGIC.setLevel(vm, intid: Int(vm.state.layout.uartINTID), high: high, from: caller)
    }
}
