/* Static memory pools. Page-aligned storage cannot be expressed in Swift, so it is reserved
 * here; Swift reaches it through keel_page_pool_base() in keel/pool.h. */
#include "keel/pool.h"

    .bss
    .balign 4096
    .globl keel_page_pool
keel_page_pool:
    .space KEEL_PAGE_POOL_PAGES * 4096
    .size keel_page_pool, . - keel_page_pool

/* vCPU storage: KEEL_MAX_CPUS slots of KEEL_VCPU_SLOT bytes, zeroed with the BSS. Swift checks
 * at boot that a VCPU fits a slot (VCPUs.checkLayout). Kept out of Swift because a Swift global
 * of this size would be initialized lazily (swift_once), which the trap path must not call. */
    .balign 4096
    .globl keel_vcpu_pool
keel_vcpu_pool:
    .space KEEL_MAX_CPUS * KEEL_VCPU_SLOT
    .size keel_vcpu_pool, . - keel_vcpu_pool

/* The limits as absolute symbols, so host tools read them from the ELF (keel bench's RAM
 * figures) instead of repeating them. */
    .globl keel_max_cpus_value, keel_vcpu_slot_value, keel_stack_size_value
    .set keel_max_cpus_value, KEEL_MAX_CPUS
    .set keel_vcpu_slot_value, KEEL_VCPU_SLOT
    .set keel_stack_size_value, KEEL_STACK_SIZE
