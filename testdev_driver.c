// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Driver for pcie-testdev, a QEMU PCI Express device with a DMA copy engine.
 *
 * At probe it runs two transfers between two coherent buffers and logs how
 * each ended:
 *  1. by the buffers' DMA handles, which are valid bus addresses (IOVAs
 *     when an IOMMU translates): the copy must land;
 *  2. by the buffers' CPU physical addresses, which are valid bus addresses
 *     only when no IOMMU translates: an IOMMU must block it.
 *
 * Then it offers /dev/pcie-testdevN, whose ioctls (testdev_ioctl.h) allocate
 * buffers of every DMA API kind and run copies between any addresses, for
 * testdevctl's audit of what the IOMMU blocks.
 */

#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/iommu.h>
#include <linux/iopoll.h>
#include <linux/delay.h>
#include <linux/freezer.h>
#include <linux/jiffies.h>
#include <linux/sched/signal.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/security.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "testdev_ioctl.h"
#include "testdev_regs.h"
#include "testdev_verdict.h"

/* How long a copy may take beyond the device's BUSY_DELAY. */
#define TESTDEV_TIMEOUT_MS	2000
/* A scan of the largest range takes 32 s of virtual time. */
#define TESTDEV_SCAN_TIMEOUT_MS	120000
#define TESTDEV_POLL_US		100
/* How big a kmalloc'd buffer may be (page aligned, one page at most). */
#define TESTDEV_MAX_KMALLOC	PAGE_SIZE
/*
 * How big a coherent buffer may be, whatever the device's MAX_SIZE: the
 * page allocator's largest block on x86, so that a big request fails
 * cleanly instead of warning.
 */
#define TESTDEV_MAX_COHERENT	SZ_4M
/* What a copy may take beyond BUSY_DELAY before a copy gives up on it. */
#define TESTDEV_IDLE_MARGIN_MS	1000
/* How long removal lets a copy it cannot cancel end before going on. */
#define TESTDEV_REMOVE_WAIT_MS	100

static bool selftest = true;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest, "Run the two DMA transfers at probe (default: true)");

/*
 * What the users of one device without CAP_SYS_RAWIO may pin, over all
 * their open files: bytes of buffers, and streaming mappings, which under
 * swiotlb hold bounce slots every device shares (256 one-page mappings
 * take 1 MiB, 1/64 of its default 64 MiB pool). Past either, -ENOSPC.
 */
static unsigned int budget_mib = 64;
module_param(budget_mib, uint, 0444);
MODULE_PARM_DESC(budget_mib, "MiB of buffers a device's unprivileged users may hold (default: 64)");

static unsigned int budget_mappings = 256;
module_param(budget_mappings, uint, 0444);
MODULE_PARM_DESC(budget_mappings, "Streaming mappings a device's unprivileged users may hold (default: 256)");

/* 6.1 calls INTx "legacy"; 6.12 has only the new name. */
#ifndef PCI_IRQ_INTX
#define PCI_IRQ_INTX PCI_IRQ_LEGACY
#endif

static DEFINE_IDA(testdev_ida);

/*
 * Open files may outlive the binding (sysfs unbind, hot unplug): each holds
 * a reference, and once the device is gone their ioctls get -ENODEV.
 */
struct testdev {
	struct kref ref;	/* probe's, and one per open file */
	struct rw_semaphore gone_lock;	/* ioctls, release read; removal writes */
	bool gone;		/* unbound: no more register access */
	struct mutex files_lock;	/* protects files */
	struct list_head files;	/* open files */
	struct pci_dev *pdev;
	void __iomem *regs;
	struct mutex lock;	/* one copy at a time; held across a reset */
	/*
	 * One STREAM_COPY's mappings at a time: under swiotlb each may take
	 * 2 x 256 KiB of the bounce pool every device shares, so callers
	 * waiting for their turn to copy must not hold theirs.
	 */
	struct mutex stream_lock;
	wait_queue_head_t wait;	/* for irq_done, gone or resetting */
	bool irq_done;		/* the completion interrupt came */
	bool resetting;		/* a function reset is under way */
	bool irq;		/* copies complete by interrupt, not polling */
	/*
	 * An earlier binding left a copy pending: bus mastering stays off
	 * until the device is idle, which the next copy waits for.
	 */
	bool stale_copy;
	/* A user turned bus mastering off (SET_MASTER 0); under lock. */
	bool user_master_off;
	/* error_detected found the link frozen: its reset loses the config. */
	bool frozen;
	/*
	 * The original fork's device: no RESULT (judge by data), no
	 * interrupt, 4-byte accesses only, and only the low 32 bits of an
	 * address kept.
	 */
	bool original;
	u64 max_size;
	size_t max_coherent;	/* the largest coherent buffer */
	size_t selftest_len;
	struct testdev_rogue rogue;	/* what it did before probe */
	atomic_long_t pinned;	/* bytes of buffers, all files */
	atomic_t mappings;	/* live streaming mappings, all files */
	int id;
	char name[32];
	struct miscdevice misc;
};

struct testdev_buf {
	void *cpu;
	dma_addr_t dma;
	phys_addr_t phys;
};

/* How a copy ended, as the device reports it. */
struct testdev_outcome {
	u64 status;
	u32 result;
	u64 elapsed_ns;
};

/* The original device takes 4-byte accesses only, and keeps 32 bits. */
static u64 testdev_rd(struct testdev *td, unsigned int reg)
{
	if (td->original)
		return readl(td->regs + reg);
	return readq(td->regs + reg);
}

/* All ones, as testdev_rd() reads it: the device is gone (surprise removal). */
static bool testdev_dead(struct testdev *td, u64 val)
{
	return val == (td->original ? U32_MAX : U64_MAX);
}

static void testdev_wr(struct testdev *td, unsigned int reg, u64 val)
{
	if (td->original)
		writel(lower_32_bits(val), td->regs + reg);
	else
		writeq(val, td->regs + reg);
}

/* Leave no buffer's address in the device: a reset may replay it. */
static void testdev_clear_addrs(struct testdev *td)
{
	testdev_wr(td, TESTDEV_REG_SRCADDR, 0);
	testdev_wr(td, TESTDEV_REG_DSTADDR, 0);
	testdev_wr(td, TESTDEV_REG_SIZE, 0);
}

static irqreturn_t testdev_irq(int irq, void *data)
{
	struct testdev *td = data;
	u64 pending = testdev_rd(td, TESTDEV_REG_INT_STATUS);

	/* All ones: the device is gone (surprise removal), not ours. */
	if (testdev_dead(td, pending) || !(pending & TESTDEV_INT_DONE))
		return IRQ_NONE;	/* a shared INTx line */
	testdev_wr(td, TESTDEV_REG_INT_ACK, pending);
	WRITE_ONCE(td->irq_done, true);
	wake_up(&td->wait);
	return IRQ_HANDLED;
}

/* A function reset or PCIe error recovery is under way. */
static bool testdev_resetting(struct testdev *td)
{
	return READ_ONCE(td->resetting) || pci_channel_offline(td->pdev);
}

/*
 * Poll register reg until its bit busy clears; the wait can be killed,
 * ends on removal, and on system suspend, whose freezer cannot stop a task
 * sleeping here: the work is then abandoned, as when its waiter is killed.
 */
