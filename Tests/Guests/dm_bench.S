/* The forwarded MMIO round trip, measured as bench.S measures Keel's own exits (run it under
 * QEMU -icount shift=0, where ticks * 1e9 / CNTFRQ are instructions, the device model's
 * included): a frontend on one vCPU reads and writes a register of transport 0, served by
 * dm_server_fast.S (interrupt mode) or dm_server_fast_poll.S (polling). Output as bench.S's:
 * "bench: <name> <iterations> <ticks>", then "bench: cntfrq <Hz>". */
#include "guest.h"
#include "dm.h"

#define ITERATIONS 256

.macro BENCH
    isb
    mrs     x20, cntvct_el0
    mov     x21, #ITERATIONS
1:
.endm
.macro BENCH_END name
    subs    x21, x21, #1
    b.ne    1b
    isb
    mrs     x22, cntvct_el0
    sub     x22, x22, x20
    PRINT   "bench: \name 256 "
    mov     x0, x22
    bl      puthex
    bl      newline
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    MOV64   x19, DM_TRANSPORT
    ldr     w0, [x19, #0x04]            /* one first, so the device model is up and serving */
    BENCH
    ldr     w0, [x19, #0x04]
    BENCH_END mmio_forwarded_read
    BENCH
    str     wzr, [x19, #DM_STORAGE]
    BENCH_END mmio_forwarded_write
    mrs     x19, cntfrq_el0
    PRINT_KV "bench: cntfrq ", x19
    MOV64   x19, DM_TRANSPORT
    str     wzr, [x19, #DM_CMD_FINISH]
    ldp     x29, x30, [sp], #16
    ret
