/* SYSTEM_RESET racing CPU_ON (keel run --smp 3). vCPU 0 resets the VM while vCPU 1 calls
 * CPU_ON(2) in a loop; vCPU 2, once the reset is under way, spins without a single exit. A
 * reset must stop every vCPU, including one that CPU_ON started after the reset looked at it:
 * such a vCPU would otherwise run on into the restarted VM, unseen. After each reset vCPU 0
 * checks with AFFINITY_INFO that vCPUs 1 and 2 are off; RESETS rounds, then
 * "race: resets=... ghosts=0x..." (ghosts: vCPUs found running after a reset).
 *
 * Words in RAM outside the image survive the resets (as after a warm reset). */
#include "guest.h"

#define PSCI_SYSTEM_RESET   0x84000009
#define PSCI_AFFINITY_INFO  0xC4000004
#define KEEP_ADDR           0x40300000  /* MAGIC, round, ghosts, vCPU 2's spin counter */
#define MAGIC               0x5241434552414345
#define RESETS              40

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    MOV64   x20, KEEP_ADDR
    ldr     x10, [x20]
    MOV64   x11, MAGIC
    cmp     x10, x11
    b.eq    1f
    str     x11, [x20]
    str     xzr, [x20, #8]
    str     xzr, [x20, #16]
    PRINT   "race: start\n"
    b       2f
1:  /* After a reset: vCPUs 1 and 2 must be off. */
    mov     x21, #1
3:  mov     x1, x21
    mov     x2, #0
    MOV64   x0, PSCI_AFFINITY_INFO
    hvc     #0
    cmp     x0, #1
    b.eq    4f
    ldr     x10, [x20, #16]
    add     x10, x10, #1
    str     x10, [x20, #16]
    mov     x19, x21
    PRINT_KV "race: a vCPU runs on after the reset: ", x19
4:  add     x21, x21, #1
    cmp     x21, #3
    b.lo    3b
2:  ldr     x19, [x20, #8]
    cmp     x19, #RESETS
    b.hs    done
    add     x19, x19, #1
    str     x19, [x20, #8]

    /* vCPU 1 hammers CPU_ON(2); let vCPU 2 come and go a little, then reset. */
    ldr     x2, =secondary_start
    mov     x1, #1
    mov     x3, #1
    MOV64   x0, PSCI_CPU_ON_64
    hvc     #0
    adrp    x9, hammering
5:  ldr     x10, [x9, :lo12:hammering]
    cbnz    x10, 6f
    yield
    b       5b
6:  and     x0, x19, #3                 /* 0-3 ms, varying the moment */
    bl      delay_ms
    adrp    x9, resetting
    mov     x10, #1
    str     x10, [x9, :lo12:resetting]
    dsb     sy
    MOV64   x0, PSCI_SYSTEM_RESET
    hvc     #0
    PRINT   "race: SYSTEM_RESET returned\n"
    b       .

done:
    ldr     x19, [x20, #8]
    ldr     x21, [x20, #16]
    str     xzr, [x20]
    PRINT_KV "race: resets=", x19
    PRINT_KV "race: ghosts=", x21
    PRINT   "race: done\n"
    ldp     x29, x30, [sp], #16
    ret

/* x0 = 1: vCPU 1, CPU_ON(2) forever. x0 = 2: vCPU 2, off again at once, or, once the reset
 * is under way, a spin with no exit at all. */
    .globl secondary_main
secondary_main:
    cmp     x0, #1
    b.ne    ghost
    adrp    x9, hammering
    mov     x10, #1
    str     x10, [x9, :lo12:hammering]
    dsb     sy
1:  ldr     x2, =secondary_start
    mov     x1, #2
    mov     x3, #2
    MOV64   x0, PSCI_CPU_ON_64
    hvc     #0
    b       1b

ghost:
    adrp    x9, resetting
    ldr     x10, [x9, :lo12:resetting]
    cbz     x10, 2f
    MOV64   x9, KEEP_ADDR
1:  ldr     x10, [x9, #24]
    add     x10, x10, #1
    str     x10, [x9, #24]
    b       1b
2:  ret                                 /* secondary_start calls CPU_OFF */

    .data
    .balign 8
hammering:  .quad 0
resetting:  .quad 0
