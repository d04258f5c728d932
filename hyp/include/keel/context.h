/*
 * The guest register frame saved on every exit to EL2 and restored before ERET.
 *
 * The layout is defined here once: the assembly uses the KEEL_REGS_* offsets, Swift imports the
 * struct, and the static asserts below fail the build if the two ever disagree.
 */
#ifndef KEEL_CONTEXT_H
#define KEEL_CONTEXT_H

#define KEEL_REGS_X(n)    ((n) * 8)
#define KEEL_REGS_X30     KEEL_REGS_X(30)
#define KEEL_REGS_SP_EL0  (31 * 8)
#define KEEL_REGS_ELR     (32 * 8)
#define KEEL_REGS_SPSR    (33 * 8)
#define KEEL_REGS_SIZE    (34 * 8)

/* Kinds of exception the current-EL vectors report to keel_hyp_exception(). */
#define KEEL_EXC_SYNC   0
#define KEEL_EXC_IRQ    1
#define KEEL_EXC_FIQ    2
#define KEEL_EXC_SERROR 3

#ifndef __ASSEMBLER__
#include <stdint.h>
#include <stddef.h>

typedef struct keel_regs {
    uint64_t x[31];
    uint64_t sp_el0;
    uint64_t elr_el2;
    uint64_t spsr_el2;
} keel_regs;

_Static_assert(offsetof(keel_regs, x) == KEEL_REGS_X(0), "x0 offset");
_Static_assert(offsetof(keel_regs, sp_el0) == KEEL_REGS_SP_EL0, "sp_el0 offset");
_Static_assert(offsetof(keel_regs, elr_el2) == KEEL_REGS_ELR, "elr_el2 offset");
_Static_assert(offsetof(keel_regs, spsr_el2) == KEEL_REGS_SPSR, "spsr_el2 offset");
_Static_assert(sizeof(keel_regs) == KEEL_REGS_SIZE, "frame size");
/* The save code stores x30 and sp_el0 with one stp. */
_Static_assert(KEEL_REGS_SP_EL0 == KEEL_REGS_X30 + 8, "x30/sp_el0 adjacent");
_Static_assert(KEEL_REGS_SPSR == KEEL_REGS_ELR + 8, "elr/spsr adjacent");

/* Enter the guest whose frame TPIDR_EL2 points at: restore it and ERET. Never returns. */
__attribute__((noreturn)) void keel_enter_guest(void);
#endif

#endif
