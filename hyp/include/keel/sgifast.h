/*
 * The SGI fast path (hyp/arch/vectors.S, keel_sgi_fast): a guest's write of ICC_SGI1R_EL1 answered
 * in the synchronous vector, before the frame is saved, as trapSysReg and VGIC.raiseSGI answer it.
 *
 * With keel_sgi_fast_on set (GICv3, no full or memory tracing: SGIFastPath.swift), an MSR to
 * ICC_SGI1R_EL1 from AArch64 whose value is the plain form (IRM 0, Aff3-Aff1 0, RS 0, RES0 0:
 * a target list of vCPUs 0-15 and an INTID) for a vCPU with nothing to do before re-entry, whose
 * targets do not include itself, takes the VM's vGIC lock (one try: a held lock takes the Swift
 * path, which waits), marks the SGI pending in each target's bank, releases the lock, then sets
 * `dirty` (release) and kicks the CPU (Keel's SGI) of each target that has the SGI enabled and
 * is on. Then the PC steps over the MSR, the exit is counted and its ESR kept. Anything else
 * goes to the Swift path with every guest register as it came.
 *
 * Swift lays VCPU and VM out, so the offsets cannot be static asserts here: VCPUs.checkLayout()
 * compares each with MemoryLayout at boot and stops Keel before any guest runs if one differs
 * (SGIFastPath.matchesSwift). Offsets of irqfast.h and hvcfast.h are used as well.
 */
#ifndef KEEL_SGIFAST_H
#define KEEL_SGIFAST_H

#include "keel/pool.h"
#include "keel/context.h"

/* The vector's one-instruction filter: ESR bit 29 (EC bit 3) is set for SYS64 (0x18), clear for
 * the other exits a guest takes often (DABT_LOW 0x24, WFx 0x01, IABT_LOW 0x20, HVC64 0x16 and
 * SMC64 0x17, which the HVC filter takes first). No class with EC bit 3 set is light. */
#define KEEL_ESR_SYSREG_FILTER_BIT 29
/* ISS.Direction (bit 0): 1 for a read (MRS). Reads (ID registers) go to the Swift path at once. */
#define KEEL_ESR_SYSREG_READ_BIT 0
/* ESR_EL2 of MSR ICC_SGI1R_EL1, Xt with Rt = 0: EC 0x18, IL, Op0 3, Op2 5, Op1 0, CRn 12, CRm 11,
 * write. One movz and one movk load it; the vector compares it with every bit but Rt's. */
#define KEEL_ESR_SGI1R_WRITE    0x623A3016
#define KEEL_ESR_SGI1R_WRITE_LO 0x3016
#define KEEL_ESR_SGI1R_WRITE_HI 0x623A
#define KEEL_ESR_ALL_BUT_RT     0xFFFFFFFFFFFFFC1F  /* ~(0x1F << 5): a logical immediate */

/* The plain form of the value: bits [63:28] (Aff2, IRM, RS, Aff3, RES0) and [23:16] (Aff1) clear. */
#define KEEL_SGI1R_PLAIN_SHIFT  28
#define KEEL_SGI1R_AFF1_MASK    0x00FF0000

/* Keel's kick SGI (GIC.kickSGI) as ICC_SGI1R_EL1's INTID field; Aff0 = the physical CPU. */
#define KEEL_KICK_SGI           1
#define KEEL_KICK_SGI1R         (KEEL_KICK_SGI << 24)
/* PowerState.on (hyp/core/VCPU.swift). */
#define KEEL_POWER_ON           3

/* Offsets into VCPU (hyp/core/VCPU.swift), checked at boot. */
#define KEEL_VCPU_ID            0x120  /* id, Int: the vCPU's index in its VM */
#define KEEL_VCPU_PHYSICAL_CPU  0x130  /* physicalCPU, Int */
#define KEEL_VCPU_POWER         0x1D8  /* power, UInt32 (atomics) */
#define KEEL_VCPU_EXITS_SYS64   (KEEL_VCPU_EXITS_BY_EC + 4 * KEEL_EC_SYS64)
#define KEEL_VCPU_SLOT_SHIFT    11     /* KEEL_VCPU_SLOT == 1 << this */
/* Offsets into VM (hyp/core/VM.swift), checked at boot. */
#define KEEL_VM_VGIC_LOCK       0x210  /* vgic.lock, UInt32: 0 free, else the holder's token */
#define KEEL_VM_VCPU_COUNT      0x218  /* vcpuCount, Int */
#define KEEL_VM_FIRST_VCPU      0x220  /* firstVCPU, Int */

#ifndef __ASSEMBLER__
#include <stdint.h>

_Static_assert(KEEL_ESR_SGI1R_WRITE == (0x18u << 26 | 1u << 25 | 3u << 20 | 5u << 17 | 0u << 14 | 12u << 10 | 11u << 1),
               "MSR ICC_SGI1R_EL1 (S3_0_C12_C11_5), Rt 0");
_Static_assert((KEEL_ESR_SGI1R_WRITE >> 16) == KEEL_ESR_SGI1R_WRITE_HI && (KEEL_ESR_SGI1R_WRITE & 0xFFFF) == KEEL_ESR_SGI1R_WRITE_LO,
               "movz + movk");
_Static_assert((KEEL_ESR_SGI1R_WRITE >> KEEL_ESR_SYSREG_FILTER_BIT & 1) == 1, "the filter lets SYS64 through");
_Static_assert(((0x24u | 0x01u | 0x20u) << 26 >> KEEL_ESR_SYSREG_FILTER_BIT & 1) == 0, "and not the frequent exits");
/* With EC bits 1 and 3 clear (neither filter taken), WFx is the only light class left, so the
 * vector tests for it alone. */
_Static_assert((KEEL_LIGHT_EC_MASK & ~0xCCCCCCCCu & ~0xFF00FF00u) == (1u << KEEL_EC_WFX), "WFx the only light class left");
_Static_assert(((KEEL_LIGHT_EC_MASK & 0xFF00FF00u) == 0), "no light class has EC bit 3 set");
_Static_assert(KEEL_VCPU_SLOT == 1 << KEEL_VCPU_SLOT_SHIFT, "one shift from a vCPU's index to its slot");
_Static_assert(KEEL_MAX_CPUS <= 16, "Aff0 of every CPU fits ICC_SGI1R_EL1's target list");

/* Nonzero: the synchronous vector answers plain ICC_SGI1R_EL1 writes itself. Set only by
 * SGIFastPath.configure at boot, before any guest runs. */
extern uint32_t keel_sgi_fast_on;
static inline void keel_set_sgi_fast_on(uint32_t on) { keel_sgi_fast_on = on; }

#endif

#endif
