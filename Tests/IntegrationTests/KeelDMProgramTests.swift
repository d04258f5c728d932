import Foundation
import Testing

/// build/keel-dm/keel-dm, the device model program (docs/device-model.md): a static aarch64
/// Linux executable built from Embedded Swift, run here under qemu-aarch64-static (Debian's
/// qemu-user-static, installed by `make deps`). Without Keel there is no /dev/keel-dm, so these
/// check what the program does before and around it: its errors, its device cases run inside the
/// real binary, and one request served from a request page laid out in a plain file.
@Suite("keel-dm, the device model program")
struct KeelDMProgramTests {
    static var binary: String { Repo.path("build/keel-dm/keel-dm") }
    static let qemu = "/usr/bin/qemu-aarch64-static"

    /// Runs keel-dm under qemu-aarch64-static (at most 60 s).
    func run(_ arguments: [String]) throws -> KeelRun {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build/keel-dm/keel-dm is missing: run `make`")
        try #require(FileManager.default.isExecutableFile(atPath: Self.qemu), "qemu-aarch64-static is missing: run `make deps`")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("keel-dm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("stdout"), err = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["60", Self.qemu, Self.binary] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return KeelRun(status: process.terminationStatus,
                       stdout: try String(contentsOf: out, encoding: .utf8),
                       stderr: try String(contentsOf: err, encoding: .utf8))
    }

    func scratchDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keel-dm-in-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("a static aarch64 ELF executable: no interpreter, no dynamic section")
    func staticELF() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.binary))
        let bytes = [UInt8](data)
        func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        func u64(_ o: Int) -> Int { u32(o) | u32(o + 4) << 32 }
        #expect(Array(bytes[0..<4]) == [0x7F, 0x45, 0x4C, 0x46])
        #expect(bytes[4] == 2)  // 64-bit
        #expect(u16(16) == 2)  // ET_EXEC
        #expect(u16(18) == 183)  // EM_AARCH64
        let phoff = u64(32), phentsize = u16(54), phnum = u16(56)
        let types = (0..<phnum).map { u32(phoff + $0 * phentsize) }
        #expect(types.contains(1))  // PT_LOAD
        #expect(!types.contains(2) && !types.contains(3), "PT_DYNAMIC or PT_INTERP: \(types)")
    }

    @Test("--self-test: the blk, net, console and hostile cases pass inside the real binary")
    func selfTest() throws {
        let result = try run(["--self-test"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("keel-dm self-test: 17 of 17 checks passed"), "\(result.stdout)")
        #expect(!result.stdout.contains("FAILED"))
    }

    @Test("a missing or bad configuration, or no /dev/keel-dm: a clear error and a non-zero exit")
    func errors() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = try run(["--conf", dir.appendingPathComponent("none.conf").path])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("keel-dm: cannot read \(dir.path)/none.conf: No such file or directory"), "\(missing.stderr)")

        let cases: [(String, String)] = [
            ("blk 0\n", "line 1: expected `blk <device> <path of a raw image>`"),
            ("# disks\n\nconsole 1\nnet 2 aa:bb:cc:dd:ee\n", "line 4: expected `net <device> <mac aa:bb:cc:dd:ee:ff>`"),
            ("net 0 01:00:00:00:00:01\n", "line 1: 01:00:00:00:00:01 is a multicast MAC"),
            ("scsi 0 /disks/0.img\n", "line 1: unknown device type `scsi`"),
            ("console 3\nconsole 3\n", "line 2: device 3 is configured twice"),
            ("console 16\n", "line 1: expected `blk|net|console <device 0-15> ...`"),
            ("# nothing\n", "no device is configured"),
        ]
        for (text, message) in cases {
            let conf = dir.appendingPathComponent("bad.conf")
            try text.write(to: conf, atomically: true, encoding: .utf8)
            let result = try run(["--conf", conf.path])
            #expect(result.status == 1)
            #expect(result.stderr.contains("keel-dm: \(conf.path): \(message)"), "\(text): \(result.stderr)")
        }

        let conf = dir.appendingPathComponent("ok.conf")
        try "console 0\n".write(to: conf, atomically: true, encoding: .utf8)
        let noDevice = try run(["--conf", conf.path, "--device", dir.appendingPathComponent("keel-dm").path])
        #expect(noDevice.status == 1)
        #expect(noDevice.stderr.contains("cannot open \(dir.path)/keel-dm: No such file or directory (is keel-dm.ko loaded"), "\(noDevice.stderr)")
        let usage = try run(["--frobnicate"])
        #expect(usage.status == 2)
        #expect(usage.stderr.contains("usage: keel-dm"))
    }

    /// A file laid out as /dev/keel-dm maps: the request page at 0 (devices: VM 1's blk and
    /// console, 1 MiB of RAM at 0x4000_0000) and VM 1's window at its IPA, sparse; with `pool`,
    /// both devices have that DMA pool (flags bit 0, its IPA and size at 44-63).
    func fakeDevice(in dir: URL, slots: [(slot: Int, sequence: UInt32, device: UInt32, offset: UInt32)],
                    pool: (ipa: UInt64, size: UInt64)? = nil) throws -> URL {
        var page = [UInt8](repeating: 0, count: 4096)
        func put(_ value: UInt64, _ at: Int, _ size: Int) { for i in 0..<size { page[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) } }
        put(0x5152_4D44_4C45_454B, 0, 8)  // KEELDMRQ
        put(1, 8, 4); put(2, 12, 4); put(8, 16, 4); put(64, 20, 4); put(2048, 24, 4)
        let window: UInt64 = 0x40_0000_0000 + 1 * 0x10_0000_0000
        for (i, type) in [UInt64(2), 3].enumerated() {
            let at = 64 + 64 * i
            put(1, at, 4); put(UInt64(i), at + 4, 4); put(type, at + 8, 4)
            put(0x4000_0000, at + 16, 8); put(1 << 20, at + 24, 8); put(window, at + 32, 8)
            if let pool { put(1, at + 44, 4); put(pool.ipa, at + 48, 8); put(pool.size, at + 56, 8) }
        }
        for s in slots {
            let at = 2048 + 64 * s.slot
            put(UInt64(s.sequence), at, 4); put(UInt64(s.device), at + 4, 4); put(UInt64(s.offset), at + 8, 4)
            put(4, at + 12, 1)
        }
        let file = dir.appendingPathComponent("keel-dm")
        try Data(page).write(to: file)
        let handle = try FileHandle(forWritingTo: file)
        try handle.truncate(atOffset: window + (1 << 20))
        try handle.close()
        return file
    }

    @Test("from a request page in a file: the conf checked against its device table, one read served by the register file")
    func servesFromRequestPage() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let disk = dir.appendingPathComponent("0.img")
        try Data(count: 8192).write(to: disk)
        let conf = dir.appendingPathComponent("keel-dm.conf")

        // The request page says device 1 is a console.
        try "blk 0 \(disk.path)\nnet 1 02:00:00:00:00:01\n".write(to: conf, atomically: true, encoding: .utf8)
        var device = try fakeDevice(in: dir, slots: [])
        let mismatch = try run(["--conf", conf.path, "--device", device.path])
        #expect(mismatch.status == 1)
        #expect(mismatch.stderr.contains("line 2: device 1: the request page says type 3, the line 1"), "\(mismatch.stderr)")

        try "blk 0 \(dir.path)/missing.img\n".write(to: conf, atomically: true, encoding: .utf8)
        let noDisk = try run(["--conf", conf.path, "--device", device.path])
        #expect(noDisk.stderr.contains("line 1: device 0: cannot open the disk \(dir.path)/missing.img: No such file or directory"), "\(noDisk.stderr)")

        // Slot 5 holds a read of the blk device's DeviceID: keel-dm maps the page and the window,
        // answers 2 from the register file, and stops when the file refuses the completion ioctl
        // (a file is not keel-dm.ko's device; qemu-user answers ENOSYS, Linux ENOTTY).
        try "blk 0 \(disk.path)\nconsole 1 app\n".write(to: conf, atomically: true, encoding: .utf8)
        device = try fakeDevice(in: dir, slots: [(5, 3, 0, 0x008)])
        let served = try run(["--poll", "--conf", conf.path, "--device", device.path])
        #expect(served.status == 1)
        #expect(served.stdout.contains("keel-dm: serving 2 devices (polling)"), "\(served.stdout)")
        #expect(served.stderr.contains("cannot complete slot 5 sequence 3 (device 0 offset 0x8 read -> 0x2): KEEL_DM_IOC_HVC: "), "\(served.stderr)")
        #expect(served.stderr.contains("KEEL_DM_POLLING 1: KEEL_DM_IOC_HVC: "), "\(served.stderr)")

        // The console's magic value, 32 bits.
        device = try fakeDevice(in: dir, slots: [(0, 1, 1, 0x000)])
        let magic = try run(["--poll", "--conf", conf.path, "--device", device.path])
        #expect(magic.stderr.contains("(device 1 offset 0x0 read -> 0x74726976)"), "\(magic.stderr)")

        // Interrupt mode: read() stands for the request interrupt (a file's first 8 bytes), then
        // the same scan; the polling flag is cleared, not set.
        let interrupts = try run(["--conf", conf.path, "--device", device.path])
        #expect(interrupts.status == 1)
        #expect(interrupts.stdout.contains("keel-dm: serving 2 devices (interrupts)"), "\(interrupts.stdout)")
        #expect(interrupts.stderr.contains("KEEL_DM_POLLING 0: KEEL_DM_IOC_HVC: "), "\(interrupts.stderr)")
        #expect(interrupts.stderr.contains("(device 1 offset 0x0 read -> 0x74726976)"), "\(interrupts.stderr)")
    }

    @Test("devices with a DMA pool: served from the pool's part of the window; a pool outside the frontend's RAM is refused")
    func pool() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let disk = dir.appendingPathComponent("0.img")
        try Data(count: 8192).write(to: disk)
        let conf = dir.appendingPathComponent("keel-dm.conf")
        try "blk 0 \(disk.path)\nconsole 1 app\n".write(to: conf, atomically: true, encoding: .utf8)
        // The blk device's DeviceID, served (its pool is mapped; ACCESS_PLATFORM, in the features'
        // high word, needs a DeviceFeaturesSel write first: DMAPoolTests check it).
        var device = try fakeDevice(in: dir, slots: [(2, 1, 0, 0x008)], pool: (0x4008_0000, 0x4_0000))
        let served = try run(["--poll", "--conf", conf.path, "--device", device.path])
        #expect(served.stdout.contains("keel-dm: serving 2 devices (polling)"), "\(served.stdout)\n\(served.stderr)")
        #expect(served.stderr.contains("(device 0 offset 0x8 read -> 0x2)"), "\(served.stderr)")
        // A page whose pool leaves the frontend's RAM: nothing is mapped, a clear error.
        device = try fakeDevice(in: dir, slots: [], pool: (0x4010_0000, 0x1000))
        let outside = try run(["--poll", "--conf", conf.path, "--device", device.path])
        #expect(outside.status == 1)
        #expect(outside.stderr.contains("line 1: device 0: cannot map the DMA pool of VM 1 (0 bytes)"), "\(outside.stderr)")
    }
}
