/* Interrupt latency and cost, measured by the guest with the virtual counter on two CPUs. The
 * same ELF runs under Keel and natively (QEMU virt at EL1 with its own PSCI over HVC, -kernel
 * benchirq.elf), so both sides run exactly these instructions; under QEMU -icount shift=0 the
 * difference is what Keel adds. The counter ticks every 16 ns (62.5 MHz), so one-way latencies
 * are read to 16 instructions; the back-to-back figures average exactly.
 *
 *   timer_latency: the virtual timer fires at CNTV_CVAL_EL0; the IRQ handler reads CNTVCT_EL0
 *     first thing. Summed (handler time - CVAL) over ITERATIONS expiries, CPU 0 spinning.
 *   timer_back_to_back: the timer left expired (CVAL 0), so each EOI is followed by the next
 *     interrupt; ITERATIONS interrupts timed as a whole (entry, handler, EOI, return).
 *   ipi_latency: CPU 0 reads CNTVCT_EL0, writes ICC_SGI1R_EL1 (SGI 1 to CPU 1) and waits in WFI;
 *     CPU 1's handler reads CNTVCT_EL0 first thing, adds (that - the send time), and wakes CPU 0
 *     with SGI 2.
 *   ipi_round_trip: the same ITERATIONS ping-pongs timed as a whole on CPU 0.
 * Output: "bench: <name> <iterations> <ticks>", then "bench: cntfrq <Hz>".
 *
 * GICv3 set-up is what a bare-metal program does on hardware: distributor and redistributor by
 * MMIO, the CPU interface by ICC_* system registers. Under Keel each of those is emulated. */
#include "guest.h"

