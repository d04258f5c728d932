/* The MMIO read fast path (hyp/arch/vectors.S, keel_dabt_fast) against the Swift path. For each
 * register of the table below, one read with LDAR (acquire: the fast path never takes it, so the
 * Swift path answers) gives the reference; then 32-bit reads into w0, w1, w2, w3, w9 (LDUR),
 * w17, w20, w29, w30 and wzr, each with every other register x0-x30 set to a known pattern first
 * (the upper half too: a W load must clear it). After each the guest prints one line
 * "mmio_fast: <address> r<n> value=<Xn after the load> slow=<reference> bad=<registers not as
 * expected>": the target must hold the reference zero-extended, every other register its
 * pattern (x27, the base, the address), and the load must step the PC by exactly one
 * instruction (a brk follows the branch after it: exceptions= counts it). A GICv2 VM has no
 * redistributor frames and its distributor's PIDR2 at 0xFE8: a second table. Then 256 LDR and 256
 * LDAR of GICD_TYPER, in virtual-counter ticks: under -icount the first must cost well under the
 * second. MMIOFastPathTests runs it with counters and with full tracing (every read through
 * Swift), and both must print the same. */
#include "guest.h"

#define GICR_BASE   0x080A0000
#define TIMED       256
/* Register n's pattern before each load: never a value a tabled register has. */
#define PATTERN(n)  (0xA5C3000000000000 + (n) * 0x0000010100000101)

    .text
    .globl main
main:
    adrp    x1, saved_lr
    str     x30, [x1, :lo12:saved_lr]
    PRINT   "mmio_fast: start\n"
    adrp    x1, index
    str     xzr, [x1, :lo12:index]
    /* A GICv2 (its PIDR2 at 0xFE8; 0xFFE8 reads as zero) has no redistributors: the second table. */
    ldr     x4, =GICD_BASE + 0xFFE8
    ldar    w5, [x4]
    adrp    x3, registers
    add     x3, x3, :lo12:registers
    adrp    x6, registers_v2
    add     x6, x6, :lo12:registers_v2
    cmp     w5, #0
    csel    x3, x6, x3, eq
    adrp    x1, table
    str     x3, [x1, :lo12:table]
