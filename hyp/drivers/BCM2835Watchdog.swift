import _Volatile

/// The BCM2835-family power management block's watchdog (`brcm,bcm2835-pm-wdt`; the
/// Raspberry Pi 4's at 0xFE10_0000). Without PSCI it is how a Pi powers off: Linux's
/// bcm2835_wdt marks partition 63 in PM_RSTS ("halt") and lets the watchdog reset the SoC; the
/// Pi's boot firmware then stays halted, and QEMU's raspi machines end (status 0).
struct BCM2835Watchdog {
    /// Safety of every register below: `base` is the DTB's power management node
    /// (`machine.powerWatchdog`, its first `reg` through the buses' `ranges`), in the Device
    /// part of Keel's EL2 map; the offsets are the block's own 32-bit registers.
    let base: UInt

    private var rstc: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x1C) }
    private var rsts: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x20) }
    private var wdog: VolatileMappedRegister<UInt32> { unsafe .init(unsafeBitPattern: base + 0x24) }

    /// Every write carries the block's password in its top byte.
    private static let password: UInt32 = 0x5A00_0000
    /// PM_RSTS: partition 63 is its bits 0, 2, 4, 6, 8 and 10, which the firmware reads as halt.
    private static let haltPartition: UInt32 = 0x555
    /// PM_RSTC.WRCFG: a full reset when the watchdog expires.
    private static let fullReset: UInt32 = 0x20

    /// Arms the watchdog to halt the SoC in 10 ticks (about 150 us); the caller then parks.
    func powerOff() {
        rsts.store(BCM2835Watchdog.password | (rsts.load() & ~0xFFF) | BCM2835Watchdog.haltPartition)
        wdog.store(BCM2835Watchdog.password | 10)
        rstc.store(BCM2835Watchdog.password | BCM2835Watchdog.fullReset)
    }
}
