/* SGIs under races (issue 16's SGI fast path, keel run --smp 4). vCPU 1 receives; vCPUs 0, 2 and
 * 3 send with ICC_SGI1R_EL1, which Keel's synchronous vector answers itself in its plain form.
 *
 * Phase 1, disable race: vCPU 1 turns SGI 3 off and on again TOGGLES times through its
 * redistributor (GICR_ICENABLER0 / ISENABLER0, Keel's Swift path under the vGIC lock) with its
 * IRQs unmasked, while the senders hammer it with SGI 3 in every form: the plain one through
 * x0, x1 (on Keel's stack in the vector), x9 and x25, a target list naming vCPUs the VM does not
 * have, the sender itself among the targets, IRM broadcast, a nonexistent affinity (Aff1 1),
 * RS 1, and XZR; until each sender has written HAMMER times and vCPU 1 took SGI 3 MIN_TAKEN
 * times. Between its ICENABLER0 write and the ISENABLER0 write vCPU 1 must not take
 * SGI 3 (violations); with it enabled it must take some (taken). After each write the sender
 * checks that x2-x8 and x30 kept their values (the vector borrows registers: corrupt).
 *
 * Phase 2, exactly once: each sender sends its own SGI (8 + its index) to vCPU 1 SENDS times,
 * each time waiting until vCPU 1's handler has counted it; vCPU 1 waits in WFI. Afterwards (and
 * after a pause) each count must equal SENDS: lost ones or duplicates are reported.
 * vCPU 0 prints "sgi_race: <name>=<hex>" for each figure and powers off. */
#include "guest.h"

#define CPUS            4
#define TOGGLES         300
#define SENDS           200
#define SGI_RACE        3
#define SGI_FINISH      12
#define GICR_BASE       0x080A0000
#define GICR_SGI        0x10000
#define GICR_ISENABLER0 0x0100
#define GICR_ICENABLER0 0x0180
#define WAIT_LIMIT      20000000        /* bounded waits: a failure, not a hang */

/* Quads of `state`. */
#define READY           0               /* + 8 * vCPU */
#define PHASE1_DONE     32
#define ENABLED         40              /* vCPU 1's SGI 3 as it last set it */
#define VIOLATIONS      48
#define TAKEN           56
#define COUNT           64              /* + 8 * INTID: SGIs vCPU 1 took */
#define SENT_DONE       192             /* + 8 * vCPU: phase 2 over */
#define CORRUPT         224
#define FINISH          232
#define TIMEOUTS        240
#define HAMMERED        256             /* + 8 * vCPU: HAMMER writes done in phase 1 */
#define HAMMER          3000
#define MIN_TAKEN       64
#define TOGGLE_LIMIT    1000000

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    ldr     x1, =GICD_BASE
    mov     w2, #0x13                   /* ARE, both groups on */
    str     w2, [x1]
    bl      gicv3_cpu_interface_on
    mov     x19, #1
1:  MOV64   x0, PSCI_CPU_ON_64
    mov     x1, x19
    adrp    x2, secondary_start
    add     x2, x2, :lo12:secondary_start
    mov     x3, x19                     /* secondary_main's argument: its index */
    hvc     #0
    add     x19, x19, #1
    cmp     x19, #CPUS
    b.lo    1b
    adrp    x20, state
    add     x20, x20, :lo12:state
    mov     x19, #1
