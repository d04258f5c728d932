/* An exception storm: reads a PMU register (Keel makes it UNDEF) in a loop that never ends, so
 * only its VM's fault_limit stops it. Beside it, other VMs must run to their end. */
#include "guest.h"

    .text
    .globl main
main:
    PRINT   "storm: start\n"
1:  mrs     x0, pmccntr_el0
    b       1b
