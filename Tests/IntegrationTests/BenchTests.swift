import Foundation
import Testing

/// Keeps the benchmark guest building and running and `keel bench` writing its JSON; it does
/// not judge the timings (figures are for the README, not assertions).
@Suite("Benchmarks run")
struct BenchTests {
    @Test("keel bench runs the bench guest in every trace mode and writes every figure")
    func benchRuns() throws {
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("keel-bench-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: json) }
        let run = try runKeel(["bench", "--guest", Repo.guest("bench"), "--irq-guest", Repo.path("build/guests/benchirq.elf"),
                               "--firmware", Repo.firmware, "--records", "20000", "--json", json])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let results = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        let round = try #require(results["round_trip_instructions"] as? [String: [String: Double]])
        #expect(Set(round.keys) == ["hvc_null", "hvc_psci_version", "mmio_gicd_read", "mmio_gicd_write", "mmio_gicr_read", "mmio_uart_read",
                                    "mmio_uart_write", "sysreg_id_read"])
        for (name, modes) in round {
            #expect((modes["counters"] ?? 0) > 0, "\(name)")
            #expect((modes["full_trace"] ?? 0) > (modes["counters"] ?? 0), "\(name): full tracing costs something")
            // A record in RAM costs something, and less than one through the UART.
            #expect((modes["memory_trace"] ?? 0) > (modes["counters"] ?? 0), "\(name): memory tracing costs something")
            #expect((modes["memory_trace"] ?? .infinity) < (modes["full_trace"] ?? 0), "\(name): the UART costs more")
        }
        #expect((results["decoder_records_per_second"] as? Double ?? 0) > 0)
        let command = try #require(results["decode_command"] as? [String: Any])
        #expect(command["records"] as? Int == 20000 && (command["records_per_second"] as? Double ?? 0) > 0)

