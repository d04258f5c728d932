/* Static memory pools. Page-aligned storage cannot be expressed in Swift, so it is reserved
 * here; Swift reaches it through keel_page_pool_base() in keel/pool.h. */
#include "keel/pool.h"

    .bss
    .balign 4096
    .globl keel_page_pool
keel_page_pool:
    .space KEEL_PAGE_POOL_PAGES * 4096
