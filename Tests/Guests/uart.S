/* The emulated PL011: flags, identification, registers that keep what is written, and loads
 * and stores of every width, sign-extended loads and the zero register. */
#include "guest.h"

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "uart: start\n"
    ldr     x19, =UART_BASE

    ldr     w20, [x19, #0x18]           /* FR, 32-bit */
    PRINT_KV "uart: fr=", x20

    ldrb    w20, [x19, #0xFE0]          /* PeriphID0, byte */
    PRINT_KV "uart: periphid0=", x20
    ldrh    w20, [x19, #0xFE4]          /* PeriphID1, halfword */
    PRINT_KV "uart: periphid1=", x20
    ldr     w20, [x19, #0xFE8]
    PRINT_KV "uart: periphid2=", x20
    ldr     w20, [x19, #0xFF0]
    PRINT_KV "uart: pcellid0=", x20
    ldrsb   x20, [x19, #0xFF4]          /* PCellID1 = 0xF0, sign-extended to 64 bits */
    PRINT_KV "uart: pcellid1_sx=", x20
    ldrsb   w20, [x19, #0xFF4]          /* ... to 32 bits */
    PRINT_KV "uart: pcellid1_sw=", x20

    mov     w0, #0x1A
    str     w0, [x19, #0x24]            /* IBRD */
    ldr     w20, [x19, #0x24]
    PRINT_KV "uart: ibrd=", x20

    mov     w0, #0x50
    str     w0, [x19, #0x38]            /* IMSC */
    ldr     w20, [x19, #0x38]
    PRINT_KV "uart: imsc=", x20
    str     wzr, [x19, #0x38]           /* store of the zero register (SRT = 31) */
    ldr     w20, [x19, #0x38]
    PRINT_KV "uart: imsc_zero=", x20

    ldr     x20, [x19, #0x30]           /* CR, 64-bit load */
    PRINT_KV "uart: cr=", x20

    mov     w0, #'O'                    /* byte stores to DR */
    strb    w0, [x19]
    mov     w0, #'K'
    strb    w0, [x19]
    mov     w0, #'\n'
    strh    w0, [x19]                   /* halfword store */

    adrp    x1, exc_count
    ldr     x20, [x1, :lo12:exc_count]
    PRINT_KV "uart: exceptions=", x20
    PRINT   "uart: done\n"
    ldp     x29, x30, [sp], #16
    ret
