/* The `make run` demo: a guest that says hello through its emulated UART, asks who it runs on,
 * and powers off. */
#include "guest.h"

    .text
    .globl main
main:
    stp     x29, x30, [sp, #-16]!
    PRINT   "Hello from a bare-metal guest at EL1, running on Keel.\n"
    MOV64   x0, KEEL_CALL_UID
    hvc     #0
    PRINT_KV "demo: hypervisor UID word 0 = ", x0
    MOV64   x0, PSCI_VERSION
    hvc     #0
    PRINT_KV "demo: PSCI version = ", x0
    mrs     x19, mpidr_el1
    PRINT_KV "demo: MPIDR_EL1 = ", x19
    mrs     x19, currentel
    lsr     x19, x19, #2
    PRINT_KV "demo: CurrentEL = ", x19
    PRINT   "demo: powering off\n"
    ldp     x29, x30, [sp], #16
    ret
