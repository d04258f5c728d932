/* On the test firmware (build/hyp-test/keel.bin): Keel fails one of its own bounds checks with
 * TPIDR_EL2 cleared first (test hook KEEL_TEST_FAIL_OUTSIDE_EXIT, x1 = 7 into a 4-entry table),
 * which Keel cannot tell from a fault outside any VM's exit (boot, the idle loop): the machine
 * stops, with the same report as a contained fault (issue 13). */
#include "guest.h"

#define KEEL_TEST_FAIL_OUTSIDE_EXIT 0x86000F01

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "outside: calling the failing hook\n"
    MOV64   x0, KEEL_TEST_FAIL_OUTSIDE_EXIT
    mov     x1, #7
    hvc     #0
    mov     x19, x0
    PRINT_KV "outside: the hook returned ", x19
    ldp     x29, x30, [sp], #16
    ret
