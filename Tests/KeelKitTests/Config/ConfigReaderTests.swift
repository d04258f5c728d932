import Foundation
import Testing
@testable import KeelKit

@Suite("Config file: reading")
struct ConfigReaderTests {
    @Test("a full system.toml reads into plain values, paths relative to the file")
    func readsEverything() throws {
        let fixture = try ConfigFixture()
        let system = try fixture.validate("""
            board = "qemu-virt"

            [[vm]]
            name = "linux"
            cpus = [0, 1]
            memory = { base = 0x4000_0000, size = "256M" }
            kernel = "Image"
            kind = "linux"
            initrd = "initrd.cpio"
            dtb = "generate"
            bootargs = "console=ttyAMA0 quiet"
            devices = ["rtc", { name = "gpio", interrupts = [39] }]
            emulated = [{ kind = "pl011", base = 0x0900_0000, interrupt = 33 }]

            [[vm]]
            name = "rtos"
            cpus = [2]
            memory = { base = 0x8000_0000, size = 0x100_0000 }
            kernel = "raw.bin"
            entry = 0x8000_1000

            [[shared_memory]]
            name = "ring"
            size = "64K"
            ipa = 0x7000_0000
            vms = ["linux", "rtos"]
            """)
        #expect(system.board.name == "qemu-virt")
        #expect(system.vms.count == 2)
        let linux = system.vms[0]
        #expect(linux.kind == .linux)
        #expect(linux.config.cpus == [0, 1])
        #expect(linux.config.memory == MemoryRange(base: 0x4000_0000, size: 256 << 20))
        #expect(linux.kernelPath == fixture.directory.appendingPathComponent("Image").standardized.path)
        #expect(linux.initrdPath == fixture.directory.appendingPathComponent("initrd.cpio").standardized.path)
        #expect(linux.config.bootargs == "console=ttyAMA0 quiet")
        #expect(linux.config.devices == [DeviceAssignment(name: "rtc"), DeviceAssignment(name: "gpio", interrupts: [39])])
        #expect(linux.config.emulated == [EmulatedDevice(kind: .pl011, base: 0x0900_0000, interrupt: 33)])
        let rtos = system.vms[1]
        #expect(rtos.kind == .raw)  // no Image header: detected
        #expect(rtos.entry == 0x8000_1000)
        #expect(system.config.sharedMemory == [SharedMemoryConfig(name: "ring", size: 64 << 10, ipa: 0x7000_0000, vms: ["linux", "rtos"])])
    }

    @Test("sizes: bytes or a number with K, M, G")
    func sizes() {
        #expect(parseSize("256M") == 256 << 20)
        #expect(parseSize("256 MiB") == 256 << 20)
        #expect(parseSize("4k") == 4096)
        #expect(parseSize("1G") == 1 << 30)
        #expect(parseSize("1_024") == 1024)
        #expect(parseSize("12 parsecs") == nil)
        #expect(parseSize("M") == nil)
        #expect(parseSize("99999999999999999999G") == nil)
    }

    @Test("a TOML syntax error names the line")
    func syntax() throws {
        let fixture = try ConfigFixture()
        let problems = fixture.problems("board = \"qemu-virt\"\n[[vm]\nname = 1\n")
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("system.toml: key (syntax): line 2, column") == true, "\(problems)")
        #expect(problems.first?.hasSuffix("(fix: correct the TOML syntax there)") == true)
    }

    @Test("unknown keys are errors, with the nearest known key")
    func unknownKeys() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.problems(rawVM + "\nmemroy = 1\n") == [
            "system.toml: vm \"demo\" key memroy: unknown key (fix: did you mean \"memory\"?)",
        ])
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "size = \"256M\"", with: "size = \"256M\", bsae = 1")) == [
            "system.toml: vm \"demo\" key memory.bsae: unknown key (fix: did you mean \"base\"?)",
        ])
        #expect(fixture.problems("colour = 3\n" + rawVM) == [
            "system.toml: key colour: unknown key (fix: remove it; the keys here are board, vm, shared_memory, power_off_with, qemu)",
        ])
        #expect(fixture.problems(rawVM + "\ndevices = [{ name = \"rtc\", irq = [34] }]\n") == [
            "system.toml: vm \"demo\" key devices[0].irq: unknown key (fix: remove it; the keys here are name, mmio, interrupts)",
        ])
    }

    @Test("missing keys and wrong types say what to write")
    func types() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "kernel = \"raw.bin\"\n", with: "")) == [
            "system.toml: vm \"demo\" key kernel: missing (fix: add kernel = \"Image\" (a path relative to this file))",
        ])
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "cpus = [0]", with: "cpus = 0")) == [
            "system.toml: vm \"demo\" key cpus: must be an array, not the integer 0 (fix: write cpus = [0, 1])",
        ])
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "\"256M\"", with: "\"lots\"")) == [
            "system.toml: vm \"demo\" key memory.size: the string \"lots\" is not a size (fix: write size = \"256M\" (bytes, or a number with K, M or G))",
        ])
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "kind = \"raw\"", with: "kind = \"rwa\"")) == [
            "system.toml: vm \"demo\" key kind: \"rwa\" is not a kernel kind (fix: did you mean \"raw\"?)",
        ])
        #expect(fixture.problems("board = \"qemu-virt\"\n") == [
            "system.toml: key vm: no VM is described (fix: add a [[vm]] table with name, cpus, memory and kernel)",
        ])
        #expect(fixture.problems("board = \"qemu-virt\"\n[vm]\nname = \"a\"\n") == [
            "system.toml: key vm: must be an array of tables (fix: write [[vm]] (two brackets) for each VM)",
        ])
        #expect(fixture.problems(rawVM + "\nemulated = [{ kind = \"pl01l\", base = 0x0900_0000 }]\n") == [
            "system.toml: vm \"demo\" key emulated[0].kind: Keel emulates no \"pl01l\" (fix: did you mean \"pl011\"?)",
        ])
    }

    @Test("TOML that toml++ would assert on is refused first, with the line (found by the random-input test)")
    func tomlPitfalls() throws {
        let fixture = try ConfigFixture()
        #expect(fixture.problems("board = \"qemu-virt\"\n\n[[\nvm]]\nname = \"a\"\n") == [
            "system.toml: key (syntax): line 3: a table header's name must follow its [ or [[ on the same line (fix: correct the TOML syntax there)",
        ])
        #expect(fixture.problems(rawVM.replacingOccurrences(of: "cpus = [0]", with: "cpus = [}0]")) == [
            "system.toml: key (syntax): line 5: a } closes an array, which only ] can (fix: correct the TOML syntax there)",
        ])
        // What looks alike but is valid TOML passes the pre-check.
        #expect(tomlPitfall("a = [\n  [1, 2],\n  [3],\n]\n") == nil)
        #expect(tomlPitfall("a = \"[}\" # [}\nb = '''\n[\n}'''\n[ t ]\n[[ \"q\" ]]\nc = { d = [1] }\n") == nil)
        #expect(tomlPitfall("s = \"\\\"[}\"\n") == nil)
    }
}
