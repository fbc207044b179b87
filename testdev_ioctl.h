/* SPDX-License-Identifier: GPL-2.0-or-later WITH Linux-syscall-note */
/*
 * The user interface of testdev_driver: one character device per bound
 * pcie-testdev, /dev/pcie-testdevN. Shared by the driver and the tools
 * (tools/lib/testdev.c, which testdevctl and the selftests use).
 *
 * Every argument struct starts with argsz, the size userspace built it
 * with: the driver refuses sizes it does not know (-EINVAL), so fields can
 * be added at the end later. Reserved fields must be 0 (-EINVAL).
 * Unknown commands return -ENOTTY.
 */
#ifndef TESTDEV_IOCTL_H
#define TESTDEV_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Versions: 2 added TESTDEV_IOC_ROGUE. 3: naming memory by address
 * (TESTDEV_ADDR_RAW, TESTDEV_ADDR_PHYS, a stale handle, a source past a
 * partial mapping) takes CAP_SYS_RAWIO and no lockdown (-EPERM), BUF_ALLOC
 * returns phys 0 without it, and a destination past a partial mapping gets
 * -EINVAL. 4 added TESTDEV_IOC_SCAN, 5 TESTDEV_IOC_STREAM_COPY, 6 the
 * ATS counters to TESTDEV_IOC_INFO.
 */
#define TESTDEV_IOCTL_VERSION	6
#define TESTDEV_IOC_MAGIC	0xb7

/* Buffers an open file may hold at once. */
#define TESTDEV_MAX_BUFFERS	64

/* Buffer kinds. */
#define TESTDEV_BUF_COHERENT	0	/* dma_alloc_coherent() */
#define TESTDEV_BUF_STREAMING	1	/* kmalloc() + dma_map_single(dir) */
#define TESTDEV_BUF_UNMAPPED	2	/* kmalloc(), never mapped */

/* Streaming directions, as the DMA API names them. */
#define TESTDEV_DIR_BIDIRECTIONAL	0
#define TESTDEV_DIR_TO_DEVICE		1
#define TESTDEV_DIR_FROM_DEVICE		2

/* How a copy names an address. */
#define TESTDEV_ADDR_DMA	0	/* buffer's DMA handle + offset */
#define TESTDEV_ADDR_PHYS	1	/* buffer's CPU physical address + offset */
#define TESTDEV_ADDR_RAW	2	/* the bus address in addr */

struct testdev_info {
	__u32 argsz;
	__u32 version;		/* out: TESTDEV_IOCTL_VERSION */
	__u64 max_size;		/* out: the device's MAX_SIZE */
	__u64 copies;		/* out: the device's COPIES */
	__u64 faults;		/* out: the device's FAULTS */
	__u32 irq;		/* out: 1 when copies complete by interrupt */
	__u32 reserved;
	__u64 ats_translations;	/* out: ATS_TRANSLATIONS (0 without ats=on) */
	__u64 ats_invalidations; /* out: ATS_INVALIDATIONS */
};

struct testdev_buf_alloc {
	__u32 argsz;
	__u32 kind;		/* TESTDEV_BUF_* */
	__u32 dir;		/* TESTDEV_DIR_*, for streaming buffers */
	__u32 reserved;
	__u64 size;		/* bytes to allocate, 1 to one page for kmalloc kinds */
	__u64 map_len;		/* streaming: bytes to map from the start, 0 = size */
	__u32 id;		/* out: the buffer's id */
	__u32 reserved2;
	/*
	 * out: DMA handle (0 for unmapped); where no IOMMU translates it is
	 * a physical address, so 0 without CAP_SYS_RAWIO
	 */
	__u64 dma;
	__u64 phys;		/* out: CPU physical address (0 without CAP_SYS_RAWIO) */
};

struct testdev_buf_ref {
	__u32 argsz;
	__u32 id;
};

struct testdev_buf_io {
	__u32 argsz;
	__u32 id;
	__u64 offset;
	__u64 len;
	__u64 data;		/* user pointer to len bytes */
};

struct testdev_addr {
	__u32 mode;		/* TESTDEV_ADDR_* */
	__u32 id;		/* buffer, for DMA and PHYS */
	__u64 addr;		/* offset into the buffer, or the raw address */
};

struct testdev_copy {
	__u32 argsz;
	__u32 timeout_ms;	/* 0: the driver's default */
	struct testdev_addr src;
	struct testdev_addr dst;
	__u64 size;
	__u64 status;		/* out: STATUS after the copy */
	__u32 result;		/* out: RESULT (TESTDEV_RESULT_*) */
	__u32 reserved;
	__u64 elapsed_ns;	/* out: doorbell to completion */
	/* out: the bus addresses the device got, hidden as dma is */
	__u64 src_bus;
	__u64 dst_bus;
};

