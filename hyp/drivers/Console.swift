import KeelHW

/// Keel's console: its own messages, prefixed `[keel] `, and the guests' output, forwarded as is.
/// A Keel message always starts on a line of its own, even when a guest left one unfinished.
///
/// No heap and no String interpolation: output is built from static strings and numbers.
enum Console {
    nonisolated(unsafe) private static var atLineStart = true
    /// Off until the MMU is on: the lock uses exclusives, which fault on Device memory.
    nonisolated(unsafe) static var lockingEnabled = false

    private static var me: UInt32 { UInt32(read_mpidr_el1() & 0xFF) + 1 }

    /// The console lock and its owner (CPU + 1, or 0), C globals in runtime/locks.c so the panic
    /// path can take them over. Safety: a global's address is fixed for the firmware's life.
    private static var lock: AtomicWord { unsafe AtomicWord(&keel_console_lock) }
    private static var owner: AtomicWord { unsafe AtomicWord(&keel_console_owner) }

    /// Takes the console for this CPU unless it already has it; true when this call took it.
    private static func acquire() -> Bool {
        guard lockingEnabled, owner.loadAcquire() != me else { return false }
        lock.lock()
        owner.storeRelease(me)
        return true
    }

    private static func release() {
        guard lockingEnabled, owner.loadAcquire() == me else { return }
        owner.storeRelease(0)
        lock.unlock()
    }

    /// Runs `body` holding the console, so that another CPU's output cannot land inside it.
    static func exclusive(_ body: () -> Void) {
        let took = acquire()
        body()
        if took { release() }
    }
    /// The board's kind of UART, as `UART.put` and `UART.start`, where the DTB puts it
    /// (`machine.uartBase`). `activeBoard` is a constant, so the compiler keeps one driver.
    private enum UART {
        static func put(_ byte: UInt8) {
            switch activeBoard.uartKind {
            case .pl011: PL011(base: UInt(machine.uartBase)).put(byte)
            case .cadence: CadenceUART(base: UInt(machine.uartBase)).put(byte)
            case .imx: IMXUART(base: UInt(machine.uartBase)).put(byte)
            }
        }
        /// Bytes back to back, the UART's address read once and its flags once per FIFO's
        /// worth (trace frames go out this way).
        static func write(_ bytes: Span<UInt8>) {
            let base = UInt(machine.uartBase)
            switch activeBoard.uartKind {
            case .pl011: PL011(base: base).write(bytes)
            case .cadence: CadenceUART(base: base).write(bytes)
            case .imx: IMXUART(base: base).write(bytes)
            }
        }
        static var transmitterIdle: Bool {
            switch activeBoard.uartKind {
            case .pl011: PL011(base: UInt(machine.uartBase)).transmitterIdle
            case .cadence: CadenceUART(base: UInt(machine.uartBase)).transmitterIdle
            case .imx: IMXUART(base: UInt(machine.uartBase)).transmitterIdle
            }
        }
        static func start() {
            switch activeBoard.uartKind {
            case .pl011: PL011(base: UInt(machine.uartBase)).start()
            case .cadence: CadenceUART(base: UInt(machine.uartBase)).start()
            case .imx: IMXUART(base: UInt(machine.uartBase)).start()
            }
        }
        /// Received bytes, for `ConsoleInput` (the Cadence UART's input is not read yet).
        static var hasInput: Bool {
            switch activeBoard.uartKind {
            case .pl011: PL011(base: UInt(machine.uartBase)).hasInput
            case .cadence: false
            case .imx: IMXUART(base: UInt(machine.uartBase)).hasInput
            }
        }
        static func receive() -> UInt8? {
            switch activeBoard.uartKind {
            case .pl011: PL011(base: UInt(machine.uartBase)).receive()
            case .cadence: nil
            case .imx: IMXUART(base: UInt(machine.uartBase)).receive()
            }
        }
    }

    @inline(never)  // console output is never hot; one copy keeps the firmware small
    static func put(_ byte: UInt8) {
        if byte == UInt8(ascii: "\n") { UART.put(UInt8(ascii: "\r")) }
        UART.put(byte)
        atLineStart = byte == UInt8(ascii: "\n")
    }

    static func start() { UART.start() }

