import KeelHW

/// Puts a VM's images into its RAM from the boot bundle the host tool packed (`BootBundle`),
/// at boot and again on PSCI SYSTEM_RESET: the bundle stays untouched outside every VM, so it
/// is the VM's pristine copy.
///
/// Two places hold a bundle: appended to Keel's own image by `keel pack` (one file a boot
/// loader or QEMU `-kernel` loads whole), or at the board's fixed `bundlePA`, where
/// `keel run --guest` has QEMU load it separately. An appended bundle is preferred; one that is
/// there but damaged is refused, never replaced by the other.
enum BootLoader {
    /// The board's bundle, checked against `layout`; nil (after saying why) when it is missing
    /// or damaged.
    static func open(for layout: VMLayout) -> BootBundle? {
        let appended = UInt64(keelAppendedBundle())
        if let base = UnsafeRawPointer(bitPattern: UInt(appended)), LittleEndian.load(8, at: 0, in: base) == BootBundle.magic {
            // It must end before the VM's RAM, into which it is copied.
            let limit = layout.ramPA > appended ? layout.ramPA - appended : 0
            return check(base, address: appended, limit: limit, layout: layout, place: "appended to Keel's image")
        }
        let address = activeBoard.bundlePA
        guard let base = UnsafeRawPointer(bitPattern: UInt(address)) else { return nil }
        return check(base, address: address, limit: activeBoard.bundleLimit, layout: layout, place: "at the board's bundle address")
    }

    private static func check(_ base: UnsafeRawPointer, address: UInt64, limit: UInt64, layout: VMLayout, place: StaticString) -> BootBundle? {
        do {
            return try BootBundle.open(base, limit: limit, ramIPA: layout.ramIPA, ramSize: layout.ramSize)
        } catch {
            Console.begin()
            Console.print("ERROR: the boot bundle ")
            Console.print(place)
            Console.print(" (")
            Console.hex(address)
            Console.print(") is unusable: ")
            Console.print(error.message)
            Console.print("; no VM is started")
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

/// The address `keel pack` appends the bundle at (hyp/boot/start.S, from the linker script).
/// Declared by symbol name rather than in a C header: the stub takes no arguments and returns
/// the address in x0, which the Swift and C conventions agree on.
@_silgen_name("keel_appended_bundle")
private func keelAppendedBundle() -> UInt
