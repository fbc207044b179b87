# SPDX-License-Identifier: GPL-2.0-or-later
# Booting test guests and reading what they report. Source it after lib.sh.
#
# A guest reports on its second serial port (tests/guest/init), captured in
# results.txt; the console goes to console.log for people, and the device's
# DMA trace events to trace.log. Nothing is scraped from the console.

VM_TIMEOUT=${VM_TIMEOUT:-120}

# Build or fetch everything a boot needs (QEMU, kernel, module, initramfs),
# once per run, and record it in $OUT/env.
vm_prepare() {
    local qemu kernel
    if [ -n "${QEMU:-}" ]; then
        [ -x "$QEMU" ] || die "QEMU=$QEMU is not an executable"
        qemu=$QEMU
    else
        qemu=$("$TOP/scripts/build-qemu")
    fi
    mapfile -t kernel < <("$TOP/scripts/fetch-kernel")
    [ ${#kernel[@]} -eq 3 ] || die "fetch-kernel failed"
    local initrd
    initrd=$("$TOP/scripts/build-guest" "${kernel[0]}" "${kernel[2]}")
    cat >"$OUT/env" <<EOF
VM_QEMU=$qemu
VM_KVER=${kernel[0]}
VM_KERNEL=${kernel[1]}
VM_INITRD=$initrd
EOF
}

# vm_boot NAME IOMMU MODE DEVICES DEVICE_PROPS [IDLE_SECONDS]
#   IOMMU: none, intel (translated, lazy), intel-strict, intel-pt
#   (passthrough), intel-off (present, turned off), amd, or swiotlb (none,
#   with swiotlb=force).
#   MODE: selftest | repeat | audit | remove | idle (see tests/guest/init).
# Boots one guest with DEVICES pcie-testdevs, each behind its own root port
# as in the seed README, and leaves its output in $OUT/vm/NAME.
# Returns non-zero if QEMU failed or the guest did not report to the end.
# Optional settings, as variables for one call (VM_MEM=6G vm_boot ...):
#   VM_MEM     guest RAM (default 512M)
#   VM_APPEND  more kernel options (swiotlb=force, pci=nomsi, ...)
#   VM_SLOTS   the root ports' slots on pcie.0, one per device (default
#              7, 8, ...); slots 4 apart share an INTx line on q35
vm_boot() {
    local name=$1 iommu=$2 mode=$3 devices=$4 props=$5 idle=${6:-3}
    local dir=$OUT/vm/$name args=() append i rc start slots
    read -ra slots <<<"${VM_SLOTS:-}"
    # shellcheck disable=SC1091
    . "$OUT/env"
    rm -rf "$dir"
    mkdir -p "$dir"
    # no_timer_check: on a loaded host, TCG can miss the kernel's check that
    # the timer ticks through the (interrupt-remapped) IO-APIC, and panic.
    append="console=ttyS0 quiet panic=-1 no_timer_check testdev.mode=$mode testdev.idle=$idle${VM_APPEND:+ $VM_APPEND}"
    args=(-M q35 -m "${VM_MEM:-512M}" -smp 1 -nodefaults -display none -no-reboot
          -L /usr/share/qemu -L /usr/share/seabios
          -kernel "$VM_KERNEL" -initrd "$VM_INITRD"
          -serial "file:$dir/console.log" -serial "file:$dir/results.txt"
          -trace pcie_testdev_reset -trace "pcie_testdev_dma,file=$dir/trace.log")
    # The IOMMU device comes first, so every PCI device is behind it.
    case $iommu in
    none) ;;
    intel) args=(-device intel-iommu "${args[@]}"); append+=" intel_iommu=on" ;;
    intel-strict) args=(-device intel-iommu "${args[@]}"); append+=" intel_iommu=on iommu.strict=1" ;;
    intel-pt) args=(-device intel-iommu "${args[@]}"); append+=" intel_iommu=on iommu=pt" ;;
    intel-off) args=(-device intel-iommu "${args[@]}"); append+=" intel_iommu=off" ;;
    # Needs qemu/patches/0001-*: QEMU 7.2 filed devices behind bridges as 00:00.0.
    amd) args=(-device amd-iommu "${args[@]}") ;;
    # No IOMMU; every streaming mapping bounces, as in SEV and TDX guests.
    swiotlb) append+=" swiotlb=force" ;;
    *) die "unknown IOMMU $iommu" ;;
    esac
    for ((i = 0; i < devices; i++)); do
        args+=(-device "ioh3420,id=root_port$i,bus=pcie.0,addr=$(printf %x "${slots[i]:-$((7 + i))}").0,chassis=$((i + 1))"
               -device "pcie-testdev,bus=root_port$i,id=testdev$i$props")
    done
    args+=(-append "$append")
    printf '%q ' "$VM_QEMU" "${args[@]}" >"$dir/cmdline"
    echo >>"$dir/cmdline"

    start=$SECONDS
    rc=0
    timeout "$VM_TIMEOUT" "$VM_QEMU" "${args[@]}" >"$dir/qemu.log" 2>&1 || rc=$?
    echo $((SECONDS - start)) >"$dir/seconds"
    if [ "$rc" -eq 124 ]; then
        echo "guest $name: timed out after ${VM_TIMEOUT}s (console: $dir/console.log)" >&2
        return 1
    elif [ "$rc" -ne 0 ]; then
        echo "guest $name: QEMU exited with $rc: $(tail -3 "$dir/qemu.log")" >&2
        return 1
    elif ! grep -qx 'end' "$dir/results.txt" 2>/dev/null; then
        echo "guest $name: did not report to the end (console: $dir/console.log)" >&2
        return 1
    fi
}

