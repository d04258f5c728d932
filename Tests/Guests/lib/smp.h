/*
 * The multi-vCPU hostile guests (attack_smp_*.S, issue 12): every vCPU of the VM runs the same
 * attack at once, on the same emulated state, from its own xorshift seed. lib/smp.S gives them
 * what they share: which vCPU am I, a block of per-vCPU state, starting and waiting for the
 * others, and a boot counter in RAM outside the image, so a VM that resets itself with PSCI
 * SYSTEM_RESET (RAM outside the images survives it) does so a bounded number of times.
 *
 * Per-vCPU block (SMP_BLOCK bytes each, at smp_blocks + id * SMP_BLOCK, written by its vCPU
 * only: no atomics needed, and the guest's MMU is off, so there would be none to use):
 */
#ifndef KEEL_SMP_H
#define KEEL_SMP_H
#include "guest.h"
#include "xorshift.h"

#define SMP_MAX_VCPUS   8
#define SMP_BLOCK       512
#define B_SEED          0       /* xorshift state */
#define B_LEFT          8       /* iterations left */
#define B_OPS           16      /* trapped accesses made */
#define B_MISMATCH      24      /* values that broke what the architecture requires */
#define B_IRQ           32      /* interrupts taken */
#define B_DONE          40      /* 1: finished its iterations */
#define B_RESET_AT      48      /* B_LEFT at which this vCPU resets the VM (0: never) */
#define B_LAST_BAD      56      /* the last mismatching value, for the report */
#define B_PHASE         64      /* the last smp_barrier this vCPU reached */
#define B_HEART         72      /* passes of its waiting loops: it ran, interrupts on */
#define B_START_BAD     80      /* vCPU 0: CPU_ONs at boot that did not return SUCCESS */
#define B_USER          128     /* the attack's own counters from here */

/* An interrupt counts as lost once this long (virtual counter) has passed and its target has
 * gone this many times round its waiting loops, interrupts unmasked: it ran and did not take
 * it. Generous: under QEMU's TCG on a loaded host (`make test` runs QEMUs side by side on few
 * cores) an interrupt that does come has been seen to take over 3 s with its target spinning
 * millions of times. A target that does not run at all is waited for up to SMP_IRQ_CAP_S. */
#define SMP_IRQ_MIN_SPINS   100000
#define SMP_IRQ_MIN_MS      15000
#define SMP_IRQ_CAP_S       60

/* RAM that no image covers and that survives SYSTEM_RESET: magic, then the boots so far. */
#define SMP_PERSIST     0x40800000
#define SMP_MAGIC       0x534D505245534554

#define PSCI_CPU_SUSPEND_64 0xC4000001
#define PSCI_CPU_OFF        0x84000002
#define PSCI_AFFINITY_INFO  0xC4000004
#define PSCI_SYSTEM_RESET   0x84000009
#define KEEL_DOORBELL       0x86000010

#define GICR_BASE_SMP   0x080A0000

/* \reg = this vCPU's block. Clobbers x9, x10. */
.macro SMP_BLOCK_OF reg
    mrs     x9, mpidr_el1
    and     x9, x9, #0xFF
    adrp    \reg, smp_blocks
    add     \reg, \reg, :lo12:smp_blocks
    mov     x10, #SMP_BLOCK
    madd    \reg, x9, x10, \reg
.endm

