/* Hostile guest, every vCPU on the emulated GIC at once (issue 12). Each vCPU of the VM, from
 * its own xorshift seed, interrupts on:
 *
 * Phase A, ITERS_A rounds of chaos, each one of:
 *   - a random access to the distributor: any offset of its 64 KiB, width 1, 2, 4 or 8 bytes
 *     (aligned), read or write of a random value;
 *   - the same on a random vCPU's redistributor (both 64 KiB frames);
 *   - the same SPIs from every vCPU: set/clear enable, set/clear pending, clear active, route
 *     (IROUTER to a vCPU, to any (IRM), or to an affinity that does not exist), priority;
 *   - SGIs: ICC_SGI1R/ASGI1R/SGI0R with random values, or well-formed ones to random targets
 *     (IRM too) with random INTIDs;
 *   - reads that must say what the architecture says whatever was written: GICD_TYPER and
 *     IIDR unchanged, PIDR2.ArchRev 3, GICD_CTLR with ARE set and no reserved bit, IROUTER with
 *     no bit outside Aff0-3 and IRM, GICR_TYPER of redistributor i: Affinity i, Processor
 *     number i, Last on the last one; registers of INTIDs the VM does not have (96 and up)
 *     written with garbage and read as zero.
 *   Every interrupt taken is acknowledged; an INTID the VM does not have (96-1019) is a
 *   mismatch. The VM resets itself (PSCI SYSTEM_RESET) mid-chaos, RESETS times: one random
 *   vCPU while the others go on, or all at once (lib/smp.h, SMP_RESET_POINT).
 *
 * Phase B, after vCPU 0 has put the distributor back in order and each vCPU its own
 * redistributor, ITERS_B rounds in which all vCPUs at once:
 *   - send an SGI (INTID = own index or + 8, so no two senders share one) to a random vCPU,
 *     itself included, and wait for that vCPU's handler to have taken it (else: sgi_lost);
 *   - take one of their own SPIs (32 + own index + 8k: their bits share every register word
 *     with the other vCPUs'), route it to a random vCPU and read IROUTER back, set its
 *     priority byte and read it back, enable it (or disable it, pend it while disabled, and
 *     enable it), read the enable bit back, pend it and wait for its handler on that vCPU
 *     (else spi_lost; taken elsewhere: spi_wrong_cpu).
 * vCPU 0 reports per vCPU (lib/smp.h) and the attack's counters, and powers the VM off. */
#include "attack.h"
#include "smp.h"

#ifndef ITERS_A
#define ITERS_A     500000
#endif
#ifndef ITERS_B
#define ITERS_B     1500
#endif
#ifndef RESETS
#define RESETS      2
#endif
#define GICR_BASE   0x080A0000
#ifndef PROBES
#define PROBES      8
#endif
#define PROBE_INTID 95

/* The attack's counters in each block. */
#define G_TYPER         (B_USER + 0)    /* GICD_TYPER as this vCPU first read it */
#define G_IIDR          (B_USER + 8)
#define G_SGI_LOST      (B_USER + 16)
#define G_SPI_LOST      (B_USER + 24)
#define G_SPI_WRONG     (B_USER + 32)
#define G_READBACK      (B_USER + 40)   /* own SPI's route, priority or enable read back wrong */
#define G_INVARIANT     (B_USER + 48)   /* a phase-A read that broke the architecture */
#define G_BAD_INTID     (B_USER + 56)
#define G_SGIS_SENT     (B_USER + 64)   /* phase B */
#define G_SPIS_SENT     (B_USER + 72)
#define G_REROUTE_LOST  (B_USER + 80)   /* phase C */
#define G_SGI_RECV      (B_USER + 88)   /* 16 counters, one per SGI INTID, this vCPU's */

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    MOV64   x0, ITERS_A
    MOV64   x1, 0x61C8864680B583EB
    mov     x2, #RESETS
    bl      smp_prepare
    mov     x19, x0
    ADR_STR "gic: boot "
    mov     x1, x19
    bl      print_dec
    bl      newline
    ldr     x1, =GICD_BASE
    mov     w2, #0x13
    str     w2, [x1]
    mov     x0, #0
    bl      smp_start_others
    bl      worker
    mov     x0, #100
    mov     x1, #0
    bl      smp_wait_others
    mov     x20, x0
    PRINT   "gic: report\n"
    ADR_STR "gic: boots="
    mov     x1, x19
    bl      print_dec
    bl      newline
    ADR_STR "gic: unfinished_vcpus="
    mov     x1, x20
    bl      print_dec
    bl      newline
    ADR_STR "gic"
    bl      smp_report
    ADR_STR "gic"
    adr     x1, counter_names
    bl      smp_print_sums
    PRINT   "gic: done\n"
    ldp     x29, x30, [sp], #16
    ret

    .globl secondary_main
