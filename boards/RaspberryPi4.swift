/// Raspberry Pi 4 Model B (BCM2711), in its default low-peripheral mode. Its boot firmware
/// (start4.elf with the built-in armstub) enters a 64-bit kernel (`arm_64bit=1`) at EL2 at
/// 0x8_0000 on every core, the DTB in x0; `keel pack --board raspberry-pi-4` writes the SD card
/// folder (kernel8.img, config.txt).
///
/// Memory map from the BCM2711 peripherals document and the Linux device tree
/// (bcm2711.dtsi, bcm2711-rpi-4-b.dts): 4 Cortex-A72, the first 948 MiB of DRAM below the
/// VideoCore's share, GIC-400 (GICv2) with the distributor at 0xFF84_1000, CPU interface
/// 0xFF84_2000, GICH 0xFF84_4000 and GICV 0xFF84_6000; PL011 UART0 at 0xFE20_1000 (SPI 121; on
/// GPIO 14/15 once Bluetooth is moved off it with `dtoverlay=disable-bt`). `make` builds Keel's
/// firmware for it (build/hyp-raspberry-pi-4).
///
/// Checked against QEMU 10's `raspi4b` (`info mtree`): the distributor 4 KiB at 0xFF84_1000,
/// the CPU interface 8 KiB at 0xFF84_2000, GICH 4 KiB at 0xFF84_4000, GICV 8 KiB at 0xFF84_6000
/// (contiguous frames, no 64 KiB aliasing), the PL011 at 0xFE20_1000, the power management
/// watchdog Keel powers off with at 0xFE10_0000. The machine takes only `-m 2G` and `-smp 4`; with
/// Debian's bcm2711-rpi-4-b.dtb its `/memory` says 960 MiB from 0 (the DTB's own is empty until
/// the Pi firmware fills it in). Secondary CPUs wait on the DTB's spin table, not PSCI.
public let raspberryPi4 = Board(
    name: "raspberry-pi-4",
    qemuMachine: "raspi4b",
    qemuCPU: "cortex-a72",
    maxCPUs: 4,
    ramBase: 0x0000_0000,
    ramSize: 0x3B40_0000,          // 948 MiB: DRAM below the VideoCore's 76 MiB (gpu_mem default)
    uartKind: .pl011,
    uartBase: 0xFE20_1000,
    textOffset: 0x0008_0000,
    gic: GICFrames(
        distributor: 0xFF84_1000,
        redistributors: 0,
        cpuInterface: 0xFF84_2000,
        hypervisorControl: 0xFF84_4000,
        virtualCPUInterface: 0xFF84_6000,
        maintenanceINTID: 25          // PPI 9
    ),
    bundlePA: 0x2000_0000,
    bundleLimit: 0x1000_0000,
    gicVersion: 2
)

#if !KEEL_FIRMWARE  // host tools only: the firmware gives VMs no devices of the board
public let raspberryPi4Devices = BoardDevices([
    BoardDevice("uart0", "arm,pl011", base: 0xFE20_1000, size: 0x200, intid: 153, hypervisorOwned: true),
    BoardDevice("uart2", "arm,pl011", base: 0xFE20_1400, size: 0x200, intid: 153),
    BoardDevice("uart3", "arm,pl011", base: 0xFE20_1600, size: 0x200, intid: 153),
    BoardDevice("uart4", "arm,pl011", base: 0xFE20_1800, size: 0x200, intid: 153),
    BoardDevice("uart5", "arm,pl011", base: 0xFE20_1A00, size: 0x200, intid: 153),
    BoardDevice("gpio", "brcm,bcm2711-gpio", base: 0xFE20_0000, size: 0x100, intid: 145, interruptCount: 4),
    BoardDevice("spi0", "brcm,bcm2835-spi", base: 0xFE20_4000, size: 0x200, intid: 150),
    BoardDevice("i2c1", "brcm,bcm2711-i2c", base: 0xFE80_4000, size: 0x1000, intid: 149),
    BoardDevice("emmc2", "brcm,bcm2711-emmc2", base: 0xFE34_0000, size: 0x100, intid: 158),
    BoardDevice("genet", "brcm,bcm2711-genet-v5", base: 0xFD58_0000, size: 0x10000, intid: 189, interruptCount: 2),
    BoardDevice("pcie", "brcm,bcm2711-pcie", base: 0xFD50_0000, size: 0x9310, intid: 175, interruptCount: 6),
    BoardDevice("mailbox", "brcm,bcm2835-mbox", base: 0xFE00_B880, size: 0x40, intid: 65),
])
#endif

/// The default VM: 256 MiB of guest RAM at the same IPA as on qemu-virt (so the same guests
/// run), backed by DRAM at 256 MiB: above Keel's image at 0x8_0000 and the DTB QEMU puts at
/// 128 MiB, below the boot bundle at 512 MiB; all of it in the first 1 GiB, the block Keel's EL2
/// map makes normal memory.
public let raspberryPi4DefaultVM = VMLayout(
    ramIPA: 0x4000_0000,
    ramPA: 0x1000_0000,
    ramSize: 0x1000_0000,
    uartIPA: 0x0900_0000,
    entryOffset: 0
)
