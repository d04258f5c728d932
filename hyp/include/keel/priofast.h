/*
 * The priority-write fast path (hyp/arch/vectors.S, keel_prio_write_fast): a guest's word write
 * of GICD_IPRIORITYR8-23 (the priorities of SPIs 32-95, all the VM has) that leaves the four
 * priorities as they are, answered in the synchronous vector before the frame is saved, as
 * VirtualGICD.write and IRQRegisters.write answer it: under the VM's vGIC lock (one try: held,
 * the Swift path) the four bytes are compared and, equal, nothing is written and no vCPU is
 * notified. A value that changes them takes the Swift path (it writes them and notifies every
 * vCPU, this one's refill included), as does anything else; the tests before the lock are the
 * UART fast path's (keel/uartfast.h) with the distributor's first page for the UART's.
 *
 * Swift lays VM and IRQBank out: VCPUs.checkLayout() compares each offset with MemoryLayout at
 * boot (UARTFastPath.matchesSwift).
 */
#ifndef KEEL_PRIOFAST_H
#define KEEL_PRIOFAST_H

#include "keel/sgifast.h"
#include "keel/irqfast.h"

/* GICD_IPRIORITYR8-23: byte offsets 0x420-0x45F of the distributor, one byte per INTID 32-95. */
#define KEEL_GICD_PRIO_FIRST   0x420
#define KEEL_GICD_PRIO_WORDS   0x3C    /* (offset - FIRST): a word of 0x00-0x3C */

/* Offset into VM (hyp/core/VM.swift), checked at boot; the SPI banks' and IRQBank's are
 * keel/irqfast.h's (the vector adds bank * (stride - 32) = bank * 68: lsl 6 + lsl 2). */
#define KEEL_VM_GICD_IPA       0x38    /* layout.gicDistributorIPA, UInt64 */
/* spis[0].priority[0], from the lock word (the vector's base register). */
#define KEEL_PRIO_AT_LOCK      (KEEL_VM_VGIC_SPIS + KEEL_BANK_PRIORITY - KEEL_VM_VGIC_LOCK)

#ifndef __ASSEMBLER__
#include <stdint.h>
/* Nonzero: the vector answers unchanged priority writes. Set only by UARTFastPath.configure at
 * boot, before any guest runs: off while tracing records exits. */
extern uint32_t keel_prio_fast_on;
static inline void keel_set_prio_fast_on(uint32_t on) { keel_prio_fast_on = on; }
_Static_assert(KEEL_BANK_STRIDE - 32 == (1 << 6) + (1 << 2), "bank * (stride - 32) as two shifted adds");
_Static_assert(KEEL_PRIO_AT_LOCK >= -256 && KEEL_PRIO_AT_LOCK + KEEL_GICD_PRIO_WORDS + KEEL_BANK_STRIDE - 32 < 256,
               "every priority word within ldur's reach of the lock word");
_Static_assert((KEEL_GICD_PRIO_FIRST & 3) == 0 && KEEL_GICD_PRIO_FIRST >= 0x80, "word-aligned; beyond the UART's offsets");
#endif

#endif
