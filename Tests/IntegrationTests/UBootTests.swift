import Foundation
import KeelBoards
import KeelKit
import Testing

/// Debian's U-Boot for QEMU virt (`u-boot-qemu`, qemu_arm64) as the boot loader: QEMU starts it
/// at EL2 (`-bios`, virtualization=on), QEMU's generic loader puts `keel.img` in RAM, and
/// U-Boot's `booti` moves it to DRAM base + text_offset (the Image header's placement rules)
/// and enters it with U-Boot's device tree in x0. The guest then runs as it does under `-kernel`.
@Suite("U-Boot booti")
struct UBootTests {
    static let uboot = "/usr/lib/u-boot/qemu_arm64/u-boot.bin"
    static let loadAddress: UInt64 = 0x4020_0000

    /// Talks to U-Boot's console: collects what QEMU prints, writes to its serial input.
    final class Console: @unchecked Sendable {
        private let lock = NSCondition()
        private var data = Data()
        var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
        func append(_ more: Data) { lock.withLock { data.append(more); lock.broadcast() } }
        /// Waits until the console shows `marker`, at most `seconds`.
        func wait(for marker: String, seconds: Double) -> Bool {
            let deadline = Date(timeIntervalSinceNow: seconds)
            return lock.withLock {
                while !String(decoding: data, as: UTF8.self).contains(marker) {
                    if !lock.wait(until: deadline) { return false }
                }
                return true
            }
        }
    }

    @Test("U-Boot loads keel.img and starts it with booti; the demo guest runs and powers off")
    func booti() throws {
        try #require(FileManager.default.fileExists(atPath: Self.uboot), "no \(Self.uboot): make deps installs u-boot-qemu")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("keel-uboot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let image = scratch.appendingPathComponent("keel.img").path
        let pack = try runKeel(["pack", "--config", Repo.path("boards/examples/demo.toml"), "-o", image])
        try #require(pack.status == 0, "\(pack.stderr)")

        let qemu = Process()
        qemu.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        qemu.arguments = ["qemu-system-aarch64", "-M", "\(qemuVirt.qemuMachine),gic-version=3", "-cpu", qemuVirt.qemuCPU.description,
                          "-smp", "1", "-m", "\(qemuVirt.ramSize >> 20)M", "-display", "none", "-monitor", "none", "-serial", "stdio",
                          "-bios", Self.uboot,
                          "-device", "loader,file=\(image),addr=0x\(String(Self.loadAddress, radix: 16)),force-raw=on"]
        let input = Pipe(), output = Pipe()
        qemu.standardInput = input
        qemu.standardOutput = output
        qemu.standardError = output
        let console = Console()
        output.fileHandleForReading.readabilityHandler = { console.append($0.availableData) }
        try qemu.run()
        defer { if qemu.isRunning { qemu.terminate() } }

        // Stop autoboot (bootdelay 2 s), then boot Keel from where the loader put it.
        #expect(console.wait(for: "Hit any key to stop autoboot", seconds: 60), "\(console.text)")
        input.fileHandleForWriting.write(Data("\n".utf8))
        #expect(console.wait(for: "=> ", seconds: 30), "\(console.text)")
        input.fileHandleForWriting.write(Data("booti 0x\(String(Self.loadAddress, radix: 16)) - ${fdtcontroladdr}\n".utf8))

        #expect(console.wait(for: "[keel] all VMs are off: powering off", seconds: 60), "\(console.text)")
        let deadline = Date(timeIntervalSinceNow: 10)
        while qemu.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        #expect(!qemu.isRunning, "QEMU did not power off")

        let text = console.text.replacingOccurrences(of: "\r\n", with: "\n")
        #expect(text.contains("U-Boot 20"))
        // booti moved the whole file (image_size covers the bundle) to DRAM base + text_offset.
        let size = UInt64(try Data(contentsOf: URL(fileURLWithPath: image)).count)
        let end = String(qemuVirt.loadAddress + size, radix: 16)
        #expect(text.contains("Moving Image from 0x40200000 to 0x\(String(qemuVirt.loadAddress, radix: 16)), end=\(end)\n"), "\(text)")
        #expect(text.contains("Starting kernel ...\n"))
        #expect(text.contains("[keel] Keel 0.1.0 on qemu-virt, CPU 0 at EL2, DTB at 0x"))
        for line in ["Hello from a bare-metal guest at EL1, running on Keel.", "demo: CurrentEL = 0x1", "[keel] vm0: PSCI SYSTEM_OFF"] {
            #expect(text.contains(line + "\n"), "missing \(line):\n\(text)")
        }
        #expect(!text.contains("[keel] ERROR") && !text.contains("[keel] PANIC"))
    }
}
