import Foundation
import KeelBoards
import KeelKit
import Testing

@Suite("Boards")
struct BoardsTests {
    @Test("keel boards lists every board and says which QEMU runs here")
    func listsBoards() throws {
        let run = try runKeel(["boards"])
        #expect(run.status == 0, "\(run.stderr)")
        for name in ["qemu-virt", "qemu-virt-gicv2", "xlnx-zcu102", "raspberry-pi-4", "imx8mp-evk"] {
            #expect(run.lines.contains { $0.hasPrefix(name + " ") }, "\(name) missing:\n\(run.stdout)")
        }
        // QEMU 10 (make deps) has raspi4b; an older QEMU says it lacks the machine.
        #expect(run.lines.contains { $0.hasPrefix("qemu-virt ") && $0.hasSuffix(" yes") })
        #expect(run.lines.contains { $0.hasPrefix("xlnx-zcu102 ") && $0.hasSuffix(" yes") })
        let machines = BoardListing.queryMachines(qemu: "qemu-system-aarch64") ?? []
        let pi = run.lines.first { $0.hasPrefix("raspberry-pi-4 ") } ?? ""
        #expect(pi.hasSuffix(machines.contains("raspi4b") ? " yes" : " no (this QEMU has no raspi4b machine)"), "\(pi)")
        // QEMU 10 has imx8mp-evk, which Keel's firmware is built for.
        let imx = run.lines.first { $0.hasPrefix("imx8mp-evk ") } ?? ""
        #expect(imx.hasSuffix(machines.contains("imx8mp-evk") ? " yes" : " no (this QEMU has no imx8mp-evk machine)"), "\(imx)")
        #expect(imx.contains("i.MX 0x30890000"), "\(imx)")
        #expect(run.lines.contains("imx8mp-evk: firmware build/hyp-imx8mp-evk/keel.bin"), "\(run.stdout)")
    }

    /// The qemu-virt data against QEMU's own device tree for the machine: each device's node
    /// at its address, with its compatible and first SPI.
    @Test("qemu-virt's devices are where QEMU's device tree puts them", arguments: [3, 2])
    func qemuVirtMatchesQEMU(gic: Int) throws {
        let dtb = FileManager.default.temporaryDirectory.appendingPathComponent("keel-virt-\(UUID().uuidString).dtb").path
        defer { try? FileManager.default.removeItem(atPath: dtb) }
        try HostCommand("qemu-system-aarch64", ["-M", "virt,virtualization=on,gic-version=\(gic),dumpdtb=\(dtb)", "-cpu", "cortex-a72", "-display", "none"]).run()
        let dts = try HostCommand("dtc", ["-q", "-I", "dtb", "-O", "dts", dtb]).run()
        let known = try #require(BoardCatalog.named(gic == 3 ? "qemu-virt" : "qemu-virt-gicv2"))
        for device in known.deviceList {
            let address = String(device.base, radix: 16)
            let start = try #require(dts.range(of: "@\(address) {"), "no node at 0x\(address) for \(device.name)")
            let node = dts[start.upperBound...].prefix { $0 != "}" }
            #expect(node.contains("compatible = \"\(device.compatible)"), "\(device.name): \(node)")
            if device.intid != 0 && device.name.description != "pcie" {
                let spi = String(format: "0x%02x", device.intid - 32)
                #expect(node.contains("interrupts = <0x00 \(spi) "), "\(device.name): \(node)")
            }
        }
        let gicNode = try #require(dts.range(of: "intc@8000000 {"))
        #expect(dts[gicNode.upperBound...].prefix { $0 != "}" }.contains(gic == 3 ? "arm,gic-v3" : "arm,cortex-a15-gic"))
    }
}
