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
    /// Safety: the VM lives in the static pool; its lock word's address is stable, and lies
    /// outside `uart` and `console`, so resetting those never touches a held lock.
    private static func lockWord(_ vm: UnsafeMutablePointer<VM>) -> UnsafeMutablePointer<UInt32> {
        withUnsafeMutablePointer(to: &vm.pointee.uartLock) { $0 }
    }

    @inline(__always)
    static func locked<T>(_ vm: UnsafeMutablePointer<VM>, _ body: () -> T) -> T {
        keel_spin_lock(lockWord(vm))
        defer { keel_spin_unlock(lockWord(vm)) }
        return body()
    }

    /// A guest's store to its UART: a DR byte goes on to the VM's console; another register
    /// may have (un)masked the receive interrupt.
    @inline(__always)
    static func write(_ caller: UnsafeMutablePointer<VCPU>, offset: UInt64, value: UInt64, bytes: Int) {
        let vm = caller.pointee.vmPointer
        locked(vm) {
            if let byte = vm.pointee.uart.write(offset: offset, value: value, bytes: bytes) {
                vm.pointee.console.transmit(byte)
            } else {
                syncLine(vm, from: caller)
            }
        }
    }

    /// A guest's load from its UART. It may be waiting for input: what arrived is taken first.
    @inline(__always)
    static func read(_ caller: UnsafeMutablePointer<VCPU>, offset: UInt64, bytes: Int) -> UInt64 {
        let vm = caller.pointee.vmPointer
        ConsoleInput.poll(from: caller)
        return locked(vm) {
            let value = vm.pointee.uart.read(offset: offset, bytes: bytes)
            syncLine(vm, from: caller)
            return value
        }
    }

    /// A byte of console input for `vm`, delivered by `caller` (a vCPU of any VM, the one that
    /// polled). Dropped when the FIFO is full, as an overrun.
    static func receive(_ vm: UnsafeMutablePointer<VM>, _ byte: UInt8, from caller: UnsafeMutablePointer<VCPU>) {
        locked(vm) {
            _ = vm.pointee.uart.receive(byte)
            syncLine(vm, from: caller)
        }
    }

    /// SYSTEM_RESET: the UART as at boot. The line the guest left unfinished stays, to be ended
    /// by its next newline.
    static func reset(_ vm: UnsafeMutablePointer<VM>) {
        locked(vm) { vm.pointee.uart = VirtualPL011() }
    }

    /// The VM's UART interrupt follows its receive FIFO and mask (`VirtualPL011.interruptPending`);
    /// only a change reaches the vGIC. `caller` is the vCPU doing this, of this VM or another:
    /// any vCPU of the VM other than it is kicked when the line rises. Caller holds the lock.
    private static func syncLine(_ vm: UnsafeMutablePointer<VM>, from caller: UnsafeMutablePointer<VCPU>) {
        let high = vm.pointee.uart.interruptPending
        guard high != vm.pointee.uart.lineHigh else { return }
        vm.pointee.uart.lineHigh = high
        VGIC.setLevel(vm, intid: Int(vm.pointee.layout.uartINTID), high: high, from: caller)
    }
}
