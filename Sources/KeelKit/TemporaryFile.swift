import Foundation

/// Bytes in a temporary file, removed when this value goes away (a packed image `keel run
/// --config` boots).
public final class TemporaryFile {
    public let path: String

    public init(_ bytes: Data, suffix: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("keel-\(getpid())-\(UUID().uuidString)\(suffix)").path
        // Registered before it exists: a signal from here on removes it.
        RunCleanup.shared.register(path: path)
        do {
            try bytes.write(to: URL(fileURLWithPath: path))
        } catch {
            RunCleanup.shared.unregister(path: path)
            throw KeelError("cannot write '\(path)': \(InputFile.reason(of: error))", status: .cannotCreate)
        }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
        RunCleanup.shared.unregister(path: path)
    }
}
