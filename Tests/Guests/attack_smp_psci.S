/* Hostile guest, every vCPU on PSCI and Keel's doorbell at once (issue 12). Each vCPU of the
 * VM, from its own xorshift seed, interrupts on, ITERS rounds each one of:
 *   - AFFINITY_INFO of a random vCPU (or garbage, or a level above 0): 0, 1 or 2 for a vCPU
 *     of the VM, ON for the caller itself, INVALID_PARAMETERS for the rest;
 *   - CPU_ON of a random vCPU (or garbage) at secondary_start (or an address outside RAM, or
 *     an unaligned one) with a random context id: INVALID_PARAMETERS, INVALID_ADDRESS, or
 *     SUCCESS / ALREADY_ON / ON_PENDING (ALREADY_ON exactly for the caller itself). A vCPU
 *     started checks the context id it got;
 *   - CPU_OFF of itself (vCPUs other than 0, now and then): it must not return; whoever
 *     CPU_ONs it later, it carries on from its saved state;
 *   - CPU_SUSPEND: standby with a random power state (SUCCESS or INVALID_PARAMETERS), or
 *     power-down, resuming at secondary_start with its context id (or SUCCESS), or with an
 *     entry outside RAM (INVALID_ADDRESS);
 *   - the doorbell hypercall to a random VM id (its own and Linux's included) or garbage:
 *     SUCCESS, NOT_SUPPORTED or INVALID_PARAMETERS, never SUCCESS for garbage;
 *   - SPI 40 routed to a random vCPU and pended (it lands in list registers of vCPUs that then
 *     switch themselves off);
 *   - an SGI with a random INTID to random vCPUs.
 * The VM resets itself (PSCI SYSTEM_RESET) mid-run, RESETS times: one random vCPU while the
 * others go on, or every vCPU at once (lib/smp.h, SMP_RESET_POINT).
 * At the end vCPU 0 waits for the others (starting again those found off), then, with every
 * other vCPU off, routes SPI 40, SPI 47 (the doorbell's) and an SGI to itself, pends them and
 * must take each: an interrupt lost to a vCPU that switched off would never come. */
#include "attack.h"
#include "smp.h"

#ifndef ITERS
#define ITERS       160000
#endif
#ifndef RESETS
#define RESETS      3
#endif
#define CTX_MAGIC   0x5A00000000000000
#define PROBE_SPI   40
#define DOORBELL_INTID 47
#define FINAL_SGI   5

#define P_AFF_BAD       (B_USER + 0)
#define P_ON_BAD        (B_USER + 8)
#define P_SUSPEND_BAD   (B_USER + 16)
#define P_OFF_RETURNED  (B_USER + 24)
#define P_DOORBELL_BAD  (B_USER + 32)
#define P_CTX_BAD       (B_USER + 40)
#define P_BAD_INTID     (B_USER + 48)
#define P_ONS           (B_USER + 56)   /* CPU_ON that returned SUCCESS */
#define P_OFFS          (B_USER + 64)
#define P_RESUMES       (B_USER + 72)   /* power-down suspends that came back at the entry */
#define P_RINGS         (B_USER + 80)   /* doorbells that returned SUCCESS */
#define P_DOORBELL_IRQS (B_USER + 88)
#define P_SPI_IRQS      (B_USER + 96)
#define P_SGI_IRQS      (B_USER + 104)
#define P_ENTRIES       (B_USER + 112)  /* times it entered secondary_main */

    .text
    .globl main
