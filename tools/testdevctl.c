// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * testdevctl: drive pcie-testdev through /dev/pcie-testdevN.
 *
 *   testdevctl info                       every device, its counters
 *   testdevctl copy [--fill BYTE] SRC DST SIZE [DEV]
 *                                         one copy between two buffers
 *                                         (SRC, DST: dma | phys | ADDR)
 *   testdevctl audit [--ktap|--json]      what the IOMMU blocks, per device
 *   testdevctl audit --legend             what the audit's words mean
 *   testdevctl check-ioctls [DEV]         the driver refuses bad arguments
 *   testdevctl check-remove [DEV]         killing a copy, unbinding the driver
 *                                         and removing the device under an
 *                                         open file are safe
 *   testdevctl check-driver [DEV]         DMA-API rules, privileges, and
 *                                         removal while an ioctl waits for
 *                                         user memory
 *   testdevctl ring BDF                   start a copy on an unbound device
 *   testdevctl aer-inject BDF nonfatal|fatal
 *                                         report a PCIe error for the device
 *                                         (the kernel's aer_inject module)
 *   testdevctl scan BDF                   what an unbound device can reach
 *   testdevctl exposure [DEV]             what it can reach, and which
 *                                         canaries, as buffers come and go
 *   testdevctl bench [DEV]                what a copy costs, coherent and
 *                                         streaming
 *   testdevctl --help                     all this, and the exit codes
 *
 * The audit runs each scenario on every device it finds, tells the IOMMU
 * configuration from sysfs, and prints scenario, expected, observed and
 * verdict. It exits 1 if any verdict fails.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../testdev_ioctl.h"
#include "../testdev_regs.h"

#define PAGE		4096
#define CANARY		0xca
#define SRC_FILL	0x5a
#define DST_FILL	0xc3
/* A bus address no IOMMU domain maps, but RAM when nothing translates. */
#define NEVER_MAPPED	0x1000000ULL
/* How long to watch a stale handle, and when to try it "later". */
#define STALE_WATCH_MS	200
#define STALE_LATER_MS	1000

static const char *const result_names[] = TESTDEV_RESULT_NAMES;

static const char *result_name(uint32_t r)
{
	return r < sizeof(result_names) / sizeof(result_names[0]) ?
	       result_names[r] : "unknown";
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	fputs("testdevctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* Buffers and copies, through the driver. */
struct buf {
	uint32_t id;
	uint64_t dma, phys, size;
};

static int buf_alloc(int fd, struct buf *b, uint32_t kind, uint32_t dir,
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
	b->size = size;
	return 0;
}

static void buf_ref(int fd, unsigned long cmd, struct buf *b)
{
	struct testdev_buf_ref ref = { .argsz = sizeof(ref), .id = b->id };

	if (ioctl(fd, cmd, &ref))
		die("buffer %u: %s", b->id, strerror(errno));
}

static void buf_io(int fd, unsigned long cmd, struct buf *b, uint64_t off,
		   void *data, uint64_t len)
{
	struct testdev_buf_io io = {
		.argsz = sizeof(io), .id = b->id, .offset = off, .len = len,
		.data = (uintptr_t)data,
	};

	if (ioctl(fd, cmd, &io))
		die("buffer %u I/O: %s", b->id, strerror(errno));
}

/* len bytes at off, a page at a time. */
static void buf_fill(int fd, struct buf *b, uint64_t off, int byte,
		     uint64_t len)
{
	uint8_t data[PAGE];
	uint64_t n;

	memset(data, byte, len < PAGE ? len : PAGE);
	for (; len; off += n, len -= n) {
		n = len < PAGE ? len : PAGE;
		buf_io(fd, TESTDEV_IOC_BUF_WRITE, b, off, data, n);
	}
}

/* 1 if len bytes at off all hold byte. */
static int buf_holds(int fd, struct buf *b, uint64_t off, int byte,
		     uint64_t len)
{
	uint8_t data[PAGE];
	uint64_t i, n;

	for (; len; off += n, len -= n) {
		n = len < PAGE ? len : PAGE;
		buf_io(fd, TESTDEV_IOC_BUF_READ, b, off, data, n);
		for (i = 0; i < n; i++)
			if (data[i] != byte)
				return 0;
	}
	return 1;
}

static struct testdev_addr addr_of(uint32_t mode, struct buf *b, uint64_t a)
{
	struct testdev_addr r = { .mode = mode, .id = b ? b->id : 0, .addr = a };

	return r;
}

static int do_copy(int fd, struct testdev_addr src, struct testdev_addr dst,
		   uint64_t size, struct testdev_copy *c)
{
	memset(c, 0, sizeof(*c));
	c->argsz = sizeof(*c);
	c->src = src;
	c->dst = dst;
	c->size = size;
	return ioctl(fd, TESTDEV_IOC_COPY, c) ? -errno : 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void set_master(int fd, int on)
{
	struct testdev_master m = { .argsz = sizeof(m), .enable = on };

	if (ioctl(fd, TESTDEV_IOC_SET_MASTER, &m))
		die("bus master: %s", strerror(errno));
}

/* The IOMMU configuration, as the running kernel has set it up. */
struct iommu_cfg {
	char vendor[16];	/* intel, amd, virtio or none */
	char domain[16];	/* DMA, DMA-FQ, identity, blocked or none */
	bool translated;	/* DMA or DMA-FQ */
	bool lazy;		/* DMA-FQ: invalidation deferred */
	bool bounce;		/* swiotlb=force: streaming DMA bounces */
	char cmdline[256];	/* the kernel's IOMMU options, or "-" */
};

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

static void detect_iommu(const char *misc, struct iommu_cfg *cfg)
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
		else if (e->d_name[0] != '.')
			strcpy(cfg->vendor, "virtio");
	}
	if (d)
		closedir(d);
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

/* One scenario's outcome: "allowed" or "blocked", plus a detail. */
struct outcome {
	const char *observed;
	const char *skip;	/* why the scenario could not run */
	char detail[192];
};

/*
 * Judge a copy by RESULT and data together: allowed when it landed,
 * blocked when it faulted and the destination is untouched.
 */
static const char *judge(int ret, const struct testdev_copy *c, int landed,
			 int untouched)
{
	if (ret)
		return "error";
	if (c->result == TESTDEV_RESULT_OK && landed)
		return "allowed";
	/* The device wrote a bounce buffer the CPU never copies back. */
	if (c->result == TESTDEV_RESULT_OK && untouched)
		return "bounced";
	if ((c->result == TESTDEV_RESULT_SRC_FAULT ||
	     c->result == TESTDEV_RESULT_DST_FAULT) && untouched)
		return "blocked";
	return "inconsistent";
}

static void describe(struct outcome *o, int ret, const struct testdev_copy *c)
{
	if (ret)
		snprintf(o->detail, sizeof(o->detail), "ioctl: %s",
			 strerror(-ret));
	else
		snprintf(o->detail, sizeof(o->detail),
			 "src 0x%llx dst 0x%llx RESULT=%s",
			 (unsigned long long)c->src_bus,
			 (unsigned long long)c->dst_bus, result_name(c->result));
}

/* Copy one page src -> dst where the two ends are named by mode. */
static void copy_page(int fd, uint32_t mode, struct buf *s, struct buf *d,
		      struct outcome *o)
{
	struct testdev_copy c;
	int ret;

	buf_fill(fd, s, 0, SRC_FILL, PAGE);
	buf_fill(fd, d, 0, DST_FILL, PAGE);
	ret = do_copy(fd, addr_of(mode, s, 0), addr_of(mode, d, 0), PAGE, &c);
	o->observed = judge(ret, &c, buf_holds(fd, d, 0, SRC_FILL, PAGE),
			    buf_holds(fd, d, 0, DST_FILL, PAGE));
	describe(o, ret, &c);
}

/* A one-page source and destination buffer, of the given kinds. */
static void alloc_pair(int fd, struct buf *s, uint32_t skind, uint32_t sdir,
		       uint64_t smap, struct buf *d, uint32_t dkind,
		       uint32_t ddir)
{
	int ret = buf_alloc(fd, s, skind, sdir, PAGE, smap);

	if (!ret)
		ret = buf_alloc(fd, d, dkind, ddir, PAGE, 0);
	if (ret)
		die("allocating buffers: %s", strerror(-ret));
}

static void free_pair(int fd, struct buf *s, struct buf *d)
{
	buf_ref(fd, TESTDEV_IOC_BUF_FREE, s);
	buf_ref(fd, TESTDEV_IOC_BUF_FREE, d);
}

/* A page copied between two coherent buffers named by mode. */
static void coherent_copy(int fd, uint32_t mode, struct outcome *o)
{
	struct buf s, d;

	alloc_pair(fd, &s, TESTDEV_BUF_COHERENT, 0, 0,
		   &d, TESTDEV_BUF_COHERENT, 0);
	copy_page(fd, mode, &s, &d, o);
	free_pair(fd, &s, &d);
}

static void s_valid(int fd, struct outcome *o)
{
	coherent_copy(fd, TESTDEV_ADDR_DMA, o);
}

static void s_phys(int fd, struct outcome *o)
{
	coherent_copy(fd, TESTDEV_ADDR_PHYS, o);
}

/* Read from a bus address nothing mapped; the destination is valid. */
static void s_unmapped_iova(int fd, struct outcome *o)
{
	struct testdev_copy c;
	struct buf d;
	int ret;

	ret = buf_alloc(fd, &d, TESTDEV_BUF_COHERENT, 0, PAGE, 0);
	if (ret)
		die("allocating a buffer: %s", strerror(-ret));
	buf_fill(fd, &d, 0, DST_FILL, PAGE);
	ret = do_copy(fd, addr_of(TESTDEV_ADDR_RAW, NULL, NEVER_MAPPED),
		      addr_of(TESTDEV_ADDR_DMA, &d, 0), 64, &c);
	o->observed = judge(ret, &c, !buf_holds(fd, &d, 0, DST_FILL, 64),
			    buf_holds(fd, &d, 0, DST_FILL, 64));
	describe(o, ret, &c);
	buf_ref(fd, TESTDEV_IOC_BUF_FREE, &d);
}

/* The device writes into a DMA_TO_DEVICE (device-read-only) mapping. */
static void s_write_readonly(int fd, struct outcome *o)
{
	struct buf s, d;

	alloc_pair(fd, &s, TESTDEV_BUF_COHERENT, 0, 0,
		   &d, TESTDEV_BUF_STREAMING, TESTDEV_DIR_TO_DEVICE);
	copy_page(fd, TESTDEV_ADDR_DMA, &s, &d, o);
	free_pair(fd, &s, &d);
}

/*
 * Sub-page exposure: 64 bytes mapped at the start of a page whose other
 * bytes hold a canary. The device reads the whole page through the
 * mapping: "leaks" when the canary comes out.
 */
static void s_subpage(int fd, struct outcome *o)
{
	struct testdev_copy c;
	struct buf s, d;
	int ret;

	alloc_pair(fd, &s, TESTDEV_BUF_STREAMING, TESTDEV_DIR_TO_DEVICE, 64,
		   &d, TESTDEV_BUF_COHERENT, 0);
	buf_fill(fd, &s, 0, SRC_FILL, 64);
	buf_fill(fd, &s, 64, CANARY, PAGE - 64);
	buf_fill(fd, &d, 0, DST_FILL, PAGE);
	ret = do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &s, 64),
		      addr_of(TESTDEV_ADDR_DMA, &d, 0), PAGE - 64, &c);
	if (!ret && c.result == TESTDEV_RESULT_OK &&
	    buf_holds(fd, &d, 0, CANARY, PAGE - 64))
		o->observed = "leaks";
	else if (!ret && c.result == TESTDEV_RESULT_OK &&
		 !buf_holds(fd, &d, 0, DST_FILL, PAGE - 64))
		/* Past a bounced mapping: the swiotlb pool, others' data. */
		o->observed = "leaks-bounce";
	else
		o->observed = judge(ret, &c, 0, buf_holds(fd, &d, 0, DST_FILL,
							   PAGE - 64));
	describe(o, ret, &c);
	free_pair(fd, &s, &d);
}

/*
 * Stale IOVA: a streaming mapping used once (so the IOMMU caches it), then
 * unmapped, keeping its old handle. Lazy invalidation leaves a window in
 * which the device still reaches the buffer; strict mode closes it.
 */
static int stale_setup(int fd, struct buf *s, struct buf *d,
		       struct outcome *o)
{
	struct testdev_copy c;
	int ret;

	alloc_pair(fd, s, TESTDEV_BUF_STREAMING, TESTDEV_DIR_TO_DEVICE, 0,
		   d, TESTDEV_BUF_COHERENT, 0);
	buf_fill(fd, s, 0, SRC_FILL, PAGE);
	ret = do_copy(fd, addr_of(TESTDEV_ADDR_DMA, s, 0),
		      addr_of(TESTDEV_ADDR_DMA, d, 0), PAGE, &c);
	if (ret || c.result != TESTDEV_RESULT_OK) {
		/* Without a first copy that landed there is nothing to test. */
		o->observed = "error";
		describe(o, ret, &c);
		free_pair(fd, s, d);
		return -1;
	}
	buf_ref(fd, TESTDEV_IOC_BUF_UNMAP, s);
	return 0;
}

/* One page through the stale handle, issued at *issued: "allowed" or "blocked". */
static const char *stale_copy(int fd, struct buf *s, struct buf *d,
			      struct outcome *o, uint64_t *issued)
{
	struct testdev_copy c;
	int ret;

	buf_fill(fd, d, 0, DST_FILL, PAGE);
	*issued = now_ns();
	ret = do_copy(fd, addr_of(TESTDEV_ADDR_DMA, s, 0),
		      addr_of(TESTDEV_ADDR_DMA, d, 0), PAGE, &c);
	describe(o, ret, &c);
	return judge(ret, &c, buf_holds(fd, d, 0, SRC_FILL, PAGE),
		     buf_holds(fd, d, 0, DST_FILL, PAGE));
}

/*
 * Through the old handle at once, and again until it is refused or
 * STALE_WATCH_MS have passed: the window lies between the issue of the
 * last copy that landed and the end of the first that did not.
 */
static void s_stale_iova(int fd, struct outcome *o)
{
	uint64_t start, last = 0, end, issued;
	const char *v;
	struct buf s, d;
	char first[sizeof(o->detail)];
	int n = 0;

	if (stale_setup(fd, &s, &d, o))
		return;
	start = now_ns();
	o->observed = stale_copy(fd, &s, &d, o, &issued);
	strcpy(first, o->detail);
	for (v = o->observed; !strcmp(v, "allowed");
	     v = stale_copy(fd, &s, &d, o, &issued)) {
		last = issued;
		n++;
		if (last - start > STALE_WATCH_MS * 1000000ULL)
			break;
	}
	end = now_ns();
	if (!n)
		snprintf(o->detail, sizeof(o->detail), "%s; refused at once",
			 first);
	else if (!strcmp(v, "allowed"))
		snprintf(o->detail, sizeof(o->detail),
			 "%s; still landing %llu ms after the unmap (%d copies)",
			 first, (unsigned long long)(last - start) / 1000000, n);
	else
		snprintf(o->detail, sizeof(o->detail),
			 "%s; window %.1f-%.1f ms after the unmap (%d copies landed), then %s",
			 first, (last - start) / 1e6, (end - start) / 1e6, n, v);
	free_pair(fd, &s, &d);
}

/* Through the old handle STALE_LATER_MS after the unmap. */
static void s_stale_later(int fd, struct outcome *o)
{
	uint64_t issued;
	struct buf s, d;

	if (stale_setup(fd, &s, &d, o))
		return;
	sleep_ms(STALE_LATER_MS);
	o->observed = stale_copy(fd, &s, &d, o, &issued);
	free_pair(fd, &s, &d);
}

static void s_no_master(int fd, struct outcome *o)
{
	set_master(fd, 0);
	coherent_copy(fd, TESTDEV_ADDR_DMA, o);
	set_master(fd, 1);
}

/*
 * A rogue device before any driver: aggressive mode from power-on. The
 * driver stopped it at probe and kept its counters: copies that landed
 * (before the kernel turned translation on) and copies that faulted.
 */
static void s_rogue(int fd, struct outcome *o)
{
	struct testdev_rogue r = { .argsz = sizeof(r) };

	if (ioctl(fd, TESTDEV_IOC_ROGUE, &r))
		die("rogue counters: %s", strerror(errno));
	if (!r.aggressive)
		o->skip = "the device was not in aggressive mode at probe";
	else if (r.copies && r.faults)
		o->observed = "lands-early";
	else if (r.copies)
		o->observed = "allowed";
	else if (r.faults)
		o->observed = "blocked";
	else
		o->observed = "idle";
	snprintf(o->detail, sizeof(o->detail),
		 "%llu copies landed and %llu faulted before the driver stopped it",
		 (unsigned long long)r.copies, (unsigned long long)r.faults);
}

struct scenario {
	const char *name;
	void (*run)(int fd, struct outcome *o);
	/* Expected where nothing translates, and under translation. */
	const char *untranslated, *translated;
};

/*
 * The expected verdicts. Lazy invalidation (DMA-FQ) differs from strict
 * only for the stale IOVA; see expected().
 */
static const struct scenario scenarios[] = {
	{ "valid-handles", s_valid, "allowed", "allowed" },
	{ "physical-addresses", s_phys, "allowed", "blocked" },
	{ "never-mapped-iova", s_unmapped_iova, "allowed", "blocked" },
	{ "write-to-device-readonly", s_write_readonly, "allowed", "blocked" },
	{ "subpage-exposure", s_subpage, "leaks", "leaks" },
	{ "stale-iova", s_stale_iova, "allowed", "blocked" },
	{ "stale-iova-later", s_stale_later, "allowed", "blocked" },
	{ "bus-master-off", s_no_master, "blocked", "blocked" },
	{ "rogue-before-driver", s_rogue, "allowed", "lands-early" },
};

static const char *expected(const struct scenario *s,
			    const struct iommu_cfg *cfg)
{
	if (s->run == s_stale_iova && cfg->lazy)
		return "allowed";
	if (s->run == s_write_readonly && cfg->bounce)
		return "bounced";
	if (s->run == s_subpage && cfg->bounce)
		return "leaks-bounce";
	return cfg->translated ? s->translated : s->untranslated;
}

/* The misc names of every device, sorted. */
static int list_devices(char names[][32], int max)
{
	struct dirent *e;
	int n = 0, i, j;
	char tmp[32];
	DIR *d;

	d = opendir("/sys/class/misc");
	if (!d)
		die("/sys/class/misc: %s", strerror(errno));
	while ((e = readdir(d)) && n < max)
		if (!strncmp(e->d_name, "pcie-testdev", 12))
			snprintf(names[n++], 32, "%.31s", e->d_name);
	closedir(d);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) > 0) {
				strcpy(tmp, names[i]);
				strcpy(names[i], names[j]);
				strcpy(names[j], tmp);
			}
	return n;
}

