import KeelHW

/// A VM of the static pool: the one safe way to reach a `VM` from the rest of the firmware.
@safe
struct VMHandle {
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

    /// The stored `UInt32` at byte `offset` of this VM as an atomic word. Safety: every caller
    /// passes `MemoryLayout<VM>.offset(of:)` of a stored `UInt32` property (embedded Swift
    /// takes key paths only as literals there), so the word lies inside the slot, whose address
    /// is stable, and is the type it is bound to.
    @inline(__always)
    private func word(at offset: Int?) -> AtomicWord {
        unsafe AtomicWord((UnsafeMutableRawPointer(address) + offset!).assumingMemoryBound(to: UInt32.self))
    }

    /// `VM.stopping`: claimed by the vCPU that stops the VM.
    var stoppingWord: AtomicWord { word(at: MemoryLayout<VM>.offset(of: \.stopping)) }
    /// `VM.offReported`: its exit reports and trace records are out (`VMs.allOffReported`).
    var offReportedWord: AtomicWord { word(at: MemoryLayout<VM>.offset(of: \.offReported)) }
    /// The vGIC lock: every interrupt bank of the VM.
    var vgicLock: AtomicWord { word(at: MemoryLayout<VM>.offset(of: \.vgic.lock)) }
    /// The emulated UART's lock (`GuestUART`).
    var uartLock: AtomicWord { word(at: MemoryLayout<VM>.offset(of: \.uartLock)) }
    /// `DeviceModelVM.broken`: the transports Keel gave up on, one bit each.
    var brokenWord: AtomicWord { word(at: MemoryLayout<VM>.offset(of: \.dm.broken)) }
    /// `DeviceModelVM.answers`: where a device-model VM writes its answers (hyp/devmodel).
    var answersWord: AtomicWord { word(at: MemoryLayout<VM>.offset(of: \.dm.answers)) }
    /// `DeviceModelVM.lock`: the transports' queue state (hyp/devmodel).
    var dmLock: AtomicWord { word(at: MemoryLayout<VM>.offset(of: \.dm.lock)) }
}
