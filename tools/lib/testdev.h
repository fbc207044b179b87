/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The driver-facing code every pcie-testdev program shares (testdevctl and
 * the selftests under tests/selftests/): find and open a device, its
 * buffers, copies, scans and sysfs. Errors the callers cannot act on end
 * the program through die(), with exit status 2.
 */
#ifndef TOOLS_LIB_TESTDEV_H
#define TOOLS_LIB_TESTDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../../testdev_ioctl.h"
#include "../../testdev_regs.h"
#include "../../testdev_verdict.h"

#define PAGE		4096
/* A bus address no IOMMU domain maps, but RAM when nothing translates. */
#define NEVER_MAPPED	0x1000000ULL

#define NO_DEVICE "no pcie-testdev device bound (is testdev_driver loaded?)"
#define MAX_DEVICES	16

/* A misc device's name: pcie-testdevN. */
typedef char testdev_name[32];

/* Print "PROGRAM: message" to stderr and exit with status 2. */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Time, and children. */
uint64_t now_ns(void);
void sleep_ms(unsigned int ms);
int wait_child(pid_t pid);

/* Devices, and what sysfs says about them. */
int list_devices(testdev_name *names, int max);
int open_dev(const char *name);
void dev_bdf(const char *dev, char *bdf, size_t len);
int sysfs_write(const char *path, const char *text);

/* The IOMMU configuration, as the running kernel has set it up. */
struct iommu_cfg {
	char vendor[16];	/* intel, amd, smmu, virtio or none */
	char domain[16];	/* DMA, DMA-FQ, identity, blocked or none */
	bool translated;	/* DMA or DMA-FQ */
	bool lazy;		/* DMA-FQ: invalidation deferred */
	bool bounce;		/* swiotlb=force: streaming DMA bounces */
	char cmdline[256];	/* the kernel's IOMMU options, or "-" */
};

void detect_iommu(const char *misc, struct iommu_cfg *cfg);

/* The device's counters, what it did before the driver, bus mastering. */
int dev_info(int fd, struct testdev_info *inf);
int dev_rogue(int fd, struct testdev_rogue *r);
void set_master(int fd, int on);

/* Buffers of one open file, through the driver. */
struct buf {
	uint32_t id;
	uint64_t dma, phys;
};

int buf_alloc(int fd, struct buf *b, uint32_t kind, uint32_t dir,
	      uint64_t size, uint64_t map_len);
void buf_free(int fd, struct buf *b);
void buf_unmap(int fd, struct buf *b);
void buf_read(int fd, struct buf *b, uint64_t off, void *data, uint64_t len);
void buf_write(int fd, struct buf *b, uint64_t off, const void *data,
	       uint64_t len);
void buf_fill(int fd, struct buf *b, uint64_t off, int byte, uint64_t len);
int buf_holds(int fd, struct buf *b, uint64_t off, int byte, uint64_t len);
uint64_t buf_count_not(int fd, struct buf *b, uint64_t off, int byte,
		       uint64_t len);
void alloc_pair(int fd, struct buf *s, uint32_t skind, uint32_t sdir,
		uint64_t smap, struct buf *d, uint32_t dkind, uint32_t ddir);
void free_pair(int fd, struct buf *s, struct buf *d);

/* Copies. */
const char *result_name(uint32_t r);
struct testdev_addr addr_of(uint32_t mode, struct buf *b, uint64_t a);
int do_copy(int fd, struct testdev_addr src, struct testdev_addr dst,
	    uint64_t size, struct testdev_copy *c);
int copy_landed(int fd, struct testdev_addr src, struct testdev_addr dst,
		struct buf *d, int byte, uint64_t len);
int copy_page_lands(int fd, struct buf *s, struct buf *d);
int stream_copy(int fd, uint64_t size, struct testdev_stream_copy *sc);

/* The device's reachability scan, through the driver. */
struct scan_result {
	uint64_t seq, readable, writable, canaries, elapsed_ns;
};

int scan_dev(int fd, uint64_t start, uint64_t pages, uint64_t canary,
	     struct scan_result *r);

/* s as a JSON string, quotes included. */
void json_str(FILE *f, const char *s);

#endif
