/* attack_report: what one attack of a hostile guest did to it (see attack.h). */
#include "guest.h"

    .text
/* x0: name, x1: exception count before the attack. Prints "name: exc=N ec=EC\n". */
    .globl attack_report
attack_report:
    stp     x19, x30, [sp, #-16]!
    adrp    x9, exc_count
    ldr     x19, [x9, :lo12:exc_count]
    sub     x19, x19, x1
    bl      puts
    ADR_STR ": exc="
    bl      puts
    mov     x0, x19
    bl      puthex
    ADR_STR " ec="
    bl      puts
    adrp    x9, exc_esr
    ldr     x0, [x9, :lo12:exc_esr]
    lsr     x0, x0, #26
    bl      puthex
    bl      newline
    ldp     x19, x30, [sp], #16
    ret
