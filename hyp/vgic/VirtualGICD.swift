/// The guest's GIC distributor (GICD), emulated register by register: every access traps
/// (nothing is mapped at its IPA) and lands here. One model for both versions; GICv3 runs with
/// affinity routing always on, so its private interrupts live in the redistributors and SPIs
/// are routed with IROUTER; GICv2 banks INTIDs 0-31 per vCPU here and routes with ITARGETSR.
enum VirtualGICD {
    static let size: UInt64 = 0x1_0000

    private enum Reg {
        static let ctlr: UInt64 = 0x000
        static let typer: UInt64 = 0x004
        static let iidr: UInt64 = 0x008
        static let sgir: UInt64 = 0xF00        // v2
        static let cpendsgir: UInt64 = 0xF10   // v2, 16 bytes
        static let spendsgir: UInt64 = 0xF20   // v2, 16 bytes
        static let irouter: UInt64 = 0x6100    // v3, 64 bits per SPI (from INTID 32)
        static let pidr2v3: UInt64 = 0xFFE8
        static let pidr2v2: UInt64 = 0xFE8
    }

    /// Implementer Arm (0x43B), as QEMU's and KVM's virtual GICs report.
    static let iidr: UInt32 = 0x0000_043B

    static func read(_ vcpu: VCPUHandle, offset: UInt64, bytes: Int) -> UInt64 {
        let vm = vcpu.state.vmHandle
        let v3 = GIC.version == .v3
        if let (kind, intid) = IRQRegisters.decode(offset) {
            guard accessible(kind, offset: offset, bytes: bytes), !(v3 && intid < 32),
                  !(v3 && kind == .targets), let bank = VGIC.guestBank(vcpu, intid) else { return 0 }
            // The active bit of an interrupt in a list register is only as new as that
            // register's last sync: one the guest has EOIed since would read active for ever,
            // and Linux's synchronize_irq polls ISACTIVER until it clears (virtio's shutdown
            // hung in it). The reader's own registers are synced now (a GICv2 guest's private
            // interrupts are only ever in those); a vCPU that may hold one of the SPIs is told
            // to sync, and the guest's next poll sees it.
            let active = kind == .setActive || kind == .clearActive
            if active { VGIC.flush(vcpu) }
            VGIC.lock(vm)
            var value = IRQRegisters.read(kind, intid: intid, bytes: bytes, bank: bank.state,
                                          ownTarget: UInt8(truncatingIfNeeded: 1 << vcpu.state.id))
            if intid == 0 && (kind == .setPending || kind == .clearPending) {
                value = VGIC.pendingWord(value, of: vcpu, reader: vcpu)  // v2: banked, the reader's own
            }
            let stale = active && intid >= 32 && UInt32(truncatingIfNeeded: value) & bank.state.inLR != 0
            VGIC.unlock(vm)
            if stale { VGIC.notifyAll(vm, from: vcpu) }
            return value
        }
        switch offset {
        case Reg.ctlr:
            // v3: ARE (bit 4) and DS (bit 6) read as one: affinity routing, one security state.
            return UInt64(vm.state.vgic.ctlr | (v3 ? 1 << 4 | 1 << 6 : 0))
        case Reg.typer:
            let lines = UInt32(VirtualDistributor.intidLimit / 32 - 1)
            let cpus = UInt32(vm.state.vcpuCount - 1) << 5
            return UInt64(lines | cpus | (v3 ? 9 << 19 : 0))  // v3: IDbits = 10 INTID bits
        case Reg.iidr:
            return UInt64(iidr)
        case Reg.irouter..<(Reg.irouter + UInt64(VirtualDistributor.spiCount) * 8) where v3:
            let intid = 32 + Int((offset - Reg.irouter) / 8)
            guard routerAccessible(offset: offset, bytes: bytes), let bank = VGIC.guestBank(vcpu, intid) else { return 0 }
            let mask = bank.state.target[intid & 31]
            if offset & 4 != 0 { return 0 }  // upper half: Aff3, always 0
            if mask == 0xFF { return 1 << 31 }  // IRM: any vCPU
            return UInt64(mask.trailingZeroBitCount & 0xFF)
        case Reg.pidr2v3 where v3:
            return 0x3B  // ArchRev 3
        case Reg.pidr2v2 where !v3:
            return 0x2B  // ArchRev 2
        case Reg.spendsgir..<(Reg.spendsgir + 16) where !v3, Reg.cpendsgir..<(Reg.cpendsgir + 16) where !v3:
            // One byte per SGI: the vCPUs it is pending from.
            var value: UInt64 = 0
            let first = Int(offset & 0xF)
            for i in 0..<bytes where first + i < 16 {
                value |= UInt64(vcpu.state.vgic.sgiSources[first + i]) << UInt64(8 * i)
            }
            return value
        default:
            return 0  // reserved and unimplemented registers read as zero
        }
    }

