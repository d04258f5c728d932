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

#if KEEL_FIRMWARE
import KeelHW

/// The firmware image's own bytes.
enum KeelImage {
    /// Calls `body` with the 20-byte GNU build id the linker wrote (`keel_build_id_note`).
    static func withBuildID<R>(_ body: (Span<UInt8>) -> R) -> R {
        // Safety: the note is rodata of the image, 20 bytes after its 16-byte header, never
        // written; the span cannot outlive the call (Span is ~Escapable).
        let bytes = unsafe Span(_unsafeStart: UnsafePointer<UInt8>(bitPattern: keel_build_id())!, count: TraceHeader.buildIDSize)
        return body(bytes)
    }
}
#endif
