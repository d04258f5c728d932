import Foundation
import KeelKit
import Testing

/// Several VMs from one config (`keel run --config`): each on its own CPUs and RAM, each with
/// its own emulated console, multiplexed line by line behind `[vmN] `; each powers off on its
/// own and the machine when the last one does.
@Suite("Several VMs side by side")
struct MultiVMTests {
    static func config(_ vms: String) -> String { "board = \"qemu-virt\"\n" + vms }

    static func linuxVM(cpus: String) -> String {
        """
        [[vm]]
        name = "linux"
        cpus = \(cpus)
        memory = { base = 0x4000_0000, size = "256M" }
        kernel = "\(LinuxTests.kernel)"
        initrd = "\(LinuxTests.initramfs)"
        bootargs = "console=ttyAMA0 panic=-1"

        """
    }

    static func rawVM(_ name: String, guest: String, cpus: String) -> String {
        """
        [[vm]]
        name = "\(name)"
        cpus = \(cpus)
        memory = { base = 0x4000_0000, size = "16M" }
        kernel = "\(Repo.guest(guest))"
        kind = "raw"

        """
    }

    func run(_ text: String) throws -> KeelRun {
        let scratch = try PackTests.Scratch()
        return try runKeel(["run", "--config", try scratch.config(text), "--timeout", "300"])
    }

