import Foundation

/// Reads a file a person named, and says plainly what is wrong when it cannot be used: missing,
/// a directory, not a regular file, empty, or unreadable (no Foundation error text).
public enum InputFile {
    /// Why `path` cannot be read as an input file, or nil when it is a non-empty regular file
    /// (or a FIFO/character device, which may hold data its size does not show).
    public static func problem(_ path: String, what: String) -> KeelError? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return KeelError("\(what) '\(path)' \(reason(errno))", status: errno == ENOENT || errno == ENOTDIR ? .noInput : .ioError)
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return KeelError("\(what) '\(path)' is a directory; give the file itself", status: .noInput)
        case S_IFREG:
            if info.st_size == 0 { return KeelError("\(what) '\(path)' is empty", status: .noInput) }
            guard access(path, R_OK) == 0 else { return KeelError("\(what) '\(path)' \(reason(errno))", status: .noInput) }
            return nil
        default: return nil
        }
    }

    /// The bytes of `path`, or an error saying why not.
    public static func read(_ path: String, what: String) throws -> Data {
        if let problem = problem(path, what: what) { throw problem }
        let data: Data
        do {
            // A FileHandle reads a device or FIFO too (Data(contentsOf:) refuses them).
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw KeelError("\(what) '\(path)' \(reason(errno))", status: .noInput)
            }
            defer { try? handle.close() }
            data = try handle.readToEnd() ?? Data()
        } catch let error as KeelError {
            throw error
        } catch {
            throw KeelError("\(what) '\(path)' cannot be read: \(reason(of: error))", status: .ioError)
        }
        // A device or FIFO shows its size only once read (/dev/null: nothing).
        guard !data.isEmpty else { throw KeelError("\(what) '\(path)' is empty", status: .noInput) }
        return data
    }

    /// A short reason for an errno: "does not exist", "is not readable (permission denied)"...
    public static func reason(_ code: Int32) -> String {
        switch code {
        case ENOENT: "does not exist"
        case ENOTDIR: "does not exist (a part of the path is not a directory)"
        case EACCES: "is not readable (permission denied)"
        default: "cannot be read: \(String(cString: strerror(code)).lowercased())"
        }
    }

    /// A Foundation error as a short reason (its POSIX cause when it has one), never
    /// `Error Domain=...`.
    public static func reason(of error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code))).lowercased()
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))).lowercased() }
        switch ns.code {
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file"
        case NSFileWriteNoPermissionError, NSFileReadNoPermissionError: return "permission denied"
        case NSFileWriteOutOfSpaceError: return "no space left on device"
        case NSFileWriteFileExistsError: return "a file is in the way"
        default: return "error \(ns.code)"
        }
    }
}
