import Testing
@testable import KeelCore

/// Builds flattened device trees for the tests (the format of the Devicetree Specification,
/// version 17).
struct FDTBuilder {
    private var structure: [UInt8] = []
    private var strings: [UInt8] = []

    private mutating func word(_ v: UInt32) { structure += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
    private mutating func pad() { while structure.count % 4 != 0 { structure.append(0) } }

    mutating func begin(_ name: String) { word(1); structure += Array(name.utf8) + [0]; pad() }
    mutating func end() { word(2) }
    mutating func property(_ name: String, _ value: [UInt8]) {
        word(3)
        word(UInt32(value.count))
        word(UInt32(strings.count))
        strings += Array(name.utf8) + [0]
        structure += value
        pad()
    }
    mutating func property(_ name: String, string: String) { property(name, Array(string.utf8) + [0]) }

    func blob() -> [UInt8] {
        var s = self
        s.word(9)
        let headerSize = 40, rsvmap = 16
        let offStruct = headerSize + rsvmap, offStrings = offStruct + s.structure.count
        let total = offStrings + s.strings.count
        var out: [UInt8] = []
        func be(_ v: Int) { out += [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        be(0xD00D_FEED); be(total); be(offStruct); be(offStrings); be(headerSize); be(17); be(16); be(0)
        be(s.strings.count); be(s.structure.count)
        out += [UInt8](repeating: 0, count: rsvmap)
        return out + s.structure + s.strings
    }

    /// A DTB like the one QEMU passes: root, /chosen with bootargs, /memory@40000000, /psci.
    static var sample: [UInt8] {
        var b = FDTBuilder()
        b.begin("")
        b.property("#address-cells", [0, 0, 0, 2])
        b.begin("chosen")
        b.property("bootargs", string: "console=ttyAMA0 keel.trace=full")
        b.end()
        b.begin("memory@40000000")
        b.property("device_type", string: "memory")
        b.property("reg", [0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0])
        b.end()
        b.begin("psci")
        b.property("method", string: "smc")
        b.begin("inner")
        b.property("method", string: "inner")
        b.end()
        b.end()
        b.end()
        return b.blob()
    }
}

@Suite("Device tree reading")
struct FDTTests {
    func string(_ value: Span<UInt8>?) -> String? {
        guard let value else { return nil }
        var bytes: [UInt8] = []
        for i in 0..<value.count where value[i] != 0 { bytes.append(value[i]) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// True when `FDT` refuses the header of `bytes`.
    static func refused(_ bytes: Span<UInt8>) -> Bool {
        guard FDT(bytes) != nil else { return true }
        return false
    }

    func count(_ value: Span<UInt8>?) -> Int? {
        guard let value else { return nil }
        return value.count
    }

    @Test("properties by path, unit addresses optional")
    func lookups() {
        let blob = FDTBuilder.sample
        do {
            let fdt = FDT(blob.span)!
            do { let value = string(fdt.property(path: "/chosen", name: "bootargs")); #expect(value == "console=ttyAMA0 keel.trace=full") }
            do { let value = count(fdt.property(path: "/memory", name: "reg")); #expect(value == 16) }
            do { let value = string(fdt.property(path: "/memory@40000000", name: "device_type")); #expect(value == "memory") }
            // The property after a child node belongs to the parent, not to the child.
            do { let value = string(fdt.property(path: "/psci", name: "method")); #expect(value == "smc") }
            do { let value = string(fdt.property(path: "/psci/inner", name: "method")); #expect(value == "inner") }
            do { let value = count(fdt.property(path: "/", name: "#address-cells")); #expect(value == 4) }
            do { let value = count(fdt.property(path: "/chosen", name: "stdout-path")); #expect(value == nil) }
            do { let value = count(fdt.property(path: "/nothing", name: "bootargs")); #expect(value == nil) }
            do { let value = count(fdt.property(path: "/memory@4", name: "reg")); #expect(value == nil) }
        }
    }

    @Test("a bad magic, a short buffer or sizes beyond the blob are refused")
    func refusesBadHeaders() {
        var blob = FDTBuilder.sample
        do { let value = Self.refused(blob.span.extracting(0..<(blob.count - 1))); #expect(value) }
        do { let value = Self.refused(blob.span.extracting(0..<20)); #expect(value) }
        blob[0] = 0
        do { let value = Self.refused(blob.span); #expect(value) }
        var sizes = FDTBuilder.sample
        sizes[36] = 0x7F  // size_dt_struct far beyond the blob
        do { let value = Self.refused(sizes.span); #expect(value) }
    }

    @Test("seeded random damage never crashes a lookup", arguments: [1, 2, 3, 4])
    func randomDamage(seed: UInt64) {
        let original = FDTBuilder.sample
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2500 {
            var blob = original
            for _ in 0..<4 {
                state = state &* 6_364_136_223_846_793_005 &+ 1442695040888963407
                let index = Int(state >> 33) % blob.count
                blob[index] = UInt8(truncatingIfNeeded: state >> 17)
            }
            do {
                if let fdt = FDT(blob.span) {
                    _ = fdt.property(path: "/chosen", name: "bootargs")
                    _ = fdt.property(path: "/psci/inner", name: "method")
                }
            }
        }
    }

    @Test("keel.trace= on the boot command line")
    func bootArguments() {
        func mode(_ text: String) -> TraceMode? { BootArguments.traceMode(Array(text.utf8).span) }
        #expect(mode("console=ttyAMA0 keel.trace=full") == .full)
        #expect(mode("keel.trace=off quiet") == .off)
        #expect(mode("keel.trace=counters\0") == .counters)
        #expect(mode("keel.trace=memory loglevel=8") == .memory)
        for m in [TraceMode.off, .counters, .full, .memory] { #expect(mode("keel.trace=\(m.bootArgument)") == m) }
        #expect(mode("keel.trace=verbose") == nil)
        #expect(mode("xkeel.trace=full") == nil)
        #expect(mode("keel.trace") == nil)
        #expect(mode("") == nil)
    }
}
