import Foundation

/// Bytes in a temporary file, removed when this value goes away (a packed image `keel run
/// --config` boots).
public final class TemporaryFile {
    public let path: String

    public init(_ bytes: Data, suffix: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("keel-\(getpid())-\(UUID().uuidString)\(suffix)").path
        do {
            try bytes.write(to: URL(fileURLWithPath: path))
        } catch {
            throw KeelError("cannot write '\(path)': \(error.localizedDescription)")
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
