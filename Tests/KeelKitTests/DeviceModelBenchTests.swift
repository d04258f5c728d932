import Foundation
import Testing
@testable import KeelKit

/// `keel bench dm`'s host side: what it reads from the two VMs' console, and the systems it boots.
@Suite("Device-model benchmark: console parsing and the systems it boots")
struct DeviceModelBenchTests {
    @Test("round-trip samples: per name, hex or decimal, Keel's [vmN] prefixes removed; other lines ignored")
    func samples() {
        let console = "[vm1] bench-sample: mmio_forwarded_read 0x2b0\r\n[vm0] [    1.000000] keel-dm: serving 1 devices (interrupts)\n"
            + "[vm1] bench-sample: mmio_forwarded_read 690\n[vm1] bench-sample: mmio_forwarded_write 0x10\n"
            + "[vm1] bench: mmio_forwarded_read 256 0x2b000\nbench-sample: broken\n"
        let samples = DeviceModelBench.samples(console)
        #expect(samples["mmio_forwarded_read"] == [0x2B0, 690])
        #expect(samples["mmio_forwarded_write"] == [0x10])
        #expect(samples.count == 2)
        #expect(DeviceModelBench.unprefixed("[vm12] bench: x 1 2\nplain\n[keel] kept") == "bench: x 1 2\nplain\n[keel] kept")
    }

    @Test("the median of odd and even counts; none is NaN")
    func median() {
        #expect(DeviceModelBench.median([5, 1, 3]) == 3)
        #expect(DeviceModelBench.median([4, 1, 3, 2]) == 2.5)
        #expect(DeviceModelBench.median([]).isNaN)
    }

    @Test("kernel timestamps of marker lines, the marker ending the line (run 1 is not run 10)")
    func timestamps() {
        let text = "[    6.372003] keel-bench: dm read start 10\n[    7.000001] keel-bench: dm read start 1\nnoise\n"
        #expect(DeviceModelBench.kernelTimestamp(of: "keel-bench: dm read start 1", in: text) == 7.000001)
        #expect(DeviceModelBench.kernelTimestamp(of: "keel-bench: dm read start 10", in: text) == 6.372003)
        #expect(DeviceModelBench.kernelTimestamp(of: "keel-bench: dm read end 1", in: text) == nil)
    }

    @Test("the ratios are the device model's best read over the frontend's best, buffered and direct; the goal is 0.5")
    func ratio() {
        let read = DeviceModelBench.SequentialRead(bytes: 64 << 20, deviceModelSeconds: [0.2, 0.1], frontendSeconds: [0.5, 0.25],
                                                   frontendDirectSeconds: [0.16, 0.125], frontendMemorySeconds: 0.1, frontendBlockStats: nil)
        #expect(read.ratio == 0.4)
        #expect(!read.meetsGoal)
        #expect(read.directRatio == 0.8)
        #expect(read.directMeetsGoal)
        #expect(read.mibPerSecond(read.deviceModelSeconds) == 640)
        #expect(read.qemuDeviceRatio == nil && read.qemuDeviceGoalRatio == nil)
    }

    @Test("the reference on QEMU's own virtio-blk: its best times over Keel's frontend's, and the goal's ratio with it in Keel's place")
    func qemuDeviceRatios() {
        var read = DeviceModelBench.SequentialRead(bytes: 64 << 20, deviceModelSeconds: [0.2, 0.1], frontendSeconds: [0.5, 0.25],
                                                   frontendDirectSeconds: [0.16, 0.125], frontendMemorySeconds: 0.1, frontendBlockStats: nil)
        read.qemuDevice = .init(bufferedSeconds: [0.3, 0.2], directSeconds: [0.0625, 0.1], memorySeconds: 0.1)
        #expect(read.qemuDeviceRatio == 0.8)
        #expect(read.qemuDeviceDirectRatio == 0.5)
        #expect(read.qemuDeviceGoalRatio == 0.5)
        #expect(read.qemuDeviceGoalDirectRatio == 1.6)
    }

    @Test("the reference boots the frontend's kernel and initramfs on QEMU alone: its disk read-only on QEMU's virtio-blk, no -icount, Keel's CPU")
    func qemuDeviceArguments() {
        let arguments = DeviceModelBench.qemuDeviceArguments(kernel: "/k/Image", initrd: "/f/app.cpio", disk: "/f/disk.img")
        func value(_ option: String) -> String? { arguments.firstIndex(of: option).map { arguments[$0 + 1] } }
        #expect(value("-kernel") == "/k/Image" && value("-initrd") == "/f/app.cpio")
        #expect(value("-drive") == "file=/f/disk.img,if=none,format=raw,id=disk0,readonly=on")
        #expect(value("-device") == "virtio-blk-device,drive=disk0")
        #expect(value("-cpu") == "cortex-a72" && value("-smp") == "1" && value("-m") == "256M")
        #expect(value("-append") == DeviceModelBench.bootargs)
        #expect(!arguments.contains("-icount") && value("-M") == "virt,gic-version=3")
    }

    @Test("the systems validate: a 1-vCPU Linux device model (polling or not) and its frontend, the read system with its rdinit hook")
    func systems() throws {
        let fixture = try ConfigFixture()
        try fixture.write("dm_bench.bin", Data(count: 64))
        try fixture.write("disk.img", Data(count: 4096))
        try fixture.write("dm-bench.cpio", Data(count: 512))
        try fixture.write("app.cpio", Data(count: 512))
        let dir = fixture.directory.path
        for polling in [false, true] {
            let system = try fixture.validate(DeviceModelBench.roundTripConfig(kernel: dir + "/Image", frontend: dir + "/dm_bench.bin", polling: polling))
            #expect(system.config.vms.map(\.deviceModelPoll) == [polling, false])
            #expect(system.config.vms[0].cpus == [0] && system.config.vms[1].cpus == [1])
        }
        let read = try fixture.validate(DeviceModelBench.readConfig(kernel: dir + "/Image"))
        #expect(read.config.vms[0].bootargs?.contains("rdinit=/bench-init") == true)
        #expect(read.config.vms[1].virtio.count == 1)
        #expect(DeviceModelBench.deviceModelInit.contains("exec /init"))
    }
}
