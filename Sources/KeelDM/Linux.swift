import KeelDMLinux

// The Linux edge of keel-dm: output, files, the mmapped request page and windows. Every
// `unsafe` of the program is in this file.

/// Writes `text` to a file descriptor whole (stdout 1, stderr 2).
func emit(_ fd: Int32, _ text: String) {
    emit(fd, bytes: Array(text.utf8))
}

func emit(_ fd: Int32, bytes: [UInt8]) {
    var done = 0
    while done < bytes.count {
        // SAFETY: the range lies inside `bytes`.
        let n = unsafe bytes.withUnsafeBytes { unsafe write(fd, $0.baseAddress! + done, bytes.count - done) }
        if n <= 0 { if n < 0 && keel_errno() == KEEL_EINTR { continue }; return }
        done += n
    }
}

/// The text of the last failed call's errno.
func lastError() -> String {
    // SAFETY: strerror returns a NUL-terminated string in static storage.
    unsafe String(cString: strerror(keel_errno()))
}

/// Opens `path` (a Swift string) with `flags`; -1 with errno set when it fails.
func openFile(_ path: String, _ flags: Int32) -> Int32 {
    var cPath: [CChar] = path.utf8.map { CChar(bitPattern: $0) }
    cPath.append(0)
    // SAFETY: cPath is NUL-terminated and outlives the call.
    return unsafe keel_open(cPath, flags)
}

