/* RAS error records and LORegions (issue 12, item 5). Keel gives guests neither: the ID
 * registers must say so (ID_AA64PFR0.RAS, ID_AA64PFR1.RAS_frac, ID_AA64MMFR1.LO and the AArch32
 * ID_PFR0.RAS, ID_PFR2.RAS_frac read 0), and every access to the error record and LORegion
 * registers must trap to Keel (HCR_EL2.TERR, TLOR) and come back as UNDEF, as it would on a CPU
 * without the features: a guest must not read or clear error records the host's firmware and
 * other VMs share. Prints "ras: FIELD=VALUE" and "ras: NAME: exc=N ec=EC" (lib/attack.S). */
#include "attack.h"

#define GARBAGE 0xDEADBEEFCAFEF00D

.macro ACCESS name, insn:vararg
    ATTACK_BEGIN
    MOV64   x1, GARBAGE
    \insn
    ATTACK_END "ras: \name"
.endm

/* Print field [low+3:low] of the ID register `reg` as "ras: NAME=V". */
.macro FIELD name, reg, low
    mrs     x19, \reg
    ubfx    x19, x19, #\low, #4
    PRINT_KV "ras: \name=", x19
.endm

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "ras: start\n"

    FIELD   pfr0_ras, id_aa64pfr0_el1, 28
    FIELD   pfr1_ras_frac, id_aa64pfr1_el1, 12
    FIELD   mmfr1_lo, id_aa64mmfr1_el1, 16
    FIELD   id_pfr0_ras, id_pfr0_el1, 28
    FIELD   id_pfr2_ras_frac, S3_0_C0_C3_4, 8

    /* Error records (FEAT_RAS): ERRIDR_EL1, ERRSELR_EL1, ERX*_EL1. */
    ACCESS  erridr_read, mrs x2, S3_0_C5_C3_0
    ACCESS  errselr_read, mrs x2, S3_0_C5_C3_1
    ACCESS  errselr_write, msr S3_0_C5_C3_1, xzr
    ACCESS  erxfr_read, mrs x2, S3_0_C5_C4_0
    ACCESS  erxctlr_write, msr S3_0_C5_C4_1, x1
    ACCESS  erxstatus_read, mrs x2, S3_0_C5_C4_2
    ACCESS  erxstatus_write, msr S3_0_C5_C4_2, x1
    ACCESS  erxaddr_read, mrs x2, S3_0_C5_C4_3
    ACCESS  erxmisc0_read, mrs x2, S3_0_C5_C5_0
    ACCESS  erxmisc1_write, msr S3_0_C5_C5_1, x1

    /* LORegions (FEAT_LOR): LORSA, LOREA, LORN, LORC, LORID. */
    ACCESS  lorsa_write, msr S3_0_C10_C4_0, x1
    ACCESS  lorea_read, mrs x2, S3_0_C10_C4_1
    ACCESS  lorn_write, msr S3_0_C10_C4_2, x1
    ACCESS  lorc_read, mrs x2, S3_0_C10_C4_3
    ACCESS  lorc_write, msr S3_0_C10_C4_3, x1
    ACCESS  lorid_read, mrs x2, S3_0_C10_C4_7

    PRINT   "ras: still running\n"
    ldp     x29, x30, [sp], #16
    ret
