/// Errors the host tools report to a person: each says what is wrong and what to do.
public struct KeelError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
