import KeelHW

/// KeelCore's `CRC32.checksum` in the firmware, for long inputs, on a CPU with FEAT_CRC32: the
/// CRC32 instructions, eight bytes at a time (hyp/runtime/crc.c). Checking a Linux VM's images
/// at boot, tens of MiB, through the table took most of Keel's boot under QEMU.
enum HardwareCRC {
    /// Shorter inputs (trace records, headers) stay on the table: not worth the feature test.
    static let threshold = 4096

    /// ID_AA64ISAR0_EL1.CRC32 (bits 19:16): the instructions exist. Optional in Armv8.0 (every
    /// Cortex-A53/A57/A72 has them), mandatory from Armv8.1.
    static var available: Bool { (keel_read_id_reg(48) >> 16) & 0xF != 0 }

    static func checksum(_ bytes: Span<UInt8>, initial: UInt32) -> UInt32 {
        // Safety: `buffer` is the span's `count` readable bytes for the closure's duration;
        // keel_crc32_hw only reads them, and keeps no pointer past its return.
        unsafe bytes.withUnsafeBufferPointer { buffer in
            unsafe keel_crc32_hw(initial, buffer.baseAddress, buffer.count)
        }
    }
}
