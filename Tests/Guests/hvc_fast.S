/* The HVC fast path (hyp/arch/vectors.S, keel_hvc_fast) against the Swift path. Each call of the
 * table, with x1-x17 set to known values, prints x0-x3 after it and whether x4-x17 came back;
 * HVCFastPathTests runs it with counters (the fast path answers what it can) and with full
 * tracing (every HVC through Swift), and both must print the same. Then 256 PSCI_VERSION
 * (fast) and 256 PSCI_FEATURES (Swift) calls, in virtual-counter ticks: under -icount the first
 * must cost well under the second. */
#include "guest.h"

#define TIMED 256

/* x1-x3 and x4-x17 as every call of the table gets them. */
.macro ARGUMENTS
    MOV64   x1, 0x1111111111111111
    MOV64   x2, 0x2222222222222222
    MOV64   x3, 0x3333333333333333
    .irp    r, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17
    mov     x\r, #\r
    .endr
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "hvc_fast: start\n"
    adrp    x23, calls
    add     x23, x23, :lo12:calls
    mov     x24, #((calls_end - calls) / 8)
1:  ldr     x0, [x23], #8
    mov     x25, x0
    ARGUMENTS
    hvc     #0
    bl      report
    subs    x24, x24, #1
    b.ne    1b

    /* A non-zero immediate is never the fast path's. */
    MOV64   x0, PSCI_VERSION
    mov     x25, x0
    ARGUMENTS
    hvc     #1
    bl      report

    MOV64   x19, PSCI_VERSION
    bl      timed
    PRINT_KV "hvc_fast: ticks_psci_version=", x0
    MOV64   x19, PSCI_FEATURES
    bl      timed
    PRINT_KV "hvc_fast: ticks_psci_features=", x0

    adrp    x1, exc_count
    ldr     x19, [x1, :lo12:exc_count]
    PRINT_KV "hvc_fast: exceptions=", x19
    PRINT   "hvc_fast: done\n"
    ldp     x29, x30, [sp], #16
    ret

/* x25 = the id called, x0-x17 as the call left them: one line
 * "hvc_fast: <id> x0=.. x1=.. x2=.. x3=.. kept=<1 if x4-x17 came back>". */
report:
    mov     x26, x30
    mov     x19, x0
    mov     x20, x1
    mov     x21, x2
    mov     x22, x3
    mov     x28, #4
    cmp     x4, x28
    .irp    r, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17
    add     x28, x28, #1
    ccmp    x\r, x28, #0, eq           /* after a mismatch: ne */
    .endr
    cset    x27, eq
    PRINT   "hvc_fast: "
    mov     x0, x25
    bl      puthex
    PRINT   " x0="
    mov     x0, x19
    bl      puthex
    PRINT   " x1="
    mov     x0, x20
    bl      puthex
    PRINT   " x2="
    mov     x0, x21
    bl      puthex
    PRINT   " x3="
    mov     x0, x22
    bl      puthex
    PRINT   " kept="
    mov     x0, x27
    bl      puthex
    bl      newline
    mov     x30, x26
    ret

/* TIMED calls of id x19 (x1 = PSCI_VERSION, for PSCI_FEATURES); x0 = ticks of the virtual
 * counter they took. */
timed:
    MOV64   x20, PSCI_VERSION
    mov     x21, #TIMED
    isb
    mrs     x22, cntvct_el0
1:  mov     x0, x19
    mov     x1, x20
    hvc     #0
    subs    x21, x21, #1
    b.ne    1b
    isb
    mrs     x0, cntvct_el0
    sub     x0, x0, x22
    ret

    .section .rodata
    .balign 8
calls:
    .quad   SMCCC_VERSION               /* fast: 0x10001 */
    .quad   PSCI_VERSION                /* fast: 0x10001 */
    .quad   0xFFFFFFFF84000000          /* fast: the id is w0 alone */
    .quad   0xC6001234                  /* fast: unknown vendor-hypervisor SMC64 id, NOT_SUPPORTED */
    .quad   0xC6000000                  /* fast */
    .quad   0xC6FFFFFF                  /* fast */
    .quad   0xC600FF01                  /* fast: the UID's id, but SMC64 */
    .quad   KEEL_CALL_UID               /* Swift: x0-x3 */
    .quad   0x8600FF03                  /* Swift: revision, x0 and x1 */
    .quad   0x86001234                  /* Swift: unknown SMC32 vendor id */
    .quad   0xC7001234                  /* Swift: owner 7 */
    .quad   0x04000000                  /* Swift: PSCI_VERSION without the fast-call bit */
    .quad   0x80000004                  /* Swift: SMCCC_VERSION's neighbour */
    .quad   0xC4000000                  /* Swift: PSCI owner, SMC64, no such call */
    .quad   0x00000000                  /* Swift */
    .quad   SMCCC_ARCH_FEATURES         /* Swift: x1 = an unknown function */
calls_end:
