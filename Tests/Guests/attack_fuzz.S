/* Hostile guest, random instructions (issue 6): from a fixed seed, at least a million
 * instructions chosen from families that trap or fault, written into a page of the guest's
 * own RAM and executed there:
 *   MRS of op0=3 encodings in the ID, PMU and IMPLEMENTATION DEFINED spaces (CRn 0, 9, 11,
 *   15), MSR in the spaces where no EL1 register of the guest's own lives (ID, PMU at op1 3,
 *   IMPLEMENTATION DEFINED), HVC and SMC with non-zero immediates, aligned loads and stores
 *   of every size to the emulated UART (loads only: stores would print), the distributor and
 *   the IPA past the RAM, unaligned LDUR/STUR there, LDP there (no ISV), WFE, BRK and UDF.
 * Destination registers are x0-x15 only; x16-x18 hold the device bases and x19 counts: every
 * generated instruction is followed by `add x19, x19, #1`, so x19 counts the ones executed
 * (lib/start.S's handler resumes after a faulting one). The page is cleaned to the point of
 * unification and the I-cache invalidated before each pass (self-modifying code). Output:
 * "fuzz: executed=N exceptions=M". */
#include "attack.h"
#include "xorshift.h"

#define SLOTS   512                     /* generated instructions per pass (1024 words) */
#define PASSES  1960                    /* 1960 x 512 = 1,003,520 */
#define ADD_X19 0x91000673              /* add x19, x19, #1 */
#define RET     0xD65F03C0

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "fuzz: start\n"
    adrp    x20, fuzz_page
    add     x20, x20, :lo12:fuzz_page
    MOV64   x22, 0xD1B54A32D192ED03     /* seed */
    mov     x19, #0
    MOV64   x24, PASSES
    adrp    x9, exc_count
    ldr     x25, [x9, :lo12:exc_count]

    /* Self-modifying code works: the page run with "mov x0, #1; ret", then rewritten to
     * "mov x0, #2; ret" and run again must return 2. */
    ldr     w0, =0xD2800020             /* mov x0, #1 */
    bl      run_two_words
    mov     x21, x0
    ldr     w0, =0xD2800040             /* mov x0, #2 */
    bl      run_two_words
    lsl     x21, x21, #4
    orr     x21, x21, x0
    PRINT_KV "fuzz: rewritten_code_returns=", x21

    /* Odd slots: the counter; the word after the last: return. */
    mov     x2, x20
    mov     x3, #SLOTS
    ldr     w4, =ADD_X19
