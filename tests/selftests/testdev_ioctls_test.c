// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The driver's answers to bad ioctl arguments: every kind the driver must
 * refuse, each with the errno it must give, and the good calls beside
 * them. Each test opens the device afresh, with a coherent and an
 * unmapped buffer allocated.
 *
 *   testdev_ioctls_test [DEV]       DEV: pcie-testdev0 unless given
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "../../tools/lib/testdev.h"

static const char *dev = "pcie-testdev0";

/* ioctl()'s -1 with errno set, a helper's -errno, or 0: the errno. */
static int err_of(int ret)
{
	return ret < 0 ? (ret == -1 ? errno : -ret) : 0;
}

/* The call fails with errno want (0: it succeeds). */
#define ASSERT_ERRNO(want, call) do {					\
	int __err = err_of(call);					\
	ASSERT_EQ(want, __err)						\
		TH_LOG("errno %s, want %s", __err ? strerror(__err) :	\
		       "none", want ? strerror(want) : "none");		\
} while (0)

FIXTURE(ioctls) {
	int fd;
	struct buf b;	/* a coherent buffer of a page */
	struct buf u;	/* an unmapped one */
};

FIXTURE_SETUP(ioctls)
{
	self->fd = open_dev(dev);
	ASSERT_ERRNO(0, buf_alloc(self->fd, &self->b, TESTDEV_BUF_COHERENT, 0,
				  PAGE, 0));
	ASSERT_ERRNO(0, buf_alloc(self->fd, &self->u, TESTDEV_BUF_UNMAPPED, 0,
				  PAGE, 0));
}

FIXTURE_TEARDOWN(ioctls)
{
	close(self->fd);
}

TEST_F(ioctls, info_wrong_argsz)
{
	struct testdev_info inf = { .argsz = sizeof(inf) - 4 };

	ASSERT_ERRNO(EINVAL, ioctl(self->fd, TESTDEV_IOC_INFO, &inf));
}

TEST_F(ioctls, info_reserved_set)
{
	struct testdev_info inf = { .argsz = sizeof(inf), .reserved = 1 };

	ASSERT_ERRNO(EINVAL, ioctl(self->fd, TESTDEV_IOC_INFO, &inf));
}

TEST_F(ioctls, unknown_command)
{
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IO(TESTDEV_IOC_MAGIC, 99), 0));
}

TEST_F(ioctls, bad_user_pointer)
{
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, TESTDEV_IOC_INFO, (void *)8));
}

TEST_F(ioctls, free_unknown_id)
{
	struct testdev_buf_ref ref = { .argsz = sizeof(ref), .id = 999 };

	ASSERT_ERRNO(ENOENT, ioctl(self->fd, TESTDEV_IOC_BUF_FREE, &ref));
}

TEST_F(ioctls, alloc_unknown_kind)
{
	struct buf b;

	ASSERT_ERRNO(EINVAL, buf_alloc(self->fd, &b, 7, 0, PAGE, 0));
}

TEST_F(ioctls, alloc_size_0)
{
	struct buf b;

	ASSERT_ERRNO(EINVAL, buf_alloc(self->fd, &b, TESTDEV_BUF_COHERENT, 0,
				       0, 0));
}

TEST_F(ioctls, alloc_kmalloc_too_big)
{
	struct buf b;

	ASSERT_ERRNO(EINVAL, buf_alloc(self->fd, &b, TESTDEV_BUF_STREAMING, 0,
				       2 * PAGE, 0));
}

TEST_F(ioctls, alloc_map_len_past_size)
{
	struct buf b;

	ASSERT_ERRNO(EINVAL, buf_alloc(self->fd, &b, TESTDEV_BUF_STREAMING, 0,
				       PAGE, 2 * PAGE));
}

TEST_F(ioctls, alloc_unknown_dir)
{
	struct buf b;

	ASSERT_ERRNO(EINVAL, buf_alloc(self->fd, &b, TESTDEV_BUF_STREAMING, 9,
				       PAGE, 0));
}

TEST_F(ioctls, alloc_coherent)
{
	struct buf b;

	ASSERT_ERRNO(0, buf_alloc(self->fd, &b, TESTDEV_BUF_COHERENT, 0, PAGE,
				  0));
}

TEST_F(ioctls, alloc_unmapped)
{
	struct buf b;

	ASSERT_ERRNO(0, buf_alloc(self->fd, &b, TESTDEV_BUF_UNMAPPED, 0, PAGE,
				  0));
}

TEST_F(ioctls, write_past_end)
{
	uint8_t byte = 0;
	struct testdev_buf_io io = {
		.argsz = sizeof(io), .id = self->b.id, .offset = PAGE,
		.len = 1, .data = (uintptr_t)&byte,
	};

	ASSERT_ERRNO(EINVAL, ioctl(self->fd, TESTDEV_IOC_BUF_WRITE, &io));
}

TEST_F(ioctls, write_length_wraps)
{
	uint8_t byte = 0;
	struct testdev_buf_io io = {
		.argsz = sizeof(io), .id = self->b.id, .offset = 1,
		.len = UINT64_MAX, .data = (uintptr_t)&byte,
	};

	ASSERT_ERRNO(EINVAL, ioctl(self->fd, TESTDEV_IOC_BUF_WRITE, &io));
}

