/* The UART fast path (hyp/arch/vectors.S, keel_uart_read_fast/keel_uart_write_fast) against the
 * Swift path. LDAR and STLR (acquire/release: the fast path never takes them) go through Swift;
 * LDR/LDRH/STR/STRH through the fast path where it answers.
 *
 * 1. Values: for each word of the UART's first 128 bytes the vector takes (not DR) and each of
 *    three values, STR the value, then LDR, LDAR and LDRH it; STRH another, LDR it; STLR a
 *    third, LDR it. One line each: "uart_fast: <offset> <value> str=<ldr>,<ldar>,<ldrh>
 *    strh=<ldr> stlr=<ldr>" (STRH writes the value ^ 0x0F0F0F0F, STLR ^ 0x00FF00FF). The fast run and the traced run (every access through Swift) must
 *    print the same.
 * 2. Sources: STR wN to IBRD from x0-x5, x9, x17, x20, x29, x30 and wzr, every other register
 *    x0-x30 set to a pattern first: "uart_fast: src r<n> stored=<LDAR of IBRD> bad=<registers
 *    changed>" (the stored value must be the pattern's low 16 bits: IBRD's mask).
 * 3. Destinations: LDR wN of IBRD (0x1234, written with STLR) into the same registers:
 *    "uart_fast: dst r<n> value=<wN after> bad=<other registers changed>"; each access must step
 *    the PC by one instruction (a brk follows the branch after it: exceptions= counts it).
 * 4. Ticks: 256 LDR against 256 LDAR of FR, 256 STR against 256 STLR of IMSC (wzr), 256 STR
 *    against 256 STLR of an unchanged IPRIORITYR8: under -icount the fast ones must cost well
 *    under the others.
 * 5. Priorities (keel_prio_write_fast): unchanged GICD_IPRIORITYR words stored from those
 *    registers ("psrc" lines, as "src"), and per word below, at and beyond the SPIs the VM has:
 *    reset, stored back, changed, stored back, a byte changed, each read with LDAR.
 * UARTFastPathTests runs it with counters and with full tracing. */
#include "guest.h"

#define TIMED       256
#define PATTERN(n)  (0xA5C3000000000000 + (n) * 0x0000010100000101)

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "uart_fast: start\n"

    /* 1. Values. x19 = the offsets' table, x20 = the values' table, x21 = the address. */
    adrp    x19, offsets
    add     x19, x19, :lo12:offsets
1:  ldr     x21, [x19], #8
    cbz     x21, sources
    adrp    x20, values
    add     x20, x20, :lo12:values
2:  ldr     x22, [x20], #8
    cmp     x22, #1
    b.eq    1b                          /* the values' end marker */
    str     w22, [x21]                  /* fast */
    ldr     w23, [x21]                  /* fast */
    ldar    w24, [x21]                  /* Swift */
    ldrh    w25, [x21]                  /* fast, halfword */
    PRINT   "uart_fast: "
    mov     x0, x21
    bl      puthex
    PRINT   " "
    mov     x0, x22
    bl      puthex
    PRINT   " str="
    mov     x0, x23
    bl      puthex
    PRINT   ","
    mov     x0, x24
    bl      puthex
    PRINT   ","
    mov     x0, x25
    bl      puthex
    eor     w23, w22, #0x0F0F0F0F
    strh    w23, [x21]                  /* fast, halfword */
    ldr     w23, [x21]
    PRINT   " strh="
    mov     x0, x23
    bl      puthex
    eor     w23, w22, #0x00FF00FF
    stlr    w23, [x21]                  /* Swift */
    ldr     w23, [x21]                  /* fast */
    PRINT   " stlr="
    mov     x0, x23
    bl      puthex
    bl      newline
    b       2b

    /* 2. Sources. */
    .macro SOURCE r, n, same=0
    bl      fill
    ldr     x30, =PATTERN(30)
    .if \same
    stlr    w\r, [x27]                 /* through Swift: the STR below changes nothing */
    .endif
    str     w\r, [x27]
    b       1f
    brk     #0                          /* one instruction too far */
