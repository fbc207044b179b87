// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the driver must keep to:
 *
 *   dma: the DMA API's rules (swiotlb=force shows the bounce buffers): a
 *     copy may not write past a partial mapping, buffer I/O syncs, small
 *     buffers own their cache lines, a MAX_SIZE coherent allocation fails
 *     cleanly, root sees physical addresses, a scan keeps bus mastering
 *     off where a user turned it off.
 *   unprivileged: a user (uid 1000, no capabilities, the node made
 *     world-writable) copies by DMA handles, which it sees only where an
 *     IOMMU translates them, and may name no memory by address; and what
 *     such users may pin over many open files: streaming mappings and
 *     memory, each up to the device's budget (-ENOSPC past it), while root
 *     still allocates.
 *   user_fault: unbinding the driver while an ioctl waits for user memory
 *     (a userfaultfd page, as a FUSE-backed mapping would be) does not wait
 *     for it; the ioctl gets -ENODEV; the driver binds again.
 *
 *   testdev_driver_test [DEV]       DEV: pcie-testdev0 unless given
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../../tools/lib/testdev.h"

static const char *dev = "pcie-testdev0";

#define USER	1000		/* the unprivileged user's uid and gid */

/* The device node's mode. */
static void node_mode(mode_t mode)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/%s", dev);
	if (chmod(path, mode))
		die("chmod %s: %s", path, strerror(errno));
}

/*
 * The rest of the test runs as USER, in a child: 1 there; 0 in the
 * parent, which has waited for it and checked how it ended.
 */
static int as_user(struct __test_metadata *_metadata)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		if (setgid(USER) || setuid(USER))
			die("setuid: %s", strerror(errno));
		return 1;
	}
	status = wait_child(pid);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("as uid %d the test failed", USER);
	return 0;
}

#define AS_USER() do { if (!as_user(_metadata)) return; } while (0)

/* A coherent source page that holds TESTDEV_SRC_FILL. */
FIXTURE(dma) {
	int fd;
	struct testdev_info inf;
	struct buf s;
};

FIXTURE_SETUP(dma)
{
	self->fd = open_dev(dev);
	ASSERT_EQ(0, dev_info(self->fd, &self->inf));
	ASSERT_EQ(0, buf_alloc(self->fd, &self->s, TESTDEV_BUF_COHERENT, 0,
			       PAGE, 0));
	buf_fill(self->fd, &self->s, 0, TESTDEV_SRC_FILL, PAGE);
}

FIXTURE_TEARDOWN(dma)
{
	close(self->fd);
}

/* A partly mapped buffer: the device may not write past the map. */
TEST_F(dma, copy_into_unmapped_part)
{
	struct testdev_copy c;
	struct buf a;
	int ret;

	ASSERT_EQ(0, buf_alloc(self->fd, &a, TESTDEV_BUF_STREAMING,
			       TESTDEV_DIR_FROM_DEVICE, PAGE, 64));
	ret = do_copy(self->fd, addr_of(TESTDEV_ADDR_DMA, &self->s, 0),
		      addr_of(TESTDEV_ADDR_DMA, &a, 0), PAGE, &c);
	ASSERT_EQ(-EINVAL, ret) TH_LOG("errno %s", strerror(-ret));
}

TEST_F(dma, copy_into_mapped_part)
{
	struct buf a;

	ASSERT_EQ(0, buf_alloc(self->fd, &a, TESTDEV_BUF_STREAMING,
			       TESTDEV_DIR_FROM_DEVICE, PAGE, 64));
	ASSERT_TRUE(copy_landed(self->fd,
				addr_of(TESTDEV_ADDR_DMA, &self->s, 0),
				addr_of(TESTDEV_ADDR_DMA, &a, 0), &a,
				TESTDEV_SRC_FILL, 64))
		TH_LOG("64 bytes at handle 0x%llx", (unsigned long long)a.dma);
}

/*
 * Buffer I/O follows DMA-API ownership: a copy into a streaming buffer
 * named by its bus address (so no copy ioctl syncs it) is seen by a read,
 * and a write is seen by the device.
 */
