/*
 * Guest runtime: entry, exception vectors, console output through the emulated PL011, PSCI
 * SYSTEM_OFF. The guest is entered at its first byte at EL1h with the MMU off.
 */
#include "guest.h"

    .section .text.start, "ax"
    .globl _start
_start:
    ldr     x1, =_guest_end
    add     x1, x1, #0x10000            /* 64 KiB of stack above the image */
    and     x1, x1, #~0xF
    mov     sp, x1
    adrp    x1, guest_vectors
    add     x1, x1, :lo12:guest_vectors
    msr     vbar_el1, x1
    isb
    bl      main
    bl      system_off

/*
 * Where PSCI CPU_ON starts a secondary vCPU (x0 = context id): a stack of its own above the
 * boot stack, the same vectors, secondary_main(context) from the test program, then CPU_OFF.
 */
    .weak secondary_main
    .globl secondary_start
secondary_start:
    mov     x19, x0
    mrs     x1, mpidr_el1
    and     x1, x1, #0xFF
    add     x1, x1, #1
    ldr     x2, =_guest_end
    add     x2, x2, #0x10000
    add     x2, x2, x1, lsl #14         /* 16 KiB per vCPU above the boot stack */
    and     x2, x2, #~0xF
    mov     sp, x2
    adrp    x1, guest_vectors
    add     x1, x1, :lo12:guest_vectors
    msr     vbar_el1, x1
    isb
    mov     x0, x19
    bl      secondary_main
    MOV64   x0, 0x84000002              /* PSCI CPU_OFF */
    hvc     #0
    PRINT   "guest: CPU_OFF returned\n"
1:  wfe
    b       1b

    .text
/* PSCI SYSTEM_OFF over HVC. Never returns: if it does, say so and spin. */
    .globl system_off
system_off:
    MOV64   x0, PSCI_SYSTEM_OFF
    hvc     #0
    PRINT   "guest: SYSTEM_OFF returned\n"
1:  wfe
    b       1b

/*
 * Synchronous exception at EL1 (SP_EL1): record ESR/FAR/ELR and count it, then resume at
 * exc_resume if a test set it, else at the next instruction.
 */
guest_sync:
    stp     x0, x1, [sp, #-32]!
    stp     x2, x3, [sp, #16]
    adrp    x2, exc_count
    add     x2, x2, :lo12:exc_count
    ldr     x3, [x2]
    add     x3, x3, #1
    str     x3, [x2]
    mrs     x0, esr_el1
    str     x0, [x2, #8]                /* exc_esr */
    mrs     x0, far_el1
    str     x0, [x2, #16]               /* exc_far */
    mrs     x0, elr_el1
    str     x0, [x2, #24]               /* exc_elr */
    mrs     x0, spsr_el1
    str     x0, [x2, #32]               /* exc_spsr */
    ldr     x1, [x2, #40]               /* exc_resume */
    cbz     x1, 1f
    str     xzr, [x2, #40]
    msr     elr_el1, x1
    b       2f
1:  mrs     x0, elr_el1
    add     x0, x0, #4
    msr     elr_el1, x0
2:  ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp], #32
    eret

/*
 * IRQ at EL1 (SP_EL1): call the test program's irq_handler (weak: a program without one gets
 * the unexpected-exception report) with the caller-saved registers preserved.
 */
    .weak irq_handler
guest_irq:
    stp     x0, x1, [sp, #-176]!
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x30, [sp, #144]
    ldr     x1, =irq_handler
    cbz     x1, 1f
    blr     x1
    ldp     x18, x30, [sp, #144]
    ldp     x16, x17, [sp, #128]
    ldp     x14, x15, [sp, #112]
    ldp     x12, x13, [sp, #96]
    ldp     x10, x11, [sp, #80]
    ldp     x8, x9, [sp, #64]
    ldp     x6, x7, [sp, #48]
    ldp     x4, x5, [sp, #32]
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp], #176
    eret
1:  mov     x0, #0x280
    b       guest_unexpected

/* Any other vector: a test failure. Print which one and power off. */
guest_unexpected:
    mov     x19, x0
    PRINT_KV "guest: unexpected exception, vector ", x19
    mrs     x19, esr_el1
    PRINT_KV "guest: esr_el1=", x19
    mrs     x19, elr_el1
    PRINT_KV "guest: elr_el1=", x19
    bl      system_off

.macro VECTOR target, id
    .balign 0x80
    mov     x0, #\id
    b       \target
.endm

    .balign 0x800
guest_vectors:
    VECTOR guest_unexpected, 0x000
    VECTOR guest_unexpected, 0x080
    VECTOR guest_unexpected, 0x100
    VECTOR guest_unexpected, 0x180
    .balign 0x80
    b       guest_sync                  /* 0x200: synchronous, current EL, SP_EL1 */
    .balign 0x80
    b       guest_irq                   /* 0x280: IRQ, current EL, SP_EL1 */
    VECTOR guest_unexpected, 0x300
    VECTOR guest_unexpected, 0x380
    VECTOR guest_unexpected, 0x400
    VECTOR guest_unexpected, 0x480
    VECTOR guest_unexpected, 0x500
    VECTOR guest_unexpected, 0x580
    VECTOR guest_unexpected, 0x600
    VECTOR guest_unexpected, 0x680
    VECTOR guest_unexpected, 0x700
    VECTOR guest_unexpected, 0x780

    .data
    .balign 8
    .globl exc_count, exc_esr, exc_far, exc_elr, exc_spsr, exc_resume
exc_count:  .quad 0
exc_esr:    .quad 0
exc_far:    .quad 0
exc_elr:    .quad 0
exc_spsr:   .quad 0
exc_resume: .quad 0
