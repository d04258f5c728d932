/* A contained fault (issue 13): on the test firmware (build/hyp-test/keel.bin), vCPU 0 makes
 * Keel fail one of its own bounds checks while handling its hypercall (the test hook
 * KEEL_TEST_FAIL_CHECK, x1 = 5 into a 4-entry table), with the VM's UART and vGIC locks and
 * the console lock held. vCPU 1 spins meanwhile, with no exit of its own: stopping the VM
 * kicks it out, and on its way out it takes the vGIC lock the fault left held, so it goes off
 * only if Keel released that lock. Keel must stop this VM only; the hook never returns. On the
 * shipped firmware the call is unknown: NOT_SUPPORTED. */
#include "guest.h"

#define KEEL_TEST_FAIL_CHECK 0x86000F00

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "trap: start\n"
    ldr     x2, =secondary_start
    mov     x1, #1
    mov     x3, #1
    MOV64   x0, PSCI_CPU_ON_64
    hvc     #0
    mov     x19, x0
    PRINT_KV "trap: cpu_on=", x19
    adrp    x9, spinning
1:  ldr     x10, [x9, :lo12:spinning]
    cbnz    x10, 2f
    yield
    b       1b
2:  PRINT   "trap: vCPU 1 spins; calling the failing hook\n"
    MOV64   x0, KEEL_TEST_FAIL_CHECK
    mov     x1, #5
    hvc     #0
    mov     x19, x0
    PRINT_KV "trap: the hook returned ", x19
    ldp     x29, x30, [sp], #16
    ret

/* vCPU 1: say so, then spin without a single exit. */
    .globl secondary_main
secondary_main:
    adrp    x9, spinning
    mov     x10, #1
    str     x10, [x9, :lo12:spinning]
    dsb     sy
1:  add     x11, x11, #1
    b       1b

    .data
    .balign 8
spinning:   .quad 0