#define NO_DEVICE "no pcie-testdev device bound (is testdev_driver loaded?)"

/* After a device could not be opened: which ones are there instead. */
static const char *bound_hint(void)
{
	static char hint[256];
	char names[16][32];
	int n = list_devices(names, 16), i;
	size_t used;

	if (!n)
		return NO_DEVICE;
	used = snprintf(hint, sizeof(hint), "the devices bound are");
	for (i = 0; i < n && used < sizeof(hint); i++)
		used += snprintf(hint + used, sizeof(hint) - used, " %s",
				 names[i]);
	return hint;
}

/* DEV: pcie-testdevN, or /dev/pcie-testdevN. */
static int open_dev(const char *name)
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
			die("%s: %s; %s", path, strerror(err), bound_hint());
		die("%s: %s", path, strerror(err));
	}
	return fd;
}

/*
 * Every word the audit's table can show (here, in make audit's table and
 * in make check's), and the IOMMU domains.
 */
static const char audit_legend[] =
"observed: what a scenario's copy did, by RESULT and the data together\n"
"  allowed       it landed: RESULT ok, the destination holds the source\n"
"  blocked       it faulted (src-fault, dst-fault), the destination untouched\n"
"  leaks         bytes beside a 64-byte mapping came out (the rest of its page)\n"
"  leaks-bounce  bytes past a bounced mapping came out: the swiotlb pool,\n"
"                other mappings' data\n"
"  bounced       the device wrote a swiotlb bounce buffer, never copied back\n"
"  lands-early   a rogue device's DMA landed until the kernel turned\n"
"                translation on, then faulted\n"
"  idle          the rogue device made no copy before the driver stopped it\n"
"  inconsistent  RESULT and the data disagree (ok without the source's bytes,\n"
"                or a fault with the destination changed)\n"
"  error         the driver refused the copy (the ioctl failed), or the copy\n"
"                a scenario starts with did not land\n"
"  skip          the scenario could not run (rogue-before-driver: the device\n"
"                was not in aggressive mode); testdevctl shows - and SKIP\n"
"  missing       make audit, make check: the guest did not report it\n"
"  X!(Y)         make audit: observed X where tests/audit-expected.txt says Y\n"
"verdict: PASS when observed is expected, FAIL when not, SKIP when not run\n"
"domain: the kernel's IOMMU domain for the device (iommu_group/type)\n"
"  DMA-FQ        translated, lazy invalidation: unmapped IOVAs leave the IOTLB\n"
"                in batches (the flush queue), so a stale handle lands for\n"
"                some ms more\n"
"  DMA           translated, strict invalidation: each unmap flushes at once\n"
"  identity      the IOMMU passes DMA through untranslated (iommu=pt)\n"
"  blocked       the IOMMU refuses all the device's DMA\n"
"  none          no IOMMU translates for the device (none, or turned off)\n";

enum format { TABLE, KTAP, JSON };

