import Foundation
import KeelCore
import Testing
@testable import KeelKit

/// What `keel pack` refuses in a valid config because today's firmware cannot run it.
@Suite("Config file: what the firmware runs today")
struct FirmwareSupportTests {
    func problems(_ toml: String, in fixture: ConfigFixture) -> [String] {
        do {
            try FirmwareSupport.check(try fixture.validate(toml))
            return []
        } catch let error as ConfigError {
            return error.messages
        } catch {
            return ["unexpected \(error)"]
        }
    }

    @Test("one VM in the default slot packs")
    func accepted() throws {
        let fixture = try ConfigFixture()
        #expect(problems(rawVM, in: fixture) == [])
        #expect(problems(linuxVM, in: fixture) == [])
        #expect(problems(rawVM.replacingOccurrences(of: "\"256M\"", with: "\"64M\""), in: fixture) == [])
        #expect(problems(rawVM.replacingOccurrences(of: "\"qemu-virt\"", with: "\"raspberry-pi-4\""), in: fixture) == [])
    }

    @Test("each thing the firmware does not run yet is refused with the reason and the fix")
    func refused() throws {
        let fixture = try ConfigFixture()
        #expect(problems(rawVM.replacingOccurrences(of: "0x4000_0000", with: "0x8000_0000"), in: fixture) == [
            "system.toml: vm \"demo\" key memory: the firmware gives its VM up to 256 MiB at IPA 0x40000000, not 256 MiB at 0x80000000 (fix: use memory = { base = 0x40000000, size = \"256M\" } or less)",
        ])
        #expect(problems(rawVM.replacingOccurrences(of: "cpus = [0]", with: "cpus = [1, 2]"), in: fixture) == [
            "system.toml: vm \"demo\" key cpus: the firmware runs vCPU i on CPU i, so a VM's CPUs are 0 to n-1, not [1, 2] (fix: write cpus = [0, 1])",
        ])
        // A device passed through goes in the VM table; one with more interrupts than it holds does not.
        #expect(problems(rawVM + "\ndevices = [\"rtc\"]\n", in: fixture) == [])
        #expect(problems(rawVM + "\ndevices = [\"virtio-mmio\"]\n", in: fixture) == [
            "system.toml: key devices: the VMs are given 32 interrupts; Keel's firmware forwards at most 16 (fix: list the interrupts a device needs with interrupts = [...])",
        ])
        #expect(problems(rawVM + "\nemulated = [{ kind = \"pl011\", base = 0x0A10_0000 }]\n", in: fixture) == [
            "system.toml: vm \"demo\" key emulated[0].base: the firmware emulates the pl011 at 0x9000000, not 0xa100000 (fix: write base = 0x9000000, or leave emulated out)",
        ])
        // The ZCU102's firmware gives its VM the same slot as qemu-virt's.
        let zcu = rawVM.replacingOccurrences(of: "\"qemu-virt\"", with: "\"xlnx-zcu102\"")
        #expect(problems(zcu, in: fixture) == [])
        #expect(problems(zcu.replacingOccurrences(of: "0x4000_0000", with: "0x1000_0000"), in: fixture) == [
            "system.toml: vm \"demo\" key memory: the firmware gives its VM up to 256 MiB at IPA 0x40000000, not 256 MiB at 0x10000000 (fix: use memory = { base = 0x40000000, size = \"256M\" } or less)",
        ])
        let two = rawVM + """

            [[vm]]
            name = "other"
            cpus = [1]
            memory = { base = 0x4000_0000, size = "16M" }
            kernel = "raw.bin"

            [[shared_memory]]
            name = "ring"
            size = "64K"
            ipa = 0x7000_0000
            vms = ["demo", "other"]
            """
        // Two VMs sharing a region: what the firmware runs.
        #expect(problems(two, in: fixture) == [])
        #expect(problems(two.replacingOccurrences(of: "ipa = 0x7000_0000", with: "ipa = 0x0900_0000"), in: fixture) == [
            "system.toml: key shared_memory[0].ipa: 0x9000000 overlaps the devices the firmware emulates at 0x8000000-0x9001000 (fix: put the region outside 0x8000000-0x9001000 and the VMs' RAM)",
        ])
        // Several VMs: at most four, each on consecutive CPUs, RAM 2 MiB aligned.
        let five = rawVM + (1...4).map { i in """

            [[vm]]
            name = "vm\(i)"
            cpus = [\(i)]
            memory = { base = 0x4000_0000, size = "16M" }
            kernel = "raw.bin"
            """ }.joined()
        #expect(problems(five, in: fixture) == [
            "system.toml: key vm: 5 VMs are described; Keel's firmware runs at most 4 (fix: keep at most 4 [[vm]] tables)",
        ])
        let awkward = rawVM + """

            [[vm]]
            name = "other"
            cpus = [1, 3]
            memory = { base = 0x4010_0000, size = "16M" }
            kernel = "raw.bin"
            """
        #expect(problems(awkward, in: fixture) == [
            "system.toml: vm \"other\" key cpus: the firmware gives a VM consecutive CPUs, not [1, 3] (fix: write cpus = [1, 2])",
            "system.toml: vm \"other\" key memory.base: 0x40100000 is not 2 MiB aligned, as the firmware maps VM RAM (fix: use a multiple of 0x20_0000)",
        ])
    }

    @Test("the packed image: bundle at the first 4 KiB past the linked image, image_size patched, the rest untouched")
    func image() throws {
        let fixture = try ConfigFixture()
        let system = try fixture.validate(rawVM)
        var firmware = ConfigFixture.linuxImage(imageSize: 0x7E010)  // a file of 4 KiB whose BSS runs to 0x7E010
        firmware[100] = 0xAB
        let packed = try SystemImage(system: system, firmware: firmware, firmwareName: "keel.bin")
        #expect(packed.bundleOffset == 0x7F000)
        #expect(packed.bytes.count == 0x7F000 + 0x2000)
        #expect(packed.bytes.prefix(16) == firmware.prefix(16) && packed.bytes[24..<4096] == firmware[24...])
        let imageSize = (0..<8).reduce(UInt64(0)) { $0 | UInt64(packed.bytes[16 + $1]) << (8 * UInt64($1)) }
        #expect(imageSize == UInt64(packed.bytes.count))
        #expect(packed.bytes[4096..<0x7F000].allSatisfy { $0 == 0 })
        let opened = packed.bytes.withSpan { raw in
            Result { () throws(BootBundle.Problem) in
                try BootBundle.open(raw.extracting(0x7F000...), ramIPA: 0x4000_0000, ramSize: 256 << 20).count
            }
        }
        #expect(opened == .success(1))
        // A packed image is not packed again (its bundle would shadow the new one).
        #expect(throws: KeelError("'keel.img' already carries a boot bundle (it is a packed image); pack from keel.bin")) {
            try SystemImage(system: system, firmware: packed.bytes, firmwareName: "keel.img")
        }
        // A header whose image_size is smaller than the file is not Keel's firmware as linked.
        #expect(throws: KeelError("'short.bin' says its image is 16 bytes but the file has 4096: is it already packed?")) {
            try SystemImage(system: system, firmware: ConfigFixture.linuxImage(imageSize: 16), firmwareName: "short.bin")
        }
        // A crafted image_size near 2^64 wrapped the bundle's offset (a crash); 64 MiB is the most taken.
        #expect(throws: KeelError("'huge.bin' says its image is 18446744073709551615 bytes, more than a Keel firmware's 64 MiB: is it Keel's keel.bin?")) {
            try SystemImage(system: system, firmware: ConfigFixture.linuxImage(imageSize: .max), firmwareName: "huge.bin")
        }
        #expect(throws: KeelError.self) {
            try SystemImage(system: system, firmware: ConfigFixture.linuxImage(imageSize: SystemImage.maxFirmwareFootprint + 1), firmwareName: "big.bin")
        }
        #expect(try SystemImage(system: system, firmware: ConfigFixture.linuxImage(imageSize: SystemImage.maxFirmwareFootprint), firmwareName: "edge.bin")
            .bundleOffset == SystemImage.maxFirmwareFootprint)
    }
}

