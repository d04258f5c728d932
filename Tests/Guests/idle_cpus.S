/* Idle CPUs give their host thread back. Booted with --smp 4, only vCPU 0 ever runs (the others
 * are never started, so their CPUs wait in Keel's idle loop for a CPU_ON that never comes), and
 * it sleeps IDLE_MS of its virtual timer in WFI: the timer's interrupt enabled in the GIC, IRQs
 * masked (WFI ends when it is pending; it is never taken). Then its ISTATUS is checked and the
 * guest powers off. The host test (IdleCPUTests) compares QEMU's CPU time with the wall time:
 * under QEMU's multi-threaded TCG a waiting CPU that spins (WFE and YIELD do not wait there)
 * keeps a host thread busy the whole time. */
#include "guest.h"

#define VTIMER_INTID    27
#define ISENABLER       0x100
#define IDLE_MS         3000

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "idle: start\n"
    bl      gic_dist_on
    bl      gic_cpu_on
    mov     x0, #VTIMER_INTID
    bl      gic_irq_setup
    mov     x0, #VTIMER_INTID
    mov     x1, #ISENABLER
    bl      gic_irq_set

    mrs     x1, cntfrq_el0              /* TVAL = IDLE_MS worth of ticks */
    mov     x2, #IDLE_MS
    mul     x1, x1, x2
    mov     x2, #1000
    udiv    x1, x1, x2
    msr     cntv_tval_el0, x1
    mov     x0, #1                      /* ENABLE, not IMASK */
    msr     cntv_ctl_el0, x0
    isb
    mov     x19, #0                     /* x19: WFIs until the timer fired */
1:  wfi
    add     x19, x19, #1
    mrs     x0, cntv_ctl_el0
    tbz     x0, #2, 1b                  /* ISTATUS */
    msr     cntv_ctl_el0, xzr
    isb
    PRINT_KV "idle: wfis=", x19
    PRINT   "idle: done\n"
    ldp     x29, x30, [sp], #16
    ret
