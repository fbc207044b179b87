// SPDX-License-Identifier: GPL-2.0-or-later
/* The driver-facing code of the pcie-testdev programs: see testdev.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testdev.h"

void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A child's wait status, or -1. */
int wait_child(pid_t pid)
{
	int status = -1;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const testdev_name *)a, *(const testdev_name *)b);
}

/* The misc names of every bound device, sorted; at most max. */
int list_devices(testdev_name *names, int max)
{
	struct dirent *e;
	int n = 0;
	DIR *d;

	d = opendir("/sys/class/misc");
	if (!d)
		die("/sys/class/misc: %s", strerror(errno));
	while ((e = readdir(d)) && n < max)
		if (!strncmp(e->d_name, "pcie-testdev", 12))
			snprintf(names[n++], sizeof(names[0]), "%.31s",
				 e->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_name);
	return n;
}

/* After a device could not be opened: which ones are there instead. */
static void die_unbound(const char *path, int err)
{
	testdev_name names[MAX_DEVICES];
	int n = list_devices(names, MAX_DEVICES), i;
	char hint[MAX_DEVICES * sizeof(testdev_name) + 32];
	size_t used;

	if (!n)
		die("%s: %s; %s", path, strerror(err), NO_DEVICE);
	used = snprintf(hint, sizeof(hint), "the devices bound are");
	for (i = 0; i < n; i++)
		used += snprintf(hint + used, sizeof(hint) - used, " %s",
				 names[i]);
	die("%s: %s; %s", path, strerror(err), hint);
}

/* DEV: pcie-testdevN, or /dev/pcie-testdevN. */
int open_dev(const char *name)
{
	char path[64];
	int fd, err;

	if (!strncmp(name, "/dev/", 5))
		name += 5;
	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT || err == ENODEV || err == ENXIO)
			die_unbound(path, err);
		die("%s: %s", path, strerror(err));
	}
	return fd;
}

/* The PCI address of a misc device, from sysfs. */
void dev_bdf(const char *dev, char *bdf, size_t len)
{
	char path[256], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/class/misc/%s/device", dev);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		die("%s: %s", path, strerror(errno));
	link[n] = '\0';
	snprintf(bdf, len, "%s", strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
}

/* Write one line to a sysfs file; 0 or -errno. */
int sysfs_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The first line of a file, without its newline; "" if it cannot be read. */
static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* The IOMMU options on the kernel command line, space-separated. */
static void iommu_options(char *out, size_t len)
{
	static const char *const prefixes[] = {
		"intel_iommu=", "amd_iommu=", "iommu=", "iommu.", "swiotlb=",
	};
	char line[4096], *tok, *save;
	size_t i, used = 0;

	out[0] = '\0';
	read_line("/proc/cmdline", line, sizeof(line));
	for (tok = strtok_r(line, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save))
		for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
			if (!strncmp(tok, prefixes[i], strlen(prefixes[i])) &&
			    used + strlen(tok) + 2 < len) {
				used += sprintf(out + used, "%s%s",
						used ? " " : "", tok);
				break;
			}
	if (!used)
		snprintf(out, len, "-");
}

/* A virtio-iommu PCI function (1af4:1057): QEMU's virtio-iommu-pci. */
static bool virtio_iommu_present(void)
{
	char path[320], vendor[16], device[16];
	struct dirent *e;
	bool found = false;
	DIR *d = opendir("/sys/bus/pci/devices");

	while (d && !found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor",
			 e->d_name);
		read_line(path, vendor, sizeof(vendor));
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
			 e->d_name);
		read_line(path, device, sizeof(device));
		found = !strcmp(vendor, "0x1af4") && !strcmp(device, "0x1057");
	}
	if (d)
		closedir(d);
	return found;
}