static int testdev_poll_clear(struct testdev *td, unsigned int reg, u64 busy,
			      unsigned int timeout_ms, u64 *val)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);

	for (;;) {
		*val = testdev_rd(td, reg);
		if (testdev_dead(td, *val))
			return -ENODEV;
		/*
		 * Checked after the read: a reset under way (a PCIe error's
		 * link reset) makes the device read idle without having
		 * finished.
		 */
		if (testdev_resetting(td))
			return -EIO;
		if (!(*val & busy))
			return 0;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		if (fatal_signal_pending(current) || freezing(current))
			return -EINTR;
		if (READ_ONCE(td->gone))
			return -ENODEV;
		usleep_range(TESTDEV_POLL_US, 2 * TESTDEV_POLL_US);
	}
}

/* Poll STATUS until idle (see testdev_poll_clear()). */
static int testdev_poll_idle(struct testdev *td, unsigned int timeout_ms,
			     u64 *status)
{
	return testdev_poll_clear(td, TESTDEV_REG_STATUS, TESTDEV_STATUS_BUSY,
				  timeout_ms, status);
}

/* BUSY_DELAY, capped as the device caps it; 0 from a device that is gone. */
static u64 testdev_busy_delay(struct testdev *td)
{
	u64 delay = testdev_rd(td, TESTDEV_REG_BUSY_DELAY);

	return testdev_dead(td, delay) ? 0 : min(delay, TESTDEV_MAX_DELAY_MS);
}

/* How long a copy may still take. */
static unsigned int testdev_copy_time_ms(struct testdev *td)
{
	return testdev_busy_delay(td) + TESTDEV_IDLE_MARGIN_MS;
}

/* The end of a copy's wait for its interrupt. */
static bool testdev_wait_over(struct testdev *td)
{
	return READ_ONCE(td->irq_done) || READ_ONCE(td->gone) ||
	       READ_ONCE(td->resetting);
}

/*
 * wait_event_killable_timeout(), but freezable, so that system suspend can
 * freeze a task waiting for a copy (6.1 has no wait_event_state_timeout()).
 * Returns what it does: the jiffies left (at least 1), 0 on timeout, or
 * -ERESTARTSYS on a fatal signal.
 */
static long testdev_wait_irq(struct testdev *td, long timeout)
{
	might_sleep();
	if (testdev_wait_over(td))
		return timeout ?: 1;
	return ___wait_event(td->wait,
			     ___wait_cond_timeout(testdev_wait_over(td)),
			     (TASK_KILLABLE | TASK_FREEZABLE), 0, timeout,
			     __ret = schedule_timeout(__ret));
}

/*
 * Copy len bytes from src to dst (bus addresses) and wait for the device to
 * finish, by interrupt where it has one, by polling STATUS otherwise, with a
 * timeout either way. Returns 0 with *out filled in, -EBUSY while an earlier
 * copy is still pending, or -ETIMEDOUT / -EINTR / -ENODEV (the device is
 * being removed) / -EIO (a function reset cancels it). A copy that did not
 * finish may still write later: bus mastering goes off until the device is
 * idle, so the buffers can be freed safely.
 */
static int testdev_copy(struct testdev *td, u64 src, u64 dst, u64 len,
			unsigned int timeout_ms, struct testdev_outcome *out)
{
	u64 doorbell = TESTDEV_DOORBELL_START;
	bool irq;
	ktime_t start;
	long left;
	int ret = 0;

	/*
	 * Interruptible: the freezer wakes a task waiting here with a fake
	 * signal, and the ioctl starts again after resume.
	 */
	if (mutex_lock_interruptible(&td->lock))
		return -ERESTARTSYS;
	/* A PCIe error is being recovered from (error_detected). */
	if (READ_ONCE(td->resetting)) {
		ret = -EIO;
		goto unlock;
	}
	if (td->stale_copy) {
		/* The earlier binding's copy: bus mastering once it ends. */
		ret = testdev_poll_idle(td, testdev_copy_time_ms(td),
					&out->status);
		if (ret)
			goto unlock;
		pci_set_master(td->pdev);
		td->stale_copy = false;
	}
	out->status = testdev_rd(td, TESTDEV_REG_STATUS);
	if (testdev_dead(td, out->status)) {
		ret = -ENODEV;
		goto unlock;
	}
	if (out->status & TESTDEV_STATUS_BUSY) {
		ret = -EBUSY;
		goto unlock;
	}
	/* An MSI is a DMA write: without bus mastering none arrives. */
	irq = td->irq && td->pdev->is_busmaster;
	testdev_wr(td, TESTDEV_REG_SRCADDR, src);
	testdev_wr(td, TESTDEV_REG_DSTADDR, dst);
	testdev_wr(td, TESTDEV_REG_SIZE, len);
	timeout_ms += testdev_busy_delay(td);
	if (irq) {
		/*
		 * A copy whose interrupt went unseen (its caller was killed,
		 * or bus mastering was off) left DONE set; the device signals
		 * only a new DONE, so clear it first.
		 */
		testdev_wr(td, TESTDEV_REG_INT_ACK, TESTDEV_INT_DONE);
		WRITE_ONCE(td->irq_done, false);
		doorbell |= TESTDEV_DOORBELL_IRQ;
	}
	start = ktime_get();
	testdev_wr(td, TESTDEV_REG_DOORBELL, doorbell);

	if (irq) {
		left = testdev_wait_irq(td, msecs_to_jiffies(timeout_ms));
		ret = left < 0 ? left : 0;
		/* No interrupt in time: the copy may have ended all the same. */
		if (!left) {
			ret = testdev_poll_idle(td, 0, &out->status);
			if (!ret)
				dev_warn_ratelimited(&td->pdev->dev,
						     "completion interrupt missing; polled STATUS\n");
		}
	}
	if (!ret)
		ret = testdev_poll_idle(td, timeout_ms, &out->status);
	out->elapsed_ns = ktime_to_ns(ktime_sub(ktime_get(), start));
	if (ret) {
		pci_clear_master(td->pdev);
		dev_warn(&td->pdev->dev, "copy did not complete (%d): bus mastering off\n",
			 ret);
		goto unlock;
	}
	out->result = td->original ? TESTDEV_RESULT_NONE :
		      testdev_rd(td, TESTDEV_REG_RESULT);
	/* Read during a reset, RESULT says nothing of this copy. */
	if (testdev_resetting(td)) {
		ret = -EIO;
		goto unlock;
	}
	testdev_clear_addrs(td);
	/* The device's writes must be seen before the buffers are read. */
	dma_rmb();
unlock:
	mutex_unlock(&td->lock);
	return ret;
}

static const char *testdev_result_name(u32 result)
{
	static const char *const names[] = TESTDEV_RESULT_NAMES;

	return result < ARRAY_SIZE(names) ? names[result] : "unknown";
}

/*
 * The transfer's verdict, by the shared rule (testdev_verdict.h): RESULT
 * and the data together; on the original device, which has no RESULT, the
 * data alone. Its buffers are coherent and never bounce: RESULT ok with
 * the destination untouched is the device's inconsistency.
 */
static enum testdev_verdict testdev_verdict(const struct testdev *td,
					    u32 result, bool landed,
					    bool untouched)
{
	enum testdev_verdict v = testdev_judge(!td->original, result, landed,
					       untouched);

	return v == TESTDEV_VERDICT_BOUNCED ? TESTDEV_VERDICT_INCONSISTENT : v;
}