secondary_main:
    b       worker

/* A random access at \base + random offset below \span: width from bits [1:0] of x1, offset
 * from bits [23:2], direction from bit 24; value from x22's top. Clobbers x2-x6. */
.macro RANDOM_ACCESS base, span
    and     x3, x1, #3                  /* log2 width */
    ubfx    x4, x1, #2, #22
    and     x4, x4, #(\span - 1)
    mov     x5, #1
    lsl     x5, x5, x3
    sub     x5, x5, #1
    bic     x4, x4, x5                  /* aligned to the width */
    add     x4, x4, \base
    lsr     x6, x22, #20
    tbnz    x1, #24, 95f
    cmp     x3, #1
    b.lo    91f
    b.eq    92f
    cmp     x3, #2
    b.eq    93f
    ldr     x2, [x4]
    b       99f
91: ldrb    w2, [x4]
    b       99f
92: ldrh    w2, [x4]
    b       99f
93: ldr     w2, [x4]
    b       99f
95: cmp     x3, #1
    b.lo    96f
    b.eq    97f
    cmp     x3, #2
    b.eq    98f
    str     x6, [x4]
    b       99f
96: strb    w6, [x4]
    b       99f
97: strh    w6, [x4]
    b       99f
98: str     w6, [x4]
99:
.endm

