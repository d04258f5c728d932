/// The per-interrupt registers the GICv2/v3 distributor and the GICv3 redistributor's SGI
/// frame share, at the same offsets: IGROUPR, IS/ICENABLER, IS/ICPENDR, IS/ICACTIVER,
/// IPRIORITYR, ITARGETSR and ICFGR (Arm IHI 0069 12.9, IHI 0048B 4.3).
enum IRQRegisters {
    enum Kind { case group, setEnable, clearEnable, setPending, clearPending, setActive, clearActive, priority, targets, config }

    /// The register at `offset` and the first INTID it covers.
    static func decode(_ offset: UInt64) -> (kind: Kind, intid: Int)? {
        let o = Int(offset)
        switch o {
        case 0x080..<0x100: return (.group, (o - 0x080) * 8)
        case 0x100..<0x180: return (.setEnable, (o - 0x100) * 8)
        case 0x180..<0x200: return (.clearEnable, (o - 0x180) * 8)
        case 0x200..<0x280: return (.setPending, (o - 0x200) * 8)
        case 0x280..<0x300: return (.clearPending, (o - 0x280) * 8)
        case 0x300..<0x380: return (.setActive, (o - 0x300) * 8)
        case 0x380..<0x400: return (.clearActive, (o - 0x380) * 8)
        case 0x400..<0x800: return (.priority, o - 0x400)
        case 0x800..<0xC00: return (.targets, o - 0x800)
        case 0xC00..<0xD00: return (.config, (o - 0xC00) * 4)
        default: return nil
        }
    }

    /// True for the byte-accessible registers (priority, targets); the rest are 32-bit only.
    static func isByteRegister(_ kind: Kind) -> Bool { kind == .priority || kind == .targets }

    /// Read `bytes` bytes of register `kind` starting at `intid`, all in `bank`.
    /// `ownTarget` is what ITARGETSR reads for private interrupts (the vCPU's own bit).
    static func read(_ kind: Kind, intid: Int, bytes: Int, bank: IRQBank, ownTarget: UInt8) -> UInt64 {
        switch kind {
        case .group: return UInt64(bank.group1)
        case .setEnable, .clearEnable: return UInt64(bank.enabled)
        case .setPending, .clearPending: return UInt64(bank.pending | bank.level)
        case .setActive, .clearActive: return UInt64(bank.active)
        case .priority, .targets:
            var value: UInt64 = 0
            for i in 0..<bytes {
                let slot = (intid + i) & 31
                let byte = kind == .priority ? bank.priority[slot] : (intid + i < 32 ? ownTarget : bank.target[slot])
                value |= UInt64(byte) << UInt64(8 * i)
            }
            return value
        case .config:
            // Two bits per interrupt, bit 1 of each set for edge-triggered.
            var value: UInt64 = 0
            for k in 0..<16 where bank.edge & (1 << UInt32((intid + k) & 31)) != 0 { value |= 2 << UInt64(2 * k) }
            return value
        }
    }

    /// Write; returns true when delivery may have changed (the vCPUs concerned must look). A
    /// write that leaves the state as it was (Linux rewrites priorities and enables it already
    /// set) changes nothing and costs no list-register refill.
    @discardableResult
    static func write(_ kind: Kind, intid: Int, bytes: Int, value: UInt64, bank: inout IRQBank) -> Bool {
        let v = UInt32(truncatingIfNeeded: value)
        switch kind {
        case .group: return update(&bank.group1, v)
        case .setEnable: return update(&bank.enabled, bank.enabled | v)
        case .clearEnable:
            // One waiting in a list register must be taken back (VGIC.sync): look again.
            let hit = bank.enabled & v & bank.inLR
            bank.enabled &= ~v
            return hit != 0
        case .setPending: return update(&bank.pending, bank.pending | (intid == 0 ? v & ~0xFFFF : v))  // SGIs: only through SGI registers
        case .clearPending:
            bank.pending &= ~v
            bank.withdrawn |= v & bank.inLR
            return v & bank.inLR != 0
        case .setActive: bank.active |= v; return false
        case .clearActive: bank.active &= ~v; return false
        case .priority where bytes == 4 && intid & 3 == 0:
            // The common case (Linux writes whole words): one aligned word of the byte array.
            // Byte by byte through the checked array (`at | i` stays below 32); nothing is
            // written when the word is unchanged, as Linux's rewrites of its priorities are.
            let at = intid & 28
            let old = UInt32(bank.priority[at]) | UInt32(bank.priority[at | 1]) << 8
                | UInt32(bank.priority[at | 2]) << 16 | UInt32(bank.priority[at | 3]) << 24
            guard old != v else { return false }
            for i in 0..<4 { bank.priority[at | i] = UInt8(truncatingIfNeeded: v >> UInt32(8 * i)) }
            return true
        case .priority, .targets:
            var changed = false
            for i in 0..<bytes {
                let slot = (intid + i) & 31
                let byte = UInt8(truncatingIfNeeded: value >> UInt64(8 * i))
                if kind == .priority {
                    changed = changed || bank.priority[slot] != byte
                    bank.priority[slot] = byte
                } else if intid + i >= 32 {
                    changed = changed || bank.target[slot] != byte
                    bank.target[slot] = byte
                }
            }
            return changed
        case .config:
            let before = bank.edge
            for k in 0..<16 {
                let slot = (intid + k) & 31
                guard intid + k >= 16 else { continue }  // SGIs are always edge-triggered
                let edge = (v >> UInt32(2 * k + 1)) & 1 != 0
                if edge { bank.edge |= 1 << UInt32(slot) } else { bank.edge &= ~(1 << UInt32(slot)) }
            }
            return bank.edge != before
        }
    }

    /// Stores `new` in `word`; true when that changed it.
    @inline(__always)
    private static func update(_ word: inout UInt32, _ new: UInt32) -> Bool {
        defer { word = new }
        return word != new
    }
}
