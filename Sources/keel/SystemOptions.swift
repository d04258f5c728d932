import ArgumentParser
import Foundation
import KeelKit

/// The options `keel pack` and `keel run` share to name a system.
struct SystemOptions: ParsableArguments {
    @Option(name: .long, help: "The system config (TOML): board, VMs, images. Paths in it are relative to it.")
    var config: String?

    @Option(name: .long, help: "The board (keel boards lists them), instead of the config's `board =`.")
    var board: String?

    /// The config read and checked; its problems printed one per line, then exit 65.
    func loadSystem() throws -> ValidatedSystem {
        guard let config else { throw ValidationError("give --config FILE") }
        do {
            return try SystemPack.load(config, board: board)
        } catch let error as ConfigError {
            for line in error.messages { FileHandle.standardError.write(Data("error: \(line)\n".utf8)) }
            throw ExitCode(ExitStatus.dataError)
        } catch let error as KeelError {
            throw failure(error)
        }
    }
}
