# SPDX-License-Identifier: GPL-2.0-or-later
# pcie-testdev: the out-of-tree module, and the targets that build QEMU with
# the device, boot guests and run the tests.

ifneq ($(KERNELRELEASE),)
# Read by kbuild.
obj-m := testdev_driver.o
else

KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build

# The module, against the running kernel (or KDIR=...), as any
# out-of-tree module builds.
all: module
module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || \
		rm -f *.o *.ko *.mod *.mod.c .*.cmd modules.order Module.symvers
	rm -rf out

# Build QEMU with the device, build the module against a Debian kernel,
# boot it without and with intel-iommu, and print the verdict table.
demo:
	scripts/demo

# Every test; ends with "N passed, N failed".
check:
	scripts/check

# The device tests in a QEMU built with ASan and UBSan (make check runs
# them too when CI=true or PCIE_TESTDEV_ASAN=1).
check-asan:
	scripts/check --asan

# The fuzz test under the sanitizers, for PCIE_TESTDEV_FUZZ_SECONDS (600).
fuzz:
	scripts/check --fuzz

# QEMU 7.2 with pcie-testdev, cached outside the checkout.
qemu:
	scripts/build-qemu

.PHONY: all module clean demo check check-asan fuzz qemu
endif
