/* A bare-metal frontend of dm_server.S (lib/dm.h) on 2 vCPUs, with 2 transports (device 0 and 1
 * of the server). Both vCPUs hammer both transports at once and check every answer: pattern
 * reads (which device, which vCPU, which register the server saw), sign-extended byte reads,
 * 4- and 8-byte stores read back from the server's storage. Then: what lies past its
 * transports and unaligned accesses are external aborts; the device-model hypercalls are not
 * for it; NOTIFY brings its transport's interrupt; and once the server has powered itself off,
 * every access fails at once and Status says DEVICE_NEEDS_RESET, and it carries on. */
#include "guest.h"
#include "dm.h"

#define ITERATIONS  300

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "fe: start\n"
    bl      dm_gic_on
    mov     x0, #DM_FRONTEND_INTID
    bl      dm_spi_on
    mov     x0, #(DM_FRONTEND_INTID + 1)
    bl      dm_spi_on
    /* Not a device model: the device-model calls do not exist for it. */
    MOV64   x0, KEEL_DM_COMPLETE
    mov     x1, #0
    mov     x2, #1
    hvc     #0
    mov     x19, x0
    PRINT_KV "fe: complete=", x19
    MOV64   x0, KEEL_DM_NOTIFY
    mov     x1, #0
    hvc     #0
    mov     x19, x0
    PRINT_KV "fe: notify=", x19
    MOV64   x0, KEEL_DM_POLLING
    mov     x1, #1
    hvc     #0
    mov     x19, x0
    PRINT_KV "fe: polling=", x19
    /* One answer of each transport. */
    MOV64   x20, DM_TRANSPORT
    ldr     w19, [x20, #0x04]
    PRINT_KV "fe: transport 0 offset 4=", x19
    ldr     w19, [x20, #(DM_TRANSPORT_SIZE + 0x08)]
    PRINT_KV "fe: transport 1 offset 8=", x19

    /* Both vCPUs at once. */
    MOV64   x0, PSCI_CPU_ON_64
    mov     x1, #1
    ldr     x2, =secondary_start
    mov     x3, #1
    hvc     #0
    mov     x19, x0
    PRINT_KV "fe: cpu_on=", x19
    mov     x0, #0
    bl      worker
1:  adrp    x9, worker_done
    ldr     x10, [x9, :lo12:worker_done]
    cbnz    x10, 2f
    yield
    b       1b
2:  adrp    x21, stats
    add     x21, x21, :lo12:stats
    ldr     x19, [x21, #0]
    PRINT_KV "fe: vcpu0 ops=", x19
    ldr     x19, [x21, #8]
    PRINT_KV "fe: vcpu0 bad=", x19
    ldr     x19, [x21, #16]
    PRINT_KV "fe: vcpu0 last bad=", x19
    ldr     x19, [x21, #64]
    PRINT_KV "fe: vcpu1 ops=", x19
    ldr     x19, [x21, #72]
    PRINT_KV "fe: vcpu1 bad=", x19
    ldr     x19, [x21, #80]
    PRINT_KV "fe: vcpu1 last bad=", x19

    /* Past its two transports, and unaligned: external aborts (DFSC 0x10). */
    adrp    x9, exc_count
    ldr     x22, [x9, :lo12:exc_count]
    MOV64   x20, DM_TRANSPORT
    ldr     w19, [x20, #(2 * DM_TRANSPORT_SIZE)]
    adrp    x9, exc_esr
    ldr     x19, [x9, :lo12:exc_esr]
    PRINT_KV "fe: transport 2 esr=", x19
    add     x9, x20, #2
    ldr     w19, [x9]
    adrp    x9, exc_esr
    ldr     x19, [x9, :lo12:exc_esr]
    PRINT_KV "fe: unaligned esr=", x19
    adrp    x9, exc_count
    ldr     x19, [x9, :lo12:exc_count]
    sub     x19, x19, x22
    PRINT_KV "fe: aborts=", x19

    /* NOTIFY: the server raises transport 1's interrupt, then transport 0's. */
    msr     daifclr, #2
    MOV64   x20, DM_TRANSPORT
    str     wzr, [x20, #(DM_TRANSPORT_SIZE + DM_CMD_NOTIFY)]
    mov     x0, #1
    bl      wait_irq
    mov     x19, x0
    PRINT_KV "fe: irq 81=", x19
    str     wzr, [x20, #DM_CMD_NOTIFY]
    mov     x0, #0
    bl      wait_irq
    mov     x19, x0
    PRINT_KV "fe: irq 80=", x19
    adrp    x9, irq_counts
    ldr     x19, [x9, :lo12:irq_counts]
    PRINT_KV "fe: irqs 80 total=", x19

    /* The server reports and powers off; every later access fails at once. */
    str     wzr, [x20, #DM_CMD_FINISH]
    PRINT   "fe: server told to finish\n"
    mrs     x23, cntvct_el0
    ldr     w19, [x20, #0x04]
    mrs     x24, cntvct_el0
    PRINT_KV "fe: after off read=", x19
    sub     x1, x24, x23
    bl      dm_ticks_to_ms
    mov     x19, x0
    PRINT_KV "fe: after off ms=", x19
    ldr     w19, [x20, #DM_STATUS]
    PRINT_KV "fe: after off status=", x19
    ldr     w19, [x20, #(DM_TRANSPORT_SIZE + DM_STATUS)]
    PRINT_KV "fe: after off status 1=", x19
    str     wzr, [x20, #DM_STATUS]      /* a reset, but its device model is off */
    ldr     w19, [x20, #DM_STATUS]
    PRINT_KV "fe: after reset status=", x19
    ldr     x19, [x20, #0x100]
    PRINT_KV "fe: after off read 8=", x19
    PRINT   "fe: done\n"
    ldp     x29, x30, [sp], #16
    ret

/* x0 = transport: waits (interrupts on) until its interrupt came once, at most ~5 s of
 * counter. x0 = its count. */
wait_irq:
    adrp    x9, irq_counts
    add     x9, x9, :lo12:irq_counts
    lsl     x10, x0, #3
    mrs     x11, cntvct_el0
    mrs     x12, cntfrq_el0
    mov     x13, #5
    madd    x11, x12, x13, x11
1:  ldr     x0, [x9, x10]
    cbnz    x0, 2f
    mrs     x12, cntvct_el0
    cmp     x12, x11
    b.hs    2f
    yield
    b       1b
2:  ret

    .globl secondary_main
secondary_main:
    stp     x29, x30, [sp, #-16]!
    mov     x0, #1
    bl      worker
    adrp    x9, worker_done
    mov     x10, #1
    str     x10, [x9, :lo12:worker_done]
    ldp     x29, x30, [sp], #16
    ret

/* x0 = this vCPU: ITERATIONS rounds over both transports; counts in stats + 64 * vCPU:
 * ops, bad, the last bad value. */
worker:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    stp     x21, x22, [sp, #-16]!
    stp     x23, x24, [sp, #-16]!
    mov     x19, x0
    adrp    x21, stats
    add     x21, x21, :lo12:stats
    add     x21, x21, x19, lsl #6
    mov     x20, #0                     /* round */
1:  and     x22, x20, #1                /* device */
    MOV64   x23, DM_TRANSPORT
    add     x23, x23, x22, lsl #9
    /* A pattern read at offset (4 * round) mod 0x40. */
    lsl     x24, x20, #2
    and     x24, x24, #0x3C
    ldr     w0, [x23, x24]
    MOV64   x1, DM_PATTERN
    eor     x1, x1, x22, lsl #24
    eor     x1, x1, x19, lsl #16
    eor     x1, x1, x24
    bl      check
    /* A sign-extended byte. */
    ldrsb   w0, [x23, #0x93]
    mov     w1, #0xFFFFFF93
    bl      check
    /* A word stored and read back, in this vCPU's part of the storage. */
    add     x24, x24, #DM_STORAGE
    add     x24, x24, x19, lsl #6
    MOV64   x1, 0x12340000
    eor     x1, x1, x20
    eor     x1, x1, x19, lsl #20
    str     w1, [x23, x24]
    ldr     w0, [x23, x24]
    bl      check
    /* A double word. */
    add     x24, x23, #0x180
    add     x24, x24, x19, lsl #4
    mvn     x1, x20
    eor     x1, x1, x19, lsl #40
    str     x1, [x24]
    ldr     x0, [x24]
    bl      check
    add     x20, x20, #1
    cmp     x20, #ITERATIONS
    b.lo    1b
    ldp     x23, x24, [sp], #16
    ldp     x21, x22, [sp], #16
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* x0 = value, x1 = expected; counts into the block at x21. Clobbers x9. */
check:
    ldr     x9, [x21]
    add     x9, x9, #1
    str     x9, [x21]
    cmp     x0, x1
    b.eq    1f
    ldr     x9, [x21, #8]
    add     x9, x9, #1
    str     x9, [x21, #8]
    str     x0, [x21, #16]
1:  ret

    .globl irq_handler
irq_handler:
    mrs     x0, icc_iar1_el1
    and     x1, x0, #0xFFFFFF
    sub     x1, x1, #DM_FRONTEND_INTID
    cmp     x1, #8
    b.hs    1f
    adrp    x2, irq_counts
    add     x2, x2, :lo12:irq_counts
    ldr     x3, [x2, x1, lsl #3]
    add     x3, x3, #1
    str     x3, [x2, x1, lsl #3]
1:  msr     icc_eoir1_el1, x0
    isb
    ret

    .data
    .balign 8
worker_done: .quad 0
irq_counts:  .space 8 * 8
    .balign 64
stats:       .space 2 * 64
