import _Volatile
import KeelHW

/// Starting a CPU that the boot firmware parked on a spin table (`enable-method =
/// "spin-table"`: the Raspberry Pi's armstub, QEMU's raspi boot stub). The CPU polls its
/// `cpu-release-addr` with its MMU and caches off, between WFEs; Keel writes the physical
/// address of `keel_spin_table_entry` there, cleans the line to the point of coherency so that
/// non-cacheable read sees it, and sends an event, as Linux's smp_spin_table.c does.
enum SpinTable {
    /// Releases the CPU waiting on `releaseAddress` into Keel's secondary entry.
    ///
    /// Safety: `releaseAddress` is `machine.releaseAddress[cpu]`, which `MachineCheck.resolve`
    /// accepted only 8-byte aligned, inside the DRAM range that holds Keel (below the 512 GiB
    /// Keel's EL2 map covers, so mapped) and outside Keel's own image: the store cannot hit
    /// Keel's code, data or page tables. VMs are built after this, so it hits no VM either.
    @_optimize(size)
    static func release(_ releaseAddress: UInt64) {
        let slot = unsafe VolatileMappedRegister<UInt64>(unsafeBitPattern: UInt(releaseAddress))
        // Keel's EL2 map is the identity: the entry's address is its physical address.
        slot.store(UInt64(keel_spin_table_entry_address()))
        keel_clean_to_poc_and_sev(UInt(releaseAddress))
    }
}