TEST_F(dma, read_sees_device_write)
{
	struct buf a;

	ASSERT_EQ(0, buf_alloc(self->fd, &a, TESTDEV_BUF_STREAMING,
			       TESTDEV_DIR_BIDIRECTIONAL, PAGE, 0));
	buf_fill(self->fd, &a, 0, TESTDEV_DST_FILL, PAGE);
	ASSERT_TRUE(copy_landed(self->fd,
				addr_of(TESTDEV_ADDR_DMA, &self->s, 0),
				addr_of(TESTDEV_ADDR_RAW, NULL, a.dma), &a,
				TESTDEV_SRC_FILL, PAGE))
		TH_LOG("into handle 0x%llx", (unsigned long long)a.dma);
}

TEST_F(dma, device_sees_write)
{
	struct buf a, d;

	ASSERT_EQ(0, buf_alloc(self->fd, &a, TESTDEV_BUF_STREAMING,
			       TESTDEV_DIR_BIDIRECTIONAL, PAGE, 0));
	ASSERT_EQ(0, buf_alloc(self->fd, &d, TESTDEV_BUF_COHERENT, 0, PAGE, 0));
	buf_fill(self->fd, &a, 0, 0x77, PAGE);
	buf_fill(self->fd, &d, 0, TESTDEV_DST_FILL, PAGE);
	ASSERT_TRUE(copy_landed(self->fd, addr_of(TESTDEV_ADDR_RAW, NULL, a.dma),
				addr_of(TESTDEV_ADDR_DMA, &d, 0), &d, 0x77,
				PAGE))
		TH_LOG("from handle 0x%llx", (unsigned long long)a.dma);
}

/* Small streaming buffers must not share a cache line. */
TEST_F(dma, small_buffers_own_their_cache_lines)
{
	struct buf many[8];
	int i, j, shared = 0;

	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, buf_alloc(self->fd, &many[i], TESTDEV_BUF_STREAMING,
				       TESTDEV_DIR_FROM_DEVICE, 1, 0));
	for (i = 0; i < 8; i++)
		for (j = i + 1; j < 8; j++)
			shared += many[i].phys / 64 == many[j].phys / 64;
	ASSERT_EQ(0, shared)
		TH_LOG("%d pairs of 1-byte buffers share a 64-byte line (0x%llx, 0x%llx, ...)",
		       shared, (unsigned long long)many[0].phys,
		       (unsigned long long)many[1].phys);
}

/* The largest coherent buffer the device allows: clean answers. */
TEST_F(dma, alloc_max_size)
{
	struct buf a;
	int ret = buf_alloc(self->fd, &a, TESTDEV_BUF_COHERENT, 0,
			    self->inf.max_size, 0);

	ASSERT_TRUE(!ret || ret == -ENOMEM || ret == -EINVAL)
		TH_LOG("%llu bytes: %s", (unsigned long long)self->inf.max_size,
		       strerror(-ret));
}

TEST_F(dma, alloc_small_coherent)
{
	uint64_t size = self->inf.max_size < 2 * PAGE ? self->inf.max_size :
			2 * PAGE;
	struct buf a;
	int ret = buf_alloc(self->fd, &a, TESTDEV_BUF_COHERENT, 0, size, 0);

	ASSERT_EQ(0, ret) TH_LOG("%s", strerror(-ret));
}

TEST_F(dma, root_gets_phys)
{
	ASSERT_NE(0, self->s.phys);
}

/*
 * A scan turns the device's bus mastering on, as a rogue device would;
 * where a user turned it off, no copy may land after.
 */
TEST_F(dma, scan_keeps_master_off)
{
	struct scan_result r;
	struct buf d;
	int ret, landed;

	ASSERT_EQ(0, buf_alloc(self->fd, &d, TESTDEV_BUF_COHERENT, 0, PAGE, 0));
	buf_fill(self->fd, &d, 0, TESTDEV_DST_FILL, PAGE);
	set_master(self->fd, 0);
	ret = scan_dev(self->fd, 0, 16, 0, &r);
	landed = copy_landed(self->fd, addr_of(TESTDEV_ADDR_DMA, &self->s, 0),
			     addr_of(TESTDEV_ADDR_DMA, &d, 0), &d,
			     TESTDEV_SRC_FILL, 64);
	set_master(self->fd, 1);
	/* The original device (x-original) has no scan: EOPNOTSUPP. */
	ASSERT_TRUE(!ret || ret == -EOPNOTSUPP) TH_LOG("scan: %s", strerror(-ret));
	ASSERT_FALSE(landed) TH_LOG("a copy after the scan landed");
}

/*
 * The largest streaming copy: it lands, or, where the DMA API cannot map
 * that much at once (swiotlb maps 256 KiB), gets E2BIG up front (it was
 * ENOMEM from a failed mapping, with a swiotlb warning).
 */
