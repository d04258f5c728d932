import Foundation

/// Writes an output file a person named (`keel pack -o`, `keel trace export --chrome`).
/// A regular file, or a path not there yet, is written through a temporary file beside it and
/// renamed over it, so a failed write leaves what was there. A symlink is followed (the link
/// stays, its target is replaced). A FIFO or device node is written through, never replaced by
/// a regular file. Errors: 73 when the file cannot be created (a directory, a missing folder,
/// no permission), 74 when writing fails (a full disk, /dev/full).
public enum OutputFile {
    public static func write(_ data: Data, to path: String, what: String = "output") throws {
        try write(to: path, what: what) { descriptor in
            let failure = RunCleanup.write(data, to: descriptor)
            if failure != 0 { throw KeelError("cannot write \(what) '\(path)': \(reason(failure))", status: .ioError) }
        }
    }

    /// The same, with `body` writing the file through its descriptor as it goes (a report too
    /// large to hold whole: `keel trace export`). When `body` throws, a regular file is left
    /// as it was and the error is passed on.
    public static func write(to path: String, what: String = "output", _ body: (Int32) throws -> Void) throws {
        var info = stat()
        // stat, not lstat: a symlink is judged by (and writes reach) what it points to.
        if stat(path, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFREG: break
            case S_IFDIR: throw KeelError("\(what) '\(path)' is a directory; give a file name (e.g. \(path)/keel.img)", status: .cannotCreate)
            default: return try writeThrough(to: path, what: what, body)
            }
        }
        let target = resolvedPath(path)
        let url = URL(fileURLWithPath: target)
        let directory = url.deletingLastPathComponent().path
        let temporary = "\(directory)/.\(url.lastPathComponent).\(getpid()).\(UUID().uuidString.prefix(8)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let code = errno
            throw KeelError("cannot create \(what) '\(path)': \(code == ENOENT ? "its folder \(directory) does not exist" : reason(code))", status: .cannotCreate)
        }
        do {
            try body(descriptor)
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        guard close(descriptor) == 0 else {
            let code = errno
            unlink(temporary)
            throw KeelError("cannot write \(what) '\(path)': \(reason(code)); it is left as it was", status: .ioError)
        }
        guard rename(temporary, target) == 0 else {
            let code = errno
            unlink(temporary)
            throw KeelError("cannot create \(what) '\(path)': \(reason(code))", status: .cannotCreate)
        }
    }

    /// A FIFO, device node or other non-regular file: opened and written as it is.
    static func writeThrough(to path: String, what: String, _ body: (Int32) throws -> Void) throws {
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw KeelError("cannot open \(what) '\(path)' for writing: \(reason(errno))", status: .cannotCreate)
        }
        do {
            try body(descriptor)
        } catch {
            close(descriptor)
            throw error
        }
        guard close(descriptor) == 0 else {
            throw KeelError("cannot write \(what) '\(path)': \(reason(errno))", status: .ioError)
        }
    }

    /// `path` with every symlink along it followed, also a dangling one at the end (its target
    /// is where the file goes).
    static func resolvedPath(_ path: String) -> String {
        var current = path
        for _ in 0..<40 {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink(current, &buffer, buffer.count - 1)
            guard count > 0 else { return current }
            let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = target.hasPrefix("/") ? target : (URL(fileURLWithPath: current).deletingLastPathComponent().path + "/" + target)
        }
        return current
    }

    static func reason(_ code: Int32) -> String { String(cString: strerror(code)).lowercased() }
}