static int testdev_transfer(struct testdev *td, int nr, const char *how,
			    u64 src, u64 dst, struct testdev_buf *dbuf)
{
	struct device *dev = &td->pdev->dev;
	struct testdev_outcome out;
	bool landed, untouched;
	int ret;

	memset(dbuf->cpu, TESTDEV_DST_FILL, td->selftest_len);
	ret = testdev_copy(td, src, dst, td->selftest_len, TESTDEV_TIMEOUT_MS,
			   &out);
	if (ret) {
		dev_err(dev, "transfer %d (%s): src %#llx dst %#llx: no completion: %d\n",
			nr, how, src, dst, ret);
		return ret;
	}
	landed = !memchr_inv(dbuf->cpu, TESTDEV_SRC_FILL, td->selftest_len);
	untouched = !memchr_inv(dbuf->cpu, TESTDEV_DST_FILL, td->selftest_len);
	dev_info(dev, "transfer %d (%s): src %#llx dst %#llx: STATUS=%llu RESULT=%s data=%s -> %s\n",
		 nr, how, src, dst, out.status, testdev_result_name(out.result),
		 landed ? "copied" : untouched ? "untouched" : "corrupted",
		 testdev_verdict_name(testdev_verdict(td, out.result, landed,
						      untouched)));
	return 0;
}

/* Coherent memory may be remapped (dma-iommu vmaps it): find its page. */
static phys_addr_t testdev_cpu_phys(void *cpu)
{
	if (is_vmalloc_addr(cpu))
		return page_to_phys(vmalloc_to_page(cpu)) + offset_in_page(cpu);
	return virt_to_phys(cpu);
}

static int testdev_selftest(struct testdev *td)
{
	struct device *dev = &td->pdev->dev;
	size_t len = td->selftest_len;
	struct testdev_buf src, dst;
	int ret;

	src.cpu = dma_alloc_coherent(dev, len, &src.dma, GFP_KERNEL);
	if (!src.cpu)
		return -ENOMEM;
	dst.cpu = dma_alloc_coherent(dev, len, &dst.dma, GFP_KERNEL);
	if (!dst.cpu) {
		ret = -ENOMEM;
		goto free_src;
	}
	src.phys = testdev_cpu_phys(src.cpu);
	dst.phys = testdev_cpu_phys(dst.cpu);
	memset(src.cpu, TESTDEV_SRC_FILL, len);

	ret = testdev_transfer(td, 1, "DMA handles", src.dma, dst.dma, &dst);
	/*
	 * Where an IOMMU remaps coherent memory, its pages may lie above
	 * 4 GiB whatever the DMA mask; the original device would copy to
	 * the address cut to 32 bits.
	 */
	if (!ret && td->original &&
	    (src.phys > U32_MAX - (len - 1) || dst.phys > U32_MAX - (len - 1)))
		dev_info(dev, "transfer 2 (CPU physical addresses): src %#llx dst %#llx: skipped: above 4 GiB, the original device keeps 32 bits -> %s\n",
			 (u64)src.phys, (u64)dst.phys,
			 testdev_verdict_name(TESTDEV_VERDICT_SKIP));
	else if (!ret)
		ret = testdev_transfer(td, 2, "CPU physical addresses",
				       src.phys, dst.phys, &dst);
	dma_free_coherent(dev, len, dst.cpu, dst.dma);
free_src:
	dma_free_coherent(dev, len, src.cpu, src.dma);
	return ret;
}

/* The character device: buffers belong to the open file that made them. */
struct testdev_file {
	struct testdev *td;
	struct list_head node;	/* in td->files */
	struct mutex lock;	/* one ioctl at a time on this file */
	struct xarray bufs;
	/* Opened with CAP_SYS_RAWIO: may name memory by address. */
	bool rawio;
};

struct testdev_buffer {
	u32 kind;
	enum dma_data_direction dir;
	size_t size;		/* asked for */
	size_t charged;		/* allocated, counted in td->pinned */
	size_t map_len;		/* mapped, from the start (streaming) */
	bool mapped;		/* streaming: still mapped */
	void *cpu;
	dma_addr_t dma;		/* kept after an unmap, as a stale handle */
};

/* Every ioctl's argument, copied in and out outside the locks. */
union testdev_arg {
	struct testdev_info info;
	struct testdev_buf_alloc alloc;
	struct testdev_buf_ref ref;
	struct testdev_buf_io io;
	struct testdev_copy copy;
	struct testdev_master master;
	struct testdev_rogue rogue;
	struct testdev_scan scan;
	struct testdev_stream_copy stream;
};

static void testdev_uncharge(struct testdev *td, size_t bytes, bool mapping)
{
	atomic_long_sub(bytes, &td->pinned);
	if (mapping)
		atomic_dec(&td->mappings);
}

/* Count a buffer against the device's budget, which binds the unprivileged. */
static int testdev_charge(struct testdev_file *tf, size_t bytes, bool mapping)
{
	struct testdev *td = tf->td;
	long pinned = atomic_long_add_return(bytes, &td->pinned);
	int mappings = mapping ? atomic_inc_return(&td->mappings) : 0;

	if (!tf->rawio && (pinned > (long)budget_mib * SZ_1M ||
			   (unsigned int)mappings > budget_mappings)) {
		testdev_uncharge(td, bytes, mapping);
		return -ENOSPC;
	}
	return 0;
}

static void testdev_unmap(struct testdev *td, struct testdev_buffer *b)
{
	dma_unmap_single(&td->pdev->dev, b->dma, b->map_len, b->dir);
	b->mapped = false;
	atomic_dec(&td->mappings);
}

static void testdev_buffer_free(struct testdev *td, struct testdev_buffer *b)
{
	struct device *dev = &td->pdev->dev;

	if (b->kind == TESTDEV_BUF_COHERENT) {
		dma_free_coherent(dev, b->size, b->cpu, b->dma);
	} else {
		if (b->mapped)
			testdev_unmap(td, b);
		kfree(b->cpu);
	}
	testdev_uncharge(td, b->charged, false);
	kfree(b);
}

/*
 * Naming memory by address (a raw bus address, a CPU physical address, a
 * stale handle, bytes past a mapping) reaches any RAM where no IOMMU
 * translates: as for /dev/mem, it takes CAP_SYS_RAWIO at open and no
 * kernel lockdown.
 */
static int testdev_rawio(const struct testdev_file *tf)
{
	if (!tf->rawio)
		return -EPERM;
	return security_locked_down(LOCKDOWN_DEV_MEM);
}

/* Whether the device's bus addresses go through an IOMMU's page tables. */
static bool testdev_translated(struct testdev *td)
{
	struct iommu_domain *dom = iommu_get_domain_for_dev(&td->pdev->dev);

	return dom && dom->type != IOMMU_DOMAIN_IDENTITY;
}

/*
 * A DMA handle for user space. Where nothing translates (no IOMMU, an
 * identity domain, swiotlb) a handle is a CPU physical address, so it is
 * for those who may name memory by address; others get 0.
 */
static u64 testdev_user_handle(struct testdev_file *tf, u64 bus)
{
	/* Translation first: under lockdown, testdev_rawio() logs a denial. */
	if (testdev_translated(tf->td) || !testdev_rawio(tf))
		return bus;
	return 0;
}

/* Copy an argument struct in, checking its size. */
static int testdev_get_arg(void *arg, size_t size, const void __user *uarg)
{
	u32 argsz;

	if (get_user(argsz, (const u32 __user *)uarg))
		return -EFAULT;
	if (argsz != size)
		return -EINVAL;
	if (copy_from_user(arg, uarg, size))
		return -EFAULT;
	return 0;
}

static int testdev_ioc_info(struct testdev *td, struct testdev_info *info)
{
	if (info->reserved)
		return -EINVAL;
	info->version = TESTDEV_IOCTL_VERSION;
	info->max_size = td->max_size;
	info->copies = testdev_rd(td, TESTDEV_REG_COPIES);
	if (testdev_dead(td, info->copies))
		return -ENODEV;
	info->faults = testdev_rd(td, TESTDEV_REG_FAULTS);
	info->irq = td->irq;
	info->ats_translations = testdev_rd(td, TESTDEV_REG_ATS_TRANSLATIONS);
	info->ats_invalidations = testdev_rd(td, TESTDEV_REG_ATS_INVALIDATIONS);
	return 0;
}

