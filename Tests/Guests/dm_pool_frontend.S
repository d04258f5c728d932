/* The frontend of the restricted-DMA-pool test (lib/dm_pool.h): it says hello in its pool and
 * marks the page below it, then waits for the device model's answer in the pool and its "done",
 * and checks that the word outside the pool was left alone. */
#include "guest.h"
#include "dm_pool.h"

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "pfe: start\n"
    MOV64   x19, POOL_FE_BELOW
    MOV64   x9, POOL_OUTSIDE
    str     w9, [x19]
    MOV64   x20, POOL_FE_IPA
    MOV64   x9, POOL_MAGIC
    str     w9, [x20, #POOL_HELLO]
    add     x0, x20, #POOL_REPLY
    MOV64   x1, POOL_ANSWER
    bl      pool_wait
    mov     x21, x0
    PRINT_KV "pfe: answered=", x21
    add     x0, x20, #POOL_DONE
    mov     x1, #1
    bl      pool_wait
    mov     x21, x0
    PRINT_KV "pfe: device model done=", x21
    ldr     w21, [x19]
    PRINT_KV "pfe: below the pool=", x21
    PRINT   "pfe: done\n"
    ldp     x29, x30, [sp], #16
    ret
