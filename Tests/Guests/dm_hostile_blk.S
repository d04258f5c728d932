/* A hostile frontend (VirtioFaultTests) of a virtio-blk device served by the real keel-dm in a
 * Linux device-model VM, on 2 vCPUs. It waits until keel-dm answers, then, for each attack,
 * resets the device, sets it up as a driver would and breaks one rule: a descriptor chain that
 * loops, a buffer outside its RAM or wrapping 2^64, a length that overflows, a bad head or next
 * index, avail.idx jumping ahead, a queue size that is not a power of two or too large, rings
 * outside its RAM. Each prints "hostile: attack <name> status=<Status>" (keel-dm's own status:
 * what the driver set, plus DEVICE_NEEDS_RESET 0x40). Then both vCPUs race for RACE_SECONDS:
 * notifies from both while vCPU 1 scribbles random avail indexes and descriptors. Last, a reset and one honest read
 * of sector 0: its device works again. */
#include "guest.h"
#include "dm.h"
#include "xorshift.h"

#define RAM_END     0x41000000          /* 16 MiB of RAM from 0x40000000 */
#define Q_DESC      0x40100000
#define Q_AVAIL     0x40101000
#define Q_USED      0x40102000
#define REQ_HDR     0x40103000
#define REQ_DATA    0x40104000
#define REQ_STATUS  0x40105000
#define MAGIC       0x74726976
#define RACE_SECONDS 10                /* long enough to overlap the Linux frontend's reads */