.macro BAD counter, val
    ldr     x9, [x20, #\counter]
    add     x9, x9, #1
    str     x9, [x20, #\counter]
    SMP_BAD x20, \val
.endm

/* x0 = x1 mod x25 (the vCPU count). Clobbers x2. */
.macro MOD_N out, in
    udiv    x2, \in, x25
    msub    \out, x2, x25, \in
.endm

worker:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    stp     x21, x22, [sp, #-16]!
    stp     x23, x24, [sp, #-16]!
    stp     x25, x26, [sp, #-16]!
    stp     x27, x28, [sp, #-16]!
    mrs     x26, mpidr_el1
    and     x26, x26, #0xFF
    mov     x0, x26
    ldr     w1, =0xFFFF                 /* its SGIs */
    bl      gicv3_private_on
    bl      gicv3_cpu_interface_on
    bl      smp_count
    mov     x25, x0
    SMP_BLOCK_OF x20
    ldr     x22, [x20, #B_SEED]
    ldr     x21, [x20, #B_LEFT]
    ldr     x27, [x20, #B_RESET_AT]
    ldr     x23, =GICD_BASE
    ldr     x28, =GICR_BASE
    ldr     w0, [x23, #4]
    str     x0, [x20, #G_TYPER]
    ldr     w0, [x23, #8]
    str     x0, [x20, #G_IIDR]
    mov     x24, #2                     /* trapped accesses */
    msr     daifclr, #2

round_a:
    SMP_RESET_POINT x21, x27
    XORSHIFT x22, x0
    lsr     x1, x22, #8
    and     x0, x22, #15
    add     x24, x24, #1
    cmp     x0, #4
    b.lo    a_gicd
    cmp     x0, #7
    b.lo    a_gicr
    cmp     x0, #9
    b.lo    a_spi
    cmp     x0, #11
    b.lo    a_sgi
    b.eq    a_ids
    cmp     x0, #13
    b.lo    a_ctlr
    b.eq    a_irouter
    cmp     x0, #14
    b.eq    a_gicr_typer
    b       a_raz

a_gicd:
    RANDOM_ACCESS x23, 0x10000
    b       next_a

a_gicr:
    and     x0, x1, #0xFF
    MOD_N   x0, x0
    add     x5, x28, x0, lsl #17
    lsr     x1, x1, #8                  /* fresh bits for the access */
    orr     x1, x1, x22, lsl #48
    mov     x7, x5
    RANDOM_ACCESS x7, 0x20000
    b       next_a

a_spi:                                  /* the same 64 SPIs from every vCPU */
    and     x3, x1, #63                 /* SPI index: INTID 32 + x3 */
    lsr     x4, x3, #5
    add     x4, x4, #1                  /* register word: INTID / 32 */
    lsl     x4, x4, #2
    and     x5, x3, #31
    mov     w6, #1
    lsl     w6, w6, w5                  /* its bit */
    ubfx    x7, x1, #6, #3
    cmp     x7, #4
    b.lo    1f
    b.eq    2f
    cmp     x7, #6
    b.lo    3f
    b.eq    4f
    add     x8, x23, #0x100             /* 7: enable and pend: it fires */
    str     w6, [x8, x4]
    add     x8, x23, #0x200
    str     w6, [x8, x4]
    add     x24, x24, #1
    b       next_a
1:  lsl     x7, x7, #7                  /* 0-3: IS/IC ENABLER, IS/IC PENDR */
    add     x7, x7, #0x100
    add     x8, x23, x7
    str     w6, [x8, x4]
    b       next_a
2:  ubfx    x7, x1, #9, #8              /* 4: route */
    MOD_N   x7, x7
    ubfx    x8, x1, #17, #2
    cmp     x8, #1
    b.hi    5f
    mov     x7, #(1 << 31)              /* 0: IRM; 1: an affinity with no vCPU (Aff1 = 1) */
    b.lo    5f
    mov     x7, #0x100
5:  add     x8, x23, #0x6000
    add     x8, x8, #(8 * 32)
    str     x7, [x8, x3, lsl #3]
    b       next_a
3:  lsr     x7, x22, #40                /* 5: priority byte */
    add     x8, x23, #(0x400 + 32)
    strb    w7, [x8, x3]
    b       next_a
4:  add     x8, x23, #0x380             /* 6: clear active */
    str     w6, [x8, x4]
    b       next_a

a_sgi:
    tbz     x1, #0, 1f
    ubfx    x3, x1, #1, #2              /* fully random: one of the three SGI registers */
    cmp     x3, #1
    b.lo    2f
    b.eq    3f
    msr     icc_sgi0r_el1, x22
    b       next_a
2:  msr     icc_sgi1r_el1, x22
    b       next_a
3:  msr     icc_asgi1r_el1, x22
    b       next_a
1:  ubfx    x3, x1, #4, #4              /* well formed: INTID, target list, IRM 1 in 8 */
    lsl     x3, x3, #24
    mov     x4, #1
    lsl     x4, x4, x25
    sub     x4, x4, #1
    lsr     x5, x22, #32
    and     x4, x4, x5
    orr     x3, x3, x4
    ubfx    x5, x1, #8, #3
    cbnz    x5, 4f
    orr     x3, x3, #(1 << 40)
4:  msr     icc_sgi1r_el1, x3
    b       next_a

a_ids:                                  /* TYPER, IIDR as first read; PIDR2.ArchRev 3 */
    ldr     w0, [x23, #4]
    ldr     x2, [x20, #G_TYPER]
    cmp     x0, x2
    b.ne    1f
    ldr     w0, [x23, #8]
    ldr     x2, [x20, #G_IIDR]
    cmp     x0, x2
    b.ne    1f
    mov     x2, #0xFFE8
    ldr     w0, [x23, x2]
    ubfx    x2, x0, #4, #4
    add     x24, x24, #2
    cmp     x2, #3
    b.eq    next_a
1:  BAD     G_INVARIANT, x0
    b       next_a

a_ctlr:                                 /* ARE (4) set; only EnableGrp0/1, ARE, DS, RWP */
    ldr     w0, [x23]
    tbz     w0, #4, 1f
    ldr     w2, =0x7FFFFFAC           /* ~0x80000053 */
    tst     w0, w2
    b.eq    next_a
1:  orr     x0, x0, #0xC000000000000000
    BAD     G_INVARIANT, x0
    b       next_a

a_irouter:                              /* only Aff0-3 and IRM */
    and     x3, x1, #63
    add     x8, x23, #0x6000
    add     x8, x8, #(8 * 32)
    ldr     x0, [x8, x3, lsl #3]
    MOV64   x2, 0xFF80FFFFFF
    bics    xzr, x0, x2
    b.eq    next_a
    BAD     G_INVARIANT, x0
    b       next_a

a_gicr_typer:                           /* redistributor i: Affinity i, number i, Last */
    and     x3, x1, #0xFF
    MOD_N   x3, x3
    add     x4, x28, x3, lsl #17
    ldr     x0, [x4, #8]
    lsr     x2, x0, #32
    cmp     x2, x3
    b.ne    1f
    ubfx    x2, x0, #8, #16
    cmp     x2, x3
    b.ne    1f
    sub     x5, x25, #1
    cmp     x3, x5
    cset    x5, eq
    ubfx    x2, x0, #4, #1
    cmp     x2, x5
    b.eq    next_a
1:  BAD     G_INVARIANT, x0
    b       next_a

a_raz:                                  /* INTIDs 96 and up: garbage in, zero out */
    ubfx    x3, x1, #0, #3
    cmp     x3, #7
    b.eq    1f
    add     x3, x3, #1
    lsl     x3, x3, #7                  /* 0x080 .. 0x380: IGROUPR .. ICACTIVER */
    ubfx    x4, x1, #3, #5
    cmp     x4, #3
    mov     x5, #3
    csel    x4, x4, x5, hs              /* word 3 (INTIDs 96-127) .. 31 */
    add     x3, x3, x4, lsl #2
    b       2f
1:  ubfx    x4, x1, #3, #8              /* IPRIORITYR of INTIDs 96 + 4k */
    add     x3, x4, #24
    lsl     x3, x3, #2
    add     x3, x3, #0x400
    mov     x5, #0x7F8                  /* stop short of 1020 */
    cmp     x3, x5
    csel    x3, x3, x5, lo
2:  lsr     x6, x22, #16
    str     w6, [x23, x3]
    ldr     w0, [x23, x3]
    add     x24, x24, #1
    cbz     w0, next_a
    orr     x0, x0, x3, lsl #32
    BAD     G_INVARIANT, x0

next_a:
    subs    x21, x21, #1
    b.ne    round_a

    /* Phase B: order restored, then checked concurrency. */
    msr     daifset, #2
    str     xzr, [x20, #B_LEFT]
    mov     x0, #1
    mov     x1, #30
    bl      smp_barrier
    cbnz    x26, 1f
    bl      distributor_reset
1:  mov     x0, #2
    mov     x1, #30
    bl      smp_barrier
    bl      redistributor_reset
    mov     x0, #3
    mov     x1, #30
    bl      smp_barrier
    msr     daifclr, #2
    MOV64   x21, ITERS_B

round_b:
    XORSHIFT x22, x0
    /* An SGI to a random vCPU: INTID own index (+ 8), one sender per INTID. */
    and     x0, x22, #0xFF
    MOD_N   x19, x0                     /* target */
    ubfx    x3, x22, #8, #1
    add     x3, x26, x3, lsl #3         /* INTID */
    mov     x0, x19
    bl      smp_block_of
    add     x10, x0, #G_SGI_RECV
    add     x10, x10, x3, lsl #3        /* its counter for that INTID */
    ldr     x11, [x10]
    lsl     x4, x3, #24
    mov     x5, #1
    lsl     x5, x5, x19
    orr     x4, x4, x5
    msr     icc_sgi1r_el1, x4
    isb
    add     x24, x24, #1
    ldr     x0, [x20, #G_SGIS_SENT]
    add     x0, x0, #1
    str     x0, [x20, #G_SGIS_SENT]
    mov     x0, x10
    mov     x1, x11
    mov     x2, x19
    bl      smp_wait_irq
    cbnz    x0, 1f
    orr     x0, x4, x19, lsl #48
    BAD     G_SGI_LOST, x0
1:
    /* One of its own SPIs, to a random vCPU. */
    ubfx    x12, x22, #16, #3
    add     x12, x26, x12, lsl #3         /* SPI index s: INTID 32 + s */
    cmp     x12, #64
    b.hs    next_b
    ubfx    x0, x22, #24, #8
    MOD_N   x19, x0                     /* target */
    add     x8, x23, #0x6000
    add     x8, x8, #(8 * 32)
    str     x19, [x8, x12, lsl #3]
    ldr     x0, [x8, x12, lsl #3]
    cmp     x0, x19
    b.eq    2f
    orr     x0, x0, #0x1000000000000
    BAD     G_READBACK, x0
2:  ubfx    x5, x22, #32, #3
    lsl     x5, x5, #4
    add     x5, x5, #0x80               /* priority 0x80 .. 0xF0 */
    add     x8, x23, #(0x400 + 32)
    strb    w5, [x8, x12]
    ldrb    w0, [x8, x12]
    cmp     x0, x5
    b.eq    3f
    orr     x0, x0, #0x2000000000000
    BAD     G_READBACK, x0
3:  add     x24, x24, #4
    lsr     x4, x12, #5
    add     x4, x4, #1
    lsl     x4, x4, #2                  /* register word offset */
    and     x5, x12, #31
    mov     w6, #1
    lsl     w6, w6, w5                  /* its bit */
    adrp    x10, spi_recv
    add     x10, x10, :lo12:spi_recv
    add     x10, x10, x12, lsl #3
    ldr     x11, [x10]
    tbz     x22, #40, 4f
    /* Disabled, pended, checked pending, then enabled: it must come all the same. */
    add     x8, x23, #0x180
    str     w6, [x8, x4]
    add     x8, x23, #0x100
    ldr     w0, [x8, x4]
    tst     w0, w6
    b.eq    5f
    orr     x0, x0, #0x3000000000000
    BAD     G_READBACK, x0
5:  add     x8, x23, #0x200
    str     w6, [x8, x4]
    ldr     w0, [x8, x4]
    add     x24, x24, #4
    tst     w0, w6
    b.ne    6f
    orr     x0, x0, #0x4000000000000
    BAD     G_READBACK, x0
6:  add     x8, x23, #0x100
    str     w6, [x8, x4]
    add     x24, x24, #1
    b       7f
4:  add     x8, x23, #0x100             /* enabled, read back, pended */
    str     w6, [x8, x4]
    ldr     w0, [x8, x4]
    tst     w0, w6
    b.ne    8f
    orr     x0, x0, #0x7000000000000
    BAD     G_READBACK, x0
8:  add     x8, x23, #0x200
    str     w6, [x8, x4]
    add     x24, x24, #3
7:  ldr     x0, [x20, #G_SPIS_SENT]
    add     x0, x0, #1
    str     x0, [x20, #G_SPIS_SENT]
    mov     x0, x10
    mov     x1, x11
    mov     x2, x19
    bl      smp_wait_irq
    cbnz    x0, 9f
    add     x0, x12, #32
    orr     x0, x0, x19, lsl #48
    BAD     G_SPI_LOST, x0
    b       next_b
9:  adrp    x10, spi_where
    add     x10, x10, :lo12:spi_where
    ldr     x0, [x10, x12, lsl #3]
    cmp     x0, x19
    b.eq    next_b
    add     x0, x0, x19, lsl #8
    BAD     G_SPI_WRONG, x0

next_b:
    subs    x21, x21, #1
    b.ne    round_b
    /* Interrupts stay on until every vCPU is through: others may still send to this one. */
    str     x24, [x20, #B_OPS]
    str     x22, [x20, #B_SEED]
    mov     x0, #4
    mov     x1, #60
    bl      smp_barrier
    cbnz    x26, 1f
    bl      reroute_probe
1:  str     x24, [x20, #B_OPS]
    mov     x0, #5
    mov     x1, #120
    bl      smp_barrier
    msr     daifset, #2
    dsb     sy
    mov     x0, #1
    str     x0, [x20, #B_DONE]
    dsb     sy
    sev
    ldp     x27, x28, [sp], #16
    ldp     x25, x26, [sp], #16
    ldp     x23, x24, [sp], #16
    ldp     x21, x22, [sp], #16
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* Phase C, vCPU 0 while the others wait with interrupts on: PROBES times, SPI PROBE_INTID
 * routed to vCPU k mod n and at once pended, then waited for (smp_wait_irq). Its previous
 * instance, already handled, may still sit in a list register of the vCPU it went to last
 * when the next one is pended: it must come all the same (else reroute_lost). */
reroute_probe:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    ldr     x1, =GICD_BASE
    mov     w2, #(1 << (PROBE_INTID - 64))
    str     w2, [x1, #0x108]            /* ISENABLER2 */
    mov     x19, #0
1:  udiv    x2, x19, x25
    msub    x2, x2, x25, x19            /* target k mod n */
    adrp    x10, spi_recv
    add     x10, x10, :lo12:spi_recv
    add     x10, x10, #(8 * (PROBE_INTID - 32))
    ldr     x11, [x10]
    ldr     x1, =GICD_BASE
    add     x3, x1, #0x6000
    str     x2, [x3, #(8 * PROBE_INTID)]
    mov     w4, #(1 << (PROBE_INTID - 64))
    str     w4, [x1, #0x208]            /* ISPENDR2 */
    add     x24, x24, #2
    mov     x0, x10
    mov     x1, x11
    udiv    x2, x19, x25
    msub    x2, x2, x25, x19
    bl      smp_wait_irq
    cbnz    x0, 2f
    ldr     x0, [x20, #G_REROUTE_LOST]
    add     x0, x0, #1
    str     x0, [x20, #G_REROUTE_LOST]
    udiv    x2, x19, x25
    msub    x2, x2, x25, x19
    SMP_BAD x20, x2
2:  add     x19, x19, #1
    cmp     x19, #PROBES
    b.lo    1b
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* vCPU 0, interrupts masked: every SPI disabled, not pending, not active, group 1, priority
 * 0xA0, edge-triggered, routed to vCPU 0; both groups on. */
distributor_reset:
    ldr     x1, =GICD_BASE
    mov     w2, #-1
    mov     x3, #4
1:  add     x4, x1, #0x180
    str     w2, [x4, x3]
    add     x4, x1, #0x280
    str     w2, [x4, x3]
    add     x4, x1, #0x380
    str     w2, [x4, x3]
    add     x4, x1, #0x080
    str     w2, [x4, x3]
    add     x3, x3, #4
    cmp     x3, #12
    b.lo    1b
    ldr     w2, =0xA0A0A0A0
    mov     x3, #32
2:  add     x4, x1, #0x400
    str     w2, [x4, x3]
    add     x3, x3, #4
    cmp     x3, #96
    b.lo    2b
    ldr     w2, =0xAAAAAAAA
    mov     x3, #8
3:  add     x4, x1, #0xC00
    str     w2, [x4, x3]
    add     x3, x3, #4
    cmp     x3, #24
    b.lo    3b
    add     x4, x1, #0x6000
    add     x4, x4, #(8 * 32)
    mov     x3, #0
4:  str     xzr, [x4, x3, lsl #3]
    add     x3, x3, #1
    cmp     x3, #64
    b.lo    4b
    mov     w2, #0x13
    str     w2, [x1]
    ret

/* This vCPU's redistributor: everything off and clear, then its SGIs as gicv3_private_on
 * sets them up; its CPU interface again. */
redistributor_reset:
    stp     x29, x30, [sp, #-16]!
    ldr     x1, =(GICR_BASE + 0x10000)
    add     x1, x1, x26, lsl #17
    mov     w2, #-1
    str     w2, [x1, #0x180]
    str     w2, [x1, #0x280]
    str     w2, [x1, #0x380]
    ldr     w2, =0xA0A0A0A0
    str     w2, [x1, #0x400]
    str     w2, [x1, #0x404]
    str     w2, [x1, #0x408]
    str     w2, [x1, #0x40C]
    mov     x0, x26
    ldr     w1, =0xFFFF
    bl      gicv3_private_on
    bl      gicv3_cpu_interface_on
    ldp     x29, x30, [sp], #16
    ret

/* Counted after the EOI (and deactivation): once a sender sees the count move, the interrupt
 * is no longer active here. */
    .globl irq_handler
irq_handler:
    mrs     x0, icc_iar1_el1
    and     x1, x0, #0xFFFFFF
    SMP_BLOCK_OF x2
    ldr     x3, [x2, #B_IRQ]
    add     x3, x3, #1
    str     x3, [x2, #B_IRQ]
    cmp     x1, #1020
    b.hs    9f                          /* spurious: nothing to end */
    msr     icc_eoir1_el1, x0
    isb
    cmp     x1, #96
    b.lo    1f
    ldr     x3, [x2, #G_BAD_INTID]
    add     x3, x3, #1
    str     x3, [x2, #G_BAD_INTID]
    SMP_BAD x2, x0
    b       9f
1:  cmp     x1, #16
    b.hs    2f
    add     x4, x2, #G_SGI_RECV
    ldr     x3, [x4, x1, lsl #3]
    add     x3, x3, #1
    str     x3, [x4, x1, lsl #3]
    b       9f
2:  cmp     x1, #32
    b.lo    9f
    sub     x1, x1, #32
    mrs     x5, mpidr_el1
    and     x5, x5, #0xFF
    adrp    x4, spi_where
    add     x4, x4, :lo12:spi_where
    str     x5, [x4, x1, lsl #3]
    adrp    x4, spi_recv
    add     x4, x4, :lo12:spi_recv
    ldr     x3, [x4, x1, lsl #3]
    add     x3, x3, #1
    str     x3, [x4, x1, lsl #3]
9:  ret

    .section .rodata
    .balign 8
counter_names:
    .quad name_sgi_lost, G_SGI_LOST, name_spi_lost, G_SPI_LOST, name_spi_wrong, G_SPI_WRONG
    .quad name_readback, G_READBACK, name_invariant, G_INVARIANT, name_bad_intid, G_BAD_INTID
    .quad name_reroute_lost, G_REROUTE_LOST, name_sgis_sent, G_SGIS_SENT, name_spis_sent, G_SPIS_SENT
    .quad 0, 0
name_sgi_lost:  .asciz "sgi_lost="
name_spi_lost:  .asciz "spi_lost="
name_spi_wrong: .asciz "spi_wrong_cpu="
name_readback:  .asciz "readback_wrong="
name_invariant: .asciz "invariant_broken="
name_bad_intid: .asciz "bad_intid="
name_reroute_lost: .asciz "reroute_lost="
name_sgis_sent: .asciz "sgis_sent="
name_spis_sent: .asciz "spis_sent="

    .bss
    .balign 8
spi_recv:   .space 8 * 64
spi_where:  .space 8 * 64
