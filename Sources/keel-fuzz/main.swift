import Foundation
import KeelFuzzDriver
import KeelKit

// keel-fuzz TARGET [libFuzzer flags and corpus folders]: runs one of FuzzTargets under libFuzzer.
// Built only by `make fuzz` (KEEL_FUZZ=1, -sanitize=fuzzer,address); see fuzz/README.md.

/// The target the callback runs: a C function pointer captures nothing, so it lives here.
nonisolated(unsafe) var selected: FuzzTargets.Target?

var arguments = CommandLine.arguments
let names = FuzzTargets.all.map(\.name).joined(separator: ", ")
let name = arguments.count > 1 && !arguments[1].hasPrefix("-") ? arguments.remove(at: 1) : ProcessInfo.processInfo.environment["KEEL_FUZZ_TARGET"]
guard let name, let target = FuzzTargets.named(name) else {
    FileHandle.standardError.write(Data("usage: keel-fuzz TARGET [libFuzzer options] [corpus folders]\n  (or KEEL_FUZZ_TARGET=TARGET); targets: \(names)\n".utf8))
    exit(64)
}
selected = target

// libFuzzer parses argc/argv as C strings it may keep: they are never freed.
var argc = Int32(arguments.count)
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = {
    let buffer = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: arguments.count + 1)
    for (i, argument) in arguments.enumerated() { buffer[i] = strdup(argument) }
    buffer[arguments.count] = nil
    return buffer
}()

exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    selected?.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
})
