/*
 * What the freestanding Swift and C code needs from a libc: memset, memcpy, memmove, memcmp.
 * Built with -ffreestanding -fno-builtin so the compiler does not turn these loops back into
 * calls to themselves.
 */
#include <stddef.h>
#include <stdint.h>

/* Word at a time when both ends are 8-byte aligned (Keel runs -mstrict-align). */
void *memset(void *dst, int c, size_t n) {
    uint8_t *d = dst;
    if (((uintptr_t)d & 7) == 0) {
        uint64_t w = (uint8_t)c * 0x0101010101010101ull;
        for (; n >= 8; n -= 8, d += 8) *(uint64_t *)d = w;
    }
    while (n--) *d++ = (uint8_t)c;
    return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 7) == 0) {
        for (; n >= 8; n -= 8, d += 8, s += 8) *(uint64_t *)d = *(const uint64_t *)s;
    }
    while (n--) *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d < s) {
        while (n--) *d++ = *s++;
    } else {
        while (n--) d[n] = s[n];
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y) return *x - *y;
    return 0;
}
