/* PSCI SYSTEM_RESET from inside an interrupt handler, before its EOI (GICv3 or GICv2). The
 * handler's priority is active in the CPU interface when the VM resets; the restarted VM must
 * start with none (on hardware a reset clears the active priority registers), so its own timer
 * interrupt, at the same priority, must reach it after the reset. A word in RAM outside the image
 * (kept across the reset, as after a warm reset) tells the second boot from the first.
 *
 * lib/gicany.S's gic_cpu_on leaves the active priority registers alone, as a bare-metal program
 * that trusts their reset value does. The same ELF runs natively (QEMU virt at EL1). */
#include "guest.h"

#define PSCI_SYSTEM_RESET   0x84000009
#define MARKER_ADDR         0x40200000
#define MARKER              0x5245534554495251      /* "RESETIRQ" */
#define VTIMER_INTID        27

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    MOV64   x20, MARKER_ADDR
    ldr     x10, [x20]
    MOV64   x11, MARKER
    cmp     x10, x11
    b.eq    second_boot

    str     x11, [x20]
    dc      civac, x20
    dsb     sy
    PRINT   "reset: first boot\n"
    bl      timer_on
    msr     daifclr, #2
1:  wfi                                 /* the handler resets the VM */
    b       1b

second_boot:
    str     xzr, [x20]
    adrp    x9, second
    mov     x10, #1
    str     x10, [x9, :lo12:second]
    PRINT   "reset: second boot\n"
    bl      timer_on
    msr     daifclr, #2
    /* Up to a second for the timer interrupt. */
    mrs     x1, cntfrq_el0
    isb
    mrs     x2, cntvct_el0
    add     x2, x2, x1
    adrp    x9, taken
2:  ldr     x19, [x9, :lo12:taken]
    cbnz    x19, 3f
    isb
    mrs     x3, cntvct_el0
    cmp     x3, x2
    b.lo    2b
3:  msr     daifset, #2
    PRINT_KV "reset: timer_irq_after_reset_from_handler=", x19
    PRINT   "reset: done\n"
    ldp     x29, x30, [sp], #16
    ret

/* GIC up, the virtual timer's interrupt enabled, the timer 1 ms ahead. */
timer_on:
    stp     x29, x30, [sp, #-16]!
    bl      gic_dist_on
    bl      gic_cpu_on
    mov     x0, #VTIMER_INTID
    bl      gic_irq_setup
    mov     x0, #VTIMER_INTID
    mov     x1, #0x100                  /* ISENABLER */
    bl      gic_irq_set
    mrs     x1, cntfrq_el0
    mov     x2, #1000
    udiv    x1, x1, x2
    isb
    mrs     x0, cntvct_el0
    add     x0, x0, x1
    msr     cntv_cval_el0, x0
    mov     x0, #1
    msr     cntv_ctl_el0, x0
    isb
    ldp     x29, x30, [sp], #16
    ret

/* First boot: SYSTEM_RESET right here, the interrupt active. Second boot: mask the timer, EOI,
 * count. */
    .globl irq_handler
irq_handler:
    stp     x29, x30, [sp, #-16]!
    bl      gic_ack
    mov     x16, x0
    mov     x17, x1
    cmp     x17, #1020
    b.hs    2f
    adrp    x9, second
    ldr     x10, [x9, :lo12:second]
    cbnz    x10, 1f
    PRINT_KV "reset: in the handler of INTID ", x17
    PRINT   "reset: SYSTEM_RESET before EOI\n"
    MOV64   x0, PSCI_SYSTEM_RESET
    hvc     #0
    PRINT   "reset: SYSTEM_RESET returned\n"
1:  mov     x0, #3                      /* IMASK | ENABLE */
    msr     cntv_ctl_el0, x0
    isb
    adrp    x9, taken
    ldr     x10, [x9, :lo12:taken]
    add     x10, x10, #1
    str     x10, [x9, :lo12:taken]
    mov     x0, x16
    bl      gic_eoi
2:  ldp     x29, x30, [sp], #16
    ret

    .data
    .balign 8
second: .quad 0
taken:  .quad 0
