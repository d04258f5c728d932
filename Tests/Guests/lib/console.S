/* Console output: every byte is a store to the emulated PL011's DR, i.e. one MMIO exit. */
#include "guest.h"

    .text
/* w0: byte. Waits while FR.TXFF says the FIFO is full. */
    .globl putc
putc:
    ldr     x1, =UART_BASE
1:  ldr     w2, [x1, #0x18]
    tbnz    w2, #5, 1b
    str     w0, [x1]
    ret

/* x0: NUL-terminated string. */
    .globl puts
puts:
    mov     x3, x0
    mov     x4, x30
1:  ldrb    w0, [x3], #1
    cbz     w0, 2f
    bl      putc
    b       1b
2:  mov     x30, x4
    ret

/* x0: value, printed as 0x and hex digits without leading zeros. */
    .globl puthex
puthex:
    mov     x5, x0
    mov     x6, x30
    mov     w0, #'0'
    bl      putc
    mov     w0, #'x'
    bl      putc
    mov     x7, #60                     /* shift */
    mov     x8, #0                      /* started */
1:  lsr     x0, x5, x7
    and     x0, x0, #0xF
    cmp     x7, #0
    ccmp    x0, #0, #0, ne              /* last digit: always print */
    ccmp    x8, #0, #0, eq
    b.eq    3f
    mov     x8, #1
    cmp     x0, #10
    add     x9, x0, #'0'
    add     x10, x0, #('a' - 10)
    csel    x0, x9, x10, lo
    bl      putc
3:  cbz     x7, 4f
    sub     x7, x7, #4
    b       1b
4:  mov     x30, x6
    ret

    .globl newline
newline:
    mov     w0, #'\n'
    b       putc

/* x0: label string, x1: value. Prints "label<hex>\n". */
    .globl print_kv
print_kv:
    mov     x11, x1
    mov     x12, x30
    bl      puts
    mov     x0, x11
    bl      puthex
    bl      newline
    mov     x30, x12
    ret
