/// Keel's options on the boot command line (`/chosen/bootargs`), e.g. `keel.trace=full`.
public enum BootArguments {
    /// The value of `key=` in a space-separated argument string, or nil.
    public static func value(of key: StaticString, in arguments: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        key.withUTF8Buffer { keyBytes in
            var i = 0
            while i < arguments.count {
                while i < arguments.count && (arguments[i] == UInt8(ascii: " ") || arguments[i] == 0) { i += 1 }
                let start = i
                while i < arguments.count && arguments[i] != UInt8(ascii: " ") && arguments[i] != 0 { i += 1 }
                let word = UnsafeRawBufferPointer(rebasing: arguments[start..<i])
                if word.count > keyBytes.count && word[keyBytes.count] == UInt8(ascii: "=")
                    && FDT.equal(UnsafeRawBufferPointer(rebasing: word[0..<keyBytes.count]), UnsafeRawBufferPointer(keyBytes)) {
                    return UnsafeRawBufferPointer(rebasing: word[(keyBytes.count + 1)...])
                }
            }
            return nil
        }
    }

    /// `keel.trace=off|counters|full`; nil when absent or not one of those.
    public static func traceMode(_ arguments: UnsafeRawBufferPointer) -> TraceMode? {
        guard let value = self.value(of: "keel.trace", in: arguments) else { return nil }
        if matches(value, "off") { return .off }
        if matches(value, "counters") { return .counters }
        if matches(value, "full") { return .full }
        return nil
    }

    static func matches(_ value: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        word.withUTF8Buffer { FDT.equal(value, UnsafeRawBufferPointer($0)) }
    }
}
