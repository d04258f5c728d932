/* HVC: SMCCC and PSCI calls Keel answers, Keel's UID, unknown ids, a non-zero immediate, and
 * the registers SMCCC says a call preserves. */
#include "guest.h"

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "hvc: start\n"

    MOV64   x0, SMCCC_VERSION
    hvc     #0
    PRINT_KV "hvc: smccc_version=", x0

    MOV64   x0, PSCI_VERSION
    hvc     #0
    PRINT_KV "hvc: psci_version=", x0

    MOV64   x0, KEEL_CALL_UID
    hvc     #0
    mov     x19, x0
    mov     x20, x1
    mov     x21, x2
    mov     x22, x3
    PRINT_KV "hvc: uid0=", x19
    PRINT_KV "hvc: uid1=", x20
    PRINT_KV "hvc: uid2=", x21
    PRINT_KV "hvc: uid3=", x22

    MOV64   x0, PSCI_FEATURES
    MOV64   x1, PSCI_SYSTEM_OFF
    hvc     #0
    PRINT_KV "hvc: features(system_off)=", x0

    MOV64   x0, PSCI_FEATURES
    MOV64   x1, 0x840000FF
    hvc     #0
    PRINT_KV "hvc: features(unknown)=", x0

    MOV64   x0, 0xC6001234              /* vendor hypervisor range, no such call */
    hvc     #0
    PRINT_KV "hvc: unknown_vendor=", x0

    MOV64   x0, 0x82000000              /* SiP service: not Keel's */
    hvc     #0
    PRINT_KV "hvc: unknown_sip=", x0

    MOV64   x0, PSCI_VERSION
    hvc     #1                          /* SMCCC requires immediate 0 */
    PRINT_KV "hvc: imm1=", x0

    /* x4-x17 must come back unchanged. */
    mov     x4, #4
    mov     x5, #5
    mov     x6, #6
    mov     x7, #7
    mov     x8, #8
    mov     x9, #9
    mov     x10, #10
    mov     x11, #11
    mov     x12, #12
    mov     x13, #13
    mov     x14, #14
    mov     x15, #15
    mov     x16, #16
    mov     x17, #17
    MOV64   x0, SMCCC_VERSION
    hvc     #0
    add     x1, x4, x5
    add     x1, x1, x6
    add     x1, x1, x7
    add     x1, x1, x8
    add     x1, x1, x9
    add     x1, x1, x10
    add     x1, x1, x11
    add     x1, x1, x12
    add     x1, x1, x13
    add     x1, x1, x14
    add     x1, x1, x15
    add     x1, x1, x16
    add     x1, x1, x17
    mov     x19, x1
    PRINT_KV "hvc: preserved_sum=", x19   /* 4 + 5 + ... + 17 = 147 = 0x93 */

    adrp    x1, exc_count
    ldr     x19, [x1, :lo12:exc_count]
    PRINT_KV "hvc: exceptions=", x19
    PRINT   "hvc: done\n"
    ldp     x29, x30, [sp], #16
    ret
