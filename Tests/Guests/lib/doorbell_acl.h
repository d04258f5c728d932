/*
 * Who may ring whom (issue 12, item 10), shared by doorbell_ringer.S, doorbell_victim.S and
 * doorbell_outsider.S, three VMs of one packed image:
 *   vm0 ringer   shares "pair" (PAIR_IPA) with vm1
 *   vm1 victim   shares "pair" with vm0 and "side" (SIDE_IPA) with vm2; never enables its
 *                doorbell SPI while it is rung
 *   vm2 outsider shares "side" with vm1 only: nothing with the ringer
 * The ringer rings the victim (a peer: 0) and the outsider, itself and VMs that do not exist
 * (not peers: -1, NOT_SUPPORTED; itself: 0), many times each. Neither the victim nor the
 * outsider may take an IRQ exit for it: the victim's SPI is disabled (the pending state only
 * latches: enabled afterwards, the doorbell arrives once), and the outsider is not rung at all.
 * The pages hold flags: PAIR_IPA + 0 victim ready, + 8 ringer done; SIDE_IPA + 0 victim done.
 */
#ifndef KEEL_DOORBELL_ACL_H
#define KEEL_DOORBELL_ACL_H
#include "guest.h"

#define KEEL_DOORBELL_FN    0x86000010
#define DOORBELL_SPI_INTID  47
#define PAIR_IPA            0x70000000
#define SIDE_IPA            0x70100000
#define RINGS               1000

/* x0 = Keel's answer to ringing VM \vm (a register or an immediate via MOV64). */
.macro RING vm
    MOV64   x1, \vm
    MOV64   x0, KEEL_DOORBELL_FN
    hvc     #0
.endm

/* Spin until the word at \ipa is non-zero. Clobbers x9, x10. */
.macro WAIT_FLAG ipa
    MOV64   x9, \ipa
8:  ldr     x10, [x9]
    cbnz    x10, 9f
    yield
    b       8b
9:
.endm

/* The word at \ipa = 1. Clobbers x9, x10. */
.macro SET_FLAG ipa
    MOV64   x9, \ipa
    mov     x10, #1
    str     x10, [x9]
    dsb     sy
.endm
#endif
