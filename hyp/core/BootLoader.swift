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
    /// The RAM Keel's EL2 map makes Normal memory (hyp/boot/start.S): the 1 GiB block holding
    /// Keel's image, as far as the machine's DRAM reaches into it; everything else is Device
    /// memory at EL2. Keel writes every VM's RAM (images copied in at boot and SYSTEM_RESET) and
    /// reads the boot bundles, so all of them must lie here. Empty when the DRAM misses the
    /// block.
    static var normalMemory: DeviceTreeMachine.Region {
        let block = UInt64(1) << UInt64(KEEL_EL2_NORMAL_SHIFT)
        let blockBase = UInt64(keelImageStart()) & ~(block - 1)
        let base = max(blockBase, machine.ramBase), end = min(blockBase + block, machine.ramEnd)
        return DeviceTreeMachine.Region(base: base, size: max(base, end) - base)
    }

    /// The board's bundle, checked against `layout`; nil (after saying why) when it is missing
    /// or damaged. Also says where it was (for SYSTEM_RESET).
    @_optimize(size)
    static func open(for layout: VMLayout) -> BootImages? {
        let normal = normalMemory
        guard normal.contains(layout.ramPA, size: layout.ramSize) else {
            Console.begin()
            Console.print("ERROR: the VM's RAM (PA ")
            Console.hex(layout.ramPA)
            Console.print(", ")
            Console.dec(layout.ramSize >> 20)
            Console.print(" MiB) is outside the memory Keel's EL2 map makes Normal (")
            Console.hex(normal.base)
            Console.print("-")
            Console.hex(normal.end)
            Console.print("); no VM is started")
            Console.newline()
            return nil
        }
        let appended = UInt64(keelAppendedBundle())
        if BootMemory.withNormalBytes(at: appended, count: 8, { BootBundle.present($0) }) == true {
            // It must end before the VM's RAM, into which it is copied.
            let limit = layout.ramPA > appended ? layout.ramPA - appended : 0
            return check(address: appended, limit: limit, layout: layout, place: "appended to Keel's image")
        }
        // The board's bundle address, as far as the DTB's memory reaches.
        let address = activeBoard.bundlePA
        guard machine.ramHolds(address, size: UInt64(BootBundle.headerSize)) else {
            Console.begin()
            // Worded like `check`'s refusals, which `keel run` watches for.
            Console.print("ERROR: the boot bundle at the board's bundle address (")
            Console.hex(address)
            Console.print(") is not in RAM, and none is appended to Keel's image; no VM is started")
            Console.newline()
            return nil
        }
        guard normal.contains(address, size: UInt64(BootBundle.headerSize)) else {
            Console.begin()
            Console.print("ERROR: the boot bundle at the board's bundle address (")
            Console.hex(address)
            Console.print(") is outside the memory Keel's EL2 map makes Normal; no VM is started")
            Console.newline()
            return nil
        }
        // The bundle is read through the EL2 map: only as far as Normal memory reaches.
        let limit = min(activeBoard.bundleLimit, machine.ramEnd - address, normal.end - address)
        return check(address: address, limit: limit, layout: layout, place: "at the board's bundle address")
    }

    /// A packed image with several VMs (`SystemManifest`) appended to Keel's image, checked
    /// against the machine (`cpus` running Keel, the board's DRAM, Keel's own memory); nil when
    /// there is none. A damaged one is reported and `refused` set: no VM must start then.
    @_optimize(size)
    static func openSystem(cpus: Int, refused: inout Bool) -> SystemManifest? {
        let appended = UInt64(keelAppendedBundle())
        guard BootMemory.withNormalBytes(at: appended, count: 8, { SystemManifest.present($0) }) == true else { return nil }
        let normal = normalMemory
        // The manifest (every VM's bundle in it) is read through the EL2 map, so it must lie in
        // Normal memory too: no further than the machine's DRAM and the Normal block reach.
        let end = min(machine.ramEnd, normal.end)
        var limits = SystemManifest.Limits(cpus: cpus, dramBase: machine.ramBase, dramSize: machine.ramSize,
                                           reservedStart: UInt64(keelImageStart()), reservedEnd: appended,
                                           normalBase: normal.base, normalSize: normal.size)
        // What stage 2 will map for every VM: RAM and shared regions inside the IPA space, and
        // a GICv2's GICV frame at the guest's CPU interface (VMs.create), which nothing may cover.
        limits.ipaLimit = Stage2Geometry(paRange: read_id_aa64mmfr0_el1() & 0xF).ipaLimit
        if GIC.version == .v2 {
            limits.deviceIPABase = defaultVMLayout.gicCPUInterfaceIPA
            limits.deviceIPASize = VMs.gicCPUInterfaceSize
        }
        // Devices passed through: never over what Keel drives itself (its console, the GIC),
        // nor at the guest addresses of the devices it emulates (virtual GIC up to the console).
        limits.paLimit = limits.ipaLimit
        let gic = machine.gic
        limits.keelDevices[0] = (machine.uartBase, 0x1000)
        limits.keelDevices[1] = (gic.distributor, 0x1_0000)
        if GIC.version == .v3 {
            limits.keelDevices[2] = (gic.redistributors, UInt64(max(cpus, 1)) * 0x2_0000)
            limits.keelDeviceCount = 3
        } else {
            limits.keelDevices[2] = (gic.cpuInterface, 0x2000)
            limits.keelDevices[3] = (gic.hypervisorControl, 0x1000)
            limits.keelDevices[4] = (gic.virtualCPUInterface, 0x2000)
            limits.keelDeviceCount = 5
        }
        let emulated = defaultVMLayout
        limits.emulatedIPABase = emulated.gicDistributorIPA
        limits.emulatedIPASize = emulated.uartIPA + 0x1000 - emulated.gicDistributorIPA
        do throws(SystemManifest.Problem) {
            let opened = BootMemory.withNormalBytes(at: appended, count: end > appended ? end - appended : 0) {
                bytes -> Result<SystemManifest, SystemManifest.Problem> in
                do throws(SystemManifest.Problem) {
                    return .success(try SystemManifest.open(bytes, limits))
                } catch {
                    return .failure(error)
                }
            }
            guard let opened else { throw SystemManifest.Problem.tooSmall }
            let manifest = try opened.get()
            // The images themselves must not be overwritten by a VM either.
            let end = appended + manifest.totalSize
            for i in 0..<manifest.count {
                let r = manifest.record(i)
                if Interval.overlap(r.ramPA, r.ramSize, appended, end - appended) { throw SystemManifest.Problem.ramOverKeel(i) }
            }
            // Nor through a shared region, which VMs write.
            for k in 0..<manifest.regionCount {
                let g = manifest.region(k)
                if Interval.overlap(g.pa, g.size, appended, end - appended) { throw SystemManifest.Problem.regionOverlap(k) }
            }
            return manifest
        } catch {
            Console.begin()
            Console.print("ERROR: the VM table appended to Keel's image (")
            Console.hex(appended)
            Console.print(") is unusable: ")
            Console.print(error.message)
            Console.print("; no VM is started")
            Console.newline()
            refused = true
            return nil
        }
    }

    /// VM `index`'s bundle from `manifest` (appended to Keel's image), checked against its RAM;
    /// nil after saying why.
    @_optimize(size)
    static func open(_ manifest: SystemManifest, vm index: Int, layout: VMLayout) -> BootImages? {
        let range = manifest.bundle(index)
        return check(address: UInt64(keelAppendedBundle()) + UInt64(range.lowerBound), limit: UInt64(range.count),
                     layout: layout, place: "of a VM in Keel's image")
    }

    /// The bundle a VM booted from, again (SYSTEM_RESET). It was checked at boot and lies where
    /// no VM can write; checked again all the same.
    @_optimize(size)
    static func reopen(_ vm: VMHandle) -> BootImages? {
        check(address: UInt64(vm.state.bundleBase), limit: vm.state.bundleLimit, layout: vm.state.layout,
              place: "the VM booted from")
    }

    @_optimize(size)
    private static func check(address: UInt64, limit: UInt64, layout: VMLayout, place: StaticString) -> BootImages? {
        let opened = BootMemory.withNormalBytes(at: address, count: limit) { bytes -> Result<BootBundle, BootBundle.Problem> in
            do throws(BootBundle.Problem) {
                return .success(try BootBundle.open(bytes, ramIPA: layout.ramIPA, ramSize: layout.ramSize))
            } catch {
                return .failure(error)
            }
        } ?? .failure(.tooSmall)
        switch opened {
        case .success(let bundle):
            return BootImages(bundle: bundle, address: address, limit: limit)
        case .failure(let error):
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
    @_optimize(size)
    static func load(_ images: BootImages, into layout: VMLayout) {
        let bundle = images.bundle
        for i in 0..<bundle.count {
            let entry = bundle.entry(i)
            // `BootBundle.open` checked that the source lies inside the bundle and the
            // destination inside the VM's RAM: neither sum wraps.
            let pa = layout.ramPA + (entry.loadIPA - layout.ramIPA)
            guard BootMemory.copy(from: images.address + entry.offset, to: pa, count: entry.size) else {
                panic("a boot image lies outside Normal memory")
            }
        }
    }
}

/// A checked boot bundle and where it lies: enough to copy its images into the VM's RAM again
/// on SYSTEM_RESET.
struct BootImages {
    let bundle: BootBundle
    /// Physical address of the bundle, and how many bytes there it may take.
    let address: UInt64
    let limit: UInt64
}

/// The address `keel pack` appends the bundle at (hyp/boot/start.S, from the linker script).
/// Declared by symbol name rather than in a C header: the stub takes no arguments and returns
/// the address in x0, which the Swift and C conventions agree on.
@_silgen_name("keel_appended_bundle")
private func keelAppendedBundle() -> UInt

/// Where Keel's image starts (its load address): no VM's RAM may reach below the manifest.
@_silgen_name("keel_image_start")
func keelImageStart() -> UInt

/// Where Keel's image ends, BSS included (4 KiB aligned: where `keel pack` appends a bundle).
func keelImageEnd() -> UInt { keelAppendedBundle() }
