/// AMD/Xilinx ZCU102 (Zynq UltraScale+ MPSoC), which QEMU emulates as `xlnx-zcu102`; with
/// `virtualization=on` its Cortex-A53s start at EL2.
///
/// Memory map as QEMU's xlnx-zynqmp model and the Linux device tree (zynqmp.dtsi) lay it out:
/// 4 Cortex-A53, DDR from 0 (the low 2 GiB), GIC-400 (GICv2) with the distributor at
/// 0xF901_0000, CPU interface 0xF902_0000, GICH 0xF904_0000 and GICV 0xF906_0000, Cadence UARTs
/// at 0xFF00_0000 (SPI 21) and 0xFF01_0000 (SPI 22), the GEM3 Ethernet, SD controllers, I2C,
/// SPI and the RTC as below. `make` builds Keel's firmware for it (build/hyp-xlnx-zcu102).
///
/// Checked against QEMU 7.2 (`info mtree`): each GIC-400 frame is 4 KiB, repeated through a
/// 64 KiB window, the CPU interface's second page (GICC_DIR) only from 0xF903_0000 and GICV's
/// from 0xF907_0000. So the CPU interface and GICV are used at 0xF902_F000 and 0xF906_F000,
/// where both of their pages are contiguous (as Linux's GIC driver does on the ZynqMP); GICH's
/// registers fit in its first page. QEMU answers SMC from EL2 as PSCI here too.
public let xlnxZCU102 = Board(
    name: "xlnx-zcu102",
    qemuMachine: "xlnx-zcu102,virtualization=on",
    qemuCPU: "cortex-a53",
    maxCPUs: 4,
    ramBase: 0x0000_0000,
    ramSize: 0x8000_0000,          // 2 GiB, QEMU's default for the machine
    uartKind: .cadence,
    uartBase: 0xFF00_0000,
    textOffset: 0x0008_0000,
    gic: GICFrames(
        distributor: 0xF901_0000,
        redistributors: 0,
        cpuInterface: 0xF902_F000,      // the 8 KiB frame; see above
        hypervisorControl: 0xF904_0000,
        virtualCPUInterface: 0xF906_F000,
        maintenanceINTID: 25          // PPI 9
    ),
    // Above the default VM's RAM (0x1000_0000 + 256 MiB) up to 1 GiB: Keel, its VM and the
    // bundle all sit in the first 1 GiB block, the one Keel's EL2 map makes normal memory.
    bundlePA: 0x2000_0000,
    bundleLimit: 0x2000_0000,
    gicVersion: 2
)

#if !KEEL_FIRMWARE  // host tools only: the firmware gives VMs no devices of the board
public let xlnxZCU102Devices = BoardDevices([
    BoardDevice("uart0", "cdns,uart-r1p12", base: 0xFF00_0000, size: 0x1000, intid: 53, hypervisorOwned: true),
    BoardDevice("uart1", "cdns,uart-r1p12", base: 0xFF01_0000, size: 0x1000, intid: 54),
    BoardDevice("i2c0", "cdns,i2c-r1p14", base: 0xFF02_0000, size: 0x1000, intid: 49),
    BoardDevice("i2c1", "cdns,i2c-r1p14", base: 0xFF03_0000, size: 0x1000, intid: 50),
    BoardDevice("spi0", "cdns,spi-r1p6", base: 0xFF04_0000, size: 0x1000, intid: 51),
    BoardDevice("spi1", "cdns,spi-r1p6", base: 0xFF05_0000, size: 0x1000, intid: 52),
    BoardDevice("gem3", "cdns,zynqmp-gem", base: 0xFF0E_0000, size: 0x1000, intid: 95),
    BoardDevice("sdhci0", "xlnx,zynqmp-8.9a", base: 0xFF16_0000, size: 0x1000, intid: 80),
    BoardDevice("sdhci1", "xlnx,zynqmp-8.9a", base: 0xFF17_0000, size: 0x1000, intid: 81),
    BoardDevice("rtc", "xlnx,zynqmp-rtc", base: 0xFFA6_0000, size: 0x100, intid: 58, interruptCount: 2),
    BoardDevice("sata", "ceva,ahci-1v84", base: 0xFD0C_0000, size: 0x2000, intid: 165),
    nil,
])
#endif

/// The default VM: 256 MiB of guest RAM at the same IPA as on qemu-virt (so the same guests
/// run), backed by DDR 256 MiB above Keel's image at 0x8_0000, below the boot bundle.
public let xlnxZCU102DefaultVM = VMLayout(
    ramIPA: 0x4000_0000,
    ramPA: 0x1000_0000,
    ramSize: 0x1000_0000,
    uartIPA: 0x0900_0000,
    entryOffset: 0
)