static const enum dma_data_direction testdev_dirs[] = {
	[TESTDEV_DIR_BIDIRECTIONAL] = DMA_BIDIRECTIONAL,
	[TESTDEV_DIR_TO_DEVICE] = DMA_TO_DEVICE,
	[TESTDEV_DIR_FROM_DEVICE] = DMA_FROM_DEVICE,
};

/*
 * A streaming buffer must not share a cache line with other data (DMA-API
 * debug tracks L1_CACHE_BYTES lines even where DMA is coherent), and
 * kmalloc aligns power-of-two sizes to themselves.
 */
static size_t testdev_kmalloc_size(size_t size)
{
	size_t align = max_t(size_t, dma_get_cache_alignment(), L1_CACHE_BYTES);

	return roundup_pow_of_two(max(size, align));
}

static int testdev_ioc_alloc(struct testdev_file *tf,
			     struct testdev_buf_alloc *req)
{
	struct device *dev = &tf->td->pdev->dev;
	struct testdev_buffer *b;
	u32 id;
	int ret;

	if (req->reserved || req->reserved2 ||
	    req->kind > TESTDEV_BUF_UNMAPPED ||
	    req->dir >= ARRAY_SIZE(testdev_dirs) || !req->size ||
	    req->size > (req->kind == TESTDEV_BUF_COHERENT ?
			 tf->td->max_coherent : TESTDEV_MAX_KMALLOC) ||
	    req->map_len > req->size ||
	    (req->kind != TESTDEV_BUF_STREAMING && (req->dir || req->map_len)))
		return -EINVAL;

	/* Charged to the user's memory cgroup too. */
	b = kzalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);
	if (!b)
		return -ENOMEM;
	b->kind = req->kind;
	b->dir = testdev_dirs[req->dir];
	b->size = req->size;
	b->map_len = req->map_len ?: req->size;
	b->charged = b->kind == TESTDEV_BUF_COHERENT ?
		     PAGE_SIZE << get_order(b->size) :
		     testdev_kmalloc_size(b->size);
	ret = testdev_charge(tf, b->charged, b->kind == TESTDEV_BUF_STREAMING);
	if (ret)
		goto free_b;
	ret = -ENOMEM;
	if (b->kind == TESTDEV_BUF_COHERENT)
		/* Up to max_coherent: may fail, and must not warn. */
		b->cpu = dma_alloc_coherent(dev, b->size, &b->dma,
					    GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	else
		b->cpu = kzalloc(b->charged, GFP_KERNEL_ACCOUNT);
	if (!b->cpu)
		goto uncharge;
	if (b->kind == TESTDEV_BUF_STREAMING) {
		b->dma = dma_map_single(dev, b->cpu, b->map_len, b->dir);
		if (dma_mapping_error(dev, b->dma)) {
			kfree(b->cpu);
			goto uncharge;
		}
		b->mapped = true;
	}

	ret = xa_alloc(&tf->bufs, &id, b, XA_LIMIT(1, TESTDEV_MAX_BUFFERS),
		       GFP_KERNEL);
	if (ret) {
		testdev_buffer_free(tf->td, b);
		return ret == -EBUSY ? -ENOSPC : ret;
	}
	req->id = id;
	req->dma = testdev_user_handle(tf, b->dma);
	/* A physical address is for those who may use one. */
	req->phys = testdev_rawio(tf) ? 0 : testdev_cpu_phys(b->cpu);
	return 0;

uncharge:
	testdev_uncharge(tf->td, b->charged, b->kind == TESTDEV_BUF_STREAMING);
free_b:
	kfree(b);
	return ret;
}

static int testdev_ioc_buf(struct testdev_file *tf, unsigned int cmd,
			   struct testdev_buf_ref *ref)
{
	struct testdev_buffer *b;

	if (cmd == TESTDEV_IOC_BUF_FREE) {
		b = xa_erase(&tf->bufs, ref->id);
		if (!b)
			return -ENOENT;
		testdev_buffer_free(tf->td, b);
		return 0;
	}
	/* Unmap, keeping the old handle for copies through a stale IOVA. */
	b = xa_load(&tf->bufs, ref->id);
	if (!b)
		return -ENOENT;
	if (!b->mapped)
		return -EINVAL;
	testdev_unmap(tf->td, b);
	return 0;
}

/*
 * Buffer I/O between data, a kernel copy of the user's bytes, and the
 * buffer. A mapped streaming buffer belongs to the device between ioctls:
 * the CPU takes it for the access and gives it back.
 */
static int testdev_ioc_io(struct testdev_file *tf, unsigned int cmd,
			  const struct testdev_buf_io *io, void *data)
{
	struct device *dev = &tf->td->pdev->dev;
	struct testdev_buffer *b;
	size_t sync = 0;

	b = xa_load(&tf->bufs, io->id);
	if (!b)
		return -ENOENT;
	if (io->offset > b->size || io->len > b->size - io->offset)
		return -EINVAL;
	if (b->kind == TESTDEV_BUF_STREAMING && b->mapped &&
	    io->offset < b->map_len)
		sync = min_t(u64, io->len, b->map_len - io->offset);
	if (sync)
		dma_sync_single_range_for_cpu(dev, b->dma, io->offset, sync,
					      b->dir);
	if (cmd == TESTDEV_IOC_BUF_WRITE)
		memcpy(b->cpu + io->offset, data, io->len);
	else
		memcpy(data, b->cpu + io->offset, io->len);
	if (sync)
		dma_sync_single_range_for_device(dev, b->dma, io->offset, sync,
						 b->dir);
	return 0;
}

/* The bus address a copy names, checking it lies inside its buffer. */
static int testdev_resolve(struct testdev_file *tf,
			   const struct testdev_addr *a, u64 size, bool dst,
			   u64 *bus)
{
	struct testdev_buffer *b;
	int ret;

	if (a->mode == TESTDEV_ADDR_RAW) {
		if (a->id)
			return -EINVAL;
		ret = testdev_rawio(tf);
		if (ret)
			return ret;
		*bus = a->addr;
		goto check_bus;
	}
	if (a->mode != TESTDEV_ADDR_DMA && a->mode != TESTDEV_ADDR_PHYS)
		return -EINVAL;
	b = xa_load(&tf->bufs, a->id);
	if (!b)
		return -ENOENT;
	if (a->addr > b->size || size > b->size - a->addr)
		return -EINVAL;
	if (a->mode == TESTDEV_ADDR_DMA) {
		if (b->kind == TESTDEV_BUF_UNMAPPED)
			return -EINVAL;
		/* Coherent buffers are mapped whole for as long as they exist. */
		ret = 0;
		if (b->kind == TESTDEV_BUF_STREAMING && !b->mapped) {
			ret = testdev_rawio(tf);	/* a stale handle */
		} else if (b->kind == TESTDEV_BUF_STREAMING &&
			   (a->addr > b->map_len ||
			    size > b->map_len - a->addr)) {
			/*
			 * Past what is mapped: under swiotlb, other mappings'
			 * bounce slots. Never written; read only to show the
			 * exposure.
			 */
			ret = dst ? -EINVAL : testdev_rawio(tf);
		}
		if (ret)
			return ret;
		*bus = b->dma + a->addr;
	} else {
		ret = testdev_rawio(tf);
		if (ret)
			return ret;
		/* Vmapped coherent pages need not be contiguous. */
		if (is_vmalloc_addr(b->cpu) &&
		    offset_in_page(b->cpu + a->addr) + size > PAGE_SIZE)
			return -EINVAL;
		*bus = testdev_cpu_phys(b->cpu + a->addr);
	}
check_bus:
	/* The original device would cut the address to 32 bits. */
	if (tf->td->original && (*bus > U32_MAX || size - 1 > U32_MAX - *bus))
		return -EINVAL;
	return 0;
}

