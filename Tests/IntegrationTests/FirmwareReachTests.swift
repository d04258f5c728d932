import Foundation
import KeelKit
import Testing

/// `FirmwareReach` on the firmware `make` built: what stays reachable after boot.
@Suite("Firmware reach: the code that can run after boot, on the built firmware")
struct FirmwareReachTests {
    @Test("every byte of code is in one class; the trap table's handlers, SYSTEM_RESET's image reload and the vectors stay; keel_main and the VM-table checks are boot only")
    func builtFirmware() throws {
        let path = Repo.path("build/hyp/keel.elf")
        let reach = try FirmwareReach(elf: path)
        let size = try FirmwareFootprint(elf: path)
        // The first label is the Image header at the start of .text.
        #expect(reach.residentBytes + reach.bootOnlyBytes + reach.unreachedBytes == size.text, "every byte of .text, once")
        let resident = Set(reach.resident.map(\.name)), bootOnly = Set(reach.bootOnly.map(\.name))
        for name in ["keel_vectors", "keel_secondary_entry", "memcpy"] { #expect(resident.contains(name), "\(name)") }
        // The trap table (data) and SYSTEM_RESET, which loads the VM's images again.
        for fragment in ["trapDataAbort", "trapHVC", "trapSysReg", "VirtualPSCIO11systemReset", "BootLoaderO4load_4into"] {
            #expect(resident.contains { $0.contains(fragment) }, "\(fragment) resident")
        }
        #expect(bootOnly.contains("keel_main"))
        for fragment in ["SystemManifestV5check", "BootDTBO11readMachine"] {
            #expect(bootOnly.contains { $0.contains(fragment) }, "\(fragment) boot only")
        }
        #expect(reach.bootOnlyBytes > 10_000 && reach.residentBytes > 10_000)
    }
}
