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

/* VM storage: KEEL_MAX_VMS slots of KEEL_VM_SLOT bytes, zeroed with the BSS (a VM with no
 * vCPU is an unused slot). Out of Swift for the same reason as the vCPUs': a Swift global of
 * VMs is initialized lazily, and the trap path reaches it on every MMIO exit. */
    .balign 4096                    /* page-aligned: the UART fast path's adrp alone finds it */
    .globl keel_vm_pool
keel_vm_pool:
    .space KEEL_MAX_VMS * KEEL_VM_SLOT
    .size keel_vm_pool, . - keel_vm_pool

/* Request pages of the device-model VMs (hyp/devmodel): one page per VM slot, page aligned so
 * that stage 2 can map it alone. Keel writes them; each is mapped read-only into its VM. */
    .balign 4096
    .globl keel_dm_pages
keel_dm_pages:
    .space KEEL_MAX_VMS * KEEL_DM_PAGE
    .size keel_dm_pages, . - keel_dm_pages

/* The limits as absolute symbols, so host tools read them from the ELF (keel bench's RAM
 * figures) instead of repeating them. */
    .globl keel_max_cpus_value, keel_vcpu_slot_value, keel_stack_size_value, keel_vm_slot_value
    .set keel_max_cpus_value, KEEL_MAX_CPUS
    .set keel_vcpu_slot_value, KEEL_VCPU_SLOT
    .set keel_stack_size_value, KEEL_STACK_SIZE
    .set keel_vm_slot_value, KEEL_VM_SLOT
