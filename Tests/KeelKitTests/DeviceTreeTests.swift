import Foundation
import KeelCore
import Testing
@testable import KeelKit

/// Reads a blob back: property lookups through the firmware's own `FDT` reader, whole-tree
/// checks (which nodes exist, in what order) through a small independent walker.
struct ParsedDTB {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func be32(_ offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Header field `index` (0: magic, 1: totalsize, ...).
    func header(_ index: Int) -> UInt32 { be32(index * 4) }

    /// The property through `KeelCore.FDT`; nil if the blob is rejected or the property absent.
    func property(_ path: String, _ name: String) -> [UInt8]? {
        guard let fdt = FDT(bytes.span) else { return nil }
        let pathBytes = Array(path.utf8), nameBytes = Array(name.utf8)
        guard let value = fdt.property(path: pathBytes.span, name: nameBytes.span) else { return nil }
        return (0..<value.count).map { value[$0] }
    }

    func cells(_ path: String, _ name: String) -> [UInt32]? {
        guard let value = property(path, name), value.count % 4 == 0 else { return nil }
        return stride(from: 0, to: value.count, by: 4).map { i in value[i..<i + 4].reduce(0) { $0 << 8 | UInt32($1) } }
    }

    func u64s(_ path: String, _ name: String) -> [UInt64]? {
        guard let c = cells(path, name), c.count % 2 == 0 else { return nil }
        return stride(from: 0, to: c.count, by: 2).map { UInt64(c[$0]) << 32 | UInt64(c[$0 + 1]) }
    }

    func strings(_ path: String, _ name: String) -> [String]? {
        guard let value = property(path, name), value.last == 0 else { return nil }
        return value.dropLast().split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    func string(_ path: String, _ name: String) -> String? {
        guard let list = strings(path, name), list.count == 1 else { return nil }
        return list[0]
    }

    /// Every node's path and its property names, in blob order; checks token alignment and
    /// nesting on the way (a failed check is recorded and the walk stops).
    func walk() -> [(path: String, properties: [String])] {
        let structOffset = Int(header(2)), structSize = Int(header(9))
        let stringsOffset = Int(header(3)), stringsSize = Int(header(8))
        var nodes: [(path: String, properties: [String])] = []
        var stack: [String] = []
        var offset = structOffset
        func string(at start: Int) -> String {
            var end = start
            while bytes[end] != 0 { end += 1 }
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }
        while offset < structOffset + structSize {
            #expect(offset % 4 == 0)
            let token = be32(offset)
            offset += 4
            switch token {
            case 1:
                let name = string(at: offset)
                offset = (offset + name.utf8.count + 1 + 3) & ~3
                stack.append(name)
                nodes.append((stack.count == 1 ? "/" : stack.joined(separator: "/"), []))
            case 2:
                stack.removeLast()
            case 3:
                let length = Int(be32(offset)), nameOffset = Int(be32(offset + 4))
                #expect(nameOffset < stringsSize)
                nodes[nodes.count - 1].properties.append(string(at: stringsOffset + nameOffset))
                offset = (offset + 8 + length + 3) & ~3
            case 9:
                #expect(stack.isEmpty)
                #expect(offset == structOffset + structSize)
                return nodes
            default:
                Issue.record("unexpected token \(token) at \(offset - 4)")
                return nodes
            }
        }
        Issue.record("no FDT_END token")
        return nodes
    }
}

@Suite("The FDT writer")
struct FDTWriterTests {
    @Test("header, memory reservation block, alignment, deduplicated strings")
    func layout() throws {
        var root = FDTNode("")
        root.set("#address-cells", u32: 2)
        root.set("model", string: "x")
        var child = FDTNode("node@1")
        child.set("#address-cells", u32: 1)
        child.set("odd", .bytes([1, 2, 3]))
        child.set(flag: "flag")
        child.set("model", strings: "a", "bc")
        child.set("big", .u64([0x1122_3344_5566_7788]))
        root.add(child)
        let blob = try FDTWriter.blob(root: root)
        let dtb = ParsedDTB(blob)

        #expect(dtb.header(0) == 0xD00D_FEED)
        #expect(Int(dtb.header(1)) == blob.count)
        #expect(dtb.header(5) == 17)
        #expect(dtb.header(6) == 16)
        #expect(dtb.header(7) == 0)
        let structOffset = Int(dtb.header(2)), stringsOffset = Int(dtb.header(3)), reserveOffset = Int(dtb.header(4))
        #expect(reserveOffset % 8 == 0 && reserveOffset >= 40)
        #expect(blob[reserveOffset..<reserveOffset + 16].allSatisfy { $0 == 0 })
        #expect(structOffset == reserveOffset + 16)
        #expect(structOffset % 4 == 0)
        #expect(Int(dtb.header(9)) % 4 == 0)
        #expect(stringsOffset == structOffset + Int(dtb.header(9)))
        #expect(stringsOffset + Int(dtb.header(8)) == blob.count)
        // Each property name once, in first-use order.
        let names = blob[stringsOffset...].split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        #expect(names == ["#address-cells", "model", "odd", "flag", "big"])

        #expect(dtb.cells("/", "#address-cells") == [2])
        #expect(dtb.string("/", "model") == "x")
        #expect(dtb.property("/node", "odd") == [1, 2, 3])
        #expect(dtb.property("/node@1", "flag") == [])
        #expect(dtb.strings("/node", "model") == ["a", "bc"])
        #expect(dtb.property("/node", "big") == [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88])
        let walked = dtb.walk()
        #expect(walked.map(\.path) == ["/", "/node@1"])
        #expect(walked[1].properties == ["#address-cells", "odd", "flag", "model", "big"])
    }

    @Test("set replaces a value in place; phandles count from 1")
    func setAndPhandles() throws {
        var node = FDTNode("n")
        node.set("a", u32: 1)
        node.set("b", u32: 2)
        node.set("a", u32: 3)
        #expect(node.properties.map(\.name) == ["a", "b"])
        #expect(node.property("a") == .u32([3]))
        var handles = FDTPhandles()
        let first = handles.allocate(), second = handles.allocate()
        #expect(first.value == 1 && second.value == 2)
        node.setPhandle(second)
        #expect(node.property("phandle") == .u32([2]))
    }

    @Test("what the format cannot hold is refused")
    func invalid() {
        #expect(throws: KeelError("device tree: the root node's name must be empty, not 'x'")) {
            try FDTWriter.blob(root: FDTNode("x"))
        }
        #expect(throws: KeelError("device tree: invalid node name 'a/b' under '/'")) {
            try FDTWriter.blob(root: FDTNode("", children: [FDTNode("a/b")]))
        }
        #expect(throws: KeelError("device tree: node 'a' appears twice under '/'")) {
            try FDTWriter.blob(root: FDTNode("", children: [FDTNode("a"), FDTNode("a")]))
        }
        #expect(throws: KeelError("device tree: property 'p' appears twice in '/a'")) {
            try FDTWriter.blob(root: FDTNode("", children: [FDTNode("a", properties: [.init("p", .empty), .init("p", .empty)])]))
        }
        #expect(throws: KeelError("device tree: property 's' of '/a/b' contains a NUL character")) {
            let b = FDTNode("b", properties: [.init("s", .string("x\u{0}y"))])
            _ = try FDTWriter.blob(root: FDTNode("", children: [FDTNode("a", children: [b])]))
        }
    }
}

