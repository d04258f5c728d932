/// NXP i.MX 8M Plus EVK, which QEMU 10 emulates as `imx8mp-evk`: its four Cortex-A53s start at
/// EL2 there, and QEMU answers SMC as PSCI (there is no EL3), as TF-A does on the real board.
///
/// Memory map as Debian's `freescale/imx8mp-evk.dtb` (Linux's imx8mp.dtsi, imx8mp-evk.dts) and
/// QEMU 10 (`info mtree`, `info qtree`) lay it out: GICv3 with the distributor at 0x3880_0000 and
/// one redistributor (two 64 KiB frames) per CPU from 0x3888_0000, maintenance interrupt PPI 9;
/// DRAM from 0x4000_0000 (the EVK has 6 GiB, 3 GiB of it below 4 GiB; QEMU takes up to 3 GiB
/// with `-m`, 128 MiB without, and rewrites /memory to match); four i.MX UARTs, the console
/// UART2 at 0x3089_0000 (SPI 27, `ttymxc1`). QEMU wires its `-serial` options to UART1 and then
/// UART2, so Keel's console needs `-serial null -serial stdio`. The DTB reserves 32 MiB at
/// 0x9240_0000 for the audio DSP: Keel, its VM and the bundle stay below it.
public let imx8mpEVK = Board(
    name: "imx8mp-evk",
    qemuMachine: "imx8mp-evk",
    qemuCPU: "cortex-a53",
    maxCPUs: 4,
    ramBase: 0x4000_0000,
    ramSize: 0x8000_0000,          // 2 GiB asked of QEMU (its default, 128 MiB, is too small for a VM)
    uartKind: .imx,
    uartBase: 0x3089_0000,
    textOffset: 0x0008_0000,
    gic: GICFrames(
        distributor: 0x3880_0000,
        redistributors: 0x3888_0000,
        cpuInterface: 0,
        hypervisorControl: 0,
        virtualCPUInterface: 0,
        maintenanceINTID: 25          // PPI 9
    ),
    // Above the default VM's RAM (0x5000_0000 + 256 MiB) up to 0x8000_0000: Keel, its VM and the
    // bundle all sit in the 1 GiB block Keel's EL2 map makes normal memory, as on qemu-virt.
    bundlePA: 0x6000_0000,
    bundleLimit: 0x2000_0000,
    gicVersion: 3
)

#if !KEEL_FIRMWARE  // host tools only: the firmware gives VMs no devices of the board
/// From Debian's imx8mp-evk.dtb (names as Linux's imx8mp.dtsi labels them; each window 64 KiB as
/// the DTB gives it, QEMU models the registers at its start), INTID = SPI + 32.
public let imx8mpEVKDevices = BoardDevices([
    BoardDevice("uart2", "fsl,imx8mp-uart", base: 0x3089_0000, size: 0x1_0000, intid: 59, hypervisorOwned: true),
    BoardDevice("uart1", "fsl,imx8mp-uart", base: 0x3086_0000, size: 0x1_0000, intid: 58),
    BoardDevice("uart3", "fsl,imx8mp-uart", base: 0x3088_0000, size: 0x1_0000, intid: 60),
    BoardDevice("uart4", "fsl,imx8mp-uart", base: 0x30A6_0000, size: 0x1_0000, intid: 61),
    BoardDevice("i2c1", "fsl,imx8mp-i2c", base: 0x30A2_0000, size: 0x1_0000, intid: 67),
    BoardDevice("i2c3", "fsl,imx8mp-i2c", base: 0x30A4_0000, size: 0x1_0000, intid: 69),
    BoardDevice("usdhc2", "fsl,imx8mp-usdhc", base: 0x30B5_0000, size: 0x1_0000, intid: 55),
    BoardDevice("usdhc3", "fsl,imx8mp-usdhc", base: 0x30B6_0000, size: 0x1_0000, intid: 56),
    BoardDevice("fec", "fsl,imx8mp-fec", base: 0x30BE_0000, size: 0x1_0000, intid: 150, interruptCount: 4),
    BoardDevice("eqos", "nxp,imx8mp-dwmac-eqos", base: 0x30BF_0000, size: 0x1_0000, intid: 166, interruptCount: 2),
    BoardDevice("gpio1", "fsl,imx8mp-gpio", base: 0x3020_0000, size: 0x1_0000, intid: 96, interruptCount: 2),
    BoardDevice("gpio2", "fsl,imx8mp-gpio", base: 0x3021_0000, size: 0x1_0000, intid: 98, interruptCount: 2),
])
#endif

/// The default VM: 256 MiB of guest RAM at the same IPA as on qemu-virt (so the same guests run),
/// backed by DRAM 256 MiB above its base, as on qemu-virt: clear of Keel's image, its stacks and
/// page tables, and the DTB QEMU places after the image.
public let imx8mpEVKDefaultVM = VMLayout(
    ramIPA: 0x4000_0000,
    ramPA: 0x5000_0000,
    ramSize: 0x1000_0000,
    uartIPA: 0x0900_0000,
    entryOffset: 0
)
