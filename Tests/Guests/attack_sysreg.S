/* Hostile guest, system registers (issue 6): every class of trapped or forbidden system
 * register access with garbage. Each prints "sys: NAME: exc=N ec=EC" (lib/attack.S):
 *   - writes to ID registers, and EL2/EL3 registers from EL1: UNDEF by the architecture;
 *   - the PMU (MDCR_EL2.TPM), IMPLEMENTATION DEFINED registers (HCR_EL2.TIDCP), trace (CPTR
 *     TTA), AMU (TAM), SVE/SME (TZ/TSM): trapped to Keel, which injects UNDEF (EC 0);
 *   - the guest's own registers Keel leaves to it (ICC_* virtualized by the GIC, debug
 *     registers, set/way and TLB maintenance): no exception, and Keel keeps running;
 *   - trapped reads through x20-x29 and xzr (the full frame save) must give what x0 gets. */
#include "attack.h"

#define GARBAGE 0xDEADBEEFCAFEF00D

.macro SYS name, insn:vararg
    ATTACK_BEGIN
    MOV64   x1, GARBAGE
    \insn
    ATTACK_END "sys: \name"
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "sys: start\n"

    /* ID registers are read-only: writes do not exist. */
    SYS     midr_write, msr S3_0_C0_C0_0, x1
    SYS     id_aa64pfr0_write, msr S3_0_C0_C4_0, x1
    SYS     id_aa64mmfr0_write, msr S3_0_C0_C7_0, x1
    SYS     id_reserved_write, msr S3_0_C0_C7_7, x1

    /* EL2 and EL3 registers from EL1. */
    SYS     cntvoff_el2_read, mrs x2, S3_4_C14_C0_3
    SYS     cntvoff_el2_write, msr S3_4_C14_C0_3, x1
    SYS     cnthctl_el2_write, msr S3_4_C14_C1_0, x1
    SYS     hcr_el2_write, msr S3_4_C1_C1_0, x1
    SYS     vttbr_el2_write, msr S3_4_C2_C1_0, x1
    SYS     ich_hcr_el2_write, msr S3_4_C12_C11_0, x1
    SYS     elr_el2_read, mrs x2, S3_4_C4_C0_1
    SYS     scr_el3_write, msr S3_6_C1_C1_0, x1
    SYS     tlbi_alle2, tlbi alle2
    SYS     tlbi_alle1, tlbi alle1
    SYS     at_s12e1r, at s12e1r, x1

    /* PMU: Keel gives guests none. */
    SYS     pmcr_write, msr pmcr_el0, x1
    SYS     pmccntr_read, mrs x2, pmccntr_el0
    SYS     pmevcntr0_write, msr pmevcntr0_el0, x1
    SYS     pmselr_write, msr pmselr_el0, x1
    SYS     pmuserenr_write, msr pmuserenr_el0, x1
    SYS     pmintenset_write, msr pmintenset_el1, x1
    SYS     pmccfiltr_write, msr pmccfiltr_el0, x1

    /* IMPLEMENTATION DEFINED (op0 3, CRn 11 or 15): Cortex-A72's CPUACTLR, L2CTLR, others. */
    SYS     cpuactlr_write, msr S3_1_C15_C2_0, x1
    SYS     cpuactlr_read, mrs x2, S3_1_C15_C2_0
    SYS     l2ctlr_write, msr S3_1_C11_C0_2, x1
    SYS     impdef_0_15_0_0, mrs x2, S3_0_C15_C0_0
    SYS     impdef_7_15_15_7, msr S3_7_C15_C15_7, x1
    SYS     impdef_3_15_4_2, msr S3_3_C15_C4_2, x1

    /* Trace, AMU, SVE. */
    SYS     trcprgctlr_write, msr S2_1_C0_C1_0, x1
    SYS     amcr_read, mrs x2, S3_3_C13_C2_0
    SYS     zcr_el1_write, msr S3_0_C1_C2_0, x1

    /* Trapped reads through the registers the light exit does not save. */
    mrs     x0, id_aa64mmfr0_el1
    mov     x19, x0
    mrs     x27, id_aa64mmfr0_el1
    mrs     xzr, id_aa64mmfr0_el1
    mrs     x29, id_aa64mmfr0_el1
    cmp     x27, x19
    ccmp    x29, x19, #0, eq
    cset    x20, eq
    PRINT_KV "sys: id_via_x27_x29_same=", x20
    SYS     pmcr_write_x28, msr pmcr_el0, x28
    SYS     impdef_read_xzr, mrs xzr, S3_1_C15_C2_0

    /* The guest's own: no exception. ICC_* goes to the virtual CPU interface. */
    SYS     icc_bpr1_write, msr icc_bpr1_el1, x1
    SYS     icc_pmr_write, msr icc_pmr_el1, x1
    SYS     icc_ctlr_write, msr icc_ctlr_el1, x1
    SYS     icc_ap1r0_write, msr icc_ap1r0_el1, x1
    SYS     icc_igrpen0_write, msr icc_igrpen0_el1, x1
    SYS     icc_sre_write, msr icc_sre_el1, xzr
    SYS     icc_iar1_read, mrs x2, icc_iar1_el1
    SYS     icc_hppir1_read, mrs x2, icc_hppir1_el1
    SYS     icc_rpr_read, mrs x2, icc_rpr_el1
    msr     icc_ap1r0_el1, xzr
    msr     icc_ctlr_el1, xzr
    mov     x2, #0xFF
    msr     icc_pmr_el1, x2

    /* Debug registers: the guest's (pinned vCPU). Enables masked out, or the guest would
     * break on its own garbage. */
    SYS     dbgbvr0_write, msr dbgbvr0_el1, x1
    SYS     dbgbcr0_write, msr dbgbcr0_el1, xzr
    SYS     dbgwvr0_write, msr dbgwvr0_el1, x1
    SYS     mdccint_write, msr mdccint_el1, x1
    SYS     oslar_write, msr oslar_el1, xzr
    SYS     osdlr_write, msr osdlr_el1, xzr
    SYS     mdscr_read, mrs x2, mdscr_el1

    /* Set/way and TLB maintenance with garbage operands: allowed at EL1, must not break. */
    SYS     dc_isw, dc isw, x1
    SYS     dc_csw, dc csw, x1
    SYS     dc_cisw, dc cisw, x1
    SYS     tlbi_vmalle1, tlbi vmalle1
    SYS     tlbi_vae1, tlbi vae1, x1
    SYS     tlbi_aside1is, tlbi aside1is, x1
    SYS     ic_iallu, ic iallu
    SYS     at_s1e1r, at s1e1r, x1

    PRINT   "sys: still running\n"
    ldp     x29, x30, [sp], #16
    ret
