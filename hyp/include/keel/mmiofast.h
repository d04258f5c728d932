/*
 * The MMIO read fast path (hyp/arch/vectors.S, keel_dabt_fast): a guest's 32-bit read of an
 * emulated register whose value can never change for its VM, answered in the synchronous vector
 * before the frame is saved, from a per-VM table the Swift emulation filled once at VM start
 * (MMIOFastPath.swift, ConstantRegisters.swift).
 *
 * A data abort from a lower EL (EC 0x24) with IL 1, ISV 1, SAS 2 (a word), SSE 0, SF 0, AR 0,
 * WnR 0 (a read), S1PTW 0, CM 0, EA 0, FnV 0 and ISS2 0, whose IPA (HPFAR_EL2 and FAR_EL2, as
 * faultingIPA) is a slot's key, for a vCPU with nothing to do before re-entry (vgic.dirty, stop),
 * gets the slot's value in Wt (zero-extended; the zero register discards it), ELR_EL2 + 4, the
 * exit counted and its ESR kept, as handleLowerSync would. Anything else goes to the Swift path
 * with every guest register as it came.
 *
 * The table: KEEL_MMIO_SLOTS slots of (IPA, value) per VM slot, direct-mapped by
 * KEEL_MMIO_HASH(ipa); an empty slot holds IPA 0, which no tabled register has. Written only
 * before any vCPU of its VM runs (and never while tracing records exits: every exit must reach
 * the Swift path then), read-only afterwards.
 */
#ifndef KEEL_MMIOFAST_H
#define KEEL_MMIOFAST_H

#include "keel/pool.h"
#include "keel/context.h"
#include "keel/hvcfast.h"
#include "keel/irqfast.h"

/* The vector's filter: ESR bit 28 (EC bit 2) is set for DABT_LOW (0x24), clear for WFx (0x01)
 * and IABT_LOW (0x20); HVC/SMC (EC bit 1) and MRS/MSR (EC bit 3) are taken by the filters before. */
#define KEEL_ESR_DABT_FILTER_BIT 28
/* ESR_EL2 >> 21: EC 0x24, IL 1, ISV 1, SAS 2, SSE 0 (and ESR_EL2[63:32], ISS2, 0). */
#define KEEL_ESR_MMIO_READ32_TOP 0x49C
/* ESR_EL2 bits that must be clear: SF (15), AR (14), VNCR (13), SET (12:11), FnV (10), EA (9),
 * CM (8), S1PTW (7), WnR (6). A logical immediate (ten ones). */
#define KEEL_ESR_MMIO_READ_CLEAR 0xFFC0
/* ISS.WnR: tested first, alone, so that a write pays one instruction for the fast path. */
#define KEEL_ESR_WNR_BIT 6

/* The exit counter handleLowerSync bumps (hvcfast.h's offsets, checked at boot). */
#define KEEL_VCPU_EXITS_DABT_LOW 0x270  /* exits.byEC[0x24], UInt32 */

/* The per-VM table. */
#define KEEL_MMIO_SLOTS       64
#define KEEL_MMIO_SLOT_SHIFT  4     /* 16 bytes: IPA, value */
#define KEEL_MMIO_TABLE_SHIFT 10    /* KEEL_MMIO_SLOTS << KEEL_MMIO_SLOT_SHIFT */
/* The slot of an IPA: bits [7:2] of ipa ^ (ipa >> 11), so a register's offset (bits 7:2) and its
 * 4 KiB page (bits 18:13: the redistributor frames are 128 KiB apart) both spread the slots. */
#define KEEL_MMIO_HASH_SHIFT  11
#define KEEL_MMIO_HASH(ipa)   ((((ipa) ^ ((ipa) >> KEEL_MMIO_HASH_SHIFT)) >> 2) & (KEEL_MMIO_SLOTS - 1))

#ifndef __ASSEMBLER__
#include <stdint.h>

_Static_assert(KEEL_ESR_MMIO_READ32_TOP == (0x24u << 5 | 1u << 4 | 1u << 3 | 2u << 1 | 0u),
               "EC DABT_LOW, IL, ISV, SAS word, SSE 0");
_Static_assert(((unsigned)KEEL_EC_DABT_LOW << 26 >> KEEL_ESR_DABT_FILTER_BIT & 1) == 1, "the filter lets DABT_LOW through");
_Static_assert(((0x01u | 0x20u) << 26 >> KEEL_ESR_DABT_FILTER_BIT & 1) == 0, "and not WFx or IABT_LOW");
_Static_assert((KEEL_ESR_MMIO_READ_CLEAR >> KEEL_ESR_WNR_BIT & 1) == 1, "WnR is among the bits a read has clear");
_Static_assert(KEEL_VCPU_EXITS_DABT_LOW == KEEL_VCPU_EXITS_BY_EC + 4 * KEEL_EC_DABT_LOW, "byEC[DABT_LOW]");
_Static_assert(KEEL_MMIO_TABLE_SHIFT == KEEL_MMIO_SLOT_SHIFT + 6 && KEEL_MMIO_SLOTS == 64, "one shift per VM");

/* KEEL_MAX_VMS tables, in BSS (vectors.S). */
extern uint64_t keel_mmio_const[KEEL_MAX_VMS * KEEL_MMIO_SLOTS * 2];
/* Bit n set: some VM's table holds a register whose IPA[7:2] is n. The vector's first test: a
 * read anywhere else (UART FR and DR, the GIC's interrupt registers) leaves without the lookup.
 * Only ever gains bits, each before the VM whose register it is runs. */
extern uint64_t keel_mmio_offsets;

static inline uint64_t keel_mmio_slot(uint64_t ipa) { return KEEL_MMIO_HASH(ipa); }
/* Out of range: ~0, never free. */
static inline uint64_t keel_mmio_slot_ipa(uint64_t vm, uint64_t slot) {
    if (vm >= KEEL_MAX_VMS || slot >= KEEL_MMIO_SLOTS) return ~(uint64_t)0;
    return keel_mmio_const[(vm * KEEL_MMIO_SLOTS + slot) * 2];
}
/* Out of range: nothing written. */
static inline void keel_mmio_set_slot(uint64_t vm, uint64_t slot, uint64_t ipa, uint64_t value) {
    if (vm >= KEEL_MAX_VMS || slot >= KEEL_MMIO_SLOTS) return;
    keel_mmio_const[(vm * KEEL_MMIO_SLOTS + slot) * 2 + 1] = value;
    keel_mmio_const[(vm * KEEL_MMIO_SLOTS + slot) * 2] = ipa;
    keel_mmio_offsets |= (uint64_t)1 << (ipa >> 2 & 63);
}
#endif

#endif
