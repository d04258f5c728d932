import _Volatile

/// Arm PrimeCell UART (PL011): the hypervisor's own console on QEMU virt and the Raspberry Pi.
/// Keel polls it both ways and takes no UART interrupts.
struct PL011 {
    /// Safety of every register below: `base` is the UART the board file and the boot DTB agree
    /// on (`machine.uartBase`), mapped Device-nGnRE in Keel's EL2 tables; the offsets are the
    /// device's own registers, 32 bits wide.
    let base: UInt

    private var dr: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x000) }
    private var fr: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x018) }
    private var cr: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x030) }

    /// FR.TXFF: transmit FIFO full; FR.RXFE: receive FIFO empty.
    private static let txff: UInt32 = 1 << 5
    private static let rxfe: UInt32 = 1 << 4
    /// CR: UARTEN, TXE, RXE.
    private static let enable: UInt32 = 1 << 0 | 1 << 8 | 1 << 9

    /// Make sure the UART transmits. The boot loader (or QEMU) already chose the baud rate.
    func start() {
        let control = cr.load()
        if control & PL011.enable != PL011.enable { cr.store(control | PL011.enable) }
    }

    func put(_ byte: UInt8) {
        while fr.load() & PL011.txff != 0 {}
        dr.store(UInt32(byte))
    }

    /// FR.RXFE clear: a received byte waits.
    var hasInput: Bool { fr.load() & PL011.rxfe == 0 }

    /// The next received byte, or nil when the receive FIFO is empty.
    func receive() -> UInt8? {
        guard fr.load() & PL011.rxfe == 0 else { return nil }
        return UInt8(truncatingIfNeeded: dr.load())
    }
}
