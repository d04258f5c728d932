import KeelHW

/// A vCPU of the static pool: the one safe way to reach a `VCPU` from the rest of the firmware.
/// A value (one pointer wide, as cheap to pass as the pointer it wraps).
@safe
struct VCPUHandle: Equatable {
    /// Safety: points at slot `index` of `keel_vcpu_pool` (BSS: never freed, never moved);
    /// `VCPUs.checkLayout` proves a `VCPU` fits a slot.
    private let address: UnsafeMutablePointer<VCPU>

    /// The vCPU in pool slot `index` (`0..<VCPUs.count`, checked).
    init(index: Int) {
        precondition(index >= 0 && index < VCPUs.count)
        // Safety: the index is in the pool, so the address is inside `keel_vcpu_pool`; the pool
        // is zeroed BSS, and all-zero bytes are a valid `VCPU` (every field is plain data).
        unsafe address = UnsafeMutableRawPointer(bitPattern: keel_vcpu_pool_base() + UInt(index) * keel_vcpu_slot_size())!
            .assumingMemoryBound(to: VCPU.self)
    }

    /// The vCPU whose frame the vectors passed in. Safety (the caller's): `frame` is TPIDR_EL2,
    /// which only `EL2.run` sets, to a handle's own address.
    @unsafe @inline(__always)
    init(frame: UInt) {
        unsafe address = UnsafeMutablePointer<VCPU>(bitPattern: frame).unsafelyUnwrapped
    }

    /// The vCPU itself, read and written in place (no copy of the frame).
    var state: VCPU {
        @inline(__always) unsafeAddress { unsafe UnsafePointer(address) }
        @inline(__always) nonmutating unsafeMutableAddress { unsafe address }
    }

    /// The address the vectors find the frame at (TPIDR_EL2), for `EL2.run`.
    var frameAddress: UInt64 { UInt64(UInt(bitPattern: unsafe address)) }


    // Atomic words other CPUs read and write while this vCPU runs.

    /// The stored `UInt32` at byte `offset` of this vCPU as an atomic word. Safety: every caller
    /// passes `MemoryLayout<VCPU>.offset(of:)` of a stored `UInt32` property (embedded Swift
    /// takes key paths only as literals there), so the word lies inside the slot, whose address
    /// is stable, and is the type it is bound to.
    @inline(__always)
    private func word(at offset: Int?) -> AtomicWord {
        unsafe AtomicWord((UnsafeMutableRawPointer(address) + offset!).assumingMemoryBound(to: UInt32.self))
    }

    /// `VCPU.power`, a `PowerState`.
    var powerWord: AtomicWord { word(at: MemoryLayout<VCPU>.offset(of: \.power)) }
    var powerState: PowerState { PowerState(rawValue: powerWord.loadAcquire()) ?? .off }
    /// `VCPU.stop`: set by another vCPU stopping the VM.
    var stopWord: AtomicWord { word(at: MemoryLayout<VCPU>.offset(of: \.stop)) }
    /// `VGICCPU.dirty`: set by any CPU that gave this vCPU something to deliver.
    var dirtyWord: AtomicWord { word(at: MemoryLayout<VCPU>.offset(of: \.vgic.dirty)) }
    /// `ForwardedAccess.ticket`: the open forwarded access of this vCPU, claimed by the
    /// device model's COMPLETE or by the vCPU giving up on it (hyp/devmodel).
    var ticketWord: AtomicWord { word(at: MemoryLayout<VCPU>.offset(of: \.forward.ticket)) }

    static func == (a: VCPUHandle, b: VCPUHandle) -> Bool { unsafe a.address == b.address }
}

extension VCPUHandle {
    /// Whether `VCPU.regs` sits at the vCPU's own address, where the vectors look for the frame.
    var frameIsFirst: Bool {
        MemoryLayout<VCPU>.offset(of: \.regs) == 0
    }
}