static int testdev_ioc_copy(struct testdev_file *tf, struct testdev_copy *req)
{
	struct testdev_outcome out = { };
	int ret;

	if (req->reserved || !req->size || req->size > tf->td->max_size ||
	    req->timeout_ms > TESTDEV_MAX_DELAY_MS)
		return -EINVAL;
	ret = testdev_resolve(tf, &req->src, req->size, false, &req->src_bus);
	if (!ret)
		ret = testdev_resolve(tf, &req->dst, req->size, true,
				      &req->dst_bus);
	if (ret)
		return ret;

	/* Mapped buffers are the device's already (see testdev_ioc_io()). */
	ret = testdev_copy(tf->td, req->src_bus, req->dst_bus, req->size,
			   req->timeout_ms ?: TESTDEV_TIMEOUT_MS, &out);
	if (ret)
		return ret;
	req->src_bus = testdev_user_handle(tf, req->src_bus);
	req->dst_bus = testdev_user_handle(tf, req->dst_bus);
	req->status = out.status;
	req->result = out.result;
	req->elapsed_ns = out.elapsed_ns;
	return 0;
}

/*
 * A reachability scan by the device itself, as a rogue device would make
 * one (see the device's spec): it names memory by address, so it is for
 * those who may. Under the device lock, as a copy: the two take turns.
 */
static int testdev_ioc_scan(struct testdev_file *tf, struct testdev_scan *req)
{
	struct testdev *td = tf->td;
	u64 ctrl, start;
	int ret;

	if (req->reserved || req->reserved2 || !req->pages ||
	    req->pages > TESTDEV_SCAN_MAX_PAGES ||
	    req->timeout_ms > TESTDEV_MAX_DELAY_MS)
		return -EINVAL;
	if (td->original)
		return -EOPNOTSUPP;
	ret = testdev_rawio(tf);
	if (ret)
		return ret;
	if (mutex_lock_interruptible(&td->lock))
		return -ERESTARTSYS;	/* as in testdev_copy() */
	if (testdev_resetting(td)) {
		ret = -EIO;
		goto unlock;
	}
	/*
	 * The scan turns the device's bus mastering on, as a rogue device
	 * would: not while a copy is pending, which bus mastering being off
	 * keeps from landing in buffers that may be gone (a copy that timed
	 * out, or one an earlier binding left).
	 */
	ctrl = testdev_rd(td, TESTDEV_REG_STATUS);
	if (testdev_dead(td, ctrl)) {
		ret = -ENODEV;
		goto unlock;
	}
	if (ctrl & TESTDEV_STATUS_BUSY || td->stale_copy) {
		ret = -EBUSY;
		goto unlock;
	}
	testdev_wr(td, TESTDEV_REG_SCAN_START, req->start);
	testdev_wr(td, TESTDEV_REG_SCAN_PAGES, req->pages);
	testdev_wr(td, TESTDEV_REG_SCAN_CANARY, req->canary);
	start = ktime_get_ns();
	testdev_wr(td, TESTDEV_REG_SCAN_CTRL, TESTDEV_SCAN_RUN);
	ret = testdev_poll_clear(td, TESTDEV_REG_SCAN_CTRL, TESTDEV_SCAN_RUN,
				 req->timeout_ms ?: TESTDEV_SCAN_TIMEOUT_MS, &ctrl);
	req->elapsed_ns = ktime_get_ns() - start;
	if (ret) {
		/* Abandoned: stop it, or it would probe on without a waiter. */
		if (ret != -ENODEV)
			testdev_wr(td, TESTDEV_REG_SCAN_CTRL, 0);
		goto unlock;
	}
	req->seq = testdev_rd(td, TESTDEV_REG_SCAN_SEQ);
	req->readable = testdev_rd(td, TESTDEV_REG_SCAN_READABLE);
	req->writable = testdev_rd(td, TESTDEV_REG_SCAN_WRITABLE);
	req->canaries = testdev_rd(td, TESTDEV_REG_SCAN_CANARIES);
	/* Read after the counters: a reset may have zeroed them. */
	if (testdev_resetting(td))
		ret = -EIO;
unlock:
	/* The canary is the user's secret: leave none in the device. */
	testdev_wr(td, TESTDEV_REG_SCAN_CANARY, 0);
	/* Bus mastering as it was: off if a user (SET_MASTER 0) said so. */
	if (!td->pdev->is_busmaster)
		pci_clear_master(td->pdev);
	mutex_unlock(&td->lock);
	return ret;
}

/*
 * A copy through the streaming DMA API, each phase timed (see
 * testdev_ioctl.h). The buffers count against the device's budget while
 * they live; a copy that does not finish leaves bus mastering off (as
 * testdev_copy() does), so they can be freed.
 */
static int testdev_ioc_stream_copy(struct testdev_file *tf,
				   struct testdev_stream_copy *req)
{
	struct testdev *td = tf->td;
	struct device *dev = &td->pdev->dev;
	struct testdev_outcome out = { };
	size_t charged = 2 * testdev_kmalloc_size(req->size);
	dma_addr_t src_dma, dst_dma;
	void *src, *dst = NULL;
	ktime_t t0;
	int ret;

