/// The guest's console: a PL011 emulated register by register. Bytes written to DR go to Keel's
/// console; the receive FIFO holds what Keel's console input gives this VM (`ConsoleInput`);
/// the transmit FIFO is never full. Registers a
/// driver programs (baud, line control, control, interrupt mask) keep what was written, and the
/// identification registers read as a PL011 r1p5 (what Linux's amba bus probes).
struct VirtualPL011 {
    static let size: UInt64 = 0x1000

    var ibrd: UInt32 = 0
    var fbrd: UInt32 = 0
    var lcrh: UInt32 = 0
    var cr: UInt32 = 0x300  // TXE | RXE, the PL011 reset value
    var ifls: UInt32 = 0x12
    var imsc: UInt32 = 0
    var dmacr: UInt32 = 0
    /// Received bytes, oldest first (a PL011's 16-entry FIFO; more are dropped, as overruns).
    var rx: [16 of UInt8] = .init(repeating: 0)
    var rxCount = 0
    /// The interrupt line as the vGIC last heard of it.
    var lineHigh = false

    /// A byte from the console input; false when the FIFO is full.
    mutating func receive(_ byte: UInt8) -> Bool {
        guard rxCount < rx.count else { return false }
        rx[rxCount] = byte
        rxCount += 1
        return true
    }

    /// Its interrupt line: receive data waiting and unmasked (RXIM, RTIM). Transmit interrupts
    /// are never raised (the FIFO never fills, and Linux's driver writes without them).
    var interruptPending: Bool { rxCount > 0 && imsc & (1 << 4 | 1 << 6) != 0 }

    private enum Register {
        static let dr: UInt64 = 0x000
        static let rsr: UInt64 = 0x004
        static let fr: UInt64 = 0x018
        static let ibrd: UInt64 = 0x024
        static let fbrd: UInt64 = 0x028
        static let lcrh: UInt64 = 0x02C
        static let cr: UInt64 = 0x030
        static let ifls: UInt64 = 0x034
        static let imsc: UInt64 = 0x038
        static let ris: UInt64 = 0x03C
        static let mis: UInt64 = 0x040
        static let icr: UInt64 = 0x044
        static let dmacr: UInt64 = 0x048
        static let periphID0: UInt64 = 0xFE0
    }

    /// FR: TXFE (transmit FIFO empty) and RXFE (receive FIFO empty).
    private static let flagsIdle: UInt32 = 1 << 7 | 1 << 4

    /// A register write; returns the byte a DR write transmits (the VM's `GuestConsole` sends
    /// it on), nil for the other registers.
    mutating func write(offset: UInt64, value: UInt64, bytes: Int) -> UInt8? {
        let v = UInt32(truncatingIfNeeded: value)
        switch offset {
        case Register.dr: return UInt8(truncatingIfNeeded: v)
        case Register.ibrd: ibrd = v & 0xFFFF
        case Register.fbrd: fbrd = v & 0x3F
        case Register.lcrh: lcrh = v & 0xFF
        case Register.cr: cr = v & 0xFF87
        case Register.ifls: ifls = v & 0x3F
        case Register.imsc: imsc = v & 0x7FF
        case Register.dmacr: dmacr = v & 0x7
        default: break  // RSR/ECR clear, ICR, read-only registers: writes ignored
        }
        return nil
    }

    /// DR pops the receive FIFO, so reads are mutating.
    mutating func read(offset: UInt64, bytes: Int) -> UInt64 {
        let v: UInt32
        switch offset {
        case Register.dr:
            guard rxCount > 0 else { v = 0; break }
            v = UInt32(rx[0])
            for i in 1..<rx.count { rx[i - 1] = rx[i] }
            rxCount -= 1
        case Register.rsr: v = 0
        case Register.ris: v = rxCount > 0 ? 1 << 4 : 0
        case Register.mis: v = interruptPending ? (imsc & (1 << 4)) : 0
        case Register.fr: v = rxCount > 0 ? VirtualPL011.flagsIdle & ~(1 << 4) : VirtualPL011.flagsIdle
        case Register.ibrd: v = ibrd
        case Register.fbrd: v = fbrd
        case Register.lcrh: v = lcrh
        case Register.cr: v = cr
        case Register.ifls: v = ifls
        case Register.imsc: v = imsc
        case Register.dmacr: v = dmacr
        case Register.periphID0..<(Register.periphID0 + 0x20) where offset & 3 == 0:
            v = UInt32(VirtualPL011.identification(Int((offset - Register.periphID0) / 4)))
        default: v = 0
        }
        return UInt64(v)
    }

    /// PeriphID0-3 then PCellID0-3.
    private static func identification(_ index: Int) -> UInt8 {
        switch index {
        case 0: 0x11
        case 1: 0x10
        case 2: 0x14
        case 3: 0x00
        case 4: 0x0D
        case 5: 0xF0
        case 6: 0x05
        default: 0xB1
        }
    }
}