#define ITERATIONS      1024
#define TIMER_DELTA     64              /* counter ticks from arming to expiry */
#define GICR_BASE       0x080A0000      /* CPU n's redistributor: + n * 0x20000 */
#define GICR_WAKER      0x0014
#define GICR_SGI        0x10000         /* the SGI/PPI frame */
#define GICR_IGROUPR0   0x0080
#define GICR_ISENABLER0 0x0100
#define GICR_IPRIORITYR 0x0400
#define VTIMER_INTID    27
#define SGI_PING        1
#define SGI_PONG        2
/* Words of `state`, shared by both CPUs. */
#define TIMER_SUM   0
#define TIMER_CVAL  8
#define TIMER_FIRED 16
#define CPU1_READY  20
#define IPI_SUM     24
#define IPI_SENT    32
#define IPI_DONE    40
#define TIMER_LEFT  44

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    /* Distributor: affinity routing, group 1 on (group 0 too: harmless, single security state). */
    ldr     x1, =GICD_BASE
    mov     w2, #0x13
    str     w2, [x1]
    mov     x0, #0
    bl      gic_cpu_init

    /* --- virtual timer expiry to handler ------------------------------------------------- */
    mov     x19, #ITERATIONS
    adrp    x20, state
    add     x20, x20, :lo12:state
    str     xzr, [x20, #TIMER_SUM]
1:  str     wzr, [x20, #TIMER_FIRED]
    mrs     x1, cntvct_el0
    add     x1, x1, #TIMER_DELTA
    str     x1, [x20, #TIMER_CVAL]
    msr     cntv_cval_el0, x1
    mov     x2, #1                      /* ENABLE, not masked */
    msr     cntv_ctl_el0, x2
    isb
    msr     daifclr, #2
2:  ldr     w3, [x20, #TIMER_FIRED]
    cbz     w3, 2b
    msr     daifset, #2
    subs    x19, x19, #1
    b.ne    1b
    ldr     x21, [x20, #TIMER_SUM]
    PRINT   "bench: timer_latency 1024 "
    mov     x0, x21
    bl      puthex
    bl      newline

    /* --- back-to-back timer interrupts ---------------------------------------------------- */
    mov     w1, #ITERATIONS
    str     w1, [x20, #TIMER_LEFT]
    isb
    mrs     x21, cntvct_el0
    msr     cntv_cval_el0, xzr          /* expired from the start */
    mov     x2, #1
    msr     cntv_ctl_el0, x2
    isb
    msr     daifclr, #2
1:  ldr     w3, [x20, #TIMER_LEFT]
    cbnz    w3, 1b
    msr     daifset, #2
    isb
    mrs     x22, cntvct_el0
    sub     x21, x22, x21
    PRINT   "bench: timer_back_to_back 1024 "
    mov     x0, x21
    bl      puthex
    bl      newline

    /* --- SGI from CPU 0 to a handler on CPU 1 ------------------------------------------- */
    MOV64   x0, PSCI_CPU_ON_64
    mov     x1, #1
    adrp    x2, secondary_start
    add     x2, x2, :lo12:secondary_start
    mov     x3, #0
    hvc     #0
    cbnz    x0, ipi_failed
    /* Wait for CPU 1 to set up its redistributor. WFE, not a bare spin: QEMU -icount runs
     * the CPUs in turn and a spinning CPU keeps the other from running for a whole time
     * slice; WFE yields (natively, and under Keel, which yields on a trapped WFE). Not WFI:
     * natively QEMU does not run a CPU that CPU_ON just started while the caller sleeps. */
3:  wfe
    ldr     w3, [x20, #CPU1_READY]
    cbz     w3, 3b
    str     xzr, [x20, #IPI_SUM]
    mov     x19, #ITERATIONS
    msr     daifclr, #2
    isb
    mrs     x22, cntvct_el0
4:  str     wzr, [x20, #IPI_DONE]
    mrs     x1, cntvct_el0
    str     x1, [x20, #IPI_SENT]
    dsb     ish
    ldr     x2, =(SGI_PING << 24 | 1 << 1) /* INTID 1, Aff1 0, target list {CPU 1} */
    msr     icc_sgi1r_el1, x2
    isb
5:  wfi
    ldr     w3, [x20, #IPI_DONE]
    cbz     w3, 5b
    subs    x19, x19, #1
    b.ne    4b
    isb
    mrs     x23, cntvct_el0
    msr     daifset, #2
    sub     x22, x23, x22
    ldr     x21, [x20, #IPI_SUM]
    PRINT   "bench: ipi_latency 1024 "
    mov     x0, x21
    bl      puthex
    bl      newline
    PRINT   "bench: ipi_round_trip 1024 "
    mov     x0, x22
    bl      puthex
    bl      newline
    b       6f
ipi_failed:
    mov     x21, x0
    PRINT_KV "bench: CPU_ON failed ", x21
6:  mrs     x19, cntfrq_el0
    PRINT_KV "bench: cntfrq ", x19
    ldp     x29, x30, [sp], #16
    ret

/* CPU 1: its redistributor and CPU interface, then wait for SGIs forever (main powers off). */
    .globl secondary_main
secondary_main:
    mov     x0, #1
    bl      gic_cpu_init
    adrp    x20, state
    add     x20, x20, :lo12:state
    mov     w1, #1
    str     w1, [x20, #CPU1_READY]
    msr     daifclr, #2
1:  wfi
    b       1b

/* x0 = CPU number: the timer PPI and both SGIs on in its redistributor, then its CPU
 * interface (lib/gic.S). */
gic_cpu_init:
    stp     x29, x30, [sp, #-16]!
    ldr     w1, =(1 << VTIMER_INTID | 1 << SGI_PING | 1 << SGI_PONG)
    bl      gicv3_private_on
    bl      gicv3_cpu_interface_on
    ldp     x29, x30, [sp], #16
    ret

/* The IRQ handler (called by lib/start.S with the caller-saved registers preserved). The
 * counter is read before anything else, so both sides time the same instructions. */
    .globl irq_handler
irq_handler:
    mrs     x4, cntvct_el0
    mrs     x0, icc_iar1_el1
    adrp    x5, state
    add     x5, x5, :lo12:state
    and     x1, x0, #0xFFFFFF
    cmp     x1, #VTIMER_INTID
    b.eq    timer_irq
    cmp     x1, #SGI_PING
    b.eq    ping_irq
    cmp     x1, #SGI_PONG
    b.eq    pong_irq
    b       eoi                         /* spurious or unknown: nothing to do */
timer_irq:
    ldr     w2, [x5, #TIMER_LEFT]
    cbz     w2, 1f
    subs    w2, w2, #1                  /* back to back: the timer stays expired until the last */
    str     w2, [x5, #TIMER_LEFT]
    b.ne    eoi
    msr     cntv_ctl_el0, xzr
    b       eoi
1:  msr     cntv_ctl_el0, xzr           /* off until the next arming */
    ldr     x2, [x5, #TIMER_CVAL]
    sub     x2, x4, x2
    ldr     x3, [x5, #TIMER_SUM]
    add     x3, x3, x2
    str     x3, [x5, #TIMER_SUM]
    mov     w2, #1
    str     w2, [x5, #TIMER_FIRED]
    b       eoi
ping_irq:                               /* on CPU 1 */
    ldr     x2, [x5, #IPI_SENT]
    sub     x2, x4, x2
    ldr     x3, [x5, #IPI_SUM]
    add     x3, x3, x2
    str     x3, [x5, #IPI_SUM]
    mov     w2, #1
    str     w2, [x5, #IPI_DONE]
    dsb     ish
    ldr     x2, =(SGI_PONG << 24 | 1 << 0) /* wake CPU 0 */
    msr     icc_sgi1r_el1, x2
    b       eoi
pong_irq:                               /* on CPU 0: only the wake-up */
eoi:
    msr     icc_eoir1_el1, x0
    isb
    ret

    .data
    .balign 64
state:
    .space 64