/* s as the inside of a JSON string. */
static const char *json_str(const char *s)
{
	static char out[4][512];
	static int k;
	char *o = out[k = (k + 1) % 4];
	size_t n = 0;

	for (; *s && n < sizeof(out[0]) - 7; s++) {
		if (*s == '"' || *s == '\\')
			n += sprintf(o + n, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			n += sprintf(o + n, "\\u%04x", *s);
		else
			o[n++] = *s;
	}
	o[n] = '\0';
	return o;
}

/* One scenario's result as a JSON object; a skipped one has no verdict. */
static void json_record(int comma, const char *dev, const struct iommu_cfg *cfg,
			const char *scenario, const char *want,
			const struct outcome *o, int pass)
{
	printf("%s\n {\"device\": \"%s\", \"iommu\": \"%s\", \"domain\": \"%s\", ",
	       comma ? "," : "", json_str(dev), json_str(cfg->vendor),
	       json_str(cfg->domain));
	printf("\"options\": \"%s\", \"scenario\": \"%s\", \"expected\": \"%s\", ",
	       json_str(cfg->cmdline), json_str(scenario), json_str(want));
	if (o->skip)
		printf("\"observed\": null, \"pass\": null, \"skip\": \"%s\", \"detail\": \"\"}",
		       json_str(o->skip));
	else
		printf("\"observed\": \"%s\", \"pass\": %s, \"skip\": null, \"detail\": \"%s\"}",
		       json_str(o->observed), pass ? "true" : "false",
		       json_str(o->detail));
}

/* One scenario's line in the chosen format: test is its number from 1. */
static void report(enum format fmt, int test, const char *dev,
		   const struct iommu_cfg *cfg, const char *scenario,
		   const char *want, const struct outcome *o, int pass)
{
	switch (fmt) {
	case TABLE:
		printf("%-26s %-9s %-12s %s  (%s)\n", scenario, want,
		       o->skip ? "-" : o->observed,
		       o->skip ? "SKIP" : pass ? "PASS" : "FAIL",
		       o->skip ?: o->detail);
		break;
	case KTAP:
		if (o->skip)
			printf("ok %d %s: %s # SKIP %s\n", test, dev, scenario,
			       o->skip);
		else
			printf("%s %d %s: %s # expected %s, observed %s; %s\n",
			       pass ? "ok" : "not ok", test, dev, scenario,
			       want, o->observed, o->detail);
		break;
	case JSON:
		json_record(test > 1, dev, cfg, scenario, want, o, pass);
		break;
	}
}

static int audit(enum format fmt)
{
	const int count = sizeof(scenarios) / sizeof(scenarios[0]);
	char names[16][32];
	int ndev, i, k, failed = 0, skipped = 0, test = 0;

	ndev = list_devices(names, 16);
	if (!ndev)
		die(NO_DEVICE);
	if (fmt == KTAP)
		printf("KTAP version 1\n1..%d\n", ndev * count);
	if (fmt == JSON)
		printf("[");
	for (k = 0; k < ndev; k++) {
		struct iommu_cfg cfg;
		int fd = open_dev(names[k]);

		detect_iommu(names[k], &cfg);
		if (fmt == TABLE)
			printf("%s: IOMMU %s, domain %s, kernel options %s\n%-26s %-9s %-12s %s\n",
			       names[k], cfg.vendor, cfg.domain, cfg.cmdline,
			       "scenario", "expected", "observed", "verdict");
		if (fmt == KTAP)
			printf("# %s: IOMMU %s, domain %s, kernel options %s\n",
			       names[k], cfg.vendor, cfg.domain, cfg.cmdline);
		for (i = 0; i < count; i++) {
			const struct scenario *s = &scenarios[i];
			const char *want = expected(s, &cfg);
			struct outcome o = { 0 };
			int pass;

			s->run(fd, &o);
			test++;
			skipped += !!o.skip;
			pass = o.skip || !strcmp(o.observed, want);
			failed += !pass;
			report(fmt, test, names[k], &cfg, s->name, want, &o, pass);
		}
		close(fd);
	}
	if (fmt == JSON)
		printf("\n]\n");
	else if (fmt == TABLE)
		printf("%d passed, %d failed, %d skipped\n\n%s",
		       test - failed - skipped, failed, skipped, audit_legend);
	return failed ? 1 : 0;
}

static int info(void)
{
	char names[16][32];
	int n, i;

	n = list_devices(names, 16);
	if (!n)
		die(NO_DEVICE);
	for (i = 0; i < n; i++) {
		struct testdev_info inf = { .argsz = sizeof(inf) };
		struct iommu_cfg cfg;
		int fd = open_dev(names[i]);

		struct testdev_rogue r = { .argsz = sizeof(r) };

		if (ioctl(fd, TESTDEV_IOC_INFO, &inf) ||
		    ioctl(fd, TESTDEV_IOC_ROGUE, &r))
			die("%s: %s", names[i], strerror(errno));
		detect_iommu(names[i], &cfg);
		printf("%s: max_size %llu copies %llu faults %llu irq %s iommu %s domain %s\n",
		       names[i], (unsigned long long)inf.max_size,
		       (unsigned long long)inf.copies,
		       (unsigned long long)inf.faults, inf.irq ? "yes" : "no",
		       cfg.vendor, cfg.domain);
		if (r.aggressive)
			printf("%s: was in aggressive mode before the driver: %llu copies landed, %llu faulted\n",
			       names[i], (unsigned long long)r.copies,
			       (unsigned long long)r.faults);
		close(fd);
	}
	return 0;
}

/* A whole argument as a number (decimal, 0x hex or 0 octal): 0 if it is. */
static int to_u64(const char *arg, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(arg, &end, 0);
	return !isdigit((unsigned char)arg[0]) || errno || *end ? -1 : 0;
}

/* A number, or die. */
static uint64_t parse_u64(const char *what, const char *arg)
{
	uint64_t v;

	if (to_u64(arg, &v))
		die("%s: '%s' is not a number", what, arg);
	return v;
}

/*
 * The largest coherent buffer the driver allocates (its TESTDEV_MAX_COHERENT),
 * whatever the device's MAX_SIZE.
 */
#define COPY_MAX_COHERENT	(4ULL << 20)

/*
 * testdevctl copy [--fill BYTE] SRC DST SIZE [DEV]: SRC, DST are dma, phys
 * or an address; the source buffer holds BYTE (0x5a unless told). The two
 * buffers are coherent ones of SIZE bytes, so SIZE goes up to the device's
 * MAX_SIZE, or the driver's limit for a coherent buffer where that is less.
 */
static int copy_cmd(int argc, char **argv)
{
	struct testdev_info inf = { .argsz = sizeof(inf) };
	struct testdev_addr a[2];
	struct testdev_copy c;
	uint32_t mode[2];
	uint64_t raw[2] = { 0 };
	int fd, i, ret, fill = SRC_FILL;
	const char *dev;
	struct buf b[2];
	uint64_t size, max;

	if (argc >= 2 && !strcmp(argv[0], "--fill")) {
		fill = parse_u64("BYTE", argv[1]);
		if (fill > 0xff || fill == DST_FILL)
			die("BYTE must be 0 to 0xff, but not 0x%x (the destination's)",
			    DST_FILL);
		argc -= 2;
		argv += 2;
	}
	if (argc < 3 || argc > 4)
		die("usage: testdevctl copy [--fill BYTE] SRC DST SIZE [DEV]");
	dev = argc > 3 ? argv[3] : "pcie-testdev0";
	for (i = 0; i < 2; i++) {
		if (!strcmp(argv[i], "dma")) {
			mode[i] = TESTDEV_ADDR_DMA;
		} else if (!strcmp(argv[i], "phys")) {
			mode[i] = TESTDEV_ADDR_PHYS;
		} else if (!to_u64(argv[i], &raw[i])) {
			mode[i] = TESTDEV_ADDR_RAW;
		} else {
			die("%s: '%s' is not dma (a buffer's DMA handle), phys (its CPU physical address) or a bus address (a number: 0x1000000, 16777216)",
			    i ? "DST" : "SRC", argv[i]);
		}
	}
	size = parse_u64("SIZE", argv[2]);
	fd = open_dev(dev);
	/* As the copy itself would, on a device that is gone. */
	if (ioctl(fd, TESTDEV_IOC_INFO, &inf))
		die("copy: %s", strerror(errno));
	max = inf.max_size < COPY_MAX_COHERENT ? inf.max_size : COPY_MAX_COHERENT;
	if (!size || size > max)
		die("SIZE must be 1 to %llu (%s)", (unsigned long long)max,
		    max < inf.max_size ?
		    "the largest coherent buffer the driver allocates" :
		    "the device's MAX_SIZE");
	for (i = 0; i < 2; i++) {
		ret = buf_alloc(fd, &b[i], TESTDEV_BUF_COHERENT, 0, size, 0);
		if (ret)
			die("allocating a buffer: %s", strerror(-ret));
		buf_fill(fd, &b[i], 0, i ? DST_FILL : fill, size);
		a[i] = mode[i] == TESTDEV_ADDR_RAW ?
		       addr_of(mode[i], NULL, raw[i]) : addr_of(mode[i], &b[i], 0);
	}
	ret = do_copy(fd, a[0], a[1], size, &c);
	if (ret)
		die("copy: %s", strerror(-ret));
	/* Without CAP_SYS_RAWIO and no IOMMU translating, hidden: 0. */
	if (!c.src_bus && !c.dst_bus)
		printf("src hidden dst hidden");
	else
		printf("src 0x%llx dst 0x%llx", (unsigned long long)c.src_bus,
		       (unsigned long long)c.dst_bus);
	printf(" size %llu: STATUS=%llu RESULT=%s in %llu ns; destination buffer %s\n",
	       (unsigned long long)size, (unsigned long long)c.status,
	       result_name(c.result), (unsigned long long)c.elapsed_ns,
	       buf_holds(fd, &b[1], 0, fill, size) ? "holds the source" :
	       buf_holds(fd, &b[1], 0, DST_FILL, size) ? "untouched" :
	       "changed");
	close(fd);
	return c.result == TESTDEV_RESULT_OK ? 0 : 1;
}

/* The results of a check-* command, as KTAP lines, counted. */
struct ktap {
	const char *prefix;	/* before each test's name */
	int n, failed;
};

static void ktap_result(struct ktap *k, int ok, const char *name,
			const char *fmt, ...)
{
	va_list ap;

	k->n++;
	k->failed += !ok;
	printf("%s %d %s%s # ", ok ? "ok" : "not ok", k->n, k->prefix, name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/*
 * A call's errno against the one it must give. ret is what the call
 * returned: ioctl()'s -1 with errno set, a helper's -errno, or 0.
 */
static void ktap_errno(struct ktap *k, const char *name, int ret, int want)
{
	int err = ret < 0 ? (ret == -1 ? errno : -ret) : 0;

	ktap_result(k, err == want, name, "errno %s, want %s",
		    err ? strerror(err) : "none", strerror(want));
}

/*
 * testdevctl check-ioctls [DEV]: every kind of bad argument the driver
 * must refuse, each with the errno it must give, as KTAP.
 */
static int check_ioctls(const char *dev)
{
	struct testdev_info inf;
	struct testdev_buf_ref ref = { .argsz = sizeof(ref), .id = 999 };
	struct testdev_master m = { .argsz = sizeof(m), .enable = 2 };
	struct testdev_copy c;
	struct buf b, u, many[TESTDEV_MAX_BUFFERS];
	int fd = open_dev(dev), nbufs;
	struct ktap k = { .prefix = "" };
	uint8_t byte;

#define EXPECT(name, call, err) ktap_errno(&k, name, (call), err)

	printf("KTAP version 1\n");
	inf = (struct testdev_info){ .argsz = sizeof(inf) - 4 };
	EXPECT("info-wrong-argsz", ioctl(fd, TESTDEV_IOC_INFO, &inf), EINVAL);
	inf = (struct testdev_info){ .argsz = sizeof(inf), .reserved = 1 };
	EXPECT("info-reserved-set", ioctl(fd, TESTDEV_IOC_INFO, &inf), EINVAL);
	EXPECT("unknown-command", ioctl(fd, _IO(TESTDEV_IOC_MAGIC, 99), 0),
	       ENOTTY);
	EXPECT("bad-user-pointer", ioctl(fd, TESTDEV_IOC_INFO, (void *)8),
	       EFAULT);
	EXPECT("free-unknown-id", ioctl(fd, TESTDEV_IOC_BUF_FREE, &ref), ENOENT);
	EXPECT("alloc-unknown-kind", buf_alloc(fd, &b, 7, 0, PAGE, 0), EINVAL);
	EXPECT("alloc-size-0", buf_alloc(fd, &b, TESTDEV_BUF_COHERENT, 0, 0, 0),
	       EINVAL);
	EXPECT("alloc-kmalloc-too-big",
	       buf_alloc(fd, &b, TESTDEV_BUF_STREAMING, 0, 2 * PAGE, 0), EINVAL);
	EXPECT("alloc-map-len-past-size",
	       buf_alloc(fd, &b, TESTDEV_BUF_STREAMING, 0, PAGE, 2 * PAGE),
	       EINVAL);
	EXPECT("alloc-unknown-dir",
	       buf_alloc(fd, &b, TESTDEV_BUF_STREAMING, 9, PAGE, 0), EINVAL);
	EXPECT("alloc-coherent", buf_alloc(fd, &b, TESTDEV_BUF_COHERENT, 0,
					   PAGE, 0), 0);
	EXPECT("alloc-unmapped", buf_alloc(fd, &u, TESTDEV_BUF_UNMAPPED, 0,
					   PAGE, 0), 0);
	{
		struct testdev_buf_io io = {
			.argsz = sizeof(io), .id = b.id, .offset = PAGE,
			.len = 1, .data = (uintptr_t)&byte,
		};

		EXPECT("write-past-end", ioctl(fd, TESTDEV_IOC_BUF_WRITE, &io),
		       EINVAL);
		io.offset = 1;
		io.len = UINT64_MAX;
		EXPECT("write-length-wraps",
		       ioctl(fd, TESTDEV_IOC_BUF_WRITE, &io), EINVAL);
		io.offset = 0;
		io.len = 1;
		io.data = 8;
		EXPECT("read-to-bad-pointer",
		       ioctl(fd, TESTDEV_IOC_BUF_READ, &io), EFAULT);
	}
	EXPECT("copy-size-0", do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &b, 0),
				      addr_of(TESTDEV_ADDR_DMA, &b, 0), 0, &c),
	       EINVAL);
	EXPECT("copy-past-buffer", do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &b, 1),
					   addr_of(TESTDEV_ADDR_DMA, &b, 0),
					   PAGE, &c), EINVAL);
	EXPECT("copy-above-max-size",
	       do_copy(fd, addr_of(TESTDEV_ADDR_RAW, NULL, 0),
		       addr_of(TESTDEV_ADDR_RAW, NULL, 0),
		       TESTDEV_MAX_SIZE_LIMIT + 1, &c), EINVAL);
	EXPECT("copy-unknown-mode", do_copy(fd, addr_of(5, &b, 0),
					    addr_of(TESTDEV_ADDR_DMA, &b, 0),
					    64, &c), EINVAL);
	EXPECT("copy-raw-with-id", do_copy(fd, addr_of(TESTDEV_ADDR_RAW, &b, 0),
					   addr_of(TESTDEV_ADDR_DMA, &b, 0),
					   64, &c), EINVAL);
	EXPECT("copy-dma-of-unmapped-buffer",
	       do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &u, 0),
		       addr_of(TESTDEV_ADDR_DMA, &b, 0), 64, &c), EINVAL);
	EXPECT("copy-unknown-id", do_copy(fd, addr_of(TESTDEV_ADDR_DMA, NULL, 0),
					  addr_of(TESTDEV_ADDR_DMA, &b, 0),
					  64, &c), ENOENT);
	ref.id = b.id;
	EXPECT("unmap-coherent", ioctl(fd, TESTDEV_IOC_BUF_UNMAP, &ref), EINVAL);
	EXPECT("master-not-0-or-1", ioctl(fd, TESTDEV_IOC_SET_MASTER, &m),
	       EINVAL);
	{
		struct testdev_rogue r = { .argsz = sizeof(r) + 8 };

		EXPECT("rogue-wrong-argsz", ioctl(fd, TESTDEV_IOC_ROGUE, &r),
		       EINVAL);
	}
	for (nbufs = 2; nbufs < TESTDEV_MAX_BUFFERS; nbufs++)
		if (buf_alloc(fd, &many[nbufs], TESTDEV_BUF_UNMAPPED, 0, 64, 0))
			break;
	EXPECT("too-many-buffers",
	       buf_alloc(fd, &many[0], TESTDEV_BUF_UNMAPPED, 0, 64, 0), ENOSPC);
	/* Closing with buffers still allocated frees them (kmemleak-clean). */
	close(fd);
	fd = open_dev(dev);
	EXPECT("reopen-and-alloc", buf_alloc(fd, &b, TESTDEV_BUF_COHERENT, 0,
					     PAGE, 0), 0);
	close(fd);
	printf("1..%d\n", k.n);
	return k.failed ? 1 : 0;