/* One more pass of a waiting loop of this vCPU. Clobbers x9-x11. */
.macro SMP_HEARTBEAT
    mrs     x9, mpidr_el1
    and     x9, x9, #0xFF
    adrp    x10, smp_blocks
    add     x10, x10, :lo12:smp_blocks
    mov     x11, #SMP_BLOCK
    madd    x10, x9, x11, x10
    ldr     x11, [x10, #B_HEART]
    add     x11, x11, #1
    str     x11, [x10, #B_HEART]
.endm

/* At the top of each round of an attack (\left: rounds left, \at: this vCPU's B_RESET_AT):
 * its turn to reset the VM, or another vCPU's reset it must join. Clobbers x0-x15, x30. */
.macro SMP_RESET_POINT left, at
    cmp     \left, \at
    b.ne    91f
    bl      smp_reset_point
91: mrs     x9, mpidr_el1
    and     x9, x9, #0xFF
    adrp    x10, smp_reset_now
    add     x10, x10, :lo12:smp_reset_now
    ldrb    w11, [x10, x9]
    cbz     w11, 92f
    strb    wzr, [x10, x9]
    bl      smp_reset
92:
.endm

/* Count a mismatch in the block at \blk, remembering \val. Clobbers x9. */
.macro SMP_BAD blk, val
    ldr     x9, [\blk, #B_MISMATCH]
    add     x9, x9, #1
    str     x9, [\blk, #B_MISMATCH]
    str     \val, [\blk, #B_LAST_BAD]
.endm

/* The shared code, assembled into each attack that includes this header (as lib/doorbell.h):
 * the other guests do not link it. */
    .text
/* Counts this boot: x0 = the boots before it since power-on (0 at the first), kept with a
 * magic word in RAM outside the image, which SYSTEM_RESET does not reload. Counted here, at
 * each start of main, rather than by who asked for the reset: several vCPUs may ask at once,
 * and the VM must restart once. */
    .globl smp_boots
smp_boots:
    MOV64   x1, SMP_PERSIST
    MOV64   x2, SMP_MAGIC
    ldr     x3, [x1]
    cmp     x3, x2
    b.eq    1f
    str     x2, [x1]
    str     xzr, [x1, #8]
    mov     x0, #0
    ret
1:  ldr     x0, [x1, #8]
    add     x0, x0, #1
    str     x0, [x1, #8]
    ret

/* x0 = iterations per vCPU, x1 = seed, x2 = resets wanted. Counts the vCPUs (GICD_TYPER
 * CPUNumber + 1) into smp_ncpu, sets every block: its own seed (different per vCPU and per
 * boot), its iterations; while fewer boots than resets wanted have happened, one random vCPU
 * gets a random point in the middle of its run at which it resets the VM (SMP_RESET_POINT):
 * alone, racing the others' attack, after an even number of boots; with every other vCPU
 * asking for SYSTEM_RESET at the same moment after an odd one. x0 = boots so far. */
    .globl smp_prepare
smp_prepare:
    stp     x29, x30, [sp, #-16]!
    mov     x11, x0
    mov     x12, x1
    mov     x13, x2
    bl      smp_boots
    mov     x14, x0
    adrp    x1, smp_reset_now
    str     xzr, [x1, :lo12:smp_reset_now]
    and     x2, x14, #1
    adrp    x1, smp_reset_all
    str     x2, [x1, :lo12:smp_reset_all]
    ldr     x1, =GICD_BASE
    ldr     w2, [x1, #4]                /* GICD_TYPER */
    ubfx    x2, x2, #5, #3
    add     x2, x2, #1
    adrp    x3, smp_ncpu
    str     x2, [x3, :lo12:smp_ncpu]
    adrp    x4, smp_blocks
    add     x4, x4, :lo12:smp_blocks
    MOV64   x5, 0x9E3779B97F4A7C15
    mov     x6, #0                      /* id */
1:  mov     x7, #0                      /* zero the block */
2:  str     xzr, [x4, x7]
    add     x7, x7, #8
    cmp     x7, #SMP_BLOCK
    b.lo    2b
    add     x7, x6, #1
    mul     x7, x7, x5
    eor     x7, x7, x12
    eor     x7, x7, x14, lsl #40
    orr     x7, x7, #1                  /* never zero: xorshift would stay there */
    str     x7, [x4, #B_SEED]
    str     x11, [x4, #B_LEFT]
    add     x4, x4, #SMP_BLOCK
    add     x6, x6, #1
    cmp     x6, x2
    b.lo    1b
    cmp     x14, x13
    b.hs    3f
    /* This boot ends in a reset: which vCPU, and when (left in [iters/4, 3 iters/4)). */
    mov     x7, x12
    eor     x7, x7, x14
    orr     x7, x7, #2
    XORSHIFT x7, x8
    XORSHIFT x7, x8
    udiv    x8, x7, x2
    msub    x8, x8, x2, x7              /* x8 = x7 mod n */
    adrp    x4, smp_blocks
    add     x4, x4, :lo12:smp_blocks
    mov     x9, #SMP_BLOCK
    madd    x4, x8, x9, x4
    lsr     x9, x11, #1                 /* iters / 2 */
    lsr     x7, x7, #17
    udiv    x10, x7, x9
    msub    x10, x10, x9, x7            /* random mod iters / 2 */
    add     x10, x10, x11, lsr #2
    orr     x10, x10, #1                /* never 0 */
    str     x10, [x4, #B_RESET_AT]
3:  mov     x0, x14
    ldp     x29, x30, [sp], #16
    ret

/* x0 = the vCPU count smp_prepare found. */
    .globl smp_count
smp_count:
    adrp    x0, smp_ncpu
    ldr     x0, [x0, :lo12:smp_ncpu]
    ret

/* x0 = the block of vCPU x0. */
    .globl smp_block_of
smp_block_of:
    adrp    x1, smp_blocks
    add     x1, x1, :lo12:smp_blocks
    mov     x2, #SMP_BLOCK
    madd    x0, x0, x2, x1
    ret

/* Starts vCPUs 1 .. n-1 at secondary_start (lib/start.S) with context id x0 | their index; a
 * CPU_ON that does not return SUCCESS (after SYSTEM_RESET every vCPU but 0 must be off)
 * counts as a mismatch of vCPU 0, in B_START_BAD. */
    .globl smp_start_others
smp_start_others:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    stp     x21, x22, [sp, #-16]!
    mov     x21, x0
    mov     x19, #1
1:  bl      smp_count
    cmp     x19, x0
    b.hs    2f
    MOV64   x0, PSCI_CPU_ON_64
    mov     x1, x19
    ldr     x2, =secondary_start
    orr     x3, x21, x19
    hvc     #0
    cbz     x0, 3f
    mov     x20, x0
    mov     x0, #0
    bl      smp_block_of
    ldr     x1, [x0, #B_START_BAD]
    add     x1, x1, #1
    str     x1, [x0, #B_START_BAD]
    and     x20, x20, #0xFFFFFFFF
    orr     x20, x20, x19, lsl #56      /* which vCPU, in the top byte */
    SMP_BAD x0, x20
3:  add     x19, x19, #1
    b       1b
2:  ldp     x21, x22, [sp], #16
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* Every vCPU that calls smp_barrier(x0 = k) waits there until all have reached k, at most x1
 * seconds. x0 = the vCPUs that had not. */
    .globl smp_barrier
smp_barrier:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    stp     x21, x22, [sp, #-16]!
    mov     x19, x0
    SMP_BLOCK_OF x2
    str     x19, [x2, #B_PHASE]
    dsb     sy
    mrs     x2, cntfrq_el0
    mul     x2, x2, x1
    mrs     x3, cntvct_el0
    add     x21, x3, x2
1:  mov     x20, #0                     /* not there yet */
    mov     x22, #0
2:  bl      smp_count
    cmp     x22, x0
    b.hs    3f
    mov     x0, x22
    bl      smp_block_of
    ldr     x1, [x0, #B_PHASE]
    cmp     x1, x19
    cinc    x20, x20, lo
    add     x22, x22, #1
    b       2b
3:  cbz     x20, 4f
    mrs     x3, cntvct_el0
    cmp     x3, x21
    b.hs    4f
    SMP_HEARTBEAT
    wfe
    b       1b
4:  mov     x0, x20
    ldp     x21, x22, [sp], #16
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* Waits until every vCPU but 0 has set B_DONE, at most x0 seconds (the virtual counter). With
 * x1 != 0, a vCPU found off (AFFINITY_INFO) and not done is started again (CPU_ON), for the
 * attacks whose vCPUs switch each other off. x0 = the vCPUs that never finished. */
    .globl smp_wait_others
smp_wait_others:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    stp     x21, x22, [sp, #-16]!
    stp     x23, x24, [sp, #-16]!
    mrs     x2, cntfrq_el0
    mul     x2, x2, x0
    mrs     x3, cntvct_el0
    add     x21, x3, x2                 /* deadline */
    mov     x22, x1
    mov     x23, #0                     /* when to look at power states next */
1:  mov     x20, #0                     /* not done */
    mrs     x24, cntvct_el0
    mov     x19, #1
2:  bl      smp_count
    cmp     x19, x0
    b.hs    4f
    mov     x0, x19
    bl      smp_block_of
    ldr     x1, [x0, #B_DONE]
    cbnz    x1, 3f
    add     x20, x20, #1
    cbz     x22, 3f
    cmp     x24, x23                    /* its power state, every 2 ms at most */
    b.lo    3f
    MOV64   x0, PSCI_AFFINITY_INFO
    mov     x1, x19
    mov     x2, #0
    hvc     #0
    cmp     x0, #1                      /* OFF */
    b.ne    3f
    MOV64   x0, PSCI_CPU_ON_64
    mov     x1, x19
    ldr     x2, =secondary_start
    mov     x3, x19
    adrp    x4, smp_context
    ldr     x4, [x4, :lo12:smp_context]
    orr     x3, x3, x4
    hvc     #0
3:  add     x19, x19, #1
    b       2b
4:  cmp     x24, x23
    b.lo    6f
    mrs     x0, cntfrq_el0
    mov     x1, #500
    udiv    x0, x0, x1
    add     x23, x24, x0
6:  cbz     x20, 5f
    mrs     x3, cntvct_el0
    cmp     x3, x21
    b.hs    5f
    wfe                                 /* a yield (QEMU 7.2 does not trap WFE to Keel) */
    b       1b
5:  mov     x0, x20
    ldp     x23, x24, [sp], #16
    ldp     x21, x22, [sp], #16
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* Waits for an interrupt's handler to move the word at x0 away from x1, the interrupt sent to
 * vCPU x2 (this one's interrupts unmasked). x0 = 1 once it moved, 0 when lost: vCPU x2 went
 * SMP_IRQ_MIN_SPINS times round its waiting loops over at least SMP_IRQ_MIN_MS without taking
 * it, or SMP_IRQ_CAP_S passed. */
    .globl smp_wait_irq
smp_wait_irq:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    stp     x21, x22, [sp, #-16]!
    stp     x23, x24, [sp, #-16]!
    mov     x19, x0
    mov     x20, x1
    mov     x0, x2
    bl      smp_block_of
    add     x21, x0, #B_HEART
    ldr     x22, [x21]                  /* its heartbeat now */
    mrs     x23, cntvct_el0             /* start */
1:  ldr     x0, [x19]
    cmp     x0, x20
    b.ne    3f
    mrs     x0, cntvct_el0
    sub     x0, x0, x23
    mrs     x1, cntfrq_el0
    mov     x2, #SMP_IRQ_CAP_S
    mul     x2, x1, x2
    cmp     x0, x2
    b.hs    2f
    mov     x2, #SMP_IRQ_MIN_MS
    mul     x2, x1, x2
    mov     x1, #1000
    udiv    x2, x2, x1
    cmp     x0, x2
    b.lo    4f
    ldr     x0, [x21]
    sub     x0, x0, x22
    MOV64   x1, SMP_IRQ_MIN_SPINS
    cmp     x0, x1
    b.hs    2f
4:  SMP_HEARTBEAT
    wfe
    b       1b
2:  mov     x0, #0
    b       5f
3:  mov     x0, #1
5:  ldp     x23, x24, [sp], #16
    ldp     x21, x22, [sp], #16
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* The vCPU whose turn it is (SMP_RESET_POINT): in a boot with smp_reset_all, first tells
 * every other vCPU to ask too; then resets. */
    .globl smp_reset_point
smp_reset_point:
    adrp    x1, smp_reset_all
    ldr     x1, [x1, :lo12:smp_reset_all]
    cbz     x1, smp_reset
    MOV64   x1, 0x0101010101010101
    mrs     x2, mpidr_el1
    and     x2, x2, #0xFF
    lsl     x2, x2, #3
    mov     x3, #0xFF
    lsl     x3, x3, x2
    bic     x1, x1, x3                  /* not itself */
    adrp    x2, smp_reset_now
    str     x1, [x2, :lo12:smp_reset_now]
    dsb     sy
    sev
    /* fall through */

/* Resets the VM (PSCI SYSTEM_RESET). Never returns; if the call does, that is a mismatch of
 * the calling vCPU, and it carries on. */
    .globl smp_reset
smp_reset:
    MOV64   x0, PSCI_SYSTEM_RESET
    hvc     #0
    mov     x2, x0
    SMP_BLOCK_OF x1
    SMP_BAD x1, x2
    ret

/* x0: value, printed in decimal. */
    .globl putdec
putdec:
    stp     x29, x30, [sp, #-48]!
    mov     x5, x0
    add     x6, sp, #47                 /* digits backwards into the frame */
    mov     x7, #10
1:  udiv    x8, x5, x7
    msub    x9, x8, x7, x5
    add     x9, x9, #'0'
    strb    w9, [x6, #-1]!
    mov     x5, x8
    cbnz    x5, 1b
2:  ldrb    w0, [x6], #1
    str     x6, [sp, #16]
    bl      putc
    ldr     x6, [sp, #16]
    add     x1, sp, #47
    cmp     x6, x1
    b.lo    2b
    ldp     x29, x30, [sp], #48
    ret

/* x0: label, x1: value: prints "label<decimal>" (no newline). */
    .globl print_dec
print_dec:
    stp     x29, x30, [sp, #-16]!
    str     x1, [sp, #-16]!
    bl      puts
    ldr     x0, [sp], #16
    bl      putdec
    ldp     x29, x30, [sp], #16
    ret

/* x0 = the sum over the vCPUs of the block word at offset x0. */
    .globl smp_sum
smp_sum:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    stp     x21, x22, [sp, #-16]!
    mov     x19, x0
    mov     x20, #0
    mov     x21, #0
1:  bl      smp_count
    cmp     x21, x0
    b.hs    2f
    mov     x0, x21
    bl      smp_block_of
    ldr     x1, [x0, x19]
    add     x20, x20, x1
    add     x21, x21, #1
    b       1b
2:  mov     x0, x20
    ldp     x21, x22, [sp], #16
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* x0: the attack's name, x1: a table of (label, block offset) pairs ending with a zero label.
 * Prints "name: label=<sum over the vCPUs>" for each, a line each (a VM's console lines are
 * cut at 120 bytes in a multi-VM image). */
    .globl smp_print_sums
smp_print_sums:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    mov     x19, x0
    mov     x20, x1
1:  ldr     x0, [x20]
    cbz     x0, 2f
    ldr     x0, [x20, #8]
    bl      smp_sum
    str     x0, [sp, #-16]!
    mov     x0, x19
    bl      puts
    ADR_STR ": "
    bl      puts
    ldr     x0, [x20]
    ldr     x1, [sp], #16
    bl      print_dec
    bl      newline
    add     x20, x20, #16
    b       1b
2:  ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* x0: the attack's name ("uart"); prints, for each vCPU, "name: vcpuN ops=.. mismatches=..
 * irqs=.. done=.. last_bad=0x..", then "name: total ops=.. mismatches=.. irqs=..". */
    .globl smp_report
smp_report:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    stp     x21, x22, [sp, #-16]!
    stp     x23, x24, [sp, #-16]!
    mov     x19, x0
    mov     x20, #0                     /* id */
    mov     x21, #0                     /* ops */
    mov     x22, #0                     /* mismatches */
    mov     x23, #0                     /* irqs */
1:  bl      smp_count
    cmp     x20, x0
    b.hs    2f
    mov     x0, x20
    bl      smp_block_of
    mov     x24, x0
    ldr     x1, [x24, #B_OPS]
    add     x21, x21, x1
    ldr     x1, [x24, #B_MISMATCH]
    add     x22, x22, x1
    ldr     x1, [x24, #B_IRQ]
    add     x23, x23, x1
    mov     x0, x19
    bl      puts
    ADR_STR ": vcpu"
    mov     x1, x20
    bl      print_dec
    ADR_STR " ops="
    ldr     x1, [x24, #B_OPS]
    bl      print_dec
    ADR_STR " mismatches="
    ldr     x1, [x24, #B_MISMATCH]
    bl      print_dec
    ADR_STR " irqs="
    ldr     x1, [x24, #B_IRQ]
    bl      print_dec
    ADR_STR " done="
    ldr     x1, [x24, #B_DONE]
    bl      print_dec
    ADR_STR " last_bad="
    bl      puts
    ldr     x0, [x24, #B_LAST_BAD]
    bl      puthex
    bl      newline
    add     x20, x20, #1
    b       1b
2:  mov     x0, x19
    bl      puts
    ADR_STR ": total ops="
    mov     x1, x21
    bl      print_dec
    ADR_STR " mismatches="
    mov     x1, x22
    bl      print_dec
    ADR_STR " irqs="
    mov     x1, x23
    bl      print_dec
    mov     x0, #0
    bl      smp_block_of
    ldr     x1, [x0, #B_START_BAD]
    ADR_STR " boot_cpu_on_bad="
    bl      print_dec
    bl      newline
    ldp     x23, x24, [sp], #16
    ldp     x21, x22, [sp], #16
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

    .bss
    .balign 64
    .globl smp_blocks, smp_ncpu
smp_blocks: .space SMP_BLOCK * SMP_MAX_VCPUS
smp_ncpu:   .quad 0
/* One byte per vCPU: ask for SYSTEM_RESET now (set by smp_reset_point). */
    .globl smp_reset_now, smp_reset_all
smp_reset_now: .quad 0
smp_reset_all: .quad 0
/* Bits smp_wait_others adds to a restarted vCPU's context id (the attack sets them). */
    .globl smp_context
smp_context: .quad 0

    .text
#endif
