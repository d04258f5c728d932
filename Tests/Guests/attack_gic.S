/* Hostile guest, GIC (issue 6): tamper with the emulated distributor and redistributors and
 * the SGI registers. Every 32-bit word of GICD and of the guest's redistributor (both frames)
 * written with all ones and then with xorshift garbage, and read back; every width (1, 2, 4, 8
 * bytes) at every offset of the distributor's first 4 KiB; SPIs and INTIDs that do not exist;
 * read-only registers; GICR_WAKER games; ICC_SGI1R/ASGI1R/SGI0R with garbage target lists,
 * IRM, range selectors and affinities; ICC_EOIR1/DIR with INTIDs that are not active. Then the
 * guest sets its GIC up properly and must still get its own virtual timer interrupt. */
#include "attack.h"
#include "xorshift.h"

#define GICR_BASE       0x080A0000
#define GICR_WAKER      0x0014
#define GICR_SGI        0x10000
#define GICR_IGROUPR0   0x0080
#define GICR_ISENABLER0 0x0100
#define GICR_ICENABLER0 0x0180
#define GICR_ICPENDR0   0x0280
#define GICR_ICACTIVER0 0x0380
#define GICR_IPRIORITYR 0x0400
#define GICD_TYPER      0x0004
#define GICD_IIDR       0x0008
#define GICD_ISENABLER  0x0100
#define GICD_IPRIORITYR 0x0400
#define VTIMER_INTID    27
#define TIMER_IRQS      3

/* Store \val (a W register) to every word of [\base, \base + \size). */
.macro SWEEP_WRITE base, size, val
    MOV64   x2, \base
    MOV64   x3, (\base + \size)
9:  str     \val, [x2]                 /* no writeback: that would have no ISV */
    add     x2, x2, #4
    cmp     x2, x3
    b.lo    9b
.endm

/* Store xorshift garbage (x22) to every word of [\base, \base + \size). */
.macro SWEEP_RANDOM base, size
    MOV64   x2, \base
    MOV64   x3, (\base + \size)
9:  XORSHIFT x22, x4
    str     w22, [x2]
    add     x2, x2, #4
    cmp     x2, x3
    b.lo    9b
.endm

/* Load every word of [\base, \base + \size); x24 accumulates a checksum. */
.macro SWEEP_READ base, size
    MOV64   x2, \base
    MOV64   x3, (\base + \size)
