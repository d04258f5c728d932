/// QEMU `virt`, started with `virtualization=on` so the boot CPU enters Keel at EL2.
///
/// Memory map as QEMU 7.2 lays it out (`-M virt,dumpdtb=` confirms it): GIC at 0x0800_0000
/// (v2: GICC 0x0801_0000, GICH 0x0803_0000, GICV 0x0804_0000; v3: redistributors from
/// 0x080A_0000), PL011 at 0x0900_0000 (SPI 1), DRAM from 0x4000_0000. QEMU puts the firmware at DRAM + text_offset and
/// its DTB above it.
public let qemuVirt = Board(
    name: "qemu-virt",
    qemuMachine: "virt,virtualization=on",
    qemuCPU: "cortex-a72",
    maxCPUs: 8,
    ramBase: 0x4000_0000,
    ramSize: 0x4000_0000,          // 1 GiB
    uartKind: .pl011,
    uartBase: 0x0900_0000,
    textOffset: 0x0008_0000,
    gic: GICFrames(
        distributor: 0x0800_0000,
        redistributors: 0x080A_0000,
        cpuInterface: 0x0801_0000,
        hypervisorControl: 0x0803_0000,
        virtualCPUInterface: 0x0804_0000,
        maintenanceINTID: 25          // PPI 9
    ),
    // Above the default VM's RAM (0x5000_0000 + 256 MiB) up to the end of the 1 GiB of DRAM.
    bundlePA: 0x6000_0000,
    bundleLimit: 0x2000_0000
)

/// The default VM: 256 MiB of guest RAM at the IPA where a guest written
/// for `virt` expects it, backed by host RAM 256 MiB above the board's DRAM base so that nothing
/// of the hypervisor (image, stacks, page tables, QEMU's DTB) is inside it.
public let qemuVirtDefaultVM = VMLayout(
    ramIPA: 0x4000_0000,
    ramPA: 0x5000_0000,
    ramSize: 0x1000_0000,
    uartIPA: 0x0900_0000,
    entryOffset: 0
)
