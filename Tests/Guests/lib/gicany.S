/* GIC helpers that work on a GICv2 and a GICv3 alike, for the conformance guests (vgic_*.S):
 * the version from ID_AA64PFR0_EL1.GIC (non-zero when the GICv3 system registers exist), then
 * the distributor, the redistributor's SGI frame (v3) or the banked distributor registers (v2)
 * for private interrupts, and the CPU interface by ICC_* registers (v3) or the GICC frame (v2).
 * The same code runs under Keel and natively on QEMU virt.
 *
 * Unlike lib/gic.S's gicv3_cpu_interface_on, gic_cpu_on does not clear the active priority
 * registers: a bare-metal program may rely on their reset value, and a test here checks that
 * Keel gives a restarted vCPU none left over from its previous life.
 *
 * Lib convention: arguments in x0-x1, clobber x0-x15 and x30, preserve x16-x29. */
#include "guest.h"

#define GICC_BASE_ANY       0x08010000  /* v2 CPU interface (Keel: the real GICV frame) */
#define GICR_BASE_ANY       0x080A0000  /* v3: CPU n's redistributor at + n * 0x20000 */
#define GICR_SGI_ANY        0x10000
#define GICR_WAKER_ANY      0x0014
#define GICD_IGROUPR_ANY    0x0080
#define GICD_IPRIORITYR_ANY 0x0400
#define GICD_ITARGETSR_ANY  0x0800
#define GICD_IROUTER_ANY    0x6000      /* IROUTER<n> at + 8n (SPIs only) */

    .text
/* x0 = 1 on a GICv3, 0 on a GICv2. */
    .globl gic_is_v3
gic_is_v3:
    mrs     x0, id_aa64pfr0_el1
    ubfx    x0, x0, #24, #4
    cmp     x0, #0
    cset    x0, ne
    ret

/* x0 = this CPU's number (MPIDR_EL1.Aff0). */
    .globl gic_cpu_number
gic_cpu_number:
    mrs     x0, mpidr_el1
    and     x0, x0, #0xFF
    ret

/* Distributor on: both groups enabled; on a v3 affinity routing too (ARE, DS = 1). */
    .globl gic_dist_on
gic_dist_on:
    mov     x15, x30
    bl      gic_is_v3
    ldr     x1, =GICD_BASE
    mov     w2, #0x3
    cbz     x0, 1f
    mov     w2, #0x13
1:  str     w2, [x1]
    mov     x30, x15
    ret

/* This CPU's interface on. v3: its redistributor awake (ProcessorSleep off, ChildrenAsleep
 * waited out), system registers enabled, EOImode 0, priority mask open, group 1 enabled.
 * v2: GICC priority mask open, both groups enabled (group 0 as IRQ: FIQEn clear), EOImode 0.
 * No write to the active priority registers (see the top of this file). */
    .globl gic_cpu_on
