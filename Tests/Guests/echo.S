/* Console input: says it is ready, reads one line from its UART (polling FR.RXFE, as a
 * bare-metal program does) and prints it back, then powers off. */
#include "guest.h"

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "echo: ready\n"
    adrp    x19, line
    add     x19, x19, :lo12:line
    mov     x20, #0                     /* bytes so far */
    ldr     x21, =UART_BASE
1:  ldr     w2, [x21, #0x18]            /* FR */
    tbnz    w2, #4, 1b                  /* RXFE: nothing yet */
    ldr     w2, [x21]                   /* DR */
    and     w2, w2, #0xFF
    cmp     w2, #'\n'
    b.eq    2f
    cmp     w2, #'\r'
    b.eq    2f
    cmp     x20, #62
    b.hs    1b
    strb    w2, [x19, x20]
    add     x20, x20, #1
    b       1b
2:  strb    wzr, [x19, x20]
    PRINT   "echo: got "
    mov     x0, x19
    bl      puts
    bl      newline
    ldp     x29, x30, [sp], #16
    ret

    .data
line:   .space 64
