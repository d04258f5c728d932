import ArgumentParser
import KeelKit

/// `keel esr VALUE`: explain an exception syndrome.
struct ESRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "esr",
        abstract: "Decode an ESR_ELx value: exception class, IL, and the ISS fields."
    )

    @Argument(help: "The ESR value: hex (0x96000050) or decimal.")
    var value: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        guard let raw = ESRReport.parse(value) else {
            throw ValidationError("'\(value)' is not a number; give an ESR value such as 0x96000050")
        }
        let report = ESRReport(raw)
        print(json ? report.json : report.text)
    }
}
