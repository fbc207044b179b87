#!/bin/bash
# Boot one guest in mode "driver" (testdevctl check-driver) and print its
# KTAP lines: tests/review/guest-driver.sh NAME [CONFIG]
set -euo pipefail
export QEMU=${QEMU:-/work/qemu-snap/scan/qemu-system-x86_64}
export PCIE_TESTDEV_OUT=${PCIE_TESTDEV_OUT:-/work/wt-review/out}
. "$(dirname "$0")/../../scripts/lib.sh"
. "$TOP/scripts/vm.sh"
vm_prepare
. "$OUT/env"
name=${1:-review-driver}
VM_TRACE="pcie_testdev_scan_*" vm_start "$name" "${2:-none}" driver 1 ""
vm_wait "$name" || true
grep -E '^driver (not )?ok|^driver 1\.\.|^driver #|scan-keeps' "$OUT/vm/$name/results.txt" || true
grep -c 'pcie_testdev_scan_done' "$OUT/vm/$name/trace.log" || true