1:  PUSH_ALL_REGS
    mov     x0, #\n
    mov     x1, #0                      /* a store: every register as it was */
    bl      check
    add     sp, sp, #256
    .endm

    .macro DEST r, n
    bl      fill
    ldr     x30, =PATTERN(30)
    ldr     w\r, [x27]
    b       1f
    brk     #0
1:  PUSH_ALL_REGS
    mov     x0, #\n
    mov     x1, #1                      /* a load: the target holds the value */
    bl      check
    add     sp, sp, #256
    .endm

sources:
    ldr     x0, =UART_BASE + 0x24
    adrp    x1, base
    str     x0, [x1, :lo12:base]
    ADR_STR "uart_fast: src r"
    adrp    x1, label
    str     x0, [x1, :lo12:label]
    .irp n, 0, 1, 2, 3, 4, 5, 9, 17, 20, 29, 30
    SOURCE  \n, \n
    .endr
    SOURCE  zr, 31

    ldr     x1, =UART_BASE + 0x24
    mov     w0, #0x1234
    stlr    w0, [x1]                    /* IBRD, through Swift */
    .irp n, 0, 1, 2, 3, 4, 5, 9, 17, 20, 29, 30
    DEST    \n, \n
    .endr
    DEST    zr, 31

    /* 5. Priorities: GICD_IPRIORITYR words of SPIs 32-95 (keel_prio_write_fast: an unchanged
     * value), stored from the same registers, each first stored with STLR (through Swift) so
     * that the STR changes nothing: "uart_fast: psrc r<n> stored=<LDAR> bad=<b>". */
    ldr     x0, =GICD_BASE + 0x440      /* IPRIORITYR16: SPIs 64-67, the second bank */
    adrp    x1, base
    str     x0, [x1, :lo12:base]
    ADR_STR "uart_fast: psrc r"
    adrp    x1, label
    str     x0, [x1, :lo12:label]
    .irp n, 0, 1, 2, 3, 4, 5, 9, 17, 20, 29, 30
    SOURCE  \n, \n, 1
    .endr
    SOURCE  zr, 31, 1
    /* Each word: its reset value, the same stored back (fast), a new one (Swift: it changes),
     * the same again (fast), a byte (Swift), then LDR of all four bytes. "uart_fast: prio
     * <address> <reset> <after same> <after new> <after same> <after byte>" (LDAR each). */
    adrp    x19, prio_words
    add     x19, x19, :lo12:prio_words