#undef EXPECT
}

/* Write one line to a sysfs file; 0 or -errno. */
static int sysfs_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Start a page copy between s and d in a child, and return its pid once
 * the copy has had 200 ms to reach the device. The child exits with the
 * copy's errno.
 */
static pid_t copy_in_child(int fd, struct buf *s, struct buf *d)
{
	struct testdev_copy c;
	int ready[2];
	pid_t pid;
	char byte;

	if (pipe(ready))
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(ready[0]);
		if (write(ready[1], "", 1) != 1)
			_exit(EIO);
		_exit(-do_copy(fd, addr_of(TESTDEV_ADDR_DMA, s, 0),
			       addr_of(TESTDEV_ADDR_DMA, d, 0), PAGE, &c));
	}
	close(ready[1]);
	if (read(ready[0], &byte, 1) != 1)
		die("the copier did not start");
	close(ready[0]);
	sleep_ms(200);
	return pid;
}

/* The child's wait status, or -1. */
static int wait_child(pid_t pid)
{
	int status = -1;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* 1 while the child runs, that is while its copy is pending. */
static int child_running(pid_t pid)
{
	int status;

	return waitpid(pid, &status, WNOHANG) == 0;
}

/*
 * testdevctl check-remove [DEV]: a copy killed while pending; then, with a
 * copy pending on an open file, the driver unbound and the device removed
 * (as by hot unplug), each followed by bringing it back; as KTAP. The
 * device needs busy_delay_ms of about 2000, so that the copies are still
 * pending when the test acts.
 */
#define CHECK_REMOVE_TESTS 15

static int check_remove(const char *dev)
{
	struct testdev_info inf = { .argsz = sizeof(inf) };
	struct testdev_buf_ref ref = { .argsz = sizeof(ref) };
	char path[256], link[256], *bdf;
	int fd = open_dev(dev), status, running, ret, i;
	struct ktap k = { .prefix = "" };
	struct testdev_copy c;
	struct buf s, d;
	uint64_t t;
	ssize_t len;
	pid_t pid;

	static const struct {
		const char *prefix, *detach, *detach_arg, *attach, *attach_arg;
	} ways[] = {
		{ "unbind-", "/sys/bus/pci/drivers/testdev_driver/unbind", NULL,
		  "/sys/bus/pci/drivers/testdev_driver/bind", NULL },
		{ "remove-", "/sys/bus/pci/devices/%s/remove", "1",
		  "/sys/bus/pci/rescan", "1" },
	}, *way;

	snprintf(path, sizeof(path), "/sys/class/misc/%s/device", dev);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0)
		die("%s: %s", path, strerror(errno));
	link[len] = '\0';
	bdf = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
	printf("KTAP version 1\n1..%d\n# %s is %s\n", CHECK_REMOVE_TESTS, dev,
	       bdf);

	/* A copier killed mid-copy dies at once; bus mastering goes off. */
	alloc_pair(fd, &s, TESTDEV_BUF_COHERENT, 0, 0,
		   &d, TESTDEV_BUF_COHERENT, 0);
	pid = copy_in_child(fd, &s, &d);
	running = child_running(pid);
	t = now_ns();
	kill(pid, SIGKILL);
	status = wait_child(pid);
	t = (now_ns() - t) / 1000000;
	ktap_result(&k, running && WIFSIGNALED(status) && t < 1000,
		    "kill-pending-copy", "the copier %s, died in %llu ms",
		    running ? "was waiting" : "had exited",
		    (unsigned long long)t);
	ktap_errno(&k, "copy-while-killed-copy-pends",
		   do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &s, 0),
			   addr_of(TESTDEV_ADDR_DMA, &d, 0), PAGE, &c), EBUSY);
	/* Bus mastering comes back only once the device is idle. */
	for (i = 0; i < 50; i++) {
		struct testdev_master m = { .argsz = sizeof(m), .enable = 1 };

		if (!ioctl(fd, TESTDEV_IOC_SET_MASTER, &m))
			break;
		sleep_ms(100);
	}
	{
		struct outcome o = { 0 };

		copy_page(fd, TESTDEV_ADDR_DMA, &s, &d, &o);
		ktap_result(&k, !strcmp(o.observed, "allowed"),
			    "copy-after-killed-copy-ended",
			    "%s after %d00 ms; %s", o.observed, i, o.detail);
	}

	close(fd);

	/*
	 * The device goes away with a copy pending and buffers allocated:
	 * the driver unbound, then the device removed as by hot unplug.
	 * Then it comes back, and works.
	 */
	for (way = ways; way < ways + 2; way++) {
		k.prefix = way->prefix;
		snprintf(path, sizeof(path), way->detach, bdf);
		fd = open_dev(dev);
		alloc_pair(fd, &s, TESTDEV_BUF_COHERENT, 0, 0,
			   &d, TESTDEV_BUF_COHERENT, 0);
		pid = copy_in_child(fd, &s, &d);
		running = child_running(pid);
		t = now_ns();
		ret = sysfs_write(path, way->detach_arg ?: bdf);
		t = (now_ns() - t) / 1000000;
		ktap_result(&k, running && !ret && t < 1000, "with-copy-pending",
			    "the copier %s; %s: %s in %llu ms",
			    running ? "was waiting" : "had exited", path,
			    strerror(-ret), (unsigned long long)t);
		status = wait_child(pid);
		ktap_result(&k,
			    WIFEXITED(status) && WEXITSTATUS(status) == ENODEV,
			    "pending-copy-ends-with-ENODEV",
			    "the copier exited with %s", WIFEXITED(status) ?
			    strerror(WEXITSTATUS(status)) : "a signal");
		ktap_errno(&k, "then-ioctl", ioctl(fd, TESTDEV_IOC_INFO, &inf),
			   ENODEV);
		ref.id = s.id;
		ktap_errno(&k, "then-buffer-free",
			   ioctl(fd, TESTDEV_IOC_BUF_FREE, &ref), ENODEV);
		/* release() cannot fail: rmmod and dmesg tell how it went. */
		close(fd);

		ret = sysfs_write(way->attach, way->attach_arg ?: bdf);
		ktap_result(&k, !ret, "back", "%s: %s", way->attach,
			    strerror(-ret));
		snprintf(path, sizeof(path), "/dev/%s", dev);
		for (i = 0; i < 30 && access(path, F_OK); i++)
			sleep_ms(100);
		fd = open_dev(dev);
		{
			struct outcome o = { 0 };

			coherent_copy(fd, TESTDEV_ADDR_DMA, &o);
			ktap_result(&k, !strcmp(o.observed, "allowed"),
				    "then-copy", "%s; %s", o.observed,
				    o.detail);
		}
		close(fd);
	}
	return k.failed || k.n != CHECK_REMOVE_TESTS ? 1 : 0;
}

