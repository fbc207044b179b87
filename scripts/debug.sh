# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# make check-debug (scripts/check --debug): the driver on a kernel built
# with the kernel's own bug detectors (scripts/build-debug-kernel), through
# the same harness. Source it from scripts/check, after vm.sh: it uses
# check's result, expect and tap_results.
#
# Guests, each with testdev.debug=1 (tests/guest/init: debugfs, a kmemleak
# scan and the whole kernel log at the end):
#   - the audit (insmod-time transfers, testdevctl audit, the ioctl selftest,
#     rmmod while open) in each IOMMU configuration of the audit's table
#   - removal under an open file (the removal selftest), intel-iommu
#   - two devices, 50 insmod/rmmod cycles, intel-iommu
#   - every allocation on the way to binding the driver, and of the buffer
#     ioctl, failing in turn (fault injection), intel-iommu
#   - a deliberately broken module (tests/debug-kernel-broken.patch): the
#     detectors must report it
# Every guest but the broken one must have no detector report at all.

# What counts as a report, in the kernel log: KASAN ("BUG: KASAN: ..."),
# lockdep ("WARNING: possible circular locking ...", "inconsistent lock
# state", "BUG: sleeping function called from invalid context"), DMA-API
# debugging ("DMA-API: <device>: device driver ..."), UBSAN, kmemleak,
# debug objects (ODEBUG), list corruption, and any WARN, BUG or oops.
DEBUG_REPORTS='BUG: |WARNING: |UBSAN: |KASAN: |DMA-API: [^ ]+ [^ ]+: |kmemleak: [0-9]+ new suspected|Oops|ODEBUG: |list_(add|del) corruption|INFO: (possible|trying to register|task )|sleeping function called|unreferenced object'

# debug_reports NAME: the reports in guest NAME's kernel log and kmemleak's
# answer ("dmesg", "kmemleak" and, from the fault walk, "fdmesg" lines).
debug_reports() {
    sed -n 's/^\(dmesg\|kmemleak\|log\) //p; s/^fdmesg [0-9]* //p' "$OUT/vm/$1/results.txt" 2>/dev/null |
        grep -E "$DEBUG_REPORTS" | awk '!seen[$0]++' || true
}

# Reports the fault-injection guest tolerates: the kernel's own, under
# failures injected in kernel code (each explained there).
DEBUG_KNOWN=$TOP/tests/debug-kernel-known.txt

# debug_clean NAME [KNOWN]: boots, reports, and the detectors said
# nothing (but reports matching the file KNOWN, counted apart); the
# guest's time in the test's name.
debug_clean() {
    local name=$1 known=${2:-} f reports n tolerated status
    f=$OUT/vm/$name/results.txt
    status=$(vm_status "$name")
    result "debug guest $name: boots and reports ($(cat "$OUT/vm/$name/seconds" 2>/dev/null || echo ?) s)" "${status%% *}" \
        "${status#* }; see $OUT/vm/$name/console.log"
    expect "debug guest $name: the kernel log was read, and kmemleak scanned ($(sed -n 's/^kmemleak-scan //p' "$f") s)" \
        "$(grep -c '^dmesg ' "$f" | sed 's/^[1-9][0-9]*$/some/') $(grep -c '^kmemleak-scan [0-9]' "$f")" "some 1"
    expect "debug guest $name: DMA-API debugging counted no error" "$(sed -n 's/^dma-api-errors //p' "$f")" 0
    reports=$(debug_reports "$name")
    if [ -n "$known" ]; then
        tolerated=$(grep -E -f <(grep -v '^#' "$known" | grep .) <<<"$reports" || true)
        reports=$(grep -v -E -f <(grep -v '^#' "$known" | grep .) <<<"$reports" || true)
        result "debug guest $name: $(grep -c . <<<"$tolerated" || true) known kernel report(s) outside the driver (${known#"$TOP"/})${tolerated:+: $(head -3 <<<"$tolerated" | sed "s/.*/'&'/" | paste -sd ' ' -)}" 0
    fi
    n=$(grep -c . <<<"$reports" || true)
    WHY="$n report line(s): $(head -8 <<<"$reports" | sed "s/.*/'&'/" | paste -sd ' ' -)" \
        check "debug guest $name: no KASAN, lockdep, DMA-API, UBSAN, kmemleak or WARN/BUG report" [ "$n" -eq 0 ]
}

