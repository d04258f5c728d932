/* A bare-metal frontend (lib/dm.h) whose device model stops answering but stays on: transport
 * 0 is a blk device with a 500 ms timeout. It sets up queue 0 through the transport and puts
 * two requests on it, then mutes the server. The next read gives all ones after the timeout
 * while its other vCPU runs on; the two requests come back on the used ring with
 * VIRTIO_BLK_S_IOERR and the transport's interrupt; Status reads DEVICE_NEEDS_RESET and the
 * other registers all ones at once; a reset (Status 0, the server still on) is forwarded again
 * and times out again. */
#include "guest.h"
#include "dm.h"

#define QUEUE_SIZE  8
#define DESC_NEXT   1
#define DESC_WRITE  2

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "fe: start\n"
    bl      dm_gic_on
    mov     x0, #DM_FRONTEND_INTID
    bl      dm_spi_on
    bl      build_requests
    /* Queue 0 set up through the transport, as a driver does. */
    MOV64   x20, DM_TRANSPORT
    str     wzr, [x20, #0x30]           /* QueueSel */
    mov     w1, #QUEUE_SIZE
    str     w1, [x20, #0x38]            /* QueueNum */
    adrp    x1, ring_desc
    add     x1, x1, :lo12:ring_desc
    str     w1, [x20, #0x80]
    lsr     x1, x1, #32
    str     w1, [x20, #0x84]
    adrp    x1, ring_avail
    add     x1, x1, :lo12:ring_avail
    str     w1, [x20, #0x90]
    lsr     x1, x1, #32
    str     w1, [x20, #0x94]
    adrp    x1, ring_used
    add     x1, x1, :lo12:ring_used
    str     w1, [x20, #0xA0]
    lsr     x1, x1, #32
    str     w1, [x20, #0xA4]
    mov     w1, #1
    str     w1, [x20, #0x44]            /* QueueReady */
    ldr     w19, [x20, #0x04]
    PRINT_KV "fe: answered=", x19

    MOV64   x0, PSCI_CPU_ON_64
    mov     x1, #1
    ldr     x2, =secondary_start
    mov     x3, #1
    hvc     #0

    /* The server answers nothing from now on. */
    str     wzr, [x20, #DM_CMD_MUTE]
    PRINT   "fe: server muted\n"
    adrp    x9, heartbeat
    ldr     x22, [x9, :lo12:heartbeat]
    mrs     x23, cntvct_el0
    ldr     w19, [x20, #0x04]
    mrs     x24, cntvct_el0
    PRINT_KV "fe: timed out read=", x19
    sub     x1, x24, x23
    bl      dm_ticks_to_ms
    mov     x19, x0
    PRINT_KV "fe: timed out ms=", x19
    adrp    x9, heartbeat
    ldr     x19, [x9, :lo12:heartbeat]
    sub     x19, x19, x22
    cmp     x19, #0
    cset    x19, ne
    PRINT_KV "fe: other vcpu ran=", x19

    /* Keel completed both requests with IOERR and raised the interrupt. */
    msr     daifclr, #2
    mov     x0, #0
    bl      wait_irq80
    mov     x19, x0
    PRINT_KV "fe: irq 80=", x19
    adrp    x21, ring_used
    add     x21, x21, :lo12:ring_used
    ldrh    w19, [x21, #2]
    PRINT_KV "fe: used idx=", x19
    ldr     w19, [x21, #4]
    PRINT_KV "fe: used 0 id=", x19
    ldr     w19, [x21, #8]
    PRINT_KV "fe: used 0 len=", x19
    ldr     w19, [x21, #12]
    PRINT_KV "fe: used 1 id=", x19
    adrp    x9, status_a
    ldrb    w19, [x9, :lo12:status_a]
    PRINT_KV "fe: status a=", x19
    adrp    x9, status_b
    ldrb    w19, [x9, :lo12:status_b]
    PRINT_KV "fe: status b=", x19
    adrp    x9, data_b
    ldrb    w19, [x9, :lo12:data_b + 511]
    PRINT_KV "fe: data b last=", x19

    /* Given up: Status says so, the rest is all ones, at once. */
    mrs     x23, cntvct_el0
    ldr     w19, [x20, #DM_STATUS]
    PRINT_KV "fe: status=", x19
    ldr     w19, [x20, #0x08]
    mrs     x24, cntvct_el0
    PRINT_KV "fe: broken read=", x19
    sub     x1, x24, x23
    bl      dm_ticks_to_ms
    mov     x19, x0
    PRINT_KV "fe: broken ms=", x19
    str     wzr, [x20, #0x08]           /* dropped */
    /* A reset while the server is on: forwarded, and it times out again. */
    mrs     x23, cntvct_el0
    str     wzr, [x20, #DM_STATUS]
    mrs     x24, cntvct_el0
    sub     x1, x24, x23
    bl      dm_ticks_to_ms
    mov     x19, x0
    PRINT_KV "fe: reset ms=", x19
    ldr     w19, [x20, #DM_STATUS]
    PRINT_KV "fe: status after reset=", x19
    adrp    x9, stop_heart
    mov     x10, #1
    str     x10, [x9, :lo12:stop_heart]
    PRINT   "fe: done\n"
    ldp     x29, x30, [sp], #16
    ret

/* Waits (interrupts on) for INTID 80, at most ~5 s. x0 = its count. */
wait_irq80:
    adrp    x9, irq80
    mrs     x11, cntvct_el0
    mrs     x12, cntfrq_el0
    mov     x13, #5
    madd    x11, x12, x13, x11
1:  ldr     x0, [x9, :lo12:irq80]
    cbnz    x0, 2f
    mrs     x12, cntvct_el0
    cmp     x12, x11
    b.hs    2f
    yield
    b       1b
2:  ret

/* Two blk requests on the available ring: a header then a status byte; a header, 512 bytes of
 * data to fill, then a status byte. Status bytes and data start as 0xFF. */
build_requests:
    adrp    x0, ring_desc
    add     x0, x0, :lo12:ring_desc
    /* 0: header A -> 1: status A */
    adrp    x1, header
    add     x1, x1, :lo12:header
    str     x1, [x0, #0]
    mov     w2, #16
    str     w2, [x0, #8]
    mov     w2, #DESC_NEXT
    strh    w2, [x0, #12]
    mov     w2, #1
    strh    w2, [x0, #14]
    adrp    x1, status_a
    add     x1, x1, :lo12:status_a
    str     x1, [x0, #16]
    mov     w2, #1
    str     w2, [x0, #24]
    mov     w2, #DESC_WRITE
    strh    w2, [x0, #28]
    strh    wzr, [x0, #30]
    /* 2: header B -> 3: data B -> 4: status B */
    adrp    x1, header
    add     x1, x1, :lo12:header
    str     x1, [x0, #32]
    mov     w2, #16
    str     w2, [x0, #40]
    mov     w2, #DESC_NEXT
    strh    w2, [x0, #44]
    mov     w2, #3
    strh    w2, [x0, #46]
    adrp    x1, data_b
    add     x1, x1, :lo12:data_b
    str     x1, [x0, #48]
    mov     w2, #512
    str     w2, [x0, #56]
    mov     w2, #(DESC_NEXT | DESC_WRITE)
    strh    w2, [x0, #60]
    mov     w2, #4
    strh    w2, [x0, #62]
    adrp    x1, status_b
    add     x1, x1, :lo12:status_b
    str     x1, [x0, #64]
    mov     w2, #1
    str     w2, [x0, #72]
    mov     w2, #DESC_WRITE
    strh    w2, [x0, #76]
    strh    wzr, [x0, #78]
    /* avail: ring[0] = 0, ring[1] = 2, idx = 2 */
    adrp    x0, ring_avail
    add     x0, x0, :lo12:ring_avail
    strh    wzr, [x0, #4]
    mov     w2, #2
    strh    w2, [x0, #6]
    strh    w2, [x0, #2]
    ret

    .globl secondary_main
secondary_main:
    adrp    x9, heartbeat
    adrp    x11, stop_heart
1:  ldr     x10, [x9, :lo12:heartbeat]
    add     x10, x10, #1
    str     x10, [x9, :lo12:heartbeat]
    ldr     x12, [x11, :lo12:stop_heart]
    cbz     x12, 1b
    ret

    .globl irq_handler
irq_handler:
    mrs     x0, icc_iar1_el1
    and     x1, x0, #0xFFFFFF
    cmp     x1, #DM_FRONTEND_INTID
    b.ne    1f
    adrp    x2, irq80
    ldr     x3, [x2, :lo12:irq80]
    add     x3, x3, #1
    str     x3, [x2, :lo12:irq80]
1:  msr     icc_eoir1_el1, x0
    isb
    ret

    .data
    .balign 8
heartbeat:  .quad 0
stop_heart: .quad 0
irq80:      .quad 0
header:     .quad 0, 0
status_a:   .byte 0xFF
status_b:   .byte 0xFF
    .balign 16
data_b:     .fill 512, 1, 0xFF
    .balign 16
ring_desc:  .space 16 * QUEUE_SIZE
    .balign 4
ring_avail: .space 4 + 2 * QUEUE_SIZE + 2
    .balign 4
ring_used:  .space 4 + 8 * QUEUE_SIZE + 2
