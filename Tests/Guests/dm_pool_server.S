/* The device model of the restricted-DMA-pool test (lib/dm_pool.h), MMU off: it reads its
 * device's pool from the request page, answers the frontend's hello through the pool, then
 * touches the frontend's RAM outside the pool through its window (the first word, the page
 * below the pool) and just past it: Keel mapped only the pool, so each is a synchronous
 * external abort here. */
#include "guest.h"
#include "dm.h"
#include "dm_pool.h"

/* Load the word at \addr; print the exceptions it took and the last one's ESR and FAR. */
.macro TOUCH what, addr
    adrp    x9, exc_count
    ldr     x22, [x9, :lo12:exc_count]
    MOV64   x9, \addr
    mov     w23, #0
    ldr     w23, [x9]
    adrp    x9, exc_count
    add     x9, x9, :lo12:exc_count
    ldr     x24, [x9]
    sub     x24, x24, x22
    ldr     x25, [x9, #8]
    ldr     x26, [x9, #16]
    PRINT_KV "dm: \what aborts=", x24
    PRINT_KV "dm: \what esr=", x25
    PRINT_KV "dm: \what far=", x26
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    MOV64   x20, DM_PAGE
    ldr     w19, [x20, #RP_DEVICES]
    PRINT_KV "dm: devices=", x19
    add     x21, x20, #RP_DEVICE0
    ldr     x19, [x21, #32]
    PRINT_KV "dm: device window=", x19
    ldr     w19, [x21, #44]
    PRINT_KV "dm: device flags=", x19
    ldr     x19, [x21, #48]
    PRINT_KV "dm: device pool=", x19
    ldr     x19, [x21, #56]
    PRINT_KV "dm: device pool size=", x19

    /* Inside the pool: the frontend's hello, and the answer. */
    MOV64   x20, POOL_DM_IPA
    add     x0, x20, #POOL_HELLO
    MOV64   x1, POOL_MAGIC
    bl      pool_wait
    mov     x19, x0
    PRINT_KV "dm: hello seen=", x19
    ldr     w19, [x20, #POOL_HELLO]
    PRINT_KV "dm: pool word=", x19
    MOV64   x9, POOL_ANSWER
    str     w9, [x20, #POOL_REPLY]
    adrp    x9, exc_count
    ldr     x19, [x9, :lo12:exc_count]
    PRINT_KV "dm: aborts inside the pool=", x19

    /* Outside it: nothing is mapped there. */
    TOUCH   "ram start", POOL_DM_WINDOW
    TOUCH   "below the pool", POOL_DM_BELOW
    TOUCH   "past the pool", POOL_DM_END
    /* The pool's last word still works. */
    TOUCH   "pool end", (POOL_DM_END - 4)

    mov     w9, #1
    str     w9, [x20, #POOL_DONE]
    PRINT   "dm: done\n"
    ldp     x29, x30, [sp], #16
    ret
