import KeelHW

/// A VM's RAM as Keel itself reads and writes it (hyp/devmodel fails a dead device model's blk
/// requests in the frontend's rings): at the guest's addresses, each access checked to lie
/// inside the RAM and aligned to its size, so a guest's pointers never take Keel elsewhere.
/// Keel runs on an identity map and `BootLoader` checked that every VM's RAM lies in Normal
/// memory, so the physical address is the address.
struct GuestMemory {
    let ramIPA: UInt64
    let ramPA: UInt64
    let ramSize: UInt64

    init(_ layout: VMLayout) {
        ramIPA = layout.ramIPA
        ramPA = layout.ramPA
        ramSize = layout.ramSize
    }

    /// The physical address of `[ipa, ipa + bytes)`, or nil when it leaves the RAM or is not
    /// aligned to `bytes` (1, 2, 4 or 8).
    private func address(_ ipa: UInt64, _ bytes: UInt64) -> UInt? {
        guard ipa & (bytes - 1) == 0, ipa >= ramIPA, ipa - ramIPA < ramSize, ramSize - (ipa - ramIPA) >= bytes else { return nil }
        return UInt(ramPA + (ipa - ramIPA))
    }

    func load16(_ ipa: UInt64) -> UInt16? {
        guard let a = address(ipa, 2) else { return nil }
        // Safety: inside the VM's RAM and aligned (checked above); RAM is plain bytes.
        return unsafe UnsafePointer<UInt16>(bitPattern: a)!.pointee
    }

    func load32(_ ipa: UInt64) -> UInt32? {
        guard let a = address(ipa, 4) else { return nil }
        // Safety: as `load16`.
        return unsafe UnsafePointer<UInt32>(bitPattern: a)!.pointee
    }

    /// A u32 with acquire order: what the VM wrote before it (with release order) is seen
    /// by the loads after.
    func loadAcquire32(_ ipa: UInt64) -> UInt32? {
        guard let a = address(ipa, 4) else { return nil }
        // Safety: as `load16`.
        return unsafe keel_load_acquire32(UnsafeMutablePointer<UInt32>(bitPattern: a)!)
    }

    func load64(_ ipa: UInt64) -> UInt64? {
        guard let a = address(ipa, 8) else { return nil }
        // Safety: as `load16`.
        return unsafe UnsafePointer<UInt64>(bitPattern: a)!.pointee
    }

    @discardableResult
    func store8(_ ipa: UInt64, _ value: UInt8) -> Bool {
        guard let a = address(ipa, 1) else { return false }
        // Safety: as `load16`.
        unsafe UnsafeMutablePointer<UInt8>(bitPattern: a)!.pointee = value
        return true
    }

    @discardableResult
    func store16(_ ipa: UInt64, _ value: UInt16) -> Bool {
        guard let a = address(ipa, 2) else { return false }
        // Safety: as `load16`.
        unsafe UnsafeMutablePointer<UInt16>(bitPattern: a)!.pointee = value
        return true
    }

    @discardableResult
    func store32(_ ipa: UInt64, _ value: UInt32) -> Bool {
        guard let a = address(ipa, 4) else { return false }
        // Safety: as `load16`.
        unsafe UnsafeMutablePointer<UInt32>(bitPattern: a)!.pointee = value
        return true
    }
}
