import KeelHW

/// The request page of a device-model VM (docs/device-model.md): 4 KiB of Keel's BSS
/// (`keel_dm_pages`, mm/pool.S), one per VM slot, that Keel writes and stage 2 maps read-only
/// into that VM. Words and double words at checked, aligned offsets; the slot sequences as
/// atomic words, since the CPU posting a request and the CPU completing it both touch them.
@safe
struct RequestPageHandle {
    static let size = Int(KEEL_DM_PAGE)

    /// Safety: points at page `id` of `keel_dm_pages` (BSS, page aligned: never freed, never
    /// moved, never handed to anything else).
    private let address: UnsafeMutableRawPointer

    /// The page of VM `id` (`0..<VMs.capacity`, checked).
    init(vm id: Int) {
        precondition(id >= 0 && id < Int(keel_max_vms()))
        // Safety: the id is in the pool, so the page lies inside `keel_dm_pages`.
        unsafe address = UnsafeMutableRawPointer(bitPattern: keel_dm_pages_base() + UInt(id) * UInt(KEEL_DM_PAGE))!
    }

    /// Its physical address (Keel runs on an identity map), for stage 2.
    var physicalAddress: UInt64 { UInt64(UInt(bitPattern: unsafe address)) }

    /// The u32 at `offset` (4-aligned, inside the page: checked).
    @inline(__always)
    func load32(_ offset: Int) -> UInt32 {
        precondition(offset >= 0 && offset <= RequestPageHandle.size - 4 && offset & 3 == 0)
        // Safety: inside the page and aligned (checked above); the page is plain bytes.
        return unsafe address.load(fromByteOffset: offset, as: UInt32.self)
    }

    @inline(__always)
    func store32(_ offset: Int, _ value: UInt32) {
        precondition(offset >= 0 && offset <= RequestPageHandle.size - 4 && offset & 3 == 0)
        // Safety: as `load32`.
        unsafe address.storeBytes(of: value, toByteOffset: offset, as: UInt32.self)
    }

    @inline(__always)
    func store64(_ offset: Int, _ value: UInt64) {
        precondition(offset >= 0 && offset <= RequestPageHandle.size - 8 && offset & 7 == 0)
        // Safety: as `load32`, 8-aligned.
        unsafe address.storeBytes(of: value, toByteOffset: offset, as: UInt64.self)
    }

    @inline(__always)
    func store8(_ offset: Int, _ value: UInt8) {
        precondition(offset >= 0 && offset < RequestPageHandle.size)
        // Safety: inside the page (checked above).
        unsafe address.storeBytes(of: value, toByteOffset: offset, as: UInt8.self)
    }

    /// The u32 at `offset` as an atomic word (4-aligned, inside the page: checked).
    @inline(__always)
    func word(_ offset: Int) -> AtomicWord {
        precondition(offset >= 0 && offset <= RequestPageHandle.size - 4 && offset & 3 == 0)
        // Safety: inside the page and aligned (checked above); the page lives as long as the
        // firmware, as `AtomicWord` requires.
        return unsafe AtomicWord((address + offset).assumingMemoryBound(to: UInt32.self))
    }

    /// Every byte zero: the page as at boot.
    func clear() {
        // Safety: exactly the page's bytes.
        unsafe address.initializeMemory(as: UInt8.self, repeating: 0, count: RequestPageHandle.size)
    }
}
