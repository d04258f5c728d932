#ifndef KEEL_POOL_H
#define KEEL_POOL_H

/* 4 KiB pages for stage-2 translation tables. */
#define KEEL_PAGE_POOL_PAGES 64

/* Bytes reserved per vCPU (Swift's VCPU must fit; checked at boot). */
#define KEEL_VCPU_SLOT 2048

/* VMs a packed image may describe (SystemManifest.maxVMs), and bytes reserved per VM (Swift's
 * VM must fit; checked at boot). */
#define KEEL_MAX_VMS 4
#define KEEL_VM_SLOT 2048

/* One 4 KiB request page per VM that may serve devices (docs/device-model.md), written by Keel,
 * mapped read-only into that VM. */
#define KEEL_DM_PAGE 4096

#include "keel/config.h"

#ifndef __ASSEMBLER__
#include <stdint.h>
extern char keel_page_pool[];
extern char keel_vcpu_pool[];
extern char keel_vm_pool[];
extern char keel_dm_pages[];
static inline uintptr_t keel_dm_pages_base(void) { return (uintptr_t)keel_dm_pages; }
static inline uintptr_t keel_vm_pool_base(void) { return (uintptr_t)keel_vm_pool; }
static inline uintptr_t keel_vm_slot_size(void) { return KEEL_VM_SLOT; }
static inline uintptr_t keel_max_vms(void) { return KEEL_MAX_VMS; }
static inline uintptr_t keel_vcpu_pool_base(void) { return (uintptr_t)keel_vcpu_pool; }
static inline uintptr_t keel_vcpu_slot_size(void) { return KEEL_VCPU_SLOT; }
static inline uintptr_t keel_page_pool_base(void) { return (uintptr_t)keel_page_pool; }
static inline uintptr_t keel_page_pool_pages(void) { return KEEL_PAGE_POOL_PAGES; }
#endif
#endif
