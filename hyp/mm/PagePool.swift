import KeelHW

/// The static pool of 4 KiB pages that stage-2 tables come from. No heap: the pool is BSS,
/// handed out by a bump allocator and never freed (VMs are static partitions).
enum PagePool {
    private static let pageSize = 4096
    nonisolated(unsafe) private static var next = 0

    /// Backing storage: a 4 KiB-aligned array in BSS (see keel_page_pool in mm/pool.S).
    /// Safety: the pool's address is a link-time constant, never null.
    private static var base: UnsafeMutableRawPointer { unsafe UnsafeMutableRawPointer(bitPattern: keel_page_pool_base())! }

    /// `count` zeroed, physically contiguous pages whose address is a multiple of `count` pages
    /// (a concatenated stage-2 root must be aligned to its size). Nil when the pool is spent.
    static func allocate(pages count: Int) -> UnsafeMutableRawPointer? {
        // Align the address, not the index: the pool itself is only page-aligned.
        let basePage = Int(bitPattern: UInt(bitPattern: unsafe base)) / pageSize
        let aligned = (basePage + next + count - 1) / count * count - basePage
        guard aligned + count <= Int(keel_page_pool_pages()) else { return nil }
        next = aligned + count
        // Safety: `aligned + count` pages fit the pool (checked above), and no page is handed
        // out twice (`next` only grows), so these bytes belong to nobody else.
        let page = unsafe base + aligned * pageSize
        unsafe page.initializeMemory(as: UInt8.self, repeating: 0, count: count * pageSize)
        return unsafe page
    }

    static var used: Int { next }
}
