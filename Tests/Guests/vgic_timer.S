/* The checks of kvm-unit-tests' arm/timer.c (test_timer), for the virtual and the EL1 physical
 * timer, GICv3 or GICv2, plus two of Keel's own on a timer interrupt that already sits in a list
 * register. The timer interrupt must follow the timer's output (ENABLE, ISTATUS, not IMASK), as
 * on hardware: the pending state read in GICR_ISPENDR0 (v3) or GICD_ISPENDR0 (v2), and delivery.
 *
 * kvm-unit-tests' sequence, IRQs unmasked throughout as there:
 *   timer interrupt disabled in the GIC; CVAL 10 s ahead, ENABLE  -> "not pending before"
 *   CVAL in the past                                            -> "interrupt signal pending"
 *   CTL 0, then the interrupt enabled in the GIC  -> "no interrupt when timer is disabled",
 *                                                    "interrupt signal no longer pending"
 *   CVAL in the past, ENABLE | IMASK                            -> "interrupt signal not pending"
 *   CVAL 10 ms ahead, ENABLE                                    -> "interrupt received"
 *   TVAL 10 ms, IRQs masked, WFI, unmasked -> "interrupt received after TVAL/WFI",
 *                                             "timer has expired"
 * Keel's own, IRQs masked, the interrupt enabled: the timer fires and its interrupt waits as a
 * virtual IRQ (ISR_EL1.I); then the timer is disabled, or re-armed 10 s ahead: the GIC must show
 * it not pending, and unmasking IRQs must not take it.
 *
 * The GIC state is sampled the way kvm-unit-tests does (gic_timer_check_state): the expected
 * state seen twice, some time apart, within a second. Each check prints
 * "timer: vtimer: NAME: PASS" (or FAIL), then "timer: failures=0x...". The same ELF runs
 * natively (QEMU virt at EL1, -kernel). */
#include "guest.h"

#define VTIMER_INTID    27
#define PTIMER_INTID    30
#define CTL_ENABLE      1
#define CTL_IMASK       2
#define CTL_ISTATUS     4
#define ISPENDR         0x200
#define ISACTIVER       0x300
#define ISENABLER       0x100
#define ICENABLER       0x180
#define STATE_INACTIVE  0
#define STATE_PENDING   1

/* x0 = condition (non-zero: pass); print the check `name` for the current timer. */
.macro CHECK name
    mov     x1, x0
    ADR_STR "\name"
    bl      report
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "timer: start\n"
    bl      gic_dist_on
    bl      gic_cpu_on
    mov     x0, #VTIMER_INTID
    bl      gic_irq_setup
    mov     x0, #PTIMER_INTID
    bl      gic_irq_setup
    msr     daifclr, #2                 /* kvm-unit-tests' local_irq_enable() */
    isb

    mov     x19, #0                     /* x19: 0 vtimer, 1 ptimer; x20: its INTID */
    mov     x20, #VTIMER_INTID
    bl      test_timer
    bl      test_in_list_register
    mov     x19, #1
    mov     x20, #PTIMER_INTID
    bl      test_timer
    bl      test_in_list_register

    adrp    x9, failures
    ldr     x19, [x9, :lo12:failures]
    PRINT_KV "timer: failures=", x19
    adrp    x9, unexpected
    ldr     x19, [x9, :lo12:unexpected]
    PRINT_KV "timer: unexpected_interrupts=", x19
    PRINT   "timer: done\n"
    ldp     x29, x30, [sp], #16
    ret

