/// The bytes of a string literal as a `Span`, for the parsers in KeelCore, which compare names
/// ("compatible", "keel.trace") against the bytes they read and contain no `unsafe` of their own.
/// The one adapter they need: Swift offers a `StaticString`'s bytes only as a pointer.
///
/// Compiled into the firmware (one module) and, on the host, as its own SwiftPM target
/// (`KeelStaticBytes`) that KeelCore imports.
extension StaticString {
    /// Calls `body` with the literal's UTF-8 bytes (no terminating NUL).
    @inline(__always)
    public func withBytes<R>(_ body: (Span<UInt8>) -> R) -> R {
        withUTF8Buffer { buffer in
            // Safety: `withUTF8Buffer` gives `count` valid, immutable bytes (static data, or a
            // copy of a one-scalar literal on the stack) for the closure's duration. The span
            // cannot outlive it: Span is ~Escapable, so `body` can neither store nor return it.
            unsafe body(buffer.span)
        }
    }
}
