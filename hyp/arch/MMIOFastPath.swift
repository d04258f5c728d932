import KeelHW

/// The synchronous vector answers a guest's 32-bit read of an emulated register whose value can
/// never change for its VM (hyp/arch/vectors.S, `keel_dabt_fast`; the registers and why each
/// qualifies: `ConstantRegisters`) from a per-VM table (keel/mmiofast.h), when nothing else must
/// happen on the exit. It counts the exit and keeps its ESR as `handleLowerSync` does and steps
/// the PC; every other data abort takes the Swift path (`trapDataAbort`) with the guest's
/// registers intact.
///
/// One source of truth: the table's values are what the Swift emulation answers
/// (`constantRegisterRead`), read once when the VM is built, before any of its vCPUs runs; the
/// table is read-only after. SYSTEM_RESET leaves it: none of the values depends on state a
/// reset changes. Tracing that records exits leaves every table empty, so every read reaches
/// the Swift path and is recorded.
enum MMIOFastPath {
    /// The syndrome the vector accepts, as the Swift path decodes it: a 32-bit read into Wt
    /// (register 0 here), no sign extension, from a 32-bit instruction.
    private static var accepted: ESR { ESR(rawValue: UInt64(KEEL_ESR_MMIO_READ32_TOP) << 21) }

    /// Whether keel/mmiofast.h agrees with Swift: the syndrome it accepts is the word read
    /// `MMIOAccess` makes of it, its exit counter is DABT_LOW's, and there is a table per VM.
    /// (The vCPU offsets are hvcfast.h's and irqfast.h's, checked by their own fast paths.)
    static var matchesSwift: Bool {
        guard let access = MMIOAccess(accepted.dataAbort) else { return false }
        return accepted.ec == ExceptionClass(rawValue: UInt8(KEEL_EC_DABT_LOW)) && accepted.il && !accepted.dataAbort.s1ptw
            && !access.isWrite && access.bytes == 4 && !access.signExtend && !access.is64Bit && access.register == 0
            && access.loadedValue(~0) == 0xFFFF_FFFF
            && MemoryLayout<VCPU>.offset(of: \.exits.byEC) == Int(KEEL_VCPU_EXITS_DABT_LOW) - 4 * Int(KEEL_EC_DABT_LOW)
            && VMs.capacity <= Int(KEEL_MAX_VMS)
    }

    /// Fill `vm`'s table (at VM start, its vCPUs built, none running): each constant register
    /// whose slot is still free gets its IPA and the value the Swift path would answer; a
    /// register whose slot another holds stays with the Swift path.
    @_optimize(size)
    static func fill(_ vm: VMHandle) {
        guard !Trace.recording, let access = MMIOAccess(accepted.dataAbort) else { return }
        let id = UInt64(vm.state.id)
        ConstantRegisters.forEach(in: vm) { ipa in
            let slot = keel_mmio_slot(ipa)
            guard ipa != 0, keel_mmio_slot_ipa(id, slot) == 0,
                  let value = constantRegisterRead(vm, ipa: ipa, access: access) else { return }
            keel_mmio_set_slot(id, slot, ipa, value)
        }
    }
}
