// SPDX-License-Identifier: GPL-2.0
/*
 * keel-dm-check: exercises /dev/keel-dm (keel-dm.ko) from user space, as keel-dm uses it, and
 * prints one line per check: "KEEL-DMCHECK: ok NAME" or "KEEL-DMCHECK: FAIL NAME (what)".
 * The tests (DeviceModelDriverTests) boot it in a Linux VM whose device tree has the
 * keel,device-model node.
 *
 *   keel-dm-check [--touch] [--no-hvc]
 *
 * --touch reads the request page's magic and writes and reads back the first window through two
 * mappings (only where both are backed by memory). --no-hvc skips the hypercall that is allowed
 * through (where nothing at EL2 would answer it).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "keel_dm.h"

_Static_assert(KEEL_DM_IOC_HVC == _IOWR('K', 1, struct keel_dm_hvc), "keel_dm.h's ioctl number");

static int failures;

static void check(const char *name, int ok, const char *what)
{
	if (ok) {
		printf("KEEL-DMCHECK: ok %s\n", name);
	} else {
		printf("KEEL-DMCHECK: FAIL %s (%s)\n", name, what);
		failures++;
	}
}

/* A call that must fail with `error`. */
static void refused(const char *name, long result, int error)
{
	char what[96];
	int got = errno;

	snprintf(what, sizeof(what), "result %ld, errno %d %s, wanted errno %d", result, got, strerror(got), error);
	check(name, result == -1 && got == error, what);
}

static long map_errno(void *p)
{
	return p == MAP_FAILED ? -1 : 0;
}

/* The windows from the node's reg after the request page (big-endian <2 address, 2 size> cells), read
 * through the device's own of_node, whatever the node is called. */
static int windows(uint64_t base[], uint64_t size[], int max)
{
	unsigned char cells[16 * 17];
	int fd = open("/sys/class/misc/keel-dm/device/of_node/reg", O_RDONLY);
	ssize_t n;
	int count = 0;

	if (fd < 0)
		return 0;
	n = read(fd, cells, sizeof(cells));
	close(fd);
	for (ssize_t at = 16; at + 16 <= n && count < max; at += 16, count++) {
		base[count] = size[count] = 0;
		for (int i = 0; i < 8; i++) {
			base[count] = base[count] << 8 | cells[at + i];
			size[count] = size[count] << 8 | cells[at + 8 + i];
		}
	}
	return count;
}

