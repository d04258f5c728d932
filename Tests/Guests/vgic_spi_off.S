/* An SPI held in a list register of a vCPU that goes off (keel run --smp 2, GICv3 or GICv2).
 *
 *   1. SPI routed to vCPU 1, made pending while vCPU 1 runs with IRQs masked: it sits in a list
 *      register of vCPU 1's CPU (ISR_EL1.I says a virtual IRQ is pending). vCPU 1 calls
 *      CPU_OFF. vCPU 0 routes the SPI to itself and raises it again: it must arrive.
 *   2. The SPI routed to vCPU 1 and raised while vCPU 1 is off; CPU_ON vCPU 1: it must arrive
 *      there, once.
 *   3. vCPU 1 takes the SPI and calls CPU_OFF from its handler, without EOI (the interrupt
 *      active in its list register). vCPU 0 routes it to itself and raises it: it must arrive.
 *   4. CPU_ON vCPU 1 once more, the SPI routed to it: it must arrive although the previous life
 *      of vCPU 1 left an active priority behind (its handler never ran EOI).
 *
 * Each phase prints "spi: NAME=0x1" when the interrupt came, 0x0 when it did not within a second.
 * The same ELF runs natively (QEMU virt at EL1, its own PSCI over HVC), where phases 1 and 2 pass
 * too; 3 and 4 do not there: a physical GIC keeps an interrupt active on a CPU that powers off
 * for good, while Keel makes it inactive, so that the VM does not lose that SPI. */
#include "guest.h"

#define PSCI_CPU_OFF        0x84000002
#define PSCI_AFFINITY_INFO  0xC4000004
#define SPI                 50
#define WAIT_MS             1000

/* Shared words (`state` + offset). */
#define CPU1_PHASE      0       /* what vCPU 1 does next, set by vCPU 0 */
#define CPU1_READY      8       /* vCPU 1 reports progress here */
#define GOT_CPU0        16      /* SPIs taken on vCPU 0 */
#define GOT_CPU1        24      /* SPIs taken on vCPU 1 */

.macro STATE reg
    adrp    \reg, state
    add     \reg, \reg, :lo12:state
.endm

/* Spin (with WFE, which yields the CPU under QEMU and Keel) until word `off` of `state` is
 * `value`. Clobbers x9, x10. */
.macro WAIT_STATE off, value
    STATE   x9
