import Foundation
import KeelBoards
import KeelCore

/// The `bootBundle` target: a packed image's VM table (`SystemManifest`) and each VM's boot
/// bundle (`BootBundle`), as the firmware reads them at boot, with their CRCs fixed up first.
extension FuzzTargets {
    static func bootBundle(_ input: [UInt8]) {
        var bytes = input
        if SystemManifest.present(bytes.span) {
            sealManifest(&bytes)
            for known in BoardCatalog.all { openSystem(bytes, board: known.board) }
        } else {
            sealBundle(&bytes, 0..<bytes.count)
            for known in BoardCatalog.all {
                guard let layout = known.firmwareVM else { continue }
                openBundle(bytes.span, address: known.board.bundlePA, ramIPA: layout.ramIPA, ramPA: layout.ramPA, ramSize: layout.ramSize)
            }
            // A VM whose RAM ends at the top of the IPA space.
            openBundle(bytes.span, address: 0, ramIPA: 0xFFFF_FFFF_FFE0_0000, ramPA: 0x4000_0000, ramSize: 0x20_0000)
        }
    }

    /// `SystemManifest.open` against `board` as the firmware calls it (BootLoader.openSystem),
    /// then every VM's bundle, and the sums the firmware makes of what `open` accepted: each
    /// must not wrap (trapping arithmetic here is the finding).
    static func openSystem(_ bytes: [UInt8], board: Board) {
        let appended = board.loadAddress + 0x20_0000
        let limits = SystemManifest.Limits(cpus: board.maxCPUs, dramBase: board.ramBase, dramSize: board.ramSize,
                                           reservedStart: board.loadAddress, reservedEnd: appended)
        guard let manifest = try? SystemManifest.open(bytes.span, limits) else { return }
        precondition(manifest.totalSize <= UInt64(bytes.count))
        _ = appended + manifest.totalSize
        for k in 0..<manifest.regionCount {
            let g = manifest.region(k)
            _ = (g.pa + g.size, g.ipa + g.size)
        }
        for i in 0..<manifest.count {
            let r = manifest.record(i)
            _ = (r.ramPA + r.ramSize, r.ramIPA + r.ramSize)
            _ = manifest.name(i)
            _ = manifest.doorbellPeers(of: i)
            let range = manifest.bundle(i)
            precondition(range.lowerBound >= 0 && range.upperBound <= Int(manifest.totalSize))
            openBundle(bytes.span.extracting(range), address: appended + UInt64(range.lowerBound),
                       ramIPA: r.ramIPA, ramPA: r.ramPA, ramSize: r.ramSize)
        }
    }

    /// `BootBundle.open` for a VM's RAM, then the firmware's copy arithmetic (BootLoader.load).
    static func openBundle(_ bytes: Span<UInt8>, address: UInt64, ramIPA: UInt64, ramPA: UInt64, ramSize: UInt64) {
        guard let bundle = try? BootBundle.open(bytes, ramIPA: ramIPA, ramSize: ramSize) else { return }
        precondition(bundle.totalSize <= UInt64(bytes.count))
        for i in 0..<bundle.count {
            let e = bundle.entry(i)
            precondition(e.offset + e.size <= bundle.totalSize, "bootBundle: an accepted image lies past the bundle")
            _ = (ramPA + (e.loadIPA - ramIPA), address + e.offset)
            _ = CRC32.checksum(bytes.extracting(Int(e.offset)..<Int(e.offset + e.size)))
        }
    }

    /// Writes the CRCs a manifest's readers check: every VM's bundle first, then the tables'
    /// (a bundle lying over the tables is refused anyway).
    static func sealManifest(_ bytes: inout [UInt8]) {
        guard bytes.count >= SystemManifest.headerSize else { return }
        let count = min(Int(u32(bytes, 24)), SystemManifest.maxVMs)
        let regions = min(Int(u32(bytes, 32)), SystemManifest.maxRegions)
        let devices = min(Int(u32(bytes, 40)), SystemManifest.maxDevices)
        let interrupts = min(Int(u32(bytes, 44)), SystemManifest.maxInterrupts)
        let virtio = min(Int(u32(bytes, 48)), SystemManifest.maxVirtio)
        let tableEnd = SystemManifest.tablesSize(count: count, regions: regions, devices: devices, interrupts: interrupts, virtio: virtio)
        guard tableEnd <= bytes.count else { return }
        for i in 0..<count {
            let at = SystemManifest.headerSize + i * SystemManifest.recordSize
            let offset = u64(bytes, at + 48), size = u64(bytes, at + 56)
            guard offset <= UInt64(bytes.count), size <= UInt64(bytes.count) - offset else { continue }
            sealBundle(&bytes, Int(offset)..<Int(offset + size))
        }
        let crc = SystemManifest.headerChecksum(bytes.span, count: count, regions: regions, devices: devices, interrupts: interrupts, virtio: virtio)
        LittleEndian.storeLittle(UInt64(crc), 4, at: 28, in: &bytes)
    }

    /// Writes each image's CRC and the header's for the bundle in `range` of `bytes`.
    static func sealBundle(_ bytes: inout [UInt8], _ range: Range<Int>) {
        guard range.count >= BootBundle.headerSize else { return }
        let base = range.lowerBound
        let count = min(Int(u32(bytes, base + 40)), BootBundle.maxEntries)
        guard BootBundle.headerSize + count * BootBundle.entrySize <= range.count else { return }
        for i in 0..<count {
            let at = base + BootBundle.headerSize + i * BootBundle.entrySize
            let offset = u64(bytes, at + 8), size = u64(bytes, at + 16)
            guard offset <= UInt64(range.count), size <= UInt64(range.count) - offset else { continue }
            let image = (base + Int(offset))..<(base + Int(offset + size))
            LittleEndian.storeLittle(UInt64(CRC32.checksum(bytes.span.extracting(image))), 4, at: at + 4, in: &bytes)
        }
        let crc = BootBundle.headerChecksum(bytes.span.extracting(range), count: count)
        LittleEndian.storeLittle(UInt64(crc), 4, at: base + 48, in: &bytes)
    }

    static func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 { UInt32(LittleEndian.load(4, at: offset, in: bytes.span)) }
    static func u64(_ bytes: [UInt8], _ offset: Int) -> UInt64 { LittleEndian.load(8, at: offset, in: bytes.span) }
}