int main(int argc, char **argv)
{
	int touch = 0, hvc_allowed = 1;
	long page = sysconf(_SC_PAGESIZE);
	struct keel_dm_hvc hvc;
	uint64_t base[16], size[16], count;
	char what[128];
	void *p;
	int fd, n;

	for (int i = 1; i < argc; i++) {
		touch |= !strcmp(argv[i], "--touch");
		hvc_allowed &= !!strcmp(argv[i], "--no-hvc");
	}
	fd = open(KEEL_DM_PATH, O_RDWR | O_NONBLOCK);
	snprintf(what, sizeof(what), "errno %d %s", errno, strerror(errno));
	check("open", fd >= 0, what);
	if (fd < 0)
		return 1;

	/* Hypercalls: only Keel's device-model ids get through, and only through KEEL_DM_IOC_HVC. */
	memset(&hvc, 0, sizeof(hvc));
	hvc.x[0] = 0x84000000;  /* PSCI_VERSION: a real call, but not one of Keel's device-model ids */
	refused("ioctl-foreign-id", ioctl(fd, KEEL_DM_IOC_HVC, &hvc), EINVAL);
	hvc.x[0] = KEEL_DM_HVC_LAST + 1;
	refused("ioctl-id-above", ioctl(fd, KEEL_DM_IOC_HVC, &hvc), EINVAL);
	hvc.x[0] = KEEL_DM_HVC_FIRST - 1;
	refused("ioctl-id-below", ioctl(fd, KEEL_DM_IOC_HVC, &hvc), EINVAL);
	refused("ioctl-other-command", ioctl(fd, _IOWR('K', 2, struct keel_dm_hvc), &hvc), ENOTTY);
	refused("ioctl-bad-pointer", ioctl(fd, KEEL_DM_IOC_HVC, (void *)16), EFAULT);
	if (hvc_allowed) {
		/* The last id of the range: no call of Keel's yet, so its answer is NOT_SUPPORTED (-1). */
		memset(&hvc, 0, sizeof(hvc));
		hvc.x[0] = KEEL_DM_HVC_LAST;
		n = ioctl(fd, KEEL_DM_IOC_HVC, &hvc);
		printf("KEEL-DMCHECK: hvc 0x%llx -> x0 0x%llx\n", (unsigned long long)KEEL_DM_HVC_LAST, hvc.x[0]);
		snprintf(what, sizeof(what), "ioctl %d errno %d", n, errno);
		check("ioctl-device-model-id", n == 0, what);
	}

	/* The request page: read-only, one page, at offset 0 only. */
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	check("mmap-page", p != MAP_FAILED, strerror(errno));
	if (p != MAP_FAILED) {
		refused("mprotect-page-write", mprotect(p, page, PROT_READ | PROT_WRITE), EACCES);
		if (touch) {
			check("page-magic", !memcmp(p, "KEELDMRQ", 8), "no KEELDMRQ at the start of the page");
		}
		munmap(p, page);
	}
	refused("mmap-page-write", map_errno(mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)), EACCES);
	refused("mmap-page-exec", map_errno(mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0)), EACCES);
	refused("mmap-page-two-pages", map_errno(mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd, 0)), EINVAL);
	refused("mmap-offset-8192", map_errno(mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 2 * page)), EINVAL);
	/* The answer page (offset 4096): refused before the driver hands it to Keel when private or
	 * not one page, so without a hypercall. */
	refused("mmap-answers-private", map_errno(mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, page)), EINVAL);
	refused("mmap-answers-two-pages", map_errno(mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, page)), EINVAL);

	/* The windows: read-write and shared, inside a reg range only. */
	n = windows(base, size, 16);
	printf("KEEL-DMCHECK: windows %d\n", n);
	for (int i = 0; i < n; i++) {
		p = mmap(NULL, size[i], PROT_READ | PROT_WRITE, MAP_SHARED, fd, base[i]);
		snprintf(what, sizeof(what), "window 0x%llx size 0x%llx: %s", (unsigned long long)base[i],
			 (unsigned long long)size[i], strerror(errno));
		check("mmap-window", p != MAP_FAILED, what);
		if (p != MAP_FAILED && touch) {
			/* A store through one mapping is seen through another of the same window. */
			volatile uint64_t *first = p;
			volatile uint64_t *again = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, base[i]);

			check("mmap-window-again", again != MAP_FAILED, strerror(errno));
			if (again != MAP_FAILED) {
				first[1] = 0x4b45454c2d444d31ull ^ base[i];
				check("window-write-read", again[1] == (0x4b45454c2d444d31ull ^ base[i]), "not seen");
				munmap((void *)again, page);
			}
		}
		if (p != MAP_FAILED)
			munmap(p, size[i]);
		refused("mmap-window-past-end", map_errno(mmap(NULL, size[i] + page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, base[i])), EINVAL);
		refused("mmap-window-before", map_errno(mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, base[i] - page)), EINVAL);
		refused("mmap-window-private", map_errno(mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, base[i])), EINVAL);
		refused("mmap-window-exec", map_errno(mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_SHARED, fd, base[i])), EACCES);
	}

	/* No request interrupt yet: nothing to read, and poll says so. */
	refused("read-short", read(fd, &count, 4), EINVAL);
	refused("read-nonblocking", read(fd, &count, sizeof(count)), EAGAIN);
	{
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		n = poll(&pfd, 1, 0);
		snprintf(what, sizeof(what), "poll %d revents 0x%x", n, pfd.revents);
		check("poll-idle", n == 0, what);
	}
	close(fd);
	printf("KEEL-DMCHECK: finished with %d failures\n", failures);
	return failures != 0;
}