	if (req->reserved || !req->size || req->size > td->max_coherent)
		return -EINVAL;
	/*
	 * More than the DMA API maps at once (swiotlb: 256 KiB) would fail
	 * in dma_map_single() after two big allocations, with a "swiotlb
	 * buffer is full" warning any user could repeat: refuse it first.
	 */
	if (req->size > dma_max_mapping_size(dev))
		return -E2BIG;
	/* Two mappings, each counted as BUF_ALLOC counts one. */
	ret = testdev_charge(tf, charged, true);
	if (ret)
		return ret;
	ret = testdev_charge(tf, 0, true);
	if (ret) {
		testdev_uncharge(td, charged, true);
		return ret;
	}
	ret = -ENOMEM;
	/*
	 * As BUF_ALLOC does (testdev_kmalloc_size()): a streaming buffer
	 * must not share a cache line with other data, or with the other
	 * buffer, which is mapped the other way.
	 */
	src = kmalloc(testdev_kmalloc_size(req->size),
		      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (src)
		dst = kmalloc(testdev_kmalloc_size(req->size),
			      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!dst)
		goto free;
	memset(src, TESTDEV_SRC_FILL, req->size);
	memset(dst, TESTDEV_DST_FILL, req->size);

	/* Interruptible, as testdev_copy() takes the device lock. */
	if (mutex_lock_interruptible(&td->stream_lock)) {
		ret = -ERESTARTSYS;
		goto free;
	}
	t0 = ktime_get();
	src_dma = dma_map_single(dev, src, req->size, DMA_TO_DEVICE);
	if (dma_mapping_error(dev, src_dma))
		goto unlock;
	dst_dma = dma_map_single(dev, dst, req->size, DMA_FROM_DEVICE);
	if (dma_mapping_error(dev, dst_dma)) {
		dma_unmap_single(dev, src_dma, req->size, DMA_TO_DEVICE);
		goto unlock;
	}
	req->map_ns = ktime_to_ns(ktime_sub(ktime_get(), t0));

	ret = testdev_copy(td, src_dma, dst_dma, req->size, TESTDEV_TIMEOUT_MS,
			   &out);
	req->copy_ns = out.elapsed_ns;
	req->result = out.result;

	t0 = ktime_get();
	dma_unmap_single(dev, dst_dma, req->size, DMA_FROM_DEVICE);
	dma_unmap_single(dev, src_dma, req->size, DMA_TO_DEVICE);
	req->unmap_ns = ktime_to_ns(ktime_sub(ktime_get(), t0));
	req->landed = !ret && !memcmp(src, dst, req->size);
unlock:
	mutex_unlock(&td->stream_lock);
free:
	kfree(dst);
	kfree(src);
	testdev_uncharge(td, charged, true);
	testdev_uncharge(td, 0, true);
	return ret;
}

static void testdev_ioc_rogue(struct testdev *td, struct testdev_rogue *req)
{
	req->aggressive = td->rogue.aggressive;
	req->copies = td->rogue.copies;
	req->faults = td->rogue.faults;
}

static int testdev_ioc_master(struct testdev *td, struct testdev_master *req)
{
	u64 status;
	int ret = 0;

	if (req->enable > 1)
		return -EINVAL;
	if (mutex_lock_interruptible(&td->lock))
		return -ERESTARTSYS;	/* as in testdev_copy() */
	status = testdev_rd(td, TESTDEV_REG_STATUS);
	if (testdev_dead(td, status)) {
		ret = -ENODEV;
	} else if (req->enable && testdev_resetting(td)) {
		ret = -EIO;	/* the reset decides, as for copies */
	} else if (req->enable && status & TESTDEV_STATUS_BUSY) {
		/* A copy that timed out must not get bus mastering back. */
		ret = -EBUSY;
	} else {
		/* The user's choice, over the wait for an earlier copy. */
		td->user_master_off = !req->enable;
		td->stale_copy = false;
		if (req->enable)
			pci_set_master(td->pdev);
		else
			pci_clear_master(td->pdev);
	}
	mutex_unlock(&td->lock);
	return ret;
}

static long testdev_ioctl_locked(struct testdev_file *tf, unsigned int cmd,
				 union testdev_arg *a, void *data)
{
	switch (cmd) {
	case TESTDEV_IOC_INFO:
		return testdev_ioc_info(tf->td, &a->info);
	case TESTDEV_IOC_BUF_ALLOC:
		return testdev_ioc_alloc(tf, &a->alloc);
	case TESTDEV_IOC_BUF_FREE:
	case TESTDEV_IOC_BUF_UNMAP:
		return testdev_ioc_buf(tf, cmd, &a->ref);
	case TESTDEV_IOC_BUF_WRITE:
	case TESTDEV_IOC_BUF_READ:
		return testdev_ioc_io(tf, cmd, &a->io, data);
	case TESTDEV_IOC_COPY:
		return testdev_ioc_copy(tf, &a->copy);
	case TESTDEV_IOC_SET_MASTER:
		return testdev_ioc_master(tf->td, &a->master);
	case TESTDEV_IOC_ROGUE:
		testdev_ioc_rogue(tf->td, &a->rogue);
		return 0;
	case TESTDEV_IOC_SCAN:
		return testdev_ioc_scan(tf, &a->scan);
	case TESTDEV_IOC_STREAM_COPY:
		return testdev_ioc_stream_copy(tf, &a->stream);
	default:
		return -ENOTTY;
	}
}

static bool testdev_known_cmd(unsigned int cmd)
{
	switch (cmd) {
	case TESTDEV_IOC_INFO:
	case TESTDEV_IOC_BUF_ALLOC:
	case TESTDEV_IOC_BUF_FREE:
	case TESTDEV_IOC_BUF_UNMAP:
	case TESTDEV_IOC_BUF_WRITE:
	case TESTDEV_IOC_BUF_READ:
	case TESTDEV_IOC_COPY:
	case TESTDEV_IOC_SET_MASTER:
	case TESTDEV_IOC_ROGUE:
	case TESTDEV_IOC_SCAN:
	case TESTDEV_IOC_STREAM_COPY:
		return true;
	default:
		return false;
	}
}

/*
 * Serialized per file, so no ioctl frees a buffer another one is using,
 * and inside gone_lock, so the device stays bound until it returns. User
 * memory is touched only outside gone_lock: a userfaultfd- or FUSE-backed
 * argument must not hold off removal.
 */
static long testdev_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct testdev_file *tf = file->private_data;
	void __user *uarg = (void __user *)arg;
	size_t size = _IOC_SIZE(cmd);
	union testdev_arg a;
	void *data = NULL;
	long ret;

	if (!testdev_known_cmd(cmd) || size > sizeof(a))
		return -ENOTTY;
	ret = testdev_get_arg(&a, size, uarg);
	if (ret)
		return ret;
	if (cmd == TESTDEV_IOC_BUF_WRITE || cmd == TESTDEV_IOC_BUF_READ) {
		/* No buffer is bigger; the ioctl checks against its own. */
		if (a.io.len > max_t(size_t, TESTDEV_MAX_COHERENT, TESTDEV_MAX_KMALLOC))
			return -EINVAL;
		data = kvmalloc(a.io.len, GFP_KERNEL);
		if (!data)
			return -ENOMEM;
		if (cmd == TESTDEV_IOC_BUF_WRITE &&
		    copy_from_user(data, u64_to_user_ptr(a.io.data), a.io.len)) {
			ret = -EFAULT;
			goto free;
		}
	}

	/* Another ioctl of the file may be a copy; as in testdev_copy(). */
	if (mutex_lock_interruptible(&tf->lock)) {
		ret = -ERESTARTSYS;
		goto free;
	}
	ret = down_read_killable(&tf->td->gone_lock);
	if (ret)
		goto unlock;
	if (READ_ONCE(tf->td->gone))
		ret = -ENODEV;
	else
		ret = testdev_ioctl_locked(tf, cmd, &a, data);
	up_read(&tf->td->gone_lock);
unlock:
	mutex_unlock(&tf->lock);
	if (ret)
		goto free;
	/* A buffer whose id cannot be returned is freed at close. */
	if ((_IOC_DIR(cmd) & _IOC_READ) && copy_to_user(uarg, &a, size))
		ret = -EFAULT;
	else if (cmd == TESTDEV_IOC_BUF_READ &&
		 copy_to_user(u64_to_user_ptr(a.io.data), data, a.io.len))
		ret = -EFAULT;
free:
	kvfree(data);
	return ret;
}

static void testdev_release_td(struct kref *ref)
{
	struct testdev *td = container_of(ref, struct testdev, ref);

	mutex_destroy(&td->files_lock);
	mutex_destroy(&td->stream_lock);
	mutex_destroy(&td->lock);
	kfree(td);
}

static void testdev_put(void *data)
{
	struct testdev *td = data;

	kref_put(&td->ref, testdev_release_td);
}

/* misc_open() holds misc_mtx, so the device is not removed meanwhile. */
static int testdev_open(struct inode *inode, struct file *file)
{
	struct testdev *td = container_of(file->private_data, struct testdev,
					  misc);
	struct testdev_file *tf;

	tf = kzalloc(sizeof(*tf), GFP_KERNEL);
	if (!tf)
		return -ENOMEM;
	kref_get(&td->ref);
	tf->td = td;
	/* As /dev/mem decides, at open; lockdown is checked at each use. */
	tf->rawio = capable(CAP_SYS_RAWIO);
	mutex_init(&tf->lock);
	xa_init_flags(&tf->bufs, XA_FLAGS_ALLOC1);
	mutex_lock(&td->files_lock);
	list_add(&tf->node, &td->files);
	mutex_unlock(&td->files_lock);
	file->private_data = tf;
	return 0;
}