void detect_iommu(const char *misc, struct iommu_cfg *cfg)
{
	char path[256];
	struct dirent *e;
	DIR *d;

	strcpy(cfg->vendor, "none");
	d = opendir("/sys/class/iommu");
	while (d && (e = readdir(d))) {
		if (!strncmp(e->d_name, "dmar", 4))
			strcpy(cfg->vendor, "intel");
		else if (!strncmp(e->d_name, "ivhd", 4))
			strcpy(cfg->vendor, "amd");
		else if (!strncmp(e->d_name, "smmu3.", 6))
			strcpy(cfg->vendor, "smmu");
		else if (e->d_name[0] != '.')
			strcpy(cfg->vendor, "virtio");
	}
	if (d)
		closedir(d);
	/*
	 * A virtio-iommu the kernel has no driver for (Debian 12's 6.1) has
	 * no entry there and translates nothing: named all the same, beside
	 * domain "none", so that the silent failure shows.
	 */
	if (!strcmp(cfg->vendor, "none") && virtio_iommu_present())
		strcpy(cfg->vendor, "virtio");
	snprintf(path, sizeof(path),
		 "/sys/class/misc/%s/device/iommu_group/type", misc);
	read_line(path, cfg->domain, sizeof(cfg->domain));
	if (!cfg->domain[0])
		strcpy(cfg->domain, "none");
	cfg->lazy = !strcmp(cfg->domain, "DMA-FQ");
	cfg->translated = cfg->lazy || !strcmp(cfg->domain, "DMA");
	iommu_options(cfg->cmdline, sizeof(cfg->cmdline));
	cfg->bounce = !!strstr(cfg->cmdline, "swiotlb=force");
}

/* The device's counters; 0 or -errno. */
int dev_info(int fd, struct testdev_info *inf)
{
	memset(inf, 0, sizeof(*inf));
	inf->argsz = sizeof(*inf);
	return ioctl(fd, TESTDEV_IOC_INFO, inf) ? -errno : 0;
}

/* What the device did before the driver stopped it; 0 or -errno. */
int dev_rogue(int fd, struct testdev_rogue *r)
{
	memset(r, 0, sizeof(*r));
	r->argsz = sizeof(*r);
	return ioctl(fd, TESTDEV_IOC_ROGUE, r) ? -errno : 0;
}

void set_master(int fd, int on)
{
	struct testdev_master m = { .argsz = sizeof(m), .enable = on };

	if (ioctl(fd, TESTDEV_IOC_SET_MASTER, &m))
		die("bus master: %s", strerror(errno));
}

/* 0 or -errno: the caller says what a refusal means. */
int buf_alloc(int fd, struct buf *b, uint32_t kind, uint32_t dir,
	      uint64_t size, uint64_t map_len)
{
	struct testdev_buf_alloc req = {
		.argsz = sizeof(req), .kind = kind, .dir = dir,
		.size = size, .map_len = map_len,
	};

	if (ioctl(fd, TESTDEV_IOC_BUF_ALLOC, &req))
		return -errno;
	b->id = req.id;
	b->dma = req.dma;
	b->phys = req.phys;
	return 0;
}

static void buf_ref(int fd, unsigned long cmd, struct buf *b)
{
	struct testdev_buf_ref ref = { .argsz = sizeof(ref), .id = b->id };

	if (ioctl(fd, cmd, &ref))
		die("buffer %u: %s", b->id, strerror(errno));
}

void buf_free(int fd, struct buf *b)
{
	buf_ref(fd, TESTDEV_IOC_BUF_FREE, b);
}

/* Unmap a streaming buffer; its old handle stays in b->dma. */
void buf_unmap(int fd, struct buf *b)
{
	buf_ref(fd, TESTDEV_IOC_BUF_UNMAP, b);
}

static void buf_io(int fd, unsigned long cmd, struct buf *b, uint64_t off,
		   const void *data, uint64_t len)
{
	struct testdev_buf_io io = {
		.argsz = sizeof(io), .id = b->id, .offset = off, .len = len,
		.data = (uintptr_t)data,
	};

	if (ioctl(fd, cmd, &io))
		die("buffer %u I/O: %s", b->id, strerror(errno));
}

void buf_read(int fd, struct buf *b, uint64_t off, void *data, uint64_t len)
{
	buf_io(fd, TESTDEV_IOC_BUF_READ, b, off, data, len);
}

void buf_write(int fd, struct buf *b, uint64_t off, const void *data,
	       uint64_t len)
{
	buf_io(fd, TESTDEV_IOC_BUF_WRITE, b, off, data, len);
}

/* len bytes at off, a page at a time. */
void buf_fill(int fd, struct buf *b, uint64_t off, int byte, uint64_t len)
{
	uint8_t data[PAGE];
	uint64_t n;

	memset(data, byte, len < PAGE ? len : PAGE);
	for (; len; off += n, len -= n) {
		n = len < PAGE ? len : PAGE;
		buf_write(fd, b, off, data, n);
	}
}

/* 1 if len bytes at off all hold byte. */
int buf_holds(int fd, struct buf *b, uint64_t off, int byte, uint64_t len)
{
	uint8_t data[PAGE];
	uint64_t i, n;

	for (; len; off += n, len -= n) {
		n = len < PAGE ? len : PAGE;
		buf_read(fd, b, off, data, n);
		for (i = 0; i < n; i++)
			if (data[i] != byte)
				return 0;
	}
	return 1;
}

