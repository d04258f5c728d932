/// Errors the host tools report to a person: each says what is wrong and what to do, and
/// carries the status the command exits with (`ExitStatus`).
public struct KeelError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public var status: ExitStatus
    public init(_ message: String, status: ExitStatus = .dataError) {
        self.message = message
        self.status = status
    }
    public var description: String { message }
}
