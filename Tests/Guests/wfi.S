/* WFI and WFE trap to Keel and come back to the next instruction. */
#include "guest.h"

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "wfi: start\n"
    wfi
    PRINT   "wfi: back from wfi\n"
    wfe
    PRINT   "wfi: back from wfe\n"
    wfi
    adrp    x1, exc_count
    ldr     x19, [x1, :lo12:exc_count]
    PRINT_KV "wfi: exceptions=", x19
    PRINT   "wfi: done\n"
    ldp     x29, x30, [sp], #16
    ret
