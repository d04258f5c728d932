/*
 * The EL2 exception vector table and the guest entry/exit path.
 *
 * Every vector is "save, call handler, restore", but for the fast paths, which answer before
 * anything is saved: keel_hvc_fast (a few calls with the same answer for every VM), keel_sysreg_fast
 * (a plain ICC_SGI1R_EL1 write), keel_dabt_fast (a read of a register whose value never changes),
 * keel_uart_read_fast and keel_uart_write_fast (the emulated PL011's plain registers),
 * keel_prio_write_fast (an unchanged GICD_IPRIORITYR word) and keel_irq_fast (the virtual
 * timer; keel_irq_kick: Keel's kick and one SGI's refill); their offsets into Swift's VCPU and VM
 * come from keel/hvcfast.h, keel/sgifast.h, keel/mmiofast.h, keel/uartfast.h, keel/priofast.h and
 * keel/irqfast.h, checked at boot. Each of
 * the 16 slots starts at its own .org,
 * so a slot that outgrows its 0x80 bytes fails to assemble. Offsets into the guest frame come
 * from keel/context.h, where static asserts tie them to the struct Swift sees.
 *
 * TPIDR_EL2 holds the address of the running vCPU's frame (struct keel_regs, the first field of
 * Swift's VCPU). Keel keeps nothing of the guest's EL1 system registers on an exit: with one vCPU
 * pinned to each physical CPU they stay live in the hardware. Light exits (hypercalls, WFx,
 * interrupts) save only what the handler's call may clobber; see keel/context.h and
 * hyp/HOTPATH.md for the instruction-by-instruction account.
 *
 * Spectre: a CPU whose branch predictors a guest could train against Keel (SpectreProfile in
 * KeelCore decides, hyp/arch/Spectre.swift selects) runs with one of the mitigating tables at the
 * end of this file instead: each of their lower-EL vectors overwrites or clears the branch
 * history (or has the firmware do it) before any indirect branch, then goes on to the plain
 * vector; the BHB-loop table lets the fast paths without an indirect branch answer before its
 * loop (bhb_sync64, bhb_irq64). CPUs that need none keep the plain table and pay nothing.
 */
#include "keel/config.h"
#include "keel/context.h"
#include "keel/hvcfast.h"
#include "keel/irqfast.h"
#include "keel/sgifast.h"
#include "keel/mmiofast.h"
#include "keel/uartfast.h"
#include "keel/priofast.h"

/*
 * The first instruction of every lower-EL vector: x0 and x1 onto the stack, which gives the vector
 * two registers to work with. The BHB-loop table pushes them itself and enters each vector just
 * after (KEEL_VECTOR_PUSHED): lower_sync_vector and lower_async_vector must keep it their first
 * instruction.
 */
