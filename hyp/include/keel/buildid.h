#ifndef KEEL_BUILDID_H
#define KEEL_BUILDID_H
#include <stdint.h>

/* The GNU build-id note ld.lld writes (--build-id=sha1); keel.ld keeps it and names it.
 * Note layout: namesz, descsz, type (4 bytes each), "GNU\0", then the 20-byte SHA-1. */
extern const char keel_build_id_note[];
static inline uintptr_t keel_build_id(void) { return (uintptr_t)keel_build_id_note + 16; }
#endif
