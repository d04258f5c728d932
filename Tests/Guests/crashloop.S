/* A crash loop: every boot says so and resets its VM (PSCI SYSTEM_RESET), for ever, so only its
 * VM's reset_limit stops it. */
#include "guest.h"

#define PSCI_SYSTEM_RESET 0x84000009

    .text
    .globl main
main:
    PRINT   "crashloop: booted, resetting\n"
    MOV64   x0, PSCI_SYSTEM_RESET
    hvc     #0
    PRINT   "crashloop: SYSTEM_RESET returned\n"
    ret