/* kvm-unit-tests' test_timer(). */
test_timer:
    stp     x29, x30, [sp, #-16]!
    mov     x0, x20
    mov     x1, #ICENABLER
    bl      gic_irq_set
    bl      timer_count
    mov     x21, x0                     /* now */
    mrs     x22, cntfrq_el0

    /* Enabled, but 10 s away. */
    mov     x0, #10
    mul     x0, x0, x22
    add     x0, x0, x21
    bl      timer_cval_set
    mov     x0, #CTL_ENABLE
    bl      timer_ctl_set
    bl      timer_pending
    mov     x23, x0
    mov     x0, #STATE_INACTIVE
    bl      gic_timer_check_state
    bic     x0, x0, x23
    CHECK   "not pending before"

    sub     x0, x21, #1
    bl      timer_cval_set
    bl      timer_pending
    mov     x23, x0
    mov     x0, #STATE_PENDING
    bl      gic_timer_check_state
    and     x0, x0, x23
    CHECK   "interrupt signal pending"

    /* Disable the timer, then take interrupts. */
    mov     x0, #0
    bl      timer_ctl_set
    adrp    x9, irq_received
    str     xzr, [x9, :lo12:irq_received]
    mov     x0, x20
    mov     x1, #ISENABLER
    bl      gic_irq_set
    isb
    mov     x0, #10
    bl      delay_ms
    adrp    x9, irq_received
    ldr     x0, [x9, :lo12:irq_received]
    cmp     x0, #0
    cset    x0, eq
    CHECK   "no interrupt when timer is disabled"
    bl      timer_pending
    mov     x23, x0
    mov     x0, #STATE_INACTIVE
    bl      gic_timer_check_state
    bic     x0, x0, x23
    CHECK   "interrupt signal no longer pending"

    sub     x0, x21, #1
    bl      timer_cval_set
    mov     x0, #(CTL_ENABLE | CTL_IMASK)
    bl      timer_ctl_set
    bl      timer_pending
    mov     x23, x0
    mov     x0, #STATE_INACTIVE
    bl      gic_timer_check_state
    and     x0, x0, x23
    CHECK   "interrupt signal not pending"

    /* 10 ms ahead: the interrupt must come (kvm-unit-tests also times it). */
    bl      timer_count
    mov     x1, #100
    udiv    x2, x22, x1
    add     x0, x0, x2
    bl      timer_cval_set
    mov     x0, #CTL_ENABLE
    bl      timer_ctl_set
1:  bl      timer_pending
    cbz     x0, 1b
    bl      wait_irq
    CHECK   "interrupt received"
    mov     x0, #0
    bl      timer_ctl_set

    /* TVAL and WFI. */
    adrp    x9, irq_received
    str     xzr, [x9, :lo12:irq_received]
    mov     x1, #100
    udiv    x0, x22, x1
    bl      timer_tval_set
    msr     daifset, #2
    mov     x0, #CTL_ENABLE
    bl      timer_ctl_set
    wfi
    msr     daifclr, #2
    isb
    bl      wait_irq
    mov     x23, x0
    bl      timer_tval_get
    mov     x24, x0
    mov     x0, x23
    CHECK   "interrupt received after TVAL/WFI"
    cmp     x24, #0
    cset    x0, lt
    CHECK   "timer has expired"
    mov     x0, #0
    bl      timer_ctl_set
    ldp     x29, x30, [sp], #16
    ret

/* The timer interrupt already waits as a virtual IRQ (in a list register under Keel) when the
 * guest disables or re-arms the timer. */
test_in_list_register:
    stp     x29, x30, [sp, #-16]!
    mov     x0, #0
    bl      timer_ctl_set
    mov     x0, x20
    mov     x1, #ISENABLER
    bl      gic_irq_set
    mrs     x22, cntfrq_el0
    mov     x25, #0                     /* 0: disable it, 1: re-arm it */
1:  msr     daifset, #2
    adrp    x9, irq_received
    str     xzr, [x9, :lo12:irq_received]
    bl      timer_count
    sub     x0, x0, #1
    bl      timer_cval_set
    mov     x0, #CTL_ENABLE
    bl      timer_ctl_set
    bl      wait_virtual_irq
    cbnz    x25, 2f
    CHECK   "waiting, then disabled: was a pending IRQ"
    mov     x0, #0
    bl      timer_ctl_set
    mov     x0, #STATE_INACTIVE
    bl      gic_timer_check_state
    CHECK   "waiting, then disabled: not pending"
    b       3f
2:  CHECK   "waiting, then re-armed: was a pending IRQ"
    bl      timer_count
    mov     x1, #10
    mul     x1, x1, x22
    add     x0, x0, x1
    bl      timer_cval_set
    mov     x0, #STATE_INACTIVE
    bl      gic_timer_check_state
    CHECK   "waiting, then re-armed: not pending"
3:  msr     daifclr, #2
    isb
    mov     x0, #10
    bl      delay_ms
    adrp    x9, irq_received
    ldr     x0, [x9, :lo12:irq_received]
    cmp     x0, #0
    cset    x0, eq
    cbnz    x25, 4f
    CHECK   "waiting, then disabled: no interrupt"
    b       5f
4:  CHECK   "waiting, then re-armed: no interrupt"
5:  mov     x0, #0
    bl      timer_ctl_set
    add     x25, x25, #1
    cmp     x25, #2
    b.lo    1b
    ldp     x29, x30, [sp], #16
    ret

/* x0 = 1 once ISR_EL1.I shows a pending IRQ (IRQs masked), within a second; else 0. */
wait_virtual_irq:
    mrs     x1, cntfrq_el0
    isb
    mrs     x2, cntvct_el0
    add     x2, x2, x1
1:  mrs     x0, isr_el1
    tbnz    x0, #7, 2f
    isb
    mrs     x3, cntvct_el0
    cmp     x3, x2
    b.lo    1b
    mov     x0, #0
    ret
2:  mov     x0, #1
    ret

/* x0 = 1 once the handler has run (within a second), else 0. */
wait_irq:
    mrs     x1, cntfrq_el0
    isb
    mrs     x2, cntvct_el0
    add     x2, x2, x1
    adrp    x9, irq_received
1:  ldr     x0, [x9, :lo12:irq_received]
    cbnz    x0, 2f
    isb
    mrs     x3, cntvct_el0
    cmp     x3, x2
    b.lo    1b
    mov     x0, #0
    ret
2:  mov     x0, #1
    ret

/* x0 = 1 when the GIC shows the timer interrupt (x20) in state x0 (0 inactive, 1 pending,
 * pending in ISPENDR, active in ISACTIVER) twice, 10 ms apart, within a second. */
gic_timer_check_state:
    stp     x29, x30, [sp, #-16]!
    stp     x26, x27, [sp, #-16]!
    mov     x26, x0
    mov     x27, #100
1:  mov     x0, #10
    bl      delay_ms
    bl      gic_timer_state
    cmp     x0, x26
    b.ne    2f
    mov     x0, #10
    bl      delay_ms
    bl      gic_timer_state
    cmp     x0, x26
    b.eq    3f
2:  subs    x27, x27, #1
    b.ne    1b
    mov     x0, #0
    b       4f
3:  mov     x0, #1
4:  ldp     x26, x27, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* x0 = pending | active << 1 of the timer interrupt (x20). */
gic_timer_state:
    stp     x29, x30, [sp, #-16]!
    str     x26, [sp, #-16]!
    mov     x0, x20
    mov     x1, #ISPENDR
    bl      gic_irq_test
    mov     x26, x0
    mov     x0, x20
    mov     x1, #ISACTIVER
    bl      gic_irq_test
    orr     x0, x26, x0, lsl #1
    ldr     x26, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* kvm-unit-tests' timer_pending(): the timer's condition met while it is enabled. */
timer_pending:
    stp     x29, x30, [sp, #-16]!
    bl      timer_ctl_get
    mov     x1, #(CTL_ENABLE | CTL_ISTATUS)
    and     x2, x0, x1
    cmp     x2, x1
    cset    x0, eq
    ldp     x29, x30, [sp], #16
    ret

/* The current timer's registers (x19: 0 virtual, 1 EL1 physical); writes are followed by an
 * ISB as in kvm-unit-tests. */
timer_ctl_set:
    cbnz    x19, 1f
    msr     cntv_ctl_el0, x0
    isb
    ret
1:  msr     cntp_ctl_el0, x0
    isb
    ret
timer_ctl_get:
    cbnz    x19, 1f
    mrs     x0, cntv_ctl_el0
    ret
1:  mrs     x0, cntp_ctl_el0
    ret
timer_cval_set:
    cbnz    x19, 1f
    msr     cntv_cval_el0, x0
    isb
    ret
1:  msr     cntp_cval_el0, x0
    isb
    ret
timer_tval_set:
    cbnz    x19, 1f
    msr     cntv_tval_el0, x0
    isb
    ret
1:  msr     cntp_tval_el0, x0
    isb
    ret
timer_tval_get:
    cbnz    x19, 1f
    mrs     x0, cntv_tval_el0
    sxtw    x0, w0
    ret
1:  mrs     x0, cntp_tval_el0
    sxtw    x0, w0
    ret
timer_count:
    isb
    cbnz    x19, 1f
    mrs     x0, cntvct_el0
    ret
1:  mrs     x0, cntpct_el0
    ret

/* x0 = the check's name, x1 = its result: "timer: vtimer: NAME: PASS" or FAIL (counted). */
report:
    stp     x29, x30, [sp, #-16]!
    stp     x26, x27, [sp, #-16]!
    mov     x26, x1
    mov     x27, x0
    cbnz    x19, 1f
    PRINT   "timer: vtimer: "
    b       2f
1:  PRINT   "timer: ptimer: "
2:  mov     x0, x27
    bl      puts
    cbz     x26, 3f
    PRINT   ": PASS\n"
    b       4f
3:  PRINT   ": FAIL\n"
    adrp    x9, failures
    ldr     x10, [x9, :lo12:failures]
    add     x10, x10, #1
    str     x10, [x9, :lo12:failures]
4:  ldp     x26, x27, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* kvm-unit-tests' irq_handler: a timer's interrupt masks that timer (IMASK | ENABLE), then EOI. */
    .globl irq_handler
irq_handler:
    stp     x29, x30, [sp, #-16]!
    bl      gic_ack
    mov     x16, x0
    cmp     x1, #VTIMER_INTID
    b.eq    1f
    cmp     x1, #PTIMER_INTID
    b.eq    2f
    cmp     x1, #1020
    b.hs    4f
    adrp    x9, unexpected
    ldr     x10, [x9, :lo12:unexpected]
    add     x10, x10, #1
    str     x10, [x9, :lo12:unexpected]
    b       3f
1:  mov     x0, #(CTL_ENABLE | CTL_IMASK)
    msr     cntv_ctl_el0, x0
    b       5f
2:  mov     x0, #(CTL_ENABLE | CTL_IMASK)
    msr     cntp_ctl_el0, x0
5:  isb
    adrp    x9, irq_received
    mov     x10, #1
    str     x10, [x9, :lo12:irq_received]
3:  mov     x0, x16
    bl      gic_eoi
4:  ldp     x29, x30, [sp], #16
    ret

    .data
    .balign 8
irq_received:   .quad 0
failures:       .quad 0
unexpected:     .quad 0
