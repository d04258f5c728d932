/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The interface of /dev/keel-dm (docs/device-model.md), shared by keel-dm.ko and keel-dm.
 *
 * No includes and no function-like macros: keel-dm is Embedded Swift compiled freestanding, with
 * no kernel uapi headers on its include path, and Swift imports only plain constants. So the
 * ioctl number is written out; keel_dm.c checks it against _IOWR('K', 1, struct keel_dm_hvc).
 */
#ifndef KEEL_DM_H
#define KEEL_DM_H

/* The device file; mode 0600 (root only). */
#define KEEL_DM_PATH "/dev/keel-dm"

/* ioctl(fd, KEEL_DM_IOC_HVC, &hvc): the SMCCC hypercall x[0] with x[1..4]; x0 comes back in x[0]. */
struct keel_dm_hvc {
	unsigned long long x[5];
};

/* _IOWR('K', 1, struct keel_dm_hvc): read-write (3 << 30), 40 bytes (<< 16), 'K' << 8, 1. */
#define KEEL_DM_IOC_HVC 0xC0284B01u

/*
 * mmap(offset KEEL_DM_ANSWERS_OFFSET, 4096, PROT_READ | PROT_WRITE, MAP_SHARED): the answer page,
 * a page of the VM's RAM the driver hands Keel with KEEL_DM_ANSWERS (docs/device-model.md); ENODEV
 * when Keel does not take it (complete with KEEL_DM_COMPLETE then).
 */
#define KEEL_DM_ANSWERS_OFFSET 4096u
#define KEEL_DM_HVC_ANSWERS 0x86000023u

/* The only function ids the driver passes on (Keel's device-model calls); others: -EINVAL. */
#define KEEL_DM_HVC_FIRST 0x86000020u
#define KEEL_DM_HVC_LAST 0x8600002Fu

#endif
