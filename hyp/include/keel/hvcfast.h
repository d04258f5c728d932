/*
 * The HVC fast path (hyp/arch/vectors.S, keel_hvc_fast): what it answers, and where in Swift's
 * VCPU it counts the exit.
 *
 * HVC #0 from AArch64 with one of the function ids below is answered in the vector, before the
 * frame is saved, with the constant the Swift path (hyp/core/Hypercall.swift) gives every VM:
 *   SMCCC_VERSION (0x80000000) and PSCI_VERSION (0x84000000): x0 = 0x10001 (v1.1);
 *   every id whose top byte is 0xC6 (vendor hypervisor service, SMC64 convention): x0 = -1
 *   (NOT_SUPPORTED). Keel's own vendor calls are all SMC32 (0x86...), so none is in that range.
 * x1-x3 are left as the guest passed them, as the Swift path leaves them for these calls.
 *
 * Swift lays VCPU out, so the offsets cannot be static asserts here: VCPUs.checkLayout() compares
 * each with MemoryLayout<VCPU>.offset(of:) at boot, and the ids and answers with KeelCore's
 * SMCCC and PSCI, and stops Keel before any guest runs if one differs (HVCFastPath.swift).
 */
#ifndef KEEL_HVCFAST_H
#define KEEL_HVCFAST_H

/* ESR_EL2 of HVC #0 from AArch64: EC 0x16, IL 1, ISS (imm16) 0. One movz loads it. */
#define KEEL_ESR_HVC64_IMM0    0x5A000000
#define KEEL_ESR_HVC64_IMM0_HI 0x5A00
/* The vector's one-instruction filter: ESR bit 27 (EC bit 1) is set for HVC64 (0x16) and SMC64
 * (0x17), clear for the exits a guest takes often: DABT_LOW (0x24), SYS64 (0x18), WFx (0x01),
 * IABT_LOW (0x20). */
#define KEEL_ESR_HVC64_FILTER_BIT 27

/* The two version calls differ in bit 26 only: the vector tests both with one eor and one and. */
#define KEEL_FAST_SMCCC_VERSION 0x80000000
#define KEEL_FAST_PSCI_VERSION  0x84000000
#define KEEL_FAST_VERSION_MASK  0xFBFFFFFF   /* ~(SMCCC_VERSION ^ PSCI_VERSION), 32 bits */
#define KEEL_FAST_VERSION_ANSWER 0x10001     /* SMCCC v1.1, PSCI v1.1 */
/* ids >> 24 answered NOT_SUPPORTED: fast call, SMC64, owner 6 (vendor hypervisor). */
#define KEEL_FAST_UNKNOWN_TOP   0xC6

/* Offsets into VCPU (hyp/core/VCPU.swift), checked at boot. */
#define KEEL_VCPU_VGIC_DIRTY   0x1D0  /* vgic.dirty, UInt32 */
#define KEEL_VCPU_STOP         0x1DC  /* stop, UInt32 */
#define KEEL_VCPU_EXITS_BY_EC  0x1E0  /* exits.byEC, [64 of UInt32] */
#define KEEL_VCPU_EXIT_ESR     0x2F0  /* exitESR, UInt64 */
#define KEEL_VCPU_EXITS_HVC64  (KEEL_VCPU_EXITS_BY_EC + 4 * 0x16)

#ifndef __ASSEMBLER__
#include <stdint.h>

_Static_assert((KEEL_ESR_HVC64_IMM0 & 0xFFFF) == 0 && (KEEL_ESR_HVC64_IMM0 >> 16) == KEEL_ESR_HVC64_IMM0_HI, "one movz");
_Static_assert(KEEL_ESR_HVC64_IMM0 == (0x16u << 26 | 1u << 25), "HVC64, IL, imm16 0");
_Static_assert((KEEL_ESR_HVC64_IMM0 >> KEEL_ESR_HVC64_FILTER_BIT & 1) == 1, "the filter lets HVC64 through");
_Static_assert(((0x24u | 0x18u | 0x01u | 0x20u) << 26 >> KEEL_ESR_HVC64_FILTER_BIT & 1) == 0, "and not the frequent exits");
_Static_assert(KEEL_FAST_VERSION_MASK == (0xFFFFFFFFu & ~(KEEL_FAST_SMCCC_VERSION ^ KEEL_FAST_PSCI_VERSION)), "mask");
_Static_assert((KEEL_VCPU_EXIT_ESR & 7) == 0 && (KEEL_VCPU_VGIC_DIRTY & 3) == 0 && (KEEL_VCPU_STOP & 3) == 0
               && (KEEL_VCPU_EXITS_BY_EC & 3) == 0, "aligned for ldr/str immediates");

/* Nonzero: every HVC goes to the Swift path (full tracing records each exit there). Set only by
 * Trace.start, before any guest runs. */
extern uint32_t keel_hvc_fast_off;
static inline void keel_set_hvc_fast_off(uint32_t off) { keel_hvc_fast_off = off; }

#endif

#endif
