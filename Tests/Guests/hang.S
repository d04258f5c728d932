/* A guest that never powers off: it spins on WFE (each one a trap to Keel and back). Used to
 * check that `keel run --timeout` stops a hung run. */
#include "guest.h"

    .text
    .globl main
main:
    PRINT   "hang: spinning forever\n"
1:  wfe
    b       1b