@Suite("keel pack: the VM's images in the bundle")
struct PackedBundleTests {
    @Test("dtb = a file: its bytes are the VM's device tree, as is; generate: Keel's own")
    func deviceTreeFile() throws {
        let fixture = try ConfigFixture()
        let tree = try GuestDeviceTree(ramIPA: 0x4000_0000, ramSize: 64 << 20, vcpus: 1, gic: .v2(distributor: 0x0800_0000, cpuInterface: 0x0801_0000),
                                       uartIPA: 0x0900_0000, bootargs: "from-a-file").blob()
        try fixture.write("guest.dtb", Data(tree))
        for (dtb, expected) in [("\"guest.dtb\"", Data(tree)), ("\"generate\"", nil)] {
            let system = try fixture.validate(linuxVM.replacingOccurrences(of: "\"generate\"", with: dtb))
            let writer = try SystemImage.bundle(for: system.vms[0], board: system.board.board)
            #expect(writer.images.map(\.kind) == [.kernel, .initrd, .deviceTree])
            let blob = try #require(writer.images.last?.bytes)
            if let expected {
                #expect(blob == expected)
            } else {
                // Keel's tree for this VM: 2 vCPUs, the config's bootargs, GICv3 on qemu-virt.
                let text = String(decoding: blob, as: UTF8.self)
                #expect(text.contains("console=ttyAMA0") && text.contains("arm,gic-v3") && !text.contains("from-a-file"))
            }
            #expect(writer.linux && writer.x0 == 0x4000_0000 + (256 << 20) - (2 << 20))
        }
    }

    @Test("a raw binary is loaded at the VM's memory base and entered at entry")
    func raw() throws {
        let fixture = try ConfigFixture()
        let system = try fixture.validate(rawVM + "\nentry = 0x4000_0800\n")
        let writer = try SystemImage.bundle(for: system.vms[0], board: system.board.board)
        #expect(writer.images.map(\.loadIPA) == [0x4000_0000] && writer.entryIPA == 0x4000_0800 && !writer.linux)
        #expect(writer.images[0].bytes == Data(repeating: 0xD5, count: 4096))
    }
}
