/* Hostile guest, exception storms and WFx (issue 6):
 *   - 50,000 injected external aborts in a row (loads past the VM's RAM), then 20,000
 *     injected UNDEFs (PMU reads), then 20,000 HVCs with a non-zero immediate;
 *   - 10,000 WFIs and 10,000 WFEs with every interrupt masked and none enabled in the GIC:
 *     Keel must resume each (nothing could ever end the wait);
 *   - an IRQ handler that never returns: the virtual timer fires, the handler spins with
 *     interrupts masked, never ends the interrupt, and powers the VM off from there. */
#include "attack.h"

#define STORM_ABORTS    50000
#define STORM_UNDEFS    20000
#define STORM_HVCS      20000
#define WFX_LOOPS       10000
#define GICR_BASE       0x080A0000
#define GICR_WAKER      0x0014
#define GICR_SGI        0x10000
#define GICR_IGROUPR0   0x0080
#define GICR_ISENABLER0 0x0100
#define GICR_IPRIORITYR 0x0400
#define VTIMER_INTID    27

/* x0 = exceptions since x19 was sampled. */
.macro EXC_SINCE
    adrp    x9, exc_count
    ldr     x0, [x9, :lo12:exc_count]
    sub     x0, x0, x19
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "storm: start\n"

    ATTACK_BEGIN
    MOV64   x2, 0x50000000
    MOV64   x20, STORM_ABORTS
1:  ldr     x3, [x2]
    subs    x20, x20, #1
    b.ne    1b
    ATTACK_END "storm: aborts"

    ATTACK_BEGIN
    MOV64   x20, STORM_UNDEFS
1:  mrs     x3, pmcr_el0
    subs    x20, x20, #1
    b.ne    1b
    ATTACK_END "storm: undefs"

    ATTACK_BEGIN
    MOV64   x20, STORM_HVCS
    mov     x21, #0                     /* results other than NOT_SUPPORTED */
1:  mov     x0, #0
    hvc     #0x42
    cmn     x0, #1
    cinc    x21, x21, ne
    subs    x20, x20, #1
    b.ne    1b
    ATTACK_END "storm: hvcs"
    PRINT_KV "storm: hvc_mismatch=", x21

    /* WFx with everything masked and nothing enabled. */
    msr     daifset, #0xF
    MOV64   x20, WFX_LOOPS
1:  wfi
    subs    x20, x20, #1
    b.ne    1b
    PRINT   "storm: wfi loop done\n"
    MOV64   x20, WFX_LOOPS
1:  wfe
    subs    x20, x20, #1
    b.ne    1b
    PRINT   "storm: wfe loop done\n"
    msr     daifclr, #4                 /* SError back on; IRQs stay masked */

    /* The timer interrupt that never ends. */
    ldr     x1, =GICD_BASE
    mov     w2, #0x13
    str     w2, [x1]
    mov     x0, #0
    ldr     w1, =(1 << VTIMER_INTID)
    bl      gicv3_private_on
    bl      gicv3_cpu_interface_on
    mrs     x1, cntvct_el0
    add     x1, x1, #1000
    msr     cntv_cval_el0, x1
    mov     x2, #1
    msr     cntv_ctl_el0, x2
    isb
    PRINT   "storm: timer armed\n"
    MOV64   x20, 100000000
    msr     daifclr, #2
1:  subs    x20, x20, #1                /* the handler never comes back here */
    b.ne    1b
    msr     daifset, #2
    PRINT   "storm: the timer interrupt never came\n"
    ldp     x29, x30, [sp], #16
    ret

/* Acknowledge, never end it: spin (interrupts masked, as on entry), then power off. */
    .globl irq_handler
irq_handler:
    mrs     x19, icc_iar1_el1
    and     x19, x19, #0xFFFFFF
    PRINT_KV "storm: in the IRQ handler, intid=", x19
    MOV64   x20, 20000000
1:  subs    x20, x20, #1
    b.ne    1b
    PRINT   "storm: powering off from the IRQ handler\n"
    bl      system_off
