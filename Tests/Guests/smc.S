/* SMC: trapped by Keel (HCR_EL2.TSC), answered like HVC, and resumed after the SMC. Keel's UID
 * only comes from Keel: the firmware under it would answer NOT_SUPPORTED. Powers off by SMC. */
#include "guest.h"

    .text
    .globl main
main:
    PRINT   "smc: start\n"

    MOV64   x0, KEEL_CALL_UID
    smc     #0
    mov     x19, x0
    mov     x20, x3
    PRINT_KV "smc: uid0=", x19
    PRINT_KV "smc: uid3=", x20

    MOV64   x0, PSCI_VERSION
    smc     #0
    PRINT_KV "smc: psci_version=", x0

    MOV64   x0, 0xC4001234              /* standard service range, no such PSCI call */
    smc     #0
    PRINT_KV "smc: unknown=", x0

    adrp    x1, exc_count
    ldr     x19, [x1, :lo12:exc_count]
    PRINT_KV "smc: exceptions=", x19
    PRINT   "smc: powering off by SMC\n"
    MOV64   x0, PSCI_SYSTEM_OFF
    smc     #0
    PRINT   "smc: SYSTEM_OFF returned\n"
    ret
