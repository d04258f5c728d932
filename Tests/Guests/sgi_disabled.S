/* SGIs to a vCPU that has not enabled them (issue 12, item 10; keel run --smp 2): vCPU 0 sends
 * SGI 5 to vCPU 1 a thousand times while vCPU 1 spins with SGI 5 disabled. Keel must only
 * latch it (no kick, so vCPU 1 takes no IRQ exit: its `irq=` at power-off); once vCPU 1
 * enables SGI 5 in its redistributor, the latched one arrives, once. */
#include "guest.h"

#define PSCI_CPU_ON_64_SGI  0xC4000003
#define SGI_INTID           5
#define SENDS               1000

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "sgi: start\n"
    ldr     x1, =GICD_BASE
    mov     w2, #0x13                   /* ARE, both groups on */
    str     w2, [x1]
    bl      gicv3_cpu_interface_on      /* system-register access to ICC_SGI1R_EL1 */
    MOV64   x0, PSCI_CPU_ON_64_SGI
    mov     x1, #1
    adrp    x2, secondary_start
    add     x2, x2, :lo12:secondary_start
    mov     x3, #0
    hvc     #0
    adrp    x19, flags
    add     x19, x19, :lo12:flags
1:  ldr     x0, [x19]                   /* vCPU 1 ready */
    cbz     x0, 1b
    MOV64   x20, SENDS
    MOV64   x1, (SGI_INTID << 24) | (1 << 1)   /* INTID 5, Aff 0.0.0, target list: vCPU 1 */
2:  msr     icc_sgi1r_el1, x1
    isb
    subs    x20, x20, #1
    b.ne    2b
    mov     x0, #1
    str     x0, [x19, #8]               /* sent */
    MOV64   x20, 100000000              /* bounded: a test failure, not a hang */
3:  ldr     x0, [x19, #16]              /* vCPU 1 done */
    cbnz    x0, 4f
    subs    x20, x20, #1
    b.ne    3b
4:  ldr     x20, [x19, #24]
    PRINT_KV "sgi: taken by vcpu1 after enabling=", x20
    ldp     x29, x30, [sp], #16
    ret

    .globl secondary_main
secondary_main:
    stp     x29, x30, [sp, #-16]!
    adrp    x19, flags
    add     x19, x19, :lo12:flags
    mov     x0, #1
    str     x0, [x19]                   /* ready */
1:  ldr     x0, [x19, #8]               /* spin in the guest until every SGI was sent */
    cbz     x0, 1b
    mov     x0, #1                      /* redistributor 1: SGI 5 in group 1, enabled */
    mov     w1, #(1 << SGI_INTID)
    bl      gicv3_private_on
    bl      gicv3_cpu_interface_on
    msr     daifclr, #2
    MOV64   x20, 1000000
2:  ldr     x0, [x19, #24]
    cbnz    x0, 3f
    subs    x20, x20, #1
    b.ne    2b
3:  msr     daifset, #2
    mov     x0, #1
    str     x0, [x19, #16]              /* done */
    ldp     x29, x30, [sp], #16
    ret

    .globl irq_handler
irq_handler:
    mrs     x0, icc_iar1_el1
    and     x1, x0, #0xFFFFFF
    cmp     x1, #SGI_INTID
    b.ne    1f
    adrp    x2, flags
    add     x2, x2, :lo12:flags
    ldr     x3, [x2, #24]
    add     x3, x3, #1
    str     x3, [x2, #24]
1:  msr     icc_eoir1_el1, x0
    isb
    ret

    .data
    .balign 8
flags:  .quad 0, 0, 0, 0                /* ready, sent, done, SGIs taken by vCPU 1 */
