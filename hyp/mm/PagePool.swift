import KeelHW

/// The static pool of 4 KiB pages that stage-2 tables come from. No heap: the pool is BSS,
/// handed out by a bump allocator and never freed (VMs are static partitions).
enum PagePool {
    private static let pageSize = 4096
    nonisolated(unsafe) private static var next = 0

    /// `count` zeroed, physically contiguous pages whose address is a multiple of `count` pages
    /// (a concatenated stage-2 root must be aligned to its size), as the address of the first
    /// (Keel runs on an identity map: also its physical address). Nil when the pool is spent.
    @_optimize(size)
    static func allocate(pages count: Int) -> UInt64? {
        // The pool (keel_page_pool in mm/pool.S) is a 4 KiB-aligned array in BSS. Align the
        // address, not the index: the pool itself is only page-aligned.
        let base = Int(bitPattern: keel_page_pool_base())
        let aligned = (base / pageSize + next + count - 1) / count * count - base / pageSize
        guard aligned + count <= Int(keel_page_pool_pages()) else { return nil }
        next = aligned + count
        let page = UInt(base + aligned * pageSize)
        // Safety: `aligned + count` pages lie inside the pool (checked above), which is never
        // null, and no page is handed out twice (`next` only grows), so these bytes belong to
        // nobody else.
        unsafe UnsafeMutableRawPointer(bitPattern: page)!.initializeMemory(as: UInt8.self, repeating: 0, count: count * pageSize)
        return UInt64(page)
    }

    static var used: Int { next }
}
