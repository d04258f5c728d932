import Foundation

/// One run of a host tool (apt-get, apt-cache, dpkg-deb, gzip) for `keel linux fetch`. A value,
/// so tests can check what would run without running it.
public struct HostCommand: Equatable, Sendable {
    public var executable: String
    public var arguments: [String]
    /// Added to this process's environment (e.g. `APT_CONFIG`).
    public var environment: [String: String] = [:]
    public var directory: String?
    /// When set, standard output goes to this file instead of being captured (a decompressed
    /// kernel is tens of megabytes).
    public var outputFile: String?

    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil, outputFile: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.directory = directory
        self.outputFile = outputFile
    }

    public var shellLine: String {
        let env = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return (env + [executable] + arguments).map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
    }

    /// Runs the command to completion and returns its standard output; a non-zero status is a
    /// `KeelError` carrying the end of its standard error, which is where apt explains itself.
    @discardableResult
    public func run() throws -> String {
        let process = Process()
        process.executableURL = try Self.resolve(executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardInput = FileHandle.nullDevice
        let outputPipe = Pipe()
        var outputHandle: FileHandle?
        if let outputFile {
            guard FileManager.default.createFile(atPath: outputFile, contents: nil), let handle = FileHandle(forWritingAtPath: outputFile) else {
                throw KeelError("cannot write '\(outputFile)'")
            }
            outputHandle = handle
            process.standardOutput = handle
        } else {
            process.standardOutput = outputPipe
        }
        let errorPipe = Pipe()
        process.standardError = errorPipe
        do {
            try process.run()
        } catch {
            throw KeelError("cannot start \(executable): \(InputFile.reason(of: error))")
        }
        // Standard error is drained on another thread so that neither pipe can fill up and
        // stall the child while this thread reads the other.
        let errors = Collected()
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errors.data = errorPipe.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }
        let output = outputFile == nil ? outputPipe.fileHandleForReading.readDataToEndOfFile() : Data()
        process.waitUntilExit()
        drained.wait()
        try outputHandle?.close()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let tail = String(decoding: errors.data, as: UTF8.self).split(separator: "\n").suffix(8).joined(separator: "\n")
            throw KeelError("`\(shellLine)` failed (status \(process.terminationStatus))\(tail.isEmpty ? "" : ":\n\(tail)")")
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// `name` on PATH, or as given when it contains a slash.
    static func resolve(_ name: String) throws -> URL {
        if let url = findExecutable(name) { return url }
        throw KeelError("\(name) is not installed: `keel linux fetch` needs Debian's apt-get, apt-cache, dpkg-deb and gzip")
    }
}

private final class Collected: @unchecked Sendable {
    var data = Data()
}
