# SPDX-License-Identifier: GPL-2.0-or-later
# Shared helpers for the pcie-testdev scripts. Source it; do not run it.
#
# Everything heavy (QEMU source and build, kernels, busybox) lives in one
# cache outside the checkout, keyed by its inputs, so a fresh clone on the
# same machine reuses it.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${PCIE_TESTDEV_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/pcie-testdev}
OUT=${PCIE_TESTDEV_OUT:-$TOP/out}
mkdir -p "$CACHE" "$OUT"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run as root, or through sudo when there is one.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "need root for: $*"
    fi
}

# Install the Debian packages in "$@" that are not installed yet.
need_pkgs() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]}"
    apt_private update
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends \
        "${missing[@]}" >"$CACHE/apt-install.log" 2>&1 ||
        { tail -20 "$CACHE/apt-install.log" >&2; die "apt-get install ${missing[*]} failed"; }
}

# A private apt configuration built from the machine's own Debian sources,
# with deb-src entries and the backports suite added. The system's apt
# configuration is never changed. Backports get no deb-src entry so that
# `apt-get source qemu` stays on the release's QEMU 7.2.
APT_DIR=$CACHE/apt
APT_OPTS=(-o "Dir::Etc::SourceList=/dev/null"
          -o "Dir::Etc::SourceParts=$APT_DIR/sources.list.d"
          -o "Dir::State::Lists=$APT_DIR/lists"
          -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")

apt_write_sources() {
    local codename f
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || die "cannot tell the Debian release from /etc/os-release"
    mkdir -p "$APT_DIR/sources.list.d" "$APT_DIR/lists/partial"
    {
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -f "$f" ] || continue
            # deb822 stanzas: add deb-src; then a deb-only backports copy of
            # each stanza that serves the release itself.
            awk '/^Types:/ { sub(/deb( |$)/, "deb deb-src ") } { print }' "$f"
            echo
            awk -v rel="$codename" '
                BEGIN { RS = ""; FS = "\n" }
                $0 ~ "\nSuites:([^\n]* )?" rel "( |\n|$)" {
                    out = ""
                    for (i = 1; i <= NF; i++) {
                        if ($i ~ /^Types:/) $i = "Types: deb"
                        if ($i ~ /^Suites:/) $i = "Suites: " rel "-backports"
                        out = out $i "\n"
                    }
                    print out
                }' "$f"
        done
    } >"$APT_DIR/sources.list.d/private.sources"
    if [ -f /etc/apt/sources.list ]; then
        awk -v rel="$codename" '
            /^deb / { print; sub(/^deb /, "deb-src "); print
                      if ($3 == rel) { l = $0; sub(/^deb-src /, "deb ", l)
                                       sub(" " rel " ", " " rel "-backports ", l); print l } }
        ' /etc/apt/sources.list >"$APT_DIR/sources.list.d/private.list"
    fi
}

# apt_private update: refresh the private lists when older than a day.
# apt_private CMD ARGS: run apt-get CMD with the private lists.
apt_private() {
    if [ "$1" = update ]; then
        if [ -z "$(find "$APT_DIR/lists" -maxdepth 1 -name '*_Sources*' -mmin -1440 2>/dev/null | head -1)" ]; then
            apt_write_sources
            log "refreshing package lists (private, with deb-src and backports)"
            as_root apt-get "${APT_OPTS[@]}" -q update >"$CACHE/apt-update.log" 2>&1 ||
                { tail -20 "$CACHE/apt-update.log" >&2; die "apt-get update failed"; }
        fi
        return 0
    fi
    apt-get "${APT_OPTS[@]}" "$@"
}

# apt-cache with the private lists.
apt_private_cache() {
    apt-cache "${APT_OPTS[@]}" "$@"
}

# Hash of files' contents (names included), for cache keys.
hash_files() {
    local f
    for f in "$@"; do
        printf '%s\n' "${f#"$TOP"/}"
        cat "$f"
    done | sha256sum | cut -c1-16
}

# Run a command with its output in a log file, printing a progress line
# every 30 s so long steps are visibly alive; on failure show the log's end.
run_logged() {
    local logfile=$1 what=$2 start last pid rc
    shift 2
    start=$SECONDS last=$SECONDS
    "$@" >"$logfile" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        if (( SECONDS - last >= 30 )); then
            last=$SECONDS
            log "$what: $(( SECONDS - start ))s $(tail -c 2000 "$logfile" | tr '\r' '\n' | grep -o '^\[[0-9]*/[0-9]*\]' | tail -1)"
        fi
    done
    rc=0
    wait "$pid" || rc=$?
    if [ "$rc" -ne 0 ]; then
        tail -40 "$logfile" >&2
        die "$what failed (exit $rc); full log: $logfile"
    fi
}