struct testdev_master {
	__u32 argsz;
	__u32 enable;		/* 0 or 1: the device's bus mastering */
};

/*
 * What the device did on its own before the driver took it: a device in
 * aggressive mode DMAs from power-on. The driver stops it at probe.
 */
struct testdev_rogue {
	__u32 argsz;
	__u32 aggressive;	/* out: 1 if it was in aggressive mode */
	__u64 copies;		/* out: COPIES then: DMAs that landed */
	__u64 faults;		/* out: FAULTS then: DMAs the IOMMU refused */
};

/*
 * A reachability scan by the device (see the device's spec): which of
 * pages bus addresses from start it could read and write, and in how many
 * readable RAM pages it found canary (0: it reads none). It names memory
 * by address: CAP_SYS_RAWIO and no lockdown (-EPERM). The device turns its
 * bus mastering on for the scan, as a rogue device would; the driver turns
 * it back off after if it was off (SET_MASTER 0), and refuses a scan while
 * a copy is pending (-EBUSY).
 */
struct testdev_scan {
	__u32 argsz;
	__u32 timeout_ms;	/* 0: the driver's default */
	__u64 start;		/* first bus address, rounded down to 4 KiB */
	__u64 pages;		/* 1 to TESTDEV_SCAN_MAX_PAGES */
	__u64 canary;
	__u64 seq;		/* out: the device's SCAN_SEQ: which scan this was */
	__u64 readable;		/* out: pages it could read */
	__u64 writable;		/* out: pages it could write */
	__u64 canaries;		/* out: readable RAM pages holding canary */
	__u64 elapsed_ns;	/* out: start to end */
	__u32 reserved;
	__u32 reserved2;
};

/*
 * One copy through the streaming DMA API, timed phase by phase, for
 * measuring what an IOMMU mode costs: the driver allocates two buffers of
 * size bytes, maps them (dma_map_single(), to and from the device), has
 * the device copy, unmaps them (where a strict IOMMU invalidates its
 * IOTLB), checks the data and frees them. A size the DMA API cannot map
 * at once (above dma_max_mapping_size(): 256 KiB under swiotlb) gives
 * E2BIG, before anything is allocated. The two mappings count as two
 * against the budget.
 */
struct testdev_stream_copy {
	__u32 argsz;
	__u32 reserved;
	__u64 size;		/* 1 to the device's MAX_SIZE, at most 4 MiB */
	__u64 map_ns;		/* out: mapping both buffers */
	__u64 copy_ns;		/* out: doorbell to completion */
	__u64 unmap_ns;		/* out: unmapping both */
	__u32 result;		/* out: RESULT (TESTDEV_RESULT_*) */
	__u32 landed;		/* out: 1 if the destination holds the source */
};

#define TESTDEV_IOC_INFO	_IOWR(TESTDEV_IOC_MAGIC, 0, struct testdev_info)
#define TESTDEV_IOC_BUF_ALLOC	_IOWR(TESTDEV_IOC_MAGIC, 1, struct testdev_buf_alloc)
#define TESTDEV_IOC_BUF_FREE	_IOW(TESTDEV_IOC_MAGIC, 2, struct testdev_buf_ref)
#define TESTDEV_IOC_BUF_UNMAP	_IOW(TESTDEV_IOC_MAGIC, 3, struct testdev_buf_ref)
#define TESTDEV_IOC_BUF_WRITE	_IOW(TESTDEV_IOC_MAGIC, 4, struct testdev_buf_io)
#define TESTDEV_IOC_BUF_READ	_IOW(TESTDEV_IOC_MAGIC, 5, struct testdev_buf_io)
#define TESTDEV_IOC_COPY	_IOWR(TESTDEV_IOC_MAGIC, 6, struct testdev_copy)
#define TESTDEV_IOC_SET_MASTER	_IOW(TESTDEV_IOC_MAGIC, 7, struct testdev_master)
#define TESTDEV_IOC_ROGUE	_IOWR(TESTDEV_IOC_MAGIC, 8, struct testdev_rogue)
#define TESTDEV_IOC_SCAN	_IOWR(TESTDEV_IOC_MAGIC, 9, struct testdev_scan)
#define TESTDEV_IOC_STREAM_COPY	_IOWR(TESTDEV_IOC_MAGIC, 10, struct testdev_stream_copy)

#endif /* TESTDEV_IOCTL_H */
