/*
 * The doorbell test guests' common body (doorbell_ping.S, doorbell_pong.S include it after
 * defining ROLE_PING or not, and PEER_VM): two bare-metal VMs of one packed image share a page
 * at SHARED_IPA and ring each other with Keel's doorbell hypercall, which raises SPI 47 in the
 * peer. The ping writes a message and rings; the pong, woken by its SPI, prints the message,
 * writes a reply and rings back; the ping, woken in turn, prints the reply. Both power off.
 */
#ifndef KEEL_DOORBELL_H
#define KEEL_DOORBELL_H

#define KEEL_DOORBELL       0x86000010
#define DOORBELL_INTID      47
#define SHARED_IPA          0x70000000
#define GICD_BASE_DB        0x08000000
#define PING_MESSAGE        0x50494E4721   /* "!GNIP" little-endian: any recognisable word */
#define PONG_MESSAGE        0x504F4E4721

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    bl      doorbell_gic_init
    MOV64   x20, SHARED_IPA
#ifdef ROLE_PING
    MOV64   x1, PING_MESSAGE
    str     x1, [x20]
    dsb     sy
    PRINT   "doorbell: ping sent\n"
    bl      ring_peer
    mov     x19, x0
    PRINT_KV "doorbell: ring result=", x19
    bl      wait_doorbell
    ldr     x19, [x20, #8]
    PRINT_KV "doorbell: reply received ", x19
#else
    bl      wait_doorbell
    ldr     x19, [x20]
    PRINT_KV "doorbell: message received ", x19
    MOV64   x1, PONG_MESSAGE
    str     x1, [x20, #8]
    dsb     sy
    bl      ring_peer
    mov     x19, x0
    PRINT_KV "doorbell: reply sent, ring result=", x19
#endif
    ldp     x29, x30, [sp], #16
    ret

/* x0 = Keel's answer to ringing PEER_VM. */
ring_peer:
    MOV64   x0, KEEL_DOORBELL
    mov     x1, #PEER_VM
    hvc     #0
    ret

/* Wait, interrupts on, until the doorbell's handler has counted one. */
wait_doorbell:
    adrp    x9, doorbells
    msr     daifclr, #2
1:  ldr     x10, [x9, :lo12:doorbells]
    cbnz    x10, 2f
    wfi
    b       1b
2:  msr     daifset, #2
    ret

/* The distributor (affinity routing, group 1), the doorbell SPI (group 1, priority 0xA0, to
 * vCPU 0, enabled), this CPU's redistributor awake and its CPU interface open. */
doorbell_gic_init:
    ldr     x1, =GICD_BASE_DB
    mov     w2, #0x13
    str     w2, [x1]
    ldr     w2, [x1, #0x084]            /* IGROUPR1 */
    orr     w2, w2, #(1 << (DOORBELL_INTID - 32))
    str     w2, [x1, #0x084]
    mov     w2, #0xA0
    strb    w2, [x1, #(0x400 + DOORBELL_INTID)]
    str     xzr, [x1, #(0x6000 + 8 * DOORBELL_INTID)] /* IROUTER: Aff 0.0.0.0 */
    mov     w2, #(1 << (DOORBELL_INTID - 32))
    str     w2, [x1, #0x104]            /* ISENABLER1 */
    stp     x29, x30, [sp, #-16]!
    mov     x0, #0                      /* this vCPU's redistributor: nothing private to enable */
    mov     w1, #0
    bl      gicv3_private_on
    bl      gicv3_cpu_interface_on
    ldp     x29, x30, [sp], #16
    ret

    .globl irq_handler
irq_handler:
    mrs     x0, icc_iar1_el1
    and     x1, x0, #0xFFFFFF
    cmp     x1, #DOORBELL_INTID
    b.ne    1f
    adrp    x2, doorbells
    ldr     x3, [x2, :lo12:doorbells]
    add     x3, x3, #1
    str     x3, [x2, :lo12:doorbells]
1:  msr     icc_eoir1_el1, x0
    isb
    ret

    .data
    .balign 8
doorbells:  .quad 0
#endif
