#ifndef KEEL_CRC_H
#define KEEL_CRC_H
#include <stddef.h>
#include <stdint.h>

/* CRC-32 (IEEE 802.3, reflected: KeelCore's `CRC32`) of n bytes at p, continuing `crc` (0 to
 * start), with the CRC32 instructions: only on a CPU that has them (ID_AA64ISAR0_EL1.CRC32). */
uint32_t keel_crc32_hw(uint32_t crc, const uint8_t *p, size_t n);

#endif