#define KEEL_VECTOR_PUSHED 4
.macro push_x0_x1
    stp     x0, x1, [sp, #-16]!
.endm

/*
 * The light half of an exit, after push_x0_x1: the registers a Swift call may clobber (x0-x18,
 * x30; x19 shares the stp with x18) and ELR/SPSR, into the frame at TPIDR_EL2. Leaves x0 = frame;
 * x1 is not touched. 16 instructions (17 with the push).
 */
.macro save_pushed
    mrs     x0, tpidr_el2
    stp     x2, x3, [x0, #KEEL_REGS_X(2)]
    stp     x4, x5, [x0, #KEEL_REGS_X(4)]
    stp     x6, x7, [x0, #KEEL_REGS_X(6)]
    stp     x8, x9, [x0, #KEEL_REGS_X(8)]
    stp     x10, x11, [x0, #KEEL_REGS_X(10)]
    stp     x12, x13, [x0, #KEEL_REGS_X(12)]
    stp     x14, x15, [x0, #KEEL_REGS_X(14)]
    stp     x16, x17, [x0, #KEEL_REGS_X(16)]
    stp     x18, x19, [x0, #KEEL_REGS_X(18)]
    str     x30, [x0, #KEEL_REGS_X30]
    ldp     x2, x3, [sp], #16
    stp     x2, x3, [x0, #KEEL_REGS_X(0)]
    mrs     x2, elr_el2
    mrs     x3, spsr_el2
    stp     x2, x3, [x0, #KEEL_REGS_ELR]
.endm

/*
 * One try at the 32-bit lock word at [\lock] for this CPU, with keel_spin_lock's token
 * (MPIDR_EL1's low half) in register number \token: held by anyone, to \held (the fast paths'
 * way to the Swift path, which waits for it; the caller's `clrex` there); a lost exclusive
 * store is tried again. \status is clobbered.
 */
.macro try_lock lock, token, status, held
    mrs     x\token, mpidr_el1                                  /* keel_lock_token() */
99: ldaxr   \status, [\lock]
    cbnz    \status, \held
    stxr    \status, w\token, [\lock]
    cbnz    \status, 99b
.endm

/*
 * A choice among 2^\bits cases by the bits \shift to \shift + \bits - 1 of \reg without an
 * indirect branch, for the paths that run before the Spectre-BHB loop (bhb_sync64): \bits tbnz
 * down a tree, then \leaf with the case's number (\lo onwards: an expression, hence the .if
 * chains in the leaves) and whether it is the last one emitted, which ends with its own way on
 * (the last falls through to it). Speculated either way, each tbnz still goes only to a leaf.
 * A plain table of the same leaves (.irp) is what the plain vectors' `br` enters.
 */
.macro select_tree reg, lo, bits, shift, leaf, last=1
    .if \bits == 0
    \leaf \lo, \last
    .else
    tbnz    \reg, #(\shift + \bits - 1), .Lselect_upper\@
    select_tree \reg, \lo, (\bits - 1), \shift, \leaf, 0
.Lselect_upper\@:
    select_tree \reg, (\lo + (1 << (\bits - 1))), (\bits - 1), \shift, \leaf, \last
    .endif
.endm

/*
 * The same choice for either table: a tree of tbnz (\bhb: the BHB-loop table's copies) or the
 * plain vectors' `adr`, `add`, `br` into a table of the same leaves, two instructions each
 * (\tmp clobbered; \reg holds the case at bit \shift, nothing above it).
 */
.macro select_case bhb, reg, shift, bits, leaf, tmp
    .if \bhb
    select_tree \reg, 0, \bits, \shift, \leaf
    .else
    adr     \tmp, .Lselect_table\@
    .if \shift > 3
    add     \tmp, \tmp, \reg, lsr #(\shift - 3)                 /* two instructions a case */
    .else
    add     \tmp, \tmp, \reg, lsl #(3 - \shift)
    .endif
    br      \tmp
.Lselect_table\@:
    select_table 0, \bits, \leaf
    .endif
.endm

/* Leaves lo to lo + 2^bits - 1 in order, the last one told so (it falls through). */
.macro select_table lo, bits, leaf, last=1
    .if \bits == 0
    \leaf \lo, \last
    .else
    select_table \lo, (\bits - 1), \leaf, 0
    select_table (\lo + (1 << (\bits - 1))), (\bits - 1), \leaf, \last
    .endif
.endm

/* Register n of an MSR's Rt into x0 (x0 and x1 on the stack, 31 the zero register), then to 2. */
.macro rt_leaf n, last=0
    .if (\n) == 0
    ldr     x0, [sp]
    .elseif (\n) == 1
    ldr     x0, [sp, #8]
    .elseif (\n) == 31
    mov     x0, xzr
    .else
    .irp r, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30
    .if (\n) == \r
    mov     x0, x\r
    .endif
    .endr
    .endif
    .if !\last
    b       2f
    .endif
.endm

/* x3 into list register n (by encoding: a name pasted inside a macro loses its \()), then to 4. */
.macro lr_leaf n, last=0
    .irp r, 0, 1, 2, 3, 4, 5, 6, 7
    .if (\n) == \r
    msr     S3_4_C12_C12_\r, x3                                 /* ICH_LR<r>_EL2 */
    .elseif (\n) == \r + 8
    msr     S3_4_C12_C13_\r, x3                                 /* ICH_LR<r + 8>_EL2 */
    .endif
    .endr
    .if !\last
    b       4f
    .endif
.endm

/*
 * The value a data abort's STR writes (ISS.SRT = Xt) into x1, for the write fast paths: x0 and x1
 * of the guest at [sp, #16], x2 and x3 borrowed at [sp]; x2 clobbered. Ends at local label 2,
 * where the caller's code goes on (through a table of two instructions per register).
 */
.macro written_xt_into_x1 bhb
    mrs     x1, esr_el2
    ubfx    x1, x1, #KEEL_ISS_SRT_SHIFT, #5
    select_case \bhb, x1, 0, 5, xt_into_x1_leaf, x2
2:
.endm

/*
 * Register n of a data abort's ISS.SRT and x1, a table entry (two instructions) of the MMIO fast
 * paths, then to 2: \op ldr, x1 = Xn (a write's value); str, Wn = x1 (a read's answer). The
 * guest's x0 and x1 are at [sp, #16], x2 and x3 borrowed at [sp]; 31 is the zero register.
 */
.macro abort_reg_leaf op, n, last
    .if (\n) <= 3
    \op     x1, [sp, #(((\n) ^ 2) * 8)]
    .elseif (\n) == 31
    .ifc \op, ldr
    mov     x1, xzr
    .else
    nop
    .endif
    .else
    .irp r, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30
    .if (\n) == \r
    .ifc \op, ldr
    mov     x1, x\r
    .else
    mov     x\r, x1
    .endif
    .endif
    .endr
    .endif
    .if !\last
    b       2f
    .endif
.endm

.macro xt_into_x1_leaf n, last=0
    abort_reg_leaf ldr, \n, \last
.endm

.macro wt_from_x1_leaf n, last=0
    abort_reg_leaf str, \n, \last
.endm

/*
 * What handleLowerSync records of an MMIO exit a fast path answers (x2 = the vCPU): its ESR (left
 * in x0) and the DABT_LOW exit count; then ELR_EL2 past the access (IL 1). x\tmp clobbered.
 */
.macro dabt_fast_step tmp
    mrs     x0, esr_el2
    str     x0, [x2, #KEEL_VCPU_EXIT_ESR]
    ldr     w\tmp, [x2, #KEEL_VCPU_EXITS_DABT_LOW]
    add     w\tmp, w\tmp, #1
    str     w\tmp, [x2, #KEEL_VCPU_EXITS_DABT_LOW]
    mrs     x\tmp, elr_el2
    add     x\tmp, x\tmp, #4                                      /* past the access */
    msr     elr_el2, x\tmp
.endm

/*
 * The end of a write fast path, just after its lock's release (x3 was the lock word): what
 * handleLowerSync records (the ESR, the DABT_LOW exit count), the PC past the store, the borrowed
 * x2/x3 and the guest's x0/x1 back, eret. Then its ways out to the Swift path, every guest
 * register as it came: 6 (lock held by this path, nothing written: release it), 7 (the lock found
 * held: clrex), 8.
 */
.macro write_fast_done slow
    mrs     x2, tpidr_el2
    dabt_fast_step 1
    ldp     x2, x3, [sp], #16
    ldp     x0, x1, [sp], #16
    eret
6:  stlr    wzr, [x3]                                           /* nothing written: unlock */
    b       8f
7:  clrex
8:  ldp     x2, x3, [sp], #16
    mrs     x1, esr_el2
    b       \slow
.endm

/*
 * A synchronous exception from the guest. From AArch64 (the fast=1 vector), one tbnz sends HVC and
 * SMC (EC bit 1, keel/hvcfast.h) to keel_hvc_fast, one MRS/MSR (EC bit 3, keel/sgifast.h) to
 * keel_sysreg_fast and one data aborts (EC bit 2, keel/mmiofast.h) to keel_dabt_fast; each answers
 * a few cases without saving the frame and otherwise goes on to keel_lower_sync_slow or
 * keel_sysreg_slow, after the table, with every register as it found them. What none takes (WFx,
 * instruction aborts) has only one light class left, WFx, and tests for it alone. Light classes (KEEL_LIGHT_EC_MASK) call the handler at once; the others
 * save the rest of the frame first. x0 = frame, x1 = ESR_EL2 for the handler.
 */
.macro lower_sync_vector fast
    push_x0_x1
    mrs     x1, esr_el2
    .if \fast
    tbnz    x1, #KEEL_ESR_HVC64_FILTER_BIT, keel_hvc_fast
    tbnz    x1, #KEEL_ESR_SYSREG_FILTER_BIT, keel_sysreg_fast
    tbnz    x1, #KEEL_ESR_DABT_FILTER_BIT, keel_dabt_fast
keel_lower_sync_filtered:                   /* the BHB-loop table's way in for the rest */
    save_pushed
    ubfx    x2, x1, #26, #6
    cmp     x2, #KEEL_EC_WFX                /* EC bits 1, 2 and 3 clear: WFx is the one light class */
    b.ne    keel_full_lower_sync
    .else
    save_pushed
    ubfx    x2, x1, #26, #6
    movz    x3, #KEEL_LIGHT_EC_MASK_LO
    movk    x3, #KEEL_LIGHT_EC_MASK_HI, lsl #16
    lsr     x3, x3, x2
    tbz     x3, #0, keel_full_lower_sync
    .endif
    bl      keel_handle_lower_sync
    b       keel_enter_guest
.endm

/*
 * An IRQ from the guest. With keel_irq_fast_on (GICv3, not tracing: keel/irqfast.h) the vector
 * reads ICC_IAR1_EL1 itself and tries keel_irq_fast, which answers the virtual timer's PPI without
 * saving the frame and otherwise comes back to keel_lower_irq_slow with x1 = the IAR and the
 * guest's registers as it found them; with it off, x1 = KEEL_IRQ_NOT_ACKNOWLEDGED and Swift reads
 * the IAR (a GICv2's is MMIO). x0 = frame, x1 for keel_handle_lower_irq.
 */
.macro lower_irq_vector
    push_x0_x1
    adrp    x0, keel_irq_fast_on
    ldr     w0, [x0, :lo12:keel_irq_fast_on]
    cbnz    w0, keel_irq_fast
    mov     x1, #KEEL_IRQ_NOT_ACKNOWLEDGED
keel_lower_irq_slow:
    save_pushed
    bl      keel_handle_lower_irq
    b       keel_enter_guest
.endm

/* An asynchronous exception from the guest (FIQ, SError): its handler needs no register. */
.macro lower_async_vector handler
    push_x0_x1
    save_pushed
    bl      \handler
    b       keel_enter_guest
.endm

/*
 * An exception taken while Keel itself ran: a hypervisor bug. Build a frame of the same layout
 * on the stack (sp_el0 holds the interrupted sp) and report it; keel_hyp_exception never returns.
 */
.macro current_el_vector kind
    sub     sp, sp, #KEEL_REGS_SIZE
    stp     x0, x1, [sp, #KEEL_REGS_X(0)]
    stp     x2, x3, [sp, #KEEL_REGS_X(2)]
    stp     x4, x5, [sp, #KEEL_REGS_X(4)]
    stp     x6, x7, [sp, #KEEL_REGS_X(6)]
    stp     x8, x9, [sp, #KEEL_REGS_X(8)]
    stp     x10, x11, [sp, #KEEL_REGS_X(10)]
    stp     x12, x13, [sp, #KEEL_REGS_X(12)]
    stp     x14, x15, [sp, #KEEL_REGS_X(14)]
    stp     x16, x17, [sp, #KEEL_REGS_X(16)]
    stp     x18, x19, [sp, #KEEL_REGS_X(18)]
    stp     x20, x21, [sp, #KEEL_REGS_X(20)]
    stp     x22, x23, [sp, #KEEL_REGS_X(22)]
    stp     x24, x25, [sp, #KEEL_REGS_X(24)]
    stp     x26, x27, [sp, #KEEL_REGS_X(26)]
    stp     x28, x29, [sp, #KEEL_REGS_X(28)]
    add     x2, sp, #KEEL_REGS_SIZE
    stp     x30, x2, [sp, #KEEL_REGS_X30]
    mrs     x2, elr_el2
    mrs     x3, spsr_el2
    stp     x2, x3, [sp, #KEEL_REGS_ELR]
    mov     x0, sp
    mov     x1, #\kind
    bl      keel_hyp_exception
.endm

    .section .text.vectors, "ax"
    .balign 0x800
    .globl keel_vectors
keel_vectors:
    /* Current EL with SP_EL0: Keel never runs on SP_EL0, so any of these is a bug too. */
    .org 0x000
    current_el_vector KEEL_EXC_SYNC
    .org 0x080
    current_el_vector KEEL_EXC_IRQ
    .org 0x100
    current_el_vector KEEL_EXC_FIQ
    .org 0x180
    current_el_vector KEEL_EXC_SERROR
    /* Current EL with SP_EL2. */
    .org 0x200
    current_el_vector KEEL_EXC_SYNC
    .org 0x280
    current_el_vector KEEL_EXC_IRQ
    .org 0x300
    current_el_vector KEEL_EXC_FIQ
    .org 0x380
    current_el_vector KEEL_EXC_SERROR
    /* Lower EL, AArch64: the guest. */
    .org 0x400
    lower_sync_vector fast=1
    .org 0x480
    lower_irq_vector
    .org 0x500
    lower_async_vector keel_handle_lower_fiq
    .org 0x580
    lower_async_vector keel_handle_lower_serror
    /* Lower EL, AArch32: a guest's 32-bit EL0. Same handlers; the ECs say AArch32. */
    .org 0x600
    lower_sync_vector fast=0
    .org 0x680
    push_x0_x1                      /* first, as in every lower-EL vector (KEEL_VECTOR_PUSHED) */
    b       keel_vectors + 0x480 + KEEL_VECTOR_PUSHED
    .org 0x700
    lower_async_vector keel_handle_lower_fiq
    .org 0x780
    lower_async_vector keel_handle_lower_serror
    .org 0x800

/*
 * The fast paths and the slow halves of the vectors: linked after the mitigating tables
 * (linker/keel.ld), which then follow this table with no padding for their 2 KiB alignment;
 * within reach of the vectors' tbz (32 KiB).
 */
    .section .text.vectors.paths, "ax"

/*
 * Where the fast paths (keel_hvc_fast, keel_sysreg_fast) leave an exit they do not answer: the
 * AArch64 synchronous vector's slow half, for any class. x1 = ESR_EL2, the guest's x0 and x1 at
 * [sp], every other register the guest's.
 */
keel_lower_sync_slow:
    save_pushed
    ubfx    x2, x1, #26, #6
    movz    x3, #KEEL_LIGHT_EC_MASK_LO
    movk    x3, #KEEL_LIGHT_EC_MASK_HI, lsl #16
    lsr     x3, x3, x2
    tbz     x3, #0, keel_full_lower_sync
    bl      keel_handle_lower_sync
    b       keel_enter_guest

/* The same for a class with EC bit 3 set (MRS/MSR and rarer ones), or bit 2 with bits 1 and 3
 * clear (data aborts, where keel_dabt_fast leaves them, and rarer ones): never light. */
keel_sysreg_slow:
    save_pushed
    ubfx    x2, x1, #26, #6
    /* falls through */

/*
 * Not a light class: x0 = frame, x1 = ESR_EL2, x2 = EC as the sync vector left them. Save
 * x20-x29 and SP_EL0 too, mark the frame for a full restore, then handle as usual; except for
 * MMIO and MRS/MSR through a register below x20, which are light as well.
 */
keel_full_lower_sync:
    /* MMIO or MRS/MSR through x0-x19 or the zero register stays light (keel/context.h). */
    cmp     x2, #KEEL_EC_SYS64
    b.eq    2f
    cmp     x2, #KEEL_EC_DABT_LOW
    b.ne    1f
    tbz     x1, #KEEL_ISS_ISV_BIT, 1f
    ubfx    x3, x1, #KEEL_ISS_SRT_SHIFT, #5
    b       3f
2:  ubfx    x3, x1, #KEEL_ISS_RT_SHIFT, #5
3:  add     x3, x3, #1              /* register 31 (the zero register) -> 0, n -> n + 1 */
    and     x3, x3, #31
    cmp     x3, #KEEL_FIRST_CALLEE_SAVED
    b.hi    1f
    bl      keel_handle_lower_sync
    b       keel_enter_guest
1:  stp     x20, x21, [x0, #KEEL_REGS_X(20)]
    stp     x22, x23, [x0, #KEEL_REGS_X(22)]
    stp     x24, x25, [x0, #KEEL_REGS_X(24)]
    stp     x26, x27, [x0, #KEEL_REGS_X(26)]
    stp     x28, x29, [x0, #KEEL_REGS_X(28)]
    mrs     x2, sp_el0
    str     x2, [x0, #KEEL_REGS_SP_EL0]
    mov     x3, #1
    str     x3, [x0, #KEEL_REGS_RESTORE_ALL]
    bl      keel_handle_lower_sync
    b       keel_enter_guest

/*
 * A synchronous exception with EC bit 1 set, before anything is saved (hyp/HOTPATH.md):
 * x1 = ESR_EL2, x0 free, the guest's x0 and x1 at [sp]; x2-x30 are the guest's and stay
 * untouched. Only HVC #0 from AArch64 (ESR_EL2 exactly KEEL_ESR_HVC64_IMM0) goes on. SMCCC_VERSION and
 * PSCI_VERSION are answered 0x10001 and every vendor-hypervisor SMC64 id NOT_SUPPORTED
 * (keel/hvcfast.h), as the Swift path answers them for any VM, when nothing else must happen on
 * this exit: full tracing off (tested first, so a traced HVC pays least), and no list-register
 * refill or stop request for this vCPU (handleLowerSync's beforeEntry test; plain loads, as
 * there). The exit is counted and its ESR kept, as handleLowerSync does; x1-x3 go back as they
 * came. Anything else returns to keel_lower_sync_slow with x1 = ESR_EL2 and the guest's
 * registers as they came. Flags carry the answer across the checks (ldr, str and cbnz leave
 * them): eq a version call, lo an unknown vendor id, hi anything else.
 */
.macro hvc_fast slow
    movz    x0, #KEEL_ESR_HVC64_IMM0_HI, lsl #16
    cmp     x1, x0
    b.ne    \slow
    adrp    x0, keel_hvc_fast_off
    ldr     w0, [x0, :lo12:keel_hvc_fast_off]
    cbnz    w0, \slow
    ldr     w1, [sp]                        /* the function id: the guest's w0 */
    lsr     w0, w1, #24
    cmp     w0, #KEEL_FAST_UNKNOWN_TOP
    eor     w0, w1, #KEEL_FAST_SMCCC_VERSION
    and     w0, w0, #KEEL_FAST_VERSION_MASK  /* 0: SMCCC_VERSION or PSCI_VERSION */
    ccmp    w0, #0, #0, ne                  /* an unknown vendor id: nzcv = 0, lo */
    b.hi    1f
    mrs     x0, tpidr_el2
    ldr     w1, [x0, #KEEL_VCPU_VGIC_DIRTY]
    cbnz    w1, 1f
    ldr     w1, [x0, #KEEL_VCPU_STOP]
    cbnz    w1, 1f
    movz    x1, #KEEL_ESR_HVC64_IMM0_HI, lsl #16  /* ESR_EL2, as the vector compared it */
    str     x1, [x0, #KEEL_VCPU_EXIT_ESR]
    ldr     w1, [x0, #KEEL_VCPU_EXITS_HVC64]
    add     w1, w1, #1
    str     w1, [x0, #KEEL_VCPU_EXITS_HVC64]
    mov     w1, #KEEL_FAST_VERSION_ANSWER
    csinv   x0, x1, xzr, eq                 /* a version: 0x10001; else ~0 = NOT_SUPPORTED */
    ldp     xzr, x1, [sp], #16
    eret
1:  mrs     x1, esr_el2
    b       \slow
.endm
keel_hvc_fast:
    hvc_fast slow=keel_lower_sync_slow

/*
 * A synchronous exception with EC bit 3 set (MRS/MSR, and rarer classes none of which is light),
 * before anything is saved (hyp/HOTPATH.md): x1 = ESR_EL2, x0 free, the guest's x0 and x1 at [sp],
 * x2-x30 the guest's. Only MSR ICC_SGI1R_EL1 from AArch64 goes on, with keel_sgi_fast_on (GICv3,
 * no tracing), a value of the plain form (IRM 0, Aff3-Aff1 0, RS 0, RES0 0: keel/sgifast.h) and
 * nothing to do before re-entry (vgic.dirty, stop: handleLowerSync's test, as keel_hvc_fast).
 * What trapSysReg and VGIC.raiseSGI do then, the same way: the targets (the list among the VM's
 * vCPUs; the sender itself among them takes the Swift path, which refills its list registers on
 * the way back) get the SGI pending in their banks under the VM's vGIC lock, taken with the same
 * token as keel_spin_lock but tried once (held: the Swift path waits for it); after the release,
 * each target that has the SGI enabled gets dirty = 1 (store-release) and, when on, Keel's kick
 * SGI at its CPU (dsb, msr, isb: GIC.kick). Then ELR_EL2 past the MSR, the exit's ESR kept and
 * counted (offsets from keel/sgifast.h, keel/hvcfast.h and keel/irqfast.h, checked at boot).
 * Every test comes before the first store to shared state: a case it leaves goes to
 * keel_sysreg_slow with x1 = ESR_EL2 and every guest register as it came. x2-x7 are borrowed on
 * the stack.
 */
.macro sgi_write_fast bhb, slow
    tbnz    x1, #KEEL_ESR_SYSREG_READ_BIT, \slow               /* MRS: ID registers and the like */
    movz    x0, #KEEL_ESR_SGI1R_WRITE_LO
    movk    x0, #KEEL_ESR_SGI1R_WRITE_HI, lsl #16
    eor     x0, x0, x1
    tst     x0, #KEEL_ESR_ALL_BUT_RT
    b.ne    \slow                                              /* not MSR ICC_SGI1R_EL1 */
    adrp    x1, keel_sgi_fast_on                                /* x0 = Rt << 5 from here */
    ldr     w1, [x1, :lo12:keel_sgi_fast_on]
    cbz     w1, 9f
    select_case \bhb, x0, 5, 5, rt_leaf, x1                      /* Xt by Rt, x0's bits 9:5 */
2:  lsr     x1, x0, #KEEL_SGI1R_PLAIN_SHIFT                     /* x0 = the value written */
    cbnz    x1, 9f
    tst     x0, #KEEL_SGI1R_AFF1_MASK
    b.ne    9f
    stp     x2, x3, [sp, #-16]!
    stp     x4, x5, [sp, #-16]!
    stp     x6, x7, [sp, #-16]!
    mrs     x1, tpidr_el2                                       /* the sender */
    ldr     w2, [x1, #KEEL_VCPU_VGIC_DIRTY]
    ldr     w3, [x1, #KEEL_VCPU_STOP]
    orr     w2, w2, w3
    cbnz    w2, 8f
    ldr     x2, [x1, #KEEL_VCPU_VM]
    adrp    x3, keel_vm_pool
    add     x3, x3, :lo12:keel_vm_pool
    add     x2, x3, x2, lsl #KEEL_VM_SLOT_SHIFT                 /* x2 = its VM */
    ldr     x3, [x2, #KEEL_VM_VCPU_COUNT]
    mov     x4, #1
    lsl     x3, x4, x3
    sub     w3, w3, #1                                          /* the VM's vCPUs, one bit each */
    and     w3, w3, w0                                          /* the targets (list: bits 15:0) */
    ldr     x4, [x1, #KEEL_VCPU_ID]
    lsr     w4, w3, w4
    tbnz    w4, #0, 8f                                          /* itself among them */
    cbz     w3, 6f                                              /* none: nothing to raise */
    add     x4, x2, #KEEL_VM_VGIC_LOCK
    try_lock x4, 5, w6, 7f
    ubfx    x0, x0, #24, #4                                     /* the INTID */
    mov     w5, #1
    lsl     w0, w5, w0                                          /* its bit in a bank */
    ldr     x5, [x2, #KEEL_VM_FIRST_VCPU]
    adrp    x2, keel_vcpu_pool
    add     x2, x2, :lo12:keel_vcpu_pool
    add     x2, x2, x5, lsl #KEEL_VCPU_SLOT_SHIFT               /* x2 = the VM's vCPU 0 */
    mov     w6, #0                                              /* targets with it enabled */
4:  rbit    w5, w3
    clz     w5, w5                                              /* a target's index */
    add     x7, x2, x5, lsl #KEEL_VCPU_SLOT_SHIFT
    ldr     w1, [x7, #KEEL_VCPU_BANK_PENDING]
    orr     w1, w1, w0
    str     w1, [x7, #KEEL_VCPU_BANK_PENDING]
    ldr     w1, [x7, #KEEL_VCPU_BANK_ENABLED]
    tst     w1, w0
    mov     w1, #1
    lsl     w1, w1, w5
    orr     w5, w6, w1
    csel    w6, w5, w6, ne
    bic     w3, w3, w1
    cbnz    w3, 4b
    stlr    wzr, [x4]                                           /* keel_spin_unlock */
    cbz     w6, 6f
5:  rbit    w5, w6
    clz     w5, w5
    add     x7, x2, x5, lsl #KEEL_VCPU_SLOT_SHIFT               /* a target that has it enabled */
    mov     w1, #1
    lsl     w5, w1, w5
    bic     w6, w6, w5
    add     x5, x7, #KEEL_VCPU_VGIC_DIRTY
    stlr    w1, [x5]                                            /* dirty = 1 (VGIC.notify) */
    add     x5, x7, #KEEL_VCPU_POWER
    ldar    w5, [x5]
    cmp     w5, #KEEL_POWER_ON
    b.ne    55f
    ldr     x5, [x7, #KEEL_VCPU_PHYSICAL_CPU]
    lsl     x5, x1, x5                                          /* Aff0: the CPU */
    orr     x5, x5, #KEEL_KICK_SGI1R
    dsb     ish                                                 /* GIC.kick (its isb: the eret) */
    msr     icc_sgi1r_el1, x5
55: cbnz    w6, 5b
6:  mrs     x1, tpidr_el2
    mrs     x0, elr_el2
    add     x0, x0, #4                                          /* past the MSR */
    msr     elr_el2, x0
    mrs     x0, esr_el2
    str     x0, [x1, #KEEL_VCPU_EXIT_ESR]
    ldr     w0, [x1, #KEEL_VCPU_EXITS_SYS64]
    add     w0, w0, #1
    str     w0, [x1, #KEEL_VCPU_EXITS_SYS64]
    ldp     x6, x7, [sp], #16
    ldp     x4, x5, [sp], #16
    ldp     x2, x3, [sp], #16
    ldp     x0, x1, [sp], #16
    eret
7:  clrex
8:  ldp     x6, x7, [sp], #16
    ldp     x4, x5, [sp], #16
    ldp     x2, x3, [sp], #16
9:  mrs     x1, esr_el2
    b       \slow
.endm

keel_sysreg_fast:
    sgi_write_fast bhb=0, slow=keel_sysreg_slow

/*
 * An IRQ, before anything is saved (hyp/HOTPATH.md): x0 free, the guest's x0 and x1 at [sp],
 * x2-x30 the guest's. The interrupt is acknowledged here; the virtual timer's PPI goes on here,
 * Keel's kick to keel_irq_kick.
 * As VGIC.raiseHardwareFast, it goes straight back into the list register its previous instance
 * used, linked to the physical interrupt, when that is all this exit would do: no refill due
 * (vgic.dirty), no underflow, no stop request; the PPI enabled, in that register's bookkeeping
 * (inLR, lrINTID) and linked (hardware), not pending or active in software, its group enabled in
 * the VM's distributor; and the register empty again (ICH_ELRSR_EL2: the guest deactivated it).
 * Swift's state is only read (no lock: another CPU changing it sets vgic.dirty and kicks this
 * one after, and that kick's exit refills, as when the change comes just after an exit); the
 * list register is this CPU's, and Swift's bookkeeping of it (usedLRs, lrINTID, inLR, hardware)
 * already says what it now holds. Then the priority drop, the exit counted, eret. Anything else
 * returns to keel_lower_irq_slow with x1 = the IAR and every guest register as it came. x2 and
 * x3 are borrowed on the stack; x0 is the vCPU's vgic (offsets from keel/irqfast.h).
 */
#define VG(field) (field - KEEL_VCPU_VGIC)
.macro irq_timer_body bhb, slow
    stp     x2, x3, [sp, #-16]!
    mrs     x0, tpidr_el2
    add     x0, x0, #KEEL_VCPU_VGIC
    ldr     w2, [x0, #VG(KEEL_VCPU_VGIC_DIRTY)]
    ldrb    w3, [x0, #VG(KEEL_VCPU_VGIC_UNDERFLOW)]
    orr     w2, w2, w3
    ldr     w3, [x0, #VG(KEEL_VCPU_STOP)]
    orr     w2, w2, w3
    cbnz    w2, 9f
    ldp     w1, w2, [x0, #VG(KEEL_VCPU_BANK_ENABLED)]   /* enabled, pending */
    bic     w1, w1, w2
    ldp     w2, w3, [x0, #VG(KEEL_VCPU_BANK_INLR)]      /* inLR, hardware */
    and     w1, w1, w2
    and     w1, w1, w3
    ldr     w2, [x0, #VG(KEEL_VCPU_BANK_ACTIVE)]
    bic     w1, w1, w2
    tbz     w1, #KEEL_IRQFAST_INTID, 9f
    ldr     w2, [x0, #VG(KEEL_VCPU_BANK_GROUP1)]
    ubfx    w2, w2, #KEEL_IRQFAST_INTID, #1                  /* its group: 0 or 1 */
    ldr     x3, [x0, #VG(KEEL_VCPU_VM)]
    adrp    x1, keel_vm_pool
    add     x1, x1, :lo12:keel_vm_pool
    add     x1, x1, x3, lsl #KEEL_VM_SLOT_SHIFT
    ldr     w1, [x1, #KEEL_VM_VGIC_CTLR]
    lsr     w1, w1, w2                                      /* bit 0: that group enabled */
    tbz     w1, #0, 9f
    ldr     w1, [x0, #VG(KEEL_VCPU_USED_LRS)]
1:  cbz     w1, 9f
    rbit    w2, w1
    clz     w2, w2                                          /* n: a list register Keel filled */
    add     x3, x0, x2, lsl #1
    ldrh    w3, [x3, #VG(KEEL_VCPU_LR_INTID)]
    cmp     w3, #KEEL_IRQFAST_INTID
    b.eq    2f
    sub     w3, w1, #1
    and     w1, w1, w3
    b       1b
2:  mrs     x3, ich_elrsr_el2                               /* empty? (never for n >= the count) */
    lsr     x3, x3, x2
    tbz     x3, #0, 9f
    /* ICH_LR<n>_EL2: pending (62), HW (61), group (60), priority [55:48], pINTID [41:32], vINTID. */
    movz    x3, #KEEL_IRQFAST_INTID
    movk    x3, #KEEL_IRQFAST_INTID, lsl #32
    movk    x3, #0x6000, lsl #48
    ldrb    w1, [x0, #VG(KEEL_VCPU_BANK_PRIORITY) + KEEL_IRQFAST_INTID]
    orr     x3, x3, x1, lsl #48
    ldr     w1, [x0, #VG(KEEL_VCPU_BANK_GROUP1)]
    ubfx    x1, x1, #KEEL_IRQFAST_INTID, #1
    orr     x3, x3, x1, lsl #60
    select_case \bhb, x2, 0, 4, lr_leaf, x1
4:  mov     w1, #KEEL_IRQFAST_INTID
    msr     icc_eoir1_el1, x1                               /* priority drop; the guest deactivates */
    ldr     w1, [x0, #VG(KEEL_VCPU_EXITS_IRQ)]
    add     w1, w1, #1
    str     w1, [x0, #VG(KEEL_VCPU_EXITS_IRQ)]
    ldp     x2, x3, [sp], #16
    ldp     x0, x1, [sp], #16
    eret
9:  ldp     x2, x3, [sp], #16
    mov     w1, #KEEL_IRQFAST_INTID                          /* the IAR, for the Swift handler */
    b       \slow
.endm

keel_irq_fast:
    mrs     x1, icc_iar1_el1
    cmp     w1, #KEEL_IRQFAST_INTID
    b.ne    keel_irq_kick
    irq_timer_body bhb=0, slow=keel_lower_irq_slow

/*
 * Keel's kick SGI, acknowledged by keel_irq_fast (x1 = the IAR, x0 free, the guest's x0 and x1 at
 * [sp]; hyp/HOTPATH.md): what handleLowerIRQ does with it when nothing but a refill of one SGI is
 * due, without saving the frame. routePhysicalIRQ's priority drop and deactivation, and then
 * VGIC.beforeEntry: nothing when vgic.dirty is clear; else flush's lock and refillOneSGI, as in
 * hyp/vgic/SGIRefill.swift: the registers Keel filled all empty and all SGIs, nothing of the
 * vCPU's linked to hardware, no SPI deliverable to anyone, and of its own interrupts at most one
 * deliverable, an SGI; then those registers retired and that SGI in register 0. Anything else
 * (a stop request, underflow maintenance on, the lock held, another case of the refill) goes to
 * keel_lower_irq_slow with x1 = the IAR and every guest register as it came, before anything is
 * written: the Swift handler then does all of it. No trace note: this path is off while exits
 * are recorded (keel_irq_fast_on). x2-x7 are borrowed on the stack; x0 is the vCPU's vgic, x4
 * the VM, x5 its lock word.
 */
.macro irq_kick_body slow
    stp     x2, x3, [sp, #-16]!
    mrs     x0, tpidr_el2
    add     x0, x0, #KEEL_VCPU_VGIC
    ldr     w2, [x0, #VG(KEEL_VCPU_STOP)]
    ldrb    w3, [x0, #VG(KEEL_VCPU_VGIC_UNDERFLOW)]
    orr     w2, w2, w3
    cbnz    w2, 19f                                         /* a stop, underflow: Swift */
    ldr     w2, [x0, #VG(KEEL_VCPU_VGIC_DIRTY)]
    cbz     w2, 16f                                         /* nothing to refill: the kick only */
    stp     x4, x5, [sp, #-16]!
    stp     x6, x7, [sp, #-16]!
    /* The registers Keel filled: all empty (ICH_ELRSR_EL2), each an SGI; w3 = their SGIs' bits.
     * Before the lock: usedLRs, lrINTID and the list registers are this CPU's alone, and a
     * register of another interrupt (an SPI's: a device-model VM woken for its request) turns
     * the exit away before the lock is taken. */
    mov     w3, #0
    ldr     w2, [x0, #VG(KEEL_VCPU_USED_LRS)]
    cbz     w2, 12f
    mrs     x4, ich_elrsr_el2
    bics    wzr, w2, w4
    b.ne    15f
11: rbit    w4, w2
    clz     w4, w4                                          /* n */
    add     x7, x0, x4, lsl #1
    ldrh    w7, [x7, #VG(KEEL_VCPU_LR_INTID)]
    cmp     w7, #16
    b.hs    15f                                             /* not an SGI */
    mov     w4, #1
    lsl     w4, w4, w7
    orr     w3, w3, w4
    sub     w4, w2, #1
    ands    w2, w2, w4
    b.ne    11b
12: ldr     x7, [x0, #VG(KEEL_VCPU_VM)]
    adrp    x4, keel_vm_pool
    add     x4, x4, :lo12:keel_vm_pool
    add     x4, x4, x7, lsl #KEEL_VM_SLOT_SHIFT             /* the VM */
    add     x5, x4, #KEEL_VM_VGIC_LOCK
    try_lock x5, 6, w7, 17f
    /* Groups enabled in the VM's distributor (GICD_CTLR): a bank's mask of them is
     * groupMask(group1) = m0 ^ (group1 & (m0 ^ m1)), m0 and m1 all ones for group 0 and 1 on. */
    ldr     w1, [x4, #KEEL_VM_VGIC_CTLR]
    sbfx    w6, w1, #1, #1                                  /* m1 */
    sbfx    w1, w1, #0, #1                                  /* m0 */
    eor     w6, w6, w1
    /* No SPI deliverable: (pending | level) & enabled & ~inLR, in an enabled group; a bank
     * with none enabled has none (two instructions). */
    .irp b, 0, 1
    ldr     w2, [x4, #KEEL_VM_VGIC_SPIS + \b * KEEL_BANK_STRIDE + KEEL_BANK_ENABLED]
    cbz     w2, 30f
    ldr     w7, [x4, #KEEL_VM_VGIC_SPIS + \b * KEEL_BANK_STRIDE + KEEL_BANK_PENDING]
    ldr     w2, [x4, #KEEL_VM_VGIC_SPIS + \b * KEEL_BANK_STRIDE + KEEL_BANK_LEVEL]
    orr     w2, w2, w7
    ldr     w7, [x4, #KEEL_VM_VGIC_SPIS + \b * KEEL_BANK_STRIDE + KEEL_BANK_ENABLED]
    and     w2, w2, w7
    ldr     w7, [x4, #KEEL_VM_VGIC_SPIS + \b * KEEL_BANK_STRIDE + KEEL_BANK_INLR]
    bic     w2, w2, w7
    ldr     w7, [x4, #KEEL_VM_VGIC_SPIS + \b * KEEL_BANK_STRIDE + KEEL_BANK_GROUP1]
    and     w7, w7, w6
    eor     w7, w7, w1
    tst     w2, w7
    b.ne    18f
30:
    .endr
    /* The vCPU's own: deliverable once the retired registers are out, at most one, a pending SGI. */
    ldr     w7, [x0, #VG(KEEL_VCPU_BANK_GROUP1)]
    and     w7, w7, w6
    eor     w1, w7, w1                                      /* its group mask */
    ldp     w2, w7, [x0, #VG(KEEL_VCPU_BANK_ENABLED)]       /* enabled, pending */
    and     w2, w2, w1
    ldr     w6, [x0, #VG(KEEL_VCPU_BANK_LEVEL)]
    orr     w6, w7, w6
    and     w2, w2, w6
    ldp     w6, w4, [x0, #VG(KEEL_VCPU_BANK_INLR)]         /* inLR, hardware (x4 free now) */
    cbnz    w4, 18f                                         /* a forwarded interrupt held */
    bic     w6, w6, w3
    bic     w2, w2, w6                                      /* d */
    tst     w2, #0xFFFF0000
    b.ne    18f                                             /* a PPI */
    sub     w6, w2, #1
    tst     w2, w6
    b.ne    18f                                             /* more than one */
    bics    wzr, w2, w7
    b.ne    18f                                             /* not pending: a level */
    /* Commit (flush: dirty cleared under the lock; sync's retirement; place in register 0). */
    str     wzr, [x0, #VG(KEEL_VCPU_VGIC_DIRTY)]
    ldr     w6, [x0, #VG(KEEL_VCPU_BANK_ACTIVE)]
    bic     w6, w6, w3
    str     w6, [x0, #VG(KEEL_VCPU_BANK_ACTIVE)]
    ldr     w6, [x0, #VG(KEEL_VCPU_BANK_WITHDRAWN)]
    bic     w6, w6, w3
    str     w6, [x0, #VG(KEEL_VCPU_BANK_WITHDRAWN)]
    ldr     w6, [x0, #VG(KEEL_VCPU_BANK_INLR)]
    bic     w6, w6, w3
    orr     w6, w6, w2
    str     w6, [x0, #VG(KEEL_VCPU_BANK_INLR)]
    mov     w6, #0                                          /* usedLRs */
    cbz     w2, 13f
    bic     w7, w7, w2
    str     w7, [x0, #VG(KEEL_VCPU_BANK_PENDING)]
    rbit    w3, w2
    clz     w3, w3                                          /* the SGI's INTID */
    strh    w3, [x0, #VG(KEEL_VCPU_LR_INTID)]
    /* ICH_LR0_EL2: pending (62), group (60), priority [55:48], vINTID; no HW, no EOI. */
    add     x7, x0, x3
    ldrb    w7, [x7, #VG(KEEL_VCPU_BANK_PRIORITY)]
    orr     x3, x3, x7, lsl #48
    ldr     w7, [x0, #VG(KEEL_VCPU_BANK_GROUP1)]
    lsr     w7, w7, w3
    bfi     x3, x7, #60, #1                                 /* its group */
    orr     x3, x3, #(1 << 62)
    msr     ich_lr0_el2, x3
    mov     w6, #1
13: str     w6, [x0, #VG(KEEL_VCPU_USED_LRS)]
    stlr    wzr, [x5]                                       /* VGIC.unlock */
    ldp     x6, x7, [sp], #16
    ldp     x4, x5, [sp], #16
16: mov     w1, #KEEL_KICK_SGI
    msr     icc_eoir1_el1, x1                               /* routePhysicalIRQ: priority drop, */
    msr     icc_dir_el1, x1                                 /* and deactivation */
    ldr     w1, [x0, #VG(KEEL_VCPU_EXITS_IRQ)]
    add     w1, w1, #1
    str     w1, [x0, #VG(KEEL_VCPU_EXITS_IRQ)]
    ldp     x2, x3, [sp], #16
    ldp     x0, x1, [sp], #16
    eret
17: clrex
    b       15f
18: stlr    wzr, [x5]                                       /* nothing written: unlock */
15: ldp     x6, x7, [sp], #16
    ldp     x4, x5, [sp], #16
19: ldp     x2, x3, [sp], #16
    mov     w1, #KEEL_KICK_SGI                              /* the IAR, for the Swift handler */
    b       \slow
.endm
keel_irq_kick:
    cmp     w1, #KEEL_KICK_SGI
    b.ne    keel_lower_irq_slow
    irq_kick_body slow=keel_lower_irq_slow
#undef VG

/*
 * The tests the UART and priority-write fast paths share after their syndrome's size test (x1 =
 * ESR_EL2, x2 and x3 borrowed): the rest of the syndrome (SF, AR, VNCR, SET, FnV, EA, CM, S1PTW
 * all 0), AArch64 (an AArch32 access's PC step is Swift's), nothing due before re-entry
 * (vgic.dirty, stop), and the faulting page the VM's page at \ipa_field (a page-aligned IPA in
 * VM). Any other case to 8 (the caller's way to the Swift path); x3 = the VM after it.
 */
.macro dabt_fast_page ipa_field
    tst     x1, #KEEL_ESR_UART_CLEAR                            /* SF, AR, ..., S1PTW all 0 */
    b.ne    8f
    mrs     x2, spsr_el2
    tbnz    x2, #KEEL_SPSR_NRW_BIT, 8f                          /* AArch32: Swift steps the PC */
    mrs     x2, tpidr_el2
    ldr     w1, [x2, #KEEL_VCPU_VGIC_DIRTY]
    cbnz    w1, 8f
    ldr     w1, [x2, #KEEL_VCPU_STOP]
    cbnz    w1, 8f
    ldr     x3, [x2, #KEEL_VCPU_VM]
    adrp    x1, keel_vm_pool                                    /* page-aligned (mm/pool.S) */
    add     x3, x1, x3, lsl #KEEL_VM_SLOT_SHIFT                 /* x3 = the VM */
    ldr     x2, [x3, #\ipa_field]                         /* page-aligned (UARTFastPath) */
    mrs     x1, hpfar_el2
    ubfiz   x1, x1, #8, #40                                     /* faultingIPA's page */
    cmp     x1, x2
    b.ne    8f                                                  /* another page */
.endm

/*
 * The UART fast path (keel/uartfast.h, hyp/HOTPATH.md): a halfword or word access to a plain
 * register of the VM's emulated PL011, as trapDataAbort, GuestUART and VirtualPL011 answer it.
 * Entered with x1 = ESR_EL2, x0 free, the guest's x0 and x1 at [sp], x2-x30 the guest's; the
 * read and the write each have their own copy of the tests (uart_fast_tests), so neither tests
 * WnR again. The tests, the one that turns most other accesses away first: a word among the
 * first 128 bytes of some page (FAR_EL2[11:0]), the syndrome, AArch64, nothing due before
 * re-entry (vgic.dirty, stop), the page the UART's (HPFAR_EL2), no byte of console input
 * waiting in the real UART (the Swift
 * path's read polls it and would take it; while the fast path is off, keel_uart_fast_fr points
 * at a word that always says one waits), then the VM's UART lock, tried once. Every test comes
 * before the first store to shared state; a case any of them leaves goes to keel_sysreg_slow
 * with x1 = ESR_EL2 and every guest register as it came (the lock released first, nothing
 * written). x2 and x3 are borrowed on the stack; from the lock on x3 = the lock word, the base
 * of every UART field (KEEL_UART_AT), x0 = the register's offset. A write the offset test turns
 * away goes on to keel_prio_write_fast (`miss`), a read to the slow path.
 */
.macro uart_fast_tests miss
    mrs     x0, far_el2
    lsl     x0, x0, #52                                         /* FAR[11:0] on top (trusted */
    tst     x0, #~(KEEL_UART_FAST_OFFSETS << 52)                /* after the syndrome's FnV): */
    b.ne    \miss                                               /* a word of 0x000-0x07C? */
    ubfx    x0, x0, #52, #7                                     /* the offset, < 0x80 even if b.ne mispredicts */
    stp     x2, x3, [sp, #-16]!
    lsr     x2, x1, #21
    sub     x2, x2, #KEEL_ESR_MMIO_HALF_TOP
    tst     x2, #~2                                             /* 0: SAS halfword, 2: word */
    b.ne    8f
    dabt_fast_page KEEL_VM_UART_IPA
    adrp    x1, keel_uart_fast_fr
    ldr     x1, [x1, :lo12:keel_uart_fast_fr]
    ldr     w1, [x1]                                            /* the real UART's FR */
    tbz     w1, #KEEL_PL011_RXFE_BIT, 8f                        /* input waits: Swift takes it */
    add     x3, x3, #KEEL_VM_UART_LOCK
    try_lock x3, 2, w1, 7f
.endm

/*
 * The leaves of the UART fast paths' offset tables (two instructions each, a table entry's
 * size): what the read and the write do for the word at offset 4n, then to their labels.
 */

.macro uart_read_leaf n, last=0
    .if (\n) == 0                                               /* 0x00 DR: pops the FIFO */
    b       6f
    nop
    .elseif (\n) == 6                                           /* 0x18 FR */
    ldur    x1, [x3, #KEEL_UART_AT(KEEL_VM_UART_RX_COUNT)]
    b       4f
    .elseif (\n) == 9                                          /* 0x24 IBRD */
    ldur    w1, [x3, #KEEL_UART_AT(KEEL_VM_UART_IBRD)]
    b       5f
    .elseif (\n) == 10                                          /* 0x28 FBRD */
    ldur    w1, [x3, #KEEL_UART_AT(KEEL_VM_UART_FBRD)]
    b       5f
    .elseif (\n) == 11                                          /* 0x2C LCRH */
    ldur    w1, [x3, #KEEL_UART_AT(KEEL_VM_UART_LCRH)]
    b       5f
    .elseif (\n) == 12                                          /* 0x30 CR */
    ldur    w1, [x3, #KEEL_UART_AT(KEEL_VM_UART_CR)]
    b       5f
    .elseif (\n) == 13                                          /* 0x34 IFLS */
    ldur    w1, [x3, #KEEL_UART_AT(KEEL_VM_UART_IFLS)]
    b       5f
    .elseif (\n) == 14                                          /* 0x38 IMSC */
    ldur    w1, [x3, #KEEL_UART_AT(KEEL_VM_UART_IMSC)]
    b       5f
    .elseif (\n) == 15                                          /* 0x3C RIS */
    ldur    x1, [x3, #KEEL_UART_AT(KEEL_VM_UART_RX_COUNT)]
    b       3f
    .elseif (\n) == 16                                          /* 0x40 MIS */
    ldur    x1, [x3, #KEEL_UART_AT(KEEL_VM_UART_RX_COUNT)]
    b       31f
    .elseif (\n) == 18                                          /* 0x48 DMACR */
    ldur    w1, [x3, #KEEL_UART_AT(KEEL_VM_UART_DMACR)]
    b       5f
    .else                                                       /* RSR, 0x08-0x14, 0x1C, 0x20, ICR, 0x4C-0x7C */
    mov     w1, #0
    b       5f
    .endif
.endm

.macro uart_write_leaf n, last=0
    .if (\n) == 0                                               /* 0x00 DR: the console's */
    b       6f
    nop
    .elseif (\n) == 9                                           /* 0x24 IBRD */
    and     w1, w1, #0xFFFF
    b       4f
    .elseif (\n) == 10 || (\n) == 13                            /* 0x28 FBRD, 0x34 IFLS */
    and     w1, w1, #0x3F
    b       4f
    .elseif (\n) == 11                                          /* 0x2C LCRH */
    and     w1, w1, #0xFF
    b       4f
    .elseif (\n) == 12                                          /* 0x30 CR */
    b       41f
    nop
    .elseif (\n) == 14                                          /* 0x38 IMSC */
    and     w1, w1, #0x7FF
    b       42f
    .elseif (\n) == 18                                          /* 0x48 DMACR */
    and     w1, w1, #0x7
    b       43f
    .else                                                       /* ignored: RSR/ECR, 0x08-0x20, RIS, MIS, ICR, 0x4C-0x7C */
    b       5f
    nop
    .endif
.endm

.macro mmio_fast_paths bhb, slow, sfx=
/*
 * A synchronous exception with EC bit 2 set and bits 1 and 3 clear (a data abort from the guest,
 * and rarer classes), before anything is saved (hyp/HOTPATH.md): x1 = ESR_EL2, x0 free, the
 * guest's x0 and x1 at [sp], x2-x30 the guest's. Only a 32-bit read of a register the VM's table
 * holds (keel/mmiofast.h: ISV, a word, no sign extension, not acquire, Wt) goes on, when nothing
 * else must happen on this exit (vgic.dirty, stop: handleLowerSync's test, as keel_hvc_fast).
 * The table has the value the Swift emulation gave at VM start for each register whose value
 * can never change (ConstantRegisters.swift), and nothing while tracing records exits. Then
 * Wt = that value (zero-extended: the slot holds it so; the zero register discards it), the
 * exit's ESR kept and counted, ELR_EL2 past the load (IL 1), eret. A write goes on to
 * keel_uart_write_fast\sfx, a read at an offset no table holds to keel_uart_read_fast\sfx, anything
 * else to \slow with x1 = ESR_EL2 and every guest register as it came. x2 and x3
 * are borrowed on the stack.
 */
keel_dabt_fast\sfx:
    tbnz    x1, #KEEL_ESR_WNR_BIT, keel_uart_write_fast\sfx         /* a write: x1 still ESR_EL2 */
    mrs     x0, far_el2                                         /* the cheapest test first (most */
    lsr     x0, x0, #2                                          /* reads are of other registers): */
    adrp    x1, keel_mmio_offsets                               /* bits 5:0: IPA[7:2] (lsr takes */
    ldr     x1, [x1, :lo12:keel_mmio_offsets]                   /* them mod 64); FAR_EL2 is only */
    lsr     x1, x1, x0                                          /* trusted after the syndrome's */
    tbz     x1, #0, 10f                                         /* FnV test below */
    mrs     x1, esr_el2
    lsr     x0, x1, #21
    cmp     x0, #KEEL_ESR_MMIO_READ32_TOP                       /* DABT_LOW, IL, ISV, SAS 2, SSE 0 */
    b.ne    \slow
    tst     x1, #KEEL_ESR_MMIO_READ_CLEAR                       /* SF, AR, ..., S1PTW, WnR all 0 */
    b.ne    \slow
    mrs     x0, hpfar_el2                                       /* faultingIPA: */
    ubfiz   x0, x0, #8, #40                                     /* HPFAR[39:4] -> IPA[47:12] */
    mrs     x1, far_el2
    bfxil   x0, x1, #0, #12                                     /* FAR[11:0] -> IPA[11:0] */
    stp     x2, x3, [sp, #-16]!
    mrs     x2, tpidr_el2
    ldr     x3, [x2, #KEEL_VCPU_VM]
    adrp    x1, keel_mmio_const
    add     x1, x1, :lo12:keel_mmio_const
    add     x1, x1, x3, lsl #KEEL_MMIO_TABLE_SHIFT              /* x1 = the VM's table */
    eor     x3, x0, x0, lsr #KEEL_MMIO_HASH_SHIFT
    ubfx    x3, x3, #2, #6                                      /* KEEL_MMIO_HASH */
    add     x1, x1, x3, lsl #KEEL_MMIO_SLOT_SHIFT
    ldp     x3, x1, [x1]                                        /* the slot's IPA, its value */
    cmp     x3, x0
    b.ne    8f
    ldr     w3, [x2, #KEEL_VCPU_VGIC_DIRTY]
    ldr     w0, [x2, #KEEL_VCPU_STOP]
    orr     w3, w3, w0
    cbnz    w3, 8f
keel_dabt_load_tail\sfx:                                            /* x1 = the value, x2 = the vCPU */
    dabt_fast_step 3
    ubfx    x0, x0, #KEEL_ISS_SRT_SHIFT, #5
    select_case \bhb, x0, 0, 5, wt_from_x1_leaf, x3
2:  ldp     x2, x3, [sp], #16
    ldp     x0, x1, [sp], #16
    eret
8:  ldp     x2, x3, [sp], #16
9:  mrs     x1, esr_el2
    b       \slow
10: mrs     x1, esr_el2                                         /* no tabled register there: */
    /* falls through to keel_uart_read_fast\sfx */                  /* the UART's, perhaps */



keel_uart_read_fast\sfx:
    uart_fast_tests \slow
    select_case \bhb, x0, 2, 5, uart_read_leaf, x2               /* by the word's index */
3:  cmp     x1, #0                                              /* RIS: RXRIS while rxCount > 0 */
    cset    w1, gt
    lsl     w1, w1, #4
    b       5f
31: cmp     x1, #0                                              /* MIS: RXIM's bit of IMSC, as */
    ldur    w1, [x3, #KEEL_UART_AT(KEEL_VM_UART_IMSC)]          /* interruptPending gates it */
    and     w1, w1, #KEEL_UART_RXIM
    csel    w1, w1, wzr, gt
    b       5f
4:  cmp     x1, #0                                              /* FR */
    mov     w1, #KEEL_UART_FR_EMPTY
    mov     w2, #KEEL_UART_FR_RECEIVED
    csel    w1, w2, w1, gt
5:  stlr    wzr, [x3]                                           /* keel_spin_unlock */
    mrs     x2, tpidr_el2
    b       keel_dabt_load_tail\sfx                                 /* Wt, the exit counted, eret */
6:  stlr    wzr, [x3]                                           /* nothing written: unlock */
    b       8f
7:  clrex
8:  ldp     x2, x3, [sp], #16
    mrs     x1, esr_el2
    b       \slow

keel_uart_write_fast\sfx:
    uart_fast_tests keel_prio_write_fast\sfx
    written_xt_into_x1 \bhb
    select_case \bhb, x0, 2, 5, uart_write_leaf, x2              /* by the word's index */
41: mov     w2, #0xFF87                                         /* CR */
    and     w1, w1, w2
    stur    w1, [x3, #KEEL_UART_AT(KEEL_VM_UART_CR)]
    b       5f
42: ldur    x0, [x3, #KEEL_UART_AT(KEEL_VM_UART_RX_COUNT)]     /* IMSC: interruptPending after */
    mov     w2, #KEEL_UART_RX_INTERRUPTS
    tst     w1, w2                                              /* RXIM or RTIM unmasked */
    ccmp    x0, #0, #4, ne                                      /* and rxCount > 0: gt */
    cset    w2, gt                                              /* interruptPending */
    ldurb   w0, [x3, #KEEL_UART_AT(KEEL_VM_UART_LINE)]
    cmp     w0, w2
    b.ne    6f                                                  /* the line would change: Swift */
    stur    w1, [x3, #KEEL_UART_AT(KEEL_VM_UART_IMSC)]
    b       5f
43: stur    w1, [x3, #KEEL_UART_AT(KEEL_VM_UART_DMACR)]
    b       5f
4:  add     x0, x3, x0                                          /* IBRD-IMSC: consecutive words */
    stur    w1, [x0, #KEEL_UART_AT(KEEL_VM_UART_IBRD) - KEEL_UART_REG_IBRD]
5:  stlr    wzr, [x3]                                           /* keel_spin_unlock */
    write_fast_done \slow

/*
 * A word write of GICD_IPRIORITYR8-23 (SPIs 32-95: keel/priofast.h, hyp/HOTPATH.md), where
 * keel_uart_write_fast's offset test left it: x0 = FAR_EL2 << 52, x1 = ESR_EL2, x0 free, the
 * guest's x0 and x1 at [sp], x2-x30 the guest's. As VirtualGICD.write answers it when the value
 * equals the four priorities there (Linux's rewrites of its priorities): under the VM's vGIC
 * lock, tried once, the four bytes compared and nothing written, nobody notified. A value that
 * changes them (VGIC.notifyAll, this vCPU's refill), and everything else, goes to
 * \slow with x1 = ESR_EL2 and every guest register as it came (the lock released).
 * The tests are uart_fast_tests' with the distributor for the UART; x2 and x3 borrowed.
 */
keel_prio_write_fast\sfx:
    lsr     x0, x0, #52                                         /* FAR[11:0] */
    sub     x0, x0, #KEEL_GICD_PRIO_FIRST
    tst     x0, #~KEEL_GICD_PRIO_WORDS                          /* a word of 0x420-0x45C? */
    b.ne    \slow
    and     x0, x0, #KEEL_GICD_PRIO_WORDS                       /* so even past a mispredicted b.ne */
    stp     x2, x3, [sp, #-16]!
    lsr     x2, x1, #21
    cmp     x2, #KEEL_ESR_MMIO_READ32_TOP                       /* EC 0x24, IL, ISV, a word, SSE 0 */
    b.ne    8f
    dabt_fast_page KEEL_VM_GICD_IPA
    adrp    x1, keel_prio_fast_on
    ldr     w1, [x1, :lo12:keel_prio_fast_on]
    cbz     w1, 8f                                              /* tracing: every exit to Swift */
    add     x3, x3, #KEEL_VM_VGIC_LOCK
    try_lock x3, 2, w1, 7f
    written_xt_into_x1 \bhb
    ubfx    x2, x0, #5, #1                                      /* x0 = INTID - 32: its bank */
    add     x0, x0, x2, lsl #6
    add     x0, x0, x2, lsl #2                                  /* + bank * (stride - 32) */
    add     x0, x0, x3
    ldur    w2, [x0, #KEEL_PRIO_AT_LOCK]                        /* spis[bank].priority[slot...] */
    cmp     w1, w2
    b.ne    6f                                                  /* changed: Swift writes, notifies */
    stlr    wzr, [x3]                                           /* keel_spin_unlock */
    write_fast_done \slow
.endm

    mmio_fast_paths bhb=0, slow=keel_sysreg_slow

/*
 * The mitigating tables. Exceptions Keel takes itself go straight to the plain vectors; each
 * lower-EL vector runs its mitigation, then the plain one (at `entry`: KEEL_VECTOR_PUSHED when
 * the mitigation did the vector's push itself). Each table is 2 KiB aligned as
 * VBAR_EL2 needs, and every slot still ends at its .org.
 */
.macro mitigated_vectors name, base, mitigation, entry, sync64, irq64
    .org \base
    .globl \name
\name:
    .org \base + 0x000
    b       keel_vectors + 0x000
    .org \base + 0x080
    b       keel_vectors + 0x080
    .org \base + 0x100
    b       keel_vectors + 0x100
    .org \base + 0x180
    b       keel_vectors + 0x180
    .org \base + 0x200
    b       keel_vectors + 0x200
    .org \base + 0x280
    b       keel_vectors + 0x280
    .org \base + 0x300
    b       keel_vectors + 0x300
    .org \base + 0x380
    b       keel_vectors + 0x380
    .org \base + 0x400
    .ifb \sync64
    \mitigation
    b       keel_vectors + 0x400 + \entry
    .else
    \sync64
    .endif
    .org \base + 0x480
    .ifb \irq64
    \mitigation
    b       keel_vectors + 0x480 + \entry
    .else
    \irq64
    .endif
    .org \base + 0x500
    \mitigation
    b       keel_vectors + 0x500 + \entry
    .org \base + 0x580
    \mitigation
    b       keel_vectors + 0x580 + \entry
    .org \base + 0x600
    \mitigation
    b       keel_vectors + 0x600 + \entry
    .org \base + 0x680
    \mitigation
    b       keel_vectors + 0x680 + \entry
    .org \base + 0x700
    \mitigation
    b       keel_vectors + 0x700 + \entry
    .org \base + 0x780
    \mitigation
    b       keel_vectors + 0x780 + \entry
    .org \base + 0x800
.endm

/*
 * Spectre-BHB, the branch loop (Arm's mitigation for cores without CLRBHB; Linux's
 * __mitigate_spectre_bhb_loop): keel_bhb_loop_count taken branches push the guest's branch
 * history out, then a barrier keeps anything after from being speculated before the loop ends.
 * It starts with the vector's own first instruction (push_x0_x1), and its table enters each
 * vector just after that (KEEL_VECTOR_PUSHED): x0 is free from here on, with nothing to reload.
 */
.macro bhb_loop
    push_x0_x1
    bhb_branches
.endm

/* The loop after the push: x0 and the flags clobbered, nothing else (x1 goes through). */
.macro bhb_branches
    adrp    x0, keel_bhb_loop_count
    ldr     w0, [x0, :lo12:keel_bhb_loop_count]
1:  b       . + 4
    subs    w0, w0, #1
    b.ne    1b
    dsb     nsh
    isb
.endm

/* Spectre-BHB on cores with FEAT_CLRBHB: the instruction does it. */
.macro clear_bhb
    hint    #22                     /* CLRBHB */
    isb
.endm

/*
 * The firmware's ARCH_WORKAROUND_3 or _1 for this CPU (keel_entry_firmware_call[Aff0]), as KVM's
 * hyp vectors call it. SMCCC 1.1: the call may change x0-x3 only; those go through the stack.
 */
.macro firmware_call
    sub     sp, sp, #32
    stp     x0, x1, [sp]
    stp     x2, x3, [sp, #16]
    mrs     x1, mpidr_el1
    and     x1, x1, #0xFF
    adrp    x0, keel_entry_firmware_call
    add     x0, x0, :lo12:keel_entry_firmware_call
    ldr     w0, [x0, x1, lsl #2]
    smc     #0
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp]
    add     sp, sp, #32
.endm

/*
 * Spectre-BHB, the branch loop deferred (the BHB-loop table's AArch64 synchronous and IRQ slots).
 * What the loop guards is the first indirect branch Keel takes after the guest ran: until then
 * nothing predicted from the guest's branch history can steer Keel anywhere. So the fast paths
 * that hold no indirect branch at all run before the loop, in copies of their own
 * (.text.vectors.deferred: the HVC fast path, the SGI write's, the timer's, the kick's refill
 * and the MMIO paths, each register or offset table a tree of tbnz: select_case), whose every
 * way to the Swift path runs the loop first; every other exit runs it here, before its
 * vector's own code, as the other slots do. Copies, not a test of whether this CPU needs the
 * loop: a conditional branch around it could be mispredicted past it. `make` fails the build
 * when either section holds an indirect branch (check-firmware).
 */
.macro bhb_sync64
    push_x0_x1
    mrs     x1, esr_el2
    tbnz    x1, #KEEL_ESR_HVC64_FILTER_BIT, keel_hvc_fast_bhb
    tbnz    x1, #KEEL_ESR_SYSREG_FILTER_BIT, keel_sysreg_fast_bhb
    tbnz    x1, #KEEL_ESR_DABT_FILTER_BIT, keel_dabt_fast_bhb
    bhb_branches                                /* x1 = ESR_EL2 goes through */
    b       keel_lower_sync_filtered
.endm

/* The timer's PPI first, then Keel's kick, as the plain vector tests them. */
.macro bhb_irq64
    push_x0_x1
    adrp    x0, keel_irq_fast_on
    ldr     w0, [x0, :lo12:keel_irq_fast_on]
    cbz     w0, 5f
    mrs     x1, icc_iar1_el1
    cmp     w1, #KEEL_IRQFAST_INTID
    b.eq    keel_irq_timer_bhb
    cmp     w1, #KEEL_KICK_SGI
    b.eq    keel_irq_kick_bhb
4:  bhb_branches                                /* x1 = the IAR goes through */
    b       keel_lower_irq_slow
5:  mov     x1, #KEEL_IRQ_NOT_ACKNOWLEDGED
    b       4b
.endm


    .section .text.vectors.deferred, "ax"
keel_hvc_fast_bhb:
    hvc_fast slow=keel_lower_sync_slow_bhb
keel_sysreg_fast_bhb:
    sgi_write_fast bhb=1, slow=keel_sysreg_slow_bhb
keel_irq_timer_bhb:
    irq_timer_body bhb=1, slow=keel_lower_irq_slow_bhb
keel_irq_kick_bhb:
    irq_kick_body slow=keel_lower_irq_slow_bhb
    mmio_fast_paths bhb=1, slow=keel_sysreg_slow_bhb, sfx=_bhb
/* Their ways to the Swift path: the loop, then the plain path's (x0 free, x1 kept). */
keel_lower_sync_slow_bhb:
    bhb_branches
    b       keel_lower_sync_slow
keel_sysreg_slow_bhb:
    bhb_branches
    b       keel_sysreg_slow
keel_lower_irq_slow_bhb:
    bhb_branches
    b       keel_lower_irq_slow

    .section .text.vectors.mitigated, "ax"
    .balign 0x800
    mitigated_vectors keel_vectors_bhb_loop, 0x000, bhb_loop, KEEL_VECTOR_PUSHED, bhb_sync64, bhb_irq64
    mitigated_vectors keel_vectors_clear_bhb, 0x800, clear_bhb, 0
    mitigated_vectors keel_vectors_firmware, 0x1000, firmware_call, 0

    .data
    .balign 4
    .globl keel_bhb_loop_count
keel_bhb_loop_count:
    .word   0
    .globl keel_entry_firmware_call
keel_entry_firmware_call:
    .space  4 * KEEL_MAX_CPUS
    .globl keel_hvc_fast_off
keel_hvc_fast_off:
    .word   0
    .globl keel_irq_fast_on
keel_irq_fast_on:
    .word   0
    .globl keel_sgi_fast_on
keel_sgi_fast_on:
    .word   0
    .globl keel_uart_fast_idle
keel_uart_fast_idle:                /* keel/uartfast.h: RXFE set, no input ever */
    .word   1 << KEEL_PL011_RXFE_BIT
    .globl keel_uart_fast_busy
keel_uart_fast_busy:                /* RXFE clear: "input waits", the fast path off */
    .word   0
    .globl keel_prio_fast_on
keel_prio_fast_on:                  /* keel/priofast.h */
    .word   0
    .balign 8
    .globl keel_uart_fast_fr
keel_uart_fast_fr:                  /* the word the vector polls; off until configured */
    .quad   keel_uart_fast_busy

    .bss
    .balign 16
    .globl keel_mmio_const
keel_mmio_const:                    /* keel/mmiofast.h: per VM, (IPA, value) slots */
    .space  KEEL_MAX_VMS << KEEL_MMIO_TABLE_SHIFT
    .size   keel_mmio_const, . - keel_mmio_const
    .balign 8
    .globl keel_mmio_offsets
keel_mmio_offsets:                  /* keel/mmiofast.h: bit n, a tabled register at IPA[7:2] = n */
    .quad   0

    .text
/*
 * Restore the frame at TPIDR_EL2 and ERET into the guest: x0-x19, x30, ELR and SPSR always;
 * x20-x29 and SP_EL0 when restore_all says the frame holds newer values than the registers.
 */
    .globl keel_enter_guest
keel_enter_guest:
    mrs     x0, tpidr_el2
    ldr     x1, [x0, #KEEL_REGS_RESTORE_ALL]
    cbnz    x1, restore_callee_saved
restore_caller_saved:
    ldp     x2, x3, [x0, #KEEL_REGS_ELR]
    msr     elr_el2, x2
    msr     spsr_el2, x3
    ldr     x30, [x0, #KEEL_REGS_X30]
    ldp     x2, x3, [x0, #KEEL_REGS_X(2)]
    ldp     x4, x5, [x0, #KEEL_REGS_X(4)]
    ldp     x6, x7, [x0, #KEEL_REGS_X(6)]
    ldp     x8, x9, [x0, #KEEL_REGS_X(8)]
    ldp     x10, x11, [x0, #KEEL_REGS_X(10)]
    ldp     x12, x13, [x0, #KEEL_REGS_X(12)]
    ldp     x14, x15, [x0, #KEEL_REGS_X(14)]
    ldp     x16, x17, [x0, #KEEL_REGS_X(16)]
    ldp     x18, x19, [x0, #KEEL_REGS_X(18)]
    ldp     x0, x1, [x0, #KEEL_REGS_X(0)]
    eret

restore_callee_saved:
    str     xzr, [x0, #KEEL_REGS_RESTORE_ALL]
    ldr     x2, [x0, #KEEL_REGS_SP_EL0]
    msr     sp_el0, x2
    ldp     x20, x21, [x0, #KEEL_REGS_X(20)]
    ldp     x22, x23, [x0, #KEEL_REGS_X(22)]
    ldp     x24, x25, [x0, #KEEL_REGS_X(24)]
    ldp     x26, x27, [x0, #KEEL_REGS_X(26)]
    ldp     x28, x29, [x0, #KEEL_REGS_X(28)]
    b       restore_caller_saved
