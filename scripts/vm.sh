# SPDX-License-Identifier: GPL-2.0-or-later
# Booting test guests and reading what they report. Source it after lib.sh.
#
# A guest reports on its second serial port (tests/guest/init), captured in
# results.txt; the console goes to console.log for people, and the device's
# DMA trace events to trace.log. Nothing is scraped from the console.

VM_TIMEOUT=${VM_TIMEOUT:-120}

# What every guest needs built into its kernel.
KERNEL_NEEDS=(CONFIG_PCI CONFIG_PCIEPORTBUS CONFIG_PCI_MSI CONFIG_MODULES
              CONFIG_BLK_DEV_INITRD CONFIG_RD_GZIP CONFIG_DEVTMPFS
              CONFIG_SERIAL_8250_CONSOLE CONFIG_PROC_FS CONFIG_SYSFS)

# kernel_missing CONFIG_FILE OPTION...: those of the options not =y there.
kernel_missing() {
    local config=$1 opt
    shift
    for opt in "$@"; do
        grep -qE "^$opt=y" "$config" || echo "$opt"
    done
}

# Your own kernel: KERNEL=path/to/bzImage with KDIR=its build tree (or its
# installed headers). Checks what the guests need from its config, and
# prints KVER, the image and KDIR, as fetch-kernel does.
own_kernel() {
    local kver missing
    [ -f "$KERNEL" ] || die "KERNEL=$KERNEL: no such file"
    [ -n "${KDIR:-}" ] || die "KERNEL=$KERNEL needs KDIR=its build tree, to build the module against"
    [ -f "$KDIR/Makefile" ] && [ -f "$KDIR/.config" ] ||
        die "KDIR=$KDIR is not a configured kernel build tree (no Makefile or .config)"
    # The release the module's vermagic will carry.
    kver=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$KDIR/include/generated/utsrelease.h" 2>/dev/null)
    [ -n "$kver" ] || die "KDIR=$KDIR has no include/generated/utsrelease.h: build the kernel there first"
    missing=$(kernel_missing "$KDIR/.config" "${KERNEL_NEEDS[@]}" | tr '\n' ' ')
    [ -z "$missing" ] || die "the kernel in KDIR=$KDIR lacks what the test guests need: ${missing% } (each =y)"
    printf '%s\n%s\n%s\n' "$kver" "$KERNEL" "$KDIR"
}

