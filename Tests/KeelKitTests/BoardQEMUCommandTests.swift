import KeelBoards
import Testing
@testable import KeelKit

@Suite("QEMU command lines from the board data")
struct BoardQEMUCommandTests {
    @Test("a packed image carries its bundle: no loader device; --gdb halts with the stub")
    func packedImage() {
        var command = QEMUCommand(firmware: "keel.img", bundle: nil, board: qemuVirtGICv2, layout: qemuVirtDefaultVM, smp: 2)
        #expect(command.shellLine == "qemu-system-aarch64 -M virt,virtualization=on,gic-version=2 -cpu cortex-a72 -smp 2 -m 1024M -display none -monitor none -serial stdio -kernel keel.img")
        command.gdb = true
        #expect(command.arguments.suffix(3) == ["-gdb", "tcp:127.0.0.1:1234", "-S"])
    }

    @Test("a fixed-SoC machine takes no gic-version; its CPU and RAM come from the board")
    func zcu102() {
        let command = QEMUCommand(firmware: "keel.img", bundle: nil, board: xlnxZCU102, layout: qemuVirtDefaultVM, smp: 4)
        #expect(command.shellLine == "qemu-system-aarch64 -M xlnx-zcu102,virtualization=on -cpu cortex-a53 -smp 4 -m 2048M -display none -monitor none -serial stdio -kernel keel.img")
    }

    @Test("the gdb command loads Keel's symbols and attaches to QEMU's stub")
    func gdb() {
        #expect(GDBAttach.command(elf: "build/hyp/keel.elf") == "gdb-multiarch -q build/hyp/keel.elf -ex 'target remote :1234'")
        #expect(Firmware.elf(for: "build/hyp/keel.bin") == "build/hyp/keel.elf")
    }
}
