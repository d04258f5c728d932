// SPDX-License-Identifier: GPL-2.0
/*
 * keel-dm.ko: what keel-dm, the device model in user space, needs from the kernel of Keel's
 * device-model VM (docs/device-model.md), and nothing more:
 *
 *   mmap offset 0                the request page (reg[0]), read-only
 *   mmap offset 4096             the answer page (a page of this VM's RAM, handed to Keel with
 *                                KEEL_DM_ANSWERS at each such mmap), read-write, MAP_SHARED
 *   mmap offset = a window's IPA  a frontend's RAM (reg[1..]), read-write, MAP_SHARED
 *   read() / poll()              the request interrupts since the last read()
 *   ioctl(KEEL_DM_IOC_HVC)       Keel's device-model hypercalls (0x86000020-0x8600002F)
 *
 * Debian's kernel has neither uio_pdrv_genirq nor a way to map arbitrary guest-physical ranges
 * into a process, hence this driver. It is C because Linux requires it.
 */
#include <linux/arm-smccc.h>
#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/interrupt.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mod_devicetable.h>
#include <linux/platform_device.h>
#include <linux/poll.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "keel_dm.h"

/* keel_dm.h writes the number out for Swift; it must be the one _IOWR gives. */
static_assert(KEEL_DM_IOC_HVC == _IOWR('K', 1, struct keel_dm_hvc));
static_assert(sizeof(struct keel_dm_hvc) == 40);

/* A device-model VM serves at most 16 devices (DeviceModel.maxDevices), so 16 frontends. */
#define KEEL_DM_MAX_WINDOWS 16

/*
 * One device-model node per VM, so one static instance. Static rather than devm-allocated: an
 * open file keeps using it even if the device is unbound meanwhile (the module itself cannot go
 * while a file is open: the fops' owner pins it).
 */
static struct {
	struct resource page;
	struct resource windows[KEEL_DM_MAX_WINDOWS];
	unsigned int window_count;
	/* Request interrupts not yet returned by read(); the handler adds, read() takes all. */
	atomic_long_t pending;
	wait_queue_head_t wait;
	bool probed;
	/*
	 * The answer page: allocated at module load, freed at unload (a mapping holds the file, the
	 * file the module, so never while keel-dm can reach it); `answering` once Keel took it.
	 */
	unsigned long answers;
	bool answering;
} keel_dm = {
	.pending = ATOMIC_LONG_INIT(0),
	.wait = __WAIT_QUEUE_HEAD_INITIALIZER(keel_dm.wait),
};

static irqreturn_t keel_dm_interrupt(int irq, void *data)
{
	atomic_long_inc(&keel_dm.pending);
	wake_up_interruptible(&keel_dm.wait);
	return IRQ_HANDLED;
}

/* Blocks until a request interrupt arrived, then returns (as a u64) how many and starts over. */
static ssize_t keel_dm_read(struct file *file, char __user *buf, size_t len, loff_t *ppos)
{
	u64 count;
	int ret;

	if (len < sizeof(count))
		return -EINVAL;
	/* Another reader may take the count between the wake-up and the exchange: wait again. */
	while (!(count = atomic_long_xchg(&keel_dm.pending, 0))) {
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(keel_dm.wait, atomic_long_read(&keel_dm.pending));
		if (ret)
			return ret;
	}
	if (copy_to_user(buf, &count, sizeof(count))) {
		atomic_long_add(count, &keel_dm.pending);  /* not delivered: keep them */
		return -EFAULT;
	}
	return sizeof(count);
}

static __poll_t keel_dm_poll(struct file *file, poll_table *wait)
{
	poll_wait(file, &keel_dm.wait, wait);
	return atomic_long_read(&keel_dm.pending) ? EPOLLIN | EPOLLRDNORM : 0;
}

/* True when [offset, offset + size) lies inside `r`; written so that nothing can wrap. */
static bool keel_dm_inside(const struct resource *r, u64 offset, u64 size)
{
	return offset >= r->start && offset <= r->end && size <= r->end - offset + 1;
}

/*
 * The request page or a window, mapped cached: both are Normal memory to Keel (the windows are
 * the frontends' RAM, the page is written by Keel through a cacheable mapping), so the vma's own
 * page protection is right and a Device or non-cacheable mapping would only be slower. Never
 * executable: Keel maps the windows execute-never, and keel-dm has no code there.
 */
static int keel_dm_mmap(struct file *file, struct vm_area_struct *vma)
{
	u64 offset = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 size = vma->vm_end - vma->vm_start;
	const struct resource *r = NULL;
	struct arm_smccc_res res;
	unsigned int i;

	if (vma->vm_flags & VM_EXEC)
		return -EACCES;
	if (offset == KEEL_DM_ANSWERS_OFFSET) {
		/* keel-dm writes its answers here; Keel reads them. Shared, or they never leave. */
		if (size != PAGE_SIZE || !(vma->vm_flags & VM_SHARED))
			return -EINVAL;
		/*
		 * Handed to Keel here rather than at probe, so that a kernel with nothing at EL2 to
		 * answer an HVC loads the driver all the same. Again at each mmap: the same page, and
		 * a device model that restarted (Keel forgot it) gives it again.
		 */
		arm_smccc_1_1_hvc(KEEL_DM_HVC_ANSWERS, virt_to_phys((void *)keel_dm.answers), 0, 0, 0, &res);
		if (res.a0 != 0)
			return -ENODEV;
		keel_dm.answering = true;
		vma->vm_flags &= ~VM_MAYEXEC;
		offset = virt_to_phys((void *)keel_dm.answers);
	} else if (offset == 0) {
		/* Keel writes it and its stage 2 is read-only: no write, and no mprotect to one. */
		if (size > resource_size(&keel_dm.page))
			return -EINVAL;
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		vma->vm_flags &= ~(VM_MAYWRITE | VM_MAYEXEC);  /* vm_flags_clear() from 6.3 on */
		offset = keel_dm.page.start;
	} else {
		for (i = 0; i < keel_dm.window_count; i++)
			if (keel_dm_inside(&keel_dm.windows[i], offset, size))
				r = &keel_dm.windows[i];
		if (!r)
			return -EINVAL;
		/* A private mapping would copy on write: keel-dm's stores would never reach the frontend. */
		if (!(vma->vm_flags & VM_SHARED))
			return -EINVAL;
		vma->vm_flags &= ~VM_MAYEXEC;
	}
	return remap_pfn_range(vma, vma->vm_start, offset >> PAGE_SHIFT, size, vma->vm_page_prot);
}