9:  ldr     w4, [x2]
    add     x2, x2, #4
    add     x24, x24, x4
    cmp     x2, x3
    b.lo    9b
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "gic: start\n"
    MOV64   x22, 0x9E3779B97F4A7C15     /* seed */
    ldr     x1, =GICD_BASE
    ldr     w25, [x1, #GICD_TYPER]
    ldr     w26, [x1, #GICD_IIDR]

    /* Whole-frame sweeps: all ones, garbage, zeros, then everything read. None of it may
     * fault (these are the VM's devices) nor stop Keel. */
    ATTACK_BEGIN
    mov     w5, #-1
    SWEEP_WRITE GICD_BASE, 0x10000, w5
    SWEEP_WRITE GICR_BASE, 0x20000, w5
    SWEEP_RANDOM GICD_BASE, 0x10000
    SWEEP_RANDOM GICR_BASE, 0x20000
    mov     x24, #0
    SWEEP_READ GICD_BASE, 0x10000
    SWEEP_READ GICR_BASE, 0x20000
    SWEEP_WRITE GICD_BASE, 0x10000, wzr
    SWEEP_WRITE GICR_BASE, 0x20000, wzr
    ATTACK_END "gic: sweeps"

    /* Every width at every byte offset of the distributor's first 4 KiB: the unaligned ones
     * abort (lib/attack.S counts them), the aligned ones are read-as-zero/write-ignored where
     * the width is not the register's. 4 widths x 2 directions x 4096 offsets. */
    ATTACK_BEGIN
    ldr     x2, =GICD_BASE
    mov     x3, #0
1:  add     x5, x2, x3
    ldrb    w4, [x5]
    strb    w4, [x5]
    ldrh    w4, [x5]
    strh    w4, [x5]
    ldr     w4, [x5]
    str     w4, [x5]
    ldr     x4, [x5]
    str     x4, [x5]
    add     x3, x3, #1
    cmp     x3, #0x1000
    b.lo    1b
    ATTACK_END "gic: widths"

    /* The registers must still say what they said: read-only ones ignored all of it. */
    ldr     x1, =GICD_BASE
    ldr     w2, [x1, #GICD_TYPER]
    cmp     w2, w25
    cset    x20, eq
    PRINT_KV "gic: typer_unchanged=", x20
    ldr     x1, =GICD_BASE
    ldr     w2, [x1, #GICD_IIDR]
    cmp     w2, w26
    cset    x20, eq
    PRINT_KV "gic: iidr_unchanged=", x20

    /* SPIs beyond the 64 that exist, and INTIDs 1020+: written, they must read as zero. */
    ldr     x1, =GICD_BASE
    and     x20, x25, #0x1F
    PRINT_KV "gic: typer_itlines=", x20
    mov     w2, #-1
    str     w2, [x1, #(GICD_ISENABLER + 12)]    /* INTIDs 96-127 */
    ldr     w20, [x1, #(GICD_ISENABLER + 12)]
    PRINT_KV "gic: isenabler3=", x20
    str     w2, [x1, #(GICD_ISENABLER + 124)]   /* INTIDs 992-1023 */
    ldr     w20, [x1, #(GICD_ISENABLER + 124)]
    PRINT_KV "gic: isenabler31=", x20
    str     w2, [x1, #(GICD_IPRIORITYR + 1020)]
    ldr     w20, [x1, #(GICD_IPRIORITYR + 1020)]
    PRINT_KV "gic: ipriority1020=", x20
    MOV64   x3, (GICD_BASE + 0x6100 + 8 * 900)  /* IROUTER of INTID 932 */
    str     x2, [x3]
    ldr     x20, [x3]
    PRINT_KV "gic: irouter932=", x20
    MOV64   x3, (GICD_BASE + 0x6100)            /* IROUTER of SPI 32 to a vCPU it lacks */
    MOV64   x4, 0x0000000500000007
    str     x4, [x3]
    ldr     x20, [x3]
    PRINT_KV "gic: irouter32_bad=", x20
    /* IROUTER takes 32- and 64-bit accesses only: bytes and halfwords inside it change nothing. */
    MOV64   x3, (GICD_BASE + 0x6100)            /* PRINT_KV clobbered x3 */
    str     xzr, [x3]                           /* SPI 32 to vCPU 0 */
    mov     w4, #1
    strb    w4, [x3, #1]
    strh    w4, [x3, #2]
    strb    w4, [x3]
    ldr     x20, [x3]
    PRINT_KV "gic: irouter32_narrow=", x20

    /* GICR_WAKER: sleep, wake, garbage, as fast as possible. */
    ldr     x1, =GICR_BASE
    mov     x3, #1000
1:  XORSHIFT x22, x4
    str     w22, [x1, #GICR_WAKER]
    ldr     w4, [x1, #GICR_WAKER]
    subs    x3, x3, #1
    b.ne    1b

    /* SGIs with garbage: random values through all three SGI registers (IRM, range
     * selectors, Aff1-3 set or not); with IRQs masked, whatever lands pending on this vCPU
     * stays pending until cleared below. */
    ATTACK_BEGIN
    mov     x3, #3000
1:  XORSHIFT x22, x4
    msr     icc_sgi1r_el1, x22
    XORSHIFT x22, x4
    msr     icc_asgi1r_el1, x22
    XORSHIFT x22, x4
    msr     icc_sgi0r_el1, x22
    subs    x3, x3, #1
    b.ne    1b
    MOV64   x4, (1 << 40 | 0xF << 24)           /* IRM: all but self (nobody, on one vCPU) */
    msr     icc_sgi1r_el1, x4
    MOV64   x4, (0xFFFF | 0xF << 44)            /* RS 15: vCPUs 240-255 */
    msr     icc_sgi1r_el1, x4
    MOV64   x4, 0xFFFFFFFFFFFFFFFF
    msr     icc_sgi1r_el1, x4
    ATTACK_END "gic: sgis"

    /* End of interrupts and deactivations nobody asked for: the hardware's virtual CPU
     * interface takes them (no trap), counting them as unmatched EOIs. */
    ATTACK_BEGIN
    mov     x3, #0
1:  msr     icc_eoir1_el1, x3
    msr     icc_dir_el1, x3
    add     x3, x3, #1
    cmp     x3, #1100
    b.lo    1b
    MOV64   x4, 0xFFFFFFFF
    msr     icc_eoir1_el1, x4
    msr     icc_dir_el1, x4
    ATTACK_END "gic: eois"

    /* Now as a well-behaved guest: everything off and clear, then the timer set up. */
    ldr     x1, =GICR_BASE + GICR_SGI
    mov     w2, #-1
    str     w2, [x1, #GICR_ICENABLER0]
    str     w2, [x1, #GICR_ICPENDR0]
    str     w2, [x1, #GICR_ICACTIVER0]
    ldr     x1, =GICD_BASE              /* and every SPI, as an OS resets its GIC */
    mov     x3, #4
1:  add     x4, x1, #0x180
    str     w2, [x4, x3]                /* ICENABLER<n> */
    add     x4, x1, #0x280
    str     w2, [x4, x3]                /* ICPENDR<n> */
    add     x4, x1, #0x380
    str     w2, [x4, x3]                /* ICACTIVER<n> */
    add     x3, x3, #4
    cmp     x3, #0x80
    b.lo    1b
    mov     w2, #0x13
    str     w2, [x1]
    bl      gic_init
    bl      timer_check

    PRINT   "gic: still running\n"
    ldp     x29, x30, [sp], #16
    ret

/* Redistributor awake, the timer PPI in group 1 at 0xA0 and enabled, CPU interface on. */
gic_init:
    stp     x29, x30, [sp, #-16]!
    mov     x0, #0
    ldr     w1, =(1 << VTIMER_INTID)
    bl      gicv3_private_on
    bl      gicv3_cpu_interface_on
    ldp     x29, x30, [sp], #16
    ret

/* Arm the virtual timer TIMER_IRQS times; each must be taken by irq_handler. Bounded: WFI
 * at most 100000 times per interrupt, so a lost interrupt prints a short count (if Keel's WFI
 * returns at all: with the timer armed and enabled it waits for it). Prints
 * "gic: timer_irqs=N". */
    .globl timer_check
timer_check:
    stp     x29, x30, [sp, #-16]!
    adrp    x20, timer_fired
    add     x20, x20, :lo12:timer_fired
    str     wzr, [x20]
    mov     x21, #TIMER_IRQS
1:  mrs     x1, cntvct_el0
    add     x1, x1, #1000
    msr     cntv_cval_el0, x1
    mov     x2, #1
    msr     cntv_ctl_el0, x2
    isb
    ldr     w23, [x20]
    MOV64   x3, 100000
    /* Masked while testing and waiting (WFI wakes on a pending interrupt all the same), so
     * the interrupt cannot slip in between the test and the WFI and leave it sleeping. */
2:  ldr     w4, [x20]
    cmp     w4, w23
    b.ne    3f
    wfi
    msr     daifclr, #2
    isb
    msr     daifset, #2
    subs    x3, x3, #1
    b.ne    2b
3:
    subs    x21, x21, #1
    b.ne    1b
    ldr     w19, [x20]
    PRINT_KV "gic: timer_irqs=", x19
    ldp     x29, x30, [sp], #16
    ret

/* Timer: count it, switch it off, end it. Anything else (SGIs left pending by the attack):
 * just end it. */
    .globl irq_handler
irq_handler:
    mrs     x0, icc_iar1_el1
    and     x1, x0, #0xFFFFFF
    cmp     x1, #VTIMER_INTID
    b.ne    1f
    msr     cntv_ctl_el0, xzr
    adrp    x2, timer_fired
    ldr     w3, [x2, :lo12:timer_fired]
    add     w3, w3, #1
    str     w3, [x2, :lo12:timer_fired]
1:  cmp     x1, #1020
    b.hs    2f
    msr     icc_eoir1_el1, x0
2:  isb
    ret

    .data
    .balign 8
timer_fired: .word 0
