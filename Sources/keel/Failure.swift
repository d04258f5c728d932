import ArgumentParser
import Foundation
import KeelKit

/// File and data errors are not usage errors: `keel: MESSAGE` on standard error, no `Usage:`
/// block (ArgumentParser prints one for a ValidationError), and the error's own exit status.
func failure(_ error: KeelError) -> ExitCode {
    failure(error.message, error.status)
}

func failure(_ message: String, _ status: ExitStatus) -> ExitCode {
    FileHandle.standardError.write(Data("keel: \(message)\n".utf8))
    return ExitCode(status)
}

extension ExitCode {
    init(_ status: ExitStatus) { self.init(status.rawValue) }
}