TEST_F(dma, stream_copy_max_size)
{
	struct testdev_stream_copy sc;
	uint64_t size = self->inf.max_size < 4 << 20 ? self->inf.max_size :
			4 << 20;
	int ret = stream_copy(self->fd, size, &sc);

	if (ret) {
		ASSERT_EQ(-E2BIG, ret) TH_LOG("%llu bytes: %s",
					      (unsigned long long)size,
					      strerror(-ret));
	} else {
		ASSERT_TRUE(sc.landed && sc.result == TESTDEV_RESULT_OK)
			TH_LOG("%llu bytes did not land", (unsigned long long)size);
	}
}

/* Slots of the swiotlb pool in use (debugfs), or -1 where none. */
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

#define STREAM_HOGS	16
#define STREAM_HOG_SIZE	(256 << 10)	/* the most swiotlb maps at once */

/*
 * Under swiotlb=force, STREAM_HOGS callers of STREAM_COPY at once: only
 * one may hold its two bounce mappings (2 x 128 slots of 2 KiB) while the
 * others wait for the device; each used to hold its own, up to half the
 * pool.
 */
TEST_F(dma, stream_copies_take_turns_in_swiotlb)
{
	char cmdline[1024] = "";
	pid_t pids[STREAM_HOGS];
	long used, peak = -1;
	int i, fd, st;
	time_t end;

	fd = open("/proc/cmdline", O_RDONLY);
	if (fd >= 0) {
		if (read(fd, cmdline, sizeof(cmdline) - 1) < 0)
			cmdline[0] = 0;
		close(fd);
	}
	if (!strstr(cmdline, "swiotlb=force") ||
	    self->inf.max_size < STREAM_HOG_SIZE)
		SKIP(return, "no swiotlb=force, or MAX_SIZE below 256 KiB");
	for (i = 0; i < STREAM_HOGS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i]) {
			struct testdev_stream_copy sc;
			int hog = open_dev(dev);

			end = time(NULL) + 3;
			while (time(NULL) < end)
				if (stream_copy(hog, STREAM_HOG_SIZE, &sc))
					_exit(1);
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
	ASSERT_TRUE(peak >= 0 && peak <= 2 * 128 + 128)
		TH_LOG("%d callers of 256 KiB copies: at most %ld swiotlb slots in use (one copy's 256 and others' 128 allowed)",
		       STREAM_HOGS, peak);
}

/* The node opened to everyone for the test; an unprivileged user's buffers. */
FIXTURE(unprivileged) {
	struct iommu_cfg cfg;
};

FIXTURE_SETUP(unprivileged)
{
	detect_iommu(dev, &self->cfg);
	node_mode(0666);
}

/* (As USER, the chmod fails: the parent, root, puts the mode back.) */
FIXTURE_TEARDOWN(unprivileged)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/%s", dev);
	chmod(path, 0600);
}

/* The device opened, and two coherent buffers of a page in it. */
static int open_pair(struct buf *s, struct buf *d)
{
	int fd = open_dev(dev);

	alloc_pair(fd, s, TESTDEV_BUF_COHERENT, 0, 0,
		   d, TESTDEV_BUF_COHERENT, 0);
	return fd;
}

/*
 * The device opened, a streaming buffer of a page of which the device may
 * read only the first 64 bytes, and a coherent one.
 */
static int open_partial_pair(struct buf *t, struct buf *d)
{
	int fd = open_dev(dev);

	alloc_pair(fd, t, TESTDEV_BUF_STREAMING, TESTDEV_DIR_TO_DEVICE, 64,
		   d, TESTDEV_BUF_COHERENT, 0);
	return fd;
}

/* Untranslated, a handle is a physical address: hidden. */
TEST_F(unprivileged, no_address)
{
	struct testdev_copy c;
	struct buf s, d;
	int fd, ret;

	AS_USER();
	fd = open_pair(&s, &d);
	ret = do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &s, 0),
		      addr_of(TESTDEV_ADDR_DMA, &d, 0), 64, &c);
	ASSERT_EQ(0, ret) TH_LOG("copy: %s", strerror(-ret));
	ASSERT_TRUE(!s.phys &&
		    (self->cfg.translated ?
		     s.dma && c.src_bus == s.dma && c.dst_bus == d.dma :
		     !s.dma && !d.dma && !c.src_bus && !c.dst_bus))
		TH_LOG("domain %s: alloc gave handle 0x%llx and physical address 0x%llx, copy bus addresses 0x%llx 0x%llx",
		       self->cfg.domain, (unsigned long long)s.dma,
		       (unsigned long long)s.phys,
		       (unsigned long long)c.src_bus,
		       (unsigned long long)c.dst_bus);
}

