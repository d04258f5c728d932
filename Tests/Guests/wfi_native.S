/* A vCPU's WFIs run natively once it has waited in one (hyp/arch/NativeWFI.swift).
 *
 *   1. vCPU 0 arms its virtual timer 1 ms ahead and waits in WFI with IRQs masked (as Linux's
 *      idle loop does), 64 times; after each wake-up it unmasks IRQs to take the interrupt
 *      (the handler masks the timer). Keel traps the first WFI (it waits for the guest) and
 *      none after, unless exits are traced or the GIC is a GICv2: the test reads the counts.
 *   2. With --smp 2: vCPU 1 does the same once, then disables its timer interrupt, masks
 *      every exception and sleeps in WFI for good (nothing could wake it: the guest's own
 *      doing). vCPU 0 returns from main, whose SYSTEM_OFF must still stop vCPU 1 (Keel's kick
 *      ends its native WFI) and power the machine off.
 *
 * Prints "wfi_native: wakeups=0x40" (interrupts taken in phase 1), "wfi_native: cpu1 asleep"
 * and "wfi_native: done". */
#include "guest.h"

#define VTIMER_INTID    27
#define ISENABLER       0x100
#define ICENABLER       0x180
#define CTL_ENABLE      1
#define CTL_IMASK       2
#define LOOPS           64
#define PSCI_CPU_ON_64_ 0xC4000003

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "wfi_native: start\n"
    bl      gic_dist_on
    bl      gic_cpu_on
    bl      timer_irq_on
    mov     x19, #LOOPS
1:  bl      wait_for_timer
    subs    x19, x19, #1
    b.ne    1b
    adrp    x9, irqs
    ldr     x19, [x9, :lo12:irqs]
    PRINT_KV "wfi_native: wakeups=", x19

    /* Phase 2, when there is a vCPU 1 (CPU_ON succeeds). */
    ldr     x2, =secondary_start
    mov     x1, #1
    mov     x3, #0
    MOV64   x0, PSCI_CPU_ON_64_
    hvc     #0
    cbnz    x0, 3f
    adrp    x9, asleep
2:  ldr     x10, [x9, :lo12:asleep]
    cbnz    x10, 21f
    yield
    b       2b
21: mov     x0, #50
    bl      delay_ms
    PRINT   "wfi_native: cpu1 asleep\n"
3:  PRINT   "wfi_native: done\n"
    ldp     x29, x30, [sp], #16
    ret                                 /* start.S: SYSTEM_OFF */

    .globl secondary_main
secondary_main:
    bl      gic_cpu_on
    bl      timer_irq_on
    bl      wait_for_timer
    /* Nothing can end the next wait: its timer interrupt disabled, every exception masked. */
    mov     x0, #VTIMER_INTID
    mov     x1, #ICENABLER
    bl      gic_irq_set
    msr     cntv_ctl_el0, xzr
    msr     daifset, #0xF
    isb
    adrp    x9, asleep
    mov     x10, #1
    str     x10, [x9, :lo12:asleep]
    dsb     sy
1:  wfi
    b       1b

/* This CPU's virtual timer interrupt set up and enabled in the GIC. */
timer_irq_on:
    stp     x29, x30, [sp, #-16]!
    mov     x0, #VTIMER_INTID
    bl      gic_irq_setup
    mov     x0, #VTIMER_INTID
    mov     x1, #ISENABLER
    bl      gic_irq_set
    ldp     x29, x30, [sp], #16
    ret

/* The timer 1 ms ahead; WFI with IRQs masked until one is pending (ISR_EL1.I), then unmasked
 * to take it. */
wait_for_timer:
    mrs     x0, cntfrq_el0
    mov     x1, #1000
    udiv    x0, x0, x1
    msr     cntv_tval_el0, x0
    mov     x0, #CTL_ENABLE
    msr     cntv_ctl_el0, x0
    isb
1:  wfi
    mrs     x0, isr_el1
    tbz     x0, #7, 1b
    msr     daifclr, #2
    isb
    msr     daifset, #2
    ret

/* The timer's interrupt masks the timer (IMASK) and is counted. */
    .globl irq_handler
irq_handler:
    stp     x29, x30, [sp, #-16]!
    bl      gic_ack
    cmp     x1, #VTIMER_INTID
    b.ne    1f
    mov     x2, #(CTL_ENABLE | CTL_IMASK)
    msr     cntv_ctl_el0, x2
    isb
    adrp    x9, irqs
    ldr     x10, [x9, :lo12:irqs]
    add     x10, x10, #1
    str     x10, [x9, :lo12:irqs]
1:  bl      gic_eoi
    ldp     x29, x30, [sp], #16
    ret

    .data
    .balign 8
irqs:   .quad 0
asleep: .quad 0
