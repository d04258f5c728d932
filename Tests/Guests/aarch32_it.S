/* AArch32 EL0 tasks whose instructions Keel emulates (issue 12, item 4). The guest's EL1 is
 * AArch64; it drops to T32 (and A32) code at EL0 and gets back on its SVC. Each task traps to
 * Keel: MMIO loads and stores inside IT blocks, which Keel emulates and steps over, advancing
 * PSTATE.IT as the hardware would have so the rest of the block runs under the right
 * conditions; and WFIs (HCR_EL2.TWI) of both lengths and both instruction sets outside blocks. Prints "a32: NAME r1=.. r2=.. r3=.. cpsr=.. ec=..", the
 * task's registers and CPSR at its SVC (ec 0x11) or at whatever else ended it.
 *
 * The tasks are T32/A32 machine code (an AArch64 assembler cannot emit them), assembled with
 * `clang --target=armv8a-none-eabi` from the source in the comments. */
#include "guest.h"

#define SCTLR_NTWI      (1 << 16)       /* EL0 WFI does not trap to EL1 (so it reaches EL2) */
#define SCTLR_NTWE      (1 << 18)
#define SPSR_USR_T32    0x30            /* AArch32 User mode, T32 */
#define SPSR_USR_A32    0x10            /* AArch32 User mode, A32 */

/* Run the task at `label` with `spsr`, then print what it left. */
.macro TASK name, label, spsr
    adr     x0, \label
    mov     x1, #\spsr
    bl      run_task
    ADR_STR "a32: \name"
    bl      report
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "a32: start\n"
    adrp    x0, a32_vectors
    add     x0, x0, :lo12:a32_vectors
    msr     vbar_el1, x0
    mrs     x0, sctlr_el1
    orr     x0, x0, #SCTLR_NTWI
    orr     x0, x0, #SCTLR_NTWE
    msr     sctlr_el1, x0
    isb

    TASK    it_mmio16, it_mmio16, SPSR_USR_T32
    TASK    it_mmio32, it_mmio32, SPSR_USR_T32
    TASK    it_store, it_store, SPSR_USR_T32
    TASK    t32_wfi16, t32_wfi16, SPSR_USR_T32
    TASK    t32_wfi32, t32_wfi32, SPSR_USR_T32
    TASK    a32_wfi, a32_wfi, SPSR_USR_A32

    PRINT   "a32: done\n"
    ldp     x29, x30, [sp], #16
    ret

/* x0: entry, x1: SPSR. Enters the task at EL0 and returns when it comes back to EL1. AArch32
 * execution leaves x0-x30 UNKNOWN-ish (banked registers of other modes), so every callee-saved
 * register and the return address go to memory first. */
