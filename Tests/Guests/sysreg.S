/* Trapped system registers: feature ID registers read sanitized (no PMU, IPA-sized PARange),
 * ACTLR_EL1 reads and ignores writes, and a PMU register access is an UNDEF. */
#include "guest.h"

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "sysreg: start\n"

    mrs     x19, id_aa64dfr0_el1
    ubfx    x20, x19, #8, #4
    PRINT_KV "sysreg: pmuver=", x20

    mrs     x19, id_aa64mmfr0_el1
    and     x20, x19, #0xF
    PRINT_KV "sysreg: parange=", x20

    mrs     x19, id_aa64pfr0_el1
    ubfx    x20, x19, #32, #4
    PRINT_KV "sysreg: sve=", x20
    ubfx    x20, x19, #0, #4
    PRINT_KV "sysreg: el0=", x20

    mrs     x19, S3_0_C0_C7_7           /* reserved ID encoding: reads as zero */
    PRINT_KV "sysreg: reserved_id=", x19

    mrs     x19, actlr_el1
    msr     actlr_el1, x19
    adrp    x1, exc_count
    ldr     x20, [x1, :lo12:exc_count]
    PRINT_KV "sysreg: exceptions_after_actlr=", x20

    mrs     x19, pmcr_el0               /* the PMU is not given to guests */
    adrp    x1, exc_count
    ldr     x20, [x1, :lo12:exc_count]
    PRINT_KV "sysreg: exceptions_after_pmcr=", x20
    adrp    x1, exc_esr
    ldr     x20, [x1, :lo12:exc_esr]
    PRINT_KV "sysreg: pmcr_esr=", x20

    msr     pmcntenset_el0, x19
    adrp    x1, exc_count
    ldr     x20, [x1, :lo12:exc_count]
    PRINT_KV "sysreg: exceptions_after_pmcntenset=", x20

    PRINT   "sysreg: done\n"
    ldp     x29, x30, [sp], #16
    ret