next:
    adrp    x1, index
    ldr     x2, [x1, :lo12:index]
    adrp    x3, table
    ldr     x3, [x3, :lo12:table]
    ldr     x4, [x3, x2, lsl #3]
    cbz     x4, timing
    add     x2, x2, #1
    str     x2, [x1, :lo12:index]
    adrp    x1, address
    str     x4, [x1, :lo12:address]
    ldar    w5, [x4]                    /* the Swift path's answer */
    adrp    x1, reference
    str     x5, [x1, :lo12:reference]

    .macro PROBE n, load
    bl      fill
    ldr     x30, =PATTERN(30)
    \load
    b       1f
    brk     #0                          /* one instruction too far */
1:  PUSH_ALL_REGS
    mov     x0, #\n
    bl      check
    add     sp, sp, #256
    .endm

    PROBE   0, "ldr w0, [x27]"
    PROBE   1, "ldr w1, [x27]"
    PROBE   2, "ldr w2, [x27]"
    PROBE   3, "ldr w3, [x27]"
    PROBE   9, "ldur w9, [x27]"
    PROBE   17, "ldr w17, [x27]"
    PROBE   20, "ldr w20, [x27]"
    PROBE   29, "ldr w29, [x27]"
    PROBE   30, "ldr w30, [x27]"
    PROBE   31, "ldr wzr, [x27]"
    b       next

timing:
    ldr     x19, =GICD_BASE + 4
    mov     x21, #TIMED
    isb
    mrs     x22, cntvct_el0
1:  ldr     w0, [x19]
    subs    x21, x21, #1
    b.ne    1b
    isb
    mrs     x0, cntvct_el0
    sub     x23, x0, x22
    PRINT_KV "mmio_fast: ticks_ldr=", x23
    mov     x21, #TIMED
    isb
    mrs     x22, cntvct_el0
1:  ldar    w0, [x19]
    subs    x21, x21, #1
    b.ne    1b
    isb
    mrs     x0, cntvct_el0
    sub     x23, x0, x22
    PRINT_KV "mmio_fast: ticks_ldar=", x23

    adrp    x1, exc_count
    ldr     x19, [x1, :lo12:exc_count]
    PRINT_KV "mmio_fast: exceptions=", x19
    PRINT   "mmio_fast: done\n"
    adrp    x1, saved_lr
    ldr     x30, [x1, :lo12:saved_lr]
    ret

/* x0-x29 = their patterns but x27 = the address under test. Returns with x30 clobbered (the
 * caller sets it). */
fill:
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 28, 29
    ldr     x\n, =PATTERN(\n)
    .endr
    adrp    x27, address
    ldr     x27, [x27, :lo12:address]
    ret

/* x0 = the load's target (31: the zero register), x0-x30 after the load at [sp] (the caller's
 * frame: sp + 16 here, after this frame's push). Prints the line. */
check:
    stp     x29, x30, [sp, #-16]!
    mov     x19, x0                     /* n */
    adrp    x1, reference
    ldr     x20, [x1, :lo12:reference]
    mov     w20, w20                    /* zero-extended */
    adrp    x1, address
    ldr     x21, [x1, :lo12:address]
    mov     x22, #0                     /* registers not as expected */
    mov     x23, #0                     /* register index */
    add     x24, sp, #16
1:  ldr     x25, [x24, x23, lsl #3]
    ldr     x26, =PATTERN(0)
    ldr     x27, =0x0000010100000101
    madd    x26, x23, x27, x26          /* PATTERN(i) */
    cmp     x23, #27
    csel    x26, x21, x26, eq           /* the base register: the address */
    cmp     x23, x19
    csel    x26, x20, x26, eq           /* the target: the value read */
    cmp     x25, x26
    cinc    x22, x22, ne
    add     x23, x23, #1
    cmp     x23, #31
    b.ne    1b
    mov     x24, #0                     /* the target's value (wzr: 0) */
    cmp     x19, #31
    b.eq    2f
    add     x1, sp, #16
    ldr     x24, [x1, x19, lsl #3]
2:  PRINT   "mmio_fast: "
    mov     x0, x21
    bl      puthex
    PRINT   " r"
    mov     x0, x19
    bl      puthex
    PRINT   " value="
    mov     x0, x24
    bl      puthex
    PRINT   " slow="
    mov     x0, x20
    bl      puthex
    PRINT   " bad="
    mov     x0, x22
    bl      puthex
    bl      newline
    ldp     x29, x30, [sp], #16
    ret

    .section .rodata
    .balign 8
registers:
    .quad   GICD_BASE + 0x0004          /* GICD_TYPER */
    .quad   GICD_BASE + 0x0008          /* GICD_IIDR */
    .quad   GICD_BASE + 0xFFE8          /* GICD_PIDR2 */
    .quad   GICR_BASE + 0x0004          /* GICR_IIDR */
    .quad   GICR_BASE + 0x0008          /* GICR_TYPER, low word */
    .quad   GICR_BASE + 0x000C          /* GICR_TYPER, high word */
    .quad   GICR_BASE + 0xFFE8          /* GICR_PIDR2 */
    .quad   GICR_BASE + 0x20004         /* vCPU 1's redistributor (the test runs 2 vCPUs) */
    .quad   GICR_BASE + 0x20008
    .quad   GICR_BASE + 0x2000C
    .quad   GICR_BASE + 0x2FFE8
    .quad   UART_BASE + 0x0FE0          /* UARTPeriphID0-3 */
    .quad   UART_BASE + 0x0FE4
    .quad   UART_BASE + 0x0FE8
    .quad   UART_BASE + 0x0FEC
    .quad   UART_BASE + 0x0FF0          /* UARTPCellID0-3 */
    .quad   UART_BASE + 0x0FF4
    .quad   UART_BASE + 0x0FF8
    .quad   UART_BASE + 0x0FFC
    .quad   UART_BASE + 0x0018          /* UARTFR: not constant, the Swift path's (a control) */
    .quad   GICD_BASE + 0x0000          /* GICD_CTLR: likewise */
    .quad   0
registers_v2:
    .quad   GICD_BASE + 0x0004          /* GICD_TYPER */
    .quad   GICD_BASE + 0x0008          /* GICD_IIDR */
    .quad   GICD_BASE + 0x0FE8          /* GICD_PIDR2 (v2) */
    .quad   UART_BASE + 0x0FE0          /* UARTPeriphID0-3 */
    .quad   UART_BASE + 0x0FE4
    .quad   UART_BASE + 0x0FE8
    .quad   UART_BASE + 0x0FEC
    .quad   UART_BASE + 0x0FF0          /* UARTPCellID0-3 */
    .quad   UART_BASE + 0x0FF4
    .quad   UART_BASE + 0x0FF8
    .quad   UART_BASE + 0x0FFC
    .quad   UART_BASE + 0x0018          /* UARTFR */
    .quad   GICD_BASE + 0x0000          /* GICD_CTLR */
    .quad   0

    .data
    .balign 8
saved_lr:   .quad 0
index:      .quad 0
address:    .quad 0
reference:  .quad 0
table:      .quad 0
