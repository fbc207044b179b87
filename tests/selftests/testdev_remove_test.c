// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Removal under an open file. The device needs busy_delay_ms of about
 * 2000, so that a copy is still pending when a test acts on it.
 *
 *   killed: a process waiting for a copy is killed: it dies at once; the
 *     next copy gets -EBUSY until the device is idle, then lands.
 *   detach.unbind, detach.remove: with a copy pending on an open file with
 *     buffers allocated, the driver is unbound (sysfs unbind) or the device
 *     removed as by hot unplug (sysfs remove): that returns at once, the
 *     pending copy and later ioctls get -ENODEV; after bind or a bus
 *     rescan the device copies again.
 *
 * Each test sets its scenario up afresh and checks one step of it.
 *
 *   testdev_remove_test [DEV]       DEV: pcie-testdev0 unless given
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../../tools/lib/testdev.h"

static const char *dev = "pcie-testdev0";

/*
 * Start a page copy s -> d in a child, and return its pid once the copy
 * has had 200 ms to reach the device. The child exits with the copy's
 * errno.
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

/* 1 while the child runs, that is while its copy is pending. */
static int child_running(pid_t pid)
{
	int status;

	return waitpid(pid, &status, WNOHANG) == 0;
}

/* Bus mastering back on, once the device is idle: 0 or -errno. */
static int master_when_idle(int fd, int *waited_ms)
{
	struct testdev_master m = { .argsz = sizeof(m), .enable = 1 };
	int i;

	for (i = 0; i < 50; i++) {
		if (!ioctl(fd, TESTDEV_IOC_SET_MASTER, &m))
			break;
		sleep_ms(100);
	}
	*waited_ms = i * 100;
	return i < 50 ? 0 : -EBUSY;
}

/* A copier killed while its copy is pending. */
FIXTURE(killed) {
	int fd;
	struct buf s, d;
	int running, status;	/* before the kill; the copier's end */
	uint64_t died_ms;
};

FIXTURE_SETUP(killed)
{
	uint64_t t;
	pid_t pid;

	self->fd = open_dev(dev);
	alloc_pair(self->fd, &self->s, TESTDEV_BUF_COHERENT, 0, 0,
		   &self->d, TESTDEV_BUF_COHERENT, 0);
	pid = copy_in_child(self->fd, &self->s, &self->d);
	self->running = child_running(pid);
	t = now_ns();
	kill(pid, SIGKILL);
	self->status = wait_child(pid);
	self->died_ms = (now_ns() - t) / 1000000;
}

/* The next test finds the device idle and bus mastering on. */
FIXTURE_TEARDOWN(killed)
{
	int waited;

	master_when_idle(self->fd, &waited);
	close(self->fd);
}

TEST_F(killed, kill_pending_copy)
{
	ASSERT_TRUE(self->running) TH_LOG("the copier had exited before the kill");
	ASSERT_TRUE(WIFSIGNALED(self->status));
	ASSERT_LT(self->died_ms, 1000) TH_LOG("it died in %llu ms",
					      (unsigned long long)self->died_ms);
}

TEST_F(killed, copy_while_killed_copy_pends)
{
	struct testdev_copy c;
	int ret = do_copy(self->fd, addr_of(TESTDEV_ADDR_DMA, &self->s, 0),
			  addr_of(TESTDEV_ADDR_DMA, &self->d, 0), PAGE, &c);

	ASSERT_EQ(-EBUSY, ret) TH_LOG("errno %s", strerror(-ret));
}

/* Bus mastering comes back only once the device is idle; then copies land. */
TEST_F(killed, copy_after_killed_copy_ended)
{
	int waited;

	ASSERT_EQ(0, master_when_idle(self->fd, &waited));
	ASSERT_TRUE(copy_page_lands(self->fd, &self->s, &self->d))
		TH_LOG("after %d ms", waited);
}

/* The device goes away with a copy pending and buffers allocated. */
FIXTURE(detach) {
	int fd;
	struct buf s, d;
	char bdf[64], path[256];
	pid_t copier;		/* 0 once reaped */
	int running, detached;	/* the copier before the detach; its 0 or -errno */
	uint64_t detach_ms;
	bool attached;
};

FIXTURE_VARIANT(detach) {
	const char *detach, *detach_arg, *attach, *attach_arg;
};

