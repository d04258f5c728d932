/*
 * What keel-dm (Embedded Swift, compiled for aarch64-none-none-elf and linked statically against
 * Debian's glibc for arm64) needs from Linux: the few libc calls it makes, declared here by hand
 * (no libc headers on a freestanding target's include path; the ABI is aarch64 Linux LP64), the
 * /dev/keel-dm interface (docs/device-model.md; the same values as keel-dm.ko's keel_dm.h), and
 * the loads, stores and barriers on memory another VM or Keel writes.
 */
#ifndef KEEL_DM_LINUX_H
#define KEEL_DM_LINUX_H

#include <stdint.h>
#include <stddef.h>

/* --- /dev/keel-dm (keel_dm.h of Sources/KeelDMDriver holds the same) ---------------------- */
struct keel_dm_hvc {
	unsigned long long x[5];
};
/* _IOWR('K', 1, struct keel_dm_hvc): read-write (3 << 30), 40 bytes (<< 16), 'K' << 8, 1. */
#define KEEL_DM_IOC_HVC 0xC0284B01u
/* mmap offset of the answer page (read-write, shared). */
#define KEEL_DM_ANSWERS_OFFSET 4096

/* --- libc (glibc, aarch64) ---------------------------------------------------------------- */
int open(const char *path, int flags, ...);
int close(int fd);
long read(int fd, void *buffer, size_t count);
long write(int fd, const void *buffer, size_t count);
long pread(int fd, void *buffer, size_t count, long offset);
long pwrite(int fd, const void *buffer, size_t count, long offset);
long lseek(int fd, long offset, int whence);
int fsync(int fd);
int ioctl(int fd, unsigned long request, ...);
void *mmap(void *address, size_t length, int protection, int flags, int fd, long offset);
int msync(void *address, size_t length, int flags);
int *__errno_location(void);
char *strerror(int error);
size_t strlen(const char *s);
void exit(int status);
void *memcpy(void *to, const void *from, size_t count);

#define KEEL_O_RDONLY 0
#define KEEL_O_RDWR 2
#define KEEL_O_CLOEXEC 0x80000
#define KEEL_PROT_READ 1
#define KEEL_PROT_WRITE 2
#define KEEL_MAP_SHARED 1
#define KEEL_MAP_POPULATE 0x8000
#define KEEL_MS_SYNC 4
#define KEEL_SEEK_END 2
#define KEEL_EINTR 4

/* open() and ioctl() are variadic, which Swift does not import: fixed-argument wrappers. */
static inline int keel_open(const char *path, int flags) { return open(path, flags | KEEL_O_CLOEXEC); }
static inline int keel_errno(void) { return *__errno_location(); }
static inline int keel_ioctl_hvc(int fd, struct keel_dm_hvc *call) { return ioctl(fd, KEEL_DM_IOC_HVC, call); }
static inline int keel_mmap_failed(void *p) { return p == (void *)-1; }

/* --- memory another agent writes ---------------------------------------------------------- */
/* After a completion, and after a polling pass that found nothing: the spin-loop hint Linux's
 * cpu_relax() gives on arm64. On a core it frees the pipeline for a sibling thread; under QEMU's
 * round-robin TCG (-icount, one vCPU at a time) it ends the CPU's time slice, so a frontend woken
 * by a completion runs at once, as it would on its own core, instead of after the device model's
 * slice (millions of instructions when it spins) or its way back to sleep. */
static inline void keel_spin_hint(void) { __asm__ volatile("yield" ::: "memory"); }
/* The virtual counter: when keel-dm picked a request up (KEEL_DM_COMPLETE's x4). */
static inline uint64_t keel_cntvct(void) {
	uint64_t value;
	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(value) :: "memory");
	return value;
}
/* Loads before it complete before loads after it (a sequence before the slot's fields, an
 * avail.idx before the ring entries it publishes). */
static inline void keel_acquire_fence(void) { __asm__ volatile("dmb ishld" ::: "memory"); }
/* Stores before it are seen before stores after it (used elements before used.idx). */
static inline void keel_release_fence(void) { __asm__ volatile("dmb ish" ::: "memory"); }
/* Stores before it are seen before loads after it complete (used.idx before avail.flags). */
static inline void keel_full_fence(void) { __asm__ volatile("dmb ish" ::: "memory"); }

/* Single-copy-atomic, never torn or merged: the other side may be writing. */
static inline uint8_t keel_ld8(const void *base, uint64_t offset) { return *(const volatile uint8_t *)((const char *)base + offset); }
static inline uint16_t keel_ld16(const void *base, uint64_t offset) { return *(const volatile uint16_t *)((const char *)base + offset); }
static inline uint32_t keel_ld32(const void *base, uint64_t offset) { return *(const volatile uint32_t *)((const char *)base + offset); }
static inline uint64_t keel_ld64(const void *base, uint64_t offset) { return *(const volatile uint64_t *)((const char *)base + offset); }
static inline void keel_st8(void *base, uint64_t offset, uint8_t v) { *(volatile uint8_t *)((char *)base + offset) = v; }
static inline void keel_st16(void *base, uint64_t offset, uint16_t v) { *(volatile uint16_t *)((char *)base + offset) = v; }
static inline void keel_st32(void *base, uint64_t offset, uint32_t v) { *(volatile uint32_t *)((char *)base + offset) = v; }
static inline void keel_st64(void *base, uint64_t offset, uint64_t v) { *(volatile uint64_t *)((char *)base + offset) = v; }

/* An answer in the answer page: its sequence with release order (stlr: the value before it is seen
 * first), complete (dsb) before the `sev` that ends the WFE Keel's parked CPU waits in. */
static inline void keel_publish32(void *base, uint64_t offset, uint32_t v) {
	__asm__ volatile("stlr %w1, [%0]; dsb ishst; sev" :: "r"((char *)base + offset), "r"(v) : "memory");
}

#endif
