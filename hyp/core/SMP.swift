import KeelHW

/// Physical CPUs. Keel starts every CPU of the board at boot, the way the DTB says: through the
/// firmware's PSCI (CPU_ON over SMC, as QEMU virt's DTB says), or from a spin table (each CPU's
/// `cpu-release-addr`, the Raspberry Pi's firmware); each runs `el2_cpu_init`, configures its
/// traps and waits in `idle` for its vCPU (vCPU n is pinned to CPU n).
enum SMP {

    static var currentCPU: Int { Int(read_mpidr_el1() & 0xFF) }

    /// Starts CPUs 1, 2, ... until the firmware says there is no such CPU or `limit` is
    /// reached. Returns how many CPUs run Keel, the boot CPU included.
    @_optimize(size)
    static func startSecondaries(limit: Int) -> Int {
        StaticWords.online(0).storeRelease(1)
        var count = 1
        while count < limit {
            if machine.cpuStart == .spinTable {
                SpinTable.release(machine.releaseAddress[count])
            } else {
                // Affinity fields only: QEMU's PSCI refuses a raw MPIDR (bit 31 set).
                let result = Int64(bitPattern: keel_smc(UInt64(PSCI.cpuOn64), UInt64(count), UInt64(keel_secondary_entry_address()), UInt64(count)))
                guard result == PSCI.success else { break }
            }
            var spins = 0
            while StaticWords.online(count).loadAcquire() == 0 && spins < 50_000_000 { spins += 1 }
            guard StaticWords.online(count).loadAcquire() != 0 else {
                Console.log(machine.cpuStart == .spinTable ? "a secondary CPU was released from its spin table but never came up"
                                                           : "a secondary CPU accepted CPU_ON but never came up")
                break
            }
            count += 1
        }
        return count
    }

    /// Waits until this CPU's vCPU has been started (PSCI CPU_ON), then enters it. The wait is
    /// a WFI that the starter's kick ends (`wake`): a CPU with no vCPU to run gives its core
    /// back (under QEMU's multi-threaded TCG, WFE and YIELD are no-ops, so a WFE loop here
    /// kept a host thread busy for the whole life of an idle CPU).
    static func idle(_ cpu: UInt64) -> Never {
        let vcpu = VCPUHandle(index: Int(cpu))
        while true {
            if vcpu.powerWord.compareExchange(PowerState.onPending.rawValue, PowerState.on.rawValue) {
                Trace.event(.vcpuStarted, vm: vcpu.state.vm, vcpu: vcpu.state.id, arg0: vcpu.state.pc)
                EL2.run(vcpu)
            }
            waitForKick()
        }
    }

    /// One wait of an idle CPU: WFI (an interrupt ends it even though EL2 runs with IRQs masked;
    /// the kick is never lost, since it stays pending until acknowledged), then whatever ended
    /// it is acknowledged and deactivated, so that the next WFI waits again. The timer of a
    /// vCPU that went off with its timer running is stopped here (`EL2.run` resets both timers
    /// on the next start anyway), or its level interrupt would end every wait at once.
    private static func waitForKick() {
        keel_wfi()
        while true {
            let iar = GIC.acknowledge()
            let intid = GIC.intid(of: iar)
            guard intid < GIC.spurious else { return }
            if intid == GIC.virtualTimerPPI { write_cntv_ctl_el0(0) }
            if intid == GIC.physicalTimerPPI { write_cntp_ctl_el0(0) }
            if intid == GIC.maintenancePPI { GIC.setUnderflowInterrupt(false) }
            GIC.dropPriority(iar)
            GIC.deactivate(iar)
        }
    }

    /// Tells `vcpu`'s CPU that its vCPU is ready to start (its power word says onPending): the
    /// kick ends that CPU's wait in `idle`.
    static func wake(_ vcpu: VCPUHandle) {
        keel_sev()
        GIC.kick(cpu: vcpu.state.physicalCPU)
    }

    /// Leaves the guest for good on this CPU (CPU_OFF): drop the exception's stack and idle.
    static func leaveGuest() -> Never {
        let cpu = currentCPU
        Containment.leftGuest(cpu: cpu)
        keel_switch_stack(keel_stack_top(UInt32(cpu)), cpuIdle, UInt64(cpu))
    }

    /// Marks this CPU as running Keel.
    static func markOnline(_ cpu: Int) { StaticWords.online(cpu).storeRelease(1) }
}

/// `SMP.idle` as a C function, for `keel_switch_stack`.
private func cpuIdle(_ cpu: UInt64) {
    SMP.idle(cpu)
}

/// Entered from `keel_secondary_entry` on a secondary CPU, MMU and caches on.
@_optimize(size)
@c(keel_secondary_main)
func secondaryMain(_ cpu: UInt64) -> Never {
    EL2.configureTraps()
    GIC.initCPU(Int(cpu))
    SMP.markOnline(Int(cpu))
    SMP.idle(cpu)
}
