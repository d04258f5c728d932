/// A `keel trace` failure: what to tell the person, and the exit status (sysexits) that tells
/// a script what kind of failure it was. The CLI prints the message alone: no usage text.
public struct TraceFailure: Error, CustomStringConvertible, Equatable {
    public var message: String
    public var status: Int32

    public init(_ message: String, status: Int32) {
        self.message = message
        self.status = status
    }

    public var description: String { message }

    /// A failure the shared file checks (`InputFile`, `OutputFile`) reported, with its status.
    public init(_ error: KeelError) {
        self.init(error.message, status: error.status.rawValue)
    }

    /// The input is missing, a directory, or empty.
    public static func noInput(_ message: String) -> TraceFailure { TraceFailure(message, status: ExitStatus.noInput.rawValue) }
    /// The input is not a trace, or an ELF is damaged or crafted.
    public static func dataError(_ message: String) -> TraceFailure { TraceFailure(message, status: ExitStatus.dataError.rawValue) }
    /// The output file cannot be created.
    public static func cannotCreate(_ message: String) -> TraceFailure { TraceFailure(message, status: ExitStatus.cannotCreate.rawValue) }
    /// Reading or writing failed part way.
    public static func ioError(_ message: String) -> TraceFailure { TraceFailure(message, status: ExitStatus.ioError.rawValue) }
}
