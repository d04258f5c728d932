/// QEMU `virt`, started with `virtualization=on` so the boot CPU enters Keel at EL2.
///
/// Memory map as QEMU 7.2 lays it out (`-M virt,dumpdtb=` confirms it): GIC at 0x0800_0000
/// (v2: GICC 0x0801_0000, GICH 0x0803_0000, GICV 0x0804_0000; v3: redistributors from
/// 0x080A_0000), PL011 at 0x0900_0000 (SPI 1), PL031 RTC 0x0901_0000 (SPI 2), fw_cfg
/// 0x0902_0000, PL061 GPIO 0x0903_0000 (SPI 7), 32 virtio-mmio transports of 0x200 bytes from
/// 0x0A00_0000 (SPI 16 on), DRAM from 0x4000_0000. QEMU puts the firmware at DRAM + text_offset
/// and its DTB above it. Two boards, one per GIC version: the same machine with `gic-version=`.
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
    bundleLimit: 0x2000_0000,
    gicVersion: 3,
    qemuSelectsGIC: true
)

/// The same machine with a GICv2 (`gic-version=2`): distributor, CPU interface, GICH and GICV.
public let qemuVirtGICv2 = Board(
    name: "qemu-virt-gicv2",
    qemuMachine: "virt,virtualization=on",
    qemuCPU: "cortex-a72",
    maxCPUs: 8,
    ramBase: 0x4000_0000,
    ramSize: 0x4000_0000,
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
    bundlePA: 0x6000_0000,
    bundleLimit: 0x2000_0000,
    gicVersion: 2,
    qemuSelectsGIC: true
)

#if !KEEL_FIRMWARE  // host tools only: the firmware gives VMs no devices of the board
/// Both variants' devices.
public let qemuVirtDevices = BoardDevices([
    BoardDevice("uart0", "arm,pl011", base: 0x0900_0000, size: 0x1000, intid: 33, hypervisorOwned: true),
    BoardDevice("rtc", "arm,pl031", base: 0x0901_0000, size: 0x1000, intid: 34),
    BoardDevice("fw-cfg", "qemu,fw-cfg-mmio", base: 0x0902_0000, size: 0x1000),
    BoardDevice("gpio", "arm,pl061", base: 0x0903_0000, size: 0x1000, intid: 39),
    BoardDevice("virtio-mmio", "virtio,mmio", base: 0x0A00_0000, size: 0x4000, intid: 48, interruptCount: 32),
    BoardDevice("pcie", "pci-host-ecam-generic", base: 0x1000_0000, size: 0x2EFF_0000, intid: 35, interruptCount: 4),
    nil, nil, nil, nil, nil, nil,
])
#endif

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
