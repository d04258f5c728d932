/*
 * The device-model forwarding tests (DeviceModelForwardingTests): a bare-metal "device model"
 * (dm_server.S) that serves a fake register file from its request page, and bare-metal
 * frontends (dm_frontend*.S) that touch their virtio transports. Constants of
 * docs/device-model.md, the fake register file both sides agree on, and a few helpers
 * (assembled into each guest that includes this header, as lib/doorbell.h is).
 *
 * The fake register file, per device: a read of offset o below 0x100 (but Status) answers
 * DM_PATTERN ^ device << 24 ^ vCPU << 16 ^ o, so each answer says which device, which frontend
 * vCPU and which register the server saw; Status (0x70) and offsets 0x100-0x1FF are storage
 * (4- and 8-byte accesses); writes to a few offsets are commands (below).
 */
#ifndef KEEL_DM_H
#define KEEL_DM_H

#define DM_TRANSPORT        0x0B000000
#define DM_TRANSPORT_SIZE   0x200
#define DM_PAGE             0x0B100000
#define DM_REQUEST_INTID    88
#define DM_FRONTEND_INTID   80
#define DM_WINDOW_VM0       0x4000000000
#define KEEL_DM_COMPLETE    0x86000020
#define KEEL_DM_NOTIFY      0x86000021
#define KEEL_DM_POLLING     0x86000022
#define KEEL_DM_ANSWERS     0x86000023
#define AP_SEQ              0           /* answer page slot: sequence, value, picked up */
#define AP_VALUE            8
#define AP_PICKED           16

#define DM_PATTERN          0x5A000000
#define DM_STATUS           0x70
#define DM_STORAGE          0x100
#define DM_CMD_NOTIFY       0x50        /* write: the server NOTIFYs this device */
#define DM_CMD_MUTE         0xF8        /* write: the server answers nothing more (still on) */
#define DM_CMD_FINISH       0xFC        /* write: the server reports, then SYSTEM_OFF */

/* Request page: header, device table, slots. */
#define RP_MAGIC            0
#define RP_DEVICES          12
#define RP_SLOTS            16
#define RP_FLAGS            28
#define RP_DEVICE0          64
#define RP_DEVICE_SIZE      64
#define RP_SLOT0            2048
#define RP_SLOT_SIZE        64
#define SLOT_SEQ            0
#define SLOT_DEVICE         4
#define SLOT_OFFSET         8
#define SLOT_SIZE           12
#define SLOT_WRITE          13
#define SLOT_VCPU           14
#define SLOT_DATA           16
#define SLOT_POSTED         24

    .text
/* x0 = INTID (an SPI): group 1, priority 0xA0, routed to vCPU 0, enabled. Clobbers x0-x6. */
dm_spi_on:
    ldr     x1, =GICD_BASE
    lsr     x2, x0, #5
    and     x3, x0, #31
    mov     w4, #1
    lsl     w4, w4, w3
    add     x5, x1, #0x080              /* IGROUPR */
    ldr     w6, [x5, x2, lsl #2]
    orr     w6, w6, w4
    str     w6, [x5, x2, lsl #2]
    mov     w6, #0xA0
    add     x5, x1, #0x400              /* IPRIORITYR */
    strb    w6, [x5, x0]
    add     x5, x1, #0x6000             /* IROUTER: Aff 0.0.0.0 */
    str     xzr, [x5, x0, lsl #3]
    add     x5, x1, #0x100              /* ISENABLER */
    str     w4, [x5, x2, lsl #2]
    ret

/* The distributor on (affinity routing, group 1), this vCPU's redistributor awake, its CPU
 * interface open. Clobbers x0-x15. */
dm_gic_on:
    stp     x29, x30, [sp, #-16]!
    ldr     x1, =GICD_BASE
    mov     w2, #0x13
    str     w2, [x1]
    mrs     x0, mpidr_el1
    and     x0, x0, #0xFF
    mov     w1, #0
    bl      gicv3_private_on
    bl      gicv3_cpu_interface_on
    ldp     x29, x30, [sp], #16
    ret

/* x0 = milliseconds in the counter ticks x1 (a difference of CNTVCT). */
dm_ticks_to_ms:
    mrs     x2, cntfrq_el0
    mov     x3, #1000
    mul     x0, x1, x3
    udiv    x0, x0, x2
    ret
#endif