run_task:
    adrp    x9, saved
    add     x9, x9, :lo12:saved
    stp     x19, x20, [x9]
    stp     x21, x22, [x9, #16]
    stp     x23, x24, [x9, #32]
    stp     x25, x26, [x9, #48]
    stp     x27, x28, [x9, #64]
    stp     x29, x30, [x9, #80]
    msr     elr_el1, x0
    msr     spsr_el1, x1
    isb
    eret

/* Where the lower-EL AArch32 vector sends the guest back. */
task_return:
    adrp    x9, saved
    add     x9, x9, :lo12:saved
    ldp     x19, x20, [x9]
    ldp     x21, x22, [x9, #16]
    ldp     x23, x24, [x9, #32]
    ldp     x25, x26, [x9, #48]
    ldp     x27, x28, [x9, #64]
    ldp     x29, x30, [x9, #80]
    ret

/* x0: name. Prints "NAME r1=.. r2=.. r3=.. cpsr=.. ec=..". */
report:
    stp     x19, x30, [sp, #-16]!
    bl      puts
    adrp    x19, task_regs
    add     x19, x19, :lo12:task_regs
    ADR_STR " r1="
    bl      puts
    ldr     w0, [x19, #8]
    bl      puthex
    ADR_STR " r2="
    bl      puts
    ldr     w0, [x19, #16]
    bl      puthex
    ADR_STR " r3="
    bl      puts
    ldr     w0, [x19, #24]
    bl      puthex
    ADR_STR " cpsr="
    bl      puts
    ldr     x0, [x19, #48]
    bl      puthex
    ADR_STR " ec="
    bl      puts
    ldr     x0, [x19, #56]
    lsr     x0, x0, #26
    bl      puthex
    bl      newline
    ldp     x19, x30, [sp], #16
    ret

/* Any exception from the AArch32 task (its SVC, or an UNDEF Keel injected): record r0-r5, the
 * CPSR, ESR and return address, and go back to EL1 at task_return. */
a32_sync:
    adrp    x9, task_regs
    add     x9, x9, :lo12:task_regs
    stp     x0, x1, [x9]
    stp     x2, x3, [x9, #16]
    stp     x4, x5, [x9, #32]
    mrs     x10, spsr_el1
    str     x10, [x9, #48]
    mrs     x10, esr_el1
    str     x10, [x9, #56]
    mrs     x10, elr_el1
    str     x10, [x9, #64]
    adr     x10, task_return
    msr     elr_el1, x10
    mov     x10, #0x3c5
    msr     spsr_el1, x10
    eret

a32_unexpected:
    mov     x19, x0
    PRINT_KV "a32: unexpected exception, vector ", x19
    mrs     x19, esr_el1
    PRINT_KV "a32: esr_el1=", x19
    bl      system_off

.macro VEC id
    .balign 0x80
    mov     x0, #\id
    b       a32_unexpected
.endm

    .balign 0x800
a32_vectors:
    VEC 0x000
    VEC 0x080
    VEC 0x100
    VEC 0x180
    VEC 0x200
    VEC 0x280
    VEC 0x300
    VEC 0x380
    VEC 0x400
    VEC 0x480
    VEC 0x500
    VEC 0x580
    .balign 0x80
    b       a32_sync                    /* 0x600: synchronous, lower EL, AArch32 */
    VEC 0x680
    VEC 0x700
    VEC 0x780

/* The EL0 tasks. Condition flags: movs r0, #1 leaves Z clear (NE holds), movs r0, #0 sets it.
 * Each IT-block task puts a load or store to the emulated UART in the block's first slot, then
 * instructions in the other slots that reveal which slot the CPU thinks it is in: stepped over
 * without the IT advance, the block shifts by one instruction. (No WFI inside an IT block here:
 * QEMU 7.2 reports such a WFI trap with the IT state of the next instruction, and sometimes
 * completes the WFI without trapping at all.) */
    .balign 4
it_mmio16:
    /* ITET NE, a 16-bit load from the UART's FR (Keel steps 2 bytes). Expect r1=0 r2=1 r3=1;
     * without the IT advance r1=1 r2=0. */
    .hword  0xf240, 0x0400 /* movw  r4, #0       */
    .hword  0xf6c0, 0x1400 /* movt  r4, #0x900   */
    .hword  0x2100      /* movs  r1, #0          */
    .hword  0x2200      /* movs  r2, #0          */
    .hword  0x2300      /* movs  r3, #0          */
    .hword  0x2001      /* movs  r0, #1          */
    .hword  0xbf16      /* itet  ne              */
    .hword  0x69a5      /* ldrne r5, [r4, #24]   */
    .hword  0x2101      /* moveq r1, #1          */
    .hword  0x2201      /* movne r2, #1          */
    .hword  0x3301      /* adds  r3, #1          */
    .hword  0xdf00      /* svc   #0              */

    .balign 4
it_mmio32:
    /* ITE EQ, a 32-bit load (IL set: Keel steps 4 bytes). Expect r1=0 r3=1; without the IT
     * advance r1=1 r3=0. */
    .hword  0xf240, 0x0400 /* movw  r4, #0       */
    .hword  0xf6c0, 0x1400 /* movt  r4, #0x900   */
    .hword  0x2100      /* movs  r1, #0          */
    .hword  0x2200      /* movs  r2, #0          */
    .hword  0x2300      /* movs  r3, #0          */
    .hword  0x2000      /* movs  r0, #0          */
    .hword  0xbf0c      /* ite   eq              */
    .hword  0xf8d4, 0x5018 /* ldreq.w r5, [r4, #24] */
    .hword  0x2101      /* movne r1, #1          */
    .hword  0x3301      /* adds  r3, #1          */
    .hword  0xdf00      /* svc   #0              */

    .balign 4
it_store:
    /* ITET NE, a store of 0 to the UART's IMSC. Expect r1=0 r2=1 r3=1. */
    .hword  0xf240, 0x0400 /* movw  r4, #0       */
    .hword  0xf6c0, 0x1400 /* movt  r4, #0x900   */
    .hword  0x2100      /* movs  r1, #0          */
    .hword  0x2200      /* movs  r2, #0          */
    .hword  0x2300      /* movs  r3, #0          */
    .hword  0x2500      /* movs  r5, #0          */
    .hword  0x2001      /* movs  r0, #1          */
    .hword  0xbf16      /* itet  ne              */
    .hword  0x63a5      /* strne r5, [r4, #0x38] */
    .hword  0x2101      /* moveq r1, #1          */
    .hword  0x2201      /* movne r2, #1          */
    .hword  0x3301      /* adds  r3, #1          */
    .hword  0xdf00      /* svc   #0              */

    .balign 4
t32_wfi16:
    /* A 16-bit WFI outside any IT block: a 2-byte step (if QEMU traps it). Expect r1=1. */
    .hword  0x2100      /* movs  r1, #0          */
    .hword  0xbf30      /* wfi                   */
    .hword  0x2101      /* movs  r1, #1          */
    .hword  0xdf00      /* svc   #0              */

    .balign 4
t32_wfi32:
    /* A 32-bit WFI: a 4-byte step. Expect r1=1. */
    .hword  0x2100      /* movs  r1, #0          */
    .hword  0xf3af, 0x8003 /* wfi.w              */
    .hword  0x2101      /* movs  r1, #1          */
    .hword  0xdf00      /* svc   #0              */

    .balign 4
a32_wfi:
    /* A32: a 4-byte step. Expect r1=1. */
    .word   0xe3a01000  /* mov   r1, #0          */
    .word   0xe320f003  /* wfi                   */
    .word   0xe3a01001  /* mov   r1, #1          */
    .word   0xef000000  /* svc   #0              */

    .data
    .balign 8
saved:      .skip 96
task_regs:  .skip 72