TEST_F(ioctls, read_to_bad_pointer)
{
	struct testdev_buf_io io = {
		.argsz = sizeof(io), .id = self->b.id, .len = 1, .data = 8,
	};

	ASSERT_ERRNO(EFAULT, ioctl(self->fd, TESTDEV_IOC_BUF_READ, &io));
}

TEST_F(ioctls, copy_size_0)
{
	struct testdev_copy c;

	ASSERT_ERRNO(EINVAL, do_copy(self->fd,
				     addr_of(TESTDEV_ADDR_DMA, &self->b, 0),
				     addr_of(TESTDEV_ADDR_DMA, &self->b, 0),
				     0, &c));
}

TEST_F(ioctls, copy_past_buffer)
{
	struct testdev_copy c;

	ASSERT_ERRNO(EINVAL, do_copy(self->fd,
				     addr_of(TESTDEV_ADDR_DMA, &self->b, 1),
				     addr_of(TESTDEV_ADDR_DMA, &self->b, 0),
				     PAGE, &c));
}

TEST_F(ioctls, copy_above_max_size)
{
	struct testdev_copy c;

	ASSERT_ERRNO(EINVAL, do_copy(self->fd,
				     addr_of(TESTDEV_ADDR_RAW, NULL, 0),
				     addr_of(TESTDEV_ADDR_RAW, NULL, 0),
				     TESTDEV_MAX_SIZE_LIMIT + 1, &c));
}

TEST_F(ioctls, copy_unknown_mode)
{
	struct testdev_copy c;

	ASSERT_ERRNO(EINVAL, do_copy(self->fd, addr_of(5, &self->b, 0),
				     addr_of(TESTDEV_ADDR_DMA, &self->b, 0),
				     64, &c));
}

TEST_F(ioctls, copy_raw_with_id)
{
	struct testdev_copy c;

	ASSERT_ERRNO(EINVAL, do_copy(self->fd,
				     addr_of(TESTDEV_ADDR_RAW, &self->b, 0),
				     addr_of(TESTDEV_ADDR_DMA, &self->b, 0),
				     64, &c));
}

TEST_F(ioctls, copy_dma_of_unmapped_buffer)
{
	struct testdev_copy c;

	ASSERT_ERRNO(EINVAL, do_copy(self->fd,
				     addr_of(TESTDEV_ADDR_DMA, &self->u, 0),
				     addr_of(TESTDEV_ADDR_DMA, &self->b, 0),
				     64, &c));
}

TEST_F(ioctls, copy_unknown_id)
{
	struct testdev_copy c;

	ASSERT_ERRNO(ENOENT, do_copy(self->fd,
				     addr_of(TESTDEV_ADDR_DMA, NULL, 0),
				     addr_of(TESTDEV_ADDR_DMA, &self->b, 0),
				     64, &c));
}

TEST_F(ioctls, unmap_coherent)
{
	struct testdev_buf_ref ref = { .argsz = sizeof(ref), .id = self->b.id };

	ASSERT_ERRNO(EINVAL, ioctl(self->fd, TESTDEV_IOC_BUF_UNMAP, &ref));
}

TEST_F(ioctls, master_not_0_or_1)
{
	struct testdev_master m = { .argsz = sizeof(m), .enable = 2 };

	ASSERT_ERRNO(EINVAL, ioctl(self->fd, TESTDEV_IOC_SET_MASTER, &m));
}

TEST_F(ioctls, rogue_wrong_argsz)
{
	struct testdev_rogue r = { .argsz = sizeof(r) + 8 };

	ASSERT_ERRNO(EINVAL, ioctl(self->fd, TESTDEV_IOC_ROGUE, &r));
}

/* An open file holds at most TESTDEV_MAX_BUFFERS; the setup's two count. */
static void fill_buffers(struct __test_metadata *_metadata, int fd)
{
	struct buf b;
	int n;

	for (n = 2; n < TESTDEV_MAX_BUFFERS; n++)
		ASSERT_ERRNO(0, buf_alloc(fd, &b, TESTDEV_BUF_UNMAPPED, 0, 64,
					  0));
}

TEST_F(ioctls, too_many_buffers)
{
	struct buf b;

	fill_buffers(_metadata, self->fd);
	ASSERT_ERRNO(ENOSPC, buf_alloc(self->fd, &b, TESTDEV_BUF_UNMAPPED, 0,
				       64, 0));
}

/*
 * Closing a file with every buffer it may hold frees them: a new open
 * file allocates again. (Whether the memory went back is for a kmemleak
 * scan; none runs here.)
 */
TEST_F(ioctls, reopen_and_alloc)
{
	struct buf b;

	fill_buffers(_metadata, self->fd);
	close(self->fd);
	self->fd = open_dev(dev);
	ASSERT_ERRNO(0, buf_alloc(self->fd, &b, TESTDEV_BUF_COHERENT, 0, PAGE,
				  0));
}

int main(int argc, char **argv)
{
	if (argc > 1)
		dev = argv[1];
	return test_harness_run(argc, argv);
}
