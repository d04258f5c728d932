/// `keel run --gdb`: QEMU waits halted at the first instruction with its gdb stub on TCP
/// port 1234 (`-s -S`); this is the one command that attaches with Keel's symbols.
public enum GDBAttach {
    public static let port = 1234

    public static func command(elf: String) -> String {
        "gdb-multiarch -q \(shellQuoted(elf)) -ex 'target remote :\(port)'"
    }

    public static func instructions(elf: String) -> String {
        "keel: QEMU is halted with its gdb stub on :\(port); attach with:\n  \(command(elf: elf))"
    }
}