    static func write(_ vcpu: VCPUHandle, offset: UInt64, bytes: Int, value: UInt64) {
        let vm = vcpu.state.vmHandle
        let v3 = GIC.version == .v3
        if let (kind, intid) = IRQRegisters.decode(offset) {
            guard accessible(kind, offset: offset, bytes: bytes), !(v3 && intid < 32),
                  !(v3 && kind == .targets), let bank = VGIC.guestBank(vcpu, intid) else { return }
            VGIC.lock(vm)
            let changed = IRQRegisters.write(kind, intid: intid, bytes: bytes, value: value, bank: &bank.state)
            if intid >= 32 && (kind == .setEnable || kind == .clearEnable || kind == .clearPending) {
                Passthrough.mirrorEnables(vm, bank: bank, firstINTID: intid & ~31)
            }
            VGIC.unlock(vm)
            if changed {
                if intid < 32 { VGIC.notify(vm, targets: 1 << UInt32(vcpu.state.id), from: vcpu) } else { VGIC.notifyAll(vm, from: vcpu) }
            }
            return
        }
        switch offset {
        case Reg.ctlr:
            VGIC.lock(vm)
            vm.state.vgic.ctlr = UInt32(truncatingIfNeeded: value) & 3
            VGIC.unlock(vm)
            VGIC.notifyAll(vm, from: vcpu)
        case Reg.irouter..<(Reg.irouter + UInt64(VirtualDistributor.spiCount) * 8) where v3:
            let intid = 32 + Int((offset - Reg.irouter) / 8)
            // The upper half (Aff3, always 0) and narrower accesses change nothing.
            guard routerAccessible(offset: offset, bytes: bytes), offset & 4 == 0,
                  let bank = VGIC.guestBank(vcpu, intid) else { return }
            let affinity = value & 0xFF_00FF_FFFF
            let target: UInt8
            if value & (1 << 31) != 0 {
                target = 0xFF
            } else if affinity < UInt64(vm.state.vcpuCount) {
                target = UInt8(truncatingIfNeeded: 1 << affinity)
            } else {
                target = 0  // no such vCPU: the SPI goes nowhere, as on hardware
            }
            VGIC.lock(vm)
            bank.state.target[intid & 31] = target
            VGIC.unlock(vm)
            VGIC.notifyAll(vm, from: vcpu)
        case Reg.sgir where !v3 && bytes == 4:
            let request = SGIRequest(gicdSGIR: UInt32(truncatingIfNeeded: value), sender: vcpu.state.id, vcpuCount: vm.state.vcpuCount)
            VGIC.raiseSGI(vcpu, intid: request.intid, targets: request.targets)
        default:
            break  // read-only, reserved and unimplemented registers ignore writes
        }
    }

    /// IROUTER is 64 bits wide and takes 64-bit accesses or 32-bit ones to either half (GICv3
    /// 12.1.3); a byte or halfword inside it is ignored, as it would otherwise route the SPI.
    private static func routerAccessible(offset: UInt64, bytes: Int) -> Bool {
        (bytes == 8 && offset & 7 == 0) || (bytes == 4 && offset & 3 == 0)
    }