FIXTURE_VARIANT_ADD(detach, unbind) {
	.detach = "/sys/bus/pci/drivers/testdev_driver/unbind",
	.attach = "/sys/bus/pci/drivers/testdev_driver/bind",
};

FIXTURE_VARIANT_ADD(detach, remove) {
	.detach = "/sys/bus/pci/devices/%s/remove", .detach_arg = "1",
	.attach = "/sys/bus/pci/rescan", .attach_arg = "1",
};

FIXTURE_SETUP(detach)
{
	uint64_t t;

	dev_bdf(dev, self->bdf, sizeof(self->bdf));
	snprintf(self->path, sizeof(self->path), variant->detach, self->bdf);
	self->fd = open_dev(dev);
	alloc_pair(self->fd, &self->s, TESTDEV_BUF_COHERENT, 0, 0,
		   &self->d, TESTDEV_BUF_COHERENT, 0);
	self->copier = copy_in_child(self->fd, &self->s, &self->d);
	self->running = child_running(self->copier);
	t = now_ns();
	self->detached = sysfs_write(self->path,
				     variant->detach_arg ?: self->bdf);
	self->detach_ms = (now_ns() - t) / 1000000;
	self->attached = false;
}

/* Bring the device back: 0 or -errno, once its node is there again. */
static int attach(const FIXTURE_VARIANT(detach) *variant, const char *bdf)
{
	char node[64];
	int ret, i;

	ret = sysfs_write(variant->attach, variant->attach_arg ?: bdf);
	snprintf(node, sizeof(node), "/dev/%s", dev);
	for (i = 0; i < 30 && access(node, F_OK); i++)
		sleep_ms(100);
	return ret;
}

FIXTURE_TEARDOWN(detach)
{
	if (self->copier)
		wait_child(self->copier);
	/* release() cannot fail: rmmod and dmesg tell how it went. */
	if (self->fd >= 0)
		close(self->fd);
	if (!self->attached)
		attach(variant, self->bdf);
}

TEST_F(detach, with_copy_pending)
{
	ASSERT_TRUE(self->running) TH_LOG("the copier had exited before %s",
					  self->path);
	ASSERT_EQ(0, self->detached) TH_LOG("%s: %s", self->path,
					    strerror(-self->detached));
	/*
	 * Removal does not wait for the copy: it returns before the copy
	 * (busy_delay_ms=2000, 200 ms of it gone) would end. A stock kernel
	 * takes well under 1 s; a debug kernel (make check-debug) up to 1.3 s.
	 */
	ASSERT_LT(self->detach_ms, 1700) TH_LOG("%s took %llu ms", self->path,
						(unsigned long long)self->detach_ms);
}

TEST_F(detach, pending_copy_ends_with_ENODEV)
{
	int status = wait_child(self->copier);

	self->copier = 0;
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("the copier died of a signal");
	ASSERT_EQ(ENODEV, WEXITSTATUS(status))
		TH_LOG("the copier exited with %s",
		       strerror(WEXITSTATUS(status)));
}

TEST_F(detach, then_ioctl)
{
	struct testdev_info inf;
	int ret = dev_info(self->fd, &inf);

	ASSERT_EQ(-ENODEV, ret) TH_LOG("errno %s", strerror(-ret));
}

TEST_F(detach, then_buffer_free)
{
	struct testdev_buf_ref ref = { .argsz = sizeof(ref), .id = self->s.id };
	int ret = ioctl(self->fd, TESTDEV_IOC_BUF_FREE, &ref) ? -errno : 0;

	ASSERT_EQ(-ENODEV, ret) TH_LOG("errno %s", strerror(-ret));
}

TEST_F(detach, back)
{
	int ret;

	wait_child(self->copier);
	self->copier = 0;
	close(self->fd);
	self->fd = -1;
	ret = attach(variant, self->bdf);
	self->attached = true;
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", variant->attach, strerror(-ret));
}

TEST_F(detach, then_copy)
{
	struct buf s, d;
	int fd;

	wait_child(self->copier);
	self->copier = 0;
	close(self->fd);
	self->fd = -1;
	attach(variant, self->bdf);
	self->attached = true;
	fd = open_dev(dev);
	alloc_pair(fd, &s, TESTDEV_BUF_COHERENT, 0, 0,
		   &d, TESTDEV_BUF_COHERENT, 0);
	ASSERT_TRUE(copy_page_lands(fd, &s, &d));
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		dev = argv[1];
	return test_harness_run(argc, argv);
}
