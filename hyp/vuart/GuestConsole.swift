/// Where a VM's UART output goes. With one VM, each byte to Keel's console as it comes (the
/// guest's own line ends included). With several, a line at a time behind `[vmN] `
/// (`Console.guestLine`), so lines of different VMs never interleave.
struct GuestConsole {
    var vm = 0
    var prefixed = false
    var line: [120 of UInt8] = .init(repeating: 0)
    var lineLength = 0

    mutating func transmit(_ byte: UInt8) {
        guard prefixed else { return Console.guestPut(byte) }
        if byte != UInt8(ascii: "\r") && byte != UInt8(ascii: "\n") {
            line[lineLength] = byte
            lineLength += 1
        }
        if byte == UInt8(ascii: "\n") || lineLength == line.count {
            let vm = self.vm
            let length = lineLength
            withUnsafeBytes(of: &line) { Console.guestLine(vm: vm, UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
            lineLength = 0
        }
    }
}
