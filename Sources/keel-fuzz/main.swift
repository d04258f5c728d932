import Foundation
import KeelFuzzDriver
import KeelKit

// keel-fuzz TARGET [libFuzzer flags and corpus folders]: runs one of FuzzTargets under libFuzzer.
// Built only by `make fuzz` (KEEL_FUZZ=1, -sanitize=fuzzer,address); see fuzz/README.md.
//
// SwiftPM renames an executable's main and links libFuzzer's own main in beside it, so the target
// is chosen where both entries pass: libFuzzer's LLVMFuzzerInitialize hook, which may edit argv.

/// The target the callback runs: a C function pointer captures nothing, so it lives here.
nonisolated(unsafe) var selected: FuzzTargets.Target?

/// Takes TARGET off the command line (or KEEL_FUZZ_TARGET from the environment); exits 64 without one.
@_cdecl("LLVMFuzzerInitialize")
func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    let arguments = (0..<Int(argc.pointee)).map { String(cString: argv.pointee![$0]!) }
    var name = ProcessInfo.processInfo.environment["KEEL_FUZZ_TARGET"]
    if arguments.count > 1, !arguments[1].hasPrefix("-"), FuzzTargets.named(arguments[1]) != nil || name == nil {
        name = arguments[1]
        // Drop argv[1]: the rest (flags, corpus folders, files to replay) is libFuzzer's. The
        // environment keeps the name for the processes libFuzzer starts with -fork and -jobs.
        setenv("KEEL_FUZZ_TARGET", arguments[1], 1)
        for i in 1..<Int(argc.pointee) { argv.pointee![i] = argv.pointee![i + 1] }
        argc.pointee -= 1
    }
    guard let name, let target = FuzzTargets.named(name) else {
        let names = FuzzTargets.all.map(\.name).joined(separator: ", ")
        FileHandle.standardError.write(Data("usage: keel-fuzz TARGET [libFuzzer options] [corpus folders or files]\n  (or KEEL_FUZZ_TARGET=TARGET); targets: \(names)\n".utf8))
        exit(64)
    }
    selected = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    selected?.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

// Reached when this main, not libFuzzer's, is the program's entry.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in testOneInput(data, size) })
