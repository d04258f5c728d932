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
#define KEEL_REGS_RESTORE_ALL (34 * 8)
#define KEEL_REGS_SIZE    (36 * 8)   /* a multiple of 16: the panic path builds one on SP */

/*
 * Light and full exits. An exit always saves the registers a C/Swift call may clobber (x0-x18,
 * x30; x19 rides along in the same stp) and ELR/SPSR. The handler then preserves x20-x29 itself
 * (AAPCS64 callee-saved), and SP_EL0 is never touched at EL2, so an exit whose handler reads and
 * writes only x0-x19 and the PC never has to save or restore the rest. The exception classes
 * below are such light exits (SMCCC over HVC/SMC returns in x0-x3; WFx moves the PC); so are
 * IRQ, FIQ and SError exits. Every other class saves the whole frame first, since its handler may
 * name any register (an MMIO load into x25, MSR from x27, ...).
 */
/* A data abort the guest's stage 2 caught (MMIO) is light too when its syndrome names the
 * register (ISS.ISV) and that register is below x20 or the zero register (SRT 31): its handler
 * touches no other. */
#define KEEL_EC_DABT_LOW 0x24
#define KEEL_ISS_ISV_BIT 24
#define KEEL_ISS_SRT_SHIFT 16
/* So is a trapped MRS/MSR (SYS64) whose Rt (ISS[9:5]) is such a register. */
#define KEEL_EC_SYS64   0x18
#define KEEL_ISS_RT_SHIFT 5
#define KEEL_FIRST_CALLEE_SAVED 20
#define KEEL_EC_WFX     0x01
#define KEEL_EC_HVC64   0x16
#define KEEL_EC_SMC64   0x17
#define KEEL_LIGHT_EC_MASK ((1 << KEEL_EC_WFX) | (1 << KEEL_EC_HVC64) | (1 << KEEL_EC_SMC64))
/* The vectors load the mask with one movz and one movk. */
#define KEEL_LIGHT_EC_MASK_LO (KEEL_LIGHT_EC_MASK & 0xFFFF)
#define KEEL_LIGHT_EC_MASK_HI ((KEEL_LIGHT_EC_MASK >> 16) & 0xFFFF)

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
    /* Nonzero: x20-x29 and SP_EL0 in this frame are newer than the registers (a full exit
     * saved them, or Keel rewrote the whole frame: a vCPU reset), so the next entry restores
     * them too, and clears this. Zero: they are live in the registers. */
    uint64_t restore_all;
    uint64_t reserved;
} keel_regs;

_Static_assert(offsetof(keel_regs, x) == KEEL_REGS_X(0), "x0 offset");
_Static_assert(offsetof(keel_regs, sp_el0) == KEEL_REGS_SP_EL0, "sp_el0 offset");
_Static_assert(offsetof(keel_regs, elr_el2) == KEEL_REGS_ELR, "elr_el2 offset");
_Static_assert(offsetof(keel_regs, spsr_el2) == KEEL_REGS_SPSR, "spsr_el2 offset");
_Static_assert(offsetof(keel_regs, restore_all) == KEEL_REGS_RESTORE_ALL, "restore_all offset");
_Static_assert(sizeof(keel_regs) == KEEL_REGS_SIZE, "frame size");
_Static_assert(KEEL_REGS_SIZE % 16 == 0, "SP stays 16-byte aligned");
_Static_assert(KEEL_LIGHT_EC_MASK == (KEEL_LIGHT_EC_MASK_HI << 16 | KEEL_LIGHT_EC_MASK_LO), "mask fits movz+movk");
/* The save code stores x30 and sp_el0 with one stp. */
_Static_assert(KEEL_REGS_SP_EL0 == KEEL_REGS_X30 + 8, "x30/sp_el0 adjacent");
_Static_assert(KEEL_REGS_SPSR == KEEL_REGS_ELR + 8, "elr/spsr adjacent");

/* Enter the guest whose frame TPIDR_EL2 points at: restore it (all of it when restore_all is
 * set) and ERET. Never returns. */
__attribute__((noreturn)) void keel_enter_guest(void);
#endif

#endif