# debug_audit_configs: the audit's configurations that boot the harness's
# kernel, here the debug kernel; not those that name a kernel of another
# series or architecture (kernel=, arch= in tests/iommu-configs.txt),
# which would not run it, nor those whose driver paths another one takes
# already (DEBUG_AUDIT_SAME: only the IOMMU's table format or the device's
# translation cache differ there, not what the driver calls).
DEBUG_AUDIT_SAME="intel-sm virtio-nodriver intel-ats intel-ats-rogue"
debug_audit_configs() {
    local c
    for c in $(audit_configs); do
        [[ " $DEBUG_AUDIT_SAME " != *" $c "* ]] || continue
        [ -n "$(iommu_config_settings "$c")" ] || echo "$c"
    done
}

debug_checks() {
    local out k kdir rc c f row n bad plan broken configs
    log "building the debug kernel (cached; a cold build took 14 minutes on two cores)"
    # make check may be building it in the background: wait for it there.
    if ! out=$(flock "$CACHE/debug-kernel.lock" "$TOP/scripts/build-debug-kernel"); then
        result "debug build: the debug kernel (scripts/build-debug-kernel)" 1
        return
    fi
    k=$(sed -n 's/^KERNEL=//p' <<<"$out")
    kdir=$(sed -n 's/^KDIR=//p' <<<"$out")
    result "debug build: the debug kernel, allnoconfig + tests/debug-kernel.config ($(cat "$kdir/build-seconds") s cold)" 0
    if ! (KERNEL=$k KDIR=$kdir vm_prepare); then
        result "debug build: the module (W=1) and initramfs for the debug kernel" 1
        return
    fi
    result "debug build: the module (W=1) and initramfs for the debug kernel" 0
    . "$OUT/env"
    # Every guest: the init's debug work, and room for its kernel log.
    export VM_APPEND="testdev.debug=1 log_buf_len=4M${VM_APPEND:+ $VM_APPEND}"

    # The broken module: a copy of the driver with the test-only patch,
    # built against the debug kernel, in an initramfs of its own.
    broken=$OUT/broken
    rm -rf "$broken"
    mkdir -p "$broken/src" "$broken/root"
    cp "$TOP"/{Makefile,dkms.conf,testdev_driver.c,testdev_regs.h,testdev_ioctl.h,testdev_verdict.h} "$broken/src/"
    if (cd "$broken/src" && patch -s -p1 <"$TOP/tests/debug-kernel-broken.patch") >"$broken/build.log" 2>&1 &&
        make -C "$broken/src" module KDIR="$VM_KDIR" >>"$broken/build.log" 2>&1; then
        (cd "$broken/root" && gzip -dc "$VM_INITRD" | cpio -id --quiet &&
            cp "$broken/src/testdev_driver.ko" . &&
            find . -print0 | cpio --null -o -H newc --quiet | gzip -1 >"$broken/initramfs.cpio.gz")
        sed "s|^VM_INITRD=.*|VM_INITRD=$broken/initramfs.cpio.gz|" "$OUT/env" >"$broken/env"
        rc=0
    else
        rc=1
    fi
    result "debug build: the driver with tests/debug-kernel-broken.patch" "$rc" "see $broken/build.log"

    # tests/debug-guests.txt's guests and the audit's, one runner.
    configs=$(debug_audit_configs)
    log "debug guests: the audit in $(wc -w <<<"$configs") IOMMU configurations, removal, 50 cycles, fault injection, the broken module; $VM_JOBS at a time"
    # shellcheck disable=SC2086
    vm_run_table "$TOP/tests/debug-guests.txt" <(audit_guest_rows "" $configs) || true
    for c in $configs; do
        f=$OUT/vm/audit-$c/results.txt
        debug_clean "audit-$c"
        for n in 1 2; do
            expect "debug guest audit-$c: insmod-time transfer $n $(transfer_expected "$n" "$c")" \
                "$(vm_transfer "audit-$c" "$n")" "$(transfer_expected "$n" "$c")"
        done
        bad=""
        for row in $(audit_rows); do
            # How long a stale IOVA lands is timing, which the debug
            # kernel's pace changes; the rest is the table's.
            case $row in stale-iova*) continue ;; esac
            [ "$(audit_observed "$c" "$row")" = "$(audit_expected "$row" "$c")" ] ||
                bad+="$row: $(audit_observed "$c" "$row"), want $(audit_expected "$row" "$c"); "
        done
        expect "debug guest audit-$c: testdevctl audit agrees with tests/audit-expected.txt (but the stale IOVA's timing)" \
            "$bad" ""
        bad=$(grep -E '^ioctl not ok' "$f" | sed 's/^ioctl not ok [0-9]* //' | tr '\n' ';' || true)
        n=$(grep -cE '^ioctl ok' "$f" || true)
        plan=$(sed -n 's/^ioctl 1\.\.\([0-9]*\)$/\1/p' "$f")
        expect "debug guest audit-$c: the ioctl selftest ($n of ${plan:-?})" \
            "$n of ${plan:-none}; failed: ${bad:-none}" "${plan:-none} of ${plan:-none}; failed: none"
        expect "debug guest audit-$c: rmmod fails while the device is open, then succeeds" \
            "$(sed -n 's/^rmmod-while-open //p; s/^rmmod //p' "$f" | tr '\n' ' ')" "1 0 "
    done

    debug_clean remove-while-busy
    f=$OUT/vm/remove-while-busy/results.txt
    tap_results "debug guest remove-while-busy:" < <(sed -n 's/^remove //p' "$f")
    expect "debug guest remove-while-busy: all its removal tests ran" "$(grep -cE '^remove (not )?ok ' "$f" || true)" \
        "$(sed -n 's/^remove 1\.\.\([0-9]*\)$/\1/p' "$f")"
    expect "debug guest remove-while-busy: rmmod after all that" "$(sed -n 's/^rmmod //p' "$f")" 0

    debug_clean cycles
    f=$OUT/vm/cycles/results.txt
    expect "debug guest cycles: 50 insmod/rmmod cycles with two devices" "$(sed -n 's/^cycles //p' "$f")" "50 50"
    for bdf in 0000:01:00.0 0000:02:00.0; do
        expect "debug guest cycles: $bdf's transfer 1 $(transfer_expected 1 intel) at each of the 51 loads" \
            "$(grep -c "^log .*testdev_driver $bdf: transfer 1 .*-> $(transfer_expected 1 intel)\$" "$f" || true)" 51
    done
    expect "debug guest cycles: both devices copy after the cycles" \
        "$(grep -c '^cli 0 testdevctl copy dma dma 4096 pcie-testdev[01] -> .*holds the source$' "$f" || true)" 2

    debug_checks_faults
    debug_checks_broken
}

