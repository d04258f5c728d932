/* A bare-metal guest given QEMU virt's PL031 RTC (devices = ["rtc"]: its page at 0x09010000,
 * SPI 2 = INTID 34), taking its match interrupt through Keel's hardware forwarding, on a GICv3
 * or a GICv2 (lib/gicany.S). The alarm is one second ahead of the RTC's count (RTCMR = RTCDR + 1).
 *
 *   1. SPI enabled: the alarm arrives; the handler clears it (RTCICR) and EOIs (EOImode 0), which
 *      deactivates the physical SPI through the list register's HW bit.
 *   2. Again: a second alarm arrives, which it could not if the physical SPI had stayed active.
 *   3. SPI disabled (ICENABLER), alarm armed: nothing arrives for 2.5 s.
 *   4. SPI enabled again: the alarm that fired meanwhile (the line stays high until RTCICR)
 *      arrives.
 * Each phase prints how many interrupts it took. */
#include "guest.h"

#define RTC         0x09010000
#define RTCDR       0x000
#define RTCMR       0x004
#define RTCIMSC     0x010
#define RTCICR      0x01C
#define SPI         34

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "rtc: start\n"
    bl      gic_dist_on
    bl      gic_cpu_on
    mov     x0, #SPI
    bl      gic_irq_setup
    mov     x0, #SPI
    mov     x1, #0
    bl      gic_spi_route
    msr     daifclr, #2

    /* 1 */
    bl      reset_count
    mov     x0, #SPI
    mov     x1, #0x100                  /* ISENABLER */
    bl      gic_irq_set
    bl      arm_alarm
    mov     x0, #5000
    bl      wait_for_irq
    PRINT_KV "rtc: first=", x0
    /* 2 */
    bl      reset_count
    bl      arm_alarm
    mov     x0, #5000
    bl      wait_for_irq
    PRINT_KV "rtc: second=", x0
    /* 3 */
    bl      reset_count
    mov     x0, #SPI
    mov     x1, #0x180                  /* ICENABLER */
    bl      gic_irq_set
    bl      arm_alarm
    mov     x0, #2500
    bl      wait_for_irq
    PRINT_KV "rtc: while_disabled=", x0
    /* 4 */
    bl      reset_count
    mov     x0, #SPI
    mov     x1, #0x100
    bl      gic_irq_set
    mov     x0, #5000
    bl      wait_for_irq
    PRINT_KV "rtc: after_enable=", x0

    adrp    x1, exc_count
    ldr     x19, [x1, :lo12:exc_count]
    PRINT_KV "rtc: exceptions=", x19
    PRINT   "rtc: done\n"
    ldp     x29, x30, [sp], #16
    ret

/* The RTC's alarm one second ahead, its interrupt unmasked. */
arm_alarm:
    ldr     x2, =RTC
    ldr     w1, [x2, #RTCDR]
    add     w1, w1, #1
    str     w1, [x2, #RTCMR]
    mov     w1, #1
    str     w1, [x2, #RTCIMSC]
    ret

/* No interrupt counted yet: before a phase makes one possible. */
reset_count:
    adrp    x9, irq_count
    str     xzr, [x9, :lo12:irq_count]
    ret

/* Wait up to x0 ms for an interrupt; x0 = how many arrived since reset_count. */
wait_for_irq:
    stp     x29, x30, [sp, #-16]!
    mrs     x1, cntfrq_el0
    mul     x0, x0, x1
    mov     x1, #1000
    udiv    x0, x0, x1
    isb
    mrs     x2, cntvct_el0
    add     x2, x2, x0
1:  adrp    x9, irq_count
    ldr     x0, [x9, :lo12:irq_count]
    cbnz    x0, 2f
    isb
    mrs     x3, cntvct_el0
    cmp     x3, x2
    b.hs    2f
    yield
    b       1b
2:  ldp     x29, x30, [sp], #16
    ret

    .globl irq_handler
irq_handler:
    stp     x29, x30, [sp, #-16]!
    stp     x19, x20, [sp, #-16]!
    bl      gic_ack
    mov     x19, x0
    cmp     x1, #1020
    b.hs    2f                          /* spurious */
    cmp     x1, #SPI
    b.ne    1f
    ldr     x2, =RTC
    mov     w3, #1
    str     w3, [x2, #RTCICR]           /* the line low before the EOI */
    dsb     sy
    adrp    x9, irq_count
    ldr     x10, [x9, :lo12:irq_count]
    add     x10, x10, #1
    str     x10, [x9, :lo12:irq_count]
1:  mov     x0, x19
    bl      gic_eoi
2:  ldp     x19, x20, [sp], #16
    ldp     x29, x30, [sp], #16
    ret

    .bss
    .balign 8
irq_count:
    .quad   0
