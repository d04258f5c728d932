/* The active state a guest reads back (GICD_ISACTIVER, GICv3 or GICv2) is the CPU interface's,
 * not an old copy. Linux's synchronize_irq polls ISACTIVER until the interrupt is inactive
 * (virtio's shutdown calls it): a stale active bit hangs it for ever.
 *
 * SPI 40 is raised (ISPENDR) and taken. Its handler pends the disabled SPI 41 (a distributor
 * write: Keel looks at this vCPU's list registers again and sees SPI 40 active there), reads SPI
 * 40's active bit (set), ends the interrupt (EOI in the virtual CPU interface, no trap) and
 * returns. The interrupted code reads the active bit again: it must be clear, as on hardware.
 * The same ELF runs natively (QEMU virt at EL1), the reference. */
#include "guest.h"

#define SPI             40
#define OTHER_SPI       41
#define GICD_ISPENDR    0x200
#define GICD_ICPENDR    0x280
#define GICD_ISACTIVER  0x300
#define GICD_ISENABLER  0x100

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    bl      gic_dist_on
    bl      gic_cpu_on
    mov     x0, #SPI
    bl      gic_irq_setup
    mov     x0, #SPI
    mov     x1, #0
    bl      gic_spi_route
    mov     x0, #OTHER_SPI
    bl      gic_irq_setup
    mov     x0, #OTHER_SPI
    mov     x1, #0
    bl      gic_spi_route
    mov     x0, #SPI
    mov     x1, #GICD_ISENABLER
    bl      gic_irq_set
    msr     daifclr, #2
    mov     x0, #SPI
    mov     x1, #GICD_ISPENDR
    bl      gic_irq_set
    /* Up to a second for the handler. */
    mrs     x1, cntfrq_el0
    isb
    mrs     x2, cntvct_el0
    add     x20, x2, x1
    adrp    x19, taken
1:  ldr     x0, [x19, :lo12:taken]
    cbnz    x0, 2f
    isb
    mrs     x3, cntvct_el0
    cmp     x3, x20
    b.lo    1b
2:  msr     daifset, #2
    ldr     x21, [x19, :lo12:taken]
    PRINT_KV "active: taken=", x21
    adrp    x9, in_handler
    ldr     x21, [x9, :lo12:in_handler]
    PRINT_KV "active: in_handler=", x21
    mov     x0, #SPI
    mov     x1, #GICD_ISACTIVER
    bl      gic_irq_test
    mov     x21, x0
    PRINT_KV "active: after_eoi=", x21
    mov     x0, #OTHER_SPI
    mov     x1, #GICD_ICPENDR
    bl      gic_irq_set
    PRINT   "active: done\n"
    ldp     x29, x30, [sp], #16
    ret

    .globl irq_handler
irq_handler:
    stp     x29, x30, [sp, #-16]!
    bl      gic_ack
    mov     x16, x0
    mov     x17, x1
    cmp     x17, #1020
    b.hs    2f
    cmp     x17, #SPI
    b.ne    1f
    mov     x0, #OTHER_SPI
    mov     x1, #GICD_ISPENDR
    bl      gic_irq_set
    mov     x0, #SPI
    mov     x1, #GICD_ISACTIVER
    bl      gic_irq_test
    adrp    x9, in_handler
    str     x0, [x9, :lo12:in_handler]
    adrp    x9, taken
    ldr     x10, [x9, :lo12:taken]
    add     x10, x10, #1
    str     x10, [x9, :lo12:taken]
1:  mov     x0, x16
    bl      gic_eoi
2:  ldp     x29, x30, [sp], #16
    ret

    .data
    .balign 8
taken:      .quad 0
in_handler: .quad 0