/* Descriptor \i of the table: addr (a register), len, flags, next. Clobbers x9, x10. */
.macro DESC i, addr, len, flags, next
    MOV64   x9, (Q_DESC + 16 * \i)
    str     \addr, [x9]
    MOV64   x10, \len
    str     w10, [x9, #8]
    mov     w10, #\flags
    strh    w10, [x9, #12]
    mov     w10, #\next
    strh    w10, [x9, #14]
.endm

/* Head \head in avail slot 0, avail.idx = \idx, then QueueNotify 0 and Status polled. */
.macro OFFER head, idx
    MOV64   x9, Q_AVAIL
    mov     w10, #\head
    strh    w10, [x9, #4]
    dsb     sy
    mov     w10, #\idx
    strh    w10, [x9, #2]
    dsb     sy
    str     wzr, [x20, #0x50]
.endm

.macro REPORT name
    bl      wait_needs_reset
    mov     x19, x0
    PRINT_KV "hostile: attack \name status=", x19
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "hostile: start\n"
    MOV64   x20, DM_TRANSPORT
    /* Until keel-dm runs, Keel times each access out and gives the device up; a reset
     * (Status 0) asks again. */
    mov     x19, #0
1:  str     wzr, [x20, #DM_STATUS]
    ldr     w0, [x20, #0x00]
    add     x19, x19, #1
    MOV64   x1, MAGIC
    cmp     w0, w1
    b.ne    1b
    PRINT_KV "hostile: keel-dm answers after tries=", x19
    ldr     w19, [x20, #0x08]
    PRINT_KV "hostile: device id=", x19

    /* A header every chain starts with: a read (type 0) of sector 0. */
    MOV64   x9, REQ_HDR
    str     xzr, [x9]
    str     xzr, [x9, #8]
    MOV64   x24, REQ_HDR
    MOV64   x25, REQ_DATA
    MOV64   x26, REQ_STATUS

    /* A chain that loops: 0 -> 1 -> 0. */
    mov     x0, #8
    bl      setup_default
    DESC    0, x24, 16, 1, 1
    DESC    1, x25, 512, 3, 0
    OFFER   0, 1
    REPORT  "loop"

    /* A data buffer below its RAM (address 0x1000). */
    mov     x0, #8
    bl      setup_default
    mov     x11, #0x1000
    DESC    0, x24, 16, 1, 1
    DESC    1, x11, 512, 3, 2
    DESC    2, x26, 1, 2, 0
    OFFER   0, 1
    REPORT  "below-ram"

    /* A data buffer past its RAM's end. */
    mov     x0, #8
    bl      setup_default
    MOV64   x11, (RAM_END - 256)
    DESC    0, x24, 16, 1, 1
    DESC    1, x11, 512, 3, 2
    DESC    2, x26, 1, 2, 0
    OFFER   0, 1
    REPORT  "past-ram"

    /* An address that wraps 2^64. */
    mov     x0, #8
    bl      setup_default
    mov     x11, #-256
    DESC    0, x24, 16, 1, 1
    DESC    1, x11, 512, 3, 2
    DESC    2, x26, 1, 2, 0
    OFFER   0, 1
    REPORT  "wrap-address"

    /* Lengths that overflow 32 bits: 0xFFFFFFF0 + 0x100. */
    mov     x0, #8
    bl      setup_default
    DESC    0, x24, 16, 1, 1
    DESC    1, x25, 0xFFFFFFF0, 3, 2
    DESC    2, x26, 0x100, 2, 0
    OFFER   0, 1
    REPORT  "length-overflow"

    /* A head index past the queue. */
    mov     x0, #8
    bl      setup_default
    DESC    0, x24, 16, 1, 1
    DESC    1, x25, 512, 3, 2
    DESC    2, x26, 1, 2, 0
    OFFER   200, 1
    REPORT  "bad-head"

    /* A next index past the queue. */
    mov     x0, #8
    bl      setup_default
    DESC    0, x24, 16, 1, 1
    DESC    1, x25, 512, 3, 0x1234
    OFFER   0, 1
    REPORT  "bad-next"

    /* avail.idx jumps far ahead of what the device consumed. */
    mov     x0, #8
    bl      setup_default
    DESC    0, x24, 16, 1, 1
    DESC    1, x25, 512, 3, 2
    DESC    2, x26, 1, 2, 0
    OFFER   0, 0x8000
    REPORT  "avail-jump"

    /* avail.idx wraps back: 0xFFFF is 65535 ahead. */
    mov     x0, #8
    bl      setup_default
    DESC    0, x24, 16, 1, 1
    DESC    1, x25, 512, 3, 2
    DESC    2, x26, 1, 2, 0
    OFFER   0, 0xFFFF
    REPORT  "avail-wrap"

    /* Queue sizes: 6 is not a power of two, 256 is above QueueNumMax. */
    mov     x0, #6
    bl      setup_default
    REPORT  "size-6"
    mov     x0, #256
    bl      setup_default
    REPORT  "size-256"

    /* Rings outside its RAM: the descriptor table below it, the used ring past it, the
     * available ring wrapping 2^64. */
    mov     x0, #8
    mov     x1, #0x1000
    MOV64   x2, Q_AVAIL
    MOV64   x3, Q_USED
    bl      setup
    REPORT  "desc-below-ram"
    mov     x0, #8
    MOV64   x1, Q_DESC
    MOV64   x2, Q_AVAIL
    MOV64   x3, (RAM_END - 16)
    bl      setup
    REPORT  "used-past-ram"
    mov     x0, #8
    MOV64   x1, Q_DESC
    mov     x2, #-4
    MOV64   x3, Q_USED
    bl      setup
    REPORT  "avail-wrap-address"

    /* Both vCPUs at once on a working queue: vCPU 1 scribbles random avail indexes, heads and
     * descriptors and notifies; vCPU 0 notifies. */
    mov     x0, #8
    bl      setup_default
    MOV64   x0, PSCI_CPU_ON_64
    mov     x1, #1
    ldr     x2, =secondary_start
    mov     x3, #1
    hvc     #0
    mov     x19, x0
    PRINT_KV "hostile: cpu_on=", x19
    mov     x21, #0
2:  str     wzr, [x20, #0x50]
    add     x21, x21, #1
    adrp    x9, racer_done
    ldr     x10, [x9, :lo12:racer_done]
    cbz     x10, 2b
    ldr     w19, [x20, #DM_STATUS]
    PRINT_KV "hostile: race notifies=", x21
    PRINT_KV "hostile: race status=", x19

    /* A reset, an honest read of sector 0: its device works again. */
    mov     x0, #8
    bl      setup_default
    mov     w9, #0xEE
    strb    w9, [x26]
    str     xzr, [x25]
    DESC    0, x24, 16, 1, 1
    DESC    1, x25, 512, 3, 2
    DESC    2, x26, 1, 2, 0
    OFFER   0, 1
    MOV64   x21, Q_USED
    mov     x22, #0
3:  ldrh    w9, [x21, #2]
    cbnz    w9, 4f
    ldr     w9, [x20, #DM_STATUS]       /* a round trip to keel-dm: time for it to serve */
    add     x22, x22, #1
    cmp     x22, #4000
    b.lo    3b
4:  ldrb    w19, [x26]
    PRINT_KV "hostile: honest read status=", x19
    ldr     x19, [x25]
    PRINT_KV "hostile: honest read data=", x19
    ldr     w19, [x20, #DM_STATUS]
    PRINT_KV "hostile: final status=", x19
    PRINT   "hostile: done\n"
    ldp     x29, x30, [sp], #16
    ret

/* x0 = queue size; the rings at Q_DESC, Q_AVAIL, Q_USED. */
setup_default:
    MOV64   x1, Q_DESC
    MOV64   x2, Q_AVAIL
    MOV64   x3, Q_USED
    /* fall through */

/* Resets the device and sets queue 0 up as Linux's virtio_mmio does: x0 = size, x1 = the
 * descriptor table, x2 = the available ring, x3 = the used ring. The rings at Q_* are zeroed
 * first. Ends with DRIVER_OK. Clobbers x0-x10. */
setup:
    str     wzr, [x20, #DM_STATUS]
    mov     w9, #1
    str     w9, [x20, #DM_STATUS]       /* ACKNOWLEDGE */
    mov     w9, #3
    str     w9, [x20, #DM_STATUS]       /* DRIVER */
    mov     w9, #1
    str     w9, [x20, #0x24]            /* DriverFeaturesSel 1 */
    str     w9, [x20, #0x20]            /* VERSION_1 */
    str     wzr, [x20, #0x24]
    str     wzr, [x20, #0x20]
    mov     w9, #0xB
    str     w9, [x20, #DM_STATUS]       /* FEATURES_OK */
    MOV64   x9, Q_DESC
    mov     x10, #(3 * 0x1000 / 8)
5:  str     xzr, [x9], #8
    subs    x10, x10, #1
    b.ne    5b
    str     wzr, [x20, #0x30]           /* QueueSel 0 */
    str     w0, [x20, #0x38]            /* QueueNum */
    str     w1, [x20, #0x80]
    lsr     x1, x1, #32
    str     w1, [x20, #0x84]
    str     w2, [x20, #0x90]
    lsr     x2, x2, #32
    str     w2, [x20, #0x94]
    str     w3, [x20, #0xA0]
    lsr     x3, x3, #32
    str     w3, [x20, #0xA4]
    mov     w9, #1
    str     w9, [x20, #0x44]            /* QueueReady */
    mov     w9, #0xF
    str     w9, [x20, #DM_STATUS]       /* DRIVER_OK */
    ret

/* Reads Status until DEVICE_NEEDS_RESET shows (keel-dm serves a notify after completing it),
 * at most 1000 times. x0 = the last Status. */
wait_needs_reset:
    mov     x1, #1000
6:  ldr     w0, [x20, #DM_STATUS]
    tbnz    w0, #6, 7f
    subs    x1, x1, #1
    b.ne    6b
7:  ret

/* vCPU 1: RACE_SECONDS of random avail.idx, head, descriptor, notify. */
    .globl secondary_main
secondary_main:
    stp     x29, x30, [sp, #-16]!
    MOV64   x20, DM_TRANSPORT
    MOV64   x21, Q_AVAIL
    MOV64   x22, Q_DESC
    MOV64   x23, 0x9E3779B97F4A7C15
    mrs     x24, cntvct_el0
    mrs     x9, cntfrq_el0
    mov     x10, #RACE_SECONDS
    madd    x24, x9, x10, x24           /* the end */
1:  XORSHIFT x23, x9
    strh    w23, [x21, #2]              /* avail.idx */
    lsr     x9, x23, #16
    strh    w9, [x21, #4]               /* ring[0] */
    and     x9, x23, #0x70              /* one of the 8 descriptors */
    lsr     x10, x23, #8
    str     x10, [x22, x9]              /* addr */
    add     x9, x9, #8
    str     x23, [x22, x9]              /* len, flags, next */
    str     wzr, [x20, #0x50]
    mrs     x9, cntvct_el0
    cmp     x9, x24
    b.lo    1b
    adrp    x9, racer_done
    mov     x10, #1
    str     x10, [x9, :lo12:racer_done]
    ldp     x29, x30, [sp], #16
    ret

    .data
    .balign 8
racer_done: .quad 0
