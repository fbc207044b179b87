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
 */

#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/iopoll.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/string.h>

#include "testdev_regs.h"

#define TESTDEV_SELFTEST_LEN	PAGE_SIZE
#define TESTDEV_SRC_FILL	0x5a
#define TESTDEV_DST_FILL	0xc3
/* How long a copy may take beyond the device's BUSY_DELAY. */
#define TESTDEV_TIMEOUT_MS	2000
#define TESTDEV_POLL_US		100

static bool selftest = true;
module_param(selftest, bool, 0444);
MODULE_PARM_DESC(selftest, "Run the two DMA transfers at probe (default: true)");

struct testdev {
	struct pci_dev *pdev;
	void __iomem *regs;
	struct mutex lock;	/* one copy at a time */
	/* The original fork's device has no RESULT register: judge by data. */
	bool has_result;
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
};

/*
 * Copy len bytes from src to dst (bus addresses) and wait for the device to
 * finish. Returns 0 with *out filled in, or -ETIMEDOUT.
 */
static int testdev_copy(struct testdev *td, u64 src, u64 dst, u64 len,
			struct testdev_outcome *out)
{
	u64 delay_ms;
	int ret;

	mutex_lock(&td->lock);
	writeq(src, td->regs + TESTDEV_REG_SRCADDR);
	writeq(dst, td->regs + TESTDEV_REG_DSTADDR);
	writeq(len, td->regs + TESTDEV_REG_SIZE);
	delay_ms = min_t(u64, readq(td->regs + TESTDEV_REG_BUSY_DELAY),
			 TESTDEV_MAX_DELAY_MS);
	writeq(TESTDEV_DOORBELL_START, td->regs + TESTDEV_REG_DOORBELL);

	ret = readq_poll_timeout(td->regs + TESTDEV_REG_STATUS, out->status,
				 !(out->status & TESTDEV_STATUS_BUSY),
				 TESTDEV_POLL_US,
				 (delay_ms + TESTDEV_TIMEOUT_MS) * USEC_PER_MSEC);
	if (!ret)
		out->result = td->has_result ?
			      readq(td->regs + TESTDEV_REG_RESULT) :
			      TESTDEV_RESULT_NONE;
	mutex_unlock(&td->lock);
	/* The device's writes must be seen before the buffers are read. */
	dma_rmb();
	return ret;
}

static const char *testdev_result_name(u32 result)
{
	static const char *const names[] = TESTDEV_RESULT_NAMES;

	return result < ARRAY_SIZE(names) ? names[result] : "unknown";
}

static const char *testdev_data_state(const struct testdev_buf *dst)
{
	if (!memchr_inv(dst->cpu, TESTDEV_SRC_FILL, TESTDEV_SELFTEST_LEN))
		return "copied";
	if (!memchr_inv(dst->cpu, TESTDEV_DST_FILL, TESTDEV_SELFTEST_LEN))
		return "untouched";
	return "corrupted";
}

/*
 * The verdict agrees with both the device's RESULT and the data; on the
 * original device, which has no RESULT, the data alone decides.
 */
static const char *testdev_verdict(const struct testdev *td, u32 result,
				   const char *data)
{
	bool ok = !td->has_result || result == TESTDEV_RESULT_OK;
	bool fault = !td->has_result || result == TESTDEV_RESULT_SRC_FAULT ||
		     result == TESTDEV_RESULT_DST_FAULT;

	if (ok && !strcmp(data, "copied"))
		return "succeeded";
	if (fault && !strcmp(data, "untouched"))
		return "blocked";
	return "inconsistent";
}

static int testdev_transfer(struct testdev *td, int nr, const char *how,
			    u64 src, u64 dst, struct testdev_buf *dbuf)
{
	struct device *dev = &td->pdev->dev;
	struct testdev_outcome out;
	const char *data;
	int ret;

	memset(dbuf->cpu, TESTDEV_DST_FILL, TESTDEV_SELFTEST_LEN);
	ret = testdev_copy(td, src, dst, TESTDEV_SELFTEST_LEN, &out);
	if (ret) {
		dev_err(dev, "transfer %d (%s): src %#llx dst %#llx: no completion: %d\n",
			nr, how, src, dst, ret);
		return ret;
	}
	data = testdev_data_state(dbuf);
	dev_info(dev, "transfer %d (%s): src %#llx dst %#llx: STATUS=%llu RESULT=%s data=%s -> %s\n",
		 nr, how, src, dst, out.status, testdev_result_name(out.result),
		 data, testdev_verdict(td, out.result, data));
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
	struct testdev_buf src, dst;
	int ret;

	src.cpu = dma_alloc_coherent(dev, TESTDEV_SELFTEST_LEN, &src.dma, GFP_KERNEL);
	if (!src.cpu)
		return -ENOMEM;
	dst.cpu = dma_alloc_coherent(dev, TESTDEV_SELFTEST_LEN, &dst.dma, GFP_KERNEL);
	if (!dst.cpu) {
		ret = -ENOMEM;
		goto free_src;
	}
	src.phys = testdev_cpu_phys(src.cpu);
	dst.phys = testdev_cpu_phys(dst.cpu);
	memset(src.cpu, TESTDEV_SRC_FILL, TESTDEV_SELFTEST_LEN);

	ret = testdev_transfer(td, 1, "DMA handles", src.dma, dst.dma, &dst);
	if (!ret)
		ret = testdev_transfer(td, 2, "CPU physical addresses",
				       src.phys, dst.phys, &dst);
	/* A device that did not finish may still write: cut it off first. */
	if (ret)
		pci_clear_master(td->pdev);

	dma_free_coherent(dev, TESTDEV_SELFTEST_LEN, dst.cpu, dst.dma);
free_src:
	dma_free_coherent(dev, TESTDEV_SELFTEST_LEN, src.cpu, src.dma);
	return ret;
}

static int testdev_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct testdev *td;
	int ret;

	td = devm_kzalloc(dev, sizeof(*td), GFP_KERNEL);
	if (!td)
		return -ENOMEM;
	td->pdev = pdev;
	mutex_init(&td->lock);

	ret = pcim_enable_device(pdev);
	if (ret)
		return dev_err_probe(dev, ret, "cannot enable device\n");
	ret = pcim_iomap_regions(pdev, BIT(TESTDEV_BAR), KBUILD_MODNAME);
	if (ret)
		return dev_err_probe(dev, ret, "cannot map BAR%d\n", TESTDEV_BAR);
	td->regs = pcim_iomap_table(pdev)[TESTDEV_BAR];
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return dev_err_probe(dev, ret, "no usable DMA mask\n");
	pci_set_master(pdev);
	pci_set_drvdata(pdev, td);

	td->has_result = readq(td->regs + TESTDEV_REG_MAX_SIZE) != 0;
	if (!td->has_result)
		dev_info(dev, "no RESULT register (original device): judging copies by their data\n");

	if (selftest) {
		ret = testdev_selftest(td);
		if (ret)
			return dev_err_probe(dev, ret, "self test failed\n");
	}
	return 0;
}

static const struct pci_device_id testdev_ids[] = {
	{ PCI_DEVICE(TESTDEV_VENDOR_ID, TESTDEV_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, testdev_ids);

static struct pci_driver testdev_driver = {
	.name = KBUILD_MODNAME,
	.id_table = testdev_ids,
	.probe = testdev_probe,
};
module_pci_driver(testdev_driver);

MODULE_DESCRIPTION("Driver for the pcie-testdev DMA test device");
MODULE_LICENSE("GPL");