/* The PCI address of a misc device, from sysfs. */
static void dev_bdf(const char *dev, char *bdf, size_t len)
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

/*
 * A copy dst <- src where the ends are given; 1 if it landed (RESULT ok,
 * or none from the original device, which has no RESULT, and the
 * destination buffer holds the source's byte).
 */
static int landed(int fd, struct testdev_addr src, struct testdev_addr dst,
		  struct buf *d, int byte, uint64_t len)
{
	struct testdev_copy c;

	return !do_copy(fd, src, dst, len, &c) &&
	       (c.result == TESTDEV_RESULT_OK ||
		c.result == TESTDEV_RESULT_NONE) &&
	       buf_holds(fd, d, 0, byte, len);
}

/*
 * What an unprivileged user (uid 1000, no capabilities, the node made
 * world-writable) may do: copy by DMA handles, which it sees only where
 * an IOMMU translates them, and nothing that names memory by address.
 * Runs in a child; returns how many of its tests failed.
 */
#define UNPRIVILEGED_TESTS 6

static int check_unprivileged(const char *dev, struct ktap *parent)
{
	struct ktap k = *parent;
	struct testdev_copy c;
	struct iommu_cfg cfg;
	struct buf s, d, t;
	char path[64];
	int fd, status;
	pid_t pid;

	detect_iommu(dev, &cfg);
	snprintf(path, sizeof(path), "/dev/%s", dev);
	if (chmod(path, 0666))
		die("chmod %s: %s", path, strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (setgid(1000) || setuid(1000))
			die("setuid: %s", strerror(errno));
		fd = open_dev(dev);
		alloc_pair(fd, &s, TESTDEV_BUF_COHERENT, 0, 0,
			   &d, TESTDEV_BUF_COHERENT, 0);
		buf_fill(fd, &s, 0, SRC_FILL, PAGE);
		buf_fill(fd, &d, 0, DST_FILL, PAGE);
		if (do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &s, 0),
			    addr_of(TESTDEV_ADDR_DMA, &d, 0), 64, &c))
			die("copy: %s", strerror(errno));
		/* Untranslated, a handle is a physical address: hidden. */
		ktap_result(&k, !s.phys &&
			    (cfg.translated ? s.dma && c.src_bus == s.dma &&
					      c.dst_bus == d.dma :
			     !s.dma && !d.dma && !c.src_bus && !c.dst_bus),
			    "unprivileged-no-address",
			    "domain %s: alloc gave handle 0x%llx and physical address 0x%llx, copy bus addresses 0x%llx 0x%llx",
			    cfg.domain, (unsigned long long)s.dma,
			    (unsigned long long)s.phys,
			    (unsigned long long)c.src_bus,
			    (unsigned long long)c.dst_bus);
		ktap_result(&k, landed(fd, addr_of(TESTDEV_ADDR_DMA, &s, 0),
				       addr_of(TESTDEV_ADDR_DMA, &d, 0), &d,
				       SRC_FILL, PAGE),
			    "unprivileged-copy-by-dma-handles", "landed or not");
		ktap_errno(&k, "unprivileged-copy-phys",
			   do_copy(fd, addr_of(TESTDEV_ADDR_PHYS, &s, 0),
				   addr_of(TESTDEV_ADDR_DMA, &d, 0), PAGE, &c),
			   EPERM);
		ktap_errno(&k, "unprivileged-copy-raw",
			   do_copy(fd, addr_of(TESTDEV_ADDR_RAW, NULL, NEVER_MAPPED),
				   addr_of(TESTDEV_ADDR_DMA, &d, 0), 64, &c),
			   EPERM);
		if (buf_alloc(fd, &t, TESTDEV_BUF_STREAMING,
			      TESTDEV_DIR_TO_DEVICE, PAGE, 64))
			die("allocating a buffer: %s", strerror(errno));
		ktap_errno(&k, "unprivileged-read-past-mapped",
			   do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &t, 0),
				   addr_of(TESTDEV_ADDR_DMA, &d, 0), PAGE, &c),
			   EPERM);
		buf_ref(fd, TESTDEV_IOC_BUF_UNMAP, &t);
		ktap_errno(&k, "unprivileged-copy-stale-handle",
			   do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &t, 0),
				   addr_of(TESTDEV_ADDR_DMA, &d, 0), 64, &c),
			   EPERM);
		fflush(stdout);
		_exit(k.failed - parent->failed);
	}
	status = wait_child(pid);
	chmod(path, 0600);
	parent->n += UNPRIVILEGED_TESTS;
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 2)
		return UNPRIVILEGED_TESTS;
	return WEXITSTATUS(status);
}

/*
 * Allocate buffers of one kind over new open files until one allocation
 * fails or max are held; the files stay open. Returns that errno or 0.
 */
static int hog(const char *dev, uint32_t kind, uint64_t size, int max,
	       int *n, int *files)
{
	struct buf b;
	int fd, i, ret;

	for (*n = 0, *files = 0; *n < max;) {
		fd = open_dev(dev);
		(*files)++;
		for (i = 0; i < TESTDEV_MAX_BUFFERS && *n < max; i++, (*n)++) {
			ret = buf_alloc(fd, &b, kind,
					kind == TESTDEV_BUF_STREAMING ?
					TESTDEV_DIR_BIDIRECTIONAL : 0, size, 0);
			if (ret)
				return -ret;
		}
	}
	return 0;
}

/*
 * What an unprivileged user may pin, over as many open files as it likes:
 * streaming mappings (under swiotlb, bounce slots every device shares) and
 * kernel memory, each up to the device's budget (-ENOSPC past it), while
 * root still allocates. Returns how many of its tests failed.
 */
#define BUDGET_TESTS 3
#define HOG_MAPPINGS 2048	/* 8 MiB: far past the default budget */
#define HOG_MIB 96		/* 1 MiB coherent buffers, past 64 MiB */

static int check_budget(const char *dev, struct ktap *parent)
{
	struct ktap k = *parent;
	int held[2], done[2], n, files, err, status, failed, ret1, ret2, fd;
	struct buf a, b;
	char path[64], byte = 0;
	pid_t pid;

	snprintf(path, sizeof(path), "/dev/%s", dev);
	if (chmod(path, 0666) || pipe(held) || pipe(done))
		die("chmod %s, pipe: %s", path, strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(held[0]);
		close(done[1]);
		if (setgid(1000) || setuid(1000))
			die("setuid: %s", strerror(errno));
		err = hog(dev, TESTDEV_BUF_STREAMING, PAGE, HOG_MAPPINGS, &n,
			  &files);
		ktap_result(&k, err == ENOSPC, "unprivileged-mappings-bounded",
			    "%d one-page streaming mappings over %d files, then %s",
			    n, files, err ? strerror(err) : "none refused");
		err = hog(dev, TESTDEV_BUF_COHERENT, 1 << 20, HOG_MIB, &n,
			  &files);
		ktap_result(&k, err == ENOSPC, "unprivileged-memory-bounded",
			    "%d more MiB of coherent buffers over %d files, then %s",
			    n, files, err ? strerror(err) : "none refused");
		fflush(stdout);
		/* Hold it all while root allocates. */
		if (write(held[1], &byte, 1) != 1 || read(done[0], &byte, 1) < 0)
			_exit(2);
		_exit(k.failed - parent->failed);
	}
	close(held[1]);
	close(done[0]);
	if (read(held[0], &byte, 1) != 1)
		byte = 1;	/* the child died */
	fd = open_dev(dev);
	ret1 = buf_alloc(fd, &a, TESTDEV_BUF_STREAMING, TESTDEV_DIR_TO_DEVICE,
			 PAGE, 0);
	ret2 = buf_alloc(fd, &b, TESTDEV_BUF_COHERENT, 0, PAGE, 0);
	k.n = parent->n + BUDGET_TESTS - 1;
	ktap_result(&k, !byte && !ret1 && !ret2, "root-allocates-while-they-hold",
		    "streaming: %s, coherent: %s", strerror(-ret1),
		    strerror(-ret2));
	close(fd);
	if (write(done[1], &byte, 1) != 1)
		byte = 1;
	close(held[0]);
	close(done[1]);
	status = wait_child(pid);
	chmod(path, 0600);
	failed = !byte && !ret1 && !ret2 ? 0 : 1;
	parent->n += BUDGET_TESTS;
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 2)
		return BUDGET_TESTS;
	return WEXITSTATUS(status) + failed;
}

/* An ioctl whose argument lies in a userfaultfd page nobody serves yet. */
struct uffd_job {
	int fd, uffd;
	struct buf *b;
	void *page;
	int err;		/* the ioctl's errno */
};

static void *uffd_writer(void *arg)
{
	struct uffd_job *j = arg;
	struct testdev_buf_io io = {
		.argsz = sizeof(io), .id = j->b->id, .len = 64,
		.data = (uintptr_t)j->page,
	};

	j->err = ioctl(j->fd, TESTDEV_IOC_BUF_WRITE, &io) ? errno : 0;
	return NULL;
}

/* Serve the page after 3 s, whatever happened meanwhile. */
static void *uffd_server(void *arg)
{
	struct uffd_job *j = arg;
	struct uffdio_zeropage z = {
		.range = { .start = (uintptr_t)j->page, .len = PAGE },
	};

	sleep_ms(3000);
	ioctl(j->uffd, UFFDIO_ZEROPAGE, &z);
	return NULL;
}

/*
 * Unbind the driver while an ioctl waits for user memory (a userfaultfd
 * page, as a FUSE-backed mapping would be): removal must not wait for it.
 * Then bind it again.
 */
