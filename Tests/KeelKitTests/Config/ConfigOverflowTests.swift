import Foundation
import KeelBoards
import Testing
@testable import KeelKit

/// Sizes and addresses a config gives are untrusted: every sum the validator and the Linux
/// placement make of them is checked, at the edge where it would wrap and one below (issue 17:
/// `size = "18446744073709551615"` crashed `keel pack` with an arithmetic overflow).
@Suite("Config: sums of untrusted sizes never wrap")
struct ConfigOverflowTests {
    static func vm(base: String = "0x4000_0000", size: String, kernel: String = "raw.bin") -> String {
        rawVM.replacingOccurrences(of: "memory = { base = 0x4000_0000, size = \"256M\" }", with: "memory = { base = \(base), size = \(size) }")
            .replacingOccurrences(of: "kernel = \"raw.bin\"\nkind = \"raw\"", with: kernel == "raw.bin" ? "kernel = \"raw.bin\"\nkind = \"raw\"" : "kernel = \"\(kernel)\"")
    }

    @Test("size = \"18446744073709551615\" is reported, not a crash (it overflowed rounding up to 4 KiB)")
    func largestSize() throws {
        let fixture = try ConfigFixture()
        let problems = fixture.problems(Self.vm(size: "\"18446744073709551615\""))
        #expect(problems.contains("system.toml: vm \"demo\" key memory.size: 0xffffffffffffffff is not a multiple of 4 KiB (fix: round it to 4 KiB, e.g. 0xfffffffffffff000)"), "\(problems)")
        #expect(problems.contains { $0.contains("ends beyond the 40-bit guest address space") }, "\(problems)")
        #expect(problems.contains { $0.contains("more than the 0x") || $0.contains("of RAM qemu-virt has") }, "\(problems)")
    }

    @Test("rounding to a page: up, or down at the top where up would wrap")
    func rounding() {
        #expect(roundedToPage(0x1001) == 0x2000)
        #expect(roundedToPage(0xFFFF_FFFF_FFFF_E001) == 0xFFFF_FFFF_FFFF_F000)  // one below the edge: up
        #expect(roundedToPage(0xFFFF_FFFF_FFFF_F001) == 0xFFFF_FFFF_FFFF_F000)  // at the edge: down
        #expect(roundedToPage(.max) == 0xFFFF_FFFF_FFFF_F000)
    }

    @Test("the VMs' total memory saturates instead of wrapping to a small number")
    func totalMemory() throws {
        #expect(saturatingSum(.max - 1, 1) == .max)
        #expect(saturatingSum(.max, 1) == .max)
        #expect(saturatingSum(UInt64.max - 2, 1) == UInt64.max - 1)
        // Two shared regions whose sizes sum to 2^64 once read as 0 bytes in all.
        let fixture = try ConfigFixture()
        let half = "\"9223372036854775808\""  // 2^63, a multiple of 4 KiB
        let toml = rawVM + """

            [[vm]]
            name = "b"
            cpus = [1]
            memory = { base = 0x4000_0000, size = "16M" }
            kernel = "raw.bin"

            [[shared_memory]]
            name = "x"
            size = \(half)
            ipa = 0x7000_0000
            vms = ["demo", "b"]

            [[shared_memory]]
            name = "y"
            size = \(half)
            ipa = 0x7000_0000
            vms = ["demo", "b"]
            """
        let problems = fixture.problems(toml)
        #expect(problems.contains { $0.contains("the VMs' memory and shared memory take 0xffffffffffffffff bytes") }, "\(problems)")
        #expect(problems.contains { $0.contains("shared_memory \"x\" key ipa: 0x70000000 + ") && $0.contains("ends beyond the 40-bit guest address space") }, "\(problems)")
    }

    @Test("memory ending exactly at the 40-bit IPA limit is fine; one page further is not; at the top of 64 bits, no wrap")
    func ipaEdge() throws {
        let fixture = try ConfigFixture()
        let edge = fixture.problems(Self.vm(base: "0xFF_F000_0000", size: "\"256M\""))
        #expect(!edge.contains { $0.contains("40-bit") }, "\(edge)")
        let past = fixture.problems(Self.vm(base: "0xFF_F000_1000", size: "\"256M\""))
        #expect(past.contains { $0.contains("ends beyond the 40-bit guest address space") }, "\(past)")
        let top = fixture.problems(Self.vm(base: "0x7FFF_FFFF_FFFF_F000", size: "\"256M\""))
        #expect(top.contains { $0.contains("ends beyond the 40-bit guest address space") }, "\(top)")
    }

    @Test("a Linux Image header whose text_offset or image_size wraps the placement is an error, not a crash")
    func linuxHeaderSums() throws {
        func header(textOffset: UInt64, imageSize: UInt64) -> Data {
            var data = ConfigFixture.linuxImage(imageSize: imageSize)
            for i in 0..<8 { data[8 + i] = UInt8(truncatingIfNeeded: textOffset >> (8 * UInt64(i))) }
            return data
        }
        let layout = VMLayout(ramIPA: 0x4000_0000, ramPA: 0, ramSize: 256 << 20, uartIPA: 0, entryOffset: 0)
        #expect(throws: KeelError.self) { _ = try LinuxBoot(kernel: header(textOffset: .max, imageSize: 8 << 20), kernelName: "k", initrdSize: nil, layout: layout) }
        #expect(throws: KeelError.self) { _ = try LinuxBoot(kernel: header(textOffset: 0x80000, imageSize: .max), kernelName: "k", initrdSize: nil, layout: layout) }
        // RAM at the very top: ramIPA + ramSize is 2^64 exactly.
        let top = VMLayout(ramIPA: 0xFFFF_FFFF_F000_0000, ramPA: 0, ramSize: 256 << 20, uartIPA: 0, entryOffset: 0)
        #expect(throws: KeelError.self) { _ = try LinuxBoot(kernel: header(textOffset: 0x80000, imageSize: 8 << 20), kernelName: "k", initrdSize: nil, layout: top) }
        // One 2 MiB block below the top, it fits.
        let below = VMLayout(ramIPA: 0xFFFF_FFFF_EFE0_0000, ramPA: 0, ramSize: 256 << 20, uartIPA: 0, entryOffset: 0)
        let placed = try LinuxBoot(kernel: header(textOffset: 0x80000, imageSize: 8 << 20), kernelName: "k", initrdSize: nil, layout: below)
        #expect(placed.deviceTreeIPA == 0xFFFF_FFFF_FFC0_0000)
        // And a config whose Linux VM's RAM ends at 2^64 (TOML integers stop at 2^63 - 1: the
        // size, a string, makes up the rest) is reported, not a crash.
        let fixture = try ConfigFixture()
        let problems = fixture.problems(Self.vm(base: "0x7FFF_FFFF_F000_0000", size: "\"9223372037123211264\"", kernel: "Image"))
        #expect(problems.contains { $0.contains("ends beyond the 40-bit guest address space") }, "\(problems)")
        #expect(problems.contains { $0.contains("key kernel: does not fit") }, "\(problems)")
    }
}
