import KeelHW

/// The machine below Keel: its firmware (PSCI over SMC, as QEMU virt's DTB and Arm's TF-A
/// provide; a Raspberry Pi has none and powers off through its watchdog), and what to do with a
/// CPU that has nothing left to run.
enum Platform {
    /// PSCI SYSTEM_OFF to the real firmware. On QEMU this ends QEMU with status 0.
    @_optimize(size)
    static func powerOff(_ why: StaticString = "all VMs are off: powering off") -> Never {
        Console.log(why)
        guard machine.hasPSCI else {
            guard machine.powerWatchdog == 0 else {
                // The watchdog resets the SoC into halt a few ticks later; wait for it parked.
                Console.log("no PSCI: powering off through the power management watchdog")
                waitAtMostASecond { Console.transmitterIdle }
                BCM2835Watchdog(base: UInt(machine.powerWatchdog)).powerOff()
                park()
            }
            Console.log("no PSCI firmware to power off with: halting")
            park()
        }
        waitAtMostASecond { Console.transmitterIdle }  // the last lines and trace frames out first
        _ = keel_smc(UInt64(PSCI.systemOff), 0, 0, 0)
        Console.log("firmware SYSTEM_OFF returned; halting")
        park()
    }

    /// Spins until `done` holds or a second of the system counter has passed: a wait for another
    /// CPU or a device that must not keep the machine from going if it never comes.
    @_optimize(size)
    static func waitAtMostASecond(until done: () -> Bool) {
        let start = read_cntpct_el0()
        let limit = read_cntfrq_el0()
        while !done() && read_cntpct_el0() &- start < limit {}
    }

    /// Stop this CPU for good. WFI rather than WFE: under QEMU's multi-threaded TCG a WFE
    /// does not wait at all, and a parked CPU would keep a host thread busy.
    static func park() -> Never {
        while true { keel_wfi() }
    }
}
