/* The UART fast path with a byte in the receive FIFO (UARTFastPathTests.withInput types one
 * "x" on Keel's console): FR, RIS and MIS as VirtualPL011 computes them from rxCount, and IMSC
 * writes that raise or lower the UART's interrupt line (the vector leaves those to Swift, which
 * tells the vGIC) against those that leave it as it is (the vector answers them). Interrupts
 * stay masked at the CPU; the line is read back as INTID 33's bit in GICD_ISPENDR1 (pending or
 * level), with LDAR (the Swift path). One line per step: "rx: <step> <value>". */
#include "guest.h"

#define UART_INTID  33
#define FR          0x018
#define RIS         0x03C
#define MIS         0x040
#define IMSC        0x038

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    ldr     x1, =GICD_BASE
    mov     w2, #0x13                   /* ARE, EnableGrp1NS, EnableGrp0 */
    str     w2, [x1]
    ldr     w2, [x1, #0x084]            /* IGROUPR1 */
    orr     w2, w2, #(1 << (UART_INTID - 32))
    str     w2, [x1, #0x084]
    mov     w2, #(1 << (UART_INTID - 32))
    str     w2, [x1, #0x104]            /* ISENABLER1 */
    PRINT   "rx: ready\n"
    ldr     x19, =UART_BASE
1:  ldr     w0, [x19, #FR]              /* Keel takes the input on a read (the Swift path's) */
    tbnz    w0, #4, 1b                  /* RXFE */

    .macro STEP name, load
    \load
    mov     x20, x0
    PRINT   "rx: \name "
    mov     x0, x20
    bl      puthex
    bl      newline
    .endm
    .macro LINE name
    ldr     x1, =GICD_BASE + 0x204      /* ISPENDR1 */
    ldar    w0, [x1]
    ubfx    w0, w0, #(UART_INTID - 32), #1
    mov     x20, x0
    PRINT   "rx: \name line="
    mov     x0, x20
    bl      puthex
    bl      newline
    .endm

    STEP    fr, "ldr w0, [x19, #0x18]"
    STEP    frh, "ldrh w0, [x19, #0x18]"
    STEP    ris, "ldr w0, [x19, #0x3C]"
    STEP    mis, "ldr w0, [x19, #0x40]"
    LINE    masked
    mov     w0, #0x10                   /* RXIM: the line rises (Swift) */
    str     w0, [x19, #IMSC]
    LINE    rxim
    STEP    mis_rxim, "ldr w0, [x19, #0x40]"
    mov     w0, #0x50                   /* RXIM | RTIM: it stays high (the vector) */
    str     w0, [x19, #IMSC]
    LINE    rxim_rtim
    STEP    imsc, "ldr w0, [x19, #0x38]"
    mov     w0, #0x40                   /* RTIM alone: still high; MIS shows RXIM's bit only */
    strh    w0, [x19, #IMSC]
    LINE    rtim
    STEP    mis_rtim, "ldr w0, [x19, #0x40]"
    str     wzr, [x19, #IMSC]           /* masked: the line falls (Swift) */
    LINE    off
    STEP    imsc_off, "ldr w0, [x19, #0x38]"
    str     wzr, [x19, #IMSC]           /* again: stays low (the vector) */
    LINE    off_again
    STEP    dr, "ldr w0, [x19]"         /* the byte (Swift: DR pops the FIFO) */
    STEP    fr_empty, "ldr w0, [x19, #0x18]"
    STEP    ris_empty, "ldr w0, [x19, #0x3C]"
    mov     w0, #0x10                   /* RXIM with nothing received: stays low (the vector) */
    str     w0, [x19, #IMSC]
    LINE    rxim_empty
    STEP    mis_empty, "ldr w0, [x19, #0x40]"
    adrp    x1, exc_count
    ldr     x19, [x1, :lo12:exc_count]
    PRINT_KV "rx: exceptions=", x19
    PRINT   "rx: done\n"
    ldp     x29, x30, [sp], #16
    ret