static void check_unbind_user_fault(const char *dev, struct ktap *k)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	pthread_t writer, server;
	struct uffd_job j = { 0 };
	char bdf[256], path[64];
	struct buf b;
	uint64_t t;
	int ret, i;

	dev_bdf(dev, bdf, sizeof(bdf));
	j.fd = open_dev(dev);
	if (buf_alloc(j.fd, &b, TESTDEV_BUF_COHERENT, 0, PAGE, 0))
		die("allocating a buffer: %s", strerror(errno));
	j.b = &b;
	j.uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	j.page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	reg.range.start = (uintptr_t)j.page;
	reg.range.len = PAGE;
	if (j.uffd < 0 || j.page == MAP_FAILED || ioctl(j.uffd, UFFDIO_API, &api) ||
	    ioctl(j.uffd, UFFDIO_REGISTER, &reg))
		die("userfaultfd: %s", strerror(errno));
	if (pthread_create(&server, NULL, uffd_server, &j) ||
	    pthread_create(&writer, NULL, uffd_writer, &j))
		die("pthread_create failed");
	sleep_ms(300);
	t = now_ns();
	ret = sysfs_write("/sys/bus/pci/drivers/testdev_driver/unbind", bdf);
	t = (now_ns() - t) / 1000000;
	ktap_result(k, !ret && t < 1000, "unbind-while-ioctl-waits-for-user-memory",
		    "unbind: %s in %llu ms", strerror(-ret),
		    (unsigned long long)t);
	pthread_join(writer, NULL);
	pthread_join(server, NULL);
	ktap_result(k, j.err == ENODEV, "that-ioctl-then-gets-ENODEV",
		    "errno %s", strerror(j.err));
	close(j.fd);
	close(j.uffd);
	ret = sysfs_write("/sys/bus/pci/drivers/testdev_driver/bind", bdf);
	snprintf(path, sizeof(path), "/dev/%s", dev);
	for (i = 0; i < 30 && access(path, F_OK); i++)
		sleep_ms(100);
	ktap_result(k, !ret && !access(path, F_OK), "bind-again",
		    "bind: %s", strerror(-ret));
}

/*
 * testdevctl check-driver [DEV]: what the driver must keep to under the
 * DMA API (swiotlb=force shows the bounce buffers), the privileges that
 * naming memory by address takes, and removal while an ioctl waits for
 * user memory; as KTAP. Unbinds and binds the device again at the end.
 */
#define CHECK_DRIVER_TESTS (11 + UNPRIVILEGED_TESTS + BUDGET_TESTS + 3)

/*
 * Slots of the swiotlb pool in use (debugfs, mounted here if need be), or
 * -1 where there is no such file.
 */
static long swiotlb_used(void)
{
	char b[32] = "";
	int fd;

	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	fd = open("/sys/kernel/debug/swiotlb/io_tlb_used", O_RDONLY);
	if (fd < 0)
		return -1;
	if (read(fd, b, sizeof(b) - 1) <= 0)
		b[0] = 0;
	close(fd);
	return b[0] ? atol(b) : -1;
}

#define STREAM_HOGS 16
#define STREAM_HOG_SIZE (256 << 10)	/* the most swiotlb maps at once */

/*
 * Under swiotlb=force, STREAM_HOGS callers of STREAM_COPY at once: only one
 * may hold its two bounce mappings (2 x 128 slots of 2 KiB) while the
 * others wait for the device; each held its own, up to half the pool.
 * Returns the most slots seen in use, or -1.
 */
static long stream_copy_pool_peak(const char *dev)
{
	pid_t pids[STREAM_HOGS];
	long used, peak = -1;
	int i, st;
	time_t end;

	for (i = 0; i < STREAM_HOGS; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork: %s", strerror(errno));
		if (!pids[i]) {
			int fd = open_dev(dev);

			end = time(NULL) + 3;
			while (time(NULL) < end) {
				struct testdev_stream_copy sc = {
					.argsz = sizeof(sc),
					.size = STREAM_HOG_SIZE,
				};

				if (ioctl(fd, TESTDEV_IOC_STREAM_COPY, &sc))
					_exit(1);
			}
			_exit(0);
		}
	}
	end = time(NULL) + 2;
	while (time(NULL) < end) {
		used = swiotlb_used();
		if (used > peak)
			peak = used;
		usleep(1000);
	}
	for (i = 0; i < STREAM_HOGS; i++)
		waitpid(pids[i], &st, 0);
	return peak;
}

static int check_driver(const char *dev)
{
	struct testdev_info inf = { .argsz = sizeof(inf) };
	struct ktap k = { .prefix = "" };
	struct testdev_scan scan = { 0 };
	struct buf s, a, d, many[8];
	struct testdev_copy c;
	int fd = open_dev(dev), i, j, shared = 0, ret;

	printf("KTAP version 1\n1..%d\n", CHECK_DRIVER_TESTS);
	if (ioctl(fd, TESTDEV_IOC_INFO, &inf))
		die("info: %s", strerror(errno));

	/* A partly mapped buffer: the device may not write past the map. */
	alloc_pair(fd, &s, TESTDEV_BUF_COHERENT, 0, 0,
		   &a, TESTDEV_BUF_STREAMING, TESTDEV_DIR_FROM_DEVICE);
	buf_ref(fd, TESTDEV_IOC_BUF_FREE, &a);
	if (buf_alloc(fd, &a, TESTDEV_BUF_STREAMING, TESTDEV_DIR_FROM_DEVICE,
		      PAGE, 64))
		die("allocating a buffer: %s", strerror(errno));
	buf_fill(fd, &s, 0, SRC_FILL, PAGE);
	ktap_errno(&k, "copy-into-unmapped-part",
		   do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &s, 0),
			   addr_of(TESTDEV_ADDR_DMA, &a, 0), PAGE, &c), EINVAL);
	ktap_result(&k, landed(fd, addr_of(TESTDEV_ADDR_DMA, &s, 0),
			       addr_of(TESTDEV_ADDR_DMA, &a, 0), &a, SRC_FILL, 64),
		    "copy-into-mapped-part", "64 bytes at handle 0x%llx",
		    (unsigned long long)a.dma);
	buf_ref(fd, TESTDEV_IOC_BUF_FREE, &a);

	/*
	 * Buffer I/O follows DMA-API ownership: a copy into a streaming buffer
	 * named by its bus address (so no copy ioctl syncs it) is seen by a
	 * read, and a write is seen by the device.
	 */
	if (buf_alloc(fd, &a, TESTDEV_BUF_STREAMING, TESTDEV_DIR_BIDIRECTIONAL,
		      PAGE, 0) ||
	    buf_alloc(fd, &d, TESTDEV_BUF_COHERENT, 0, PAGE, 0))
		die("allocating a buffer: %s", strerror(errno));
	buf_fill(fd, &a, 0, DST_FILL, PAGE);
	ktap_result(&k, landed(fd, addr_of(TESTDEV_ADDR_DMA, &s, 0),
			       addr_of(TESTDEV_ADDR_RAW, NULL, a.dma), &a,
			       SRC_FILL, PAGE),
		    "read-sees-device-write", "into handle 0x%llx",
		    (unsigned long long)a.dma);
	buf_fill(fd, &a, 0, 0x77, PAGE);
	buf_fill(fd, &d, 0, DST_FILL, PAGE);
	ktap_result(&k, landed(fd, addr_of(TESTDEV_ADDR_RAW, NULL, a.dma),
			       addr_of(TESTDEV_ADDR_DMA, &d, 0), &d, 0x77, PAGE),
		    "device-sees-write", "from handle 0x%llx",
		    (unsigned long long)a.dma);
	free_pair(fd, &a, &d);

	/* Small streaming buffers must not share a cache line. */
	for (i = 0; i < 8; i++)
		if (buf_alloc(fd, &many[i], TESTDEV_BUF_STREAMING,
			      TESTDEV_DIR_FROM_DEVICE, 1, 0))
			die("allocating a buffer: %s", strerror(errno));
	for (i = 0; i < 8; i++)
		for (j = i + 1; j < 8; j++)
			shared += many[i].phys / 64 == many[j].phys / 64;
	ktap_result(&k, !shared, "small-buffers-own-their-cache-lines",
		    "%d pairs of 1-byte buffers share a 64-byte line (0x%llx, 0x%llx, ...)",
		    shared, (unsigned long long)many[0].phys,
		    (unsigned long long)many[1].phys);
	for (i = 0; i < 8; i++)
		buf_ref(fd, TESTDEV_IOC_BUF_FREE, &many[i]);

	/*
	 * The largest streaming copy: it lands, or, where the DMA API cannot
	 * map that much at once (swiotlb maps 256 KiB), E2BIG up front (it
	 * was ENOMEM from a failed mapping, with a swiotlb warning).
	 */
	{
		struct testdev_stream_copy sc = { .argsz = sizeof(sc) };

		sc.size = inf.max_size < 4 << 20 ? inf.max_size : 4 << 20;
		ret = ioctl(fd, TESTDEV_IOC_STREAM_COPY, &sc) ? -errno : 0;
		ktap_result(&k, ret ? ret == -E2BIG : sc.landed &&
			    sc.result == TESTDEV_RESULT_OK, "stream-copy-max-size",
			    "%llu bytes: %s", (unsigned long long)sc.size,
			    ret ? strerror(-ret) : sc.landed ? "landed" :
			    "did not land");
	}

	/* Concurrent streaming copies share the swiotlb pool one at a time. */
	{
		char cmdline[1024] = "";
		int cfd = open("/proc/cmdline", O_RDONLY);
		long peak;

		if (cfd >= 0) {
			if (read(cfd, cmdline, sizeof(cmdline) - 1) < 0)
				cmdline[0] = 0;
			close(cfd);
		}
		if (!strstr(cmdline, "swiotlb=force") ||
		    inf.max_size < STREAM_HOG_SIZE) {
			ktap_result(&k, 1, "stream-copies-take-turns-in-swiotlb",
				    "SKIP no swiotlb=force, or MAX_SIZE below 256 KiB");
		} else {
			peak = stream_copy_pool_peak(dev);
			ktap_result(&k, peak >= 0 && peak <= 2 * 128 + 128,
				    "stream-copies-take-turns-in-swiotlb",
				    "%d callers of 256 KiB copies: at most %ld swiotlb slots in use (one copy's 256 and others' 128 allowed)",
				    STREAM_HOGS, peak);
		}
	}

	/* The largest coherent buffer the device allows: clean answers. */
	ret = buf_alloc(fd, &a, TESTDEV_BUF_COHERENT, 0, inf.max_size, 0);
	ktap_result(&k, !ret || ret == -ENOMEM || ret == -EINVAL,
		    "alloc-max-size", "%llu bytes: %s",
		    (unsigned long long)inf.max_size, strerror(-ret));
	if (!ret)
		buf_ref(fd, TESTDEV_IOC_BUF_FREE, &a);
	ret = buf_alloc(fd, &a, TESTDEV_BUF_COHERENT, 0,
			inf.max_size < 2 * PAGE ? inf.max_size : 2 * PAGE, 0);
	ktap_result(&k, !ret, "alloc-small-coherent", "%s", strerror(-ret));
	if (!ret)
		buf_ref(fd, TESTDEV_IOC_BUF_FREE, &a);
	ktap_result(&k, s.phys != 0, "root-gets-phys", "0x%llx",
		    (unsigned long long)s.phys);

	/*
	 * A scan turns the device's bus mastering on, as a rogue device
	 * would; where a user turned it off, no copy may land after.
	 */
	if (buf_alloc(fd, &d, TESTDEV_BUF_COHERENT, 0, PAGE, 0))
		die("allocating a buffer: %s", strerror(errno));
	buf_fill(fd, &d, 0, DST_FILL, PAGE);
	set_master(fd, 0);
	scan.argsz = sizeof(scan);
	scan.pages = 16;
	ret = ioctl(fd, TESTDEV_IOC_SCAN, &scan) ? -errno : 0;
	i = landed(fd, addr_of(TESTDEV_ADDR_DMA, &s, 0),
		   addr_of(TESTDEV_ADDR_DMA, &d, 0), &d, SRC_FILL, 64);
	/* The original device has no scan (EOPNOTSUPP): the copy still must not land. */
	ktap_result(&k, (!ret || ret == -EOPNOTSUPP) && !i, "scan-keeps-master-off",
		    "scan: %s; a copy after it %s", strerror(-ret),
		    i ? "landed" : "did not land");
	set_master(fd, 1);
	buf_ref(fd, TESTDEV_IOC_BUF_FREE, &d);
	buf_ref(fd, TESTDEV_IOC_BUF_FREE, &s);
	close(fd);

	k.failed += check_unprivileged(dev, &k);
	k.failed += check_budget(dev, &k);
	check_unbind_user_fault(dev, &k);
	return k.failed || k.n != CHECK_DRIVER_TESTS ? 1 : 0;
}

