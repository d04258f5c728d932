/*
 * The restricted-DMA-pool test (DeviceModelPoolTests): a frontend (dm_pool_frontend.S) whose one
 * virtio device has `dma = "pool"`, `dma_pool = "1M"`, and a bare-metal device model
 * (dm_pool_server.S) that reaches the frontend only through that pool. They talk through words
 * in the pool; what lies outside it must not be mapped in the device model.
 *
 * The frontend's RAM: 16 MiB at 0x40000000; its pool, carved from the top: 0x40F00000-0x40FFFFFF.
 */
#ifndef KEEL_DM_POOL_H
#define KEEL_DM_POOL_H

#define POOL_FE_IPA         0x40F00000          /* the pool in the frontend */
#define POOL_FE_BELOW       0x40EFF000          /* the frontend's last page below the pool */
#define POOL_DM_IPA         0x4000F00000        /* the pool in the device model's window */
#define POOL_DM_WINDOW      0x4000000000        /* vm0's window: its RAM's first byte */
#define POOL_DM_BELOW       0x4000EFF000        /* the window's last page below the pool */
#define POOL_DM_END         0x4001000000        /* one past the pool and the RAM */

#define POOL_HELLO          0x00            /* frontend -> device model: POOL_MAGIC */
#define POOL_REPLY          0x08            /* device model -> frontend: POOL_ANSWER */
#define POOL_DONE           0x10            /* device model -> frontend: it is done */
#define POOL_MAGIC          0x504F4F4C      /* "POOL" */
#define POOL_ANSWER         0x52504C59
#define POOL_OUTSIDE        0x4F555453      /* what the frontend writes below the pool */

/* Waits until the word at [x0] equals w1 or about 20 s pass: x0 = 1 if it did, else 0.
 * Clobbers x2-x5. */
    .text
pool_wait:
    mrs     x3, cntfrq_el0
    mov     x4, #20
    mul     x3, x3, x4
    mrs     x4, cntvct_el0
    add     x3, x3, x4
1:  ldr     w2, [x0]
    cmp     w2, w1
    b.eq    2f
    mrs     x5, cntvct_el0
    cmp     x5, x3
    b.lo    1b
    mov     x0, #0
    ret
2:  mov     x0, #1
    ret
#endif
