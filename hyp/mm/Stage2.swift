import KeelHW

/// One VM's stage-2 translation: IPA -> PA tables from the page pool, descriptors encoded by
/// KeelCore's `Stage2Descriptor`. Keel runs on an identity map, so a table's address is also its
/// physical address.
struct Stage2 {
    /// Physical address of the root (level 1, possibly concatenated) table; 0 before `create`.
    var root: UInt64 = 0
    var vtcr: UInt64 = 0
    /// IPA width of the VM (what its ID_AA64MMFR0_EL1.PARange reports).
    var ipaBits = 0
    var ipaLimit: UInt64 { ipaBits == 0 ? 0 : 1 << UInt64(ipaBits) }

    /// Fresh, empty tables for the geometry the hardware supports.
    @_optimize(size)
    static func create() -> Stage2? {
        let geometry = Stage2Geometry(paRange: read_id_aa64mmfr0_el1() & 0xF)
        guard let table = PagePool.allocate(pages: geometry.rootBytes / 4096) else { return nil }
        return Stage2(root: table, vtcr: geometry.vtcr, ipaBits: geometry.ipaBits)
    }

    /// VTTBR_EL2: the root table and the VMID in bits [55:48].
    func vttbr(vmid: UInt64) -> UInt64 { root | (vmid & 0xFF) << 48 }

    /// Map `[ipa, ipa + size)` to `[pa, pa + size)`, with the largest blocks alignment allows.
    /// All three must be 4 KiB aligned. False when they are not, when the range leaves the IPA
    /// space, or when the page pool runs out.
    @_optimize(size)
    mutating func map(ipa: UInt64, pa: UInt64, size: UInt64, memory: Stage2Descriptor.Memory,
                      access: Stage2Descriptor.Access, executable: Bool) -> Bool {
        let mask = Stage2Descriptor.granule - 1
        guard (ipa | pa | size) & mask == 0, size <= ipaLimit, ipa <= ipaLimit - size else { return false }
        var offset: UInt64 = 0
        while offset < size {
            let ipaHere = ipa + offset, paHere = pa + offset, left = size - offset
            var level = 1
            // Pick the first level at which a block fits: both addresses aligned to it and
            // enough left to fill it.
            while level < 3 {
                let block = Stage2Descriptor.blockSize(level: level)
                if (ipaHere | paHere) & (block - 1) == 0 && left >= block { break }
                level += 1
            }
            guard let (table, index) = entry(ipa: ipaHere, level: level) else { return false }
            Stage2.store(Stage2Descriptor.leaf(
                level: level, output: paHere, memory: memory, access: access, executable: executable
            ).rawValue, table, index)
            offset += Stage2Descriptor.blockSize(level: level)
        }
        keel_dsb_ishst()
        return true
    }

    /// The table and index of the entry for `ipa` at `level`, creating tables on the way down.
    @_optimize(size)
    private func entry(ipa: UInt64, level: Int) -> (table: UInt64, index: Int)? {
        var table = root
        var current = 1
        while true {
            let index = Stage2Descriptor.index(of: ipa, level: current)
            if current == level { return (table, index) }
            let descriptor = Stage2Descriptor(rawValue: Stage2.load(table, index))
            if !descriptor.isValid {
                guard let next = PagePool.allocate(pages: 1) else { return nil }
                Stage2.store(Stage2Descriptor.table(at: next).rawValue, table, index)
                table = next
            } else if descriptor.isTableOrPage {
                table = descriptor.outputAddress
            } else {
                return nil  // already covered by a block: Keel never splits blocks
            }
            current += 1
        }
    }

    // Safety of `load` and `store`: `table` is the root or a table descriptor's output address,
    // a page-pool page that only this VM's tables use (Keel runs on an identity map, so its
    // physical address is its address); `index` comes from `Stage2Descriptor.index`, below 512
    // entries, or the root's concatenated count at level 1, so the entry lies inside the table.
    private static func load(_ table: UInt64, _ index: Int) -> UInt64 {
        unsafe UnsafePointer<UInt64>(bitPattern: UInt(table))![index]
    }

    private static func store(_ value: UInt64, _ table: UInt64, _ index: Int) {
        unsafe UnsafeMutablePointer<UInt64>(bitPattern: UInt(table))![index] = value
    }
}