# fault_steps: the fault walk's tries, one a line, "fault N fault made;
# bind: RC devnode=D bound=B frames=F,G, (probe of BDF failed with error
# -E)": the driver's functions in the failure's stack trace, innermost
# first, and the driver core's word on the probe.
fault_steps() {
    awk '/^fault [0-9]+ / { n = $2; line[n] = $0; order[++k] = n }
        /^fdmesg [0-9]+ / {
            n = $2; rest = $0; sub(/^fdmesg [0-9]+ /, "", rest)
            if (match(rest, /testdev_[a-z_]+\+0x[0-9a-f]+/)) frames[n] = frames[n] substr(rest, RSTART, RLENGTH) ","
            if (match(rest, /probe of [^ ]* failed with error -[0-9]+/)) perr[n] = substr(rest, RSTART, RLENGTH)
        }
        END { for (i = 1; i <= k; i++) { n = order[i]
            print line[n] " frames=" (n in frames ? frames[n] : "none") (n in perr ? " (" perr[n] ")" : "") } }' "$1"
}

# The fault-injection guest (tests/guest/init's faults mode).
debug_checks_faults() {
    local f=$OUT/vm/faults/results.txt all steps made failed probe sites leftover noerr last
    debug_clean faults "$DEBUG_KNOWN"
    all=$(fault_steps "$f")
    steps=$(grep -c . <<<"$all" || true)
    last=$(tail -1 <<<"$all")
    made=$(grep -c '^fault [0-9]* fault made' <<<"$all" || true)
    expect "debug faults: the walk ends with a bind that no failure reached ($steps binds)" \
        "$(grep -o 'fault not reached; bind: 0 devnode=1 bound=1' <<<"$last")" "fault not reached; bind: 0 devnode=1 bound=1"
    # Failures that reached the driver: its functions in the failure's
    # stack trace, or the driver core reporting its probe failed.
    probe=$(grep '^fault [0-9]* fault made' <<<"$all" | grep -E 'frames=testdev_|probe of .* failed with error' || true)
    failed=$(grep '^fault [0-9]* fault made; bind: -' <<<"$all" || true)
    # Each failed bind left nothing behind: no device node, not bound.
    leftover=$(grep -v 'devnode=0 bound=0' <<<"$failed" | grep . || true)
    expect "debug faults: every failed bind left no /dev/pcie-testdev0 and no binding ($(grep -c . <<<"$failed" || true) failed binds)" \
        "$(head -3 <<<"$leftover" | paste -sd ';' -)" ""
    # Each failure in the driver's own probe ended it with an errno, or was
    # absorbed (bound and working: no interrupt is a polling fallback).
    noerr=$(grep 'frames=testdev_probe' <<<"$probe" | grep -v 'bind: 0 ' | grep -v 'failed with error -[0-9]' || true)
    expect "debug faults: every failure inside probe ended it with an errno (or was absorbed)" \
        "$(head -3 <<<"$noerr" | paste -sd ';' -)" ""
    # Distinct failure points: each failing allocation in turn that reached
    # the driver; call sites: the driver's innermost frame.
    n=$(grep -c . <<<"$probe" || true)
    sites=$(sed -n 's/.*frames=\(testdev_[^,]*\),.*/\1/p' <<<"$probe" | sort -u | wc -l)
    WHY="fewer than 5" check "debug faults: $n distinct failure points in probe exercised ($sites call sites of the driver; $made of $steps binds had a failure)" \
        [ "$n" -ge 5 ]
    echo "$n $sites $made $steps" >"$OUT/fault-points"
    expect "debug faults: the device copies after the walk, and after a normal insmod" \
        "$(grep -c '^cli 0 testdevctl copy dma dma 4096 -> .*holds the source$' "$f" || true) $(sed -n 's/^insmod //p' "$f" | tr '\n' ' ')" "2 0 0 "
    tap_results "debug faults:" < <(sed -n 's/^falloc //p' "$f")
    n=$(sed -n 's/^falloc # fail-alloc: \([0-9]*\) failure points$/\1/p' "$f")
    check "debug faults: the buffer ioctl, ${n:-no} failure points exercised" [ "${n:-0}" -ge 4 ]
    echo "${n:-0}" >>"$OUT/fault-points"
}