TEST_F(unprivileged, copy_by_dma_handles)
{
	struct buf s, d;
	int fd;

	AS_USER();
	fd = open_pair(&s, &d);
	ASSERT_TRUE(copy_page_lands(fd, &s, &d));
}

TEST_F(unprivileged, copy_phys)
{
	struct testdev_copy c;
	struct buf s, d;
	int fd, ret;

	AS_USER();
	fd = open_pair(&s, &d);
	ret = do_copy(fd, addr_of(TESTDEV_ADDR_PHYS, &s, 0),
		      addr_of(TESTDEV_ADDR_DMA, &d, 0), PAGE, &c);
	ASSERT_EQ(-EPERM, ret) TH_LOG("errno %s", strerror(-ret));
}

TEST_F(unprivileged, copy_raw)
{
	struct testdev_copy c;
	struct buf d;
	int fd, ret;

	AS_USER();
	fd = open_dev(dev);
	ASSERT_EQ(0, buf_alloc(fd, &d, TESTDEV_BUF_COHERENT, 0, PAGE, 0));
	ret = do_copy(fd, addr_of(TESTDEV_ADDR_RAW, NULL, NEVER_MAPPED),
		      addr_of(TESTDEV_ADDR_DMA, &d, 0), 64, &c);
	ASSERT_EQ(-EPERM, ret) TH_LOG("errno %s", strerror(-ret));
}

TEST_F(unprivileged, read_past_mapped)
{
	struct testdev_copy c;
	struct buf t, d;
	int fd, ret;

	AS_USER();
	fd = open_partial_pair(&t, &d);
	ret = do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &t, 0),
		      addr_of(TESTDEV_ADDR_DMA, &d, 0), PAGE, &c);
	ASSERT_EQ(-EPERM, ret) TH_LOG("errno %s", strerror(-ret));
}

TEST_F(unprivileged, copy_stale_handle)
{
	struct testdev_copy c;
	struct buf t, d;
	int fd, ret;

	AS_USER();
	fd = open_partial_pair(&t, &d);
	buf_unmap(fd, &t);
	ret = do_copy(fd, addr_of(TESTDEV_ADDR_DMA, &t, 0),
		      addr_of(TESTDEV_ADDR_DMA, &d, 0), 64, &c);
	ASSERT_EQ(-EPERM, ret) TH_LOG("errno %s", strerror(-ret));
}

#define HOG_MAPPINGS	2048	/* 8 MiB: far past the default budget */
#define HOG_MIB		96	/* 1 MiB coherent buffers, past 64 MiB */

/*
 * Allocate buffers of one kind over new open files until one allocation
 * fails or max are held; the files stay open. Returns that errno or 0.
 */
static int hog(uint32_t kind, uint64_t size, int max, int *n, int *files)
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

/* Under swiotlb, streaming mappings are bounce slots every device shares. */
TEST_F(unprivileged, mappings_bounded)
{
	int n, files, err;

	AS_USER();
	err = hog(TESTDEV_BUF_STREAMING, PAGE, HOG_MAPPINGS, &n, &files);
	ASSERT_EQ(ENOSPC, err)
		TH_LOG("%d one-page streaming mappings over %d files, then %s",
		       n, files, err ? strerror(err) : "none refused");
}

TEST_F(unprivileged, memory_bounded)
{
	int n, files, err;

	AS_USER();
	err = hog(TESTDEV_BUF_COHERENT, 1 << 20, HOG_MIB, &n, &files);
	ASSERT_EQ(ENOSPC, err)
		TH_LOG("%d MiB of coherent buffers over %d files, then %s",
		       n, files, err ? strerror(err) : "none refused");
}

