/* Hostile guest, every vCPU on the emulated PL011 at once (issue 12). All the VM's vCPUs
 * (keel run --smp N, or a config's cpus) run ITERS rounds each from their own xorshift seed,
 * interrupts on, each round one of:
 *   - a store to DR of a letter, as byte, halfword or word: never a newline, so in a VM of a
 *     multi-VM image the bytes pile up in its console line buffer from every vCPU at once;
 *   - FR read, any width: TXFF clear (Keel's transmit FIFO is never full), RXFE set (nothing
 *     is ever typed to this VM), nothing above bit 8;
 *   - a random value written to one of IBRD, FBRD, LCR_H, CR, IFLS, IMSC, DMACR, RSR/ECR, read
 *     back: whatever another vCPU wrote meanwhile, the reserved bits read as zero;
 *   - a random value to a random word of the page (DR aside: that would print it), or a read;
 *   - PeriphID/PCellID, which must read r1p5's constants whatever was written to them, and
 *     RIS/MIS, whose receive bits must be clear.
 * The UART's SPI (33) is enabled and routed to vCPU 0: with nothing received it must never
 * come, whatever IMSC says. The VM resets itself (PSCI SYSTEM_RESET) at a random point, RESETS
 * times in all (a counter in RAM outside the image): one random vCPU while the others hammer
 * on, or every vCPU at once (lib/smp.h, SMP_RESET_POINT).
 * vCPU 0 waits for the others, ends the line of letters, reports per vCPU (lib/smp.S) and
 * powers the VM off. */
#include "attack.h"
#include "smp.h"