# The broken module (tests/debug-kernel-broken.patch): it keeps a
# coherent buffer of the self test and leaks its device structure; the
# DMA-API debugging and kmemleak must say so.
debug_checks_broken() {
    local f=$OUT/vm/broken/results.txt status
    status=$(vm_status broken)
    result "debug broken: the broken module's guest boots and reports ($(cat "$OUT/vm/broken/seconds" 2>/dev/null || echo ?) s)" \
        "${status%% *}" "${status#* }"
    # It prints its first error only, and counts them all: one a load.
    # (At unbind the device's driver reads "pci" already.)
    expect "debug broken: DMA-API debugging reports the coherent buffer never freed, at each of the 2 unloads" \
        "$(grep -c '^dmesg DMA-API: [a-z_]* 0000:01:00.0: device driver has pending DMA allocations while released from device' "$f" || true) $(sed -n 's/^dma-api-errors //p' "$f")" "1 2"
    # The module is gone when kmemleak scans: its frames show as bare
    # addresses, under pci_device_probe.
    expect "debug broken: kmemleak reports the leaked structure, allocated in probe, once a load" \
        "$(awk '/^kmemleak unreferenced object/ { obj++ } /^kmemleak .*\] pci_device_probe\+/ { probe[obj] = 1 }
               END { n = 0; for (o in probe) n++; print n }' "$f")" 2
    check "debug broken: make check-debug's verdict on it is a failure ($(debug_reports broken | grep -c .) report lines)" \
        [ -n "$(debug_reports broken)" ]
}