2:  MOV64   x21, WAIT_LIMIT
3:  ldr     x0, [x20, x19, lsl #3]      /* READY + 8 * i */
    cbnz    x0, 4f
    wfe
    subs    x21, x21, #1
    b.ne    3b
    bl      timed_out
4:  add     x19, x19, #1
    cmp     x19, #CPUS
    b.lo    2b
    mov     x0, #0
    bl      sender
    /* Every sender done, then a pause: a duplicate would show by now. */
    mov     x19, #2
5:  MOV64   x21, WAIT_LIMIT
6:  add     x0, x20, #SENT_DONE
    ldr     x0, [x0, x19, lsl #3]
    cbnz    x0, 7f
    wfe
    subs    x21, x21, #1
    b.ne    6b
    bl      timed_out
7:  add     x19, x19, #1
    cmp     x19, #CPUS
    b.lo    5b
    MOV64   x0, 200000
8:  subs    x0, x0, #1
    b.ne    8b
    mov     x0, #1
    str     x0, [x20, #FINISH]
    dsb     ish
    ldr     x1, =(SGI_FINISH << 24 | 1 << 1)
    msr     icc_sgi1r_el1, x1
    isb
    /* lost and duplicated: each sender's SGI counted against SENDS */
    mov     x21, #0                     /* lost */
    mov     x22, #0                     /* duplicated */
    mov     x19, #0
9:  cmp     x19, #1
    b.eq    11f
    add     x0, x19, #8
    add     x1, x20, #COUNT
    ldr     x0, [x1, x0, lsl #3]
    mov     x1, #SENDS
    cmp     x0, x1
    b.hs    10f
    sub     x1, x1, x0
    add     x21, x21, x1
    b       11f
10: sub     x1, x0, x1
    add     x22, x22, x1
11: add     x19, x19, #1
    cmp     x19, #CPUS
    b.lo    9b
    ldr     x19, [x20, #VIOLATIONS]
    PRINT_KV "sgi_race: violations=", x19
    ldr     x19, [x20, #TAKEN]
    PRINT_KV "sgi_race: taken=", x19
    ldr     x19, [x20, #CORRUPT]
    PRINT_KV "sgi_race: corrupt=", x19
    PRINT_KV "sgi_race: lost=", x21
    PRINT_KV "sgi_race: duplicated=", x22
    ldr     x19, [x20, #TIMEOUTS]
    PRINT_KV "sgi_race: timeouts=", x19
    ldp     x29, x30, [sp], #16
    ret

/* x0 = this vCPU's index. */
    .globl secondary_main
secondary_main:
    stp     x29, x30, [sp, #-16]!
    cmp     x0, #1
    b.eq    receiver
    bl      sender
    ldp     x29, x30, [sp], #16
    ret

timed_out:
    adrp    x0, state
    add     x0, x0, :lo12:state
    ldr     x1, [x0, #TIMEOUTS]
    add     x1, x1, #1
    str     x1, [x0, #TIMEOUTS]
    ret

/* A sender (x0 = its index, x20 = state is set here): ready, phase 1 until vCPU 1 is done
 * toggling, then phase 2. */
sender:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    stp     x21, x22, [sp, #-16]!
    stp     x23, x24, [sp, #-16]!
    stp     x25, x26, [sp, #-16]!
    stp     x27, x28, [sp, #-16]!
    mov     x19, x0
    adrp    x20, state
    add     x20, x20, :lo12:state
    cbz     x19, 1f                     /* vCPU 0 set its CPU interface up in main */
    bl      gicv3_cpu_interface_on
    mov     x0, #1
    str     x0, [x20, x19, lsl #3]      /* READY */
1:  ldr     x0, [x20, #8]               /* vCPU 1 ready: hammer it */
    cbnz    x0, 38f
    wfe
    b       1b
38: mov     x21, #0                     /* rounds */
    mov     x22, #1
    lsl     x22, x22, x19               /* own bit in a target list */
    MOV64   x26, WAIT_LIMIT
    /* Sentinels the vector must leave alone. */
2:  mov     x2, #0x72
    mov     x3, #0x73
    mov     x4, #0x74
    mov     x5, #0x75
    mov     x6, #0x76
    mov     x7, #0x77
    mov     x8, #0x78
    mov     x23, x30
    and     x24, x21, #15
    adr     x27, 3f
    add     x27, x27, x24, lsl #3
    br      x27
3:  b       20f                         /* 0: plain, x0 */
    nop
    b       21f                         /* 1: plain, x1 */
    nop
    b       22f                         /* 2: plain, x9 */
    nop
    b       23f                         /* 3: plain, x25 */
    nop
    b       24f                         /* 4: a target list naming vCPUs the VM lacks */
    nop
    b       25f                         /* 5: itself among the targets */
    nop
    b       26f                         /* 6: IRM broadcast */
    nop
    b       27f                         /* 7: Aff1 1: no such vCPU */
    nop
    b       28f                         /* 8: RS 1: vCPUs 16-31, none */
    nop
    b       29f                         /* 9: XZR: SGI 0 to nobody */
    nop
    b       20f
    nop
    b       21f
    nop
    b       22f
    nop
    b       23f
    nop
    b       20f
    nop
    b       23f
    nop
20: ldr     x0, =(SGI_RACE << 24 | 1 << 1)
    msr     icc_sgi1r_el1, x0
    b       30f
21: ldr     x1, =(SGI_RACE << 24 | 1 << 1)
    msr     icc_sgi1r_el1, x1
    b       30f
22: ldr     x9, =(SGI_RACE << 24 | 1 << 1)
    msr     icc_sgi1r_el1, x9
    b       30f
23: ldr     x25, =(SGI_RACE << 24 | 1 << 1)
    msr     icc_sgi1r_el1, x25
    b       30f
24: ldr     x0, =(SGI_RACE << 24 | 0xFFF2)
    msr     icc_sgi1r_el1, x0
    b       30f
25: ldr     x0, =(SGI_RACE << 24 | 1 << 1)
    orr     x0, x0, x22
    msr     icc_sgi1r_el1, x0
    b       30f
26: MOV64   x0, (SGI_RACE << 24 | 1 << 40)
    msr     icc_sgi1r_el1, x0
    b       30f
27: ldr     x0, =(SGI_RACE << 24 | 1 << 16 | 1 << 1)
    msr     icc_sgi1r_el1, x0
    b       30f
28: MOV64   x0, (SGI_RACE << 24 | 1 << 44 | 1 << 1)
    msr     icc_sgi1r_el1, x0
    b       30f
29: msr     icc_sgi1r_el1, xzr
30: mov     x0, #0
    cmp     x2, #0x72
    cinc    x0, x0, ne
    cmp     x3, #0x73
    cinc    x0, x0, ne
    cmp     x4, #0x74
    cinc    x0, x0, ne
    cmp     x5, #0x75
    cinc    x0, x0, ne
    cmp     x6, #0x76
    cinc    x0, x0, ne
    cmp     x7, #0x77
    cinc    x0, x0, ne
    cmp     x8, #0x78
    cinc    x0, x0, ne
    cmp     x23, x30
    cinc    x0, x0, ne
    cbz     x0, 31f
    ldr     x1, [x20, #CORRUPT]
    add     x1, x1, x0
    str     x1, [x20, #CORRUPT]
31: add     x21, x21, #1
    cmp     x21, #HAMMER
    b.ne    37f
    mov     x0, #1
    add     x1, x20, #HAMMERED
    str     x0, [x1, x19, lsl #3]
37: ldr     x0, [x20, #PHASE1_DONE]
    cbnz    x0, 32f
    subs    x26, x26, #1
    b.ne    2b
    bl      timed_out
32: /* Phase 2: SGI 8 + index to vCPU 1, one at a time. */
    add     x24, x19, #8
    add     x25, x20, #COUNT
    add     x25, x25, x24, lsl #3       /* its count */
    lsl     x27, x24, #24
    orr     x27, x27, #(1 << 1)
    mov     x21, #0
33: add     x21, x21, #1
    msr     icc_sgi1r_el1, x27
    isb
    MOV64   x26, WAIT_LIMIT
34: ldr     x0, [x25]
    cmp     x0, x21
    b.hs    35f
    wfe
    subs    x26, x26, #1
    b.ne    34b
    bl      timed_out
    b       36f
35: cmp     x21, #SENDS
    b.lo    33b
36: mov     x0, #1
    add     x1, x20, #SENT_DONE
    str     x0, [x1, x19, lsl #3]
    ldp     x27, x28, [sp], #16
    ldp     x25, x26, [sp], #16
    ldp     x23, x24, [sp], #16
    ldp     x21, x22, [sp], #16
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* vCPU 1. */
receiver:
    adrp    x20, state
    add     x20, x20, :lo12:state
    mov     x0, #1
    ldr     w1, =(1 << SGI_RACE | 1 << 8 | 1 << 10 | 1 << 11 | 1 << SGI_FINISH)
    bl      gicv3_private_on
    bl      gicv3_cpu_interface_on
    mov     x0, #1
    str     x0, [x20, #ENABLED]
    str     x0, [x20, #8]               /* READY */
    ldr     x21, =(GICR_BASE + 0x20000 + GICR_SGI)
    mov     w22, #(1 << SGI_RACE)
    msr     daifclr, #2
    mov     x19, #TOGGLES
    mov     x23, #0
    MOV64   x24, TOGGLE_LIMIT
1:  str     w22, [x21, #GICR_ICENABLER0]    /* off: from here SGI 3 must not be taken */
    str     xzr, [x20, #ENABLED]
    mov     x0, #300
2:  subs    x0, x0, #1
    b.ne    2b
    mov     x0, #1
    str     x0, [x20, #ENABLED]         /* on again (the flag first: it may come at once) */
    str     w22, [x21, #GICR_ISENABLER0]
    mov     x0, #300
3:  subs    x0, x0, #1
    b.ne    3b
    /* At least TOGGLES rounds, and until every sender wrote HAMMER times and SGI 3 came
     * MIN_TAKEN times (on a loaded host, threads of QEMU's vCPUs may not overlap at first). */
    cbz     x19, 7f
    sub     x19, x19, #1
7:  add     x23, x23, #1
    cbnz    x19, 1b
    add     x0, x20, #HAMMERED
    ldr     x1, [x0]
    ldr     x2, [x0, #16]
    and     x1, x1, x2
    ldr     x2, [x0, #24]
    and     x1, x1, x2
    ldr     x2, [x20, #TAKEN]
    cmp     x2, #MIN_TAKEN
    csel    x1, xzr, x1, lo
    cbnz    x1, 6f
    cmp     x23, x24
    b.lo    1b
    bl      timed_out
6:  mov     x0, #1
    str     x0, [x20, #PHASE1_DONE]
    dsb     ish
    sev
    /* Phase 2: wait in WFI until vCPU 0 says it is over. */
    MOV64   x19, WAIT_LIMIT
4:  wfi
    ldr     x0, [x20, #FINISH]
    cbnz    x0, 5f
    subs    x19, x19, #1
    b.ne    4b
5:  msr     daifset, #2
    ldp     x29, x30, [sp], #16
    ret

/* vCPU 1's interrupts (the senders never unmask theirs). */
    .globl irq_handler
irq_handler:
    mrs     x0, icc_iar1_el1
    and     x1, x0, #0xFFFFFF
    adrp    x2, state
    add     x2, x2, :lo12:state
    cmp     x1, #16
    b.hs    2f
    add     x3, x2, #COUNT
    ldr     x4, [x3, x1, lsl #3]
    add     x4, x4, #1
    str     x4, [x3, x1, lsl #3]
    cmp     x1, #SGI_RACE
    b.ne    2f
    ldr     x3, [x2, #ENABLED]
    cbnz    x3, 1f
    ldr     x4, [x2, #VIOLATIONS]
    add     x4, x4, #1
    str     x4, [x2, #VIOLATIONS]
1:  ldr     x4, [x2, #TAKEN]
    add     x4, x4, #1
    str     x4, [x2, #TAKEN]
2:  msr     icc_eoir1_el1, x0
    isb
    sev                                 /* a sender may wait in WFE for this */
    ret

    .data
    .balign 8
state:  .space 512