/*
 * testdevctl ring BDF: start a 64-byte copy on a device no driver holds,
 * through its BAR, as a binding that abandoned a copy leaves it; it stays
 * pending for BUSY_DELAY.
 */
static int ring(const char *bdf)
{
	volatile uint32_t *regs;
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%d", bdf,
		 TESTDEV_BAR);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	regs = mmap(NULL, TESTDEV_BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    fd, 0);
	if (regs == MAP_FAILED)
		die("mmap %s: %s", path, strerror(errno));
	/* 4-byte accesses, which the original device takes too. */
	regs[TESTDEV_REG_SRCADDR / 4] = 0;
	regs[TESTDEV_REG_DSTADDR / 4] = 0;
	regs[TESTDEV_REG_SIZE / 4] = 64;
	regs[TESTDEV_REG_DOORBELL / 4] = TESTDEV_DOORBELL_START;
	printf("%s: STATUS=%u\n", bdf, regs[TESTDEV_REG_STATUS / 4]);
	munmap((void *)regs, TESTDEV_BAR_SIZE);
	close(fd);
	return 0;
}

/* The kernel's drivers/pci/pcie/aer_inject.c takes one of these a write. */
struct aer_error_inj {
	uint8_t bus;
	uint8_t dev;
	uint8_t fn;
	uint32_t uncor_status;
	uint32_t cor_status;
	uint32_t header_log[4];
	uint32_t domain;
};

/*
 * testdevctl aer-inject BDF nonfatal|fatal: have the kernel's aer_inject
 * module report an uncorrectable error for the device as if its AER
 * capability (the device's aer=on) had logged one: a completion timeout
 * (non-fatal), or a malformed TLP (fatal: the AER driver resets the link).
 * The kernel then runs the driver's error handlers.
 */
static int aer_inject(const char *bdf, const char *kind)
{
	struct aer_error_inj e = { 0 };
	unsigned int domain, bus, dev, fn;
	int fd;

	if (sscanf(bdf, "%x:%x:%x.%x", &domain, &bus, &dev, &fn) != 4)
		die("BDF: '%s' is not DOMAIN:BUS:DEV.FN", bdf);
	if (!strcmp(kind, "nonfatal"))
		e.uncor_status = PCI_ERR_UNC_COMP_TIME;
	else if (!strcmp(kind, "fatal"))
		e.uncor_status = PCI_ERR_UNC_MALF_TLP;
	else
		die("KIND must be nonfatal or fatal, not '%s'", kind);
	e.domain = domain;
	e.bus = bus;
	e.dev = dev;
	e.fn = fn;
	fd = open("/dev/aer_inject", O_WRONLY);
	if (fd < 0)
		die("/dev/aer_inject: %s (is the aer_inject module loaded?)",
		    strerror(errno));
	if (write(fd, &e, sizeof(e)) != sizeof(e))
		die("aer_inject %s %s: %s", bdf, kind, strerror(errno));
	close(fd);
	printf("%s: %s error reported\n", bdf, kind);
	return 0;
}

/*
 * The reachability scan (the device's SCAN_* registers): what the device,
 * acting as a rogue one, can read and write among bus addresses, and
 * whether it finds the canaries planted below. The pages it reaches go to
 * the host as QEMU trace events; the guest sees the totals.
 */
#define SCAN_ALL_PAGES	(0x100000000ULL / TESTDEV_SCAN_PAGE_SIZE)	/* 4 GiB */

/* What each canary was planted in: the 8 bytes after the canary value. */
enum canary_tag {
	TAG_USER = 1,		/* a page of this process */
	TAG_HEAP,		/* a kernel heap object no device was given */
	TAG_PEER,		/* another device's coherent buffer */
	TAG_OWN,		/* this device's coherent buffer, mapped */
	TAG_STREAM,		/* a streaming buffer, mapped, later unmapped */
};

struct scan_result {
	uint64_t seq, readable, writable, canaries, elapsed_ns;
};

static uint64_t random_canary(void)
{
	uint64_t v = 0;

	/* Never 0 (reads nothing), and unknown to anything but the device. */
	while (!v)
		if (syscall(SYS_getrandom, &v, sizeof(v), 0) != sizeof(v))
			die("getrandom: %s", strerror(errno));
	return v;
}

static int scan_dev(int fd, uint64_t start, uint64_t pages, uint64_t canary,
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

/* A 64-bit register through BAR0, as two 4-byte halves, low first. */
static void bar_wr(volatile uint32_t *regs, unsigned int reg, uint64_t val)
{
	regs[reg / 4] = (uint32_t)val;
	regs[reg / 4 + 1] = val >> 32;
}

static uint64_t bar_rd(volatile uint32_t *regs, unsigned int reg)
{
	return regs[reg / 4] | (uint64_t)regs[reg / 4 + 1] << 32;
}

/* The same scan through the BAR of a device no driver has bound. */
static void scan_bar(const char *bdf, uint64_t start, uint64_t pages,
		     uint64_t canary, struct scan_result *r)
{
	volatile uint32_t *regs;
	char path[256];
	uint64_t t0;
	int fd, ms;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/enable", bdf);
	if (sysfs_write(path, "1"))
		die("%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%d", bdf,
		 TESTDEV_BAR);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		die("%s: %s (is a driver bound? then name the device, not the BDF)",
		    path, strerror(errno));
	regs = mmap(NULL, TESTDEV_BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    fd, 0);
	if (regs == MAP_FAILED)
		die("mmap %s: %s", path, strerror(errno));
	bar_wr(regs, TESTDEV_REG_SCAN_START, start);
	bar_wr(regs, TESTDEV_REG_SCAN_PAGES, pages);
	bar_wr(regs, TESTDEV_REG_SCAN_CANARY, canary);
	t0 = now_ns();
	regs[TESTDEV_REG_SCAN_CTRL / 4] = TESTDEV_SCAN_RUN;
	for (ms = 0; regs[TESTDEV_REG_SCAN_CTRL / 4] & TESTDEV_SCAN_RUN; ms++) {
		if (ms >= 60000) {
			regs[TESTDEV_REG_SCAN_CTRL / 4] = 0;
			die("%s: the scan did not end in 60 s; stopped it", bdf);
		}
		sleep_ms(1);
	}
	r->elapsed_ns = now_ns() - t0;
	r->seq = bar_rd(regs, TESTDEV_REG_SCAN_SEQ);
	r->readable = bar_rd(regs, TESTDEV_REG_SCAN_READABLE);
	r->writable = bar_rd(regs, TESTDEV_REG_SCAN_WRITABLE);
	r->canaries = bar_rd(regs, TESTDEV_REG_SCAN_CANARIES);
	bar_wr(regs, TESTDEV_REG_SCAN_CANARY, 0);
	munmap((void *)regs, TESTDEV_BAR_SIZE);
	close(fd);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/enable", bdf);
	sysfs_write(path, "0");
}

static void scan_print(const char *moment, uint64_t start, uint64_t pages,
		       const struct scan_result *r)
{
	printf("moment %s: scan %llu of 0x%llx-0x%llx: readable %llu writable %llu canary pages %llu (%llu ms)\n",
	       moment, (unsigned long long)r->seq, (unsigned long long)start,
	       (unsigned long long)(start + pages * TESTDEV_SCAN_PAGE_SIZE - 1),
	       (unsigned long long)r->readable, (unsigned long long)r->writable,
	       (unsigned long long)r->canaries,
	       (unsigned long long)(r->elapsed_ns / 1000000));
	fflush(stdout);
}

/* A canary in a page of this process, locked in RAM: the user page. */
static void plant_user(uint64_t canary)
{
	uint64_t *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);

	if (page == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	page[0] = canary;
	page[1] = TAG_USER;
}

/* A canary in buffer b of the driver, through BUF_WRITE. */
static void plant_buf(int fd, struct buf *b, uint64_t canary, uint64_t tag)
{
	volatile uint64_t word[2] = { canary, tag };

	buf_io(fd, TESTDEV_IOC_BUF_WRITE, b, 0, (void *)word, sizeof(word));
	/* Leave no copy of it in this process for the scan to find. */
	word[0] = word[1] = 0;
}

/*
 * testdevctl scan BDF: one scan of the low 4 GiB of bus addresses through
 * the BAR of a device no driver has bound (before the driver loads), with
 * a canary in a page of this process.
 */
static int scan_cmd(const char *bdf)
{
	uint64_t canary = random_canary();
	struct scan_result r;

	plant_user(canary);
	scan_bar(bdf, 0, SCAN_ALL_PAGES, canary, &r);
	scan_print("before-driver", 0, SCAN_ALL_PAGES, &r);
	return 0;
}

/*
 * testdevctl exposure [DEV]: canaries in a user page, a kernel heap object
 * never mapped for a device, another device's buffer (if one is bound),
 * this device's coherent buffer and a streaming buffer; then scans of the
 * low 4 GiB while the buffers are mapped, of the streaming buffer's page
 * right after its unmap (inside a lazy IOMMU's invalidation window), and
 * of the low 4 GiB again after the window.
 */
static int exposure(const char *dev)
{
	uint64_t canary = random_canary();
	struct buf own, stream, heap, peer;
	char names[16][32];
	struct scan_result r;
	const char *name = strncmp(dev, "/dev/", 5) ? dev : dev + 5;
	int fd, peer_fd = -1, i, n, ret;
	struct testdev_copy c;

	fd = open_dev(dev);
	plant_user(canary);
	if (buf_alloc(fd, &own, TESTDEV_BUF_COHERENT, 0, PAGE, 0) ||
	    buf_alloc(fd, &stream, TESTDEV_BUF_STREAMING,
		      TESTDEV_DIR_BIDIRECTIONAL, PAGE, 0) ||
	    buf_alloc(fd, &heap, TESTDEV_BUF_UNMAPPED, 0, PAGE, 0))
		die("%s: buffers: %s", dev, strerror(errno));
	plant_buf(fd, &heap, canary, TAG_HEAP);
	plant_buf(fd, &own, canary, TAG_OWN);
	plant_buf(fd, &stream, canary, TAG_STREAM);
	n = list_devices(names, 16);
	for (i = 0; i < n && peer_fd < 0; i++) {
		if (!strcmp(names[i], name))
			continue;
		peer_fd = open_dev(names[i]);
		if (buf_alloc(peer_fd, &peer, TESTDEV_BUF_COHERENT, 0, PAGE, 0))
			die("%s: buffer: %s", names[i], strerror(errno));
		plant_buf(peer_fd, &peer, canary, TAG_PEER);
	}
	printf("buffers: own coherent 0x%llx, streaming 0x%llx, peer %s\n",
	       (unsigned long long)own.dma, (unsigned long long)stream.dma,
	       peer_fd < 0 ? "none" : "coherent");

	ret = scan_dev(fd, 0, SCAN_ALL_PAGES, canary, &r);
	if (ret)
		die("%s: scan: %s", dev, strerror(-ret));
	scan_print("mapped", 0, SCAN_ALL_PAGES, &r);

	/*
	 * The device reads the streaming buffer (beside the canary), so that
	 * an IOTLB holds its translation, as in the audit's stale-iova; then
	 * the driver unmaps it.
	 */
	ret = do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &stream, PAGE / 2),
		      addr_of(TESTDEV_ADDR_DMA, &own, PAGE / 2), 64, &c);
	if (ret || c.result != TESTDEV_RESULT_OK)
		die("%s: a copy from the streaming buffer: %s", dev,
		    ret ? strerror(-ret) : result_name(c.result));
	buf_ref(fd, TESTDEV_IOC_BUF_UNMAP, &stream);
	ret = scan_dev(fd, stream.dma, 1, canary, &r);
	if (ret)
		die("%s: scan: %s", dev, strerror(-ret));
	scan_print("unmapped", stream.dma, 1, &r);

	sleep_ms(STALE_LATER_MS);
	ret = scan_dev(fd, 0, SCAN_ALL_PAGES, canary, &r);
	if (ret)
		die("%s: scan: %s", dev, strerror(-ret));
	scan_print("later", 0, SCAN_ALL_PAGES, &r);
	if (peer_fd >= 0)
		close(peer_fd);
	close(fd);
	return 0;
}

