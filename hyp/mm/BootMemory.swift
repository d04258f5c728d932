import KeelHW

/// The memory Keel reads its boot inputs from in place, as spans for the KeelCore parsers
/// (which contain no `unsafe`): the DTB a boot loader passes in x0, and the boot bundles or VM
/// table `keel pack` appended to Keel's image (or QEMU loaded at the board's bundle address).
/// Each span is made here, once per parse, from an address and a size checked first; the
/// parsers then read it with checked indexing only.
enum BootMemory {
    /// Keel's EL2 map covers the first 512 GiB of physical addresses (hyp/boot/start.S).
    static let mappedEnd: UInt64 = 1 << 39
    /// Larger DTBs are refused: real ones are tens of KiB.
    static let maxDTBSize = 2 << 20

    /// Calls `body` with the DTB at `address`, as long as its header says (at most 2 MiB); nil
    /// when there is no DTB header there.
    @_optimize(size)
    static func withDTB<R>(at address: UInt64, _ body: (Span<UInt8>) -> R) -> R? {
        // The boot protocol puts the DTB 8-byte aligned in RAM.
        guard address != 0, address & 7 == 0, address < mappedEnd - UInt64(maxDTBSize),
              let start = unsafe UnsafePointer<UInt8>(bitPattern: UInt(address)) else { return nil }
        // Safety: the 8 bytes at `address` lie in Keel's EL2 map (below 512 GiB, checked above),
        // where the boot loader left the DTB; nothing writes them while Keel boots (one CPU,
        // before any VM runs). The span lives only for this statement.
        let size = unsafe FDT.declaredSize(Span(_unsafeStart: start, count: 8))
        guard let size, size >= 8, size <= maxDTBSize else { return nil }
        // Safety: as above for `size` bytes: at most 2 MiB past an address 2 MiB below the end
        // of the map (checked above). The DTB stays where it is, unchanged, for as long as
        // `body` runs (boot, before any VM, which could not reach it anyway: VMs get only their
        // own RAM). The span cannot outlive `body` (Span is ~Escapable).
        return unsafe body(Span(_unsafeStart: start, count: size))
    }

    /// Calls `body` with the `count` bytes at `address`; nil unless all of them lie in the
    /// memory Keel's EL2 map makes Normal (`BootLoader.normalMemory`).
    @_optimize(size)
    static func withNormalBytes<R>(at address: UInt64, count: UInt64, _ body: (Span<UInt8>) -> R) -> R? {
        guard BootLoader.normalMemory.contains(address, size: max(count, 1)), count <= UInt64(Int.max),
              let start = unsafe UnsafePointer<UInt8>(bitPattern: UInt(address)) else { return nil }
        // Safety: `[address, address + count)` is Normal memory in Keel's identity map (checked
        // above). Callers pass Keel's appended images (which end before the VM's RAM, or which
        // the VM table's check keeps out of every VM's RAM) or the board's bundle slot (placed
        // outside the VM's RAM by the board file); Keel never writes them: the bytes stay valid and unchanged while `body` runs, and
        // the span cannot outlive it (Span is ~Escapable).
        return unsafe body(Span(_unsafeStart: start, count: Int(count)))
    }

    /// Copies `count` bytes from `source` to `destination` and cleans them to the point of
    /// coherency (for a guest whose caches are off); false, copying nothing, unless both
    /// ranges lie in Normal memory.
    @_optimize(size)
    static func copy(from source: UInt64, to destination: UInt64, count: UInt64) -> Bool {
        let normal = BootLoader.normalMemory
        guard count > 0 else { return true }
        guard normal.contains(source, size: count), normal.contains(destination, size: count),
              let from = unsafe UnsafeRawPointer(bitPattern: UInt(source)),
              let to = unsafe UnsafeMutableRawPointer(bitPattern: UInt(destination)) else { return false }
        // Safety: both ranges are Normal memory in Keel's identity map (checked above). The
        // source is a boot image (outside every VM's RAM, checked by the bundle's and VM
        // table's checks), the destination the VM's RAM, which `BootBundle.open` proved holds
        // the image; the VM is not running (boot, or SYSTEM_RESET with its vCPUs stopped).
        unsafe to.copyMemory(from: from, byteCount: Int(count))
        keel_clean_dcache_range(UInt(destination), UInt(count))
        return true
    }
}