static void testdev_free_buffers(struct testdev_file *tf)
{
	struct testdev_buffer *b;
	unsigned long id;

	xa_for_each(&tf->bufs, id, b)
		testdev_buffer_free(tf->td, xa_erase(&tf->bufs, id));
}

/* Copies run inside the ioctl, so none is pending when the file closes. */
static int testdev_release(struct inode *inode, struct file *file)
{
	struct testdev_file *tf = file->private_data;
	struct testdev *td = tf->td;

	/* Shared: no ioctl of this file runs, and removal waits for us. */
	down_read(&td->gone_lock);
	mutex_lock(&td->files_lock);
	list_del(&tf->node);
	mutex_unlock(&td->files_lock);
	testdev_free_buffers(tf);	/* none left if the device is gone */
	up_read(&td->gone_lock);
	xa_destroy(&tf->bufs);
	mutex_destroy(&tf->lock);
	kfree(tf);
	testdev_put(td);
	return 0;
}

static const struct file_operations testdev_fops = {
	.owner = THIS_MODULE,
	.open = testdev_open,
	.release = testdev_release,
	.unlocked_ioctl = testdev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static void testdev_misc_deregister(void *data)
{
	misc_deregister(data);
}

/*
 * On removal, after the misc device is gone: end the copy an ioctl may be
 * waiting for, wait for the ioctls to return, and free every open file's
 * buffers while the device can still unmap them.
 */
static void testdev_remove_files(void *data)
{
	struct testdev *td = data;
	struct testdev_file *tf;

	WRITE_ONCE(td->gone, true);
	wake_up(&td->wait);
	down_write(&td->gone_lock);
	mutex_lock(&td->files_lock);
	list_for_each_entry(tf, &td->files, node)
		testdev_free_buffers(tf);
	mutex_unlock(&td->files_lock);
	up_write(&td->gone_lock);
}

static void testdev_ida_free(void *data)
{
	struct testdev *td = data;

	ida_free(&testdev_ida, td->id);
}

/*
 * A device in aggressive mode DMAs from power-on, with no driver: record
 * what it did, then stop it, since its copies use the registers this driver
 * programs. The original device has AGGRESSIVE too; its counters read 0.
 */
static void testdev_stop_rogue(struct testdev *td)
{
	struct testdev_rogue *r = &td->rogue;

	r->aggressive = testdev_rd(td, TESTDEV_REG_AGGRESSIVE) &
			TESTDEV_AGGRESSIVE_ON;
	if (r->aggressive)
		testdev_wr(td, TESTDEV_REG_AGGRESSIVE, 0);
	r->copies = testdev_rd(td, TESTDEV_REG_COPIES);
	r->faults = testdev_rd(td, TESTDEV_REG_FAULTS);
	/* Nor may a reachability scan someone left running go on probing. */
	if (!td->original &&
	    testdev_rd(td, TESTDEV_REG_SCAN_CTRL) & TESTDEV_SCAN_RUN) {
		testdev_wr(td, TESTDEV_REG_SCAN_CTRL, 0);
		dev_warn(&td->pdev->dev,
			 "device was scanning bus addresses on its own before this driver; stopped it\n");
	}
	if (r->aggressive)
		dev_warn(&td->pdev->dev,
			 "device was DMAing on its own before this driver: %llu copies landed, %llu faulted; stopped it\n",
			 r->copies, r->faults);
}

/* No interrupt pending or to come, and no buffer address left behind. */
static void testdev_quiesce(struct testdev *td)
{
	if (td->original) {
		testdev_clear_addrs(td);
		return;
	}
	testdev_wr(td, TESTDEV_REG_INT_ENABLE, 0);
	testdev_wr(td, TESTDEV_REG_INT_ACK, TESTDEV_INT_DONE);
	testdev_wr(td, TESTDEV_REG_SCAN_CTRL, 0);
	testdev_clear_addrs(td);
}

/*
 * On removal, before the interrupt handler goes (devm runs this first): a
 * copy an abandoned ioctl left pending would raise its interrupt after,
 * and on a shared INTx line nobody would clear it. A function reset
 * cancels the copy. Without one (the copy may take an hour, and the
 * device lock is held), bus mastering being off already, no MSI can come:
 * disable INTx too, and let the copy end only if it does so at once.
 */
static void testdev_remove_quiesce(void *data)
{
	struct testdev *td = data;
	u64 status = testdev_rd(td, TESTDEV_REG_STATUS);

	if (!testdev_dead(td, status) && status & TESTDEV_STATUS_BUSY &&
	    pci_reset_function_locked(td->pdev)) {
		pci_clear_master(td->pdev);
		testdev_quiesce(td);
		pci_intx(td->pdev, 0);
		if (read_poll_timeout(testdev_rd, status,
				      !(status & TESTDEV_STATUS_BUSY), 1000,
				      TESTDEV_REMOVE_WAIT_MS * USEC_PER_MSEC,
				      false, td, TESTDEV_REG_STATUS))
			dev_warn(&td->pdev->dev,
				 "a copy is still pending at removal: bus mastering and INTx off\n");
	}
	testdev_quiesce(td);
}

/*
 * Interrupts: MSI, or INTx; without either (and on the original device,
 * which has none), copies are polled.
 */
static int testdev_setup_irq(struct testdev *td)
{
	struct pci_dev *pdev = td->pdev;
	int ret;

	/* A bit an earlier binding left set would fire as soon as we ask. */
	testdev_quiesce(td);
	if (td->original)
		goto quiesce_at_removal;
	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI | PCI_IRQ_INTX);
	if (ret >= 0)
		ret = devm_request_irq(&pdev->dev, pci_irq_vector(pdev, 0),
				       testdev_irq, IRQF_SHARED, td->name, td);
	if (ret)
		dev_info(&pdev->dev, "no interrupt (%d): polling for completion\n",
			 ret);
	else
		td->irq = true;
quiesce_at_removal:
	/* Added after the handler, so removal runs it before freeing that. */
	return devm_add_action_or_reset(&pdev->dev, testdev_remove_quiesce, td);
}

