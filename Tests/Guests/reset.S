/* PSCI SYSTEM_RESET (keel run --smp 2): the VM restarts from its boot images, vCPU 0 at the
 * entry point, every other vCPU off. A word in RAM outside the image (kept, as after a warm
 * reset) tells the second boot from the first; a .data word changed before the reset must be
 * back to its value in the image. */
#include "guest.h"

#define PSCI_SYSTEM_RESET   0x84000009
#define PSCI_AFFINITY_INFO  0xC4000004
#define MARKER_ADDR         0x40200000
#define MARKER              0x4B45454C52455354

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    MOV64   x20, MARKER_ADDR
    ldr     x10, [x20]
    MOV64   x11, MARKER
    cmp     x10, x11
    b.eq    second_boot

    str     x11, [x20]
    adrp    x9, counter
    ldr     x19, [x9, :lo12:counter]
    PRINT_KV "reset: first boot, counter=", x19
    adrp    x9, counter
    mov     x10, #99
    str     x10, [x9, :lo12:counter]

    /* vCPU 1 spins in its guest: the reset must take it out. */
    ldr     x2, =secondary_start
    MOV64   x1, 1
    MOV64   x3, 0
    MOV64   x0, PSCI_CPU_ON_64
    hvc     #0
    adrp    x9, spinning
1:  ldr     x10, [x9, :lo12:spinning]
    cbz     x10, 1b
    PRINT   "reset: cpu1 spinning, resetting\n"
    MOV64   x0, PSCI_SYSTEM_RESET
    hvc     #0
    PRINT   "reset: SYSTEM_RESET returned\n"
    ldp     x29, x30, [sp], #16
    ret

second_boot:
    str     xzr, [x20]
    adrp    x9, counter
    ldr     x19, [x9, :lo12:counter]
    PRINT_KV "reset: second boot, counter=", x19
    MOV64   x1, 1
    MOV64   x2, 0
    MOV64   x0, PSCI_AFFINITY_INFO
    hvc     #0
    mov     x19, x0
    PRINT_KV "reset: affinity_info(1)=", x19
    PRINT   "reset: done\n"
    ldp     x29, x30, [sp], #16
    ret

    .globl secondary_main
secondary_main:
    adrp    x9, spinning
    mov     x10, #1
    str     x10, [x9, :lo12:spinning]
    dsb     sy
1:  b       1b

    .data
    .balign 8
counter:    .quad 7
spinning:   .quad 0
