import _Volatile

/// Cadence UART (Zynq UltraScale+ MPSoC UART0/1, Xilinx UG1085 chapter 21 and its register
/// reference): the hypervisor's own console on the ZCU102. Transmit only; Keel polls, it takes
/// no UART interrupts.
struct CadenceUART {
    /// Safety of every register below: `base` is the UART the board file and the boot DTB agree
    /// on (`machine.uartBase`), mapped Device-nGnRE in Keel's EL2 tables; the offsets are the
    /// device's own registers, 32 bits wide.
    let base: UInt

    /// Control_reg0.
    private var control: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x00) }
    /// Channel_sts_reg0.
    private var channelStatus: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x2C) }
    /// TX_RX_FIFO0: a store queues one byte for transmission.
    private var fifo: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x30) }

    /// Control_reg0: RXEN (bit 2) and TXEN (bit 4); RXDIS (bit 3) and TXDIS (bit 5) win over
    /// them, so enabling means clearing those.
    private static let enable: UInt32 = 1 << 2 | 1 << 4
    private static let disable: UInt32 = 1 << 3 | 1 << 5
    /// Channel_sts_reg0.TFUL: the transmit FIFO is full; TEMPTY: it is empty.
    private static let txFull: UInt32 = 1 << 4
    private static let txEmpty: UInt32 = 1 << 3
    /// The transmit FIFO's bytes (UG1085: 64).
    private static let fifoDepth = 64

    /// Make sure the UART transmits. The boot loader (or QEMU) already chose the baud rate and
    /// the mode register's 8N1; the reset/software-reset bits (0, 1) are left clear.
    func start() {
        let value = control.load()
        let wanted = (value & ~(CadenceUART.disable | 0x3)) | CadenceUART.enable
        if value != wanted { control.store(wanted) }
    }

    /// Every byte written has left the transmit FIFO.
    var transmitterIdle: Bool { channelStatus.load() & CadenceUART.txEmpty != 0 }

    func put(_ byte: UInt8) {
        while channelStatus.load() & CadenceUART.txFull != 0 {}
        fifo.store(UInt32(byte))
    }

    /// `bytes` back to back: a FIFO's worth where the status says it is empty, else one byte
    /// when it is not full.
    func write(_ bytes: Span<UInt8>) {
        let count = bytes.count
        var i = 0
        while i < count {
            let status = channelStatus.load()
            let room = status & CadenceUART.txEmpty != 0 ? CadenceUART.fifoDepth : (status & CadenceUART.txFull == 0 ? 1 : 0)
            let end = min(count, i + room)
            while i < end {
                fifo.store(UInt32(bytes[i]))
                i += 1
            }
        }
    }
}
