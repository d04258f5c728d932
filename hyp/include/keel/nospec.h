/*
 * Spectre variant 1: no speculation past the bounds check of a guest-supplied index.
 *
 * After `if (index < size)` passed, the CPU may still have run ahead with an index out of
 * bounds before the branch resolved, and loaded from Keel's memory at it. keel_index_nospec
 * gives `index` when it is below `size` and 0 otherwise, computed without a branch (cmp, then
 * sbc turns the carry into an all-ones or all-zero mask), followed by CSDB, which keeps later
 * instructions from using a mask the CPU only predicted. Linux's array_index_mask_nospec.
 * Use it where the index reaches memory: the pointer arithmetic into a pool or a bank.
 */
#ifndef KEEL_NOSPEC_H
#define KEEL_NOSPEC_H

#include <stdint.h>

static inline __attribute__((always_inline)) uint64_t keel_index_nospec(uint64_t index, uint64_t size) {
    uint64_t mask;
    __asm__ volatile("cmp %1, %2\n\tsbc %0, xzr, xzr" : "=r"(mask) : "r"(index), "r"(size) : "cc");
    __asm__ volatile("hint #20" ::: "memory");  /* CSDB */
    return index & mask;
}

#endif
