import Foundation

/// Writes a report file (`keel trace export --chrome FILE`). A new or regular file is replaced
/// whole (a temporary file beside it, renamed over it), so a reader never sees half a report;
/// anything else (a symlink, a FIFO, a device such as /dev/stdout) is written through, never
/// replaced by a regular file. A directory is refused (73); a failed write is 74.
public enum TraceReportFile {
    public static func write(_ data: Data, to path: String) throws(TraceFailure) {
        try write(to: path) { (output) throws(TraceFailure) in try output.bytes(data) }
    }

    /// Opens the file as above and lets `body` write it through a buffered output.
    public static func write(to path: String, _ body: (TraceOutput) throws(TraceFailure) -> Void) throws(TraceFailure) {
        var link = stat()
        let exists = lstat(path, &link) == 0
        if exists && link.st_mode & S_IFMT == S_IFDIR {
            throw .cannotCreate("cannot write '\(path)': it is a directory; give a file name")
        }
        if !exists || link.st_mode & S_IFMT == S_IFREG {
            try replace(path, body)
        } else {
            var target = stat()
            if stat(path, &target) == 0 && target.st_mode & S_IFMT == S_IFDIR {
                throw .cannotCreate("cannot write '\(path)': it leads to a directory; give a file name")
            }
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw .cannotCreate("cannot write '\(path)': \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            try write(fd, path, body)
        }
    }

    static func write(_ fd: Int32, _ path: String, _ body: (TraceOutput) throws(TraceFailure) -> Void) throws(TraceFailure) {
        let output = TraceOutput(descriptor: fd, name: "'\(path)'")
        try body(output)
        try output.flush()
    }

    /// A temporary file in the same directory, renamed over `path` once complete.
    static func replace(_ path: String, _ body: (TraceOutput) throws(TraceFailure) -> Void) throws(TraceFailure) {
        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        var template = Array(((directory.isEmpty ? "." : directory) + "/.\(base).keel-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw .cannotCreate("cannot write '\(path)': \(String(cString: strerror(errno)))") }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            defer { close(fd) }
            fchmod(fd, 0o644)
            try write(fd, path, body)
        }
        guard rename(temporary, path) == 0 else { throw .cannotCreate("cannot write '\(path)': \(String(cString: strerror(errno)))") }
        renamed = true
    }
}
