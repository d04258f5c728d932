import KeelHW

/// A VM of the static pool: the one safe way to reach a `VM` from the rest of the firmware.
@safe
struct VMHandle: Equatable {
    /// Safety: points at slot `id` of `keel_vm_pool` (BSS: never freed, never moved);
    /// `VMs.checkLayout` proves a `VM` fits a slot.
    private let address: UnsafeMutablePointer<VM>

    /// VM `id` (`0..<VMs.capacity`, checked).
    init(id: Int) {
        precondition(id >= 0 && id < VMs.capacity)
        // Safety: the id is in the pool; the pool is zeroed BSS, and all-zero bytes are a valid
        // `VM` (an unused slot: no vCPU).
        unsafe address = UnsafeMutableRawPointer(bitPattern: keel_vm_pool_base() + UInt(id) * keel_vm_slot_size())!
            .assumingMemoryBound(to: VM.self)
    }

    /// The VM itself, read and written in place.
    var state: VM {
        @inline(__always) unsafeAddress { unsafe UnsafePointer(address) }
        @inline(__always) nonmutating unsafeMutableAddress { unsafe address }
    }

    // Safety of the words: stored properties of a pool slot; their addresses are stable.

    /// `VM.stopping`: claimed by the vCPU that stops the VM.
    var stoppingWord: AtomicWord { unsafe AtomicWord(unsafe withUnsafeMutablePointer(to: &address.pointee.stopping) { unsafe $0 }) }
    /// The vGIC lock: every interrupt bank of the VM.
    var vgicLock: AtomicWord { unsafe AtomicWord(unsafe withUnsafeMutablePointer(to: &address.pointee.vgic.lock) { unsafe $0 }) }
    /// The emulated UART's lock (`GuestUART`).
    var uartLock: AtomicWord { unsafe AtomicWord(unsafe withUnsafeMutablePointer(to: &address.pointee.uartLock) { unsafe $0 }) }

    static func == (a: VMHandle, b: VMHandle) -> Bool { unsafe a.address == b.address }
}
