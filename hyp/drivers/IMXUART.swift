import _Volatile

/// NXP's i.MX UART (the i.MX 8M Plus reference manual's UART chapter; the same block since the
/// i.MX21): the hypervisor's own console on the i.MX 8M Plus EVK (UART2). Keel polls it both
/// ways and takes no UART interrupts.
struct IMXUART {
    /// Safety of every register below: `base` is the UART the board file and the boot DTB agree
    /// on (`machine.uartBase`), mapped Device-nGnRE in Keel's EL2 tables; the offsets are the
    /// device's own registers, 32 bits wide (the upper 16 bits read as zero).
    let base: UInt

    /// URXD: the next received character (bits 7:0) and its status (CHARRDY bit 15, ERR bit 14).
    private var receiver: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x00) }
    /// UTXD: a store queues one character.
    private var transmitter: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x40) }
    private var control1: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x80) }
    private var control2: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x84) }
    private var status2: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x98) }
    /// UTS, the test register, whose FIFO flags Linux's earlycon polls too.
    private var test: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0xB4) }

    /// UCR1.UARTEN.
    private static let uartEnable: UInt32 = 1 << 0
    /// UCR2: SRST (bit 0) is active low, so it stays set (writing it clear resets the UART);
    /// RXEN (bit 1) and TXEN (bit 2) enable the receiver and the transmitter.
    private static let notReset: UInt32 = 1 << 0
    private static let enable: UInt32 = 1 << 1 | 1 << 2
    /// USR2.RDR: at least one character waits in the receive FIFO.
    private static let receiveReady: UInt32 = 1 << 0
    /// UTS.TXFULL: the 32-character transmit FIFO is full; UTS.TXEMPTY: it is empty.
    private static let txFull: UInt32 = 1 << 4
    private static let txEmpty: UInt32 = 1 << 6
    private static let fifoDepth = 32
    /// URXD.CHARRDY: the character read is valid.
    private static let charReady: UInt32 = 1 << 15

    /// Make sure the UART transmits and receives. The boot loader (U-Boot, or QEMU's reset,
    /// which leaves UARTEN and TXEN set) already chose the baud rate, clocks and pins; only the
    /// enable bits are added, every other bit kept.
    func start() {
        let c1 = control1.load()
        if c1 & IMXUART.uartEnable == 0 { control1.store(c1 | IMXUART.uartEnable) }
        let c2 = control2.load()
        let wanted = c2 | IMXUART.notReset | IMXUART.enable
        if c2 != wanted { control2.store(wanted) }
    }

    /// Every byte written has left the transmit FIFO.
    var transmitterIdle: Bool { test.load() & IMXUART.txEmpty != 0 }

    func put(_ byte: UInt8) {
        while test.load() & IMXUART.txFull != 0 {}
        transmitter.store(UInt32(byte))
    }

    /// `bytes` back to back: a FIFO's worth where UTS says it is empty, else one character
    /// when it is not full.
    func write(_ bytes: Span<UInt8>) {
        let count = bytes.count
        var i = 0
        while i < count {
            let status = test.load()
            let room = status & IMXUART.txEmpty != 0 ? IMXUART.fifoDepth : (status & IMXUART.txFull == 0 ? 1 : 0)
            let end = min(count, i + room)
            while i < end {
                transmitter.store(UInt32(bytes[i]))
                i += 1
            }
        }
    }

    /// USR2.RDR set: a received character waits.
    var hasInput: Bool { status2.load() & IMXUART.receiveReady != 0 }

    /// The next received character, or nil when the receive FIFO is empty.
    func receive() -> UInt8? {
        guard hasInput else { return nil }
        let value = receiver.load()
        guard value & IMXUART.charReady != 0 else { return nil }
        return UInt8(truncatingIfNeeded: value)
    }
}