    /// The UART has sent every byte written to it. Before the machine powers off, Keel waits for
    /// this (`Platform.powerOff`): QEMU 10's UARTs keep bytes their character device would not
    /// take yet (a pipe whose reader is slow: `keel run` under load) in their transmit FIFO, and
    /// a SYSTEM_OFF then dropped them with the last lines and trace frames.
    static var transmitterIdle: Bool { UART.transmitterIdle }

    /// True when the board's UART holds a received byte (one register read; false where Keel
    /// does not read the board's kind of UART).
    @inline(__always)
    static var hasInput: Bool { UART.hasInput }
    /// The next byte the board's UART received, or nil.
    static func receive() -> UInt8? { UART.receive() }

    /// A byte as it is, for binary trace frames (no newline translation, no line tracking).
    static func putRaw(_ byte: UInt8) { UART.put(byte) }
    static func putRaw(_ bytes: Span<UInt8>) { UART.write(bytes) }

    @inline(never)  // console output is never hot; one copy keeps the firmware small
    static func print(_ text: StaticString) {
        // Safety: a StaticString's UTF-8 buffer is rodata, valid for the call.
        text.withUTF8Buffer { for unsafe byte in unsafe $0 { put(byte) } }
    }

    /// A new hypervisor message: a fresh line and the `[keel] ` prefix.
    /// Holds the console until `newline()`.
    static func begin() {
        _ = acquire()
        if !atLineStart { put(UInt8(ascii: "\n")) }
        print("[keel] ")
    }

    /// A new hypervisor message about one vCPU: `[keel] vm0/vcpu1`.
    @inline(never)  // console output is never hot; one copy keeps the firmware small
    static func begin(vm: Int, vcpu: Int) {
        begin()
        print("vm")
        dec(vm)
        print("/vcpu")
        dec(vcpu)
    }

    /// One whole message line.
    @inline(never)  // console output is never hot; one copy keeps the firmware small
    static func log(_ text: StaticString) {
        begin()
        print(text)
        newline()
    }

    /// Ends a message line and lets other CPUs write again.
    @inline(never)  // console output is never hot; one copy keeps the firmware small
    static func newline() {
        put(UInt8(ascii: "\n"))
        release()
    }

    /// `0x` and the value in hex, without leading zeros.
    static func hex(_ value: UInt64) {
        print("0x")
        var started = false
        var shift: UInt64 = 60
        while true {
            let digit = UInt8((value >> shift) & 0xF)
            if digit != 0 || started || shift == 0 {
                started = true
                put(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
            }
            if shift == 0 { break }
            shift -= 4
        }
    }

    @inline(never)  // console output is never hot; one copy keeps the firmware small
    static func dec(_ value: UInt64) {
        var digits: [20 of UInt8] = .init(repeating: 0)  // UInt64.max has 20
        var count = 0
        var v = value
        repeat {
            digits[count] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
            count += 1
        } while v != 0
        while count > 0 {
            count -= 1
            put(digits[count])
        }
    }

    @inline(never)  // console output is never hot; one copy keeps the firmware small
    static func dec(_ value: Int) {
        if value < 0 {
            put(UInt8(ascii: "-"))
            dec(UInt64(-Int64(value)))
        } else {
            dec(UInt64(value))
        }
    }

    /// A guest's byte, forwarded as it is.
    /// A byte the guest wrote to its UART: passed on as it is (a UART does not translate line
    /// ends; Linux already sends CR LF).
    static func guestPut(_ byte: UInt8) {
        exclusive {
            UART.put(byte)
            atLineStart = byte == UInt8(ascii: "\n")
        }
    }

    /// One line of VM `vm`'s output (without its line end) behind `[vmN] `, whole.
    static func guestLine(vm: Int, _ bytes: Span<UInt8>) {
        exclusive {
            UART.put(UInt8(ascii: "["))
            UART.put(UInt8(ascii: "v"))
            UART.put(UInt8(ascii: "m"))
            UART.put(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: vm % 10))
            UART.put(UInt8(ascii: "]"))
            UART.put(UInt8(ascii: " "))
            for i in 0..<bytes.count { UART.put(bytes[i]) }
            UART.put(UInt8(ascii: "\r"))
            UART.put(UInt8(ascii: "\n"))
            atLineStart = true
        }
    }
}
