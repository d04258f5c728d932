import Testing

/// PSCI 1.1 with several vCPUs, each on its own physical CPU.
@Suite("PSCI and SMP")
struct PSCITests {
    @Test("every PSCI function and its error returns; a vCPU started, stopped and restarted")
    func psci() throws {
        let run = try boot("psci", ["--smp", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        let minusOne = "0xffffffffffffffff", invalidParameters = "0xfffffffffffffffe"
        let expected = [
            "[keel] vm0: 2 vCPUs, 256 MiB RAM at IPA 0x40000000 (PA 0x50000000), console at IPA 0x9000000, VTCR_EL2 0x80043558",
            "psci: version=0x10001",
            "psci: features(cpu_on)=0x0", "psci: features(cpu_off)=0x0", "psci: features(affinity_info)=0x0",
            "psci: features(cpu_suspend)=0x0", "psci: features(migrate_info_type)=0x0", "psci: features(smccc_version)=0x0",
            "psci: features(system_reset)=0x0",
            "psci: features(system_off)=0x0", "psci: features(psci_features)=0x0",
            "psci: features(cpu_freeze)=\(minusOne)",  // optional, not implemented: NOT_SUPPORTED
            "psci: features(not_psci)=\(minusOne)",
            "psci: smccc_version=0x10001",
            "psci: smccc_arch_features(self)=0x0",
            "psci: smccc_arch_features(workaround_1)=\(minusOne)",
            "psci: unknown_psci=\(minusOne)",
            "psci: migrate_info_type=0x2",
            "psci: affinity_info(0)=0x0",
            "psci: affinity_info(1)=0x1",
            "psci: affinity_info(1,level1)=\(invalidParameters)",
            "psci: affinity_info(9)=\(invalidParameters)",
            "psci: cpu_on(9)=\(invalidParameters)",
            "psci: cpu_on(raw_mpidr)=\(invalidParameters)",
            "psci: cpu_on(bad_entry)=0xfffffffffffffff7",  // INVALID_ADDRESS
            "psci: cpu_on(self)=0xfffffffffffffffc",  // ALREADY_ON
            "psci: cpu_on32(2)=\(invalidParameters)",
            "psci: cpu_suspend(standby)=0x0",
            "psci: cpu1 up, context=0x1234",
            "psci: cpu1 mpidr=0x80000001",
            "psci: cpu_on(1)=0x0",
            "psci: cpu_on(1,again)=0xfffffffffffffffc",
            "psci: affinity_info(1,running)=0x0",
            "psci: cpu1 is off",
            "psci: cpu1 up, context=0x5678",
            "psci: cpu_on(1,restart)=0x0",
            "psci: cpu1 is off again",
            "psci: exceptions=0x0",
            "psci: done",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        #expect(run.stdout.contains("[keel] vm0/vcpu1 exits: HVC64=2 "))  // two CPU_OFFs
    }

    @Test("every CPU of the board runs Keel; the single-vCPU guests are unaffected", arguments: [4, 8])
    func manyCPUs(_ cpus: Int) throws {
        let run = try boot("hvc", ["--smp", String(cpus)])
        #expect(run.status == 0)
        #expect(run.stdout.contains("[keel] vm0: \(cpus) vCPUs,"))
        #expect(run.lines.contains("hvc: done"))
    }

    @Test("SYSTEM_RESET restarts the VM from its boot images with only vCPU 0 on", arguments: [3, 2])
    func systemReset(_ gic: Int) throws {
        let run = try boot("reset", ["--smp", "2", "--gic", String(gic)])
        #expect(run.status == 0, "\(run.stderr)")
        let expected = [
            "reset: first boot, counter=0x7",
            "reset: cpu1 spinning, resetting",
            "[keel] vm0/vcpu0: PSCI SYSTEM_RESET: restarting the VM from its boot images",
            "reset: second boot, counter=0x7",  // .data as in the image again
            "reset: affinity_info(1)=0x1",  // the spinning vCPU was stopped
            "reset: done",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        #expect(!run.stdout.contains("SYSTEM_RESET returned"))
    }

    @Test("--smp beyond the board is refused")
    func tooManyCPUs() throws {
        let run = try runKeel(["run", "--guest", Repo.guest("demo"), "--smp", "9"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("--smp 9 is not possible: qemu-virt has 1 to 8 CPUs"))
    }
}
