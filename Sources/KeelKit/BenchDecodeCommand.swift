import Foundation

extension Bench {
    /// `keel trace decode` as a person runs it, timed from start to exit: a generated trace
    /// of `records` records in a temporary file, decoded by the `keel` executable at
    /// `executable`, its output written to /dev/null (through the same writes as to a
    /// terminal). Records per second over the whole command, start-up included; and the CPU
    /// time it took (user + system), which a loaded machine changes less than the wall time.
    public static func decodeCommandThroughput(records: Int, executable: String) throws -> (recordsPerSecond: Double, seconds: Double, cpuSeconds: Double) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keel-bench-\(UUID().uuidString).trace").path
        guard FileManager.default.createFile(atPath: path, contents: TraceGenerator.stream(records: records)) else {
            throw KeelError("cannot write the benchmark trace '\(path)'")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["trace", "decode", path]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        let cpuBefore = childrenCPUSeconds()
        let start = DispatchTime.now()
        try process.run()
        process.waitUntilExit()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let cpuSeconds = childrenCPUSeconds() - cpuBefore
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw KeelError("keel trace decode of the benchmark trace failed (status \(process.terminationStatus))")
        }
        return (Double(records) / seconds, seconds, cpuSeconds)
    }

    /// User and system time of the children waited for so far.
    static func childrenCPUSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        #else
        getrusage(RUSAGE_CHILDREN, &usage)
        #endif
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
