/* The forwarded MMIO round trip, measured as bench.S measures Keel's own exits (run it under
 * QEMU -icount shift=0, where ticks * 1e9 / CNTFRQ are instructions, the device model's
 * included): a frontend on one vCPU reads and writes a register of transport 0, served by
 * dm_server_fast.S (interrupt mode) or dm_server_fast_poll.S (polling), or by keel-dm in a
 * Linux device-model VM (`keel bench dm`: the read is of Version, the write of config space,
 * which keel-dm ignores). Output as bench.S's: "bench: <name> <iterations> <ticks>", then one
 * line per round trip, "bench-sample: <name> <ticks>" (a Linux device model's own work, a timer
 * tick, lands in a few of them: the host takes their median), then "bench: cntfrq <Hz>", then
 * "dm-bench: read=<hex>", the value such a read gives (keel-dm: Version, 2). */
#include "guest.h"
#include "dm.h"

#define ITERATIONS 256

.macro BENCH
    isb
    mrs     x20, cntvct_el0
    mov     x21, #ITERATIONS
1:
.endm
/* ITERATIONS samples of one access, each timed alone and printed (outside the timed part). */
.macro SAMPLES name, access:vararg
    mov     x21, #ITERATIONS
2:
    isb
    mrs     x20, cntvct_el0
    \access
    isb
    mrs     x22, cntvct_el0
    sub     x22, x22, x20
    PRINT   "bench-sample: \name "
    mov     x0, x22
    bl      puthex
    bl      newline
    subs    x21, x21, #1
    b.ne    2b
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
    SAMPLES mmio_forwarded_read, ldr w0, [x19, #0x04]
    SAMPLES mmio_forwarded_write, str wzr, [x19, #DM_STORAGE]
    mrs     x19, cntfrq_el0
    PRINT_KV "bench: cntfrq ", x19
    MOV64   x19, DM_TRANSPORT
    ldr     w20, [x19, #0x04]           /* what the timed reads read (keel bench dm checks it) */
    PRINT_KV "dm-bench: read=", x20
    str     wzr, [x19, #DM_CMD_FINISH]
    ldp     x29, x30, [sp], #16
    ret
