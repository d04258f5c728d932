/* PSTATE on exception entry (issue 12, item 3): the state a guest's EL1 handler runs with
 * after an exception Keel injects must be the one the CPU's own exception entry gives it.
 *
 * Each scenario sets SCTLR_EL1.{SPAN,DSSBS} and the interrupted PSTATE (PAN, SSBS, UAO, DIT,
 * NZCV, where the CPU has them), then takes three synchronous exceptions:
 *   - udf:   a real UNDEFINED instruction, taken to EL1 by the CPU (QEMU) itself;
 *   - undef: an access to PMCCNTR_EL0, which traps to Keel (MDCR_EL2.TPM) and comes back as
 *            an Undefined Instruction exception Keel injects;
 *   - abort: a load outside the VM's RAM, a synchronous external abort Keel injects.
 * The handler reads PAN with MRS (FEAT_PAN), then takes a second UNDEF whose SPSR_EL1 is the
 * handler's complete PSTATE: "entry: SCENARIO PROBE pstate=.. spsr=.. esr=.. pan=..".
 * The el0 scenario takes them from AArch64 EL0 (udf and abort only: nothing an EL0 can do traps
 * to Keel as an UNDEF). */
#include "guest.h"

#define SCTLR_SPAN      (1 << 23)
#define SCTLR_DSSBS     (1 << 44)
#define PSR_PAN         (1 << 22)
#define PSR_UAO         (1 << 23)
#define PSR_DIT         (1 << 24)
#define PSR_SSBS        (1 << 12)

/* The handler's record, one per probe. */
#define REC_PSTATE      0
#define REC_SPSR        8
#define REC_ESR         16
#define REC_PAN         24
#define REC_SIZE        32

/* ep_state fields. */
#define ST_STATE        0       /* 0 idle, 1 probe armed, 2 nested UNDEF armed, 3 done */
#define ST_RESUME       8       /* where the probe continues */
#define ST_RECORD       16      /* the probe's record */
#define ST_SPSR         24      /* SPSR_EL1 of the probe's exception, across the nested one */
#define ST_HAS_PAN      32
#define ST_HAS_SSBS     40
#define ST_HAS_UAO      48
#define ST_HAS_DIT      56
#define ST_EL0_EXIT     64      /* where an SVC from EL0 returns to at EL1 */

/* Arm the handler for the next exception: record `n`, resume at the label after it. Changes
 * no condition flag (the probe's NZCV is set before it). Clobbers x9, x10. */