1:  str     w4, [x2, #4]
    add     x2, x2, #8
    subs    x3, x3, #1
    b.ne    1b
    ldr     w4, =RET
    str     w4, [x2]

pass:
    mov     x21, x20
    mov     x23, #SLOTS
gen:
    bl      random_instruction
    str     w0, [x21]
    add     x21, x21, #8
    subs    x23, x23, #1
    b.ne    gen
    /* Make the new code visible to instruction fetch: clean to PoU, invalidate the I-cache,
     * for each 64-byte line (Cortex-A72's; CTR_EL0 says at least that). */
    mov     x2, x20
    add     x3, x20, #(SLOTS * 8)
    add     x3, x3, #64
1:  dc      cvau, x2
    add     x2, x2, #64
    cmp     x2, x3
    b.lo    1b
    dsb     ish
    mov     x2, x20
1:  ic      ivau, x2
    add     x2, x2, #64
    cmp     x2, x3
    b.lo    1b
    dsb     ish
    isb
    ldr     x16, =UART_BASE
    ldr     x17, =GICD_BASE
    MOV64   x18, 0x50000000
    blr     x20
    subs    x24, x24, #1
    b.ne    pass

    adrp    x9, exc_count
    ldr     x0, [x9, :lo12:exc_count]
    sub     x25, x0, x25
    mov     x20, x19
    PRINT   "fuzz: executed="
    mov     x0, x20
    bl      puthex
    PRINT   " exceptions="
    mov     x0, x25
    bl      puthex
    bl      newline
    PRINT   "fuzz: still running\n"
    ldp     x29, x30, [sp], #16
    ret

/* Writes w0 and RET at the page's start, makes them visible to fetch and calls them. */
run_two_words:
    str     w0, [x20]
    ldr     w0, =RET
    str     w0, [x20, #4]
    dc      cvau, x20
    dsb     ish
    ic      ivau, x20
    dsb     ish
    isb
    br      x20                         /* returns to our caller */

/* w0 = one random instruction (x22: the xorshift state; clobbers x0-x7). */
random_instruction:
    XORSHIFT x22, x0
    lsr     x1, x22, #8                 /* fields from here */
    and     x2, x22, #7                 /* family */
    and     x7, x1, #15                 /* Rt: x0-x15 */
    ubfx    x3, x1, #4, #3              /* op1 */
    ubfx    x4, x1, #7, #4              /* CRm */
    ubfx    x5, x1, #11, #3             /* op2 */
    ubfx    x6, x1, #14, #2             /* CRn choice */
    adr     x0, crn_table
    ldrb    w6, [x0, x6]
    cmp     x2, #2
    b.lo    mrs_family
    b.eq    msr_family
    cmp     x2, #4
    b.lo    call_family
    b.eq    ldst_family
    cmp     x2, #6
    b.lo    ldur_family
    b.eq    ldp_family
    b       misc_family

mrs_family:                             /* 0, 1: MRS Xt, S3_op1_Cn_Cm_op2 */
    ldr     w0, =0xD5380000
sysreg_fields:
    orr     w0, w0, w3, lsl #16
    orr     w0, w0, w6, lsl #12
    orr     w0, w0, w4, lsl #8
    orr     w0, w0, w5, lsl #5
    orr     w0, w0, w7
    ret
msr_family:                             /* 2: MSR S3_op1_Cn_Cm_op2, Xt */
    ldr     w0, =0xD5180000
    cmp     w6, #9
    b.ne    sysreg_fields
    mov     w3, #3                      /* PMU registers only: op1 3 */
    b       sysreg_fields

call_family:                            /* 3: HVC or SMC #imm, imm != 0 */
    ubfx    x0, x1, #16, #16
    orr     w0, w0, #1
    lsl     w0, w0, #5
    tst     x1, #(1 << 40)
    ldr     w2, =0xD4000002             /* HVC */
    ldr     w3, =0xD4000003             /* SMC */
    csel    w2, w2, w3, eq
    orr     w0, w0, w2
    ret

/* Rn in x16-x18 from bits [33:32]; stores never through x16 (the UART: they would print). */
.macro BASE_REG out, store
    ubfx    x2, x1, #24, #2
    cmp     x2, #3
    mov     x3, #2
    csel    x2, x2, x3, ne
    .if \store
    cmp     x2, #0
    cinc    x2, x2, eq
    .endif
    add     \out, x2, #16
.endm

ldst_family:                            /* 4: LDR/STR (unsigned offset), every size */
    ubfx    x6, x1, #30, #2             /* size */
    tst     x1, #(1 << 29)
    b.ne    1f
    BASE_REG x5, 0
    mov     w0, #(1 << 22)              /* load */
    b       2f
1:  BASE_REG x5, 1
    mov     w0, #0                      /* store */
2:  ubfx    x4, x1, #12, #12            /* imm12 */
    ldr     w3, =0x39000000
    orr     w0, w0, w3
    orr     w0, w0, w6, lsl #30
    orr     w0, w0, w4, lsl #10
    orr     w0, w0, w5, lsl #5
    orr     w0, w0, w7
    ret

ldur_family:                            /* 5: LDUR/STUR, unaligned offsets -256..255 */
    ubfx    x6, x1, #30, #2
    tst     x1, #(1 << 29)
    b.ne    1f
    BASE_REG x5, 0
    mov     w0, #(1 << 22)
    b       2f
1:  BASE_REG x5, 1
    mov     w0, #0
2:  ubfx    x4, x1, #12, #9             /* imm9 */
    ldr     w3, =0x38000000
    orr     w0, w0, w3
    orr     w0, w0, w6, lsl #30
    orr     w0, w0, w4, lsl #12
    orr     w0, w0, w5, lsl #5
    orr     w0, w0, w7
    ret

ldp_family:                             /* 6: LDP Xt, Xt2, [Xn, #imm] */
    BASE_REG x5, 0
    ubfx    x4, x1, #12, #7             /* imm7 */
    ubfx    x6, x1, #20, #4             /* Rt2 */
    ldr     w0, =0xA9400000
    orr     w0, w0, w4, lsl #15
    orr     w0, w0, w6, lsl #10
    orr     w0, w0, w5, lsl #5
    orr     w0, w0, w7
    ret

misc_family:                            /* 7: WFE, BRK #imm, UDF #imm, HVC #imm */
    ubfx    x2, x1, #24, #2
    ubfx    x3, x1, #4, #16             /* imm16 */
    cmp     x2, #1
    b.lo    1f
    b.eq    2f
    cmp     x2, #2
    b.eq    3f
    orr     w3, w3, #1
    lsl     w0, w3, #5
    ldr     w2, =0xD4000002
    orr     w0, w0, w2
    ret
1:  ldr     w0, =0xD503205F             /* WFE */
    ret
2:  lsl     w0, w3, #5
    ldr     w2, =0xD4200000             /* BRK */
    orr     w0, w0, w2
    ret
3:  mov     w0, w3                      /* UDF #imm16 */
    ret

    .section .rodata
crn_table: .byte 0, 9, 11, 15

    .bss
    .balign 4096
fuzz_page:
    .space 4096 * 2
