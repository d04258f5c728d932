/* vm0 of the doorbell permission test: rings a peer, itself, a VM it shares nothing with and
 * VMs that do not exist; prints what Keel answered. See lib/doorbell_acl.h. */
#include "doorbell_acl.h"

/* x20 = how many of RINGS rings of VM \vm returned \expect. */
.macro RING_MANY vm, expect
    mov     x20, #0
    MOV64   x21, RINGS
1:  RING    \vm
    MOV64   x1, \expect
    cmp     x0, x1
    cinc    x20, x20, eq
    subs    x21, x21, #1
    b.ne    1b
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "ringer: start\n"
    WAIT_FLAG PAIR_IPA
    RING_MANY 1, 0
    PRINT_KV "ringer: peer_rings_answered_0=", x20
    RING_MANY 2, 0xFFFFFFFFFFFFFFFF
    PRINT_KV "ringer: outsider_rings_refused=", x20
    RING    0
    mov     x19, x0
    PRINT_KV "ringer: self=", x19
    RING    2
    mov     x19, x0
    PRINT_KV "ringer: outsider=", x19
    RING    3
    mov     x19, x0
    PRINT_KV "ringer: no_such_vm=", x19
    RING    0xFFFFFFFF00000001
    mov     x19, x0
    PRINT_KV "ringer: huge=", x19
    SET_FLAG PAIR_IPA + 8
    PRINT   "ringer: done\n"
    ldp     x29, x30, [sp], #16
    ret
