# SPDX-License-Identifier: GPL-2.0-or-later
# pcie-testdev: the out-of-tree module, and the targets that build QEMU with
# the device, boot guests and run the tests.

ifneq ($(KERNELRELEASE),)
# Read by kbuild (and so by DKMS). The version is dkms.conf's.
obj-m := testdev_driver.o
ccflags-y += -DTESTDEV_DRIVER_VERSION='"$(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' $(src)/dkms.conf)"'
else

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build

# The module, against the running kernel (or KDIR=...), as any
# out-of-tree module builds, and the user tool.
all: module tools
module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# testdevctl and the driver's selftests, static so that they run in the
# test guest's busybox initramfs; both use the library in tools/lib/.
CFLAGS ?= -O2 -Wall -Wextra -Werror
TOOLS_LIB := tools/lib/testdev.c tools/lib/testdev.h testdev_ioctl.h testdev_regs.h \
	testdev_verdict.h
# testdevctl's expected verdicts are tests/audit-expected.txt's, as a C
# header generated into the outputs' folder (out/, or PCIE_TESTDEV_OUT),
# never committed.
GEN := $(or $(PCIE_TESTDEV_OUT),out)/gen
# PCIE_TESTDEV_BIN=DIR puts testdevctl and the selftests there instead (a
# cross build's, CC=aarch64-linux-gnu-gcc, beside its initramfs:
# scripts/build-guest).
TESTDEVCTL := $(or $(PCIE_TESTDEV_BIN),tools)/testdevctl
tools: $(TESTDEVCTL)
$(TESTDEVCTL): tools/testdevctl.c $(TOOLS_LIB) $(GEN)/audit-expected.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static -I$(GEN) -o $@ $< tools/lib/testdev.c
$(GEN)/audit-expected.h: tests/audit-expected.txt scripts/audit-expected-h
	mkdir -p $(@D)
	scripts/audit-expected-h $< >$@.tmp
	mv $@.tmp $@

# The selftests are kselftest-harness programs; the harness is the
# kernel's, from Debian's linux-source package (scripts/kselftest-headers,
# cached outside the checkout), as a system header: it is not -Wextra clean.
SELFTESTS_BIN := $(or $(PCIE_TESTDEV_BIN),tests/selftests)
SELFTESTS := $(patsubst tests/selftests/%.c,$(SELFTESTS_BIN)/%,$(wildcard tests/selftests/*_test.c))
selftests: $(SELFTESTS)
$(SELFTESTS_BIN)/%_test: tests/selftests/%_test.c $(TOOLS_LIB)
	@mkdir -p $(@D)
	inc=$$(scripts/kselftest-headers) && \
	$(CC) $(CFLAGS) -static -isystem "$$inc" -o $@ $< tools/lib/testdev.c -lpthread

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || \
		rm -f *.o *.ko *.mod *.mod.c .*.cmd modules.order Module.symvers
	rm -rf out $(GEN) tools/testdevctl $(SELFTESTS)

# Build QEMU with the device, build the module against a Debian kernel,
# boot it without and with intel-iommu, and print the verdict table.
demo:
	scripts/demo

# make demo as on a fresh Debian 13 machine: in a root made by mmdebstrap
# (cached outside the checkout), through chroot.
demo-debian13:
	scripts/demo-debian13

# A Debian 12 disk image (mmdebstrap, mkfs.ext4 -d, GRUB by hand; as root,
# no loop device) with this checkout in ~user/pcie-testdev; prints its path.
image:
	@scripts/make-image

# Boots that image twice and runs the original README's steps in it (make,
# insmod, dmesg, update-grub with intel_iommu=on, dkms).
check-image:
	scripts/check-image

# A root shell in a guest with the module and testdevctl (IOMMU=, KVER=,
# DEVICE_OPTS=); leaving it powers the guest off.
shell:
	scripts/shell

# What each IOMMU configuration blocks and lets through, as a table.
audit:
	scripts/audit $(if $(filter 1,$(JSON)),--json)

# What a rogue device can reach in each IOMMU configuration: the device's
# reachability scans, as a table, the map, and JSON.
exposure:
	scripts/exposure

# What DMA costs: the device alone against memcpy, and in a guest in each
# IOMMU configuration, coherent and streaming; tables, JSON, CSV, a plot.
bench:
	scripts/bench

# SOAK_COPIES (100,000) checked copies of random sizes, offsets and kinds in
# each IOMMU configuration, with the kernel's slab memory before and after.
soak:
	scripts/soak

# Every test; ends with "N passed, N failed".
check:
	scripts/check

# The device tests in a QEMU built with ASan and UBSan (make check runs
# them too when CI=true or PCIE_TESTDEV_ASAN=1).
check-asan:
	scripts/check --asan

# The driver on a kernel built with KASAN, lockdep, DMA-API debugging,
# kmemleak, UBSAN and fault injection (make check runs it too when CI=true
# or PCIE_TESTDEV_DEBUG=1).
check-debug:
	scripts/check --debug

# The device tests in the newest QEMU series the archive serves (make check
# runs them too when CI=true or PCIE_TESTDEV_NEWEST=1).
check-newest:
	scripts/check --newest

# The fuzz test under the sanitizers, for PCIE_TESTDEV_FUZZ_SECONDS (600).
fuzz:
	scripts/check --fuzz

# The device as a patch series for upstream QEMU, in out/qemu-series/.
qemu-series:
	scripts/qemu-series

# QEMU with pcie-testdev (Debian stable's series, or QEMU_SERIES=...),
# cached outside the checkout.
qemu:
	scripts/build-qemu

# The targets, and the variables the Makefile and the scripts read.
help:
	@scripts/help

.PHONY: all module tools selftests clean demo demo-debian13 image check-image shell audit exposure bench soak check check-debug check-asan check-newest fuzz qemu qemu-series help
endif