        // The interrupt guest ran on both sides and every figure came back; Keel's side costs
        // more than none (its exits are real), whatever the numbers are.
        let interrupts = try #require(results["interrupt_instructions"] as? [String: [String: Any]])
        #expect(Set(interrupts.keys) == ["timer_latency", "timer_back_to_back", "ipi_latency", "ipi_round_trip"])
        for (name, sides) in interrupts where name.hasSuffix("back_to_back") || name.hasSuffix("round_trip") {
            let native = try #require(sides["native"] as? Double), keel = try #require(sides["keel"] as? Double)
            #expect(native > 0 && keel > native, "\(name)")
        }
        // Sizes from keel.elf: the loaded image is what the .bin holds, less the padding.
        let bytes = try #require(results["firmware_bytes"] as? [String: Int])
        let image = try FileManager.default.attributesOfItem(atPath: Repo.firmware)[.size] as! Int
        #expect(bytes["text"]! > 0 && bytes["text_rodata_data"]! <= image && bytes["text_rodata_data"]! > image / 2)
        let ram = try #require(results["ram_bytes"] as? [String: Int])
        #expect(ram["per_vcpu"]! > ram["stack_per_cpu"]! && ram["max_cpus"]! >= 1)
        // The text split by what can run after boot adds up to the text (FirmwareReachTests checks which is which).
        let reach = try #require(results["firmware_text_after_boot"] as? [String: Any])
        let resident = try #require(reach["resident"] as? Int), bootOnly = try #require(reach["boot_only"] as? Int)
        #expect(resident > 0 && bootOnly > 0 && resident + bootOnly + (reach["unreached"] as? Int ?? -1) == bytes["text"]!, "\(reach)")
    }

    @Test("keel bench --bootargs passes Keel's boot arguments (the test firmware's keel.test.entry=clrbhb) and files every figure under their key")
    func benchWithBootargs() throws {
        try #require(FileManager.default.fileExists(atPath: ContainedTrapTests.testFirmware), "run `make` (it builds build/hyp-test)")
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("keel-bench-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: json) }
        let run = try runKeel(["bench", "--guest", Repo.guest("bench"), "--irq-guest", Repo.path("build/guests/benchirq.elf"),
                               "--firmware", ContainedTrapTests.testFirmware, "--bootargs", "keel.test.entry=clrbhb", "--records", "20000", "--json", json])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let top = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        #expect(Set(top.keys) == ["bootargs keel.test.entry=clrbhb"], "\(top.keys)")
        let results = try #require(top["bootargs keel.test.entry=clrbhb"] as? [String: Any])
        #expect(results["bootargs"] as? String == "keel.test.entry=clrbhb")
        let round = try #require(results["round_trip_instructions"] as? [String: [String: Double]])
        #expect(round.count == 8 && round.values.allSatisfy { ($0["counters"] ?? 0) > 0 }, "\(round)")
        let interrupts = try #require(results["interrupt_instructions"] as? [String: [String: Any]])
        #expect(interrupts.count == 4, "\(interrupts.keys)")
    }

    @Test("keel bench linux boots the kernel natively and under Keel and times /init and the workload, then in wall time")
    func linuxBenchRuns() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("keel-bench-linux-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: json) }
        let run = try runKeel(["bench", "linux", "--config", "1:3", "--runs", "1", "--wall-config", "2:3", "--wall-runs", "1",
                               "--firmware", Repo.firmware, "--kernel", LinuxTests.kernel, "--initrd", LinuxTests.initramfs, "--json", json])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let results = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        let section = try #require(results["linux_boot"] as? [String: Any])
        let config = try #require((section["configs"] as? [String: [String: Any]])?["smp1-gicv3"])
        for key in ["native_init_s", "keel_init_s", "native_workload_s", "keel_workload_s"] {
            #expect((config[key] as? Double ?? 0) > 0, "\(key)")
        }
        // The wall-time figures: reported, never judged here (they depend on the host).
        let wall = try #require((results["linux_wall"] as? [String: Any])?["configs"] as? [String: [String: Any]])
        let smp2 = try #require(wall["smp2-gicv3"])
        for key in ["native_uptime_s", "keel_uptime_s", "native_wall_s", "keel_wall_s", "uptime_ratio", "wall_ratio"] {
            #expect((smp2[key] as? Double ?? 0) > 0, "\(key)")
        }
        #expect(run.stdout.contains("goal Keel / native <= 1.20 in guest uptime"), "\(run.stdout)")
    }

    @Test("keel bench dm times forwarded round trips to keel-dm in both modes and a virtio-blk read against keel-dm's own")
    func deviceModelBenchRuns() throws {
        try #require(FileManager.default.fileExists(atPath: LinuxTests.kernel), "no Debian kernel in .cache/linux: run `make linux`")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("keel-bench-dm-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let json = scratch + "/results.json"
        let run = try runKeel(["bench", "dm", "--read-runs", "1", "--firmware", Repo.firmware, "--frontend", Repo.guest("dm_bench"),
                               "--kernel", LinuxTests.kernel, "--linux-cache", Repo.path(".cache/linux"), "--json", json])
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let results = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        let section = try #require(results["device_model"] as? [String: Any])
        // Figures, not judged: a forwarded access costs more than a few instructions and both
        // modes came back with every sample.
        let trips = try #require(section["mmio_round_trip"] as? [String: Any])
        for mode in ["interrupt", "polling"] {
            let trip = try #require(trips[mode] as? [String: Any], "\(mode)")
            #expect((trip["read_median"] as? Double ?? 0) > 500 && (trip["write_median"] as? Double ?? 0) > 500, "\(mode): \(trip)")
            #expect(trip["samples"] as? Int == 256)
        }
        let read = try #require(section["blk_sequential_read"] as? [String: Any])
        #expect(read["bytes"] as? Int == 64 << 20)
        #expect((read["ratio_median"] as? Double ?? 0) > 0 && (read["direct_ratio_median"] as? Double ?? 0) > 0)
        #expect(run.stdout.contains("goal frontend / keel-dm's own read >= 0.5, frontend buffered"), "\(run.stdout)")
        #expect(run.stdout.contains("goal frontend / keel-dm's own read >= 0.5, frontend direct I/O"), "\(run.stdout)")
        // The reference: the frontend on QEMU alone read the disk through QEMU's own virtio-blk.
        for key in ["qemu_device_ratio_median", "qemu_device_direct_ratio_median", "qemu_device_goal_ratio_median"] {
            #expect((read[key] as? Double ?? 0) > 0, "\(key): \(read)")
        }
        #expect(run.stdout.contains("reference, the same frontend on QEMU alone with its disk on QEMU's own virtio-blk"), "\(run.stdout)")
    }
}
