import Foundation
import KeelCore

/// Packs a VM's images into a `BootBundle` (KeelCore defines the format; the firmware reads
/// it): header, entry table, then each image at a 4 KiB aligned offset.
public struct BootBundleWriter {
    public struct Image {
        public var kind: BootBundle.Kind
        public var bytes: Data
        public var loadIPA: UInt64
        public init(kind: BootBundle.Kind, bytes: Data, loadIPA: UInt64) {
            self.kind = kind
            self.bytes = bytes
            self.loadIPA = loadIPA
        }
    }

    public var images: [Image] = []
    public var entryIPA: UInt64
    public var x0: UInt64
    public var linux: Bool

    public init(entryIPA: UInt64, x0: UInt64 = 0, linux: Bool = false) {
        self.entryIPA = entryIPA
        self.x0 = x0
        self.linux = linux
    }

    public mutating func add(_ kind: BootBundle.Kind, _ bytes: Data, at loadIPA: UInt64) {
        images.append(Image(kind: kind, bytes: bytes, loadIPA: loadIPA))
    }

    /// The bundle's bytes.
    public func bytes() -> Data {
        precondition(images.count <= BootBundle.maxEntries)
        let tableEnd = BootBundle.headerSize + images.count * BootBundle.entrySize
        var offsets: [UInt64] = []
        var cursor = align(UInt64(tableEnd))
        for image in images {
            offsets.append(cursor)
            cursor = align(cursor + UInt64(image.bytes.count))
        }
        var out = Data(count: Int(cursor))
        func put(_ value: UInt64, _ bytes: Int, at offset: Int) {
            for i in 0..<bytes { out[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
        put(BootBundle.magic, 8, at: 0)
        put(UInt64(BootBundle.version), 4, at: 8)
        put(UInt64(BootBundle.headerSize), 4, at: 12)
        put(cursor, 8, at: 16)
        put(entryIPA, 8, at: 24)
        put(x0, 8, at: 32)
        put(UInt64(images.count), 4, at: 40)
        put(linux ? 1 : 0, 4, at: 44)
        for (i, image) in images.enumerated() {
            let at = BootBundle.headerSize + i * BootBundle.entrySize
            put(UInt64(image.kind.rawValue), 4, at: at)
            put(UInt64(image.bytes.withSpan { CRC32.checksum($0) }), 4, at: at + 4)
            put(offsets[i], 8, at: at + 8)
            put(UInt64(image.bytes.count), 8, at: at + 16)
            put(image.loadIPA, 8, at: at + 24)
            out.replaceSubrange(Int(offsets[i])..<Int(offsets[i]) + image.bytes.count, with: image.bytes)
        }
        let checksum = out.withSpan { BootBundle.headerChecksum($0, count: images.count) }
        put(UInt64(checksum), 4, at: 48)
        return out
    }

    private func align(_ value: UInt64) -> UInt64 {
        let a = UInt64(BootBundle.alignment)
        return (value + a - 1) / a * a
    }
}