main:
    MOV64   x0, ITERS
    MOV64   x1, 0x853C49E6748FEA9B
    mov     x2, #RESETS
    bl      smp_prepare
    mov     x19, x0
    adrp    x1, boots
    str     x19, [x1, :lo12:boots]
    ADR_STR "psci: boot "
    mov     x1, x19
    bl      print_dec
    bl      newline
    /* The distributor: SPI 40 and the doorbell's SPI 47 enabled (group 1, 0xA0, to vCPU 0). */
    ldr     x1, =GICD_BASE
    mov     w2, #0x13
    str     w2, [x1]
    mov     w2, #0xA0
    strb    w2, [x1, #(0x400 + PROBE_SPI)]
    strb    w2, [x1, #(0x400 + DOORBELL_INTID)]
    ldr     w2, =((1 << (PROBE_SPI - 32)) | (1 << (DOORBELL_INTID - 32)))
    str     w2, [x1, #0x104]
    MOV64   x0, CTX_MAGIC
    adrp    x1, smp_context
    str     x0, [x1, :lo12:smp_context]
    /* The others wait for `go` before their first round: one that attacked at once could
     * CPU_ON a vCPU that vCPU 0 has yet to start, whose boot CPU_ON would then find it on. */
    adrp    x1, go
    str     xzr, [x1, :lo12:go]
    bl      smp_start_others
    adrp    x1, go
    mov     x0, #1
    str     x0, [x1, :lo12:go]
    dsb     sy
    sev
    MOV64   x0, CTX_MAGIC
    b       secondary_main              /* vCPU 0 too; it ends in coordinator */

/* vCPU 0 once its rounds are done (on whichever stack it resumed on last). */
coordinator:
    mov     x0, #100
    mov     x1, #1                      /* start again the vCPUs found off */
    bl      smp_wait_others
    mov     x20, x0
    /* Let the others' CPU_OFF land before the final checks. */
    mov     x21, #1
1:  bl      smp_count
    cmp     x21, x0
    b.hs    3f
    MOV64   x22, 2000000
2:  MOV64   x0, PSCI_AFFINITY_INFO
    mov     x1, x21
    mov     x2, #0
    hvc     #0
    cmp     x0, #1
    b.eq    4f
    wfe
    subs    x22, x22, #1
    b.ne    2b
4:  add     x21, x21, #1
    b       1b
3:  msr     daifclr, #2
    mov     x0, #PROBE_SPI
    bl      final_spi
    mov     x23, x0
    mov     x0, #DOORBELL_INTID
    bl      final_spi
    mov     x24, x0
    bl      final_sgi
    mov     x25, x0
    msr     daifset, #2
    PRINT   "psci: report\n"
    ADR_STR "psci: boots="
    adrp    x1, boots
    ldr     x1, [x1, :lo12:boots]
    bl      print_dec
    bl      newline
    ADR_STR "psci: unfinished_vcpus="
    mov     x1, x20
    bl      print_dec
    bl      newline
    ADR_STR "psci"
    bl      smp_report
    ADR_STR "psci"
    adr     x1, counter_names
    bl      smp_print_sums
    ADR_STR "psci: final_spi40_taken="
    mov     x1, x23
    bl      print_dec
    bl      newline
    ADR_STR "psci: final_spi47_taken="
    mov     x1, x24
    bl      print_dec
    bl      newline
    ADR_STR "psci: final_sgi_taken="
    mov     x1, x25
    bl      print_dec
    bl      newline
    PRINT   "psci: done\n"
    bl      system_off

/* x0 = 1 if SPI x0, routed to vCPU 0 and pended, was taken here (smp_wait_irq). */
final_spi:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    mov     x19, x0
    ldr     x1, =GICD_BASE
    add     x2, x1, #0x6000
    str     xzr, [x2, x19, lsl #3]      /* IROUTER: vCPU 0 */
    mov     x0, #0
    bl      smp_block_of
    mov     x20, x0
    cmp     x19, #PROBE_SPI
    mov     x3, #P_SPI_IRQS
    mov     x4, #P_DOORBELL_IRQS
    csel    x3, x3, x4, eq
    add     x20, x20, x3
    ldr     x1, [x20]
    ldr     x2, =GICD_BASE
    lsr     x3, x19, #5
    mov     w4, #1
    and     x5, x19, #31
    lsl     w4, w4, w5
    add     x2, x2, #0x200              /* ISPENDR<n> */
    str     w4, [x2, x3, lsl #2]
    mov     x0, x20
    mov     x2, #0
    bl      smp_wait_irq
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* x0 = 1 if SGI FINAL_SGI to this vCPU was taken (smp_wait_irq). */
final_sgi:
    stp     x29, x30, [sp, #-16]!
    mov     x0, #0
    bl      smp_block_of
    add     x0, x0, #P_SGI_IRQS
    ldr     x1, [x0]
    MOV64   x2, ((FINAL_SGI << 24) | 1)
    msr     icc_sgi1r_el1, x2
    isb
    mov     x2, #0
    bl      smp_wait_irq
    ldp     x29, x30, [sp], #16
    ret

.macro BAD counter, val
    ldr     x9, [x20, #\counter]
    add     x9, x9, #1
    str     x9, [x20, #\counter]
    SMP_BAD x20, \val
.endm

.macro COUNT counter
    ldr     x9, [x20, #\counter]
    add     x9, x9, #1
    str     x9, [x20, #\counter]
.endm

/* The state a vCPU resumes from after CPU_OFF or a power-down suspend: back to its block. */
.macro SAVE_STATE
    str     x22, [x20, #B_SEED]
    str     x21, [x20, #B_LEFT]
    str     x24, [x20, #B_OPS]
    dsb     sy
.endm

/* x0 = a context id for vCPU x0: the magic, random bits, the index. Clobbers x1. */
.macro CONTEXT_FOR reg
    MOV64   x1, CTX_MAGIC
    orr     \reg, \reg, x1
    ubfx    x1, x22, #40, #16
    orr     \reg, \reg, x1, lsl #8
.endm

/* Entered by every vCPU: vCPU 0 from main (and after a power-down suspend), the others by
 * CPU_ON (lib/start.S's secondary_start), x0 = the context id. Never returns for vCPU 0;
 * the others return when done, and secondary_start switches them off. */
    .globl secondary_main
secondary_main:
    stp     x29, x30, [sp, #-16]!
    mov     x19, x0
    mrs     x26, mpidr_el1
    and     x26, x26, #0xFF
    SMP_BLOCK_OF x20
    COUNT   P_ENTRIES
    lsr     x0, x19, #56
    cmp     x0, #(CTX_MAGIC >> 56)
    and     x0, x19, #0xFF
    ccmp    x0, x26, #0, eq
    b.eq    1f
    BAD     P_CTX_BAD, x19
1:  ldr     x0, [x20, #B_DONE]
    cbz     x0, 2f
    cbz     x26, coordinator            /* (vCPU 0 is never off: cannot happen) */
    ldp     x29, x30, [sp], #16
    ret                                 /* started again after it finished: off again */
2:  adrp    x0, go
3:  ldr     x1, [x0, :lo12:go]
    cbnz    x1, 4f
    wfe
    b       3b
4:  mov     x0, x26
    ldr     w1, =0xFFFF
    bl      gicv3_private_on
    bl      gicv3_cpu_interface_on
    bl      smp_count
    mov     x25, x0
    ldr     x22, [x20, #B_SEED]
    ldr     x21, [x20, #B_LEFT]
    ldr     x24, [x20, #B_OPS]
    ldr     x27, [x20, #B_RESET_AT]
    ldr     x23, =GICD_BASE
    msr     daifclr, #2

round:
    SMP_RESET_POINT x21, x27
    XORSHIFT x22, x0
    lsr     x1, x22, #8
    and     x0, x22, #7
    add     x24, x24, #1
    cmp     x0, #1
    b.lo    op_affinity
    cmp     x0, #3
    b.lo    op_on
    b.eq    op_off
    cmp     x0, #5
    b.lo    op_suspend
    b.eq    op_doorbell
    cmp     x0, #6
    b.eq    op_spi
    b       op_sgi

/* x19 = a target: vCPU (bits mod n), or 1 in 8 garbage. x28 = 1 when it is a vCPU. */
.macro PICK_TARGET
    and     x2, x1, #0xFF
    udiv    x3, x2, x25
    msub    x19, x3, x25, x2
    mov     x28, #1
    ubfx    x2, x1, #8, #3
    cbnz    x2, 97f
    lsr     x19, x22, #20               /* garbage: 44 random bits */
    cmp     x19, x25
    cset    x28, lo
97:
.endm

op_affinity:
    PICK_TARGET
    ubfx    x2, x1, #11, #2
    mov     x5, #0                      /* level 0, 3 in 4 */
    cbnz    x2, 1f
    ubfx    x5, x1, #13, #8
1:  MOV64   x0, PSCI_AFFINITY_INFO
    mov     x1, x19
    mov     x2, x5
    hvc     #0
    cbz     x5, 2f
    cmp     x0, #-2                     /* level above 0: not supported by Keel */
    b.eq    next
    cmp     x28, #0                     /* or answered for a vCPU */
    b.eq    8f
    cmp     x0, #2
    b.ls    next
    b       8f
2:  cbz     x28, 3f
    cmp     x19, x26
    b.ne    4f
    cbz     x0, next                    /* itself: ON */
    b       8f
4:  cmp     x0, #2                      /* 0 ON, 1 OFF, 2 ON_PENDING */
    b.ls    next
    b       8f
3:  cmp     x0, #-2
    b.eq    next
8:  orr     x0, x0, x19, lsl #32
    BAD     P_AFF_BAD, x0
    b       next

op_on:
    PICK_TARGET
    adrp    x2, secondary_start
    add     x2, x2, :lo12:secondary_start
    ubfx    x3, x1, #11, #3
    mov     x5, #1                      /* entry good */
    cmp     x3, #1
    b.hi    1f
    mov     x5, #0
    MOV64   x4, 0x50000000              /* past the RAM */
    csel    x2, x4, x2, eq
    b.eq    1f
    mov     x5, #2                      /* unaligned */
    add     x2, x2, #2
1:  and     x3, x19, #0xFF
    CONTEXT_FOR x3
    MOV64   x0, PSCI_CPU_ON_64
    mov     x1, x19
    hvc     #0
    cbnz    x28, 2f
    cmp     x0, #-2                     /* not a vCPU */
    b.eq    next
    b       8f
2:  cmp     x5, #1
    b.eq    3f
    cmp     x0, #-9                     /* a bad entry */
    b.eq    next
    b       8f
3:  cmp     x19, x26
    b.ne    4f
    cmp     x0, #-4                     /* itself: ALREADY_ON */
    b.eq    next
    b       8f
4:  cbnz    x0, 5f
    COUNT   P_ONS
    b       next
5:  cmp     x0, #-4
    b.eq    next
    cmp     x0, #-5
    b.eq    next
8:  orr     x0, x0, x19, lsl #32
    orr     x0, x0, x5, lsl #60
    BAD     P_ON_BAD, x0
    b       next

op_off:
    cbz     x26, next                   /* vCPU 0 stays on: it ends the run */
    ubfx    x2, x1, #0, #5
    cbnz    x2, next                    /* 1 in 32 of these rounds */
    COUNT   P_OFFS
    sub     x21, x21, #1                /* resumes after this round */
    cbnz    x21, 1f
    add     x21, x21, #1                /* the last round: finish instead */
    b       next
1:  SAVE_STATE
    msr     daifset, #2
    MOV64   x0, PSCI_CPU_OFF
    hvc     #0
    BAD     P_OFF_RETURNED, x0
    add     x21, x21, #1
    msr     daifclr, #2
    b       next

op_suspend:
    ubfx    x2, x1, #0, #2
    cbz     x2, 1f
    lsr     x5, x22, #20                /* standby: a random power state, StateType 0 */
    and     x5, x5, #~(1 << 16)
    MOV64   x0, PSCI_CPU_SUSPEND_64
    mov     x1, x5
    mov     x2, #0
    mov     x3, #0
    hvc     #0
    cbz     x0, next
    cmp     x0, #-2
    b.eq    next
    BAD     P_SUSPEND_BAD, x0
    b       next
1:  ubfx    x2, x1, #2, #2              /* power-down: 1 in 4 with an entry outside RAM */
    cbnz    x2, 2f
    MOV64   x0, PSCI_CPU_SUSPEND_64
    MOV64   x1, (1 << 16)
    MOV64   x2, 0x30000000
    mov     x3, #0
    hvc     #0
    cmp     x0, #-9
    b.eq    next
    orr     x0, x0, #0x100000000
    BAD     P_SUSPEND_BAD, x0
    b       next
2:  sub     x21, x21, #1                /* resumes at the entry after this round */
    cbnz    x21, 3f
    add     x21, x21, #1
    b       next
3:  COUNT   P_RESUMES
    SAVE_STATE
    mov     x3, x26
    CONTEXT_FOR x3
    MOV64   x0, PSCI_CPU_SUSPEND_64
    MOV64   x1, (1 << 16)
    adrp    x2, secondary_start
    add     x2, x2, :lo12:secondary_start
    hvc     #0
    /* Returned instead (a power-down may end at once): SUCCESS, and carry on here. */
    add     x21, x21, #1
    ldr     x9, [x20, #P_RESUMES]
    sub     x9, x9, #1
    str     x9, [x20, #P_RESUMES]
    cbz     x0, next
    orr     x0, x0, #0x200000000
    BAD     P_SUSPEND_BAD, x0
    b       next

op_doorbell:
    and     x2, x1, #7                  /* VM 0-7, or 1 in 8 garbage */
    mov     x5, #1
    ubfx    x3, x1, #3, #3
    cbnz    x3, 1f
    lsr     x2, x22, #16
    orr     x2, x2, #0x100              /* never a VM id */
    mov     x5, #0
1:  MOV64   x0, KEEL_DOORBELL
    mov     x1, x2
    hvc     #0
    cbnz    x0, 2f
    cbz     x5, 8f                      /* SUCCESS for garbage */
    COUNT   P_RINGS
    b       next
2:  cmp     x0, #-1
    b.eq    next
    cmp     x0, #-2
    b.eq    next
8:  BAD     P_DOORBELL_BAD, x0
    b       next

op_spi:                                 /* SPI 40 to a random vCPU, pended */
    and     x2, x1, #0xFF
    udiv    x3, x2, x25
    msub    x2, x3, x25, x2
    add     x3, x23, #0x6000
    str     x2, [x3, #(8 * PROBE_SPI)]
    mov     w4, #(1 << (PROBE_SPI - 32))
    str     w4, [x23, #0x204]
    add     x24, x24, #1
    b       next

op_sgi:                                 /* random INTID to random vCPUs */
    ubfx    x2, x1, #0, #4
    lsl     x2, x2, #24
    mov     x3, #1
    lsl     x3, x3, x25
    sub     x3, x3, #1
    ubfx    x4, x1, #4, #8
    and     x3, x3, x4
    orr     x2, x2, x3
    msr     icc_sgi1r_el1, x2

next:
    subs    x21, x21, #1
    b.ne    round
    msr     daifset, #2
    SAVE_STATE
    mov     x0, #1
    str     x0, [x20, #B_DONE]
    dsb     sy
    sev
    cbz     x26, coordinator
    ldp     x29, x30, [sp], #16
    ret

/* Counted after the EOI: SPI 40, the doorbell's SPI 47, SGIs; anything the VM does not have
 * is a mismatch. */
    .globl irq_handler
irq_handler:
    mrs     x0, icc_iar1_el1
    and     x1, x0, #0xFFFFFF
    cmp     x1, #1020
    b.hs    9f
    msr     icc_eoir1_el1, x0
    isb
    SMP_BLOCK_OF x2
    ldr     x3, [x2, #B_IRQ]
    add     x3, x3, #1
    str     x3, [x2, #B_IRQ]
    mov     x4, #P_SPI_IRQS
    cmp     x1, #PROBE_SPI
    b.eq    1f
    mov     x4, #P_DOORBELL_IRQS
    cmp     x1, #DOORBELL_INTID
    b.eq    1f
    mov     x4, #P_SGI_IRQS
    cmp     x1, #16
    b.lo    1f
    mov     x4, #P_BAD_INTID
    SMP_BAD x2, x0
1:  ldr     x3, [x2, x4]
    add     x3, x3, #1
    str     x3, [x2, x4]
9:  ret

    .section .rodata
    .balign 8
counter_names:
    .quad n_aff, P_AFF_BAD
    .quad n_on, P_ON_BAD
    .quad n_suspend, P_SUSPEND_BAD
    .quad n_off, P_OFF_RETURNED
    .quad n_doorbell, P_DOORBELL_BAD
    .quad n_ctx, P_CTX_BAD
    .quad n_intid, P_BAD_INTID
    .quad n_ons, P_ONS
    .quad n_offs, P_OFFS
    .quad n_resumes, P_RESUMES
    .quad n_rings, P_RINGS
    .quad n_db_irqs, P_DOORBELL_IRQS
    .quad n_spi_irqs, P_SPI_IRQS
    .quad n_sgi_irqs, P_SGI_IRQS
    .quad n_entries, P_ENTRIES
    .quad 0, 0
n_aff:       .asciz "affinity_bad="
n_on:        .asciz "cpu_on_bad="
n_suspend:   .asciz "suspend_bad="
n_off:       .asciz "cpu_off_returned="
n_doorbell:  .asciz "doorbell_bad="
n_ctx:       .asciz "context_bad="
n_intid:     .asciz "bad_intid="
n_ons:       .asciz "cpu_on_ok="
n_offs:      .asciz "cpu_offs="
n_resumes:   .asciz "suspend_resumes="
n_rings:     .asciz "doorbells_ok="
n_db_irqs:   .asciz "doorbell_irqs="
n_spi_irqs:  .asciz "spi40_irqs="
n_sgi_irqs:  .asciz "sgi_irqs="
n_entries:   .asciz "entries="

    .bss
    .balign 8
boots:      .quad 0
go:         .quad 0     /* vCPU 0 has started the others (cleared at each boot: RAM survives SYSTEM_RESET) */
