/*
 * The EL2 exception vector table and the guest entry/exit path.
 *
 * Every vector is "save, call handler, restore". Each of the 16 slots starts at its own .org,
 * so a slot that outgrows its 0x80 bytes fails to assemble. Offsets into the guest frame come
 * from keel/context.h, where static asserts tie them to the struct Swift sees.
 *
 * TPIDR_EL2 holds the address of the running vCPU's frame (struct keel_regs, the first field of
 * Swift's VCPU). Keel keeps nothing of the guest's EL1 system registers on an exit: with one vCPU
 * pinned to each physical CPU they stay live in the hardware.
 */
#include "keel/context.h"

/* Guest x0-x30, SP_EL0, ELR_EL2, SPSR_EL2 into the frame at TPIDR_EL2. Leaves x0 = frame. */
.macro save_guest_frame
    stp     x0, x1, [sp, #-16]!
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
    stp     x20, x21, [x0, #KEEL_REGS_X(20)]
    stp     x22, x23, [x0, #KEEL_REGS_X(22)]
    stp     x24, x25, [x0, #KEEL_REGS_X(24)]
    stp     x26, x27, [x0, #KEEL_REGS_X(26)]
    stp     x28, x29, [x0, #KEEL_REGS_X(28)]
    ldp     x2, x3, [sp], #16
    stp     x2, x3, [x0, #KEEL_REGS_X(0)]
    mrs     x2, sp_el0
    stp     x30, x2, [x0, #KEEL_REGS_X30]
    mrs     x2, elr_el2
    mrs     x3, spsr_el2
    stp     x2, x3, [x0, #KEEL_REGS_ELR]
.endm

/* An exception from the guest: save its frame, handle it in Swift, resume the guest. */
.macro lower_el_vector handler
    save_guest_frame
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
    lower_el_vector keel_handle_lower_sync
    .org 0x480
    lower_el_vector keel_handle_lower_irq
    .org 0x500
    lower_el_vector keel_handle_lower_fiq
    .org 0x580
    lower_el_vector keel_handle_lower_serror
    /* Lower EL, AArch32: a guest's 32-bit EL0. Same handlers; the ECs say AArch32. */
    .org 0x600
    lower_el_vector keel_handle_lower_sync
    .org 0x680
    lower_el_vector keel_handle_lower_irq
    .org 0x700
    lower_el_vector keel_handle_lower_fiq
    .org 0x780
    lower_el_vector keel_handle_lower_serror
    .org 0x800

    .text
/* Restore the frame at TPIDR_EL2 and ERET into the guest. */
    .globl keel_enter_guest
keel_enter_guest:
    mrs     x0, tpidr_el2
    ldp     x2, x3, [x0, #KEEL_REGS_ELR]
    msr     elr_el2, x2
    msr     spsr_el2, x3
    ldp     x30, x2, [x0, #KEEL_REGS_X30]
    msr     sp_el0, x2
    ldp     x2, x3, [x0, #KEEL_REGS_X(2)]
    ldp     x4, x5, [x0, #KEEL_REGS_X(4)]
    ldp     x6, x7, [x0, #KEEL_REGS_X(6)]
    ldp     x8, x9, [x0, #KEEL_REGS_X(8)]
    ldp     x10, x11, [x0, #KEEL_REGS_X(10)]
    ldp     x12, x13, [x0, #KEEL_REGS_X(12)]
    ldp     x14, x15, [x0, #KEEL_REGS_X(14)]
    ldp     x16, x17, [x0, #KEEL_REGS_X(16)]
    ldp     x18, x19, [x0, #KEEL_REGS_X(18)]
    ldp     x20, x21, [x0, #KEEL_REGS_X(20)]
    ldp     x22, x23, [x0, #KEEL_REGS_X(22)]
    ldp     x24, x25, [x0, #KEEL_REGS_X(24)]
    ldp     x26, x27, [x0, #KEEL_REGS_X(26)]
    ldp     x28, x29, [x0, #KEEL_REGS_X(28)]
    ldp     x0, x1, [x0, #KEEL_REGS_X(0)]
    eret