    @Test("Debian Linux on 2 CPUs beside two bare-metal guests on one CPU each: every VM prints its marker and powers off")
    func threeVMs() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let run = try run(Self.config(Self.linuxVM(cpus: "[0, 1]") + Self.rawVM("demo", guest: "demo", cpus: "[2]")
                                      + Self.rawVM("hvc", guest: "hvc", cpus: "[3]")))
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(3000))")
        #expect(!run.stdout.contains("PANIC"))
        // Where each VM runs, as Keel says it.
        #expect(run.lines.contains("[keel] vm0: 2 vCPUs on CPU 0-1, 256 MiB RAM at IPA 0x40000000 (PA 0x50000000), console at IPA 0x9000000, VTCR_EL2 0x80043558"))
        #expect(run.lines.contains { $0.hasPrefix("[keel] vm1: 1 vCPU on CPU 2, 16 MiB RAM at IPA 0x40000000 (PA 0x60000000)") })
        #expect(run.lines.contains { $0.hasPrefix("[keel] vm2: 1 vCPU on CPU 3, 16 MiB RAM at IPA 0x40000000 (PA 0x61000000)") })
        // Each VM's own output, behind its prefix, in its own order.
        #expect(run.containsInOrder(["[vm1] Hello from a bare-metal guest at EL1, running on Keel.", "[vm1] demo: MPIDR_EL1 = 0x80000000",
                                     "[vm1] demo: powering off", "[keel] vm1: PSCI SYSTEM_OFF"]), "\(run.stdout.suffix(4000))")
        #expect(run.containsInOrder(["[vm2] hvc: start", "[vm2] hvc: psci_version=0x10001", "[vm2] hvc: done", "[keel] vm2: PSCI SYSTEM_OFF"]))
        #expect(run.containsInOrder(["[vm0] KEEL-INIT: cpus online 2", "[vm0] KEEL-INIT: workload done 2 jobs", "[keel] vm0: PSCI SYSTEM_OFF"]))
        // No VM's line is cut by another's: every guest line carries exactly one prefix.
        #expect(!run.lines.contains { $0.hasPrefix("[vm") && $0.dropFirst(5).contains("[vm") })
        // The machine powers off after the last VM, and only then.
        #expect(run.lines.last { !$0.isEmpty } == "[keel] all VMs are off: powering off")
        #expect(run.lines.filter { $0 == "[keel] all VMs are off: powering off" }.count == 1)
    }

    @Test("one VM resets (PSCI SYSTEM_RESET) and starts again from its images while Linux runs beside it")
    func resetBesideLinux() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let run = try run(Self.config(Self.linuxVM(cpus: "[0, 1]") + Self.rawVM("reset", guest: "reset", cpus: "[2, 3]")))
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(3000))")
        #expect(!run.stdout.contains("PANIC"))
        #expect(run.containsInOrder(["[vm1] reset: first boot, counter=0x7", "[keel] vm1/vcpu0: PSCI SYSTEM_RESET: restarting the VM from its boot images",
                                     "[vm1] reset: second boot, counter=0x7", "[vm1] reset: done", "[keel] vm1: PSCI SYSTEM_OFF"]),
                "\(run.stdout.suffix(4000))")
        #expect(run.containsInOrder(["[vm0] KEEL-INIT: cpus online 2", "[vm0] KEEL-INIT: workload done 2 jobs", "[keel] vm0: PSCI SYSTEM_OFF"]))
    }

    @Test("a doorbell round trip through shared memory between two bare-metal VMs, beside Linux, shown by both")
    func doorbell() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let shared = """
            [[shared_memory]]
            name = "mailbox"
            size = "64K"
            ipa = 0x7000_0000
            vms = ["linux", "ping", "pong"]

            """
        let run = try run(Self.config(Self.linuxVM(cpus: "[0, 1]") + Self.rawVM("ping", guest: "doorbell_ping", cpus: "[2]")
                                      + Self.rawVM("pong", guest: "doorbell_pong", cpus: "[3]") + shared))
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(3000))")
        #expect(!run.stdout.contains("PANIC"))
        // The three VMs map the same page; Linux boots with the doorbell and region nodes in its tree.
        for vm in 0..<3 {
            #expect(run.lines.contains("[keel] vm\(vm): shared memory at IPA 0x70000000 (PA 0x62000000, 64 KiB)"), "vm\(vm)")
        }
        // The message crosses over in shared memory, each ring wakes the other side.
        #expect(run.containsInOrder(["[vm1] doorbell: ping sent", "[vm1] doorbell: ring result=0x0"]), "\(run.stdout.suffix(4000))")
        #expect(run.containsInOrder(["[vm2] doorbell: message received 0x50494e4721", "[vm2] doorbell: reply sent, ring result=0x0"]))
        #expect(run.containsInOrder(["[vm2] doorbell: message received 0x50494e4721", "[vm1] doorbell: reply received 0x504f4e4721"]))
        #expect(run.containsInOrder(["[vm0] KEEL-INIT: workload done 2 jobs", "[keel] vm0: PSCI SYSTEM_OFF"]))
        #expect(run.lines.last { !$0.isEmpty } == "[keel] all VMs are off: powering off")
    }

    @Test("an exception storm and a crash loop are stopped by their VMs' limits, the trace says so, and the neighbour runs to its end")
    func containment() throws {
        let scratch = try PackTests.Scratch()
        let config = try scratch.config(Self.config(Self.rawVM("hvc", guest: "hvc", cpus: "[0]")
                                                    + Self.rawVM("storm", guest: "storm", cpus: "[1]") + "fault_limit = 10000\n\n"
                                                    + Self.rawVM("crashloop", guest: "crashloop", cpus: "[2]") + "reset_limit = 3\n"))
        let trace = scratch.path("storm.trace")
        let run = try runKeel(["run", "--config", config, "--timeout", "120", "--trace", trace])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(3000))")
        #expect(!run.stdout.contains("PANIC"))
        #expect(run.lines.contains("[keel] vm1: 10000 faults injected, its fault_limit: Keel stops the VM"), "\(run.stdout.suffix(3000))")
        #expect(run.lines.contains { $0.hasPrefix("[keel] vm1/vcpu0 exits: SYS64=10000 ") })
        #expect(run.lines.filter { $0 == "[vm2] crashloop: booted, resetting" }.count == 3)
        #expect(run.lines.contains("[keel] vm2: 3 resets, its reset_limit: Keel stops the VM"))
        #expect(run.containsInOrder(["[vm0] hvc: start", "[vm0] hvc: done", "[keel] vm0: PSCI SYSTEM_OFF"]))
        #expect(run.lines.last { !$0.isEmpty } == "[keel] all VMs are off: powering off")
        // At most a handful of console reports for ten thousand faults: the storm cannot flood it.
        #expect(run.lines.filter { $0.hasPrefix("[keel] vm1/vcpu0: sysreg") }.count <= 8)
        let decode = try runKeel(["trace", "decode", trace])
        #expect(decode.lines.contains { $0.contains("vm1/vcpu0 VM stopped by Keel: its fault limit was reached") }, "\(decode.stdout.suffix(2000))")
        #expect(decode.lines.contains { $0.contains("vm2/vcpu0 VM stopped by Keel: its reset limit was reached") })
    }

    @Test("power_off_with: the machine powers off with the VM the config names, though another still runs")
    func powerOffWith() throws {
        let scratch = try PackTests.Scratch()
        let config = try scratch.config("power_off_with = \"demo\"\n" + Self.config(Self.rawVM("spinner", guest: "hang", cpus: "[0]")
                                                                              + Self.rawVM("demo", guest: "demo", cpus: "[1]")))
        let run = try runKeel(["run", "--config", config, "--timeout", "60"])
        #expect(run.status == 0, "\(run.stderr)\n\(run.stdout.suffix(2000))")
        // (The spinner's own line may or may not come out before: it runs on its own CPU.)
        #expect(run.containsInOrder(["[keel] vm1: PSCI SYSTEM_OFF", "[keel] power_off_with names this VM: powering off"]),
                "\(run.stdout.suffix(2000))")
        #expect(!run.lines.contains("[keel] vm0: PSCI SYSTEM_OFF"))
        #expect(!run.lines.contains("[keel] all VMs are off: powering off"))
        let wrong = try runKeel(["pack", "--config", try scratch.config("power_off_with = \"nobody\"\n" + Self.config(Self.rawVM("demo", guest: "demo", cpus: "[0]"))),
                                 "-o", scratch.path("x.img")])
        #expect(wrong.status != 0 && wrong.stderr.contains("key power_off_with: no VM is named \"nobody\" (fix: name one of the [[vm]] tables: \"demo\")"), "\(wrong.stderr)")
    }

    @Test("what the firmware cannot give several VMs is refused before anything boots")
    func refusals() throws {
        let scratch = try PackTests.Scratch()
        let split = try runKeel(["pack", "--config", try scratch.config(Self.config(Self.rawVM("a", guest: "demo", cpus: "[0, 2]")
                                                                                  + Self.rawVM("b", guest: "demo", cpus: "[1]"))), "-o", scratch.path("x.img")])
        #expect(split.status != 0)
        #expect(split.stderr.contains("vm \"a\" key cpus: the firmware gives a VM consecutive CPUs, not [0, 2] (fix: write cpus = [0, 1])"), "\(split.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("x.img")))
    }
}

