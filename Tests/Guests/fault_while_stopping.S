/* On the test firmware (build/hyp-test/keel.bin): Keel fails one of its own bounds checks while
 * its CPU holds this VM's stop claim, as a fault inside SYSTEM_RESET or the power-off path would
 * (test hook KEEL_TEST_FAIL_WHILE_STOPPING, x1 = 9 into a 4-entry table). No other vCPU will
 * finish the stop: containment must, or the VM (and the machine) never goes off (issue 13). */
#include "guest.h"

#define KEEL_TEST_FAIL_WHILE_STOPPING 0x86000F02

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "stopping: calling the failing hook\n"
    MOV64   x0, KEEL_TEST_FAIL_WHILE_STOPPING
    mov     x1, #9
    hvc     #0
    mov     x19, x0
    PRINT_KV "stopping: the hook returned ", x19
    ldp     x29, x30, [sp], #16
    ret
