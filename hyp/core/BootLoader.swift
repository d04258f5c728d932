import KeelHW

/// Puts a VM's images into its RAM from the boot bundle the host tool packed (`BootBundle`),
/// at boot and again on PSCI SYSTEM_RESET: the bundle stays untouched outside every VM, so it
/// is the VM's pristine copy.
enum BootLoader {
    /// The board's bundle, checked against `layout`; nil (after saying why) when it is missing
    /// or damaged.
    static func open(for layout: VMLayout) -> BootBundle? {
        let address = activeBoard.bundlePA
        guard let base = UnsafeRawPointer(bitPattern: UInt(address)) else { return nil }
        do {
            return try BootBundle.open(base, limit: activeBoard.bundleLimit, ramIPA: layout.ramIPA, ramSize: layout.ramSize)
        } catch {
            Console.begin()
            Console.print("ERROR: the boot bundle at ")
            Console.hex(address)
            Console.print(" is unusable: ")
            Console.print(error.message)
            Console.newline()
            return nil
        }
    }

    /// Copy every image to its place in the VM's RAM and make it visible to a guest whose
    /// caches are off.
    static func load(_ bundle: BootBundle, into layout: VMLayout) {
        for i in 0..<bundle.count {
            let entry = bundle.entry(i)
            let pa = layout.ramPA + (entry.loadIPA - layout.ramIPA)
            // Safety: `BootBundle.open` checked that the source lies inside the bundle and the
            // destination inside the VM's RAM, which Keel's identity map covers.
            let destination = UnsafeMutableRawPointer(bitPattern: UInt(pa))!
            let source = bundle.base + Int(entry.offset)
            destination.copyMemory(from: source, byteCount: Int(entry.size))
            keel_clean_dcache_range(UInt(pa), UInt(entry.size))
        }
    }
}
