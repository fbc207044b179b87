# qemu-system-aarch64 for pcie-testdev's arm64 guests (scripts/build-qemu
# --aarch64 builds it --without-default-devices): the virt machine, with
# its SMMUv3, and what the guests put on its PCIe: root ports,
# virtio-iommu, the device.
CONFIG_ARM_VIRT=y
CONFIG_PCIE_PORT=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_IOMMU=y
CONFIG_PCIE_TESTDEV=y