#ifndef ITERS
#define ITERS       300000
#endif
#ifndef RESETS
#define RESETS      2
#endif
#define UART_INTID  33
#define U_DR_STORES (B_USER + 0)
#define U_UART_IRQS (B_USER + 8)

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    MOV64   x0, ITERS
    MOV64   x1, 0x5EED0A17C0FFEE11
    mov     x2, #RESETS
    bl      smp_prepare
    mov     x19, x0
    ADR_STR "uart: boot "
    mov     x1, x19
    bl      print_dec
    bl      newline
    bl      uart_gic_setup
    mov     x0, #0
    bl      smp_start_others
    bl      worker
    mov     x0, #100                    /* seconds */
    mov     x1, #0
    bl      smp_wait_others
    mov     x20, x0
    /* The UART as a driver leaves it, then end the line of letters. */
    ldr     x1, =UART_BASE
    mov     w2, #0x301
    str     w2, [x1, #0x30]
    str     wzr, [x1, #0x38]
    bl      newline
    PRINT   "uart: report\n"
    ADR_STR "uart: boots="
    mov     x1, x19
    bl      print_dec
    bl      newline
    ADR_STR "uart: unfinished_vcpus="
    mov     x1, x20
    bl      print_dec
    bl      newline
    ADR_STR "uart"
    bl      smp_report
    /* The attack's own totals. */
    mov     x21, #0
    mov     x22, #0
    mov     x20, #0
1:  bl      smp_count
    cmp     x20, x0
    b.hs    2f
    mov     x0, x20
    bl      smp_block_of
    ldr     x1, [x0, #U_DR_STORES]
    add     x21, x21, x1
    ldr     x1, [x0, #U_UART_IRQS]
    add     x22, x22, x1
    add     x20, x20, #1
    b       1b
2:  ADR_STR "uart: dr_stores="
    mov     x1, x21
    bl      print_dec
    ADR_STR " uart_irqs="
    mov     x1, x22
    bl      print_dec
    bl      newline
    PRINT   "uart: done\n"
    ldp     x29, x30, [sp], #16
    ret

    .globl secondary_main
secondary_main:
    b       worker

/* The distributor: both groups on, the UART's SPI in group 1 at 0xA0, to vCPU 0, enabled. */
uart_gic_setup:
    ldr     x1, =GICD_BASE
    mov     w2, #0x13
    str     w2, [x1]
    ldr     w2, [x1, #0x084]            /* IGROUPR1 */
    orr     w2, w2, #(1 << (UART_INTID - 32))
    str     w2, [x1, #0x084]
    mov     w2, #0xA0
    strb    w2, [x1, #(0x400 + UART_INTID)]
    MOV64   x3, (GICD_BASE + 0x6000 + 8 * UART_INTID)
    str     xzr, [x3]
    mov     w2, #(1 << (UART_INTID - 32))
    str     w2, [x1, #0x104]            /* ISENABLER1 */
    ret

/* One vCPU's run: its redistributor and CPU interface on, IRQs unmasked, ITERS rounds. */
worker:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    stp     x21, x22, [sp, #-16]!
    stp     x23, x24, [sp, #-16]!
    stp     x25, x26, [sp, #-16]!
    stp     x27, x28, [sp, #-16]!
    mrs     x0, mpidr_el1
    and     x0, x0, #0xFF
    mov     w1, #0
    bl      gicv3_private_on
    bl      gicv3_cpu_interface_on
    SMP_BLOCK_OF x20
    ldr     x22, [x20, #B_SEED]
    ldr     x21, [x20, #B_LEFT]
    ldr     x27, [x20, #B_RESET_AT]
    ldr     x23, =UART_BASE
    adr     x28, reg_masks
    mov     x24, #0                     /* trapped accesses */
    mov     x25, #0                     /* DR stores */
    msr     daifclr, #2

round:
    SMP_RESET_POINT x21, x27
    XORSHIFT x22, x0
    lsr     x1, x22, #8
    and     x0, x22, #7
    cmp     x0, #3
    b.lo    op_dr
    b.eq    op_fr
    cmp     x0, #5
    b.lo    op_reg
    b.eq    op_reg
    cmp     x0, #6
    b.eq    op_random
    b       op_id

op_dr:                                  /* a letter, no newline, any width */
    and     x2, x1, #15
    add     w2, w2, #'a'
    ubfx    x3, x1, #4, #2
    cbz     x3, 1f
    cmp     x3, #1
    b.eq    2f
    str     w2, [x23]
    b       3f
1:  strb    w2, [x23]
    b       3f
2:  strh    w2, [x23]
3:  add     x25, x25, #1
    add     x24, x24, #1
    b       next

op_fr:                                  /* FR: TXFF clear, RXFE set, bits 31:9 zero */
    ubfx    x3, x1, #4, #2
    cbz     x3, 1f
    cmp     x3, #1
    b.eq    2f
    ldr     w0, [x23, #0x18]
    b       3f
1:  ldrb    w0, [x23, #0x18]
    b       3f
2:  ldrh    w0, [x23, #0x18]
3:  add     x24, x24, #1
    and     w2, w0, #0x30
    lsr     w3, w0, #9
    cmp     w2, #0x10
    ccmp    w3, #0, #0, eq
    b.eq    next
    SMP_BAD x20, x0
    b       next

op_reg:                                 /* write random, read back: reserved bits clear */
    and     x2, x1, #7
    add     x3, x28, x2, lsl #3
    ldr     w4, [x3]                    /* offset */
    ldr     w5, [x3, #4]                /* bits that may be set */
    lsr     x6, x22, #32
    str     w6, [x23, x4]
    ldr     w0, [x23, x4]
    add     x24, x24, #2
    bics    wzr, w0, w5
    b.eq    next
    orr     x0, x0, x4, lsl #32         /* which register, for the report */
    SMP_BAD x20, x0
    b       next

op_random:                              /* any word of the page but DR: write, or read */
    and     x2, x1, #0xFFC
    cbz     x2, 1f
    tbz     x1, #12, 1f
    lsr     x6, x22, #32
    str     w6, [x23, x2]
    add     x24, x24, #1
    b       next
1:  ldr     w0, [x23, x2]
    add     x24, x24, #1
    b       next

op_id:                                  /* identification, then RIS and MIS */
    and     x2, x1, #7
    add     x3, x23, #0xFE0
    ldr     w0, [x3, x2, lsl #2]
    adr     x4, id_values
    ldrb    w5, [x4, x2]
    add     x24, x24, #3
    cmp     w0, w5
    b.eq    1f
    orr     x0, x0, x2, lsl #32
    orr     x0, x0, #0xFE0000000000
    SMP_BAD x20, x0
1:  ldr     w0, [x23, #0x3C]            /* RIS: RXRIS (4), RTRIS (6) clear */
    ldr     w2, [x23, #0x40]            /* MIS: RXMIS, RTMIS clear */
    orr     w0, w0, w2
    mov     w3, #0x50
    tst     w0, w3
    b.eq    next
    SMP_BAD x20, x0

next:
    subs    x21, x21, #1
    b.ne    round
    msr     daifset, #2
    str     x22, [x20, #B_SEED]
    str     xzr, [x20, #B_LEFT]
    str     x24, [x20, #B_OPS]
    str     x25, [x20, #U_DR_STORES]
    dsb     sy
    mov     x0, #1
    str     x0, [x20, #B_DONE]
    dsb     sy
    sev
    ldp     x27, x28, [sp], #16
    ldp     x25, x26, [sp], #16
    ldp     x23, x24, [sp], #16
    ldp     x21, x22, [sp], #16
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* Any interrupt: counted; the UART's is a mismatch (nothing was ever received). */
    .globl irq_handler
irq_handler:
    mrs     x0, icc_iar1_el1
    and     x1, x0, #0xFFFFFF
    SMP_BLOCK_OF x2
    ldr     x3, [x2, #B_IRQ]
    add     x3, x3, #1
    str     x3, [x2, #B_IRQ]
    cmp     x1, #UART_INTID
    b.ne    1f
    ldr     x3, [x2, #U_UART_IRQS]
    add     x3, x3, #1
    str     x3, [x2, #U_UART_IRQS]
    SMP_BAD x2, x1
1:  cmp     x1, #1020
    b.hs    2f
    msr     icc_eoir1_el1, x0
2:  isb
    ret

    .section .rodata
    .balign 8
/* Offset and the bits a PL011 r1p5 implements there (the rest reserved, reading as zero). */
reg_masks:
    .word 0x024, 0xFFFF                 /* IBRD */
    .word 0x028, 0x3F                   /* FBRD */
    .word 0x02C, 0xFF                   /* LCR_H */
    .word 0x030, 0xFF87                 /* CR: bits 6:3 reserved */
    .word 0x034, 0x3F                   /* IFLS */
    .word 0x038, 0x7FF                  /* IMSC */
    .word 0x048, 0x7                    /* DMACR */
    .word 0x004, 0x0                    /* RSR: no receive errors, nothing was received */
id_values:
    .byte 0x11, 0x10, 0x14, 0x00, 0x0D, 0xF0, 0x05, 0xB1