# Build or fetch everything a boot needs (QEMU, kernel, module, initramfs),
# once per run, and record it in $OUT/env. The kernel is Debian's (KVER=...
# picks which), or your own with KERNEL=... KDIR=....
vm_prepare() {
    local qemu kernel
    if [ -n "${QEMU:-}" ]; then
        [ -x "$QEMU" ] || die "QEMU=$QEMU is not an executable"
        qemu=$QEMU
    else
        qemu=$("$TOP/scripts/build-qemu")
    fi
    if [ -n "${KERNEL:-}" ]; then
        mapfile -t kernel < <(own_kernel)
        [ ${#kernel[@]} -eq 3 ] || exit 1
        log "your kernel: ${kernel[0]} ($KERNEL), the module built against $KDIR"
    else
        mapfile -t kernel < <(GUEST_ARCH=amd64 "$TOP/scripts/fetch-kernel")
        [ ${#kernel[@]} -eq 3 ] || die "fetch-kernel failed"
    fi
    local initrd accel why
    accel=$(choose_accel 2>/dev/null) || exit 1
    why=$(choose_accel 2>&1 >/dev/null)
    initrd=$("$TOP/scripts/build-guest" "${kernel[0]}" "${kernel[2]}")
    vm_env "$qemu" "$accel" "${kernel[@]}" "$initrd" >"$OUT/env"
    log "accelerator: $why"
}

# vm_env QEMU ACCEL KVER KERNEL KDIR INITRD: an env file's lines.
# VM_IOMMU_MODULES: the IOMMU drivers the initramfs loads as modules
# (scripts/build-guest); VM_ARCH: arm64 for Debian's arm64 kernels (on
# QEMU's virt machine), else amd64 (q35).
vm_env() {
    cat <<EOF
VM_ARCH=$([[ $3 == *-arm64 ]] && echo arm64 || echo amd64)
VM_QEMU=$1
VM_KVER=$3
VM_KERNEL=$4
VM_KDIR=$5
VM_KCONFIG=$5/.config
VM_INITRD=$6
VM_ACCEL=$2
VM_IOMMU_MODULES="$(paste -sd' ' "$(dirname "$6")/root/iommu-modules" 2>/dev/null)"
EOF
}

# vm_prepare_kernels CONFIG...: after vm_prepare, each other kernel that
# those IOMMU configurations name (kernel=SERIES in tests/iommu-configs.txt):
# Debian's newest of that series (scripts/fetch-kernel, cached), the module
# built against its headers, its own initramfs, recorded in
# $OUT/kernel-SERIES/env, which those configurations' guests boot from
# (iommu_config_settings).
vm_prepare_kernels() {
    local c series kver kernel initrd arch qemu accel qemu_arm64=
    local -A seen=()
    for c in "$@"; do
        series=$(iommu_config_settings "$c" | sed -n 's/^env=kernel-//p')
        [ -n "$series" ] && [ -z "${seen[$series]:-}" ] || continue
        seen[$series]=1
        # kernel-arm64-6.1: an arm64 kernel, on qemu-system-aarch64 (TCG).
        arch=amd64
        if [[ $series == arm64-* ]]; then
            arch=arm64
            [ -n "$qemu_arm64" ] || qemu_arm64=$("$TOP/scripts/build-qemu" --aarch64) || die "qemu-system-aarch64 failed to build"
        fi
        kver=$(GUEST_ARCH=$arch "$TOP/scripts/fetch-kernel" --headers "${series#arm64-}" | sed -n 1p)
        [ -n "$kver" ] || die "no Debian $arch kernel ${series#arm64-}, which IOMMU configuration $c names"
        mapfile -t kernel < <(GUEST_ARCH=$arch KVER=$kver "$TOP/scripts/fetch-kernel")
        [ ${#kernel[@]} -eq 3 ] || die "fetch-kernel failed for $kver"
        initrd=$("$TOP/scripts/build-guest" "${kernel[0]}" "${kernel[2]}") || die "the module or the initramfs for $kver failed"
        mkdir -p "$OUT/kernel-$series"
        qemu=$(. "$OUT/env" && echo "$VM_QEMU") accel=$(. "$OUT/env" && echo "$VM_ACCEL")
        [ "$arch" = amd64 ] || qemu=$qemu_arm64 accel=tcg
        vm_env "$qemu" "$accel" "${kernel[@]}" "$initrd" >"$OUT/kernel-$series/env"
        log "kernel $series, for configuration $c and any other that names it: $kver ($OUT/kernel-$series/env)"
    done
}

# choose_accel: kvm where it really works, else tcg; ACCEL=kvm or tcg
# forces one. Prints the choice, and why on stderr. A /dev/kvm that opens
# is not enough: a paravirtual KVM without the CPU's virtualization flag
# (vmx or svm) hangs a guest right after SeaBIOS. ACCEL_CPUINFO and
# ACCEL_KVM_DEV stand in for /proc/cpuinfo and /dev/kvm in tests.
choose_accel() {
    local cpuinfo=${ACCEL_CPUINFO:-/proc/cpuinfo} dev=${ACCEL_KVM_DEV:-/dev/kvm}
    case ${ACCEL:-} in
    kvm | tcg) echo "$ACCEL"; echo "$ACCEL (ACCEL=$ACCEL)" >&2; return ;;
    "") ;;
    *) die "ACCEL=$ACCEL: write ACCEL=kvm or ACCEL=tcg" ;;
    esac
    if ! grep -qwE 'vmx|svm' "$cpuinfo" 2>/dev/null; then
        echo tcg; echo "tcg (the CPU has no vmx or svm flag; ACCEL=kvm forces KVM)" >&2
    elif [ ! -r "$dev" ] || [ ! -w "$dev" ]; then
        echo tcg; echo "tcg (cannot open $dev read-write; ACCEL=kvm forces KVM)" >&2
    else
        echo kvm; echo "kvm ($dev and the CPU's virtualization flag; ACCEL=tcg forces TCG)" >&2
    fi
}

# IOMMU configurations: those of tests/iommu-configs.txt, then the user's,
# from CONFIG_FILE (a file of such lines) and CONFIG (one line, or several
# separated by ";"): "NAME: QEMU OPTIONS | KERNEL OPTIONS [| SETTINGS]".
IOMMU_CONFIGS=$TOP/tests/iommu-configs.txt
# iommu_config_lines [builtin]: every definition (only the built-in ones).
iommu_config_lines() {
    {
        cat "$IOMMU_CONFIGS"
        if [ "${1:-}" != builtin ]; then
            [ -z "${CONFIG_FILE:-}" ] || cat "$CONFIG_FILE"
            [ -z "${CONFIG:-}" ] || tr ';' '\n' <<<"$CONFIG"
        fi
    } | sed -E 's/#.*//; /^[[:space:]]*$/d'
}
# iommu_config_names [builtin]: the configurations' names, in order.
iommu_config_names() {
    iommu_config_lines "$@" | sed -E 's/^[[:space:]]*([^:[:space:]]+)[[:space:]]*:.*/\1/' | awk '!seen[$0]++'
}
# iommu_config NAME: "QEMU OPTIONS|KERNEL OPTIONS[|SETTINGS]" of
# configuration NAME (its last definition), or non-zero if there is none.
# NAME@SERIES is configuration NAME on Debian's kernel of that series
# (audit_columns).
iommu_config() {
    local line
    line=$(iommu_config_lines | awk -v n="${1%@*}" '{ name = $0; sub(/:.*/, "", name); gsub(/[[:space:]]/, "", name) }
        name == n { sub(/^[^:]*:/, ""); found = $0 } END { if (found == "") exit 1; print found }') || return 1
    [[ $line == *"|"* ]] || die "IOMMU configuration $1: '$line' has no '|' between the QEMU and the kernel options"
    echo "$line"
}
# iommu_config_kernel NAME: the kernel series configuration NAME names
# (kernel=6.12 among its settings, or NAME@6.12), or nothing: the
# harness's kernel.
iommu_config_kernel() {
    local config kv pinned=""
    config=$(iommu_config "$1") || return 1
    config=$(cut -s -d'|' -f3- <<<"$config")
    for kv in ${config//|/ }; do
        case $kv in
        kernel=[0-9]*.[0-9]*) pinned=${kv#kernel=} ;;
        device=?* | arch=amd64 | arch=arm64) ;;
        *) die "IOMMU configuration ${1%@*}: unknown setting '$kv' (there are kernel=SERIES, such as kernel=6.12, device=PROPERTIES and arch=arm64)" ;;
        esac
    done
    if [[ $1 == *@* ]]; then
        [[ ${1##*@} =~ ^[0-9]+\.[0-9]+$ ]] || die "$1: '${1##*@}' is no kernel series (write NAME@6.12)"
        [ -z "$pinned" ] || [ "$pinned" = "${1##*@}" ] ||
            die "$1: IOMMU configuration ${1%@*} runs kernel=$pinned only"
        pinned=${1##*@}
    fi
    [ -z "$pinned" ] || echo "$pinned"
}
# iommu_config_arch NAME: the guest's architecture in configuration NAME
# (arch=arm64: Debian's arm64 kernel on QEMU's virt machine), or amd64.
iommu_config_arch() {
    local config
    config=$(iommu_config "$1") || return 1
    config=$(cut -s -d'|' -f3- <<<"$config")
    [[ " ${config//|/ } " == *" arch=arm64 "* ]] && echo arm64 || echo amd64
}
# iommu_config_device NAME: the pcie-testdev properties configuration
# NAME adds to every device (device=ats=on,...), or nothing.
iommu_config_device() {
    local config kv
    config=$(iommu_config "$1") || return 1
    config=$(cut -s -d'|' -f3- <<<"$config")
    for kv in ${config//|/ }; do
        [[ $kv != device=* ]] || echo "${kv#device=}"
    done
}
# iommu_config_model NAME: the IOMMU device QEMU models in configuration
# NAME (intel-iommu, amd-iommu, virtio-iommu; its -device), or none.
iommu_config_model() {
    local config m
    config=$(iommu_config "$1") || return 1
    m=$(grep -oE -- '-device [a-z0-9-]*iommu[a-z0-9-]*|iommu=smmuv3' <<<"${config%%|*}" | head -1 || true)
    m=${m#-device }
    m=${m#iommu=}
    m=${m%-pci}
    echo "${m:-none}"
}
# kver_in_series KVER SERIES: whether kernel release KVER is of SERIES
# (6.1.0-56-amd64 and 6.1.158 are 6.1; 6.12.57+deb12-amd64 is not).
kver_in_series() {
    case $1 in
    "$2".* | "$2"-* | "$2"+*) return 0 ;;
    *) return 1 ;;
    esac
}
# iommu_config_settings NAME: what a guest-table row in configuration NAME
# adds to its settings: env=kernel-SERIES where the configuration names a
# kernel series other than $OUT/env's (vm_prepare_kernels prepares it).
iommu_config_settings() {
    local series kver
    series=$(iommu_config_kernel "$1") || return 1
    kver=$(sed -n 's/^VM_KVER=//p' "$OUT/env" 2>/dev/null)
    # arm64: always a kernel of its own, of the harness kernel's series
    # unless the configuration names one (env=kernel-arm64-SERIES).
    if [ "$(iommu_config_arch "$1")" = arm64 ]; then
        [[ -n $series || ! $kver =~ ^([0-9]+\.[0-9]+) ]] || series=${BASH_REMATCH[1]}
        echo "env=kernel-arm64-$series"
        return 0
    fi
    [ -n "$series" ] || return 0
    kver_in_series "$kver" "$series" || echo "env=kernel-$series"
}

# vm_boot NAME IOMMU MODE DEVICES DEVICE_PROPS [IDLE_SECONDS]
#   IOMMU: a configuration of tests/iommu-configs.txt (none, intel, ...)
#   or one the user defined (CONFIG, CONFIG_FILE).
#   MODE: selftest | repeat | audit | remove | idle (see tests/guest/init).
# Boots one guest with DEVICES pcie-testdevs, each behind its own root port
# as in the seed README, and leaves its output in $OUT/vm/NAME.
# Returns non-zero if QEMU failed or the guest did not report to the end.
# Optional settings, as variables for one call (VM_MEM=6G vm_boot ...):
#   VM_MEM     guest RAM (default 512M)
#   VM_APPEND  more kernel options (swiotlb=force, pci=nomsi, ...)
#   VM_SLOTS   the root ports' slots on pcie.0, one per device (default
#              7, 8, ...); slots 4 apart share an INTx line on q35
#   VM_TRACE   more QEMU trace events for trace.log
#   VM_SMP     vCPUs (default 1)
#   VM_QMP     1: a QMP socket, $OUT/vm/NAME/qmp.sock (scripts/qmp drives it)
#   VM_QEMU_OPTS  more QEMU options (a -global, say)
#   VM_INCOMING   a migration URI to load the VM from (-incoming): the run
#              appends to the guest's results.txt and console.log, and
#              traces into trace-incoming.log (vm_migrate)
vm_boot() {
    local name=$1 dir=$OUT/vm/$1 rc start
    vm_args "$@" || return 1
    printf '%q ' "$VM_QEMU" "${VM_ARGS[@]}" >"$dir/cmdline"
    echo >>"$dir/cmdline"

    start=$SECONDS
    rc=0
    timeout "$VM_TIMEOUT" "$VM_QEMU" "${VM_ARGS[@]}" >"$dir/qemu.log" 2>&1 || rc=$?
    echo $((SECONDS - start)) >"$dir/seconds"
    vm_outcome "$name" "$rc" QEMU
}

# vm_outcome NAME RC WHICH: whether guest NAME, whose QEMU (WHICH) exited
# with RC, reported to the end; says why not.
vm_outcome() {
    local dir=$OUT/vm/$1
    if [ "$2" -eq 124 ]; then
        echo "guest $1: timed out after ${VM_TIMEOUT}s (console: $dir/console.log)" >&2
        return 1
    elif [ "$2" -ne 0 ]; then
        echo "guest $1: $3 exited with $2: $(tail -3 "$dir/qemu.log")" >&2
        return 1
    elif ! grep -qx 'end' "$dir/results.txt" 2>/dev/null; then
        echo "guest $1: did not report to the end (console: $dir/console.log)" >&2
        return 1
    fi
}

# vm_args NAME IOMMU MODE DEVICES DEVICE_PROPS [IDLE_SECONDS]: QEMU's
# arguments for vm_boot, in VM_ARGS; makes $OUT/vm/NAME anew. The console
# goes to VM_CONSOLE (a -serial backend; default its console.log).
vm_args() {
    local name=$1 iommu=$2 mode=$3 devices=$4 props=$5 idle=${6:-3}
    local dir=$OUT/vm/$name args=() append i slots config qopts kopts missing machine=q35 trace=trace.log
    local extra dprops VM_IOMMU_MODULES='' env=${guest_env:-$OUT/env}
    read -ra slots <<<"${VM_SLOTS:-}"
    read -ra extra <<<"${VM_QEMU_OPTS:-}"
    if [ ! -f "$env" ]; then
        echo "guest $name: no $env: its kernel was not prepared (vm_prepare, vm_prepare_kernels)" >&2
        return 1
    fi
    # shellcheck disable=SC1090
    . "$env"
    # A VM loaded from a migration carries on in the same folder.
    if [ -n "${VM_INCOMING:-}" ]; then
        trace="trace-incoming.log"
    else
        rm -rf "$dir"
        mkdir -p "$dir"
    fi
    # no_timer_check: on a loaded host, TCG can miss the kernel's check that
    # the timer ticks through the (interrupt-remapped) IO-APIC, and panic.
    append="console=ttyS0 quiet panic=-1 no_timer_check testdev.mode=$mode testdev.idle=$idle testdev.config=$iommu${VM_APPEND:+ $VM_APPEND}"
    args=(-m "${VM_MEM:-512M}" -smp "${VM_SMP:-1}" -nodefaults -display none -no-reboot
          -L /usr/share/qemu -L /usr/share/seabios
          -kernel "$VM_KERNEL" -initrd "$VM_INITRD"
          -chardev "file,id=console,path=$dir/console.log,append=on"
          -chardev "file,id=results,path=$dir/results.txt,append=on"
          -serial "${VM_CONSOLE:-chardev:console}" -serial chardev:results
          -trace pcie_testdev_reset)
    if [ "${VM_QMP:-}" = 1 ]; then
        rm -f "$dir/qmp.sock"
        args+=(-qmp "unix:$dir/qmp.sock,server=on,wait=off")
    fi
    [ -z "${VM_INCOMING:-}" ] || args+=(-incoming "$VM_INCOMING")
    args+=("${extra[@]}")
    for i in ${VM_TRACE:-}; do
        args+=(-trace "$i")
    done
    # Last: the file a -trace names is where every event goes, and one
    # without a file resets it.
    args+=(-trace "pcie_testdev_dma,file=$dir/$trace")
    if ! config=$(iommu_config "$iommu"); then
        echo "guest $name: no IOMMU configuration '$iommu' (there are: $(iommu_config_names | tr '\n' ' ')); add one with CONFIG=\"NAME: QEMU OPTIONS | KERNEL OPTIONS\"" >&2
        return 1
    fi
    read -ra qopts <<<"${config%%|*}"
    kopts=$(cut -d'|' -f2 <<<"$config" | xargs)
    iommu_config_kernel "$iommu" >/dev/null
    dprops=$(iommu_config_device "$iommu")
    # The kernel must have the driver of the IOMMU the configuration adds,
    # unless the configuration's name says it shows what happens without
    # one (NAME-nodriver).
    # A driver built as a module counts when the initramfs loads it
    # (VM_IOMMU_MODULES: virtio-iommu in Debian's 6.12).
    missing=
    [[ $iommu == *-nodriver ]] ||
        missing=$(case "${config%%|*}" in
              *intel-iommu*) kernel_missing "$VM_KCONFIG" CONFIG_INTEL_IOMMU ;;
              *iommu=smmuv3*) kernel_missing "$VM_KCONFIG" CONFIG_ARM_SMMU_V3 ;;
              *amd-iommu*) kernel_missing "$VM_KCONFIG" CONFIG_AMD_IOMMU ;;
              *virtio-iommu*) [[ " $VM_IOMMU_MODULES " == *" virtio-iommu "* ]] ||
                              kernel_missing "$VM_KCONFIG" CONFIG_VIRTIO_IOMMU ;;
              esac)
    if [ -n "$missing" ]; then
        echo "guest $name: its kernel ($VM_KVER) lacks $missing (=y, or =m with the module in its initramfs), which IOMMU configuration $iommu needs" >&2
        return 1
    fi
    # arm64: QEMU's virt machine under TCG, its PL011s as the serial
    # ports, a CPU without pointer authentication (whose emulation costs
    # 10 s a boot); PCIe root ports of the generic kind.
    local port=ioh3420
    if [ "${VM_ARCH:-amd64}" = arm64 ]; then
        machine=virt,accel=tcg
        args+=(-cpu cortex-a57)
        append=${append/console=ttyS0/console=ttyAMA0}
        port=pcie-root-port
        # The rogue device's addresses: x86's low RAM; virt's starts at 1 GiB.
        props=${props//"$ROGUE_COPY"/"$ROGUE_COPY_ARM64"}
    # KVM as the seed runs it: with an intel-iommu, the IOAPIC in QEMU.
    elif [ "${VM_ACCEL:-tcg}" = kvm ]; then
        machine=q35,accel=kvm
        [[ " ${qopts[*]} " != *intel-iommu* ]] || machine+=,kernel-irqchip=split
    else
        machine=q35,accel=tcg
    fi
    # The IOMMU device comes first, so every PCI device is behind it.
    args=(-M "$machine" "${qopts[@]}" "${args[@]}")
    append+="${kopts:+ $kopts}"
    for ((i = 0; i < devices; i++)); do
        args+=(-device "$port,id=root_port$i,bus=pcie.0,addr=$(printf %x "${slots[i]:-$((7 + i))}").0,chassis=$((i + 1))"
               -device "pcie-testdev,bus=root_port$i,id=testdev$i$props${dprops:+,$dprops}")
    done
    VM_ARGS=("${args[@]}" -append "$append")
}

# The guest table: one guest a line, fields separated by "|":
#   NAME | IOMMU | MODE | DEVICES | DEVICE PROPERTIES | SETTINGS
# IOMMU, MODE, DEVICES and DEVICE PROPERTIES as vm_boot takes them; in the
# properties $ROGUE and $ROGUE_COPY stand for the rogue device's (below).
# SETTINGS, KEY=VALUE words, for that guest alone:
#   idle=S     seconds the guest idles at its end (tests/guest/init)
#   mem=SIZE   its RAM (VM_MEM)         smp=N      its vCPUs (VM_SMP)
#   append=OPT a kernel option (VM_APPEND; one a word, as many as needed)
#   slots=A,B  the root ports' slots (VM_SLOTS)
#   trace=E,F  more QEMU trace events (VM_TRACE)
#   timeout=xN N times VM_TIMEOUT
#   how=boot   boot it (vm_boot; the default), how=hotplug: unplug and
#              plug its device while it runs (vm_hotplug_boot), how=migrate:
#              migrate it while it runs (vm_migrate)
#   hotplug=pciehp  native PCIe hotplug on its root ports, ACPI's off
#   env=DIR    what to boot from $OUT/DIR/env, not $OUT/env (another
#              initramfs, say)
# "#" starts a comment. tests/guests.txt is make check's.
PCIEHP="-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"

# vm_run_guest ROW: boot the guest of one table row, and record how it
# ended in $OUT/vm/NAME/status ("0", or the exit status and why).
vm_run_guest() {
    local name iommu mode devices props settings kv v idle= how=boot rc=0 why= guest_env f
    IFS='|' read -r name iommu mode devices props settings <<<"$1"
    for f in name iommu mode devices props settings; do
        read -r "${f?}" <<<"${!f}"
    done
    props=${props//'$ROGUE_COPY'/$ROGUE_COPY}
    props=${props//'$ROGUE'/$ROGUE}
    for kv in $settings; do
        case $kv in
        idle=[0-9]*) idle=${kv#*=} ;;
        mem=*) VM_MEM=${kv#*=} ;;
        smp=[1-9]*) VM_SMP=${kv#*=} ;;
        append=*) VM_APPEND="${VM_APPEND:+$VM_APPEND }${kv#*=}" ;;
        slots=*) VM_SLOTS=${kv#*=}; VM_SLOTS=${VM_SLOTS//,/ } ;;
        trace=*) v=${kv#*=}; VM_TRACE="${VM_TRACE:+$VM_TRACE }${v//,/ }" ;;
        how=boot | how=hotplug | how=migrate) how=${kv#*=} ;;
        hotplug=pciehp) VM_QEMU_OPTS="${VM_QEMU_OPTS:+$VM_QEMU_OPTS }$PCIEHP" ;;
        env=*) guest_env=$OUT/${kv#*=}/env ;;
        *)
            if [[ $kv =~ ^timeout=x([1-9][0-9]*)$ ]]; then
                VM_TIMEOUT=$((VM_TIMEOUT * BASH_REMATCH[1]))
            else
                why="guest $name: unknown setting '$kv' in its table row" rc=1
            fi ;;
        esac
    done
    if [ -n "$idle" ] && [ "$how" != boot ]; then
        why="guest $name: idle= is for how=boot guests" rc=1
    fi
    if [ "$rc" -eq 0 ]; then
        case $how in
        boot) why=$(vm_boot "$name" "$iommu" "$mode" "$devices" "$props" "${idle:-3}" 2>&1) || rc=$? ;;
        hotplug) why=$(vm_hotplug_boot "$name" "$iommu" "$mode" "$devices" "$props" 2>&1) || rc=$? ;;
        migrate) why=$(vm_migrate "$name" "$iommu" "$mode" "$devices" "$props" 2>&1) || rc=$? ;;
        esac
    fi
    mkdir -p "$OUT/vm/$name"
    # The host's steps of hot plug and migration say which one failed.
    [ "$rc" -eq 0 ] || [ -n "$why" ] ||
        why=$(grep -h '^failed' "$OUT/vm/$name/host.txt" 2>/dev/null | sed "s/^/guest $name: host step /" | tail -1)
    if [ "$rc" -eq 0 ]; then echo 0; else echo "$rc ${why:-exit $rc}" | head -1; fi >"$OUT/vm/$name/status"
    if [ -f "$OUT/vm/$name/seconds" ]; then
        echo "$name $(cat "$OUT/vm/$name/seconds")" >>"$OUT/vm-seconds"
    fi
    if [ "$rc" -eq 0 ]; then
        log "guest $name: reported in $(cat "$OUT/vm/$name/seconds" 2>/dev/null || echo ?) s"
    else
        log "guest $name: FAILED: ${why:-exit $rc}"
    fi
}

# vm_table_rows [TABLE...]: the rows of the tables (standard input if
# none), without comments; fails, naming it, on a row that is not six
# fields with a name of lowercase letters, digits and dashes (and
# @SERIES, audit_columns), an IOMMU, a mode and a number of devices.
vm_table_rows() {
    cat "$@" | sed 's/#.*//' | awk -F'|' '
        !/[^[:space:]]/ { next }
        { row = $0; for (i = 1; i <= NF; i++) gsub(/^[[:space:]]+|[[:space:]]+$/, "", $i) }
        NF != 6 || $1 !~ /^[a-z0-9][a-z0-9-]*(@[0-9]+\.[0-9]+)?$/ || $2 == "" || $3 == "" || $4 !~ /^[1-9][0-9]*$/ {
            print "guest table: not NAME | IOMMU | MODE | DEVICES | DEVICE PROPERTIES | SETTINGS: " row > "/dev/stderr"
            bad = 1; next
        }
        { print row }
        END { exit bad }'
}

# vm_run_table [TABLE...]: boot every guest of the tables' rows (standard
# input if none), VM_JOBS at a time (default: one a core), each under its
# timeout. Returns non-zero if a row is malformed, if there is none, or
# if any guest did not report to the end; each one's status is in its
# folder (vm_status). Each guest's time goes to $OUT/vm-seconds.
VM_JOBS=${VM_JOBS:-$(nproc)}
vm_run_table() {
    local rows row names=() running=0 name
    [[ $VM_JOBS =~ ^[1-9][0-9]*$ ]] || die "VM_JOBS=$VM_JOBS: write how many guests may boot at once (1, 2, ...)"
    mapfile -t rows < <(vm_table_rows "$@" || echo "!bad")
    [[ " ${rows[*]} " != *" !bad "* ]] || return 1
    [ ${#rows[@]} -gt 0 ] || { echo "guest table: no guest to boot" >&2; return 1; }
    # The longest first, by the last run's times (a first run: in order),
    # so that no long guest is left to run alone at the end.
    mapfile -t rows < <(for row in "${rows[@]}"; do
                            read -r name <<<"${row%%|*}"
                            printf '%s\t%s\n' "$(awk -v n="$name" '$1 == n { s = $2 } END { print s + 0 }' \
                                                 "$OUT/vm-seconds" 2>/dev/null || echo 0)" "$row"
                        done | sort -s -t$'\t' -k1,1nr | cut -f2-)
    for row in "${rows[@]}"; do
        read -r name <<<"${row%%|*}"
        names+=("$name")
        if [ "$running" -ge "$VM_JOBS" ]; then
            wait -n || true
            running=$((running - 1))
        fi
        rm -rf "${OUT:?}/vm/${name:?}"
        vm_run_guest "$row" &
        running=$((running + 1))
    done
    wait
    for name in "${names[@]}"; do
        [ "$(vm_status "$name")" = 0 ] || return 1
    done
}
# vm_status NAME: "0" if guest NAME reported to the end, else the exit
# status and why not.
vm_status() { cat "$OUT/vm/$1/status" 2>/dev/null || echo "1 guest $1: not run (no status)"; }
# vm_rows NAME...: those guests' rows of tests/guests.txt; fails on a
# name it does not have.
vm_rows() {
    local name row
    for name in "$@"; do
        row=$(awk -F'|' -v n="$name" '{ k = $1; gsub(/[[:space:]]/, "", k) } k == n' "$TOP/tests/guests.txt")
        [ -n "$row" ] || { echo "tests/guests.txt has no guest $name" >&2; return 1; }
        echo "$row"
    done
}

# vm_await NAME LINE SECONDS [PID]: wait, SECONDS at most, for the guest's
# line LINE in its results.txt, and while PID (its QEMU) runs.
vm_await() {
    local f=$OUT/vm/$1/results.txt end=$((SECONDS + $3))
    until grep -qx "$2" "$f" 2>/dev/null; do
        if [ "$SECONDS" -ge "$end" ]; then
            echo "guest $1: no '$2' line within $3 s" >&2
            return 1
        elif [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
            echo "guest $1: QEMU ended before its '$2' line" >&2
            return 1
        fi
        sleep 0.1
    done
}

# qmp NAME STEP...: scripts/qmp on guest NAME's monitor, logged in qmp.log.
qmp() {
    local dir=$OUT/vm/$1
    shift
    echo "qmp $*" >>"$dir/qmp.log"
    /usr/bin/python3 "$TOP/scripts/qmp" --timeout 60 "$dir/qmp.sock" "$@" >>"$dir/qmp.log" 2>&1
}
# host NAME WORDS...: a line of what the host did, in the guest's host.txt.
host() {
    local name=$1
    shift
    echo "$*" >>"$OUT/vm/$name/host.txt"
}

# vm_hotplug_boot NAME IOMMU MODE DEVICES DEVICE_PROPS: vm_boot for
# tests/guest/init's hotplug modes, with the host's part beside it. On
# the guest's "copy-pending" line it unplugs testdev0 with device_del and
# waits for QEMU's DEVICE_DELETED event; on the guest's "device-gone"
# line it plugs a new pcie-testdev on the same root port with device_add.
# Each wait is bounded; the host's steps go to host.txt ("unplugged
# SECONDS", "plugged", or "failed STEP"), QMP's replies and events to
# qmp.log. It sets VM_QMP=1 for the monitor's socket.
vm_hotplug_boot() {
    local name=$1 boot rc=0
    # No stale results.txt for the host to read before vm_boot makes it anew.
    rm -rf "${OUT:?}/vm/$name"
    VM_QMP=1 vm_boot "$@" &
    boot=$!
    vm_hotplug "$name" "$boot" || true
    wait "$boot" || rc=$?
    return "$rc"
}
vm_hotplug() {
    local name=$1 pid=$2 start
    vm_await "$name" copy-pending 90 "$pid" || { host "$name" "failed copy-pending"; return 1; }
    start=$SECONDS
    qmp "$name" 'device_del {"id": "testdev0"}' 'event DEVICE_DELETED {"device": "testdev0"}' ||
        { host "$name" "failed device_del"; return 1; }
    host "$name" "unplugged $((SECONDS - start))"
    vm_await "$name" 'device-gone [0-9]*' 30 "$pid" || { host "$name" "failed device-gone"; return 1; }
    qmp "$name" "device_add {\"driver\": \"pcie-testdev\", \"bus\": \"root_port0\", \"id\": \"testdev0-new\"}" ||
        { host "$name" "failed device_add"; return 1; }
    host "$name" plugged
}

# vm_migrate NAME IOMMU MODE DEVICES DEVICE_PROPS: vm_boot for
# tests/guest/init's migrate modes, through a migration. On the guest's
# "copy-pending" line the host stops the VM, migrates it to a file,
# waits for the migration to complete and quits QEMU; then starts a new
# QEMU with the same arguments and -incoming from the file, waits for the
# load and continues the VM there, which runs to the guest's end. Each
# QEMU runs under VM_TIMEOUT, and is stopped at once if a step fails; the
# host's steps go to host.txt ("saved SECONDS", "source-exit STATUS",
# "loaded SECONDS", "incoming-status STATUS", "state-bytes N", or
# "failed STEP"), QMP's to qmp.log. The state file is removed at the end.
vm_migrate() {
    local name=$1 dir=$OUT/vm/$1 pid rc t start state=$OUT/vm/$1/vmstate
    VM_QMP=1 vm_args "$@" || return 1
    printf '%q ' "$VM_QEMU" "${VM_ARGS[@]}" >"$dir/cmdline"
    echo >>"$dir/cmdline"
    start=$SECONDS
    timeout "$VM_TIMEOUT" "$VM_QEMU" "${VM_ARGS[@]}" >"$dir/qemu.log" 2>&1 &
    pid=$!
    if ! vm_await "$name" copy-pending 90 "$pid"; then
        host "$name" "failed copy-pending"
    else
        t=$SECONDS
        if qmp "$name" stop "migrate {\"uri\": \"file:$state\"}" 'until query-migrate status completed' quit; then
            host "$name" "saved $((SECONDS - t))"
        else
            host "$name" "failed save"
        fi
    fi
    # Saved, QEMU has quit; else, stop it (this function started it).
    grep -q '^saved ' "$dir/host.txt" 2>/dev/null || kill "$pid" 2>/dev/null || true
    wait "$pid" && rc=0 || rc=$?
    host "$name" "source-exit $rc"
    grep -q '^saved ' "$dir/host.txt" && [ "$rc" -eq 0 ] || return 1

    VM_QMP=1 VM_INCOMING=file:$state vm_args "$@" || return 1
    printf '%q ' "$VM_QEMU" "${VM_ARGS[@]}" >>"$dir/cmdline"
    echo >>"$dir/cmdline"
    timeout "$VM_TIMEOUT" "$VM_QEMU" "${VM_ARGS[@]}" >>"$dir/qemu.log" 2>&1 &
    pid=$!
    t=$SECONDS
    if ! qmp "$name" 'until query-migrate status completed'; then
        host "$name" "failed load"
        kill "$pid" 2>/dev/null || true
    else
        host "$name" "loaded $((SECONDS - t))"
        # Saved stopped, the VM loads stopped: cont runs it.
        host "$name" "incoming-status $(qmp_status "$name")"
        qmp "$name" cont || { host "$name" "failed cont"; kill "$pid" 2>/dev/null || true; }
    fi
    wait "$pid" && rc=0 || rc=$?
    echo $((SECONDS - start)) >"$dir/seconds"
    host "$name" "state-bytes $(stat -c %s "$state")"
    rm -f "$state"
    vm_outcome "$name" "$rc" "the new QEMU"
}
# qmp_status NAME: the VM's run state (running, paused, ...).
qmp_status() {
    /usr/bin/python3 "$TOP/scripts/qmp" --timeout 60 "$OUT/vm/$1/qmp.sock" query-status 2>/dev/null |
        sed -n 's/.*"status": "\([a-z-]*\)".*/\1/p'
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

# The audit matrix: tests/audit-expected.txt holds what each configuration
# must do with each scenario of testdevctl audit.
AUDIT_TABLE=$TOP/tests/audit-expected.txt
audit_configs() { awk '!/^#/ && $1 == "scenario" { $1 = ""; print; exit }' "$AUDIT_TABLE"; }
# audit_kernels: the kernel series of AUDIT_KERNELS (separated by spaces
# or commas: "6.1 6.12", as CI runs it), one a line, or fails saying why.
audit_kernels() {
    local s
    for s in ${AUDIT_KERNELS:+${AUDIT_KERNELS//,/ }}; do
        [[ $s =~ ^[0-9]+\.[0-9]+$ ]] || die "AUDIT_KERNELS: '$s' is no kernel series (write, say, AUDIT_KERNELS=\"6.1 6.12\")"
        echo "$s"
    done
}
# audit_arches: the guest architectures of AUDIT_ARCHES (amd64, arm64;
# by default amd64 alone), one a line, or fails saying why.
audit_arches() {
    local a
    for a in ${AUDIT_ARCHES:-amd64}; do
        for a in ${a//,/ }; do
        case $a in
        amd64 | arm64) echo "$a" ;;
        *) die "AUDIT_ARCHES: '$a' is no architecture (write, say, AUDIT_ARCHES=\"amd64 arm64\")" ;;
        esac
        done
    done
}
# audit_arch_configs: the table's columns whose architecture AUDIT_ARCHES
# names (make soak's and make bench's default), or fails saying why.
audit_arch_configs() {
    local c arch arches
    arches=$(audit_arches) || return 1
    for c in $(audit_configs); do
        arch=$(iommu_config_arch "$c") || die "tests/audit-expected.txt: column $c has no IOMMU configuration"
        grep -qx "$arch" <<<"$arches" && echo "$c"
    done
    return 0
}
# audit_columns: the audit's guests, one a column: each configuration of
# the table whose architecture AUDIT_ARCHES names, on each kernel series
# of AUDIT_KERNELS (by default the harness's kernel alone), the harness's
# first: NAME on the harness's kernel, NAME@SERIES on another; one that
# names its kernel (kernel=) runs once, on that. After vm_prepare
# ($OUT/env names the harness's kernel). Call it as
# cols=$(audit_columns) || exit: a bad AUDIT_KERNELS or AUDIT_ARCHES
# fails it.
audit_columns() {
    local c s kver series configs=()
    kver=$(sed -n 's/^VM_KVER=//p' "$OUT/env")
    [ -n "$kver" ] || die "audit_columns: no harness kernel in $OUT/env (vm_prepare first)"
    series=$(audit_kernels) || return 1
    mapfile -t configs < <( (audit_arch_configs) || echo "!")
    [[ " ${configs[*]} " != *" ! "* ]] || return 1
    {
        printf '%s\n' "${configs[@]}"
        for s in $series; do
            kver_in_series "$kver" "$s" && continue
            for c in "${configs[@]}"; do
                [ -n "$(iommu_config_kernel "$c")" ] || echo "$c@$s"
            done
        done
    } | awk '!seen[$0]++'
}
# audit_selected_configs [DEFAULT...]: CONFIGS (comma-separated names), or
# else the DEFAULT names, or else every configuration of the table and the
# user's (CONFIG, CONFIG_FILE).
audit_selected_configs() {
    local c names
    if [ -z "${CONFIGS:-}" ] && [ $# -gt 0 ]; then
        echo "$@"
        return
    fi
    if [ -n "${CONFIGS:-}" ]; then
        names=${CONFIGS//,/ }
        for c in $names; do
            iommu_config "$c" >/dev/null ||
                die "CONFIGS: no IOMMU configuration '$c' (there are: $(iommu_config_names | tr '\n' ' '))"
            # NAME@SERIES: a series, and one NAME may run on.
            iommu_config_kernel "$c" >/dev/null || return 1
        done
    else
        names=$(audit_columns) || return 1
        names="$names $(iommu_config_names | grep -vxF -f <(iommu_config_names builtin) | tr '\n' ' ')"
    fi
    echo $names
}
# audit_rows: the rows of testdevctl audit's table, the domain first; not
# the driver's transfers at insmod (transfer_expected).
audit_rows() { awk '!/^#/ && NF && $1 != "scenario" && $1 !~ /^insmod-/ { print $1 }' "$AUDIT_TABLE"; }
# table_cell TABLE ROW CONFIG: a cell of an expected table, whose first
# line (not a comment) names the configurations.
table_cell() {
    awk -v row="$2" -v cfg="$3" '
        !/^#/ && NF && !head { head = 1; for (i = 2; i <= NF; i++) col[$i] = i; next }
        !/^#/ && $1 == row && (cfg in col) { print $(col[cfg]) }' "$1"
}
# audit_expected ROW CONFIG: CONFIG's cell; for NAME@SERIES, NAME's where
# the table has no column of its own for that kernel.
audit_expected() {
    local v
    v=$(table_cell "$AUDIT_TABLE" "$1" "$2")
    [ -n "$v" ] || [[ $2 != *@* ]] || v=$(table_cell "$AUDIT_TABLE" "$1" "${2%@*}")
    [ -z "$v" ] || echo "$v"
}

# The driver's two transfers at insmod ("transfer N (...): ... -> VERDICT",
# vm_transfer). What each configuration must do with them is in the same
# table, rows insmod-transfer-1 and insmod-transfer-2.
# shellcheck disable=SC2034 # for the scripts that source this one
TRANSFER_NAMES=("DMA handles (IOVAs)" "CPU physical addresses")
# transfer_expected N CONFIG: transfer N's verdict in configuration CONFIG
# (a column of the table).
transfer_expected() { audit_expected "insmod-transfer-$1" "$2"; }
# make demo's two guests (and make check's first two), named as the demo
# prints them, and the configuration each boots: its column of the table.
# shellcheck disable=SC2034 # for the scripts that source this one
DEMO_GUESTS=(no-iommu intel-iommu)
# shellcheck disable=SC2034 # for the scripts that source this one
declare -A DEMO_CONFIG=([no-iommu]=none [intel-iommu]=intel)
# audit_json CONFIG: what the guest of audit-CONFIG printed of testdevctl
# audit --json ("json LINE" in its results): the array, one record a
# scenario.
audit_json() { sed -n 's/^json //p' "$OUT/vm/audit-$1/results.txt" 2>/dev/null; }
# audit_observed CONFIG ROW: what the guest of audit-CONFIG saw, from
# testdevctl audit --json ("json LINE"): a scenario's verdict (skip if it
# did not run), or the domain; missing when the guest did not say.
audit_observed() {
    local v
    v=$(audit_json "$1" |
        jq -r --arg row "$2" 'if $row == "domain" then first(.[] | .domain)
                              else .[] | select(.scenario == $row) | .observed // "skip" end' 2>/dev/null | head -1)
    echo "${v:-missing}"
}
# audit_ktap_observed CONFIG ROW: the same from its --ktap run.
audit_ktap_observed() {
    local f=$OUT/vm/audit-$1/results.txt v
    v=$(sed -n "s/^audit ok [0-9]* pcie-testdev0: $2 # SKIP .*/skip/p
                s/^audit \(not \)\{0,1\}ok [0-9]* pcie-testdev0: $2 # expected [a-z-]*, observed \([a-z-]*\);.*/\2/p" "$f" 2>/dev/null)
    echo "${v:-missing}"
}
# audit_detail CONFIG ROW: what the guest of audit-CONFIG said about ROW
# (testdevctl audit --json's detail, as audit_observed's verdict).
audit_detail() {
    audit_json "$1" |
        jq -r --arg row "$2" 'first(.[] | select(.scenario == $row) | .detail // empty)' 2>/dev/null || true
}
# audit_figure CONFIG FIGURE: what the guest of audit-CONFIG measured:
#   stale-window  how long a stale IOVA kept landing after its unmap:
#                 "A-B ms" (a window, then blocked), "none" (refused at
#                 once), ">N ms" (still landing when the scenario stopped)
#   subpage-leak  bytes past a 64-byte mapping the device read ("N B")
#   rogue-copies  the rogue device's copies before the driver stopped it,
#                 "LANDED/FAULTED"
#   ats-invalidations  the device-IOTLB invalidations the device received
#                 in the stale-iova scenario (the unmap's), "-" where the
#                 guest did not enable the device's ATS (ats=on)
# "?" if the guest did not say, "-" if the scenario did not run.
audit_figure() {
    local d v=""
    case $2 in
    stale-window)
        d=$(audit_detail "$1" stale-iova)
        v=$(sed -n 's/.*; window \([0-9.]*-[0-9.]*\) ms after.*/\1 ms/p
                   s/.*; refused at once.*/none/p
                   s/.*; still landing \([0-9]*\) ms after.*/>\1 ms/p' <<<"$d") ;;
    subpage-leak)
        d=$(audit_detail "$1" subpage-exposure)
        v=$(sed -n 's/.*; \([0-9]*\) bytes past the 64-byte mapping came out.*/\1 B/p' <<<"$d")
        [ -n "$v" ] || [ "$(audit_observed "$1" subpage-exposure)" != blocked ] || v="0 B" ;;
    rogue-copies)
        d=$(audit_detail "$1" rogue-before-driver)
        v=$(sed -n 's/^\([0-9]*\) copies landed and \([0-9]*\) faulted.*/\1\/\2/p' <<<"$d")
        [ -n "$v" ] || [ "$(audit_observed "$1" rogue-before-driver)" != skip ] || v=- ;;
    ats-invalidations)
        d=$(audit_detail "$1" stale-iova)
        v=$(sed -n 's/.*; ATS: [0-9]* translation requests, \([0-9]*\) device-IOTLB invalidations.*/\1/p' <<<"$d")
        [ -n "$v" ] || [ -z "$d" ] || v=- ;;
    *) die "audit_figure: no figure '$2'" ;;
    esac
    echo "${v:-?}"
}
# AUDIT_FIGURES: the figures make audit shows under its verdicts.
# shellcheck disable=SC2034 # for the scripts that source this one
AUDIT_FIGURES=(stale-window subpage-leak rogue-copies ats-invalidations)
# audit_json_observed CONFIG: "ROW OBSERVED" lines from testdevctl audit --json.
audit_json_observed() {
    audit_json "$1" |
        jq -r '.[] | "\(.scenario) \(.observed // "skip")"'
}
# A rogue device, as in the seed README: aggressive mode from power-on,
# copying one byte of low RAM into another every 100 ms.
ROGUE_COPY=",aggressive=on,srcaddr=0x0009f000,dstaddr=0x0009fb00,size=1"
ROGUE="$ROGUE_COPY,aggression_delay_ms=100"
ROGUE_COPY_ARM64=",aggressive=on,srcaddr=0x4009f000,dstaddr=0x4009fb00,size=1"

# config_rows MODE DEVICES PROPS SETTINGS CONFIG...: a guest-table row
# (vm_run_table) for guest MODE-CONFIG in each configuration, on the kernel
# it names (iommu_config_settings; vm_prepare_kernels first).
config_rows() {
    local mode=$1 devices=$2 props=$3 settings=$4 c
    shift 4
    for c in "$@"; do
        echo "$mode-$c | $c | $mode | $devices | $props | $settings $(iommu_config_settings "$c")"
    done
}
# vm_boot_configs MODE DEVICES PROPS CONFIG...: boot those rows; fails if
# any guest did.
vm_boot_configs() { config_rows "$1" "$2" "$3" "" "${@:4}" | vm_run_table; }

# audit_guest_rows SETTINGS CONFIG...: the audit's guest in each
# configuration (audit-CONFIG), with a rogue device that the driver stops
# at probe: rows for vm_run_table, with SETTINGS (smp=2, ...).
audit_guest_rows() { config_rows audit 1 '$ROGUE' "$1" "${@:2}"; }
# audit_boot_all [CONFIG...]: boot the audit in those configurations
# (every column, audit_columns).
audit_boot_all() {
    local configs
    if [ $# -gt 0 ]; then configs=("$@"); else mapfile -t configs < <(audit_columns); fi
    audit_guest_rows "" "${configs[@]}" | vm_run_table
}

# exposure_boot_all CONFIG...: boot those configurations in exposure mode,
# with a second device whose buffer is another canary, tracing the scans.
exposure_boot_all() {
    VM_TRACE="${VM_TRACE:+$VM_TRACE }$EXPOSURE_TRACE" vm_boot_configs exposure 2 "" "$@"
}

# The reachability map: what the device, scanning as a rogue one
# (testdevctl scan, then testdevctl exposure), reached at each moment.
# tests/exposure-expected.txt holds what each configuration must show. A
# cell is RAM/CANARIES: RAM is all (at least 90% of the guest's RAM
# readable and writable), mapped (only the driver's buffers), none, or
# some(N pages); for the scan of the streaming buffer's page just after
# its unmap, reachable or none. CANARIES are the letters of the canaries
# found (u user page, h kernel heap object, p another device's buffer, o
# the device's coherent buffer, s its streaming buffer), or -.
EXPOSURE_TABLE=$TOP/tests/exposure-expected.txt
EXPOSURE_TRACE="pcie_testdev_scan_*"
exposure_configs() { awk '!/^#/ && NF { $1 = ""; print; exit }' "$EXPOSURE_TABLE"; }
exposure_moments() { awk '!/^#/ && NF && n++ { print $1 }' "$EXPOSURE_TABLE"; }
exposure_expected() { table_cell "$EXPOSURE_TABLE" "$1" "$2"; }

# exposure_scan CONFIG MOMENT: the scan's number, the driver's coherent and
# streaming buffers' bus addresses, as the guest reported them.
exposure_scan() {
    local f=$OUT/vm/exposure-$1/results.txt seq bufs
    seq=$(sed -n "s/^exposure moment $2: scan \([0-9]*\) .*/\1/p" "$f" 2>/dev/null)
    bufs=$(sed -n 's/^exposure buffers: own coherent \(0x[0-9a-f]*\), streaming \(0x[0-9a-f]*\),.*/\1 \2/p' "$f" 2>/dev/null)
    echo "${seq:-none} ${bufs:-0x0 0x0}"
}

# exposure_awk CONFIG MOMENT PROGRAM: run PROGRAM over the scan's trace
# events, with seq, own, stream and moment set, and hex() to read
# addresses (mawk has no strtonum).
exposure_awk() {
    local seq own stream
    read -r seq own stream < <(exposure_scan "$1" "$2")
    awk -v seq="$seq" -v own="$own" -v stream="$stream" -v moment="$2" -v ram_pages="$EXPOSURE_RAM_PAGES" '
        function hex(s,   i, n) {
            n = 0; s = tolower(substr(s, 3))
            for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return n
        }
        { sub(/^.*pcie_testdev_scan_/, "pcie_testdev_scan_") }
        '"$3" "$OUT/vm/exposure-$1/trace.log" 2>/dev/null
}
# The guests' RAM (VM_MEM: 512M, or so many M or G), in 4 KiB pages.
EXPOSURE_RAM_PAGES=$(mem=${VM_MEM:-512M}; case $mem in
                     *G) echo $((${mem%G} * 1024 * 256)) ;; *) echo $((${mem%M} * 256)) ;; esac)

# exposure_observed CONFIG MOMENT: the cell, RAM/CANARIES.
exposure_observed() {
    [ "$(exposure_scan "$1" "$2" | cut -d' ' -f1)" != none ] || { echo missing; return; }
    exposure_awk "$1" "$2" '
        function holds(a, b, page) { return a <= page && b >= page + 4095 }
        $1 == "pcie_testdev_scan_range" && $3 == seq && $5 == "rw" && $6 == "ram" {
            split($4, r, "-"); first = hex(r[1]); last = hex(r[2])
            pages = (last - first + 1) / 4096; n += pages
            out += pages - holds(first, last, hex(own)) - holds(first, last, hex(stream))
        }
        $1 == "pcie_testdev_scan_canary" && $3 == seq { found[hex($8)] = 1 }
        END {
            if (moment == "unmapped") ram = n ? "reachable" : "none"
            else if (!n) ram = "none"
            else if (!out) ram = "mapped"
            else if (n >= ram_pages * 0.9) ram = "all"
            else ram = "some(" n ")"
            letters = "uhpos"
            for (t = 1; t <= 5; t++) if (found[t]) c = c substr(letters, t, 1)
            print ram "/" (c == "" ? "-" : c)
        }'
}

# exposure_canary_names LETTERS: what each letter of a cell's canaries is.
exposure_canary_names() {
    local names=() i
    declare -A name=([u]="user page" [h]="kernel heap object" [p]="another device's buffer"
                     [o]="coherent buffer" [s]="streaming buffer")
    for ((i = 0; i < ${#1}; i++)); do
        [ -z "${name[${1:i:1}]:-}" ] || names+=("${name[${1:i:1}]}")
    done
    if [ ${#names[@]} -eq 0 ]; then echo none; else (IFS=,; echo "${names[*]}" | sed 's/,/, /g'); fi
}

# exposure_ranges CONFIG MOMENT: each run of pages the scan reached, one a
# line: FIRST LAST ACCESS KIND LABEL.
exposure_ranges() {
    exposure_awk "$1" "$2" '
        function holds(a, b, page) { return a <= page && b >= page + 4095 }
        $1 == "pcie_testdev_scan_range" && $3 == seq {
            split($4, r, "-"); first = hex(r[1]); last = hex(r[2])
            pages = (last - first + 1) / 4096
            if (moment == "unmapped") label = "the streaming buffer, just unmapped"
            else if (pages == holds(first, last, hex(own)) + holds(first, last, hex(stream)))
                label = "the driver'"'"'s buffers"
            else if (first == 4276092928 && last == 4277141503) label = "MSI doorbell"
            else if ($6 == "ram" && $5 == "r") label = "firmware (ROM)"
            else if ($6 == "ram") label = "RAM"
            else if (first == 2952790016 && last == 3221225471) label = "PCIe configuration window (ECAM)"
            else label = "device registers (MMIO)"
            print r[1], r[2], $5, $6, label
        }'
}
