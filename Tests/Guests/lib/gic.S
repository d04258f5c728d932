/* GICv3 set-up as a bare-metal program does it on hardware, shared by the guests that take
 * interrupts (benchirq, doorbell, attack_gic, attack_storm). Under Keel the distributor and
 * redistributors are emulated and the CPU interface virtualized; natively they are QEMU's.
 * Arguments in x0-x1; clobber x0-x4 (the lib convention allows x0-x15). */
#include "guest.h"

#define GICR_BASE_LIB   0x080A0000      /* CPU n's redistributor: + n * 0x20000 */
#define GICR_WAKER_LIB  0x0014
#define GICR_SGI_LIB    0x10000
#define GICR_IGROUPR0_LIB   0x0080
#define GICR_ISENABLER0_LIB 0x0100
#define GICR_IPRIORITYR_LIB 0x0400

    .text
/* x0 = CPU n, w1 = a mask of its SGIs/PPIs: its redistributor awake (ProcessorSleep off, then
 * ChildrenAsleep waited out), those interrupts in group 1 at priority 0xA0 and enabled. */
    .globl gicv3_private_on
gicv3_private_on:
    ldr     x2, =GICR_BASE_LIB
    add     x2, x2, x0, lsl #17
    ldr     w3, [x2, #GICR_WAKER_LIB]
    bic     w3, w3, #2
    str     w3, [x2, #GICR_WAKER_LIB]
1:  ldr     w3, [x2, #GICR_WAKER_LIB]
    tbnz    w3, #2, 1b
    add     x2, x2, #GICR_SGI_LIB
    ldr     w3, [x2, #GICR_IGROUPR0_LIB]
    orr     w3, w3, w1
    str     w3, [x2, #GICR_IGROUPR0_LIB]
    mov     x0, #0                      /* priority bytes of the mask's interrupts */
    mov     w3, #0xA0
2:  lsr     w4, w1, w0
    tbz     w4, #0, 3f
    add     x4, x2, #GICR_IPRIORITYR_LIB
    strb    w3, [x4, x0]
3:  add     x0, x0, #1
    cmp     x0, #32
    b.lo    2b
    str     w1, [x2, #GICR_ISENABLER0_LIB]
    ret

/* This CPU's interface on: system-register access, EOImode 0 (EOIR also deactivates), no
 * active priorities, the priority mask open, group 1 enabled. */
    .globl gicv3_cpu_interface_on
gicv3_cpu_interface_on:
    mrs     x0, icc_sre_el1
    orr     x0, x0, #7                  /* SRE, DFB, DIB */
    msr     icc_sre_el1, x0
    isb
    msr     icc_ctlr_el1, xzr
    msr     icc_ap1r0_el1, xzr
    mov     x0, #0xFF
    msr     icc_pmr_el1, x0
    mov     x0, #1
    msr     icc_igrpen1_el1, x0
    isb
    ret
