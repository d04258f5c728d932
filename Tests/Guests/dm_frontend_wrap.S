/* A bare-metal frontend (lib/dm.h) that gives blk queue 0 ring addresses at the very top of the
 * 64-bit space, then lets its device model time out. Keel then fails the queue's requests
 * (DeviceModelFailure): every sum on those guest addresses must wrap and be refused, never stop
 * Keel with a Swift overflow check. The frontend only sees its own read fail and Status say
 * DEVICE_NEEDS_RESET. */
#include "guest.h"
#include "dm.h"

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "fe: start\n"
    MOV64   x20, DM_TRANSPORT
    str     wzr, [x20, #0x30]           /* QueueSel 0 */
    mov     w1, #8
    str     w1, [x20, #0x38]            /* QueueNum 8 */
    mov     w2, #0xFFFFFFFF
    mov     w1, #0xFFFFFFF8
    str     w1, [x20, #0x80]            /* QueueDesc: 2^64 - 8 */
    str     w2, [x20, #0x84]
    mov     w1, #0xFFFFFFFE
    str     w1, [x20, #0x90]            /* QueueDriver: 2^64 - 2 */
    str     w2, [x20, #0x94]
    mov     w1, #0xFFFFFFFC
    str     w1, [x20, #0xA0]            /* QueueDevice: 2^64 - 4 */
    str     w2, [x20, #0xA4]
    mov     w1, #1
    str     w1, [x20, #0x44]            /* QueueReady */
    ldr     w19, [x20, #0x04]
    PRINT_KV "fe: answered=", x19
    str     wzr, [x20, #DM_CMD_MUTE]    /* the server answers nothing from now on */
    ldr     w19, [x20, #0x04]
    PRINT_KV "fe: timed out read=", x19
    ldr     w19, [x20, #DM_STATUS]
    PRINT_KV "fe: status=", x19
    PRINT   "fe: done\n"
    ldp     x29, x30, [sp], #16
    ret
