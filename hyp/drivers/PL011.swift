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
    private var lcrH: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x02C) }
    private var cr: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x030) }

    /// FR.TXFE: transmit FIFO empty (with the FIFOs off: the holding register); FR.TXFF:
    /// transmit FIFO full; FR.RXFE: receive FIFO empty; FR.BUSY: a character is on the line.
    private static let txfe: UInt32 = 1 << 7
    private static let txff: UInt32 = 1 << 5
    private static let rxfe: UInt32 = 1 << 4
    private static let busy: UInt32 = 1 << 3
    /// LCR_H.FEN: the FIFOs are on.
    private static let fen: UInt32 = 1 << 4
    /// CR: UARTEN, TXE, RXE.
    private static let enable: UInt32 = 1 << 0 | 1 << 8 | 1 << 9
    /// Bytes an empty transmit FIFO takes: 16 in every PL011 (32 from r1p5 on; the BCM2711's
    /// has 16).
    private static let fifoDepth = 16

    /// Make sure the UART transmits, its FIFOs on. The boot loader (or QEMU) already chose the
    /// baud rate. FIFOs left off (QEMU's reset value) are turned on as the PL011 TRM says the
    /// line control may be changed: UART disabled, the last character out, then LCR_H (whose
    /// write also latches the unchanged baud divisors), then the control register back.
    func start() {
        let control = cr.load()
        let line = lcrH.load()
        if line & PL011.fen == 0 {
            cr.store(control & ~1)
            while fr.load() & PL011.busy != 0 {}
            lcrH.store(line | PL011.fen)
        }
        if control & PL011.enable != PL011.enable || line & PL011.fen == 0 { cr.store(control | PL011.enable) }
    }

    /// Every byte written has left: the transmit FIFO empty and nothing on the line.
    var transmitterIdle: Bool {
        let flags = fr.load()
        return flags & PL011.txfe != 0 && flags & PL011.busy == 0
    }

    func put(_ byte: UInt8) {
        while fr.load() & PL011.txff != 0 {}
        dr.store(UInt32(byte))
    }

    /// `bytes` back to back: where FR says the transmit FIFO is empty, a FIFO's worth without
    /// reading FR again; else one byte when it is not full. With the FIFOs off (LCR_H.FEN
    /// clear: a boot loader may leave them so) the "FIFO" is one holding register.
    func write(_ bytes: Span<UInt8>) {
        let count = bytes.count
        guard count > 0 else { return }
        let burst = lcrH.load() & PL011.fen != 0 ? PL011.fifoDepth : 1
        var i = 0
        while i < count {
            let flags = fr.load()
            let room = flags & PL011.txfe != 0 ? burst : (flags & PL011.txff == 0 ? 1 : 0)
            let end = min(count, i + room)
            while i < end {
                dr.store(UInt32(bytes[i]))
                i += 1
            }
        }
    }

    /// FR.RXFE clear: a received byte waits.
    var hasInput: Bool { fr.load() & PL011.rxfe == 0 }

    /// The next received byte, or nil when the receive FIFO is empty.
    func receive() -> UInt8? {
        guard fr.load() & PL011.rxfe == 0 else { return nil }
        return UInt8(truncatingIfNeeded: dr.load())
    }
}
