import Foundation
import KeelCore

// KeelCore's parsers take `Span<UInt8>`; the host holds bytes as `Data`, `[UInt8]` (which has
// `.span` itself) or, in the trace demultiplexer's scan, raw buffers. These make the span for
// the duration of a closure.

extension UnsafeRawBufferPointer {
    /// `body` on the buffer's bytes as a span (valid while the buffer is: the caller's).
    @inline(__always)
    func withSpan<R>(_ body: (Span<UInt8>) throws -> R) rethrows -> R {
        try body(assumingMemoryBound(to: UInt8.self).span)
    }
}

extension Data {
    /// `body` on the data's bytes as a span.
    @inline(__always)
    func withSpan<R>(_ body: (Span<UInt8>) throws -> R) rethrows -> R {
        try withUnsafeBytes { try $0.withSpan(body) }
    }
}
