/// Where a VM's UART output goes. With one VM, each byte to Keel's console as it comes (the
/// guest's own line ends included). With several, a line at a time behind `[vmN] `
/// (`Console.guestLine`), so lines of different VMs never interleave.
///
/// One per VM, shared by its vCPUs: only ever used under the VM's UART lock (`GuestUART`).
struct GuestConsole {
    var vm = 0
    var prefixed = false
    var line: [120 of UInt8] = .init(repeating: 0)
    var lineLength = 0

    mutating func transmit(_ byte: UInt8) {
        guard prefixed else { return Console.guestPut(byte) }
        // Read once and checked before any index: even if this were reached without the lock, a
        // bad length would cost the line, never a bounds check at EL2.
        var length = lineLength
        if length < 0 || length >= line.count { length = 0 }
        if byte != UInt8(ascii: "\r") && byte != UInt8(ascii: "\n") {
            line[length] = byte
            length += 1
        }
        if byte == UInt8(ascii: "\n") || length == line.count {
            let vm = self.vm
            Console.guestLine(vm: vm, line.span.extracting(0..<length))
            length = 0
        }
        lineLength = length
    }
}
