import ArgumentParser
import KeelKit

/// `keel esr VALUE`: explain an exception syndrome.
struct ESRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "esr",
        abstract: "Decode an ESR_ELx value: exception class, IL, and the ISS fields."
    )

    // Taken whatever it looks like, so that "-1" reaches the check below instead of being
    // read as an unknown flag ("Missing expected argument").
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The ESR value: hex (0x96000050) or decimal.", valueName: "value"))
    var arguments: [String] = []

    private var values: [String] { arguments.filter { $0 != "--" } }

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        guard values.count == 1 else {
            throw ValidationError(values.isEmpty ? "give the ESR value, e.g. keel esr 0x96000050" : "give one ESR value, not \(values.count)")
        }
        if values[0].hasPrefix("-"), values[0].dropFirst().allSatisfy({ $0.isHexDigit || $0 == "x" }) {
            throw ValidationError("'\(values[0])' is negative; an ESR is an unsigned 64-bit register value, e.g. 0x96000050")
        }
    }

    func run() throws {
        let value = values[0]
        guard let raw = ESRReport.parse(value) else {
            throw ValidationError("'\(value)' is not a number; give an ESR value such as 0x96000050")
        }
        let report = ESRReport(raw)
        print(json ? report.json : report.text)
    }
}
