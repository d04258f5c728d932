import Testing
@testable import KeelKit

@Suite("keel bench linux reads the kernel's timestamps")
struct LinuxBenchTests {
    @Test("timestamps from a CRLF console with Keel's own lines around them")
    func timestamps() {
        let console = "[keel] Keel 0.1.0 on qemu-virt\r\n[    0.781106] keel-init: reached /init\r\nKEEL-INIT: started\r\nKEEL-INIT: cpus online 4\r\n"
            + "[   12.087383] reboot: Power down\r\n[keel] vm0: PSCI SYSTEM_OFF\r\n"
        #expect(LinuxBench.parse(console) == LinuxBench.Times(initMicroseconds: 781_106, powerDownMicroseconds: 12_087_383, cpusOnline: 4))
    }

    @Test("the workload is timed by the two kernel log lines around it")
    func workload() {
        let console = "[    0.781106] keel-init: reached /init\nKEEL-INIT: cpus online 1\n[    0.790000] keel-init: workload start\n"
            + "[    1.094733] keel-init: workload end\nKEEL-INIT: workload done 1 jobs\n"
        let times = LinuxBench.parse(console)
        #expect(times.workloadStartMicroseconds == 790_000 && times.workloadEndMicroseconds == 1_094_733)
        #expect(times.workloadMicroseconds == 304_733)
        #expect(LinuxBench.parse("[    0.790000] keel-init: workload start\n").workloadMicroseconds == nil)
    }

    @Test("a run that never got there")
    func missing() {
        #expect(LinuxBench.parse("[    0.000000] Booting Linux\n[    3.2] keel-init: reached /init\n") == LinuxBench.Times())
    }

    @Test("configurations as CPUS:GIC")
    func configs() {
        #expect(LinuxBench.Config(argument: "4:3") == LinuxBench.Config(smp: 4, gic: 3))
        #expect(LinuxBench.Config(argument: "2:2")?.description == "smp2-gicv2")
        #expect(LinuxBench.Config(argument: "9:3") == nil)
        #expect(LinuxBench.Config(argument: "1:4") == nil)
    }
}
