/* Hostile guest, memory (issue 6): reach for what is not the VM's. Keel's image and the boot
 * bundle in physical memory, the IPAs around the VM's RAM, other boards' devices, accesses to
 * the emulated devices that the syndrome cannot describe (pairs, exclusives: no ISV), cache
 * maintenance on device IPAs, a fetch from a device. Each prints "mem: NAME: exc=N ec=EC"
 * (lib/attack.S); the test expects one exception of the right class for each, and the guest
 * to carry on to its last line. */
#include "attack.h"

#define GICR0        0x080A0000

/* One load or store through x2 = addr, with \insn using x3/x4 and [x2]. */
.macro ACCESS name, addr, insn:vararg
    ATTACK_BEGIN
    MOV64   x2, \addr
    \insn
    ATTACK_END "mem: \name"
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "mem: start\n"

    /* Keel is loaded at PA 0x4008_0000; the same IPA is the VM's own RAM (PA 0x5008_0000),
     * so Keel's Image header (magic "ARM\x64" at +0x38) must not be visible there. */
    MOV64   x2, 0x40080038
    ldr     w20, [x2]
    MOV64   x3, 0x644d5241
    cmp     w20, w3
    cset    x20, eq
    PRINT_KV "mem: keel_magic_visible=", x20
    ACCESS  keel_ipa_write, 0x40080000, str x2, [x2]

    ACCESS  past_ram_read, 0x50000000, ldr x3, [x2]
    ACCESS  past_ram_write, 0x50000000, str x2, [x2]
    ACCESS  past_ram_last, 0x5FFFFFF8, ldr x3, [x2]
    ACCESS  below_ram, 0x3FFFFFF8, ldr x3, [x2]
    ACCESS  bundle_read, 0x60000000, ldr x3, [x2]   /* another VM's RAM; the bundle's PA */
    ACCESS  bundle_write, 0x60001000, str x2, [x2]
    ACCESS  host_uart, 0x09010000, ldr w3, [x2]     /* qemu-virt's RTC, not given */
    ACCESS  gicc_v2, 0x08010000, ldr w3, [x2]       /* GICv2's CPU interface: none on v3 */
    ACCESS  gicr_vcpu1, (GICR0 + 0x20000), str w3, [x2]
    ACCESS  zcu102_uart, 0xFF000000, str w3, [x2]
    ACCESS  zcu102_gicd, 0xF9010000, ldr w3, [x2]
    ACCESS  rpi4_uart, 0xFE201000, str w3, [x2]
    ACCESS  pcie_ecam, 0x4010000000, ldr w3, [x2]
    ACCESS  ipa_top, 0xFFFFFFFFF8, ldr x3, [x2]     /* last 8 bytes of the 40-bit IPA space */

    /* The emulated devices, with accesses a hypervisor cannot emulate from the syndrome. */
    ACCESS  uart_ldp, UART_BASE, ldp w3, w4, [x2]
    ACCESS  uart_stp, UART_BASE, stp x3, x4, [x2]
    ACCESS  gicd_ldp, GICD_BASE, ldp x3, x4, [x2]
    ACCESS  gicd_stp, (GICD_BASE + 0x100), stp w3, w4, [x2]
    ACCESS  gicr_ldp, GICR0, ldp w3, w4, [x2]
    ACCESS  uart_ldxr, UART_BASE, ldxr w3, [x2]
    /* No exclusive monitor is open (the LDXR above faulted), so STXR fails without any
     * access: the architecture's answer, status 1 in w4, no exception. */
    ATTACK_BEGIN
    MOV64   x2, GICD_BASE
    mov     w4, #7
    stxr    w4, w3, [x2]
    mov     x20, x4
    ATTACK_END "mem: gicd_stxr"
    PRINT_KV "mem: gicd_stxr status=", x20
    ACCESS  gicd_ldaxr, (GICD_BASE + 4), ldaxr w3, [x2]
    ACCESS  uart_unaligned, (UART_BASE + 1), ldr w3, [x2]
    ACCESS  gicd_unaligned, (GICD_BASE + 2), str w3, [x2]
    ACCESS  uart_ldr_post, UART_BASE, ldr w3, [x2], #4   /* writeback: no ISV */
    ACCESS  gicd_str_pre, (GICD_BASE + 0x100), str w3, [x2, #4]!
    ACCESS  uart_dc_zva, UART_BASE, dc zva, x2
    /* QEMU performs no cache maintenance and never faults on it: these reach neither the
     * guest's handler nor Keel (exc=0); on hardware they may trap, with no ISV. */
    ACCESS  gicd_dc_civac, GICD_BASE, dc civac, x2
    ACCESS  past_ram_dc_civac, 0x50000000, dc civac, x2

    /* SIMD loads and stores have no ISV either; FP/SIMD on first (CPACR_EL1.FPEN), or the
     * guest's own trap would take them before stage 2. */
    mov     x0, #(3 << 20)
    msr     cpacr_el1, x0
    isb
    ACCESS  uart_ld1, UART_BASE, ld1 {v0.4s}, [x2]
    ACCESS  gicd_st1, GICD_BASE, st1 {v0.2d}, [x2]
    ACCESS  gicd_ldr_q, GICD_BASE, ldr q0, [x2]

    /* Fetch from the emulated UART's address. */
    ATTACK_BEGIN
    MOV64   x2, UART_BASE
    RESUME_AT 1f
    blr     x2
1:  ATTACK_END "mem: uart_fetch"

    /* Keel still emulates the UART for this guest: everything above printed through it. */
    PRINT   "mem: still running\n"
    ldp     x29, x30, [sp], #16
    ret
