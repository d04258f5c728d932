/* Every vCPU of one VM hammers the VM's emulated PL011 at once (issue 12, item 1): vCPU 0
 * starts every other vCPU the VM has (PSCI CPU_ON until one is refused), then all of them
 * loop, with no newline ever, over stores to DR (one letter per vCPU: 'a' for vCPU 0, 'b' for
 * vCPU 1...) and xorshift values to the other registers (IMSC, ICR, LCR_H, CR, IBRD, IFLS,
 * DMACR, reserved offsets), with reads of FR, DR, RIS, MIS and IMSC between them. In a VM of a
 * multi-VM image the DR bytes land in the VM's one line buffer behind `[vmN] `, which every
 * vCPU fills at the same time. vCPU 0 then waits for the others, ends the line and says done.
 * Run it beside another VM (a prefixed console): Keel must not panic, and each line must
 * carry one prefix. */
#include "guest.h"
#include "xorshift.h"

#define PSCI_CPU_ON_64_RACE 0xC4000003
#define ROUNDS              20000       /* per vCPU; 8 trapped accesses each */
#define MAX_VCPUS           8

/* x0 = vCPU index: ROUNDS rounds of trapped UART accesses. Clobbers x0-x7. */
.macro HAMMER
    ldr     x1, =UART_BASE
    add     w2, w0, #'a'                /* this vCPU's letter: never CR or LF */
    MOV64   x3, 0x9E3779B97F4A7C15
    eor     x3, x3, x0, lsl #32         /* a seed of its own */
    MOV64   x4, ROUNDS
1:  XORSHIFT x3, x5
    str     w2, [x1]                    /* DR */
    and     x5, x3, #0x3C               /* a register from 0x04 to 0x3C (RSR, FR, ... IMSC, RIS); */
    mov     x7, #0x44                   /* DR (0) becomes ICR: the line gets letters only */
    cmp     x5, #0
    csel    x5, x7, x5, eq
    str     w3, [x1, x5]
    str     w2, [x1]
    ldr     w6, [x1, #0x18]             /* FR */
    str     w2, [x1]
    ubfx    x5, x3, #8, #4
    lsl     x5, x5, #2
    add     x5, x5, #0x24               /* IBRD .. DMACR and beyond */
    ldr     w6, [x1, x5]
    str     w2, [x1]
    ldr     w6, [x1]                    /* DR: pops nothing, no input arrives */
    subs    x4, x4, #1
    b.ne    1b
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "uart_race: start\n"
    mov     x19, #1                     /* vCPUs: this one, then each CPU_ON accepted */
1:  MOV64   x0, PSCI_CPU_ON_64_RACE
    mov     x1, x19                     /* MPIDR Aff0 = vCPU index */
    adrp    x2, secondary_start
    add     x2, x2, :lo12:secondary_start
    mov     x3, x19                     /* its context: its index */
    hvc     #0
    cbnz    x0, 2f                      /* refused: no such vCPU */
    add     x19, x19, #1
    cmp     x19, #MAX_VCPUS
    b.lo    1b
2:  mov     x0, #0
    HAMMER
    /* Wait for each other vCPU's done flag. */
    adrp    x20, done
    add     x20, x20, :lo12:done
    mov     x21, #1
3:  cmp     x21, x19
    b.hs    5f
4:  ldr     x0, [x20, x21, lsl #3]
    cbz     x0, 4b
    add     x21, x21, #1
    b       3b
5:  bl      newline                     /* the shared line, whatever is left of it */
    PRINT_KV "uart_race: vcpus=", x19
    PRINT   "uart_race: done\n"
    ldp     x29, x30, [sp], #16
    ret

/* x0 = this vCPU's index (CPU_ON's context). */
    .globl secondary_main
secondary_main:
    mov     x19, x0
    HAMMER
    adrp    x20, done
    add     x20, x20, :lo12:done
    mov     x0, #1
    add     x1, x20, x19, lsl #3
    stlr    x0, [x1]
    ret

    .data
    .balign 8
done:   .space 8 * MAX_VCPUS
