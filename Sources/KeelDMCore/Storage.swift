// The Makefile compiles this into keel-dm as one module with KeelCore/DeviceModel (no import
// there); SwiftPM builds it as its own module.
#if canImport(KeelCore)
import KeelCore
#endif

/// A frontend's RAM as keel-dm reaches it, with bulk copies for buffers. The Linux program
/// implements it over the mmapped window; the tests and `keel-dm --self-test` over an array.
///
/// Contract (as `FrontendMemory`): callers check the range against `byteCount` first, and
/// `start + count` against the buffer.
public protocol DeviceRAM: FrontendMemory {
    func copyOut(_ offset: UInt64, into buffer: inout [UInt8], at start: Int, count: Int)
    func copyIn(_ offset: UInt64, from buffer: [UInt8], at start: Int, count: Int)
    /// Orders the stores before it before the loads after it (`dmb ish` where the RAM is shared
    /// with running CPUs): used.idx published before avail.flags is read, or a driver that
    /// re-enabled its interrupt and found no new used buffer would never get one.
    func fullFence()
}

/// A disk: the blk device reads and writes it by byte offset (sector * 512), straight between
/// the disk and the frontend's RAM it reaches (`RAM`): one copy per byte, no bounce buffer. The
/// Linux program implements it with memcpy between the mapped image and window; the tests and
/// `keel-dm --self-test` over arrays.
///
/// Contract: callers check `ramOffset..<ramOffset + count` against the RAM's `byteCount` first
/// (the walker checked every segment); the disk checks its own range.
public protocol BlockStore {
    associatedtype RAM: DeviceRAM
    var byteCount: UInt64 { get }
    /// Reads `count` bytes at `offset` into `ram` at `ramOffset`; false on an I/O error.
    mutating func read(at offset: UInt64, into ram: RAM, at ramOffset: UInt64, count: Int) -> Bool
    /// Writes `count` bytes of `ram` at `ramOffset` to the disk at `offset`; false on an I/O error.
    mutating func write(at offset: UInt64, from ram: RAM, at ramOffset: UInt64, count: Int) -> Bool
    mutating func flush() -> Bool
}

/// RAM in an array: for tests and the self-test. A class, so that the devices of one frontend
/// share it as they share the real window.
public final class ByteRAM: DeviceRAM {
    public var bytes: [UInt8]

    public init(size: Int) { bytes = [UInt8](repeating: 0, count: size) }

    public var byteCount: UInt64 { UInt64(bytes.count) }
    public func load8(_ o: UInt64) -> UInt8 { bytes[Int(o)] }
    public func load16(_ o: UInt64) -> UInt16 { UInt16(load8(o)) | UInt16(load8(o + 1)) << 8 }
    public func load32(_ o: UInt64) -> UInt32 { UInt32(load16(o)) | UInt32(load16(o + 2)) << 16 }
    public func load64(_ o: UInt64) -> UInt64 { UInt64(load32(o)) | UInt64(load32(o + 4)) << 32 }
    public func store8(_ o: UInt64, _ v: UInt8) { bytes[Int(o)] = v }
    public func store16(_ o: UInt64, _ v: UInt16) { store8(o, UInt8(truncatingIfNeeded: v)); store8(o + 1, UInt8(truncatingIfNeeded: v >> 8)) }
    public func store32(_ o: UInt64, _ v: UInt32) { store16(o, UInt16(truncatingIfNeeded: v)); store16(o + 2, UInt16(truncatingIfNeeded: v >> 16)) }
    public func store64(_ o: UInt64, _ v: UInt64) { store32(o, UInt32(truncatingIfNeeded: v)); store32(o + 4, UInt32(truncatingIfNeeded: v >> 32)) }
    public func acquireFence() {}
    public func releaseFence() {}
    public func fullFence() {}
    public func copyOut(_ offset: UInt64, into buffer: inout [UInt8], at start: Int, count: Int) {
        for i in 0..<count { buffer[start + i] = bytes[Int(offset) + i] }
    }
    public func copyIn(_ offset: UInt64, from buffer: [UInt8], at start: Int, count: Int) {
        for i in 0..<count { bytes[Int(offset) + i] = buffer[start + i] }
    }
}

/// A disk in an array, moving bytes to and from a `ByteRAM`: for tests and the self-test.
public struct ByteDisk: BlockStore {
    public var bytes: [UInt8]
    public var flushes = 0

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public var byteCount: UInt64 { UInt64(bytes.count) }
    private func fits(_ offset: UInt64, _ count: Int, _ ram: ByteRAM, _ ramOffset: UInt64) -> Bool {
        count >= 0 && offset <= byteCount && UInt64(count) <= byteCount - offset
            && ramOffset <= ram.byteCount && UInt64(count) <= ram.byteCount - ramOffset
    }
    public mutating func read(at offset: UInt64, into ram: ByteRAM, at ramOffset: UInt64, count: Int) -> Bool {
        guard fits(offset, count, ram, ramOffset) else { return false }
        for i in 0..<count { ram.bytes[Int(ramOffset) + i] = bytes[Int(offset) + i] }
        return true
    }
    public mutating func write(at offset: UInt64, from ram: ByteRAM, at ramOffset: UInt64, count: Int) -> Bool {
        guard fits(offset, count, ram, ramOffset) else { return false }
        for i in 0..<count { bytes[Int(offset) + i] = ram.bytes[Int(ramOffset) + i] }
        return true
    }
    public mutating func flush() -> Bool { flushes += 1; return true }
}
