/* vm1 of the doorbell permission test: rung by its peer while its doorbell SPI is disabled
 * (no IRQ exit may follow), then enables it and takes the one latched doorbell. See
 * lib/doorbell_acl.h. */
#include "doorbell_acl.h"

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "victim: start\n"
    SET_FLAG PAIR_IPA
    WAIT_FLAG PAIR_IPA + 8
    PRINT   "victim: ringer done\n"
    /* Now the doorbell: distributor on, SPI 47 in group 1 at 0xA0 to vCPU 0, enabled; this
     * vCPU's redistributor and CPU interface on. Its pending state latched meanwhile. */
    ldr     x1, =GICD_BASE
    mov     w2, #0x13
    str     w2, [x1]
    ldr     w2, [x1, #0x084]
    orr     w2, w2, #(1 << (DOORBELL_SPI_INTID - 32))
    str     w2, [x1, #0x084]
    mov     w2, #0xA0
    strb    w2, [x1, #(0x400 + DOORBELL_SPI_INTID)]
    str     xzr, [x1, #(0x6000 + 8 * DOORBELL_SPI_INTID)]
    mov     w2, #(1 << (DOORBELL_SPI_INTID - 32))
    str     w2, [x1, #0x104]
    mov     x0, #0
    mov     w1, #0
    bl      gicv3_private_on
    bl      gicv3_cpu_interface_on
    adrp    x19, doorbells
    MOV64   x20, 1000000                /* bounded: a test failure, not a hang */
    msr     daifclr, #2
1:  ldr     x0, [x19, :lo12:doorbells]
    cbnz    x0, 2f
    subs    x20, x20, #1
    b.ne    1b
2:  msr     daifset, #2
    ldr     x19, [x19, :lo12:doorbells]
    PRINT_KV "victim: latched doorbells taken=", x19
    SET_FLAG SIDE_IPA
    ldp     x29, x30, [sp], #16
    ret

    .globl irq_handler
irq_handler:
    mrs     x0, icc_iar1_el1
    and     x1, x0, #0xFFFFFF
    cmp     x1, #DOORBELL_SPI_INTID
    b.ne    1f
    adrp    x2, doorbells
    ldr     x3, [x2, :lo12:doorbells]
    add     x3, x3, #1
    str     x3, [x2, :lo12:doorbells]
1:  msr     icc_eoir1_el1, x0
    isb
    ret

    .data
    .balign 8
doorbells:  .quad 0