1:  ldr     x21, [x19], #8
    cbz     x21, 2f
    ldar    w22, [x21]
    str     w22, [x21]
    ldar    w23, [x21]
    ldr     w0, =0x80604020
    eor     w24, w0, w21                /* a value per word */
    str     w24, [x21]
    ldar    w24, [x21]
    str     w24, [x21]
    ldar    w25, [x21]
    mov     w0, #0xE8
    strb    w0, [x21, #1]
    ldar    w26, [x21]
    PRINT   "uart_fast: prio "
    mov     x0, x21
    bl      puthex
    .irp r, 22, 23, 24, 25, 26
    PRINT   " "
    mov     x0, x\r
    bl      puthex
    .endr
    bl      newline
    b       1b
2:
    /* 4. Ticks. */
    ldr     x19, =UART_BASE + 0x18
    mov     x21, #TIMED
    isb
    mrs     x22, cntvct_el0
1:  ldr     w0, [x19]
    subs    x21, x21, #1
    b.ne    1b
    isb
    mrs     x0, cntvct_el0
    sub     x23, x0, x22
    PRINT_KV "uart_fast: ticks_ldr=", x23
    mov     x21, #TIMED
    isb
    mrs     x22, cntvct_el0
1:  ldar    w0, [x19]
    subs    x21, x21, #1
    b.ne    1b
    isb
    mrs     x0, cntvct_el0
    sub     x23, x0, x22
    PRINT_KV "uart_fast: ticks_ldar=", x23
    ldr     x19, =UART_BASE + 0x38
    mov     x21, #TIMED
    isb
    mrs     x22, cntvct_el0
1:  str     wzr, [x19]
    subs    x21, x21, #1
    b.ne    1b
    isb
    mrs     x0, cntvct_el0
    sub     x23, x0, x22
    PRINT_KV "uart_fast: ticks_str=", x23
    mov     x21, #TIMED
    isb
    mrs     x22, cntvct_el0
1:  stlr    wzr, [x19]
    subs    x21, x21, #1
    b.ne    1b
    isb
    mrs     x0, cntvct_el0
    sub     x23, x0, x22
    PRINT_KV "uart_fast: ticks_stlr=", x23

    ldr     x19, =GICD_BASE + 0x420
    ldar    w20, [x19]
    mov     x21, #TIMED
    isb
    mrs     x22, cntvct_el0
1:  str     w20, [x19]                  /* unchanged: the priority fast path */
    subs    x21, x21, #1
    b.ne    1b
    isb
    mrs     x0, cntvct_el0
    sub     x23, x0, x22
    PRINT_KV "uart_fast: ticks_prio_str=", x23
    mov     x21, #TIMED
    isb
    mrs     x22, cntvct_el0
1:  stlr    w20, [x19]
    subs    x21, x21, #1
    b.ne    1b
    isb
    mrs     x0, cntvct_el0
    sub     x23, x0, x22
    PRINT_KV "uart_fast: ticks_prio_stlr=", x23

    adrp    x1, exc_count
    ldr     x19, [x1, :lo12:exc_count]
    PRINT_KV "uart_fast: exceptions=", x19
    PRINT   "uart_fast: done\n"
    ldp     x29, x30, [sp], #16
    ret

/* x0-x29 = their patterns but x27 = IBRD's address. Returns with x30 clobbered. */
fill:
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 28, 29
    ldr     x\n, =PATTERN(\n)
    .endr
    adrp    x27, base
    ldr     x27, [x27, :lo12:base]
    ret

/* x0 = the instruction's register (31: zero), x1 = 1 for a load; x0-x30 after the access at
 * [sp + 16] (the caller's frame). Prints "uart_fast: src|dst r<n> ...". */
check:
    stp     x29, x30, [sp, #-16]!
    mov     x19, x0                     /* n */
    mov     x20, x1                     /* load? */
    adrp    x21, base
    ldr     x21, [x21, :lo12:base]
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
    ccmp    x20, #1, #0, eq             /* the load's target: checked below */
    csel    x26, x25, x26, eq
    cmp     x25, x26
    cinc    x22, x22, ne
    add     x23, x23, #1
    cmp     x23, #31
    b.ne    1b
    cbz     x20, 3f
    PRINT   "uart_fast: dst r"
    mov     x0, x19
    bl      puthex
    mov     x24, #0                     /* wzr: 0 */
    cmp     x19, #31
    b.eq    2f
    add     x1, sp, #16
    ldr     x24, [x1, x19, lsl #3]
2:  PRINT   " value="
    mov     x0, x24
    bl      puthex
    b       4f
3:  adrp    x1, label
    ldr     x0, [x1, :lo12:label]
    bl      puts
    mov     x0, x19
    bl      puthex
    ldar    w24, [x21]                  /* what the store left, through Swift */
    PRINT   " stored="
    mov     x0, x24
    bl      puthex
4:  PRINT   " bad="
    mov     x0, x22
    bl      puthex
    bl      newline
    ldp     x29, x30, [sp], #16
    ret

    .section .rodata
    .balign 8
offsets:
    .irp o, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x1C, 0x20, 0x24, 0x28, 0x2C, 0x30, 0x34, 0x38, 0x3C, 0x40, 0x44, 0x48, 0x4C, 0x7C
    .quad   UART_BASE + \o
    .endr
    .quad   0
values:
    .quad   0xFFFFFFFF, 0x12345678, 0
    .quad   1                           /* the end */
prio_words:
    .irp o, 0x41C, 0x420, 0x43C, 0x440, 0x45C, 0x460
    .quad   GICD_BASE + \o
    .endr
    .quad   0

    .data
    .balign 8
base:       .quad 0
label:      .quad 0