gic_cpu_on:
    mov     x15, x30
    bl      gic_cpu_number
    mov     x14, x0
    bl      gic_is_v3
    cbz     x0, 3f
    ldr     x2, =GICR_BASE_ANY
    add     x2, x2, x14, lsl #17
    ldr     w3, [x2, #GICR_WAKER_ANY]
    bic     w3, w3, #2
    str     w3, [x2, #GICR_WAKER_ANY]
1:  ldr     w3, [x2, #GICR_WAKER_ANY]
    tbnz    w3, #2, 1b
    mrs     x0, icc_sre_el1
    orr     x0, x0, #7
    msr     icc_sre_el1, x0
    isb
    msr     icc_ctlr_el1, xzr
    mov     x0, #0xFF
    msr     icc_pmr_el1, x0
    mov     x0, #1
    msr     icc_igrpen1_el1, x0
    isb
    b       4f
3:  ldr     x2, =GICC_BASE_ANY
    mov     w3, #0xFF
    str     w3, [x2, #0x4]              /* GICC_PMR */
    mov     w3, #0x3
    str     w3, [x2, #0x0]              /* GICC_CTLR: EnableGrp0 | EnableGrp1 */
4:  mov     x30, x15
    ret

/* x0 = INTID, x1 = offset of a one-bit-per-interrupt register (0x100 ISENABLER, 0x180
 * ICENABLER, 0x200 ISPENDR, 0x280 ICPENDR, 0x300 ISACTIVER, 0x380 ICACTIVER): x0 = the address
 * of the word holding that INTID's bit (this CPU's copy for SGIs and PPIs), x1 = the bit. */
    .globl gic_irq_word
gic_irq_word:
    mov     x13, x30
    mov     x10, x0
    mov     x11, x1
    bl      gic_private_frame
    cmp     x10, #32
    b.lo    1f
    ldr     x0, =GICD_BASE
1:  add     x0, x0, x11
    lsr     x12, x10, #5
    add     x0, x0, x12, lsl #2
    and     x12, x10, #31
    mov     x1, #1
    lsl     x1, x1, x12
    mov     x30, x13
    ret

/* x0 = the frame of this CPU's SGI and PPI registers: its redistributor's SGI frame (v3) or
 * the distributor, whose first words are banked per CPU (v2). Clobbers x0-x3. */
gic_private_frame:
    mov     x3, x30
    bl      gic_is_v3
    cbz     x0, 1f
    bl      gic_cpu_number
    ldr     x1, =(GICR_BASE_ANY + GICR_SGI_ANY)
    add     x0, x1, x0, lsl #17
    mov     x30, x3
    ret
1:  ldr     x0, =GICD_BASE
    mov     x30, x3
    ret

/* Write INTID x0's bit to the register at offset x1 (set/clear enable, pending, active). */
    .globl gic_irq_set
gic_irq_set:
    mov     x9, x30
    bl      gic_irq_word
    str     w1, [x0]
    mov     x30, x9
    ret

/* x0 = 1 when INTID x0's bit is set in the register at offset x1, else 0. */
    .globl gic_irq_test
gic_irq_test:
    mov     x9, x30
    bl      gic_irq_word
    ldr     w2, [x0]
    tst     w2, w1
    cset    x0, ne
    mov     x30, x9
    ret

/* INTID x0 ready to be taken as an IRQ: priority 0xA0 and, on a v3, group 1 (a v2 keeps
 * group 0, signalled as IRQ while GICC_CTLR.FIQEn is clear). Not enabled. */
    .globl gic_irq_setup
gic_irq_setup:
    mov     x9, x30
    mov     x8, x0
    bl      gic_private_frame
    cmp     x8, #32
    b.lo    1f
    ldr     x0, =GICD_BASE
1:  add     x2, x0, #GICD_IPRIORITYR_ANY
    mov     w3, #0xA0
    strb    w3, [x2, x8]
    mov     x7, x0
    bl      gic_is_v3
    cbz     x0, 2f
    add     x2, x7, #GICD_IGROUPR_ANY
    lsr     x3, x8, #5
    add     x2, x2, x3, lsl #2
    ldr     w4, [x2]
    and     x3, x8, #31
    mov     w5, #1
    lsl     w5, w5, w3
    orr     w4, w4, w5
    str     w4, [x2]
2:  mov     x30, x9
    ret

/* SPI x0 routed to CPU x1 alone: IROUTER (v3) or ITARGETSR (v2). */
    .globl gic_spi_route
gic_spi_route:
    mov     x9, x30
    mov     x7, x0
    mov     x8, x1
    bl      gic_is_v3
    ldr     x2, =GICD_BASE
    cbz     x0, 1f
    add     x2, x2, #GICD_IROUTER_ANY
    str     x8, [x2, x7, lsl #3]
    b       2f
1:  add     x2, x2, #GICD_ITARGETSR_ANY
    mov     w3, #1
    lsl     w3, w3, w8
    strb    w3, [x2, x7]
2:  mov     x30, x9
    ret

/* x0 = the acknowledged interrupt's IAR value (pass it to gic_eoi), x1 = its INTID. */
    .globl gic_ack
gic_ack:
    mov     x9, x30
    bl      gic_is_v3
    cbz     x0, 1f
    mrs     x0, icc_iar1_el1
    and     x1, x0, #0xFFFFFF
    mov     x30, x9
    ret
1:  ldr     x2, =GICC_BASE_ANY
    ldr     w0, [x2, #0xC]              /* GICC_IAR */
    and     x1, x0, #0x3FF
    mov     x30, x9
    ret

/* End of interrupt x0 (an IAR value): priority drop and, EOImode 0, deactivation. */
    .globl gic_eoi
gic_eoi:
    mov     x9, x30
    mov     x8, x0
    bl      gic_is_v3
    cbz     x0, 1f
    msr     icc_eoir1_el1, x8
    isb
    mov     x30, x9
    ret
1:  ldr     x2, =GICC_BASE_ANY
    str     w8, [x2, #0x10]             /* GICC_EOIR */
    mov     x30, x9
    ret

/* Spin for x0 ticks of the virtual counter. */
    .globl delay_ticks
delay_ticks:
    isb
    mrs     x1, cntvct_el0
    add     x1, x1, x0
1:  isb
    mrs     x2, cntvct_el0
    cmp     x2, x1
    b.lo    1b
    ret

/* Spin for x0 milliseconds. */
    .globl delay_ms
delay_ms:
    mrs     x1, cntfrq_el0
    mul     x0, x0, x1
    mov     x1, #1000
    udiv    x0, x0, x1
    b       delay_ticks
