/* Spectre answers (issue 12): the CPU as the guest sees it (MIDR and the ID registers the
 * answers depend on), SMCCC_VERSION, SMCCC_ARCH_FEATURES for ARCH_WORKAROUND_1/2/3, then each
 * workaround called over HVC and over SMC. Every call must come back (x0 printed), with no
 * exception taken in the guest. */
#include "guest.h"

#define SMCCC_ARCH_WORKAROUND_1 0x80008000
#define SMCCC_ARCH_WORKAROUND_2 0x80007FFF
#define SMCCC_ARCH_WORKAROUND_3 0x80003FFF

/* x0 = ARCH_FEATURES(\wa) over HVC. */
.macro FEATURES wa
    MOV64   x0, SMCCC_ARCH_FEATURES
    MOV64   x1, \wa
    hvc     #0
.endm

/* Call workaround \wa through \insn (hvc or smc); x1 = 1 (WORKAROUND_2: enable). */
.macro CALL insn, wa
    MOV64   x0, \wa
    mov     x1, #1
    \insn   #0
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "spectre: start\n"

    mrs     x19, midr_el1
    PRINT_KV "spectre: midr=", x19
    mrs     x19, id_aa64pfr0_el1
    PRINT_KV "spectre: pfr0=", x19
    mrs     x19, id_aa64pfr1_el1
    PRINT_KV "spectre: pfr1=", x19
    mrs     x19, id_aa64mmfr1_el1
    PRINT_KV "spectre: mmfr1=", x19
    mrs     x19, S3_0_C0_C6_2           /* ID_AA64ISAR2_EL1 */
    PRINT_KV "spectre: isar2=", x19

    MOV64   x0, SMCCC_VERSION
    hvc     #0
    PRINT_KV "spectre: smccc_version=", x0

    FEATURES SMCCC_ARCH_WORKAROUND_1
    PRINT_KV "spectre: features(wa1)=", x0
    FEATURES SMCCC_ARCH_WORKAROUND_2
    PRINT_KV "spectre: features(wa2)=", x0
    FEATURES SMCCC_ARCH_WORKAROUND_3
    PRINT_KV "spectre: features(wa3)=", x0

    CALL    hvc, SMCCC_ARCH_WORKAROUND_1
    PRINT_KV "spectre: hvc wa1=", x0
    CALL    hvc, SMCCC_ARCH_WORKAROUND_2
    PRINT_KV "spectre: hvc wa2=", x0
    CALL    hvc, SMCCC_ARCH_WORKAROUND_3
    PRINT_KV "spectre: hvc wa3=", x0
    CALL    smc, SMCCC_ARCH_WORKAROUND_1
    PRINT_KV "spectre: smc wa1=", x0
    CALL    smc, SMCCC_ARCH_WORKAROUND_3
    PRINT_KV "spectre: smc wa3=", x0

    adrp    x1, exc_count
    ldr     x19, [x1, :lo12:exc_count]
    PRINT_KV "spectre: exceptions=", x19
    PRINT   "spectre: done\n"
    ldp     x29, x30, [sp], #16
    ret
