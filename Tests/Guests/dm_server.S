/* A bare-metal device model (lib/dm.h): its MMU off, it reads its request page and its
 * frontend's RAM window where Keel mapped them, serves the fake register file of each device
 * it is given, and completes every request through KEEL_DM_COMPLETE, hostile around each one
 * (a wrong sequence before, the same completion again after: both must be refused). Before
 * serving it tries what a device model must not manage: writing its request page, completing
 * what is not open, notifying devices it does not have.
 *
 * Interrupt mode: it waits in WFI for the request interrupt (INTID 88); built with DM_POLLING
 * (dm_server_poll.S) it tells Keel it polls and scans the slots without one. Built with DM_FAST
 * (dm_server_fast*.S, for the forwarding benchmark) it completes each request once, nothing
 * hostile around it. Built with DM_ANSWERS (dm_server_answers.S) it answers in its answer page. */
#include "guest.h"
#include "dm.h"

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    MOV64   x20, DM_PAGE
    ldr     x19, [x20, #RP_MAGIC]
    PRINT_KV "dm: magic=", x19
    ldr     w19, [x20, #RP_DEVICES]
    PRINT_KV "dm: devices=", x19
    mov     x21, x19
    ldr     w19, [x20, #RP_SLOTS]
    PRINT_KV "dm: slots=", x19
    /* Each device: frontend, transport, type, RAM IPA and size, window. */
    mov     x22, #0
1:  cmp     x22, x21
    b.hs    2f
    mov     x9, #RP_DEVICE_SIZE
    madd    x23, x22, x9, x20
    add     x23, x23, #RP_DEVICE0
    ldr     w19, [x23, #0]
    lsl     x19, x19, #8
    ldr     w9, [x23, #4]
    orr     x19, x19, x9
    lsl     x19, x19, #8
    ldr     w9, [x23, #8]
    orr     x19, x19, x9
    PRINT_KV "dm: device frontend/transport/type=", x19
    ldr     x19, [x23, #16]
    PRINT_KV "dm: device ram=", x19
    ldr     x19, [x23, #24]
    PRINT_KV "dm: device size=", x19
    ldr     x19, [x23, #32]
    PRINT_KV "dm: device window=", x19
    add     x22, x22, #1
    b       1b
2:  /* The frontend's first instruction word, through the window. */
    MOV64   x9, DM_WINDOW_VM0
    ldr     w19, [x9]
    PRINT_KV "dm: window word=", x19
    bl      hostile_start

#ifdef DM_POLLING
    MOV64   x0, KEEL_DM_POLLING
    mov     x1, #1
    hvc     #0
    mov     x19, x0
    PRINT_KV "dm: polling=", x19
    MOV64   x9, DM_PAGE
    ldr     w19, [x9, #RP_FLAGS]
    PRINT_KV "dm: flags=", x19
#else
    bl      dm_gic_on
    mov     x0, #DM_REQUEST_INTID
    bl      dm_spi_on
#endif
    PRINT   "dm: serving\n"
    msr     daifset, #2
serve:
    bl      scan
    cbnz    x0, serve                   /* served one: look again before waiting */
#ifndef DM_POLLING
    wfi                                 /* IRQs masked: a pending one still ends it */
    msr     daifclr, #2
    isb
    msr     daifset, #2
#endif
    b       serve

/* One pass over the slots: x0 = requests served. */
scan:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    stp     x21, x22, [sp, #-16]!
    MOV64   x20, DM_PAGE
    mov     x21, #0                     /* slot */
    mov     x22, #0                     /* served */
1:  mov     x9, #RP_SLOT_SIZE
    madd    x0, x21, x9, x20
    add     x0, x0, #RP_SLOT0
    ldar    w1, [x0]
    tbz     w1, #0, 2f
    mov     x1, x21
    bl      serve_slot
    add     x22, x22, x0
2:  add     x21, x21, #1
    cmp     x21, #8
    b.lo    1b
    mov     x0, x22
    ldp     x21, x22, [sp], #16
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* x0 = the slot's address, x1 = its index: emulate the register, complete it. x0 = 1 when
 * it did (0: muted). */
serve_slot:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    stp     x21, x22, [sp, #-16]!
    stp     x23, x24, [sp, #-16]!
    stp     x25, x26, [sp, #-16]!
    stp     x27, x28, [sp, #-16]!
    mrs     x26, cntvct_el0             /* picked up */
    mov     x19, x0
    mov     x20, x1
    ldr     w21, [x19, #SLOT_SEQ]
    ldr     w22, [x19, #SLOT_DEVICE]
    ldr     w23, [x19, #SLOT_OFFSET]
    ldrb    w24, [x19, #SLOT_SIZE]
    ldrb    w9, [x19, #SLOT_WRITE]
    ldrb    w10, [x19, #SLOT_VCPU]
    mov     x0, #0
    adrp    x11, muted
    ldr     x11, [x11, :lo12:muted]
    cbnz    x11, 10f                    /* answers nothing more */
    /* The device's storage: 128 words. */
    adrp    x12, storage
    add     x12, x12, :lo12:storage
    and     x13, x22, #1
    add     x12, x12, x13, lsl #9
    cbz     w9, 3f
    /* A write. */
    mov     x25, #0
    ldr     x14, [x19, #SLOT_DATA]
    cmp     w23, #DM_CMD_FINISH
    b.eq    4f
    cmp     w23, #DM_CMD_MUTE
    b.eq    5f
    cmp     w23, #DM_CMD_NOTIFY
    b.eq    6f
    cmp     w23, #DM_STATUS
    b.eq    2f
    cmp     w23, #DM_STORAGE
    b.lo    8f                          /* other writes: dropped */
2:  and     x15, x23, #0x1FC
    cmp     w24, #8
    b.eq    1f
    str     w14, [x12, x15]
    b       8f
1:  and     x15, x23, #0x1F8
    str     x14, [x12, x15]
    b       8f
3:  /* A read. */
    cmp     w23, #DM_STATUS
    b.eq    2f
    cmp     w23, #DM_STORAGE
    b.hs    2f
    MOV64   x25, DM_PATTERN
    eor     x25, x25, x22, lsl #24
    eor     x25, x25, x10, lsl #16
    eor     x25, x25, x23
    b       8f
2:  and     x15, x23, #0x1FC
    cmp     w24, #8
    b.eq    1f
    ldr     w25, [x12, x15]
    b       8f
1:  and     x15, x23, #0x1F8
    ldr     x25, [x12, x15]
    b       8f
4:  adrp    x9, finishing
    mov     x10, #1
    str     x10, [x9, :lo12:finishing]
    b       8f
5:  adrp    x9, muted
    mov     x10, #1
    str     x10, [x9, :lo12:muted]
    b       8f
6:  MOV64   x0, KEEL_DM_NOTIFY
    mov     x1, x22
    hvc     #0
    cbz     x0, 8f
    bl      count_bad
8:
#ifdef DM_ANSWERS
    adrp    x27, answers
    add     x27, x27, :lo12:answers
    add     x27, x27, x20, lsl #6       /* its slot: 64 bytes each */
    /* Hostile: an answer naming the next sequence (that request is not open yet). */
    mov     x9, #0xBAD
    str     x9, [x27, #AP_VALUE]
    add     w9, w21, #2
    stlr    w9, [x27]
    sev
    /* The answer: value and pickup time, then the sequence with release order. */
    str     x25, [x27, #AP_VALUE]
    str     x26, [x27, #AP_PICKED]
    stlr    w21, [x27]
    dsb     ishst
    sev
1:  ldar    w9, [x19]                   /* Keel took it: the request page's sequence moved on */
    cmp     w9, w21
    b.ne    2f
    yield
    b       1b
2:  /* Answered already: a COMPLETE of it is refused; garbage over the slot reaches nobody. */
    MOV64   x0, KEEL_DM_COMPLETE
    mov     x1, x20
    mov     x2, x21
    mov     x3, #0xBAD
    hvc     #0
    cmn     x0, #2
    b.eq    1f
    bl      count_bad
1:  mov     x9, #0xBAD
    str     x9, [x27, #AP_VALUE]
    str     x9, [x27, #AP_PICKED]
    b       7f
#endif
#ifndef DM_FAST
    /* Hostile: a wrong sequence first, then the right one, then the same again. */
    MOV64   x0, KEEL_DM_COMPLETE
    mov     x1, x20
    add     x2, x21, #2
    mov     x3, #0xBAD
    mov     x4, x26
    hvc     #0
    cmn     x0, #2
    b.eq    1f
    bl      count_bad
1:
#endif
    MOV64   x0, KEEL_DM_COMPLETE
    mov     x1, x20
    mov     x2, x21
    mov     x3, x25
    mov     x4, x26
    hvc     #0
    cbz     x0, 1f
    bl      count_bad
1:
#ifndef DM_FAST
    MOV64   x0, KEEL_DM_COMPLETE
    mov     x1, x20
    mov     x2, x21
    mov     x3, #0xBAD
    hvc     #0
    cmn     x0, #2
    b.eq    1f
    bl      count_bad
1:
#endif
7:  adrp    x9, served
    ldr     x10, [x9, :lo12:served]
    add     x10, x10, #1
    str     x10, [x9, :lo12:served]
    adrp    x9, finishing
    ldr     x10, [x9, :lo12:finishing]
    cbz     x10, 9f
    bl      report
    bl      system_off
9:  mov     x0, #1
10: ldp     x27, x28, [sp], #16
    ldp     x25, x26, [sp], #16
    ldp     x23, x24, [sp], #16
    ldp     x21, x22, [sp], #16
    ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

/* One more answer from Keel that a device model should not have had. */
count_bad:
    adrp    x9, bad
    ldr     x10, [x9, :lo12:bad]
    add     x10, x10, #1
    str     x10, [x9, :lo12:bad]
    ret

report:
    stp     x29, x30, [sp, #-16]!
    adrp    x9, served
    ldr     x19, [x9, :lo12:served]
    PRINT_KV "dm: served=", x19
    adrp    x9, bad
    ldr     x19, [x9, :lo12:bad]
    PRINT_KV "dm: bad=", x19
    PRINT   "dm: off\n"
    ldp     x29, x30, [sp], #16
    ret

/* What a device model must not manage; each answer printed. */
hostile_start:
    stp     x29, x30, [sp, #-16]!
    /* Its request page is read-only: the store is an external abort, the page unchanged. */
    adrp    x9, exc_count
    ldr     x19, [x9, :lo12:exc_count]
    MOV64   x10, DM_PAGE
    mov     x11, #0x1234
    str     x11, [x10, #(RP_SLOT0 + 7 * RP_SLOT_SIZE)]
    adrp    x9, exc_count
    ldr     x10, [x9, :lo12:exc_count]
    sub     x19, x10, x19
    PRINT_KV "dm: page store faults=", x19
    MOV64   x10, DM_PAGE
    ldr     w19, [x10, #(RP_SLOT0 + 7 * RP_SLOT_SIZE)]
    PRINT_KV "dm: slot 7 sequence=", x19
    /* COMPLETE of no open request: slot past the end, huge slot, nothing open, even and
     * oversized sequences. */
    MOV64   x0, KEEL_DM_COMPLETE
    mov     x1, #8
    mov     x2, #1
    hvc     #0
    mov     x19, x0
    PRINT_KV "dm: complete slot 8=", x19
    MOV64   x0, KEEL_DM_COMPLETE
    mov     x1, #-1
    mov     x2, #1
    hvc     #0
    mov     x19, x0
    PRINT_KV "dm: complete slot -1=", x19
    MOV64   x0, KEEL_DM_COMPLETE     /* slot 7: no frontend vCPU runs on CPU 7 */
    mov     x1, #7
    mov     x2, #1
    hvc     #0
    mov     x19, x0
    PRINT_KV "dm: complete nothing open=", x19
    MOV64   x0, KEEL_DM_COMPLETE
    mov     x1, #0
    mov     x2, #2
    hvc     #0
    mov     x19, x0
    PRINT_KV "dm: complete even=", x19
    MOV64   x0, KEEL_DM_COMPLETE
    mov     x1, #0
    MOV64   x2, 0x100000001
    hvc     #0
    mov     x19, x0
    PRINT_KV "dm: complete 2^32+1=", x19
    /* NOTIFY of devices it does not have. */
    MOV64   x0, KEEL_DM_NOTIFY
    mov     x1, x21
    hvc     #0
    mov     x19, x0
    PRINT_KV "dm: notify count=", x19
    MOV64   x0, KEEL_DM_NOTIFY
    mov     x1, #-1
    hvc     #0
    mov     x19, x0
    PRINT_KV "dm: notify -1=", x19
    MOV64   x0, KEEL_DM_POLLING
    mov     x1, #2
    hvc     #0
    mov     x19, x0
    PRINT_KV "dm: polling 2=", x19
#ifdef DM_ANSWERS
    /* An answer page must be one aligned page of its own RAM (16 MiB from 0x40000000). */
    MOV64   x0, KEEL_DM_ANSWERS
    adrp    x1, answers
    add     x1, x1, :lo12:answers
    add     x1, x1, #8
    hvc     #0
    mov     x19, x0
    PRINT_KV "dm: answers misaligned=", x19
    MOV64   x0, KEEL_DM_ANSWERS
    MOV64   x1, 0x41000000
    hvc     #0
    mov     x19, x0
    PRINT_KV "dm: answers past its RAM=", x19
    MOV64   x0, KEEL_DM_ANSWERS
    MOV64   x1, DM_WINDOW_VM0           /* the frontend's RAM, not its own */
    hvc     #0
    mov     x19, x0
    PRINT_KV "dm: answers in the window=", x19
    MOV64   x0, KEEL_DM_ANSWERS
    adrp    x1, answers
    add     x1, x1, :lo12:answers
    hvc     #0
    mov     x19, x0
    PRINT_KV "dm: answers=", x19
#endif
    ldp     x29, x30, [sp], #16
    ret

    .globl irq_handler
irq_handler:
    mrs     x0, icc_iar1_el1
    adrp    x2, irqs
    ldr     x3, [x2, :lo12:irqs]
    add     x3, x3, #1
    str     x3, [x2, :lo12:irqs]
    msr     icc_eoir1_el1, x0
    isb
    ret

    .data
    .balign 8
served:     .quad 0
bad:        .quad 0
muted:      .quad 0
finishing:  .quad 0
irqs:       .quad 0
    .bss
    .balign 16
storage:    .space 2 * 512
#ifdef DM_ANSWERS
    .balign 4096
answers:    .space 4096
#endif