/// Console input (`ConsoleInput`): one VM at a time, switched with Ctrl-A and a digit. QEMU is
/// run here directly, its serial input a pipe the test types into.
@Suite("Console input to one VM at a time")
struct ConsoleInputTests {
    @Test("the focus starts on vm0; Ctrl-A 1 moves it to vm1; each VM gets only what was typed to it")
    func switching() throws {
        let scratch = try PackTests.Scratch()
        let config = try scratch.config(MultiVMTests.config(MultiVMTests.rawVM("a", guest: "echo", cpus: "[0]")
                                                            + MultiVMTests.rawVM("b", guest: "echo", cpus: "[1]")))
        let image = scratch.path("echo.img")
        #expect(try runKeel(["pack", "--config", config, "-o", image]).status == 0)
        let qemu = Process()
        qemu.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        qemu.arguments = ["qemu-system-aarch64", "-M", "virt,virtualization=on,gic-version=3", "-cpu", "cortex-a72", "-smp", "2",
                          "-m", "1024M", "-display", "none", "-monitor", "none", "-serial", "stdio", "-kernel", image]
        let input = Pipe(), output = Pipe()
        qemu.standardInput = input
        qemu.standardOutput = output
        qemu.standardError = output
        let text = Locked("")
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try qemu.run()
        defer { if qemu.isRunning { qemu.terminate() } }
        func wait(for marker: String) -> Bool {
            for _ in 0..<400 where !text.withLock({ $0.contains(marker) }) { Thread.sleep(forTimeInterval: 0.05) }
            return text.withLock { $0.contains(marker) }
        }
        #expect(wait(for: "[vm1] echo: ready") && wait(for: "[vm0] echo: ready"), "\(text.withLock { $0 })")
        input.fileHandleForWriting.write(Data("to a\n".utf8))
        #expect(wait(for: "[vm0] echo: got to a"), "\(text.withLock { $0 })")
        input.fileHandleForWriting.write(Data([0x01]) + Data("1".utf8))
        #expect(wait(for: "[keel] console input: vm1"))
        input.fileHandleForWriting.write(Data("to b\n".utf8))
        #expect(wait(for: "[vm1] echo: got to b"), "\(text.withLock { $0 })")
        // Bounded: echo guests that never got their input would keep QEMU (and the run) alive.
        let poweredOff = wait(for: "[keel] all VMs are off: powering off")
        #expect(poweredOff, "\(text.withLock { $0 })")
        for _ in 0..<200 where qemu.isRunning { Thread.sleep(forTimeInterval: 0.05) }
        if qemu.isRunning { kill(qemu.processIdentifier, SIGKILL) }
        qemu.waitUntilExit()
        #expect(poweredOff && qemu.terminationStatus == 0)
        let all = text.withLock { $0 }
        #expect(!all.contains("[vm1] echo: got to a") && !all.contains("[vm0] echo: got to b"))
    }
}

