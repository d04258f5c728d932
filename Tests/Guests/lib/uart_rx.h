/* Console input by interrupt (issue 12): the UART's receive interrupt (SPI 1, INTID 33, a
 * level line) enabled in the GIC and in IMSC (RXIM); its handler reads every byte waiting, up
 * to a line end, and EOIs. Prints the line and powers off. How main waits for the line:
 *   - RX_POLL (uart_rx_poll.S): reading FR in a loop, interrupts on. Keel takes console input
 *     when a guest reads its UART, so this vCPU's own reads raise its interrupt; after the
 *     handler's EOI the list register must be retired (its EOI maintenance), or the vCPU
 *     never leaves Keel's maintenance interrupt;
 *   - else (uart_rx_wfi.S): WFI. This vCPU never reads its UART while it waits: the input
 *     reaches Keel when another vCPU or VM reads its own, and Keel must kick this one out of
 *     WFI. */
#ifndef KEEL_UART_RX_H
#define KEEL_UART_RX_H

#define UART_INTID      33
#define UART_IMSC       0x038
#define UART_RXIM       (1 << 4)

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
    mov     w2, #0xA0
    strb    w2, [x1, #(0x400 + UART_INTID)]
    str     xzr, [x1, #(0x6000 + 8 * UART_INTID)]  /* IROUTER: vCPU 0 */
    mov     w2, #(1 << (UART_INTID - 32))
    str     w2, [x1, #0x104]            /* ISENABLER1 */
    mov     x0, #0
    mov     w1, #0
    bl      gicv3_private_on
    bl      gicv3_cpu_interface_on
    ldr     x1, =UART_BASE
    mov     w2, #UART_RXIM
    str     w2, [x1, #UART_IMSC]
    PRINT   RX_READY
    adrp    x19, line_done
    ldr     x20, =UART_BASE
    msr     daifclr, #2
1:  ldr     x0, [x19, :lo12:line_done]
    cbnz    x0, 2f
#ifdef RX_POLL
    ldr     w0, [x20, #0x18]            /* FR: where Keel takes the input */
#else
    wfi
#endif
    b       1b
2:  msr     daifset, #2
    PRINT   RX_GOT
    adrp    x0, line
    add     x0, x0, :lo12:line
    bl      puts
    bl      newline
    ldp     x29, x30, [sp], #16
    ret

/* The UART's interrupt: every byte waiting (DR until FR.RXFE), up to a line end. */
    .globl irq_handler
irq_handler:
    mrs     x9, icc_iar1_el1
    ldr     x1, =UART_BASE
    adrp    x2, line
    add     x2, x2, :lo12:line
    adrp    x3, line_length
    ldr     x4, [x3, :lo12:line_length]
1:  ldr     w5, [x1, #0x18]             /* FR */
    tbnz    w5, #4, 3f                  /* RXFE: nothing more */
    ldr     w5, [x1]                    /* DR */
    and     w5, w5, #0xFF
    cmp     w5, #'\n'
    b.eq    2f
    cmp     w5, #'\r'
    b.eq    2f
    cmp     x4, #62
    b.hs    1b
    strb    w5, [x2, x4]
    add     x4, x4, #1
    b       1b
2:  strb    wzr, [x2, x4]
    mov     x5, #1
    adrp    x6, line_done
    str     x5, [x6, :lo12:line_done]
3:  str     x4, [x3, :lo12:line_length]
    msr     icc_eoir1_el1, x9
    isb
    ret

    .data
    .balign 8
line_done:      .quad 0
line_length:    .quad 0
line:           .space 64
#endif