    /// Bitmap registers take 32-bit accesses; priority and target bytes also single bytes.
    private static func accessible(_ kind: IRQRegisters.Kind, offset: UInt64, bytes: Int) -> Bool {
        if IRQRegisters.isByteRegister(kind) { return bytes == 1 || (bytes == 4 && offset & 3 == 0) }
        return bytes == 4 && offset & 3 == 0
    }
}

/// The guest's GICv3 redistributors: one 128 KiB region per vCPU (RD_base, then SGI_base), at
/// consecutive IPAs. A vCPU may read any of them (Linux walks them to find its own by affinity).
enum VirtualGICR {
    static let stride: UInt64 = 0x2_0000

    private enum Reg {
        static let ctlr: UInt64 = 0x0000
        static let iidr: UInt64 = 0x0004
        static let typer: UInt64 = 0x0008
        static let waker: UInt64 = 0x0014
        static let pidr2: UInt64 = 0xFFE8
        static let sgiFrame: UInt64 = 0x1_0000
    }

    static func read(_ caller: VCPUHandle, index: Int, offset: UInt64, bytes: Int) -> UInt64 {
        let vm = caller.state.vmHandle
        let owner = vm.state.vcpu(nospec(index, below: vm.state.vcpuCount))
        if offset >= Reg.sgiFrame {
            guard let (kind, intid) = IRQRegisters.decode(offset - Reg.sgiFrame), intid < 32, kind != .targets,
                  bytes == 4 || (bytes == 1 && kind == .priority) else { return 0 }
            let active = kind == .setActive || kind == .clearActive  // as in the distributor's read
            if active { VGIC.flush(caller) }
            VGIC.lock(vm)
            var value = IRQRegisters.read(kind, intid: intid, bytes: bytes, bank: owner.state.vgic.bank, ownTarget: 0)
            if kind == .setPending || kind == .clearPending { value = VGIC.pendingWord(value, of: owner, reader: caller) }
            let stale = active && owner != caller && UInt32(truncatingIfNeeded: value) & owner.state.vgic.bank.inLR != 0
            VGIC.unlock(vm)
            if stale { VGIC.notify(vm, targets: UInt32(1) << UInt32(owner.state.id), from: caller) }
            return value
        }
        switch offset {
        case Reg.iidr: return UInt64(VirtualGICD.iidr)
        case Reg.typer, Reg.typer + 4:
            // Affinity [63:32] = the vCPU's MPIDR affinity (Aff0 = its index), Processor_Number
            // [23:8], Last [4] on the final redistributor.
            let last: UInt64 = index == vm.state.vcpuCount - 1 ? 1 << 4 : 0
            let typer = UInt64(index) << 32 | UInt64(index) << 8 | last
            return offset == Reg.typer ? (bytes == 8 ? typer : typer & 0xFFFF_FFFF) : typer >> 32
        case Reg.waker:
            // ChildrenAsleep (bit 2) follows ProcessorSleep (bit 1) at once.
            return owner.state.vgic.processorSleep ? 0b110 : 0
        case Reg.pidr2: return 0x3B
        default: return 0  // CTLR (no LPIs), and the rest
        }
    }

    static func write(_ caller: VCPUHandle, index: Int, offset: UInt64, bytes: Int, value: UInt64) {
        let vm = caller.state.vmHandle
        let owner = vm.state.vcpu(nospec(index, below: vm.state.vcpuCount))
        if offset >= Reg.sgiFrame {
            guard let (kind, intid) = IRQRegisters.decode(offset - Reg.sgiFrame), intid < 32, kind != .targets,
                  bytes == 4 || (bytes == 1 && kind == .priority) else { return }
            VGIC.lock(vm)
            let changed = IRQRegisters.write(kind, intid: intid, bytes: bytes, value: value, bank: &owner.state.vgic.bank)
            VGIC.unlock(vm)
            if changed { VGIC.notify(vm, targets: 1 << UInt32(index), from: caller) }
            return
        }
        if offset == Reg.waker { owner.state.vgic.processorSleep = value & (1 << 1) != 0 }
    }
}