@Suite("The guest's device tree")
struct GuestDeviceTreeTests {
    static func spec(gic: GuestDeviceTree.GIC = .v3(distributor: 0x0800_0000, redistributors: 0x080A_0000),
                     vcpus: Int = 2, initrd: (start: UInt64, end: UInt64)? = nil) -> GuestDeviceTree {
        GuestDeviceTree(ramIPA: 0x4000_0000, ramSize: 256 << 20, vcpus: vcpus, gic: gic, uartIPA: 0x0900_0000,
                        uartSPI: 1, bootargs: "console=ttyAMA0 panic=-1", initrd: initrd)
    }

    static let v2 = GuestDeviceTree.GIC.v2(distributor: 0x0800_0000, cpuInterface: 0x0801_0000)

    @Test("the nodes, in order, and nothing else")
    func nodes() throws {
        let dtb = ParsedDTB(try Self.spec().blob())
        let walked = dtb.walk()
        #expect(walked.map(\.path) == ["/", "/memory@40000000", "/cpus", "/cpus/cpu@0", "/cpus/cpu@1", "/psci",
                                       "/intc@8000000", "/timer", "/apb-pclk", "/pl011@9000000", "/chosen"])
        #expect(walked.first { $0.path == "/psci" }?.properties == ["compatible", "method"])
        #expect(walked.first { $0.path == "/chosen" }?.properties == ["bootargs", "stdout-path"])
        #expect(!walked.first { $0.path == "/intc@8000000" }!.properties.contains("interrupts"))
    }

    @Test("root, memory, CPUs, PSCI")
    func rootMemoryCPUs() throws {
        let dtb = ParsedDTB(try Self.spec(vcpus: 3).blob())
        #expect(dtb.header(7) == 0)
        #expect(dtb.cells("/", "#address-cells") == [2])
        #expect(dtb.cells("/", "#size-cells") == [2])
        #expect(dtb.string("/", "compatible") == "linux,dummy-virt")
        #expect(dtb.string("/", "model") == "Keel VM")
        #expect(dtb.cells("/", "interrupt-parent") == dtb.cells("/intc", "phandle"))

        #expect(dtb.string("/memory@40000000", "device_type") == "memory")
        #expect(dtb.u64s("/memory@40000000", "reg") == [0x4000_0000, 0x1000_0000])

        #expect(dtb.cells("/cpus", "#address-cells") == [1])
        #expect(dtb.cells("/cpus", "#size-cells") == [0])
        for n in 0..<3 {
            let path = "/cpus/cpu@\(n)"
            #expect(dtb.string(path, "device_type") == "cpu")
            #expect(dtb.string(path, "compatible") == "arm,armv8")
            #expect(dtb.cells(path, "reg") == [UInt32(n)])
            #expect(dtb.string(path, "enable-method") == "psci")
        }
        #expect(dtb.property("/cpus/cpu@3", "reg") == nil)

        #expect(dtb.strings("/psci", "compatible") == ["arm,psci-1.0", "arm,psci-0.2"])
        #expect(dtb.string("/psci", "method") == "hvc")
        for name in ["cpu_on", "cpu_off", "cpu_suspend", "migrate"] { #expect(dtb.property("/psci", name) == nil) }
    }

    @Test("GICv3 and its timer PPIs")
    func gicv3() throws {
        let dtb = ParsedDTB(try Self.spec(vcpus: 4).blob())
        let intc = "/intc@8000000"
        #expect(dtb.string(intc, "compatible") == "arm,gic-v3")
        #expect(dtb.cells(intc, "#interrupt-cells") == [3])
        #expect(dtb.property(intc, "interrupt-controller") == [])
        #expect(dtb.cells(intc, "#address-cells") == [2])
        #expect(dtb.cells(intc, "#size-cells") == [2])
        #expect(dtb.property(intc, "ranges") == [])
        #expect(dtb.cells(intc, "#redistributor-regions") == [1])
        #expect(dtb.u64s(intc, "reg") == [0x0800_0000, 0x10000, 0x080A_0000, 4 * 0x20000])
        #expect(dtb.property(intc, "interrupts") == nil)
        let phandle = try #require(dtb.cells(intc, "phandle"))
        #expect(phandle.count == 1 && phandle[0] != 0 && phandle[0] != 0xFFFF_FFFF)

        #expect(dtb.string("/timer", "compatible") == "arm,armv8-timer")
        #expect(dtb.property("/timer", "always-on") == [])
        #expect(dtb.cells("/timer", "interrupts") == [1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4])
    }

    @Test("GICv2, with the CPU mask in the timer's PPI flags")
    func gicv2() throws {
        let dtb = ParsedDTB(try Self.spec(gic: Self.v2, vcpus: 2).blob())
        let intc = "/intc@8000000"
        #expect(dtb.string(intc, "compatible") == "arm,cortex-a15-gic")
        #expect(dtb.u64s(intc, "reg") == [0x0800_0000, 0x1000, 0x0801_0000, 0x2000])
        #expect(dtb.cells(intc, "#interrupt-cells") == [3])
        #expect(dtb.property(intc, "interrupt-controller") == [])
        #expect(dtb.property(intc, "#redistributor-regions") == nil)
        #expect(dtb.cells(intc, "#address-cells") == [0])
        #expect(dtb.cells("/", "interrupt-parent") == dtb.cells(intc, "phandle"))
        #expect(dtb.cells("/timer", "interrupts") == [1, 13, 0x304, 1, 14, 0x304, 1, 11, 0x304, 1, 10, 0x304])

        let eight = ParsedDTB(try Self.spec(gic: Self.v2, vcpus: 8).blob())
        #expect(eight.cells("/timer", "interrupts")?[2] == 0xFF04)
        let one = ParsedDTB(try Self.spec(gic: Self.v2, vcpus: 1).blob())
        #expect(one.cells("/timer", "interrupts")?[2] == 0x104)
    }

    @Test("clock, PL011, chosen")
    func uartAndChosen() throws {
        let dtb = ParsedDTB(try Self.spec().blob())
        #expect(dtb.string("/apb-pclk", "compatible") == "fixed-clock")
        #expect(dtb.cells("/apb-pclk", "#clock-cells") == [0])
        #expect(dtb.cells("/apb-pclk", "clock-frequency") == [24_000_000])
        #expect(dtb.string("/apb-pclk", "clock-output-names") == "clk24mhz")
        let clock = try #require(dtb.cells("/apb-pclk", "phandle"))
        #expect(clock != dtb.cells("/intc", "phandle"))

        let uart = "/pl011@9000000"
        #expect(dtb.strings(uart, "compatible") == ["arm,pl011", "arm,primecell"])
        #expect(dtb.u64s(uart, "reg") == [0x0900_0000, 0x1000])
        #expect(dtb.cells(uart, "interrupts") == [0, 1, 4])
        #expect(dtb.cells(uart, "clocks") == clock + clock)
        #expect(dtb.strings(uart, "clock-names") == ["uartclk", "apb_pclk"])

        #expect(dtb.string("/chosen", "bootargs") == "console=ttyAMA0 panic=-1")
        #expect(dtb.string("/chosen", "stdout-path") == "/pl011@9000000")
        #expect(dtb.property("/chosen", "linux,initrd-start") == nil)
        #expect(dtb.property("/chosen", "linux,initrd-end") == nil)
    }

    @Test("the UART's address and SPI follow the spec")
    func otherUART() throws {
        var spec = Self.spec()
        spec.uartIPA = 0x1c09_0000
        spec.uartSPI = 5
        let dtb = ParsedDTB(try spec.blob())
        #expect(dtb.u64s("/pl011@1c090000", "reg") == [0x1c09_0000, 0x1000])
        #expect(dtb.cells("/pl011@1c090000", "interrupts") == [0, 5, 4])
        #expect(dtb.string("/chosen", "stdout-path") == "/pl011@1c090000")
    }

    @Test("an initrd as two 64-bit values")
    func initrd() throws {
        let dtb = ParsedDTB(try Self.spec(initrd: (0x4800_0000, 0x4812_3456)).blob())
        #expect(dtb.u64s("/chosen", "linux,initrd-start") == [0x4800_0000])
        #expect(dtb.u64s("/chosen", "linux,initrd-end") == [0x4812_3456])
        #expect(dtb.property("/chosen", "linux,initrd-start")?.count == 8)
        #expect(dtb.property("/chosen", "linux,initrd-end")?.count == 8)
    }

    @Test("invalid specs are refused")
    func invalid() {
        #expect(throws: KeelError("guest device tree: 0 vCPUs; a VM has 1 to 8")) { try Self.spec(vcpus: 0).blob() }
        #expect(throws: KeelError("guest device tree: 9 vCPUs; a VM has 1 to 8")) { try Self.spec(vcpus: 9).blob() }
        var noRAM = Self.spec()
        noRAM.ramSize = 0
        #expect(throws: KeelError("guest device tree: the VM's RAM size is 0")) { try noRAM.blob() }
        #expect(throws: KeelError("guest device tree: the initrd ends (0x48000000) before it starts (0x48001000)")) {
            try Self.spec(initrd: (0x4800_1000, 0x4800_0000)).blob()
        }
        #expect(throws: KeelError("guest device tree: the initrd 0x4ff00000..<0x50000001 is outside the VM's RAM 0x40000000..<0x50000000")) {
            try Self.spec(initrd: (0x4FF0_0000, 0x5000_0001)).blob()
        }
        #expect(throws: KeelError("guest device tree: the initrd 0x3ffff000..<0x40001000 is outside the VM's RAM 0x40000000..<0x50000000")) {
            try Self.spec(initrd: (0x3FFF_F000, 0x4000_1000)).blob()
        }
        var clash = Self.spec()
        clash.uartIPA = 0x080B_0000
        #expect(throws: KeelError("guest device tree: the UART at 0x80b0000 and the GIC redistributors at 0x80a0000 overlap")) {
            try clash.blob()
        }
        var badSPI = Self.spec()
        badSPI.uartSPI = 988
        #expect(throws: KeelError("guest device tree: UART SPI 988 is out of range (0...987, INTID 32...1019)")) { try badSPI.blob() }
        #expect(throws: KeelError("device tree: property 'bootargs' of '/chosen' contains a NUL character")) {
            var nul = Self.spec()
            nul.bootargs = "a\u{0}b"
            return try nul.blob()
        }
        // An initrd filling RAM exactly, and an empty one, are fine.
        #expect(throws: Never.self) { try Self.spec(initrd: (0x4000_0000, 0x5000_0000)).blob() }
        #expect(throws: Never.self) { try Self.spec(initrd: (0x4800_0000, 0x4800_0000)).blob() }
    }

    static let dtc: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").map { $0 + "/dtc" }.first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("dtc decompiles both variants without a warning", .enabled(if: dtc != nil, "dtc is not installed"))
    func dtcAccepts() throws {
        let scratch = try Scratch()
        var partitioned = Self.spec()
        partitioned.vmIndex = 1
        partitioned.sharedRegions = [(ipa: 0x7000_0000, size: 0x1_0000)]
        for (name, spec) in [("v3", Self.spec(initrd: (0x4800_0000, 0x4810_0000))), ("v2", Self.spec(gic: Self.v2)), ("shared", partitioned)] {
            let path = try scratch.file("\(name).dtb", try spec.blob())
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.dtc!)
            process.arguments = ["-I", "dtb", "-O", "dts", "-o", scratch.url.appendingPathComponent("\(name).dts").path, path]
            let stderr = Pipe()
            process.standardError = stderr
            try process.run()
            let messages = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(name): dtc failed")
            #expect(messages.isEmpty, "\(name): \(messages)")
        }
    }

    @Test("a VM of several gets Keel's doorbell node and one node per shared region; a lone VM neither")
    func doorbellNodes() throws {
        var spec = Self.spec()
        #expect(try spec.tree().children.allSatisfy { $0.name != "hypervisor" && !$0.name.hasPrefix("shm@") })
        spec.vmIndex = 2
        spec.sharedRegions = [(ipa: 0x7000_0000, size: 0x1_0000)]
        let root = try spec.tree()
        let hypervisor = try #require(root.children.first { $0.name == "hypervisor" })
        #expect(hypervisor.properties.first { $0.name == "keel,vm-index" }?.value == .u32([2]))
        #expect(hypervisor.properties.first { $0.name == "keel,doorbell" }?.value == .u32([0x8600_0010]))
        #expect(hypervisor.properties.first { $0.name == "interrupts" }?.value == .u32([0, 15, 1]))  // SPI 15 = INTID 47, rising edge
        let shm = try #require(root.children.first { $0.name == "shm@70000000" })
        #expect(shm.properties.first { $0.name == "reg" }?.value == .u64([0x7000_0000, 0x1_0000]))
    }

    @Test("an rng-seed in /chosen exactly as given, none when none is given; fresh seeds differ")
    func rngSeed() throws {
        var spec = Self.spec()
        #expect(ParsedDTB(try spec.blob()).property("/chosen", "rng-seed") == nil)
        let seed = (0..<LinuxGuest.rngSeedSize).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        spec.rngSeed = seed
        #expect(ParsedDTB(try spec.blob()).property("/chosen", "rng-seed") == seed)
        let a = LinuxGuest.freshRNGSeed(), b = LinuxGuest.freshRNGSeed()
        #expect(a.count == 64 && b.count == 64 && a != b)
    }
}
