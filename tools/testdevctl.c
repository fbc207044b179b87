// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * testdevctl: drive pcie-testdev through /dev/pcie-testdevN.
 *
 *   testdevctl info                       every device, its counters
 *   testdevctl copy [--fill BYTE] SRC DST SIZE [DEV]
 *                                         one copy between two buffers
 *                                         (SRC, DST: dma | phys | ADDR)
 *   testdevctl audit [--config NAME] [--ktap|--json]
 *                                         what the IOMMU blocks, per device
 *   testdevctl audit --legend             what the audit's words mean
 *   testdevctl ring BDF                   start a copy on an unbound device
 *   testdevctl aer-inject BDF nonfatal|fatal
 *                                         report a PCIe error for the device
 *                                         (the kernel's aer_inject module)
 *   testdevctl scan BDF                   what an unbound device can reach
 *   testdevctl exposure [DEV]             what it can reach, and which
 *                                         canaries, as buffers come and go
 *   testdevctl fail-alloc [DEV]           each allocation of the buffer
 *                                         ioctl fails in turn (a debug
 *                                         kernel's fault injection)
 *   testdevctl fail-bind BDF N            bind the driver with the Nth
 *                                         allocation failing
 *   testdevctl bench [DEV]                what a copy costs, coherent and
 *                                         streaming
 *   testdevctl --help                     all this, and the exit codes
 *
 * The audit runs each scenario on every device it finds, tells the IOMMU
 * configuration from sysfs, and prints scenario, expected, observed and
 * verdict. What is expected is tests/audit-expected.txt's, built in: the
 * column of the configuration --config names, else the one the IOMMU
 * domain stands for. It exits 1 if any verdict fails. The driver's own
 * tests are kselftest-harness programs in tests/selftests/; the code that
 * talks to the driver is tools/lib/testdev.c.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/testdev.h"
/* Generated from tests/audit-expected.txt (scripts/audit-expected-h). */
#include "audit-expected.h"

#define CANARY		0xca
/* How long to watch a stale handle, and when to try it "later". */
#define STALE_WATCH_MS	200
#define STALE_LATER_MS	1000
/*
 * Before the mapping whose stale handle is tried: longer than a lazy
 * IOMMU's flush-queue timer (10 ms), so that the unmaps before it (the
 * scenario before) are flushed first, and this unmap starts the timer.
 */
#define STALE_IDLE_MS	50

/* One scenario's outcome: a verdict (testdev_verdict.h), plus a detail. */
struct outcome {
	enum testdev_verdict observed;
	const char *skip;	/* why the scenario could not run */
	char detail[192];
};

/*
 * Judge a copy by RESULT and data together, by the rule the driver's
 * transfers at probe follow (testdev_judge); error when the ioctl failed.
 */
static enum testdev_verdict judge(int ret, const struct testdev_copy *c,
				  int landed, int untouched)
{
	if (ret)
		return TESTDEV_VERDICT_ERROR;
	return testdev_judge(1, c->result, landed, untouched);
}

/* More words for o's detail, after what it holds. */
static void __attribute__((format(printf, 2, 3)))
append_detail(struct outcome *o, const char *fmt, ...)
{
	size_t len = strlen(o->detail);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->detail + len, sizeof(o->detail) - len, fmt, ap);
	va_end(ap);
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

	buf_fill(fd, s, 0, TESTDEV_SRC_FILL, PAGE);
	buf_fill(fd, d, 0, TESTDEV_DST_FILL, PAGE);
	ret = do_copy(fd, addr_of(mode, s, 0), addr_of(mode, d, 0), PAGE, &c);
	o->observed = judge(ret, &c,
			    buf_holds(fd, d, 0, TESTDEV_SRC_FILL, PAGE),
			    buf_holds(fd, d, 0, TESTDEV_DST_FILL, PAGE));
	describe(o, ret, &c);
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
	buf_fill(fd, &d, 0, TESTDEV_DST_FILL, PAGE);
	ret = do_copy(fd, addr_of(TESTDEV_ADDR_RAW, NULL, NEVER_MAPPED),
		      addr_of(TESTDEV_ADDR_DMA, &d, 0), 64, &c);
	o->observed = judge(ret, &c,
			    !buf_holds(fd, &d, 0, TESTDEV_DST_FILL, 64),
			    buf_holds(fd, &d, 0, TESTDEV_DST_FILL, 64));
	describe(o, ret, &c);
	buf_free(fd, &d);
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
	buf_fill(fd, &s, 0, TESTDEV_SRC_FILL, 64);
	buf_fill(fd, &s, 64, CANARY, PAGE - 64);
	buf_fill(fd, &d, 0, TESTDEV_DST_FILL, PAGE);
	ret = do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &s, 64),
		      addr_of(TESTDEV_ADDR_DMA, &d, 0), PAGE - 64, &c);
	if (!ret && c.result == TESTDEV_RESULT_OK &&
	    buf_holds(fd, &d, 0, CANARY, PAGE - 64))
		o->observed = TESTDEV_VERDICT_LEAKS;
	else if (!ret && c.result == TESTDEV_RESULT_OK &&
		 !buf_holds(fd, &d, 0, TESTDEV_DST_FILL, PAGE - 64))
		/* Past a bounced mapping: the swiotlb pool, others' data. */
		o->observed = TESTDEV_VERDICT_LEAKS_BOUNCE;
	else
		o->observed = judge(ret, &c, 0,
				    buf_holds(fd, &d, 0, TESTDEV_DST_FILL,
					      PAGE - 64));
	describe(o, ret, &c);
	if (o->observed == TESTDEV_VERDICT_LEAKS ||
	    o->observed == TESTDEV_VERDICT_LEAKS_BOUNCE)
		append_detail(o, "; %llu bytes past the 64-byte mapping came out",
			      (unsigned long long)buf_count_not(fd, &d, 0,
						TESTDEV_DST_FILL, PAGE - 64));
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

	/*
	 * Else the flush-queue timer an earlier unmap started may fire
	 * between the first copy and the try through the stale handle: its
	 * flush drops the translation the first copy cached in the IOTLB
	 * (the page table entry is gone at the unmap), and the try is
	 * "refused at once" under lazy invalidation, now and then.
	 */
	sleep_ms(STALE_IDLE_MS);
	alloc_pair(fd, s, TESTDEV_BUF_STREAMING, TESTDEV_DIR_TO_DEVICE, 0,
		   d, TESTDEV_BUF_COHERENT, 0);
	buf_fill(fd, s, 0, TESTDEV_SRC_FILL, PAGE);
	ret = do_copy(fd, addr_of(TESTDEV_ADDR_DMA, s, 0),
		      addr_of(TESTDEV_ADDR_DMA, d, 0), PAGE, &c);
	if (ret || c.result != TESTDEV_RESULT_OK) {
		/* Without a first copy that landed there is nothing to test. */
		o->observed = TESTDEV_VERDICT_ERROR;
		describe(o, ret, &c);
		free_pair(fd, s, d);
		return -1;
	}
	buf_unmap(fd, s);
	return 0;
}