static int testdev_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct testdev *td;
	u64 status;
	int ret;

	td = kzalloc(sizeof(*td), GFP_KERNEL);
	if (!td)
		return -ENOMEM;
	kref_init(&td->ref);
	init_rwsem(&td->gone_lock);
	mutex_init(&td->files_lock);
	INIT_LIST_HEAD(&td->files);
	init_waitqueue_head(&td->wait);
	mutex_init(&td->lock);
	mutex_init(&td->stream_lock);
	td->pdev = pdev;
	ret = devm_add_action_or_reset(dev, testdev_put, td);
	if (ret)
		return ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return dev_err_probe(dev, ret, "cannot enable device\n");
	ret = pcim_iomap_regions(pdev, BIT(TESTDEV_BAR), KBUILD_MODNAME);
	if (ret)
		return dev_err_probe(dev, ret, "cannot map BAR%d\n", TESTDEV_BAR);
	td->regs = pcim_iomap_table(pdev)[TESTDEV_BAR];
	/* Gone, or failed: nothing here to drive, nor any rogue to stop. */
	if (readl(td->regs + TESTDEV_REG_STATUS) == U32_MAX)
		return dev_err_probe(dev, -ENODEV, "device reads all ones\n");

	/*
	 * The original fork's device reads 0 where it has no register, such
	 * as MAX_SIZE, and takes 4-byte accesses only: ask it that way. It
	 * keeps 32 bits of an address, so it must only get 32-bit ones.
	 */
	td->original = !readl(td->regs + TESTDEV_REG_MAX_SIZE);
	if (td->original) {
		dev_info(dev, "original device (MAX_SIZE reads 0): 32-bit DMA, no interrupt, judging copies by their data\n");
		td->max_size = TESTDEV_MAX_SIZE_DEFAULT;
	} else {
		td->max_size = testdev_rd(td, TESTDEV_REG_MAX_SIZE);
	}
	td->max_coherent = min_t(u64, td->max_size, TESTDEV_MAX_COHERENT);
	td->selftest_len = min_t(u64, td->max_size, PAGE_SIZE);
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(td->original ? 32 : 64));
	if (ret)
		return dev_err_probe(dev, ret, "no usable DMA mask\n");
	pci_set_drvdata(pdev, td);

	testdev_stop_rogue(td);
	/*
	 * A copy an earlier binding abandoned (its buffers are gone) must end
	 * before bus mastering comes back; without it, it ends as a fault.
	 * It may take BUSY_DELAY (up to an hour) from its doorbell: rather
	 * than wait here, leave bus mastering off, and the first copy waits.
	 */
	status = testdev_rd(td, TESTDEV_REG_STATUS);
	if (status & TESTDEV_STATUS_BUSY) {
		td->stale_copy = true;
		/* Off in the device too: its own DMA may have turned it on. */
		pci_clear_master(pdev);
		dev_info(dev, "a copy an earlier binding left is pending: bus mastering off until it ends\n");
	} else {
		pci_set_master(pdev);
	}

	td->id = ida_alloc(&testdev_ida, GFP_KERNEL);
	if (td->id < 0)
		return td->id;
	ret = devm_add_action_or_reset(dev, testdev_ida_free, td);
	if (ret)
		return ret;
	snprintf(td->name, sizeof(td->name), "pcie-testdev%d", td->id);
	ret = testdev_setup_irq(td);
	if (ret)
		return ret;

	if (selftest && td->stale_copy) {
		dev_info(dev, "self test skipped: a copy is pending\n");
	} else if (selftest) {
		ret = testdev_selftest(td);
		if (ret)
			return dev_err_probe(dev, ret, "self test failed\n");
	}

	ret = devm_add_action_or_reset(dev, testdev_remove_files, td);
	if (ret)
		return ret;
	/* For slot_reset: a link reset after a PCIe error loses it. */
	pci_save_state(pdev);
	/* Last: from here user space can reach the device. */
	td->misc.minor = MISC_DYNAMIC_MINOR;
	td->misc.name = td->name;
	td->misc.fops = &testdev_fops;
	td->misc.parent = dev;
	ret = misc_register(&td->misc);
	if (ret)
		return dev_err_probe(dev, ret, "cannot register %s\n", td->name);
	return devm_add_action_or_reset(dev, testdev_misc_deregister, &td->misc);
}

/*
 * A function reset (sysfs reset, a reset before assignment) returns the
 * device to its power-on state: end the copy in flight, whose buffers are
 * about to go, and keep copies off until the device is ours again.
 */
static void testdev_reset_prepare(struct pci_dev *pdev)
{
	struct testdev *td = pci_get_drvdata(pdev);

	WRITE_ONCE(td->resetting, true);
	wake_up(&td->wait);
	/* Held until reset_done: a waiting copy ends at once with -EIO. */
	mutex_lock(&td->lock);
	testdev_quiesce(td);
}

/*
 * Bus mastering after a reset, which cancelled any copy a waiter abandoned
 * (that is why it was off): on, unless a user turned it off. If a copy is
 * still pending (a PCIe error that reset nothing), the next copy waits for
 * it to end, then turns bus mastering on.
 */
static void testdev_master_after_reset(struct testdev *td)
{
	u64 status = testdev_rd(td, TESTDEV_REG_STATUS);

	td->stale_copy = false;
	if (td->user_master_off || testdev_dead(td, status)) {
		pci_clear_master(td->pdev);
	} else if (status & TESTDEV_STATUS_BUSY) {
		pci_clear_master(td->pdev);
		td->stale_copy = true;
	} else {
		pci_set_master(td->pdev);
	}
}

static void testdev_reset_done(struct pci_dev *pdev)
{
	struct testdev *td = pci_get_drvdata(pdev);

	/*
	 * Power-on state: a device with the aggressive property DMAs on its
	 * own again, and the reset cancelled the copy an ioctl abandoned.
	 */
	testdev_wr(td, TESTDEV_REG_AGGRESSIVE, 0);
	testdev_quiesce(td);
	testdev_master_after_reset(td);
	WRITE_ONCE(td->resetting, false);
	mutex_unlock(&td->lock);
}

/*
 * A PCIe error (AER, DPC): end a waiting copy and refuse new ones, as
 * reset_prepare does, but without holding td->lock: recovery may end
 * without slot_reset (and error_detected may come again, as a permanent
 * failure). The reset of the link comes next; the buffers stay.
 */
static pci_ers_result_t testdev_error_detected(struct pci_dev *pdev,
					       pci_channel_state_t state)
{
	struct testdev *td = pci_get_drvdata(pdev);

	WRITE_ONCE(td->resetting, true);
	td->frozen = state == pci_channel_io_frozen;
	wake_up(&td->wait);
	if (state == pci_channel_io_perm_failure)
		return PCI_ERS_RESULT_DISCONNECT;
	return PCI_ERS_RESULT_NEED_RESET;
}

/*
 * After a frozen link's reset, which nobody else saved the config space
 * for: the state probe saved, then as after a function reset. A non-fatal
 * error reset nothing: a copy an ioctl abandoned may still be pending, its
 * buffers freed, so the saved state (bus mastering on) must not come back.
 */
static pci_ers_result_t testdev_slot_reset(struct pci_dev *pdev)
{
	struct testdev *td = pci_get_drvdata(pdev);
	u64 status;

	if (td->frozen) {
		pci_restore_state(pdev);
		pci_save_state(pdev);
	}
	mutex_lock(&td->lock);
	status = testdev_rd(td, TESTDEV_REG_STATUS);
	if (!testdev_dead(td, status)) {
		testdev_wr(td, TESTDEV_REG_AGGRESSIVE, 0);
		testdev_quiesce(td);
	}
	testdev_master_after_reset(td);
	mutex_unlock(&td->lock);
	return testdev_dead(td, status) ? PCI_ERS_RESULT_DISCONNECT :
					  PCI_ERS_RESULT_RECOVERED;
}

static void testdev_resume(struct pci_dev *pdev)
{
	struct testdev *td = pci_get_drvdata(pdev);

	WRITE_ONCE(td->resetting, false);
	dev_info(&pdev->dev, "recovered from a PCIe error\n");
}

static const struct pci_error_handlers testdev_err_handler = {
	.error_detected = testdev_error_detected,
	.slot_reset = testdev_slot_reset,
	.resume = testdev_resume,
	.reset_prepare = testdev_reset_prepare,
	.reset_done = testdev_reset_done,
};

static const struct pci_device_id testdev_ids[] = {
	{ PCI_DEVICE(TESTDEV_VENDOR_ID, TESTDEV_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, testdev_ids);

static struct pci_driver testdev_driver = {
	.name = KBUILD_MODNAME,
	.id_table = testdev_ids,
	.probe = testdev_probe,
	.err_handler = &testdev_err_handler,
};
module_pci_driver(testdev_driver);

MODULE_DESCRIPTION("Driver for the pcie-testdev DMA test device");
MODULE_VERSION(TESTDEV_DRIVER_VERSION);
MODULE_LICENSE("GPL");
