import KeelHW

/// A 32-bit word that several CPUs read and write: a lock, a power state, a flag. Made only by
/// the pool handles (a stored property of a pool slot), `StaticWords` (a static) and the
/// console (a C global), so its address is always valid; the operations are the acquire/release primitives of keel/atomic.h.
@safe
struct AtomicWord {
    private let address: UnsafeMutablePointer<UInt32>

    /// Safety (the caller's): `address` stays valid for the firmware's life.
    @unsafe @inline(__always)
    init(_ address: UnsafeMutablePointer<UInt32>) { unsafe self.address = address }

    @inline(__always) func loadAcquire() -> UInt32 { unsafe keel_load_acquire32(address) }
    @inline(__always) func storeRelease(_ value: UInt32) { unsafe keel_store_release32(address, value) }
    /// Compare-and-swap: true when the word held `expected` and now holds `desired`.
    @inline(__always) func compareExchange(_ expected: UInt32, _ desired: UInt32) -> Bool {
        unsafe keel_cas32(address, expected, desired)
    }
    /// As a spin lock (0 free, non-zero held).
    @inline(__always) func lock() { unsafe keel_spin_lock(address) }
    @inline(__always) func unlock() { unsafe keel_spin_unlock(address) }
    /// As a spin lock: releases it when this CPU holds it (the word holds its owner's token,
    /// keel/atomic.h); true when it did. Only for a CPU abandoning a handler (`Containment`).
    @inline(__always) func releaseIfMine() -> Bool { unsafe keel_spin_release_mine(address) }
    /// `body` with the lock held.
    @inline(__always) func locked<T>(_ body: () -> T) -> T {
        lock()
        defer { unlock() }
        return body()
    }
}
