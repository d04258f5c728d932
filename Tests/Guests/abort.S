/* Accesses outside the VM: a load below its RAM, a store just past its RAM, a load from a
 * device it was not given (the GIC distributor), and a jump to an address with nothing behind
 * it. Each must come back as a synchronous external abort at EL1, and the guest carries on. */
#include "guest.h"

.macro REPORT what
    adrp    x1, exc_count
    add     x1, x1, :lo12:exc_count
    ldr     x19, [x1]
    ldr     x20, [x1, #8]
    ldr     x21, [x1, #16]
    ldr     x22, [x1, #24]
    PRINT_KV "abort: \what count=", x19
    PRINT_KV "abort: \what esr=", x20
    PRINT_KV "abort: \what far=", x21
    PRINT_KV "abort: \what elr=", x22
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "abort: start\n"

    MOV64   x2, 0x20000000              /* below RAM, no device */
    ldr     x3, [x2]
    REPORT  "below_ram"

    MOV64   x2, 0x50000000              /* first byte past the 256 MiB of RAM */
    str     x2, [x2]
    REPORT  "past_ram"

    MOV64   x2, 0x0A000000              /* virtio-mmio: a real device, not this VM's */
    ldr     w3, [x2]
    REPORT  "virtio"

    MOV64   x2, 0x080C0000              /* GICv3: the redistributor of a vCPU it does not have */
    ldr     w3, [x2]
    REPORT  "redist"

    MOV64   x2, 0x30000000              /* fetch from nothing */
    RESUME_AT 1f
    blr     x2
1:  REPORT  "fetch"

    PRINT   "abort: still running\n"
    ldp     x29, x30, [sp], #16
    ret