/// The hostile-guest suite (`HostileTests`) again, each attacker as a VM of its own beside Debian's
/// Linux running its workload: the attack stays in its VM, and the neighbour finishes.
@Suite("Hostile guests beside Linux")
struct HostileBesideLinuxTests {
    @Test("each attacker runs to its last line while Linux beside it finishes its workload, and nothing panics",
          arguments: [("attack_memory", "mem: still running", "[2]"), ("attack_gic", "gic: still running", "[2]"),
                      ("attack_sysreg", "sys: still running", "[2]"), ("attack_hvc", "hvc: still running", "[2, 3]"),
                      ("attack_storm", "storm: powering off from the IRQ handler", "[2]"), ("attack_fuzz", "fuzz: still running", "[2]")])
    func beside(_ attack: (guest: String, last: String, cpus: String)) throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let attacker = """
            [[vm]]
            name = "attacker"
            cpus = \(attack.cpus)
            memory = { base = 0x4000_0000, size = "256M" }
            kernel = "\(Repo.guest(attack.guest))"
            kind = "raw"

            """
        let scratch = try PackTests.Scratch()
        let run = try runKeel(["run", "--config", try scratch.config(MultiVMTests.config(MultiVMTests.linuxVM(cpus: "[0, 1]") + attacker)),
                               "--timeout", "300"])
        #expect(run.status == 0, "\(attack.guest): \(run.stderr)\n\(run.stdout.suffix(3000))")
        #expect(!run.stdout.contains("PANIC"), "\(attack.guest)")
        #expect(run.lines.contains("[vm1] \(attack.last)"), "\(attack.guest): \(run.stdout.suffix(3000))")
        #expect(!run.lines.contains { $0.contains("unexpected exception") }, "\(attack.guest)")
        #expect(run.containsInOrder(["[vm0] KEEL-INIT: cpus online 2", "[vm0] KEEL-INIT: workload done 2 jobs", "[keel] vm0: PSCI SYSTEM_OFF"]),
                "\(attack.guest): \(run.stdout.suffix(3000))")
        #expect(run.lines.last { !$0.isEmpty } == "[keel] all VMs are off: powering off")
    }
}