/* How many of len bytes at off in b are not byte. */
uint64_t buf_count_not(int fd, struct buf *b, uint64_t off, int byte,
		       uint64_t len)
{
	uint8_t data[PAGE];
	uint64_t i, n, count = 0;

	for (; len; off += n, len -= n) {
		n = len < PAGE ? len : PAGE;
		buf_read(fd, b, off, data, n);
		for (i = 0; i < n; i++)
			count += data[i] != byte;
	}
	return count;
}

/* A one-page source and destination buffer, of the given kinds, or die. */
void alloc_pair(int fd, struct buf *s, uint32_t skind, uint32_t sdir,
		uint64_t smap, struct buf *d, uint32_t dkind, uint32_t ddir)
{
	int ret = buf_alloc(fd, s, skind, sdir, PAGE, smap);

	if (!ret)
		ret = buf_alloc(fd, d, dkind, ddir, PAGE, 0);
	if (ret)
		die("allocating buffers: %s", strerror(-ret));
}

void free_pair(int fd, struct buf *s, struct buf *d)
{
	buf_free(fd, s);
	buf_free(fd, d);
}

static const char *const result_names[] = TESTDEV_RESULT_NAMES;

const char *result_name(uint32_t r)
{
	return r < sizeof(result_names) / sizeof(result_names[0]) ?
	       result_names[r] : "unknown";
}

/* One end of a copy: a buffer's handle or physical address, or a raw one. */
struct testdev_addr addr_of(uint32_t mode, struct buf *b, uint64_t a)
{
	struct testdev_addr r = { .mode = mode, .id = b ? b->id : 0, .addr = a };

	return r;
}

/* 0 or -errno; *c holds STATUS, RESULT and the bus addresses. */
int do_copy(int fd, struct testdev_addr src, struct testdev_addr dst,
	    uint64_t size, struct testdev_copy *c)
{
	memset(c, 0, sizeof(*c));
	c->argsz = sizeof(*c);
	c->src = src;
	c->dst = dst;
	c->size = size;
	return ioctl(fd, TESTDEV_IOC_COPY, c) ? -errno : 0;
}

/*
 * A copy dst <- src where the ends are given; 1 if it landed (RESULT ok,
 * or none from the original device, which has no RESULT, and the
 * destination buffer holds the source's byte).
 */
int copy_landed(int fd, struct testdev_addr src, struct testdev_addr dst,
		struct buf *d, int byte, uint64_t len)
{
	struct testdev_copy c;

	return !do_copy(fd, src, dst, len, &c) &&
	       (c.result == TESTDEV_RESULT_OK ||
		c.result == TESTDEV_RESULT_NONE) &&
	       buf_holds(fd, d, 0, byte, len);
}

/*
 * A page copied from s to d by their DMA handles, s holding
 * TESTDEV_SRC_FILL and d TESTDEV_DST_FILL before: 1 if it landed.
 */
int copy_page_lands(int fd, struct buf *s, struct buf *d)
{
	buf_fill(fd, s, 0, TESTDEV_SRC_FILL, PAGE);
	buf_fill(fd, d, 0, TESTDEV_DST_FILL, PAGE);
	return copy_landed(fd, addr_of(TESTDEV_ADDR_DMA, s, 0),
			   addr_of(TESTDEV_ADDR_DMA, d, 0), d, TESTDEV_SRC_FILL,
			   PAGE);
}

/* A copy through buffers the driver maps and unmaps around it; 0 or -errno. */
int stream_copy(int fd, uint64_t size, struct testdev_stream_copy *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->argsz = sizeof(*sc);
	sc->size = size;
	return ioctl(fd, TESTDEV_IOC_STREAM_COPY, sc) ? -errno : 0;
}

/* 0 or -errno. */
int scan_dev(int fd, uint64_t start, uint64_t pages, uint64_t canary,
	     struct scan_result *r)
{
	struct testdev_scan req = {
		.argsz = sizeof(req), .start = start, .pages = pages,
		.canary = canary,
	};

	if (ioctl(fd, TESTDEV_IOC_SCAN, &req))
		return -errno;
	r->seq = req.seq;
	r->readable = req.readable;
	r->writable = req.writable;
	r->canaries = req.canaries;
	r->elapsed_ns = req.elapsed_ns;
	return 0;
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}