.macro ARM n, resume
    adrp    x10, ep_state
    add     x10, x10, :lo12:ep_state
    adr     x9, \resume
    str     x9, [x10, #ST_RESUME]
    adrp    x9, records + \n * REC_SIZE
    add     x9, x9, :lo12:records + \n * REC_SIZE
    str     x9, [x10, #ST_RECORD]
    mov     x9, #1
    str     x9, [x10, #ST_STATE]
.endm

/* Set NZCV to `nzcv` (4 bits), then run the three probes of records n..n+2 at EL1. */
.macro PROBES_EL1 n, nzcv
    MOV64   x1, 0x20000000              /* below the VM's RAM, no device */
    mov     x2, #(\nzcv << 28)
    ARM     \n, 1f
    msr     nzcv, x2
    udf     #0
1:  ARM     (\n + 1), 2f
    msr     nzcv, x2
    mrs     x0, pmccntr_el0
2:  ARM     (\n + 2), 3f
    msr     nzcv, x2
    ldr     x0, [x1]
3:
.endm

/* Print records n..n+count-1 as "entry: NAME PROBE ...". */
.macro REPORT n, name, probe
    adrp    x19, records + \n * REC_SIZE
    add     x19, x19, :lo12:records + \n * REC_SIZE
    ADR_STR "entry: \name \probe"
    bl      report
.endm

/* SCTLR_EL1.SPAN and DSSBS to `span` and `dssbs`. */
.macro SCTLR span, dssbs
    mrs     x0, sctlr_el1
    bic     x0, x0, #SCTLR_SPAN
    bic     x0, x0, #SCTLR_DSSBS
    .if \span
    orr     x0, x0, #SCTLR_SPAN
    .endif
    .if \dssbs
    orr     x0, x0, #SCTLR_DSSBS
    .endif
    msr     sctlr_el1, x0
    isb
.endm

/* Write PSTATE field `reg` (an MSR-register encoding) from `bits`, if the CPU has it. */
.macro SETPSR flag, reg, bits
    adrp    x10, ep_state
    add     x10, x10, :lo12:ep_state
    ldr     x9, [x10, #\flag]
    cbz     x9, 9f
    MOV64   x9, \bits
    msr     \reg, x9
9:
.endm

/* PSTATE.PAN, SSBS, UAO, DIT (each 0 or 1) at EL1. */
.macro PSTATE_EL1 pan, ssbs, uao, dit
    SETPSR  ST_HAS_PAN, S3_0_C4_C2_3, (\pan * PSR_PAN)
    SETPSR  ST_HAS_SSBS, S3_3_C4_C2_6, (\ssbs * PSR_SSBS)
    SETPSR  ST_HAS_UAO, S3_0_C4_C2_4, (\uao * PSR_UAO)
    SETPSR  ST_HAS_DIT, S3_3_C4_C2_5, (\dit * PSR_DIT)
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    PRINT   "entry: start\n"
    adrp    x0, ep_vectors
    add     x0, x0, :lo12:ep_vectors
    msr     vbar_el1, x0
    isb

    /* What this CPU has: PAN (MMFR1[23:20]), SSBS (PFR1[7:4]), UAO (MMFR2[7:4]), DIT (PFR0[51:48]). */
    adrp    x10, ep_state
    add     x10, x10, :lo12:ep_state
    mrs     x0, id_aa64mmfr1_el1
    ubfx    x0, x0, #20, #4
    str     x0, [x10, #ST_HAS_PAN]
    mrs     x0, id_aa64pfr1_el1
    ubfx    x0, x0, #4, #4
    str     x0, [x10, #ST_HAS_SSBS]
    mrs     x0, id_aa64mmfr2_el1
    ubfx    x0, x0, #4, #4
    str     x0, [x10, #ST_HAS_UAO]
    mrs     x0, id_aa64pfr0_el1
    ubfx    x0, x0, #48, #4
    str     x0, [x10, #ST_HAS_DIT]
    ldr     x19, [x10, #ST_HAS_PAN]
    ldr     x20, [x10, #ST_HAS_SSBS]
    PRINT_KV "entry: has_pan=", x19
    PRINT_KV "entry: has_ssbs=", x20
    /* FEAT_NMI (PFR1[39:36], QEMU 9 and later's max): entry sets ALLINT = !SCTLR_EL1.SPINTMASK. */
    mrs     x21, id_aa64pfr1_el1
    ubfx    x21, x21, #36, #4
    PRINT_KV "entry: has_nmi=", x21

    /* span0: SPAN=0 sets PAN on entry; DSSBS=1 sets SSBS; UAO is cleared. */
    SCTLR   0, 1
    PSTATE_EL1 0, 0, 1, 0
    PROBES_EL1 0, 0
    /* span1: PAN is kept (1), SSBS follows DSSBS (0). */
    SCTLR   1, 0
    PSTATE_EL1 1, 1, 0, 0
    PROBES_EL1 3, 0
    /* span1_pan0: PAN is kept (0). */
    SCTLR   1, 1
    PSTATE_EL1 0, 0, 0, 0
    PROBES_EL1 6, 0
    /* flags: NZCV and DIT set before the exception (the architecture keeps both). */
    SCTLR   0, 0
    PSTATE_EL1 0, 0, 0, 1
    PROBES_EL1 9, 0xA
    PSTATE_EL1 0, 0, 0, 0

    /* el0: from AArch64 EL0 (EL0t, PAN clear, interrupts masked), SPAN=0, DSSBS=1. */
    SCTLR   0, 1
    adrp    x10, ep_state
    add     x10, x10, :lo12:ep_state
    adr     x9, el0_back
    str     x9, [x10, #ST_EL0_EXIT]
    adr     x9, el0_probes
    msr     elr_el1, x9
    mov     x9, #0x3C0                  /* EL0t, DAIF masked */
    msr     spsr_el1, x9
    eret
el0_probes:
    MOV64   x1, 0x20000000
    ARM     12, 1f
    udf     #0
1:  ARM     13, 2f
    ldr     x0, [x1]
2:  svc     #0
el0_back:
    SCTLR   1, 0

    REPORT  0, span0, udf
    REPORT  1, span0, undef
    REPORT  2, span0, abort
    REPORT  3, span1, udf
    REPORT  4, span1, undef
    REPORT  5, span1, abort
    REPORT  6, span1_pan0, udf
    REPORT  7, span1_pan0, undef
    REPORT  8, span1_pan0, abort
    REPORT  9, flags, udf
    REPORT  10, flags, undef
    REPORT  11, flags, abort
    REPORT  12, el0, udf
    REPORT  13, el0, abort

    PRINT   "entry: done\n"
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* x0: label, x19: record. Prints "label pstate=.. spsr=.. esr=.. pan=..". */
report:
    stp     x20, x30, [sp, #-16]!
    bl      puts
    ADR_STR " pstate="
    bl      puts
    ldr     x0, [x19, #REC_PSTATE]
    bl      puthex
    ADR_STR " spsr="
    bl      puts
    ldr     x0, [x19, #REC_SPSR]
    bl      puthex
    ADR_STR " esr="
    bl      puts
    ldr     x0, [x19, #REC_ESR]
    bl      puthex
    ADR_STR " pan="
    bl      puts
    ldr     x0, [x19, #REC_PAN]
    bl      puthex
    bl      newline
    ldp     x20, x30, [sp], #16
    ret

/*
 * Synchronous exceptions at EL1 (from EL1 or EL0). State 1: the probe's exception. Record its
 * SPSR and ESR and the handler's PAN, then take a nested UNDEF (state 2), whose SPSR_EL1 is
 * this handler's whole PSTATE; then return to the probe's continuation with its own SPSR. Uses
 * only x9-x12 and changes no condition flag before the nested UNDEF.
 */
ep_sync:
    adrp    x9, ep_state
    add     x9, x9, :lo12:ep_state
    ldr     x10, [x9, #ST_STATE]
    cbz     x10, ep_unexpected
    tbnz    x10, #1, ep_nested
    ldr     x11, [x9, #ST_RECORD]
    mrs     x12, spsr_el1
    str     x12, [x11, #REC_SPSR]
    str     x12, [x9, #ST_SPSR]
    mrs     x12, esr_el1
    str     x12, [x11, #REC_ESR]
    ldr     x12, [x9, #ST_HAS_PAN]
    cbz     x12, 1f
    mrs     x12, S3_0_C4_C2_3           /* PAN */
    str     x12, [x11, #REC_PAN]
1:  mov     x10, #2
    str     x10, [x9, #ST_STATE]
    udf     #1
    /* Back from the nested UNDEF: resume the probe. */
    adrp    x9, ep_state
    add     x9, x9, :lo12:ep_state
    ldr     x10, [x9, #ST_RESUME]
    msr     elr_el1, x10
    ldr     x10, [x9, #ST_SPSR]
    msr     spsr_el1, x10
    str     xzr, [x9, #ST_STATE]
    eret

ep_nested:
    ldr     x11, [x9, #ST_RECORD]
    mrs     x12, spsr_el1
    str     x12, [x11, #REC_PSTATE]
    mrs     x12, elr_el1
    add     x12, x12, #4
    msr     elr_el1, x12
    mov     x10, #3                     /* nested UNDEF done */
    str     x10, [x9, #ST_STATE]
    eret

/* From EL0: its SVC returns to EL1 at ST_EL0_EXIT; anything else is a probe. */
ep_lower:
    mrs     x9, esr_el1
    lsr     x9, x9, #26
    sub     x9, x9, #0x15              /* sub, not cmp: the flags are the probe's */
    cbnz    x9, ep_sync
    adrp    x9, ep_state
    add     x9, x9, :lo12:ep_state
    ldr     x9, [x9, #ST_EL0_EXIT]
    msr     elr_el1, x9
    mov     x9, #0x3C5
    msr     spsr_el1, x9
    eret

ep_unexpected:
    mrs     x19, esr_el1
    PRINT_KV "entry: unexpected exception, esr ", x19
    mrs     x19, elr_el1
    PRINT_KV "entry: elr ", x19
    bl      system_off

ep_bad_vector:
    mov     x19, x0
    PRINT_KV "entry: unexpected vector ", x19
    bl      system_off

.macro VEC id
    .balign 0x80
    mov     x0, #\id
    b       ep_bad_vector
.endm

    .balign 0x800
ep_vectors:
    VEC 0x000
    VEC 0x080
    VEC 0x100
    VEC 0x180
    .balign 0x80
    b       ep_sync                     /* 0x200: synchronous, current EL, SP_EL1 */
    VEC 0x280
    VEC 0x300
    VEC 0x380
    .balign 0x80
    b       ep_lower                    /* 0x400: synchronous, lower EL, AArch64 */
    VEC 0x480
    VEC 0x500
    VEC 0x580
    VEC 0x600
    VEC 0x680
    VEC 0x700
    VEC 0x780

    .data
    .balign 8
ep_state:   .skip 72
records:    .skip 14 * REC_SIZE
