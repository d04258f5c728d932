import KeelHW

/// The synchronous vector answers a guest's halfword or word access to a plain register of its
/// emulated PL011 itself (hyp/arch/vectors.S, `keel_uart_read_fast` and `keel_uart_write_fast`;
/// the Swift twin is `trapDataAbort` with `GuestUART` and `VirtualPL011`): FR, RIS, MIS and the
/// registers a driver programs, read or written under the VM's UART lock, when no byte of
/// console input waits and a write of IMSC leaves the interrupt line as it is. DR and every
/// other case take the Swift path with the guest's registers intact (keel/uartfast.h).
///
/// Swift lays out `VM` and `VirtualPL011` decides what each register holds: the boot check
/// below ties keel/uartfast.h's offsets to the layout and the vector's masks and answers to
/// `VirtualPL011` itself, so the assembly never touches a field it did not check nor answers
/// what the Swift path would not.
enum UARTFastPath {
    /// Whether keel/uartfast.h and the vector agree with Swift's `VM` and `VirtualPL011`.
    static var matchesSwift: Bool {
        let uart = MemoryLayout<VM>.offset(of: \.uart) ?? -1
        return MemoryLayout<VM>.offset(of: \.layout.uartIPA) == Int(KEEL_VM_UART_IPA)
            && MemoryLayout<VM>.offset(of: \.uartLock) == Int(KEEL_VM_UART_LOCK)
            && MemoryLayout<VirtualPL011>.offset(of: \.ibrd).map { $0 + uart } == Int(KEEL_VM_UART_IBRD)
            && MemoryLayout<VirtualPL011>.offset(of: \.fbrd).map { $0 + uart } == Int(KEEL_VM_UART_FBRD)
            && MemoryLayout<VirtualPL011>.offset(of: \.lcrh).map { $0 + uart } == Int(KEEL_VM_UART_LCRH)
            && MemoryLayout<VirtualPL011>.offset(of: \.cr).map { $0 + uart } == Int(KEEL_VM_UART_CR)
            && MemoryLayout<VirtualPL011>.offset(of: \.ifls).map { $0 + uart } == Int(KEEL_VM_UART_IFLS)
            && MemoryLayout<VirtualPL011>.offset(of: \.imsc).map { $0 + uart } == Int(KEEL_VM_UART_IMSC)
            && MemoryLayout<VirtualPL011>.offset(of: \.dmacr).map { $0 + uart } == Int(KEEL_VM_UART_DMACR)
            && MemoryLayout<VirtualPL011>.offset(of: \.rxCount).map { $0 + uart } == Int(KEEL_VM_UART_RX_COUNT)
            && MemoryLayout<VirtualPL011>.offset(of: \.lineHigh).map { $0 + uart } == Int(KEEL_VM_UART_LINE)
            && MemoryLayout<Bool>.size == 1 && MemoryLayout<Int>.size == 8
            && keel_vm_pool_base() & 0xFFF == 0
            && defaultVMLayout.uartIPA & 0xFFF == 0
            && answersAsSwift
            && priorityMatchesSwift
    }

    /// The same for the priority-write fast path (keel/priofast.h, `keel_prio_write_fast`):
    /// the distributor's offset and what the offsets it takes decode to (the SPI banks' and
    /// IRQBank's offsets, keel/irqfast.h's, are `IRQFastPath.matchesSwift`'s).
    private static var priorityMatchesSwift: Bool {
        let layout = defaultVMLayout
        guard let first = IRQRegisters.decode(UInt64(KEEL_GICD_PRIO_FIRST)),
              let last = IRQRegisters.decode(UInt64(KEEL_GICD_PRIO_FIRST + KEEL_GICD_PRIO_WORDS)) else { return false }
        return MemoryLayout<VM>.offset(of: \.layout.gicDistributorIPA) == Int(KEEL_VM_GICD_IPA)
            && MemoryLayout<[32 of UInt8]>.stride == 32
            && first.kind == .priority && first.intid == 32
            && last.kind == .priority && last.intid == 32 + Int(KEEL_GICD_PRIO_WORDS)
            && last.intid + 3 < VirtualDistributor.intidLimit
            && VirtualDistributor.spiCount == 64
            && layout.gicDistributorIPA & 0xFFF == 0
            && (layout.uartIPA < layout.gicDistributorIPA || layout.uartIPA >= layout.gicDistributorIPA + 0x1000)
    }

    /// What the vector stores for each register it writes (all ones written: the mask it
    /// applies) and answers for each it reads, with the receive FIFO empty and not, against
    /// `VirtualPL011` itself; every value within 16 bits, so that a halfword access gets the
    /// same as a word one.
    private static var answersAsSwift: Bool {
        // (offset, the vector's mask); 0 for a register whose writes it ignores.
        let written: [18 of (UInt64, UInt32)] = [
            (0x04, 0), (0x08, 0), (0x0C, 0), (0x10, 0), (0x14, 0), (0x18, 0), (0x1C, 0), (0x20, 0),
            (0x24, 0xFFFF), (0x28, 0x3F), (0x2C, 0xFF), (0x30, 0xFF87), (0x34, 0x3F), (0x38, 0x7FF),
            (0x3C, 0), (0x40, 0), (0x44, 0), (0x48, 0x7),
        ]
        for i in written.indices {
            let (offset, mask) = written[i]
            var uart = VirtualPL011()
            let before = uart.read(offset: offset, bytes: 4)
            guard uart.write(offset: offset, value: ~0, bytes: 4) == nil else { return false }
            let after = uart.read(offset: offset, bytes: 4)
            if mask == 0 ? after != before : after != UInt64(mask) { return false }
            if after > 0xFFFF { return false }
        }
        for received in 0..<2 {
            for imsc: UInt32 in [0, UInt32(KEEL_UART_RXIM), 0x40, 0x7FF] {
                var uart = VirtualPL011()
                uart.imsc = imsc
                if received == 1 { _ = uart.receive(0x41) }
                let r = received == 1
                let fr = UInt64(r ? KEEL_UART_FR_RECEIVED : KEEL_UART_FR_EMPTY)
                let ris = UInt64(r ? KEEL_UART_RXIM : 0)
                let mis = UInt64(r ? imsc & UInt32(KEEL_UART_RXIM) : 0)
                let pending = r && imsc & UInt32(KEEL_UART_RX_INTERRUPTS) != 0
                guard uart.read(offset: 0x18, bytes: 4) == fr, uart.read(offset: 0x3C, bytes: 4) == ris,
                      uart.read(offset: 0x40, bytes: 4) == mis, uart.interruptPending == pending else { return false }
                for offset: UInt64 in [0x04, 0x08, 0x0C, 0x10, 0x14, 0x1C, 0x20, 0x44, 0x4C, 0x7C]
                where uart.read(offset: offset, bytes: 4) != 0 { return false }
            }
        }
        return true
    }

    /// On where Keel reads its console's input from a PL011 (the vector polls its FR) or reads
    /// none (Cadence: nothing ever waits), never while exits are traced: every exit is
    /// recorded through the Swift path then. Off, the vector's poll always finds "input
    /// waiting" and leaves every access to Swift.
    static func configure(tracing: Bool) {
        let address: UInt64
        switch activeBoard.uartKind {
        case .pl011: address = machine.uartBase + 0x018
        case .cadence: address = keel_uart_fast_idle_address()
        case .imx: address = keel_uart_fast_busy_address()
        }
        keel_set_uart_fast_fr(tracing ? keel_uart_fast_busy_address() : address)
        keel_set_prio_fast_on(tracing ? 0 : 1)
    }
}