/* A user holds all it may; root still allocates. */
TEST_F(unprivileged, root_allocates_while_they_hold)
{
	int held[2], done[2], n, files, ret1, ret2, fd;
	struct buf a, b;
	char byte = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(held));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(held[0]);
		close(done[1]);
		if (setgid(USER) || setuid(USER))
			_exit(2);
		hog(TESTDEV_BUF_STREAMING, PAGE, HOG_MAPPINGS, &n, &files);
		hog(TESTDEV_BUF_COHERENT, 1 << 20, HOG_MIB, &n, &files);
		/* Hold it all while root allocates. */
		if (write(held[1], &byte, 1) != 1 || read(done[0], &byte, 1) < 0)
			_exit(2);
		_exit(0);
	}
	close(held[1]);
	close(done[0]);
	if (read(held[0], &byte, 1) != 1)
		byte = 1;	/* the child died */
	fd = open_dev(dev);
	ret1 = buf_alloc(fd, &a, TESTDEV_BUF_STREAMING, TESTDEV_DIR_TO_DEVICE,
			 PAGE, 0);
	ret2 = buf_alloc(fd, &b, TESTDEV_BUF_COHERENT, 0, PAGE, 0);
	close(fd);
	if (write(done[1], &byte, 1) != 1)
		byte = 1;
	close(held[0]);
	close(done[1]);
	wait_child(pid);
	ASSERT_EQ(0, byte) TH_LOG("the user's process died");
	ASSERT_TRUE(!ret1 && !ret2) TH_LOG("streaming: %s, coherent: %s",
					   strerror(-ret1), strerror(-ret2));
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

/* The driver unbound while a buffer write waits on a userfaultfd page. */
FIXTURE(user_fault) {
	char bdf[64];
	int unbind;		/* 0 or -errno */
	uint64_t unbind_ms;
	int err;		/* the waiting ioctl's errno */
	bool bound;
};

FIXTURE_SETUP(user_fault)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	pthread_t writer, server;
	struct uffd_job j = { 0 };
	struct buf b;
	uint64_t t;

	dev_bdf(dev, self->bdf, sizeof(self->bdf));
	j.fd = open_dev(dev);
	ASSERT_EQ(0, buf_alloc(j.fd, &b, TESTDEV_BUF_COHERENT, 0, PAGE, 0));
	j.b = &b;
	j.uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	j.page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	reg.range.start = (uintptr_t)j.page;
	reg.range.len = PAGE;
	ASSERT_TRUE(j.uffd >= 0 && j.page != MAP_FAILED &&
		    !ioctl(j.uffd, UFFDIO_API, &api) &&
		    !ioctl(j.uffd, UFFDIO_REGISTER, &reg))
		TH_LOG("userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, pthread_create(&server, NULL, uffd_server, &j));
	ASSERT_EQ(0, pthread_create(&writer, NULL, uffd_writer, &j));
	sleep_ms(300);
	t = now_ns();
	self->unbind = sysfs_write("/sys/bus/pci/drivers/testdev_driver/unbind",
				   self->bdf);
	self->unbind_ms = (now_ns() - t) / 1000000;
	pthread_join(writer, NULL);
	pthread_join(server, NULL);
	self->err = j.err;
	close(j.fd);
	close(j.uffd);
}

/* Bind the driver again: 0 or -errno, once the node is there. */
static int bind_again(const char *bdf)
{
	char path[64];
	int ret, i;

	ret = sysfs_write("/sys/bus/pci/drivers/testdev_driver/bind", bdf);
	snprintf(path, sizeof(path), "/dev/%s", dev);
	for (i = 0; i < 30 && access(path, F_OK); i++)
		sleep_ms(100);
	return ret ?: access(path, F_OK) ? -errno : 0;
}

FIXTURE_TEARDOWN(user_fault)
{
	if (!self->bound)
		bind_again(self->bdf);
}

TEST_F(user_fault, unbind_while_ioctl_waits_for_user_memory)
{
	ASSERT_EQ(0, self->unbind) TH_LOG("unbind: %s", strerror(-self->unbind));
	ASSERT_LT(self->unbind_ms, 1000)
		TH_LOG("unbind took %llu ms", (unsigned long long)self->unbind_ms);
}

TEST_F(user_fault, that_ioctl_then_gets_ENODEV)
{
	ASSERT_EQ(ENODEV, self->err) TH_LOG("errno %s", strerror(self->err));
}

TEST_F(user_fault, bind_again)
{
	int ret = bind_again(self->bdf);

	self->bound = true;
	ASSERT_EQ(0, ret) TH_LOG("bind: %s", strerror(-ret));
}

int main(int argc, char **argv)
{
	if (argc > 1)
		dev = argv[1];
	return test_harness_run(argc, argv);
}