8:  ldr     x10, [x9, #\off]
    cmp     x10, #\value
    b.eq    9f
    yield
    b       8b
9:
.endm

.macro SET_STATE off, value
    STATE   x9
    mov     x10, #\value
    str     x10, [x9, #\off]
    dsb     sy
    sev
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "spi: start\n"
    bl      gic_dist_on
    bl      gic_cpu_on
    mov     x0, #SPI
    bl      gic_irq_setup
    mov     x0, #SPI
    mov     x1, #0x100                  /* ISENABLER */
    bl      gic_irq_set
    mov     x0, #SPI
    mov     x1, #1
    bl      gic_spi_route

    /* --- 1: pending in vCPU 1's list register when it goes off ------------------------- */
    SET_STATE CPU1_PHASE, 1
    bl      start_cpu1
    WAIT_STATE CPU1_READY, 1            /* vCPU 1: interface on, IRQs masked */
    mov     x0, #SPI
    mov     x1, #0x200                  /* ISPENDR */
    bl      gic_irq_set
    WAIT_STATE CPU1_READY, 2            /* vCPU 1 sees a pending virtual IRQ, goes off */
    PRINT   "spi: cpu1 held it and called CPU_OFF\n"
    bl      wait_cpu1_off
    mov     x0, #SPI
    mov     x1, #0
    bl      gic_spi_route
    mov     x0, #SPI
    mov     x1, #0x200
    bl      gic_irq_set
    bl      wait_cpu0_spi
    PRINT_KV "spi: pending_in_lr_then_cpu_off_arrives_on_cpu0=", x0

    /* --- 2: raised while vCPU 1 is off, then CPU_ON --------------------------------------- */
    STATE   x9
    str     xzr, [x9, #GOT_CPU1]
    mov     x0, #SPI
    mov     x1, #1
    bl      gic_spi_route
    mov     x0, #SPI
    mov     x1, #0x200
    bl      gic_irq_set
    SET_STATE CPU1_READY, 0
    SET_STATE CPU1_PHASE, 2
    bl      start_cpu1
    WAIT_STATE CPU1_READY, 3            /* vCPU 1 waited for it with IRQs unmasked */
    STATE   x9
    ldr     x19, [x9, #GOT_CPU1]
    PRINT_KV "spi: raised_while_off_arrives_after_cpu_on=", x19
    bl      wait_cpu1_off

    /* --- 3: active in vCPU 1's list register when it goes off (CPU_OFF in its handler) --- */
    STATE   x9
    str     xzr, [x9, #GOT_CPU1]
    SET_STATE CPU1_READY, 0
    SET_STATE CPU1_PHASE, 3
    bl      start_cpu1
    WAIT_STATE CPU1_READY, 1            /* interface on, IRQs unmasked */
    mov     x0, #SPI
    mov     x1, #0x200
    bl      gic_irq_set
    bl      wait_cpu1_off               /* its handler called CPU_OFF */
    cbnz    x0, 1f
    PRINT   "spi: cpu1 never took it\n"
    b       finish
1:  STATE   x9
    ldr     x19, [x9, #GOT_CPU1]
    PRINT_KV "spi: cpu1 took it and went off in its handler, count=", x19
    mov     x0, #SPI
    mov     x1, #0
    bl      gic_spi_route
    mov     x0, #SPI
    mov     x1, #0x200
    bl      gic_irq_set
    bl      wait_cpu0_spi
    PRINT_KV "spi: active_in_lr_then_cpu_off_arrives_on_cpu0=", x0

    /* --- 4: CPU_ON again after a life that ended inside a handler ------------------------ */
    STATE   x9
    str     xzr, [x9, #GOT_CPU1]
    mov     x0, #SPI
    mov     x1, #1
    bl      gic_spi_route
    SET_STATE CPU1_READY, 0
    SET_STATE CPU1_PHASE, 2
    mov     x0, #SPI
    mov     x1, #0x200
    bl      gic_irq_set
    bl      start_cpu1
    WAIT_STATE CPU1_READY, 3
    STATE   x9
    ldr     x19, [x9, #GOT_CPU1]
    PRINT_KV "spi: after_cpu_off_in_handler_cpu_on_gets_it=", x19
    bl      wait_cpu1_off

finish:
    adrp    x1, exc_count
    ldr     x19, [x1, :lo12:exc_count]
    PRINT_KV "spi: exceptions=", x19
    PRINT   "spi: done\n"
    ldp     x29, x30, [sp], #16
    ret

/* CPU_ON vCPU 1 at secondary_start. */
start_cpu1:
    ldr     x2, =secondary_start
    mov     x1, #1
    mov     x3, #0
    MOV64   x0, PSCI_CPU_ON_64
    hvc     #0
    ret

/* Until AFFINITY_INFO(1) says off: x0 = 1, or 0 when it did not within a second. */
wait_cpu1_off:
    mrs     x4, cntfrq_el0
    isb
    mrs     x5, cntvct_el0
    add     x5, x5, x4
1:  mov     x1, #1
    mov     x2, #0
    MOV64   x0, PSCI_AFFINITY_INFO
    hvc     #0
    cmp     x0, #1
    b.eq    2f
    isb
    mrs     x6, cntvct_el0
    cmp     x6, x5
    b.hs    3f
    yield
    b       1b
2:  mov     x0, #1
    ret
3:  mov     x0, #0
    ret

/* vCPU 0, IRQs unmasked for up to WAIT_MS: x0 = 1 when an SPI was taken, else 0. */
wait_cpu0_spi:
    stp     x29, x30, [sp, #-16]!
    STATE   x9
    str     xzr, [x9, #GOT_CPU0]
    msr     daifclr, #2
    mrs     x1, cntfrq_el0
    mov     x2, #(1000 / WAIT_MS)
    udiv    x1, x1, x2
    isb
    mrs     x2, cntvct_el0
    add     x2, x2, x1
1:  ldr     x3, [x9, #GOT_CPU0]
    cbnz    x3, 2f
    isb
    mrs     x4, cntvct_el0
    cmp     x4, x2
    b.lo    1b
2:  msr     daifset, #2
    cmp     x3, #0
    cset    x0, ne
    ldp     x29, x30, [sp], #16
    ret

/* vCPU 1: what CPU1_PHASE says. */
    .globl secondary_main
secondary_main:
    stp     x29, x30, [sp, #-16]!
    bl      gic_cpu_on
    STATE   x9
    ldr     x19, [x9, #CPU1_PHASE]
    cmp     x19, #1
    b.eq    phase1
    cmp     x19, #2
    b.eq    phase2
    /* 3: take it with IRQs unmasked; the handler goes off */
    SET_STATE CPU1_READY, 1
    msr     daifclr, #2
1:  wfi
    b       1b

phase1:
    /* IRQs stay masked: the SPI waits in a list register, seen as ISR_EL1.I. */
    SET_STATE CPU1_READY, 1
1:  mrs     x0, isr_el1
    tbz     x0, #7, 1b
    SET_STATE CPU1_READY, 2
    ldp     x29, x30, [sp], #16
    ret                                 /* secondary_start calls CPU_OFF */

phase2:
    msr     daifclr, #2
    mrs     x1, cntfrq_el0
    mov     x2, #(1000 / WAIT_MS)
    udiv    x1, x1, x2
    isb
    mrs     x2, cntvct_el0
    add     x20, x2, x1
    STATE   x9
1:  ldr     x3, [x9, #GOT_CPU1]
    cbnz    x3, 2f
    isb
    mrs     x4, cntvct_el0
    cmp     x4, x20
    b.lo    1b
2:  mov     x0, #50                     /* a second, stale delivery would show too */
    bl      delay_ms
    msr     daifset, #2
    SET_STATE CPU1_READY, 3
    ldp     x29, x30, [sp], #16
    ret

/* IRQ: count the SPI per CPU. On vCPU 1 in phase 3, CPU_OFF right here: no EOI. */
    .globl irq_handler
irq_handler:
    stp     x29, x30, [sp, #-16]!
    bl      gic_ack
    mov     x16, x0
    mov     x17, x1
    cmp     x17, #1020
    b.hs    3f                          /* spurious */
    cmp     x17, #SPI
    b.ne    4f
    bl      gic_cpu_number
    STATE   x9
    add     x9, x9, x0, lsl #3
    ldr     x10, [x9, #GOT_CPU0]
    add     x10, x10, #1
    str     x10, [x9, #GOT_CPU0]
    dsb     sy
    cbz     x0, 2f
    STATE   x9
    ldr     x10, [x9, #CPU1_PHASE]
    cmp     x10, #3
    b.ne    2f
    MOV64   x0, PSCI_CPU_OFF
    hvc     #0
2:  mov     x0, x16
    bl      gic_eoi
3:  ldp     x29, x30, [sp], #16
    ret
4:  PRINT_KV "spi: unexpected interrupt ", x17
    b       2b

    .data
    .balign 8
state:  .skip 64
