import ArgumentParser
import Foundation
import KeelKit

/// File and data errors are not usage errors: `keel: MESSAGE` on standard error, no `Usage:`
/// block (ArgumentParser prints one for a ValidationError), and the error's own exit status.
func failure(_ error: KeelError) -> ExitCode {
    failure(error.message, error.status)
}

func failure(_ message: String, _ status: ExitStatus) -> ExitCode {
    printError("keel: \(message)")
    return ExitCode(status)
}

extension ExitCode {
    init(_ status: ExitStatus) { self.init(status.rawValue) }
}

/// A line on standard error (a closed standard error does not crash keel).
func printError(_ line: String) {
    RunCleanup.writeToStandardError(line.hasSuffix("\n") ? line : line + "\n")
}
