#ifndef KEEL_POOL_H
#define KEEL_POOL_H

/* 4 KiB pages for stage-2 translation tables. */
#define KEEL_PAGE_POOL_PAGES 64

#ifndef __ASSEMBLER__
#include <stdint.h>
extern char keel_page_pool[];
static inline uintptr_t keel_page_pool_base(void) { return (uintptr_t)keel_page_pool; }
static inline uintptr_t keel_page_pool_pages(void) { return KEEL_PAGE_POOL_PAGES; }
#endif
#endif
