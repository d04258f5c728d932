import Foundation

/// `keel run --gdb`: QEMU waits halted at the first instruction with its gdb stub on
/// 127.0.0.1:1234 (`-gdb tcp:127.0.0.1:1234 -S`: not on every interface, where anyone who
/// reaches the machine could drive it); this is the one command that attaches with Keel's
/// symbols.
public enum GDBAttach {
    public static let port = 1234
    public static let address = "127.0.0.1"

    /// QEMU's arguments for the stub.
    public static func qemuArguments(port: Int = port) -> [String] { ["-gdb", "tcp:\(address):\(port)", "-S"] }

    public static func command(elf: String, port: Int = port) -> String {
        "gdb-multiarch -q \(shellQuoted(elf)) -ex 'target remote :\(port)'"
    }

    public static func instructions(elf: String, port: Int = port) -> String {
        "keel: QEMU is halted with its gdb stub on \(address):\(port); attach with:\n  \(command(elf: elf, port: port))"
    }

    /// True when process `pid` holds a socket listening on 127.0.0.1:`port` (read from /proc,
    /// without connecting: a connection would be the stub's one client).
    public static func isListening(pid: pid_t, port: Int) -> Bool {
        guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return false }
        // Rows: "sl local_address rem_address st ... inode"; 0100007F is 127.0.0.1, state 0A LISTEN.
        let local = String(format: "0100007F:%04X", port)
        let inodes = Set(table.split(separator: "\n").dropFirst().compactMap { row -> String? in
            let fields = row.split(separator: " ")
            guard fields.count > 9, fields[1] == local, fields[3] == "0A" else { return nil }
            return String(fields[9])
        })
        guard !inodes.isEmpty, let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return false }
        return descriptors.contains { fd in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)") else { return false }
            return target.hasPrefix("socket:[") && inodes.contains(String(target.dropFirst(8).dropLast()))
        }
    }
}