/* Keel's device-model hypercalls, and only those: the process cannot make any other HVC. */
static long keel_dm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct keel_dm_hvc hvc;
	struct arm_smccc_res res;

	if (cmd != KEEL_DM_IOC_HVC)
		return -ENOTTY;
	if (copy_from_user(&hvc, (void __user *)arg, sizeof(hvc)))
		return -EFAULT;
	if (hvc.x[0] < KEEL_DM_HVC_FIRST || hvc.x[0] > KEEL_DM_HVC_LAST)
		return -EINVAL;
	arm_smccc_1_1_hvc(hvc.x[0], hvc.x[1], hvc.x[2], hvc.x[3], hvc.x[4], &res);
	/* Only x0 changes: one word back rather than the whole struct (a completion's path). */
	if (put_user(res.a0, &((struct keel_dm_hvc __user *)arg)->x[0]))
		return -EFAULT;
	return 0;
}

static const struct file_operations keel_dm_fops = {
	.owner = THIS_MODULE,
	.read = keel_dm_read,
	.poll = keel_dm_poll,
	.mmap = keel_dm_mmap,
	.unlocked_ioctl = keel_dm_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice keel_dm_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "keel-dm",
	.fops = &keel_dm_fops,
	.mode = 0600,
};

/* keel-dm@b100000 { compatible = "keel,device-model"; reg = <page>, <windows...>; interrupts; } */
static int keel_dm_probe(struct platform_device *pdev)
{
	struct resource *r;
	unsigned int i;
	int irq, ret;

	if (keel_dm.probed)
		return -EBUSY;
	r = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	if (!r || resource_size(r) != PAGE_SIZE || !PAGE_ALIGNED(r->start)) {
		dev_err(&pdev->dev, "reg[0] must be the 4 KiB request page\n");
		return -EINVAL;
	}
	keel_dm.page = *r;
	keel_dm.window_count = 0;
	for (i = 1; (r = platform_get_resource(pdev, IORESOURCE_MEM, i)); i++) {
		/* Offsets 0 and 4096 are the request and answer pages', so no window may start there. */
		if (i > KEEL_DM_MAX_WINDOWS || r->start <= KEEL_DM_ANSWERS_OFFSET || !PAGE_ALIGNED(r->start) ||
		    !PAGE_ALIGNED(resource_size(r))) {
			dev_err(&pdev->dev, "reg[%u] %pR: at most %d page-aligned windows above 0\n",
				i, r, KEEL_DM_MAX_WINDOWS);
			return -EINVAL;
		}
		keel_dm.windows[keel_dm.window_count++] = *r;
	}
	irq = platform_get_irq(pdev, 0);
	if (irq < 0)
		return irq;
	/* The trigger (edge) comes from the device tree. */
	ret = devm_request_irq(&pdev->dev, irq, keel_dm_interrupt, 0, "keel-dm", NULL);
	if (ret)
		return ret;
	keel_dm_misc.parent = &pdev->dev;
	ret = misc_register(&keel_dm_misc);
	if (ret)
		return ret;
	keel_dm.probed = true;
	dev_info(&pdev->dev, "request page %pR, %u window(s), irq %d: /dev/keel-dm\n",
		 &keel_dm.page, keel_dm.window_count, irq);
	return 0;
}

static int keel_dm_remove(struct platform_device *pdev)
{
	struct arm_smccc_res res;

	misc_deregister(&keel_dm_misc);
	/* Keel reads the page no more; a mapping keel-dm still has writes into it harmlessly. */
	if (keel_dm.answering)
		arm_smccc_1_1_hvc(KEEL_DM_HVC_ANSWERS, 0, 0, 0, 0, &res);
	keel_dm.answering = false;
	keel_dm.probed = false;
	return 0;
}

static const struct of_device_id keel_dm_of_match[] = {
	{ .compatible = "keel,device-model" },
	{}
};
MODULE_DEVICE_TABLE(of, keel_dm_of_match);

static struct platform_driver keel_dm_driver = {
	.probe = keel_dm_probe,
	.remove = keel_dm_remove,
	.driver = {
		.name = "keel-dm",
		.of_match_table = keel_dm_of_match,
	},
};
static int __init keel_dm_init(void)
{
	int ret;

	keel_dm.answers = get_zeroed_page(GFP_KERNEL);
	if (!keel_dm.answers)
		return -ENOMEM;
	ret = platform_driver_register(&keel_dm_driver);
	if (ret)
		free_page(keel_dm.answers);
	return ret;
}

static void __exit keel_dm_exit(void)
{
	platform_driver_unregister(&keel_dm_driver);
	free_page(keel_dm.answers);
}

module_init(keel_dm_init);
module_exit(keel_dm_exit);

MODULE_DESCRIPTION("Keel device-model VM: request page, DMA windows, request interrupt, hypercalls");
MODULE_LICENSE("GPL");
