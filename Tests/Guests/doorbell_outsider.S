/* vm2 of the doorbell permission test: shares nothing with the ringer; tries to ring it, then
 * waits for the victim to finish. See lib/doorbell_acl.h. */
#include "doorbell_acl.h"

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "outsider: start\n"
    RING    0
    mov     x19, x0
    PRINT_KV "outsider: ring_ringer=", x19
    WAIT_FLAG SIDE_IPA
    PRINT   "outsider: done\n"
    ldp     x29, x30, [sp], #16
    ret