/// A whole small file, or nil with errno set.
func readFile(_ path: String, limit: Int = 1 << 20) -> [UInt8]? {
    let fd = openFile(path, KEEL_O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while bytes.count < limit {
        // SAFETY: read writes at most chunk.count bytes into chunk's storage.
        let n = unsafe chunk.withUnsafeMutableBytes { unsafe read(fd, $0.baseAddress, $0.count) }
        if n < 0 { if keel_errno() == KEEL_EINTR { continue }; return nil }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}

/// A frontend's RAM mapped from /dev/keel-dm (offset = its window IPA), cached and shared with
/// the frontend's CPUs. Loads and stores are volatile and single-copy atomic; the walker checked
/// every offset against `byteCount` (and each access checks again: a bug here must not reach
/// past the mapping).
@safe struct WindowRAM: DeviceRAM {
    let base: UnsafeMutableRawPointer
    let byteCount: UInt64

    @inline(__always) private func ok(_ offset: UInt64, _ width: UInt64) -> Bool {
        offset <= byteCount && width <= byteCount - offset
    }
    // SAFETY (all accessors): `ok` keeps the access inside the mapping of byteCount bytes.
    func load8(_ o: UInt64) -> UInt8 { ok(o, 1) ? unsafe keel_ld8(base, o) : 0 }
    func load16(_ o: UInt64) -> UInt16 { ok(o, 2) ? unsafe keel_ld16(base, o) : 0 }
    func load32(_ o: UInt64) -> UInt32 { ok(o, 4) ? unsafe keel_ld32(base, o) : 0 }
    func load64(_ o: UInt64) -> UInt64 { ok(o, 8) ? unsafe keel_ld64(base, o) : 0 }
    func store8(_ o: UInt64, _ v: UInt8) { if ok(o, 1) { unsafe keel_st8(base, o, v) } }
    func store16(_ o: UInt64, _ v: UInt16) { if ok(o, 2) { unsafe keel_st16(base, o, v) } }
    func store32(_ o: UInt64, _ v: UInt32) { if ok(o, 4) { unsafe keel_st32(base, o, v) } }
    func acquireFence() { keel_acquire_fence() }
    func releaseFence() { keel_release_fence() }
    func fullFence() { keel_full_fence() }
    func copyOut(_ offset: UInt64, into buffer: inout [UInt8], at start: Int, count: Int) {
        guard ok(offset, UInt64(count)), start >= 0, count >= 0, start + count <= buffer.count else { return }
        unsafe buffer.withUnsafeMutableBytes { unsafe _ = memcpy($0.baseAddress! + start, base + Int(offset), count) }
    }
    func copyIn(_ offset: UInt64, from buffer: [UInt8], at start: Int, count: Int) {
        guard ok(offset, UInt64(count)), start >= 0, count >= 0, start + count <= buffer.count else { return }
        unsafe buffer.withUnsafeBytes { unsafe _ = memcpy(base + Int(offset), $0.baseAddress! + start, count) }
    }

    /// The address of `count` bytes at `offset` of the window; nil if they leave the mapping.
    func address(_ offset: UInt64, count: Int) -> UnsafeMutableRawPointer? {
        guard count >= 0, ok(offset, UInt64(count)) else { return nil }
        // SAFETY: `ok` keeps offset + count inside the mapping.
        return unsafe base + Int(offset)
    }
}

/// A raw disk image (in the device-model VM's initramfs, so in its RAM), mapped shared: a read or
/// write is one memcpy between the image's pages and the frontend's window, after both ranges
/// are checked. (pread/pwrite straight into the window is one copy too, but measured under QEMU
/// it moved a MiB in about 0.77 ms against memcpy's 0.27: docs/benchmarks.md.)
@safe struct FileDisk: BlockStore {
    let fd: Int32
    let byteCount: UInt64
    /// The whole image, read-write; nil for an empty one (nothing to map, nothing to reach).
    let image: UnsafeMutableRawPointer?

    /// Maps the open image `fd` of `byteCount` bytes; nil with errno set when mmap fails. Only
    /// keel-dm and its VM's root reach the file: nothing a frontend does can shrink it under the
    /// mapping.
    static func map(fd: Int32, byteCount: UInt64) -> FileDisk? {
        guard byteCount > 0 else { return unsafe FileDisk(fd: fd, byteCount: 0, image: nil) }
        // MAP_POPULATE: the pages are in RAM already (the initramfs); their page-table entries are
        // made now rather than by a fault on each first touch.
        let p = unsafe mmap(nil, Int(byteCount), KEEL_PROT_READ | KEEL_PROT_WRITE, KEEL_MAP_SHARED | KEEL_MAP_POPULATE, fd, 0)
        guard let p = unsafe p, unsafe keel_mmap_failed(p) == 0 else { return nil }
        // SAFETY: the mapping is byteCount bytes and is never unmapped.
        return unsafe FileDisk(fd: fd, byteCount: byteCount, image: p)
    }

    /// The address of `count` bytes at `offset` of the image; nil if they leave it.
    private func address(_ offset: UInt64, count: Int) -> UnsafeMutableRawPointer? {
        guard let image = unsafe image, count >= 0, offset <= byteCount, UInt64(count) <= byteCount - offset else { return nil }
        // SAFETY: checked just above against the mapping's byteCount bytes.
        return unsafe image + Int(offset)
    }

    mutating func read(at offset: UInt64, into ram: WindowRAM, at ramOffset: UInt64, count: Int) -> Bool {
        guard count > 0 else { return count == 0 }
        guard let to = unsafe ram.address(ramOffset, count: count), let from = unsafe address(offset, count: count) else { return false }
        // SAFETY: both ranges were checked against their mappings.
        unsafe _ = memcpy(to, from, count)
        return true
    }

    mutating func write(at offset: UInt64, from ram: WindowRAM, at ramOffset: UInt64, count: Int) -> Bool {
        guard count > 0 else { return count == 0 }
        guard let from = unsafe ram.address(ramOffset, count: count), let to = unsafe address(offset, count: count) else { return false }
        // SAFETY: both ranges were checked against their mappings.
        unsafe _ = memcpy(to, from, count)
        return true
    }

    /// The mapped pages written back, then the file (both nothing on the initramfs, but an image
    /// elsewhere would need them).
    mutating func flush() -> Bool {
        if let image = unsafe image, unsafe msync(image, Int(byteCount), KEEL_MS_SYNC) != 0 { return false }
        return fsync(fd) == 0
    }
}

/// /dev/keel-dm: the request page (read-only), the windows, the request interrupt and the
/// hypercalls through the driver's ioctl.
@safe struct KeelDMDevice {
    let fd: Int32
    let page: UnsafeRawPointer

    static func open(_ path: String) -> Result<KeelDMDevice, Failure> {
        let fd = openFile(path, KEEL_O_RDWR)
        guard fd >= 0 else {
            return .failure(Failure("cannot open \(path): \(lastError()) (is keel-dm.ko loaded, and is this the device-model VM?)"))
        }
        let page = unsafe mmap(nil, 4096, KEEL_PROT_READ, KEEL_MAP_SHARED, fd, 0)
        guard let page = unsafe page, unsafe keel_mmap_failed(page) == 0 else {
            close(fd)
            return .failure(Failure("cannot map the request page of \(path): \(lastError())"))
        }
        return unsafe .success(KeelDMDevice(fd: fd, page: UnsafeRawPointer(page)))
    }

    // SAFETY (loads): every offset is below 4096, the page's length; the caller checks the
    // table's counts against the page first.
    func load8(_ offset: Int) -> UInt8 { unsafe keel_ld8(page, UInt64(offset)) }
    func load32(_ offset: Int) -> UInt32 { unsafe keel_ld32(page, UInt64(offset)) }
    func load64(_ offset: Int) -> UInt64 { unsafe keel_ld64(page, UInt64(offset)) }

    /// Maps `length` bytes of the window at `ipa` read-write: a frontend's RAM.
    func mapWindow(ipa: UInt64, length: UInt64) -> WindowRAM? {
        let p = unsafe mmap(nil, Int(length), KEEL_PROT_READ | KEEL_PROT_WRITE, KEEL_MAP_SHARED, fd, Int(bitPattern: UInt(ipa)))
        guard let p = unsafe p, unsafe keel_mmap_failed(p) == 0 else { return nil }
        // SAFETY: the mapping is `length` bytes and is never unmapped.
        return unsafe WindowRAM(base: p, byteCount: length)
    }

    /// Maps the answer page (the driver hands it to Keel): nil with errno set when Keel did not
    /// take it (ENODEV), and keel-dm completes by hypercall.
    func mapAnswers() -> AnswerSlots? {
        let p = unsafe mmap(nil, RequestPage.pageSize, KEEL_PROT_READ | KEEL_PROT_WRITE, KEEL_MAP_SHARED, fd, Int(KEEL_DM_ANSWERS_OFFSET))
        guard let p = unsafe p, unsafe keel_mmap_failed(p) == 0 else { return nil }
        // SAFETY: the mapping is one page and is never unmapped.
        return unsafe AnswerSlots(page: p)
    }

    /// Blocks until request interrupts arrived: nil, or why it cannot wait (an error other than
    /// EINTR, or end of file: the path is not keel-dm.ko's device).
    func waitForRequests() -> Failure? {
        var count: UInt64 = 0
        while true {
            // SAFETY: reads at most 8 bytes into `count`.
            let n = unsafe withUnsafeMutableBytes(of: &count) { unsafe read(fd, $0.baseAddress, 8) }
            if n > 0 { return nil }
            if n < 0 && keel_errno() == KEEL_EINTR { continue }
            return Failure(n == 0 ? "waiting for requests: end of file (not keel-dm.ko's device?)" : "waiting for requests: \(lastError())")
        }
    }

    /// Makes Keel's device-model hypercall `id` through the driver: Keel's x0, or nil when the
    /// ioctl itself failed (errno says why).
    func hypercall(_ id: UInt32, _ a1: UInt64 = 0, _ a2: UInt64 = 0, _ a3: UInt64 = 0, _ a4: UInt64 = 0) -> Int64? {
        var call = keel_dm_hvc(x: (UInt64(id), a1, a2, a3, a4))
        // SAFETY: the driver reads and writes the 40 bytes of `call`.
        guard unsafe keel_ioctl_hvc(fd, &call) == 0 else { return nil }
        return Int64(bitPattern: call.x.0)
    }
}

/// The answer page (docs/device-model.md): slot n answers the request in slot n of the request
/// page, which Keel's parked CPU takes from here itself, with no system call and no hypercall.
@safe struct AnswerSlots {
    let page: UnsafeMutableRawPointer

    /// Answers the request with odd `sequence` in `slot` (below the request page's slot count,
    /// at most 64 slots of 64 bytes: checked by `setUp`): the value and the pickup time first,
    /// then the sequence, with release order, and `sev`.
    func answer(slot: Int, sequence: UInt32, value: UInt64, pickedUp: UInt64) {
        let at = UInt64(slot * RequestPage.answerSlotSize)
        guard at + UInt64(RequestPage.answerSlotSize) <= UInt64(RequestPage.pageSize) else { return }
        // SAFETY: inside the page (checked above), aligned (64-byte slots).
        unsafe keel_st64(page, at + UInt64(RequestPage.answerValue), value)
        unsafe keel_st64(page, at + UInt64(RequestPage.answerPickedUp), pickedUp)
        unsafe keel_publish32(page, at + UInt64(RequestPage.answerSequence), sequence)
    }
}

/// A reason keel-dm cannot start, said once on stderr.
struct Failure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
