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

/* Word at a time when both ends share their alignment: loading a VM copies its images (a Linux
 * kernel and initrd: tens of MiB) through here, and byte by byte that was most of Keel's boot
 * under QEMU. Forward when the destination is below the source, else backward, so an overlap
 * is never overwritten before it is read. */
void *memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    int words = (((uintptr_t)d ^ (uintptr_t)s) & 7) == 0;
    if (d < s) {
        if (words) {
            for (; n && ((uintptr_t)d & 7); n--) *d++ = *s++;
            for (; n >= 32; n -= 32, d += 32, s += 32) {
                uint64_t a = ((const uint64_t *)s)[0], b = ((const uint64_t *)s)[1];
                uint64_t c = ((const uint64_t *)s)[2], e = ((const uint64_t *)s)[3];
                ((uint64_t *)d)[0] = a; ((uint64_t *)d)[1] = b;
                ((uint64_t *)d)[2] = c; ((uint64_t *)d)[3] = e;
            }
            for (; n >= 8; n -= 8, d += 8, s += 8) *(uint64_t *)d = *(const uint64_t *)s;
        }
        while (n--) *d++ = *s++;
    } else {
        if (words) {
            for (; n && ((uintptr_t)(d + n) & 7); n--) d[n - 1] = s[n - 1];
            for (; n >= 32; n -= 32) {
                const uint64_t *from = (const uint64_t *)(s + n - 32);
                uint64_t a = from[0], b = from[1], c = from[2], e = from[3];
                uint64_t *to = (uint64_t *)(d + n - 32);
                to[0] = a; to[1] = b; to[2] = c; to[3] = e;
            }
            for (; n >= 8; n -= 8) *(uint64_t *)(d + n - 8) = *(const uint64_t *)(s + n - 8);
        }
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
