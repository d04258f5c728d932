import Foundation

/// The SHA-256 of a host file in lower-case hex, by the host's `sha256sum` (coreutils): what
/// the virtio tests and benchmarks compare with the `sha256sum` of busybox in a guest.
public enum HostSHA256 {
    public static func file(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch { throw KeelError("cannot run /usr/bin/sha256sum: \(InputFile.reason(of: error))", status: .noInput) }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw KeelError("sha256sum \(path) failed", status: .ioError) }
        return String(output.prefix { $0 != " " })
    }
}