/* One page through the stale handle, issued at *issued: its verdict. */
static enum testdev_verdict stale_copy(int fd, struct buf *s, struct buf *d,
			      struct outcome *o, uint64_t *issued)
{
	struct testdev_copy c;
	int ret;

	buf_fill(fd, d, 0, TESTDEV_DST_FILL, PAGE);
	*issued = now_ns();
	ret = do_copy(fd, addr_of(TESTDEV_ADDR_DMA, s, 0),
		      addr_of(TESTDEV_ADDR_DMA, d, 0), PAGE, &c);
	describe(o, ret, &c);
	return judge(ret, &c, buf_holds(fd, d, 0, TESTDEV_SRC_FILL, PAGE),
		     buf_holds(fd, d, 0, TESTDEV_DST_FILL, PAGE));
}

/*
 * Through the old handle at once, and again until it is refused or
 * STALE_WATCH_MS have passed: the window lies between the issue of the
 * last copy that landed and the end of the first that did not.
 */
static void s_stale_iova(int fd, struct outcome *o)
{
	uint64_t start, last = 0, end, issued;
	enum testdev_verdict v;
	struct buf s, d;
	char first[sizeof(o->detail)];
	int n = 0;

	if (stale_setup(fd, &s, &d, o))
		return;
	start = now_ns();
	o->observed = stale_copy(fd, &s, &d, o, &issued);
	strcpy(first, o->detail);
	for (v = o->observed; v == TESTDEV_VERDICT_ALLOWED;
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
	else if (v == TESTDEV_VERDICT_ALLOWED)
		snprintf(o->detail, sizeof(o->detail),
			 "%s; still landing %llu ms after the unmap (%d copies)",
			 first, (unsigned long long)(last - start) / 1000000, n);
	else
		snprintf(o->detail, sizeof(o->detail),
			 "%s; window %.1f-%.1f ms after the unmap (%d copies landed), then %s",
			 first, (last - start) / 1e6, (end - start) / 1e6, n,
			 testdev_verdict_name(v));
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
	struct testdev_rogue r;
	int ret = dev_rogue(fd, &r);

	if (ret)
		die("rogue counters: %s", strerror(-ret));
	if (!r.aggressive) {
		o->observed = TESTDEV_VERDICT_SKIP;
		o->skip = "the device was not in aggressive mode at probe";
	} else if (r.copies && r.faults) {
		o->observed = TESTDEV_VERDICT_LANDS_EARLY;
	} else if (r.copies) {
		o->observed = TESTDEV_VERDICT_ALLOWED;
	} else if (r.faults) {
		o->observed = TESTDEV_VERDICT_BLOCKED;
	} else {
		o->observed = TESTDEV_VERDICT_IDLE;
	}
	snprintf(o->detail, sizeof(o->detail),
		 "%llu copies landed and %llu faulted before the driver stopped it",
		 (unsigned long long)r.copies, (unsigned long long)r.faults);
}

/*
 * The scenarios, each with its expected verdicts: its row of
 * tests/audit-expected.txt, one a configuration, which the build turns
 * into AUDIT_ROW_<name> (scripts/audit-expected-h). A scenario without a
 * row does not build; rows without a scenario here (the driver's insmod
 * transfers) are not the audit's.
 */
struct scenario {
	const char *name;
	enum testdev_verdict expected[AUDIT_COLUMNS];
	void (*run)(int fd, struct outcome *o);
};

static const struct scenario scenarios[] = {
	{ AUDIT_ROW_valid_handles, .run = s_valid },
	{ AUDIT_ROW_physical_addresses, .run = s_phys },
	{ AUDIT_ROW_never_mapped_iova, .run = s_unmapped_iova },
	{ AUDIT_ROW_write_to_device_readonly, .run = s_write_readonly },
	{ AUDIT_ROW_subpage_exposure, .run = s_subpage },
	{ AUDIT_ROW_stale_iova, .run = s_stale_iova },
	{ AUDIT_ROW_stale_iova_later, .run = s_stale_later },
	{ AUDIT_ROW_bus_master_off, .run = s_no_master },
	{ AUDIT_ROW_rogue_before_driver, .run = s_rogue },
};

/* The table's configurations, its columns in order. */
static const char *const audit_columns[AUDIT_COLUMNS] = AUDIT_COLUMN_NAMES;

/*
 * NAME@SERIES is configuration NAME on that kernel series: its own column
 * where the kernels differ, else NAME's.
 */
static int audit_column_of(const char *name)
{
	size_t len = strcspn(name, "@");
	int i;

	for (i = 0; i < AUDIT_COLUMNS; i++)
		if (!strcmp(audit_columns[i], name))
			return i;
	for (i = 0; i < AUDIT_COLUMNS; i++)
		if (name[len] && strlen(audit_columns[i]) == len &&
		    !strncmp(audit_columns[i], name, len))
			return i;
	return -1;
}

/*
 * Which column of the table judges this device: the configuration named
 * by --config (the test guests pass theirs), else the one standing for
 * what the kernel set up: lazy translation (DMA-FQ) intel, strict (DMA)
 * intel-strict, swiotlb=force without translation swiotlb, the identity
 * domain intel-pt, no translation none. *how says which way it was found.
 */
static int audit_column(const char *config, const struct iommu_cfg *cfg,
			const char **how)
{
	const char *name;
	int col = config ? audit_column_of(config) : -1;

	if (col >= 0) {
		*how = "--config";
		return col;
	}
	*how = config ? "inferred: the table has no such column" : "inferred";
	if (cfg->lazy)
		name = "intel";
	else if (cfg->translated)
		name = "intel-strict";
	else if (cfg->bounce)
		name = "swiotlb";
	else if (!strcmp(cfg->domain, "identity"))
		name = "intel-pt";
	else
		name = "none";
	col = audit_column_of(name);
	if (col < 0)
		die("tests/audit-expected.txt has no column %s", name);
	return col;
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

/* One scenario's result as a JSON object; a skipped one has no verdict. */
static void json_record(int comma, const char *dev, const struct iommu_cfg *cfg,
			const char *column, const char *scenario,
			enum testdev_verdict want, const struct outcome *o,
			int pass)
{
	const char *const keys[] = {
		"device", "iommu", "domain", "options", "column", "scenario",
		"expected",
	};
	const char *const values[] = {
		dev, cfg->vendor, cfg->domain, cfg->cmdline, column, scenario,
		testdev_verdict_name(want),
	};
	size_t i;

	printf("%s\n {", comma ? "," : "");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		printf("\"%s\": ", keys[i]);
		json_str(stdout, values[i]);
		printf(", ");
	}
	if (o->skip) {
		printf("\"observed\": null, \"pass\": null, \"skip\": ");
		json_str(stdout, o->skip);
		printf(", \"detail\": \"\"}");
	} else {
		printf("\"observed\": ");
		json_str(stdout, testdev_verdict_name(o->observed));
		printf(", \"pass\": %s, \"skip\": null, \"detail\": ",
		       pass ? "true" : "false");
		json_str(stdout, o->detail);
		putchar('}');
	}
}

/* One scenario's line in the chosen format: test is its number from 1. */
static void report(enum format fmt, int test, const char *dev,
		   const struct iommu_cfg *cfg, const char *column,
		   const char *scenario, enum testdev_verdict want,
		   const struct outcome *o, int pass)
{
	switch (fmt) {
	case TABLE:
		printf("%-26s %-9s %-12s %s  (%s)\n", scenario,
		       testdev_verdict_name(want),
		       o->skip ? "-" : testdev_verdict_name(o->observed),
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
			       testdev_verdict_name(want),
			       testdev_verdict_name(o->observed), o->detail);
		break;
	case JSON:
		json_record(test > 1, dev, cfg, column, scenario, want, o,
			    pass);
		break;
	}
}

/* The device's ATS (ats=on): whether the kernel enabled it, its counters. */
struct ats_state {
	bool present, enabled;
	uint64_t translations, invalidations;
};

static void ats_read(const char *dev, int fd, struct ats_state *a)
{
	char bdf[64], path[320];
	uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
	unsigned int pos = PCI_CFG_SPACE_SIZE, hops = 0;
	struct testdev_info inf;
	ssize_t n = 0;
	int cfd, ret;

	memset(a, 0, sizeof(*a));
	dev_bdf(dev, bdf, sizeof(bdf));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	cfd = open(path, O_RDONLY);
	if (cfd >= 0) {
		n = pread(cfd, cfg, sizeof(cfg), 0);
		close(cfd);
	}
	/* The extended capabilities' list, from 0x100 (root reads it all). */
	while (n == sizeof(cfg) && pos >= PCI_CFG_SPACE_SIZE &&
	       pos + 8 <= sizeof(cfg) && hops++ < 64) {
		uint32_t hdr = cfg[pos] | cfg[pos + 1] << 8 |
			       cfg[pos + 2] << 16 | (uint32_t)cfg[pos + 3] << 24;

		if (PCI_EXT_CAP_ID(hdr) == PCI_EXT_CAP_ID_ATS) {
			a->present = true;
			a->enabled = cfg[pos + PCI_ATS_CTRL + 1] << 8 &
				     PCI_ATS_CTRL_ENABLE;
			break;
		}
		pos = PCI_EXT_CAP_NEXT(hdr);
	}
	ret = dev_info(fd, &inf);
	if (ret)
		die("%s: %s", dev, strerror(-ret));
	a->translations = inf.ats_translations;
	a->invalidations = inf.ats_invalidations;
}

static const char *ats_name(const struct ats_state *a)
{
	return !a->present ? "none" : a->enabled ? "enabled" : "off";
}

/* config: the configuration's name, a column of the table, or NULL. */
static int audit(enum format fmt, const char *config)
{
	const int count = sizeof(scenarios) / sizeof(scenarios[0]);
	testdev_name names[MAX_DEVICES];
	int ndev, i, k, failed = 0, skipped = 0, test = 0;

	ndev = list_devices(names, MAX_DEVICES);
	if (!ndev)
		die(NO_DEVICE);
	if (fmt == KTAP)
		printf("KTAP version 1\n1..%d\n", ndev * count);
	if (fmt == JSON)
		printf("[");
	for (k = 0; k < ndev; k++) {
		struct iommu_cfg cfg;
		struct ats_state ats;
		int fd = open_dev(names[k]), col;
		const char *how;

		detect_iommu(names[k], &cfg);
		ats_read(names[k], fd, &ats);
		col = audit_column(config, &cfg, &how);
		if (fmt == TABLE)
			printf("%s: IOMMU %s, domain %s, kernel options %s, ATS %s; expected: column %s (%s)\n%-26s %-9s %-12s %s\n",
			       names[k], cfg.vendor, cfg.domain, cfg.cmdline,
			       ats_name(&ats), audit_columns[col], how,
			       "scenario", "expected", "observed", "verdict");
		if (fmt == KTAP)
			printf("# %s: IOMMU %s, domain %s, kernel options %s, ATS %s; expected: column %s (%s)\n",
			       names[k], cfg.vendor, cfg.domain, cfg.cmdline,
			       ats_name(&ats), audit_columns[col], how);
		for (i = 0; i < count; i++) {
			const struct scenario *s = &scenarios[i];
			enum testdev_verdict want = s->expected[col];
			struct outcome o = { .observed = TESTDEV_VERDICT_ERROR };
			int pass;

			s->run(fd, &o);
			if (ats.enabled && !o.skip) {
				struct ats_state after;

				/* What the IOMMU did with the device's cache. */
				ats_read(names[k], fd, &after);
				append_detail(&o, "; ATS: %llu translation requests, %llu device-IOTLB invalidations",
					      (unsigned long long)(after.translations - ats.translations),
					      (unsigned long long)(after.invalidations - ats.invalidations));
				ats = after;
			}
			test++;
			skipped += !!o.skip;
			pass = o.skip || o.observed == want;
			failed += !pass;
			report(fmt, test, names[k], &cfg, audit_columns[col],
			       s->name, want, &o, pass);
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
	testdev_name names[MAX_DEVICES];
	int n, i;

	n = list_devices(names, MAX_DEVICES);
	if (!n)
		die(NO_DEVICE);
	for (i = 0; i < n; i++) {
		struct testdev_info inf;
		struct testdev_rogue r;
		struct iommu_cfg cfg;
		int fd = open_dev(names[i]), ret;

		ret = dev_info(fd, &inf);
		if (!ret)
			ret = dev_rogue(fd, &r);
		if (ret)
			die("%s: %s", names[i], strerror(-ret));
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
	struct testdev_info inf;
	struct testdev_addr a[2];
	struct testdev_copy c;
	uint32_t mode[2];
	uint64_t raw[2] = { 0 };
	int fd, i, ret, fill = TESTDEV_SRC_FILL;
	const char *dev;
	struct buf b[2];
	uint64_t size, max;

	if (argc >= 2 && !strcmp(argv[0], "--fill")) {
		fill = parse_u64("BYTE", argv[1]);
		if (fill > 0xff || fill == TESTDEV_DST_FILL)
			die("BYTE must be 0 to 0xff, but not 0x%x (the destination's)",
			    TESTDEV_DST_FILL);
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
	ret = dev_info(fd, &inf);
	if (ret)
		die("copy: %s", strerror(-ret));
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
		buf_fill(fd, &b[i], 0, i ? TESTDEV_DST_FILL : fill, size);
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
	       buf_holds(fd, &b[1], 0, TESTDEV_DST_FILL, size) ? "untouched" :
	       "changed");
	close(fd);
	return c.result == TESTDEV_RESULT_OK ? 0 : 1;
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

static uint64_t random_canary(void)
{
	uint64_t v = 0;

	/* Never 0 (reads nothing), and unknown to anything but the device. */
	while (!v)
		if (syscall(SYS_getrandom, &v, sizeof(v), 0) != sizeof(v))
			die("getrandom: %s", strerror(errno));
	return v;
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

	buf_write(fd, b, 0, (const void *)word, sizeof(word));
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
	testdev_name names[MAX_DEVICES];
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
	n = list_devices(names, MAX_DEVICES);
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
	buf_unmap(fd, &stream);
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

/* The pct-th percentile of n values (sorting them). */
static uint64_t percentile(uint64_t *v, int n, int pct)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(n - 1) * pct / 100];
}

static void bench_print(const char *kind, uint64_t size, int n,
			struct bench_phases *p)
{
	uint64_t med;

	med = percentile(p->total, n, 50);
	printf("{\"kind\": \"%s\", \"size\": %llu, \"copies\": %d, \"median_ns\": %llu, \"p10_ns\": %llu, \"p90_ns\": %llu, ",
	       kind, (unsigned long long)size, n, (unsigned long long)med,
	       (unsigned long long)percentile(p->total, n, 10),
	       (unsigned long long)percentile(p->total, n, 90));
	printf("\"map_ns\": %llu, \"copy_ns\": %llu, \"unmap_ns\": %llu, \"mb_per_s\": %.1f}\n",
	       (unsigned long long)percentile(p->map, n, 50),
	       (unsigned long long)percentile(p->copy, n, 50),
	       (unsigned long long)percentile(p->unmap, n, 50),
	       med ? size * 1000.0 / med : 0.0);
	fflush(stdout);
}

static int bench(const char *dev)
{
	static const uint64_t sizes[] = { 4096, 65536, 1048576 };
	static struct bench_phases p;
	struct testdev_info info;
	int fd = open_dev(dev), i, r, ret;

	ret = dev_info(fd, &info);
	if (ret)
		die("%s: info: %s", dev, strerror(-ret));
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
		buf_free(fd, &s);
		buf_free(fd, &d);

		for (r = 0; r < BENCH_REPS; r++) {
			bench_pace(sizes[i]);
			ret = stream_copy(fd, sizes[i], &sc);
			if (ret)
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
			       (unsigned long long)sizes[i], strerror(-ret));
		else
			bench_print("streaming", sizes[i], BENCH_REPS, &p);
	}
	close(fd);
	return 0;
}

/*
 * testdevctl soak COUNT [DEV]: COUNT copies of random sizes (1 byte to
 * 64 KiB), offsets and buffer kinds, checking the data of every one:
 * between two coherent buffers, against a copy of the destination kept
 * here (the bytes around the copy must not change either), and through
 * the streaming DMA API (TESTDEV_IOC_STREAM_COPY, which checks its own
 * data). Prints a JSON summary; exits 1 at the first copy that goes wrong.
 */
#define SOAK_BUF	(64 * 1024)

static uint64_t soak_rand(uint64_t *state)
{
	/* xorshift64: reproducible from the seed the summary prints. */
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static int soak(uint64_t count, const char *dev)
{
	static uint8_t shadow[SOAK_BUF], data[SOAK_BUF], got[SOAK_BUF + 32];
	uint64_t seed = random_canary(), state = seed, bytes = 0, i;
	uint64_t coherent = 0, streaming = 0, t0 = now_ns();
	struct testdev_info info;
	struct buf s, d;
	int fd = open_dev(dev), ret;
	uint64_t max;

	ret = dev_info(fd, &info);
	if (ret)
		die("%s: info: %s", dev, strerror(-ret));
	max = info.max_size < SOAK_BUF ? info.max_size : SOAK_BUF;
	if (buf_alloc(fd, &s, TESTDEV_BUF_COHERENT, 0, max, 0) ||
	    buf_alloc(fd, &d, TESTDEV_BUF_COHERENT, 0, max, 0))
		die("%s: coherent buffers of %llu bytes: %s", dev,
		    (unsigned long long)max, strerror(errno));
	memset(shadow, TESTDEV_DST_FILL, max);
	buf_write(fd, &d, 0, shadow, max);

	for (i = 0; i < count; i++) {
		uint64_t r = soak_rand(&state);
		/* Sizes spread over every power of two up to the buffer. */
		uint64_t size = 1 + ((soak_rand(&state) % max) >> (r % 17));
		uint64_t so = soak_rand(&state) % (max - size + 1);
		uint64_t dof = soak_rand(&state) % (max - size + 1);
		uint64_t lo = dof < 16 ? 0 : dof - 16;
		uint64_t hi = dof + size + 16 > max ? max : dof + size + 16;
		struct testdev_stream_copy sc;
		struct testdev_copy c;
		uint64_t k;

		if (r & 0x100000) {
			ret = stream_copy(fd, size, &sc);
			if (ret || !sc.landed || sc.result != TESTDEV_RESULT_OK)
				die("soak copy %llu (seed 0x%llx): streaming, %llu bytes: %s, RESULT %s, data %s",
				    (unsigned long long)i, (unsigned long long)seed,
				    (unsigned long long)size, ret ? strerror(-ret) : "done",
				    result_name(sc.result), sc.landed ? "right" : "wrong");
			streaming++;
		} else {
			for (k = 0; k < size; k++)
				data[k] = soak_rand(&state);
			buf_write(fd, &s, so, data, size);
			ret = do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &s, so),
				      addr_of(TESTDEV_ADDR_DMA, &d, dof), size, &c);
			if (ret || c.result != TESTDEV_RESULT_OK)
				die("soak copy %llu (seed 0x%llx): coherent, %llu bytes: %s, RESULT %s",
				    (unsigned long long)i, (unsigned long long)seed,
				    (unsigned long long)size, ret ? strerror(-ret) : "done",
				    result_name(c.result));
			memcpy(shadow + dof, data, size);
			buf_read(fd, &d, lo, got, hi - lo);
			if (memcmp(got, shadow + lo, hi - lo))
				die("soak copy %llu (seed 0x%llx): coherent, %llu bytes from +%llu to +%llu: the destination does not hold what it should",
				    (unsigned long long)i, (unsigned long long)seed,
				    (unsigned long long)size, (unsigned long long)so,
				    (unsigned long long)dof);
			coherent++;
		}
		bytes += size;
	}
	buf_free(fd, &s);
	buf_free(fd, &d);
	close(fd);
	printf("{\"copies\": %llu, \"coherent\": %llu, \"streaming\": %llu, \"bytes\": %llu, \"seed\": \"0x%llx\", \"seconds\": %.1f}\n",
	       (unsigned long long)count, (unsigned long long)coherent,
	       (unsigned long long)streaming, (unsigned long long)bytes,
	       (unsigned long long)seed, (now_ns() - t0) / 1e9);
	return 0;
}

/*
 * testdevctl fail-alloc [DEV]: every allocation the BUF_ALLOC ioctl makes
 * fails in turn, by the kernel's fault injection (CONFIG_FAULT_INJECTION:
 * failslab and fail_page_alloc, set to fail sleeping and order-0
 * allocations too). /proc/thread-self/fail-nth = N fails the Nth
 * allocation this thread makes from then on: N walks forward from 1 until
 * the ioctl makes fewer than N. Each failure must end the ioctl with
 * ENOMEM and leave nothing behind (or be absorbed: the buffer is whole and
 * copies), and a normal allocation must work after it. KTAP, a test per
 * kind of buffer, and "# fail-alloc: N failure points" (those whose
 * failure made the ioctl fail).
 */
static int fail_alloc(const char *dev)
{
	static const struct {
		const char *name;
		uint32_t kind, dir;
		uint64_t size;
	} kinds[] = {
		{ "coherent-4096", TESTDEV_BUF_COHERENT, 0, 4096 },
		{ "coherent-65536", TESTDEV_BUF_COHERENT, 0, 65536 },
		{ "streaming-4096", TESTDEV_BUF_STREAMING, TESTDEV_DIR_TO_DEVICE, 4096 },
		{ "unmapped-64", TESTDEV_BUF_UNMAPPED, 0, 64 },
	};
	int fd = open_dev(dev), nth, total = 0, bad_kinds = 0;
	unsigned int i;
	char left[16];
	struct buf b;

	nth = open("/proc/thread-self/fail-nth", O_RDWR);
	if (nth < 0)
		die("/proc/thread-self/fail-nth: %s (needs CONFIG_FAULT_INJECTION)",
		    strerror(errno));
	printf("KTAP version 1\n1..%zu\n", sizeof(kinds) / sizeof(kinds[0]));
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int n, failed = 0, absorbed = 0, bad = 0, ret, err;
		ssize_t len;
		char why[160] = "";

		for (n = 1; n < 10000; n++) {
			len = snprintf(left, sizeof(left), "%d", n);
			if (pwrite(nth, left, len, 0) != len)
				die("fail-nth: %s", strerror(errno));
			ret = buf_alloc(fd, &b, kinds[i].kind, kinds[i].dir,
					kinds[i].size, 0);
			/* What is left of the count: 0 once a failure was made. */
			len = pread(nth, left, sizeof(left) - 1, 0);
			left[len > 0 ? len : 0] = '\0';
			if (pwrite(nth, "0", 1, 0) != 1)
				die("fail-nth: %s", strerror(errno));
			if (atoi(left) > 0) {
				/* Fewer than n allocations: the walk is over. */
				if (ret)
					snprintf(why, sizeof(why),
						 "without a failure: %s", strerror(-ret));
				else
					buf_free(fd, &b);
				break;
			}
			if (!ret) {
				absorbed++;
				buf_free(fd, &b);
			} else {
				err = -ret;
				failed++;
				if (err != ENOMEM && !bad++)
					snprintf(why, sizeof(why),
						 "failure %d: %s, want ENOMEM",
						 n, strerror(err));
			}
			/* And a normal allocation works after it. */
			ret = buf_alloc(fd, &b, kinds[i].kind, kinds[i].dir,
					kinds[i].size, 0);
			if (ret) {
				if (!bad++)
					snprintf(why, sizeof(why),
						 "after failure %d: %s", n,
						 strerror(-ret));
				continue;
			}
			buf_free(fd, &b);
		}
		total += failed;
		ret = !bad && !why[0] && failed;
		bad_kinds += !ret;
		printf("%sok %u fail-alloc-%s # %d allocations, %d failures ended the ioctl with ENOMEM, %d absorbed%s%s\n",
		       ret ? "" : "not ", i + 1, kinds[i].name, n - 1, failed,
		       absorbed, why[0] ? "; " : "", why);
	}
	printf("# fail-alloc: %d failure points\n", total);
	close(nth);
	close(fd);
	return bad_kinds ? 1 : 0;
}

/*
 * testdevctl fail-bind BDF N: bind testdev_driver to the device with the
 * Nth allocation on the way failing (/proc/thread-self/fail-nth, as in
 * fail-alloc; the files are open before, so that only the bind counts).
 * Prints "fault made" or "fault not reached" (the bind made fewer than N
 * allocations), then "bind: 0" or "bind: -ERRNO NAME".
 */
static int fail_bind(const char *bdf, const char *n)
{
	const char *path = "/sys/bus/pci/drivers/testdev_driver/bind";
	int nth, bind, err = 0;
	char left[16];
	ssize_t len;

	if (parse_u64("N", n) < 1)
		die("N must be 1 or more");
	nth = open("/proc/thread-self/fail-nth", O_RDWR);
	if (nth < 0)
		die("/proc/thread-self/fail-nth: %s (needs CONFIG_FAULT_INJECTION)",
		    strerror(errno));
	bind = open(path, O_WRONLY);
	if (bind < 0)
		die("%s: %s", path, strerror(errno));
	if (pwrite(nth, n, strlen(n), 0) != (ssize_t)strlen(n))
		die("fail-nth: %s", strerror(errno));
	if (write(bind, bdf, strlen(bdf)) < 0)
		err = errno;
	len = pread(nth, left, sizeof(left) - 1, 0);
	left[len > 0 ? len : 0] = '\0';
	if (pwrite(nth, "0", 1, 0) != 1)
		die("fail-nth: %s", strerror(errno));
	printf("fault %s; bind: %d%s%s\n",
	       atoi(left) > 0 ? "not reached" : "made", -err,
	       err ? " " : "", err ? strerror(err) : "");
	close(bind);
	close(nth);
	return 0;
}

static const char usage_line[] =
"usage: testdevctl info | copy [--fill BYTE] SRC DST SIZE [DEV] |\n"
"                  audit [--config NAME] [--ktap|--json] | audit --legend |\n"
"                  ring BDF | aer-inject BDF nonfatal|fatal | scan BDF | exposure [DEV] |\n"
"                  bench [DEV] | soak COUNT [DEV] | fail-alloc [DEV] | fail-bind BDF N |\n"
"                  --help\n";

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
"  audit [--config NAME] [--ktap|--json]\n"
"                    the DMA protection scenarios on every device: expected,\n"
"                    observed and verdict, then what the words mean; expected\n"
"                    is configuration NAME's column of tests/audit-expected.txt\n"
"                    (built in), or without NAME, or one the table has no\n"
"                    column for, the column the IOMMU domain stands for\n"
"  audit --legend    only what the words mean\n"
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
"  fail-alloc [DEV]  fail each allocation of the buffer ioctl in turn, by\n"
"                    the kernel's fault injection (a debug kernel: make\n"
"                    check-debug); KTAP\n"
"  fail-bind BDF N   bind the driver to the device with the Nth allocation on\n"
"                    the way failing (fault injection, as fail-alloc)\n"
"  soak COUNT [DEV]  COUNT copies of random sizes, offsets and buffer kinds,\n"
"                    the data of every one checked; a JSON summary\n"
"  bench [DEV]       per-copy time at 4 KiB, 64 KiB and 1 MiB, coherent buffers\n"
"                    mapped once and streaming ones mapped around each copy:\n"
"                    median and spread, as JSON lines\n"
"  --help            this\n"
"\n"
"exit status:\n"
"  0  done: the copy landed (RESULT ok), every verdict passed\n"
"  1  the copy did not land (a fault), or a verdict failed\n"
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
	if (argc == 3 && !strcmp(argv[1], "ring"))
		return ring(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "aer-inject"))
		return aer_inject(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "scan"))
		return scan_cmd(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "fail-bind"))
		return fail_bind(argv[2], argv[3]);
	if (argc >= 2 && !strcmp(argv[1], "fail-alloc"))
		return fail_alloc(argc > 2 ? argv[2] : "pcie-testdev0");
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "soak"))
		return soak(parse_u64("COUNT", argv[2]),
			    argc > 3 ? argv[3] : "pcie-testdev0");
	if (argc >= 2 && !strcmp(argv[1], "bench"))
		return bench(argc > 2 ? argv[2] : "pcie-testdev0");
	if (argc >= 2 && !strcmp(argv[1], "exposure"))
		return exposure(argc > 2 ? argv[2] : "pcie-testdev0");
	if (argc == 3 && !strcmp(argv[1], "audit") &&
	    !strcmp(argv[2], "--legend")) {
		fputs(audit_legend, stdout);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "audit")) {
		const char *config = NULL;
		enum format fmt = TABLE;
		int i;

		for (i = 2; i < argc; i++) {
			if (!strcmp(argv[i], "--config") && i + 1 < argc)
				config = argv[++i];
			else if (!strcmp(argv[i], "--ktap") && fmt == TABLE)
				fmt = KTAP;
			else if (!strcmp(argv[i], "--json") && fmt == TABLE)
				fmt = JSON;
			else
				break;
		}
		if (i == argc)
			return audit(fmt, config);
	}
	fprintf(stderr, "%stestdevctl --help: what each command does, and the exit codes\n",
		usage_line);
	return 2;
}
