import Testing

/// Each test boots Keel under qemu-system-aarch64 (virt, virtualization=on, GICv3, cortex-a72)
/// with one bare-metal guest and checks what the guest saw and what Keel counted. Each would
/// fail if the trap's handler were replaced by the default (UNDEF injection): the guest would
/// record an exception or read different values.
@Suite("Trap handling, seen from the guest")
struct TrapTests {
    @Test("the demo guest boots, prints through its emulated UART and powers off")
    func demo() throws {
        let run = try boot("demo")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.containsInOrder([
            "Hello from a bare-metal guest at EL1, running on Keel.",
            "demo: hypervisor UID word 0 = 0x6c65656b",
            "demo: PSCI version = 0x10001",
            "demo: MPIDR_EL1 = 0x80000000",
            "demo: CurrentEL = 0x1",
            "[keel] vm0: PSCI SYSTEM_OFF",
            "[keel] all VMs are off: powering off",
        ]), "\(run.stdout)")
    }

    @Test("HVC: SMCCC and PSCI versions, Keel's UID, NOT_SUPPORTED, preserved registers")
    func hvc() throws {
        let run = try boot("hvc")
        #expect(run.status == 0)
        let expected = [
            "hvc: smccc_version=0x10001",
            "hvc: psci_version=0x10001",
            "hvc: uid0=0x6c65656b", "hvc: uid1=0x7079682d", "hvc: uid2=0x6d72612d", "hvc: uid3=0x302e3876",
            "hvc: features(system_off)=0x0",
            "hvc: features(unknown)=0xffffffffffffffff",
            "hvc: unknown_vendor=0xffffffffffffffff",
            "hvc: unknown_sip=0xffffffffffffffff",
            "hvc: imm1=0xffffffffffffffff",
            "hvc: preserved_sum=0x93",
            "hvc: exceptions=0x0",
            "hvc: done",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        #expect(run.exitCounters["HVC64"] == 10)  // nine calls and SYSTEM_OFF
        #expect((run.exitCounters["DABT_LOW"] ?? 0) > 0)
    }

    @Test("SMC is trapped, answered by Keel (not the firmware below), and resumes after the SMC")
    func smc() throws {
        let run = try boot("smc")
        #expect(run.status == 0)
        let expected = [
            "smc: uid0=0x6c65656b",  // QEMU's own PSCI firmware would answer NOT_SUPPORTED
            "smc: uid3=0x302e3876",
            "smc: psci_version=0x10001",
            "smc: unknown=0xffffffffffffffff",
            "smc: exceptions=0x0",
            "smc: powering off by SMC",
            "[keel] vm0: PSCI SYSTEM_OFF",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        #expect(!run.stdout.contains("SYSTEM_OFF returned"))
        #expect(run.exitCounters["SMC64"] == 4)
    }

    @Test("the emulated PL011: flags, IDs, registers, every access width, sign extension")
    func uart() throws {
        let run = try boot("uart")
        #expect(run.status == 0)
        let expected = [
            "uart: fr=0x90",
            "uart: periphid0=0x11", "uart: periphid1=0x10", "uart: periphid2=0x14",
            "uart: pcellid0=0xd",
            "uart: pcellid1_sx=0xfffffffffffffff0",
            "uart: pcellid1_sw=0xfffffff0",
            "uart: ibrd=0x1a",
            "uart: imsc=0x50",
            "uart: imsc_zero=0x0",
            "uart: cr=0x300",
            "OK",
            "uart: exceptions=0x0",
            "uart: done",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
    }

    @Test("WFI and WFE trap and resume at the next instruction")
    func wfi() throws {
        let run = try boot("wfi")
        #expect(run.status == 0)
        let expected = ["wfi: back from wfi", "wfi: back from wfe", "wfi: exceptions=0x0", "wfi: done"]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        // QEMU skips the trap when the CPU has work pending, so not every WFx traps.
        #expect((run.exitCounters["WFx"] ?? 0) >= 1, "\(run.exitCounters)")
    }

    @Test("system registers: sanitized ID registers, ACTLR_EL1 emulated, PMU access is UNDEF")
    func sysreg() throws {
        let run = try boot("sysreg")
        #expect(run.status == 0)
        let expected = [
            "sysreg: pmuver=0x0",  // cortex-a72 has PMUv3 (1); Keel hides it
            "sysreg: parange=0x2",  // 40-bit IPA, not the host's 44-bit PA
            "sysreg: sve=0x0",
            "sysreg: el0=0x2",  // unsanitized fields pass through (AArch64 and AArch32 EL0)
            "sysreg: reserved_id=0x0",
            "sysreg: exceptions_after_actlr=0x0",
            "sysreg: exceptions_after_pmcr=0x1",
            "sysreg: pmcr_esr=0x2000000",  // EC 0 (unknown), IL: an injected UNDEF
            "sysreg: exceptions_after_pmcntenset=0x2",
            "sysreg: done",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        #expect(run.stdout.contains("[keel] vm0/vcpu0: sysreg S3_3_C9_C12_0 read at "))
        #expect((run.exitCounters["SYS64"] ?? 0) >= 8)
    }

    @Test("accesses outside the VM become synchronous external aborts and Keel keeps running")
    func abort() throws {
        let run = try boot("abort")
        #expect(run.status == 0)
        let expected = [
            "abort: below_ram count=0x1", "abort: below_ram esr=0x96000010", "abort: below_ram far=0x20000000",
            "abort: past_ram count=0x2", "abort: past_ram esr=0x96000050", "abort: past_ram far=0x50000000",
            "abort: virtio count=0x3", "abort: virtio esr=0x96000010", "abort: virtio far=0xa000000",
            "abort: redist count=0x4", "abort: redist esr=0x96000010", "abort: redist far=0x80c0000",
            "abort: fetch count=0x5", "abort: fetch esr=0x86000010", "abort: fetch far=0x30000000",
            "abort: fetch elr=0x30000000",
            "abort: still running",
            "[keel] vm0: PSCI SYSTEM_OFF",
        ]
        #expect(run.containsInOrder(expected), "missing: \(run.missing(expected))\n\(run.stdout)")
        #expect(run.stdout.contains("[keel] vm0/vcpu0: read from IPA 0x20000000 outside the VM"))
        #expect(run.stdout.contains("[keel] vm0/vcpu0: fetch from IPA 0x30000000 outside the VM"))
        #expect(!run.stdout.contains("PANIC"))
        #expect(run.exitCounters["IABT_LOW"] == 1)
    }

    @Test("GICv2 board and a Cortex-A53 (40-bit PA) boot the same guest", arguments: [["--gic", "2"], ["--cpu", "cortex-a53"], ["--cpu", "cortex-a57"]])
    func otherBoards(_ options: [String]) throws {
        let run = try boot("demo", options)
        #expect(run.status == 0)
        #expect(run.lines.contains("demo: PSCI version = 0x10001"))
    }
}
