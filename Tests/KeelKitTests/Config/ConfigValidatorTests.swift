import Foundation
import Testing
@testable import KeelKit

/// Every validation error `keel pack` and `keel run --config` can report, message checked whole.
@Suite("Config file: validation against the board")
struct ConfigValidatorTests {
    @Test("the example configs are valid")
    func valid() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.problems(rawVM) == [])
        #expect(fixture.problems(linuxVM) == [])
    }

    @Test("an unknown board")
    func unknownBoard() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "\"qemu-virt\"", with: "\"qemu-virtt\"")) == [
            "system.toml: key board: there is no board \"qemu-virtt\" (fix: did you mean \"qemu-virt\"? the boards are qemu-virt, qemu-virt-gicv2, xlnx-zcu102, raspberry-pi-4, imx8mp-evk (keel boards lists them))",
        ])
    }

    @Test("a CPU given twice, to one VM or to two")
    func cpuTwice() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "cpus = [0]", with: "cpus = [0, 0]")) == [
            "system.toml: vm \"demo\" key cpus[1]: CPU 0 is given twice (fix: list each CPU once)",
        ])
        let second = rawVM + """

            [[vm]]
            name = "other"
            cpus = [1, 0]
            memory = { base = 0x4000_0000, size = "16M" }
            kernel = "raw.bin"
            """
        #expect(fixture.problems(second) == [
            "system.toml: vm \"other\" key cpus[1]: CPU 0 is already vm \"demo\"'s (fix: give each VM its own CPUs; Keel pins vCPUs 1:1)",
        ])
    }

    @Test("a CPU the board does not have")
    func cpuNotOnBoard() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "cpus = [0]", with: "cpus = [0, 8]")) == [
            "system.toml: vm \"demo\" key cpus[1]: CPU 8 is not on qemu-virt, which has CPUs 0 to 7 (fix: use CPUs 0 to 7)",
        ])
        let zcu = rawVM.replacingOccurrences(of: "\"qemu-virt\"", with: "\"xlnx-zcu102\"").replacingOccurrences(of: "cpus = [0]", with: "cpus = [4]")
        #expect(fixture.problems(zcu) == [
            "system.toml: vm \"demo\" key cpus[0]: CPU 4 is not on xlnx-zcu102, which has CPUs 0 to 3 (fix: use CPUs 0 to 3)",
        ])
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "cpus = [0]", with: "cpus = []")) == [
            "system.toml: vm \"demo\" key cpus: is empty (fix: give the VM at least one CPU, e.g. cpus = [0])",
        ])
    }

    @Test("memory: empty, unaligned, beyond the IPA space, more than the board has")
    func memoryShape() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "\"256M\"", with: "0")) == [
            "system.toml: vm \"demo\" key memory.size: is 0 (fix: give the VM memory, e.g. size = \"256M\")",
        ])
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "\"256M\"", with: "0x10000800")) == [
            "system.toml: vm \"demo\" key memory.size: 0x10000800 is not a multiple of 4 KiB (fix: round it to 4 KiB, e.g. 0x10001000)",
        ])
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "0x4000_0000", with: "0x4000_0100")) == [
            "system.toml: vm \"demo\" key memory.base: 0x40000100 is not 4 KiB aligned (fix: use a multiple of 0x1000, e.g. 0x40000000)",
        ])
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "0x4000_0000", with: "0xFF_F800_0000")) == [
            "system.toml: vm \"demo\" key memory: 0xfff8000000 + 256 MiB ends beyond the 40-bit guest address space (0x10000000000) (fix: lower memory.base or memory.size)",
        ])
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "\"256M\"", with: "\"2G\"")) == [
            "system.toml: key vm: the VMs' memory and shared memory take 2 GiB, more than the 1 GiB of RAM qemu-virt has (fix: make the VMs' memory.size smaller)",
        ])
    }

    @Test("overlapping memory inside a VM: devices, the emulated console, the virtual GIC, shared memory")
    func overlaps() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.problems(rawVM + "\nemulated = [{ kind = \"pl011\", base = 0x4800_0000 }]\n") == [
            "system.toml: vm \"demo\" key emulated[0].base: the emulated pl011 (0x48000000-0x48000fff) overlaps the VM's memory (0x40000000-0x4fffffff) (fix: move one of them; guest addresses must not overlap)",
        ])
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "0x4000_0000", with: "0x0800_0000").replacingOccurrences(of: "\"256M\"", with: "\"4K\"")) == [
            "system.toml: vm \"demo\" key memory: the virtual GIC (0x8000000-0x8ffffff) overlaps the VM's memory (0x8000000-0x8000fff) (fix: move one of them; guest addresses must not overlap)",
        ])
        let shared = rawVM + """

            [[vm]]
            name = "other"
            cpus = [1]
            memory = { base = 0x4000_0000, size = "16M" }
            kernel = "raw.bin"

            [[shared_memory]]
            name = "ring"
            size = "64K"
            ipa = 0x4100_0000
            vms = ["demo", "other"]
            """
        #expect(fixture.problems(shared) == [
            "system.toml: vm \"demo\" key shared_memory \"ring\": shared memory \"ring\" (0x41000000-0x4100ffff) overlaps the VM's memory (0x40000000-0x4fffffff) (fix: move one of them; guest addresses must not overlap)",
        ])
    }

    @Test("images that do not fit the VM's memory")
    func imagesDoNotFit() throws {
        let fixture = try ConfigFixture()
        try fixture.write("big.bin", Data(count: 3 << 20))
        let raw = rawVM.replacingOccurrences(of: "raw.bin", with: "big.bin").replacingOccurrences(of: "\"256M\"", with: "\"2M\"")
        #expect(fixture.problems(raw) == [
            "system.toml: vm \"demo\" key kernel: \"big.bin\" is 3145728 bytes, which does not fit the 2 MiB from entry to the end of the VM's memory (fix: raise memory.size or lower entry)",
        ])
        try fixture.write("Huge", ConfigFixture.linuxImage(imageSize: 300 << 20))
        #expect(fixture.problems(linuxVM.replacingOccurrences(of: "\"Image\"", with: "\"Huge\"")) == [
            "system.toml: vm \"linux\" key kernel: does not fit: kernel 'Huge' needs 300.5 MiB, more than the VM's 256 MiB of RAM leaves (fix: raise memory.size or use a smaller image)",
        ])
        try fixture.write("big.cpio", Data(count: 250 << 20))
        #expect(fixture.problems(linuxVM.replacingOccurrences(of: "initrd.cpio", with: "big.cpio")) == [
            "system.toml: vm \"linux\" key initrd: does not fit: the initrd (250.0 MiB) does not fit the VM's memory: 256 MiB of RAM leave 245.5 MiB beside the kernel and device tree (fix: raise memory.size or use a smaller image)",
        ])
        #expect(fixture.problems(rawVM + "\nentry = 0x5000_0000\n") == [
            "system.toml: vm \"demo\" key entry: 0x50000000 is outside the VM's memory (0x40000000-0x4fffffff) (fix: use an address inside memory, e.g. entry = 0x40000000)",
        ])
    }

    @Test("images that are missing, empty, or of the wrong kind")
    func imageFiles() throws {
        let fixture = try ConfigFixture()
        let missing = fixture.problems(rawVM.replacingOccurrences(of: "raw.bin", with: "nope.bin"))
        #expect(missing.count == 1)
        #expect(missing.first?.hasPrefix("system.toml: vm \"demo\" key kernel: \"nope.bin\" does not exist (looked at \(fixture.directory.path)/nope.bin)") == true, "\(missing)")
        try fixture.write("empty.bin", Data())
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "raw.bin", with: "empty.bin")) == [
            "system.toml: vm \"demo\" key kernel: \"empty.bin\" is empty (\(fixture.directory.path)/empty.bin) (fix: build the image again, or point kernel at the one you meant)",
        ])
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "kind = \"raw\"", with: "kind = \"linux\"")) == [
            "system.toml: vm \"demo\" key kind: \"raw.bin\" has no arm64 Image header (\"ARM\\x64\" at 0x38), so it is not a Linux kernel (fix: set kind = \"raw\" for a bare binary, or point kernel at a Linux Image)",
        ])
        #expect(fixture.problems(rawVM + "\ninitrd = \"initrd.cpio\"\n") == [
            "system.toml: vm \"demo\" key initrd: a raw binary gets no initrd (fix: remove initrd, or set kind = \"linux\" for a Linux Image)",
        ])
        #expect(fixture.problems(linuxVM.replacingOccurrences(of: "\"generate\"", with: "\"initrd.cpio\"")) == [
            "system.toml: vm \"linux\" key dtb: \"initrd.cpio\" is not a device tree blob (no valid FDT header) (fix: compile it with dtc -O dtb, or write dtb = \"generate\")",
        ])
    }

    @Test("devices: not on the board, Keel's own console, given twice, outside the device")
    func devices() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.problems(rawVM + "\ndevices = [\"rtcc\"]\n") == [
            "system.toml: vm \"demo\" key devices[0]: qemu-virt has no device \"rtcc\" (fix: did you mean \"rtc\"? qemu-virt has rtc, fw-cfg, gpio, virtio-mmio, pcie)",
        ])
        #expect(fixture.problems(rawVM + "\ndevices = [\"uart0\"]\n") == [
            "system.toml: vm \"demo\" key devices[0]: \"uart0\" is Keel's own console on qemu-virt (fix: remove it; the VM gets an emulated console)",
        ])
        #expect(fixture.problems(rawVM + "\ndevices = [\"rtc\", \"rtc\"]\n") == [
            "system.toml: vm \"demo\" key devices[1]: \"rtc\" is already vm \"demo\"'s (fix: give each device to one VM)",
        ])
        #expect(fixture.problems(rawVM + "\ndevices = [{ name = \"rtc\", mmio = [{ base = 0x0901_0000, size = 0x2000 }], interrupts = [35] }]\n") == [
            "system.toml: vm \"demo\" key devices[0].mmio[0]: 0x9010000 + 0x2000 is not inside rtc's registers (0x9010000 + 0x1000) (fix: remove mmio to take the whole device, or stay inside its registers)",
            "system.toml: vm \"demo\" key devices[0].interrupts[0]: INTID 35 is not rtc's (34) (fix: remove interrupts to take the device's own)",
        ])
        let zcu = rawVM.replacingOccurrences(of: "\"qemu-virt\"", with: "\"xlnx-zcu102\"").replacingOccurrences(of: "0x4000_0000", with: "0x1000_0000")
        #expect(fixture.problems(zcu + "\ndevices = [\"rtc\", \"gpio\"]\n") == [
            "system.toml: vm \"demo\" key devices[1]: xlnx-zcu102 has no device \"gpio\" (fix: xlnx-zcu102 has uart1, i2c0, i2c1, spi0, spi1, gem3, sdhci0, sdhci1, rtc, sata)",
        ])
    }

    @Test("VM names and shared memory regions")
    func namesAndShared() throws {
        let fixture = try ConfigFixture()
        let twice = rawVM + "\n\n" + rawVM.replacingOccurrences(of: "board = \"qemu-virt\"\n", with: "").replacingOccurrences(of: "cpus = [0]", with: "cpus = [1]")
        #expect(fixture.problems(twice) == [
            "system.toml: vm \"demo\" key name: a second VM is called \"demo\" (fix: give every VM its own name)",
        ])
        let shared = rawVM + """

            [[shared_memory]]
            name = "ring"
            size = 0x1800
            ipa = 0x7000_0000
            vms = ["demo", "dmeo"]
            """
        #expect(fixture.problems(shared) == [
            "system.toml: shared_memory \"ring\" key size: 0x1800 is not a positive multiple of 4 KiB (fix: use e.g. size = \"64K\")",
            "system.toml: shared_memory \"ring\" key vms[1]: there is no vm \"dmeo\" (fix: did you mean \"demo\"?)",
        ])
        #expect(fixture.problems(shared.replacingOccurrences(of: "size = 0x1800", with: "size = 0x1000").replacingOccurrences(of: "\"dmeo\"", with: "\"demo\"")) == [
            "system.toml: shared_memory \"ring\" key vms: memory is shared by two VMs at least, not 1 (fix: list the VMs that share it, e.g. vms = [\"linux\", \"rtos\"])",
        ])
    }
}
