/*
 * The virtual timer's fast path (hyp/arch/vectors.S, keel_irq_fast): what it reads and writes in
 * Swift's VCPU and VM.
 *
 * With keel_irq_fast_on set (GICv3, no full tracing, a board whose GIC signals the guest's
 * virtual IRQ itself: IRQFastPath.swift), the IRQ vector acknowledges the interrupt itself. When
 * it is the virtual timer's PPI and the list register that held the timer's previous instance is
 * empty again, with nothing else to do on this exit, the new instance goes straight back into that
 * register, linked to the physical one (HW bit), before any of the guest's frame is saved: what
 * VGIC.raiseHardwareFast does, without the exit. Anything else goes to the Swift handler with the
 * IAR it read (or KEEL_IRQ_NOT_ACKNOWLEDGED when the fast path is off).
 *
 * Swift lays VCPU and VM out, so the offsets cannot be static asserts here: VCPUs.checkLayout()
 * compares each with MemoryLayout at boot and stops Keel before any guest runs if one differs.
 */
#ifndef KEEL_IRQFAST_H
#define KEEL_IRQFAST_H

#include "keel/pool.h"

/* What the vector passes the Swift handler in x1 when it did not read ICC_IAR1_EL1 itself. */
#define KEEL_IRQ_NOT_ACKNOWLEDGED (-1)
/* The virtual timer's PPI (GIC.virtualTimerPPI), which the vector answers; Keel's kick
 * (KEEL_KICK_SGI, keel/sgifast.h) it answers in keel_irq_kick when only one SGI's refill is due. */
#define KEEL_IRQFAST_INTID 27

/* Offsets into VCPU (hyp/core/VCPU.swift), checked at boot. */
#define KEEL_VCPU_VM               0x128  /* vm, Int: the VM's index in keel_vm_pool */
#define KEEL_VCPU_VGIC             0x138  /* vgic, VGICCPU: the assembly's base register */
#define KEEL_VCPU_BANK_ENABLED     0x138  /* vgic.bank.enabled, UInt32; pending follows (ldp) */
#define KEEL_VCPU_BANK_PENDING     0x13C
#define KEEL_VCPU_BANK_LEVEL       0x140  /* vgic.bank.level, UInt32 */
#define KEEL_VCPU_BANK_ACTIVE      0x144
#define KEEL_VCPU_BANK_GROUP1      0x14C
#define KEEL_VCPU_BANK_INLR        0x150  /* vgic.bank.inLR, UInt32; hardware follows (ldp) */
#define KEEL_VCPU_BANK_HARDWARE    0x154
#define KEEL_VCPU_BANK_WITHDRAWN   0x158  /* vgic.bank.withdrawn, UInt32 */
#define KEEL_VCPU_BANK_PRIORITY    0x15C  /* vgic.bank.priority, [32 of UInt8] */
#define KEEL_VCPU_LR_INTID         0x1AC  /* vgic.lrINTID, [16 of UInt16] */
#define KEEL_VCPU_USED_LRS         0x1CC  /* vgic.usedLRs, UInt32 */
#define KEEL_VCPU_VGIC_UNDERFLOW   0x1D4  /* vgic.underflow, Bool */
#define KEEL_VCPU_EXITS_IRQ        0x2E0  /* exits.irq, UInt32 */
/* (vgic.dirty and stop: keel/hvcfast.h.) Offsets into VM (hyp/core/VM.swift), checked at boot. */
#define KEEL_VM_VGIC_CTLR          0x144  /* vgic.ctlr, UInt32: bit 0 group 0, bit 1 group 1 enabled */
#define KEEL_VM_VGIC_SPIS          0x148  /* vgic.spis, [2 of IRQBank] */
#define KEEL_VM_SPI_BANKS          2      /* VirtualDistributor.spiCount / 32 */
/* Offsets into IRQBank (hyp/vgic/IRQBank.swift) and its stride, checked at boot. */
#define KEEL_BANK_ENABLED          0
#define KEEL_BANK_PENDING          4
#define KEEL_BANK_LEVEL            8
#define KEEL_BANK_GROUP1           20
#define KEEL_BANK_INLR             24
#define KEEL_BANK_PRIORITY         36     /* [32 of UInt8] */
#define KEEL_BANK_STRIDE           100
#define KEEL_VM_SLOT_SHIFT         11     /* KEEL_VM_SLOT == 1 << this */

#ifndef __ASSEMBLER__
#include <stdint.h>

_Static_assert(KEEL_VM_SLOT == 1 << KEEL_VM_SLOT_SHIFT, "one shift from a VM's index to its slot");
_Static_assert(KEEL_VCPU_BANK_PENDING == KEEL_VCPU_BANK_ENABLED + 4 && KEEL_VCPU_BANK_HARDWARE == KEEL_VCPU_BANK_INLR + 4,
               "pairs for ldp");
_Static_assert(KEEL_VCPU_BANK_LEVEL == KEEL_VCPU_BANK_ENABLED + KEEL_BANK_LEVEL
               && KEEL_VCPU_BANK_GROUP1 == KEEL_VCPU_BANK_ENABLED + KEEL_BANK_GROUP1
               && KEEL_VCPU_BANK_INLR == KEEL_VCPU_BANK_ENABLED + KEEL_BANK_INLR
               && KEEL_VCPU_BANK_PENDING == KEEL_VCPU_BANK_ENABLED + KEEL_BANK_PENDING, "one IRQBank layout");
_Static_assert(KEEL_BANK_PENDING == KEEL_BANK_ENABLED + 4, "a pair for ldp");
_Static_assert(KEEL_VCPU_BANK_INLR - KEEL_VCPU_VGIC <= 252 && (KEEL_VCPU_BANK_ENABLED - KEEL_VCPU_VGIC) % 4 == 0,
               "ldp offsets from the vgic base");

/* Nonzero: the IRQ vector acknowledges interrupts itself and answers the virtual timer's. Set only
 * by IRQFastPath.configure at boot, before any guest runs. */
extern uint32_t keel_irq_fast_on;
static inline void keel_set_irq_fast_on(uint32_t on) { keel_irq_fast_on = on; }
static inline uint32_t keel_irq_fast_enabled(void) { return keel_irq_fast_on; }

#endif

#endif
