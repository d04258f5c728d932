/* The VM beside the one a virtio-mmio disk is passed through to: it reads the disk's transport
 * (QEMU virt's last virtio-mmio slot, 0x0A003E00), which is not this VM's. Keel must answer with
 * a synchronous external abort at EL1, and the guest carries on; it prints what it saw. */
#include "guest.h"

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "probe: start\n"

    mov     w3, #0x5a5a                 /* what the load would leave if it did not fault */
    MOV64   x2, 0x0A003E00              /* virtio-mmio MagicValue ("virt") of the disk */
    ldr     w3, [x2]
    adrp    x1, exc_count
    add     x1, x1, :lo12:exc_count
    ldr     x19, [x1]
    ldr     x20, [x1, #8]
    ldr     x21, [x1, #16]
    mov     x22, x3
    PRINT_KV "probe: faults=", x19
    PRINT_KV "probe: esr=", x20
    PRINT_KV "probe: far=", x21
    PRINT_KV "probe: w3=", x22

    PRINT   "probe: still running\n"
    ldp     x29, x30, [sp], #16
    ret