/*
 * testdevctl bench [DEV]: what a copy costs, as the guest sees it, at
 * 4 KiB, 64 KiB and 1 MiB (up to MAX_SIZE): between two coherent buffers
 * mapped once (the copy alone), and through the streaming DMA API, mapped
 * and unmapped around every copy (where strict and lazy IOMMU modes
 * differ). The median and the 10th and 90th percentiles of many copies,
 * one JSON object a line.
 */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#define BENCH_REPS	101

/*
 * The device's copies take turns on a timeline shared by all devices
 * (testdev_regs.h): back to back, a copy would wait for the last one's
 * turn to end. Waiting that out first measures the copy, not the pacing.
 */
static void bench_pace(uint64_t size)
{
	uint64_t ns = TESTDEV_SHARED_COPY_NS +
		      size * 1000000000ULL / TESTDEV_SHARED_BYTES_PER_SEC;
	struct timespec ts = { ns / 1000000000ULL, ns % 1000000000ULL };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

struct bench_phases {
	uint64_t total[BENCH_REPS], map[BENCH_REPS], copy[BENCH_REPS],
		 unmap[BENCH_REPS];
};

static uint64_t median_of(uint64_t *v, int n, int pct)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(n - 1) * pct / 100];
}

static void bench_print(const char *kind, uint64_t size, int n,
			struct bench_phases *p)
{
	uint64_t med;

	med = median_of(p->total, n, 50);
	printf("{\"kind\": \"%s\", \"size\": %llu, \"copies\": %d, \"median_ns\": %llu, \"p10_ns\": %llu, \"p90_ns\": %llu, ",
	       kind, (unsigned long long)size, n, (unsigned long long)med,
	       (unsigned long long)median_of(p->total, n, 10),
	       (unsigned long long)median_of(p->total, n, 90));
	printf("\"map_ns\": %llu, \"copy_ns\": %llu, \"unmap_ns\": %llu, \"mb_per_s\": %.1f}\n",
	       (unsigned long long)median_of(p->map, n, 50),
	       (unsigned long long)median_of(p->copy, n, 50),
	       (unsigned long long)median_of(p->unmap, n, 50),
	       med ? size * 1000.0 / med : 0.0);
	fflush(stdout);
}

static int bench(const char *dev)
{
	static const uint64_t sizes[] = { 4096, 65536, 1048576 };
	static struct bench_phases p;
	struct testdev_info info = { .argsz = sizeof(info) };
	int fd = open_dev(dev), i, r;

	if (ioctl(fd, TESTDEV_IOC_INFO, &info))
		die("%s: info: %s", dev, strerror(errno));
	for (i = 0; i < 3 && sizes[i] <= info.max_size; i++) {
		struct testdev_stream_copy sc;
		struct testdev_copy c;
		struct buf s, d;

		if (buf_alloc(fd, &s, TESTDEV_BUF_COHERENT, 0, sizes[i], 0) ||
		    buf_alloc(fd, &d, TESTDEV_BUF_COHERENT, 0, sizes[i], 0))
			die("%s: coherent buffers of %llu bytes: %s", dev,
			    (unsigned long long)sizes[i], strerror(errno));
		for (r = 0; r < BENCH_REPS; r++) {
			bench_pace(sizes[i]);
			if (do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &s, 0),
				    addr_of(TESTDEV_ADDR_DMA, &d, 0), sizes[i], &c) ||
			    c.result != TESTDEV_RESULT_OK)
				die("%s: coherent copy of %llu bytes failed", dev,
				    (unsigned long long)sizes[i]);
			p.total[r] = p.copy[r] = c.elapsed_ns;
			p.map[r] = p.unmap[r] = 0;
		}
		bench_print("coherent", sizes[i], BENCH_REPS, &p);
		buf_ref(fd, TESTDEV_IOC_BUF_FREE, &s);
		buf_ref(fd, TESTDEV_IOC_BUF_FREE, &d);

		for (r = 0; r < BENCH_REPS; r++) {
			bench_pace(sizes[i]);
			memset(&sc, 0, sizeof(sc));
			sc.argsz = sizeof(sc);
			sc.size = sizes[i];
			if (ioctl(fd, TESTDEV_IOC_STREAM_COPY, &sc))
				break;
			if (!sc.landed)
				die("%s: streaming copy of %llu bytes: RESULT %s, data %s",
				    dev, (unsigned long long)sizes[i],
				    result_name(sc.result), "not copied");
			p.map[r] = sc.map_ns;
			p.copy[r] = sc.copy_ns;
			p.unmap[r] = sc.unmap_ns;
			p.total[r] = sc.map_ns + sc.copy_ns + sc.unmap_ns;
		}
		if (r < BENCH_REPS)
			/* swiotlb maps at most 256 KiB at once (E2BIG): say so, go on. */
			printf("{\"kind\": \"streaming\", \"size\": %llu, \"error\": \"%s\"}\n",
			       (unsigned long long)sizes[i], strerror(errno));
		else
			bench_print("streaming", sizes[i], BENCH_REPS, &p);
	}
	close(fd);
	return 0;
}

static const char usage_line[] =
"usage: testdevctl info | copy [--fill BYTE] SRC DST SIZE [DEV] | audit [--ktap|--json|--legend] |\n"
"                  check-ioctls [DEV] | check-remove [DEV] | check-driver [DEV] | ring BDF |\n"
"                  aer-inject BDF nonfatal|fatal | scan BDF | exposure [DEV] |\n"
"                  bench [DEV] | --help\n";

static const char help_text[] =
"Drives pcie-testdev devices through /dev/pcie-testdevN, which testdev_driver\n"
"makes for each device it binds. DEV is pcie-testdev0 unless given.\n"
"\n"
"  info              every bound device: MAX_SIZE, COPIES, FAULTS, whether\n"
"                    copies end by interrupt, the IOMMU and its domain\n"
"  copy [--fill BYTE] SRC DST SIZE [DEV]\n"
"                    one copy of SIZE bytes between two coherent buffers; SRC\n"
"                    and DST are each dma (the buffer's DMA handle), phys (its\n"
"                    CPU physical address) or a bus address (0x1000000);\n"
"                    SIZE is 1 to the device's MAX_SIZE (at most 4 MiB, the\n"
"                    largest coherent buffer the driver allocates); the source\n"
"                    holds BYTE (0x5a unless told), the destination 0xc3\n"
"  audit [--ktap|--json]\n"
"                    the DMA protection scenarios on every device: expected,\n"
"                    observed and verdict, then what the words mean\n"
"  audit --legend    only what the words mean\n"
"  check-ioctls [DEV]\n"
"                    the driver's answers to bad ioctl arguments (KTAP)\n"
"  check-remove [DEV]\n"
"                    kill a copier; unbind and remove the device under an\n"
"                    open file (needs busy_delay_ms=2000 on the device)\n"
"  check-driver [DEV]\n"
"                    DMA-API rules, an unprivileged user (uid 1000), unbind\n"
"                    while an ioctl waits on a userfaultfd page (KTAP)\n"
"  ring BDF          start a 64-byte copy on an unbound device, through its BAR\n"
"  aer-inject BDF nonfatal|fatal\n"
"                    report a PCIe error for the device through the kernel's\n"
"                    aer_inject module (the device needs aer=on)\n"
"  scan BDF          the device, as a rogue one, scans the low 4 GiB of bus\n"
"                    addresses for what it can read and write, through the\n"
"                    BAR of a device no driver has bound, with a canary in a\n"
"                    user page; the pages go to the host as trace events\n"
"  exposure [DEV]    canaries in a user page, a kernel heap object, another\n"
"                    device's buffer, DEV's coherent and streaming buffers;\n"
"                    scans while mapped, right after the streaming unmap,\n"
"                    and a second later (CAP_SYS_RAWIO)\n"
"  bench [DEV]       per-copy time at 4 KiB, 64 KiB and 1 MiB, coherent buffers\n"
"                    mapped once and streaming ones mapped around each copy:\n"
"                    median and spread, as JSON lines\n"
"  --help            this\n"
"\n"
"exit status:\n"
"  0  done: the copy landed (RESULT ok), every verdict or test passed\n"
"  1  the copy did not land (a fault), or a verdict or test failed\n"
"  2  a bad command line, no such device, or an error from the driver or the\n"
"     system (the message says which)\n";

int main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "help"))) {
		printf("%s\n%s", usage_line, help_text);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "info"))
		return info();
	if (argc >= 2 && !strcmp(argv[1], "copy"))
		return copy_cmd(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "check-ioctls"))
		return check_ioctls(argc > 2 ? argv[2] : "pcie-testdev0");
	if (argc >= 2 && !strcmp(argv[1], "check-remove"))
		return check_remove(argc > 2 ? argv[2] : "pcie-testdev0");
	if (argc == 3 && !strcmp(argv[1], "ring"))
		return ring(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "aer-inject"))
		return aer_inject(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "scan"))
		return scan_cmd(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "bench"))
		return bench(argc > 2 ? argv[2] : "pcie-testdev0");
	if (argc >= 2 && !strcmp(argv[1], "exposure"))
		return exposure(argc > 2 ? argv[2] : "pcie-testdev0");
	if (argc >= 2 && !strcmp(argv[1], "check-driver"))
		return check_driver(argc > 2 ? argv[2] : "pcie-testdev0");
	if (argc >= 2 && !strcmp(argv[1], "audit")) {
		if (argc == 2)
			return audit(TABLE);
		if (!strcmp(argv[2], "--ktap"))
			return audit(KTAP);
		if (!strcmp(argv[2], "--json"))
			return audit(JSON);
		if (!strcmp(argv[2], "--legend")) {
			fputs(audit_legend, stdout);
			return 0;
		}
	}
	fprintf(stderr, "%stestdevctl --help: what each command does, and the exit codes\n",
		usage_line);
	return 2;
}