# vm_start NAME ARGS...: vm_boot in the background; vm_wait NAME: its status.
declare -A VM_PIDS
vm_start() {
    vm_boot "$@" &
    VM_PIDS[$1]=$!
}
vm_wait() {
    wait "${VM_PIDS[$1]}"
}

# vm_transfer NAME N [BDF]: the driver's verdict for transfer N, or "missing".
vm_transfer() {
    local line
    line=$(grep "^log .*testdev_driver ${3:-}.*: transfer $2 " "$OUT/vm/$1/results.txt" 2>/dev/null | head -1)
    if [ -n "$line" ]; then echo "${line##*-> }"; else echo missing; fi
}

# vm_dmar_fault NAME: the first DMAR fault line the guest logged, if any.
vm_dmar_fault() {
    grep -m1 '^log .*DMAR: \[DMA .*fault addr' "$OUT/vm/$1/results.txt" 2>/dev/null |
        sed 's/^log \(\[[^]]*\] \)\{0,1\}//'
}

# vm_dma_count NAME RESULT: how many aggressive copies ended with RESULT.
vm_dma_count() {
    grep -c "pcie_testdev_dma aggressive .* result $2 " "$OUT/vm/$1/trace.log" 2>/dev/null || true
}

# The two transfers, and what each configuration must do with them.
TRANSFER_NAMES=("DMA handles (IOVAs)" "CPU physical addresses")
declare -A EXPECTED=(
    [no-iommu,1]=succeeded [no-iommu,2]=succeeded
    [intel-iommu,1]=succeeded [intel-iommu,2]=blocked
)

# The audit matrix: tests/audit-expected.txt holds what each configuration
# must do with each scenario of testdevctl audit.
AUDIT_TABLE=$TOP/tests/audit-expected.txt
audit_configs() { awk '!/^#/ && $1 == "scenario" { $1 = ""; print; exit }' "$AUDIT_TABLE"; }
audit_rows() { awk '!/^#/ && NF && $1 != "scenario" { print $1 }' "$AUDIT_TABLE"; }
# audit_expected ROW CONFIG
audit_expected() {
    awk -v row="$1" -v cfg="$2" '
        !/^#/ && $1 == "scenario" { for (i = 2; i <= NF; i++) col[$i] = i }
        !/^#/ && $1 == row { print $(col[cfg]) }' "$AUDIT_TABLE"
}
# audit_observed CONFIG ROW: what the guest of audit-CONFIG saw.
audit_observed() {
    local f=$OUT/vm/audit-$1/results.txt v
    if [ "$2" = domain ]; then
        v=$(sed -n 's/^audit # pcie-testdev0: IOMMU [a-z]*, domain \([^,]*\),.*/\1/p' "$f" 2>/dev/null)
    else
        v=$(sed -n "s/^audit ok [0-9]* pcie-testdev0: $2 # SKIP .*/skip/p
                    s/^audit \(not \)\{0,1\}ok [0-9]* pcie-testdev0: $2 # expected [a-z-]*, observed \([a-z-]*\);.*/\2/p" "$f" 2>/dev/null)
    fi
    echo "${v:-missing}"
}
# audit_detail CONFIG ROW: what the guest of audit-CONFIG said about ROW.
audit_detail() {
    sed -n "s/^audit .* pcie-testdev0: $2 # [^;]*; //p" "$OUT/vm/audit-$1/results.txt" 2>/dev/null
}
# audit_json_observed CONFIG: "ROW OBSERVED" lines from testdevctl audit --json.
audit_json_observed() {
    sed -n 's/^json //p' "$OUT/vm/audit-$1/results.txt" 2>/dev/null |
        jq -r '.[] | "\(.scenario) \(.observed // "skip")"'
}
# A rogue device, as in the seed README: aggressive mode from power-on,
# copying one byte of low RAM into another every 100 ms.
ROGUE=",aggressive=on,srcaddr=0x0009f000,dstaddr=0x0009fb00,size=1,aggression_delay_ms=100"

# audit_boot_all: boot every configuration in audit mode, two at a time,
# each with a rogue device that the driver stops at probe.
audit_boot_all() {
    local configs c i rc=0
    read -ra configs < <(audit_configs)
    for ((i = 0; i < ${#configs[@]}; i++)); do
        vm_start "audit-${configs[i]}" "${configs[i]}" audit 1 "$ROGUE"
        # Two at a time: wait for each pair, and for the last one.
        if ((i % 2 == 1 || i == ${#configs[@]} - 1)); then
            for c in "${configs[@]:i - i % 2:i % 2 + 1}"; do
                vm_wait "audit-$c" || rc=1
            done
        fi
    done
    return "$rc"
}
