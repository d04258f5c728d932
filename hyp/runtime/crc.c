/*
 * CRC-32 with FEAT_CRC32's instructions, eight bytes at a time: Keel checks a VM's images at boot
 * (a Linux kernel and initrd: tens of MiB), which through KeelCore's table took most of its boot
 * under QEMU. The same polynomial and bit order as KeelCore's `CRC32` (0xEDB88320, reflected).
 */
#include "keel/crc.h"

__attribute__((target("crc")))
uint32_t keel_crc32_hw(uint32_t crc, const uint8_t *p, size_t n) {
    crc = ~crc;
    for (; n && ((uintptr_t)p & 7); n--) crc = __builtin_arm_crc32b(crc, *p++);
    for (; n >= 8; n -= 8, p += 8) crc = __builtin_arm_crc32d(crc, *(const uint64_t *)p);
    while (n--) crc = __builtin_arm_crc32b(crc, *p++);
    return ~crc;
}
