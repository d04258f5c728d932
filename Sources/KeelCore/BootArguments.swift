#if canImport(KeelStaticBytes)
import KeelStaticBytes
#endif

/// Keel's options on the boot command line (`/chosen/bootargs`), e.g. `keel.trace=full`.
public enum BootArguments {
    /// Where the value of `key=` lies in a space-separated argument string, or nil.
    @_optimize(size)
    public static func value(of key: StaticString, in arguments: Span<UInt8>) -> Range<Int>? {
        key.withBytes { keyBytes in
            var i = 0
            while i < arguments.count {
                while i < arguments.count && (arguments[i] == UInt8(ascii: " ") || arguments[i] == 0) { i += 1 }
                let start = i
                while i < arguments.count && arguments[i] != UInt8(ascii: " ") && arguments[i] != 0 { i += 1 }
                let word = arguments.extracting(start..<i)
                if word.count > keyBytes.count && word[keyBytes.count] == UInt8(ascii: "=")
                    && FDT.equal(word.extracting(0..<keyBytes.count), keyBytes) {
                    return (start + keyBytes.count + 1)..<i
                }
            }
            return nil
        }
    }

    /// `keel.trace=off|counters|full|memory`; nil when absent or not one of those.
    @_optimize(size)
    public static func traceMode(_ arguments: Span<UInt8>) -> TraceMode? {
        guard let range = self.value(of: "keel.trace", in: arguments) else { return nil }
        let value = arguments.extracting(range)
        if FDT.equal(value, "off") { return .off }
        if FDT.equal(value, "counters") { return .counters }
        if FDT.equal(value, "full") { return .full }
        if FDT.equal(value, "memory") { return .memory }
        return nil
    }
}
