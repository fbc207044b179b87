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
    RUN_HINT="check that this machine's apt sources answer (apt-get update), or install them yourself" \
        run_logged "$CACHE/apt-install.log" "apt-get install ${missing[*]}" \
        as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends "${missing[@]}"
}

# A private apt configuration built from the machine's own Debian sources;
# the system's apt configuration is never changed. To each source that
# serves the host's release it adds, from the same archive:
#   - deb-src entries for the release itself;
#   - binary entries for the release's backports (newer kernels, meson);
#     apt never upgrades to backports by itself, so installs stay on the
#     release;
#   - deb-src entries, and no binary ones, for the archive's "stable",
#     "testing" and "unstable" suites, whichever release those are today:
#     that is where newer QEMU source packages come from
#     (scripts/build-qemu), and no host package can come from there.
# No suite or host is written here: all are read from the host's sources.
# The folder is named by a hash of what is generated, so a change of the
# host's sources or of this format starts afresh in a new folder.
APT_SUITES_EXTRA="stable testing unstable"

APT_CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

# apt_generate_sources sources|list: the deb822 or the one-line part.
apt_generate_sources() {
    local codename=$APT_CODENAME f
    [ -n "$codename" ] || die "cannot tell the Debian release from /etc/os-release"
    echo "# pcie-testdev private apt sources, format 2, host release $codename"
    [ "$1" = sources ] && for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v rel="$codename" -v extra="$APT_SUITES_EXTRA" '
            BEGIN { RS = ""; FS = "\n" }
            # One stanza, with its Types: and Suites: lines replaced.
            function stanza(types, suites,   i, out) {
                out = ""
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^Types:/) out = out "Types: " types "\n"
                    else if ($i ~ /^Suites:/) out = out "Suites: " suites "\n"
                    else if ($i !~ /^#/) out = out $i "\n"
                }
                return out
            }
            /(^|\n)Enabled: *no/ { next }
            {
                types = ""; suites = ""
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^Types:/) types = $i
                    if ($i ~ /^Suites:/) suites = $i
                }
                if (types !~ /[: ]deb( |$)/) next
                sub(/^Suites: */, "", suites)
                print stanza("deb deb-src", suites)
                if ((" " suites " ") ~ (" " rel " ")) {
                    print stanza("deb", rel "-backports")
                    print stanza("deb-src", extra)
                }
            }' "$f"
    done
    [ "$1" = list ] && for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        # One-line sources: "deb [options] URI SUITE COMPONENTS...".
        awk -v rel="$codename" -v extra="$APT_SUITES_EXTRA" '
            $1 != "deb" { next }
            {
                opts = ""; i = 2
                if ($2 ~ /^\[/) { while ($i !~ /\]$/) opts = opts $(i++) " "; opts = opts $(i++) " " }
                uri = $i; suite = $(i + 1); comps = ""
                for (j = i + 2; j <= NF; j++) comps = comps " " $j
                print "deb " opts uri " " suite comps
                print "deb-src " opts uri " " suite comps
                if (suite == rel) {
                    print "deb " opts uri " " rel "-backports" comps
                    n = split(extra, e, " ")
                    for (j = 1; j <= n; j++) print "deb-src " opts uri " " e[j] comps
                }
            }' "$f"
    done
    return 0
}

APT_SOURCES=$(apt_generate_sources sources)
APT_LIST=$(apt_generate_sources list)
APT_DIR=$CACHE/apt/v2-$(printf '%s\n' "$APT_SOURCES" "$APT_LIST" | sha256sum | cut -c1-12)
# (A second apt-get, say the background debug kernel's, waits for the
# first's dpkg lock rather than fail.)
APT_OPTS=(-o "DPkg::Lock::Timeout=900" -o "Dir::Etc::SourceList=/dev/null"
          -o "Dir::Etc::SourceParts=$APT_DIR/sources.list.d"
          -o "Dir::State::Lists=$APT_DIR/lists"
          -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")

# apt_private update: refresh the private lists when older than a day.
# apt_private CMD ARGS: run apt-get CMD with the private lists.
apt_private() {
    if [ "$1" = update ]; then
        if [ ! -f "$APT_DIR/updated" ] || [ -n "$(find "$APT_DIR/updated" -mmin +1440)" ]; then
            mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/sources.list.d"
            printf '%s\n' "$APT_SOURCES" >"$APT_DIR/sources.list.d/private.sources"
            printf '%s\n' "$APT_LIST" >"$APT_DIR/sources.list.d/private.list"
            log "refreshing package lists (private, with deb-src, backports and newer QEMU sources)"
            as_root apt-get "${APT_OPTS[@]}" -q update >"$APT_DIR/update.log" 2>&1 ||
                { tail -20 "$APT_DIR/update.log" >&2; die "apt-get update failed"; }
            # What was derived from the old lists is stale now.
            rm -f "$APT_DIR"/resolved-* "$APT_DIR"/updated-*
            touch "$APT_DIR/updated"
        fi
        return 0
    fi
    apt-get "${APT_OPTS[@]}" "$@"
}

# The URI of the archive that serves the host's release, read from the
# host's own apt sources (for tools such as mmdebstrap that want one).
apt_archive_uri() {
    {
        printf '%s\n' "$APT_SOURCES" | awk 'BEGIN { RS = ""; FS = "\n" }
            /(^|\n)Suites: stable testing/ { for (i = 1; i <= NF; i++)
                if ($i ~ /^URIs:/) { sub(/^URIs: */, "", $i); split($i, u, " "); print u[1] } }'
        printf '%s\n' "$APT_LIST" | awk '$1 == "deb-src" && / stable / { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }'
    } | head -1
}

# apt-cache with the private lists.
apt_private_cache() {
    apt-cache "${APT_OPTS[@]}" "$@"
}

# apt_arch ARCH CMD ARGS: apt-get CMD (update, download) for another
# architecture's packages (arm64: the guest kernels, busybox), from the
# private sources with lists of their own, refreshed daily; no
# dpkg --add-architecture, nothing installed. apt_arch_cache ARCH ARGS:
# apt-cache with those lists.
_apt_arch_opts() {
    local -n _opts=$2
    _opts=("${APT_OPTS[@]}" -o "Dir::State::Lists=$APT_DIR/lists-$1"
           -o "Dir::Cache=$APT_DIR/cache-$1" -o "APT::Architecture=$1" -o "APT::Architectures=$1")
}
apt_arch() {
    local arch=$1 opts
    shift
    _apt_arch_opts "$arch" opts
    if [ "$1" = update ]; then
        apt_private update
        if [ ! -f "$APT_DIR/updated-$arch" ] || [ -n "$(find "$APT_DIR/updated-$arch" -mmin +1440)" ]; then
            mkdir -p "$APT_DIR/lists-$arch/partial" "$APT_DIR/cache-$arch/archives/partial"
            log "refreshing package lists for $arch (private)"
            apt-get "${opts[@]}" -q update >"$APT_DIR/update-$arch.log" 2>&1 ||
                { tail -20 "$APT_DIR/update-$arch.log" >&2; die "apt-get update for $arch failed"; }
            touch "$APT_DIR/updated-$arch"
        fi
        return 0
    fi
    apt-get "${opts[@]}" "$@"
}
# foreign_busybox ARCH: the path of Debian's static busybox for ARCH (the
# archive's busybox-static, unpacked into the cache once a version).
foreign_busybox() {
    local arch=$1 ver dir tmp
    apt_arch "$arch" update
    ver=$(apt_arch_cache "$arch" policy busybox-static | sed -n 's/^ *Candidate: //p')
    [ -n "$ver" ] && [ "$ver" != "(none)" ] || die "no busybox-static for $arch in the archive"
    dir=$CACHE/busybox-$arch/$ver
    if [ ! -x "$dir/busybox" ]; then
        tmp=$(mktemp -d "$CACHE/busybox-dl.XXXXXX")
        (cd "$tmp" && apt_arch "$arch" download -q busybox-static >"$tmp/download.log" 2>&1) ||
            { cat "$tmp/download.log" >&2; rm -rf "$tmp"; die "apt-get download busybox-static ($arch) failed"; }
        dpkg -x "$tmp"/busybox-static_*.deb "$tmp/root" || die "cannot unpack busybox-static ($arch)"
        mkdir -p "$dir"
        # /bin/busybox up to Debian 12, /usr/bin/busybox from 13 on.
        mv "$tmp/root/usr/bin/busybox" "$dir/busybox" 2>/dev/null ||
            mv "$tmp/root/bin/busybox" "$dir/busybox" || die "busybox-static ($arch) has no busybox"
        rm -rf "$tmp"
    fi
    [ -x "$dir/busybox" ] || die "no busybox in $dir"
    echo "$dir/busybox"
}
apt_arch_cache() {
    local opts
    _apt_arch_opts "$1" opts
    shift
    apt-cache "${opts[@]}" "$@"
}

# linux_source_files NAME PATH...: files of Linux's source tree, from
# Debian's linux-source-6.1: its tarball in /usr/src where the package is
# installed (no network needed), else the archive's version of the package
# (or, where the release has none (Debian 13), its newest
# linux-source-X.Y), downloaded, not installed. Kept in the cache under
# NAME/linux-VERSION, whose path it prints; only the PATHs are extracted,
# never into the checkout.
linux_source_files() {
    local name=$1 pkg=linux-source-6.1 ver dir tmp tarball p absent=0
    shift
    need_pkgs xz-utils
    tarball=/usr/src/$pkg.tar.xz
    ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
    if [ -z "$ver" ] || [ ! -f "$tarball" ]; then
        tarball=
        apt_private update
        _linux_source_candidate() { apt_private_cache policy "$1" | sed -n 's/^ *Candidate: //p' | grep -v '^(none)$'; }
        ver=$(_linux_source_candidate "$pkg" || true)
        if [ -z "$ver" ]; then
            pkg=$(apt_private_cache search '^linux-source-[0-9]+\.[0-9]+$' | cut -d' ' -f1 | sort -V | tail -1)
            [ -n "$pkg" ] && ver=$(_linux_source_candidate "$pkg" || true)
        fi
        [ -n "$ver" ] || die "no linux-source package in the archive"
    fi
    dir=$CACHE/$name/linux-$ver
    for p in "$@"; do
        [ -e "$dir/$p" ] || absent=1
    done
    if [ "$absent" = 1 ]; then
        tmp=$(mktemp -d "$CACHE/$name-dl.XXXXXX")
        if [ -z "$tarball" ]; then
            log "fetching $* from $pkg $ver (about 140 MB)"
            (cd "$tmp" && apt_private download -q "$pkg=$ver" >download.log 2>&1) ||
                { tail -5 "$tmp/download.log" >&2; rm -rf "$tmp"; die "apt-get download $pkg failed"; }
            dpkg-deb --fsys-tarfile "$tmp"/"$pkg"_*.deb |
                tar -x -C "$tmp" --wildcards "./usr/src/$pkg.tar.xz"
            tarball=$tmp/usr/src/$pkg.tar.xz
        else
            log "extracting $* from $tarball"
        fi
        mkdir -p "$dir"
        tar -xJf "$tarball" -C "$dir" --strip-components=1 "${@/#/$pkg/}" ||
            { rm -rf "$tmp"; die "$* not in $tarball"; }
        rm -rf "$tmp"
    fi
    echo "$dir"
}

# Hash of files' contents (names included), for cache keys.
hash_files() {
    local f
    for f in "$@"; do
        printf '%s\n' "${f#"$TOP"/}"
        cat "$f"
    done | sha256sum | cut -c1-16
}

# run_logged LOGFILE WHAT COMMAND...: run COMMAND with its output in
# LOGFILE, showing that it is alive and how far along: on a terminal one
# line, redrawn every 2 s ("==> ninja: 812/1440, 95 s"); elsewhere (CI
# logs) a line every 30 s. Then the time it took; on failure, the log's
# end, its name, and RUN_HINT (set it for the call: the likely fix).
# RUN_COUNT (an extended regular expression) counts the log's lines that
# match it as the progress ("5120 files compiled", RUN_COUNT_WHAT).
run_logged() {
    local logfile=$1 what=$2 start=$SECONDS last=$SECONDS every=30 tty=false pid rc step
    shift 2
    if [ -t 2 ]; then
        tty=true every=2
    fi
    "$@" >"$logfile" 2>&1 &
    pid=$!
    # (A step whose log has no "[N/M]" lines yet is no failure: set -e and
    # pipefail in the scripts would end them there, silently.)
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        if (( SECONDS - last >= every )); then
            last=$SECONDS
            step=$(tail -c 2000 "$logfile" | tr '\r' '\n' | grep -o '^\[[0-9]*/[0-9]*\]' | tail -1 | tr -d '[]' || true)
            # Or, for logs without them (kbuild's): RUN_COUNT_WHAT lines so far.
            if [ -z "$step" ] && [ -n "${RUN_COUNT:-}" ]; then
                step="$(grep -cE "$RUN_COUNT" "$logfile" || true) ${RUN_COUNT_WHAT:-lines}"
            fi
            if $tty; then
                printf '\r==> %s: %s%d s ' "$what" "${step:+$step, }" $((SECONDS - start)) >&2
            else
                log "$what: ${step:+$step, }$((SECONDS - start)) s"
            fi
        fi
    done
    if $tty; then
        printf '\r\033[K' >&2
    fi
    rc=0
    wait "$pid" || rc=$?
    if [ "$rc" -ne 0 ]; then
        tail -40 "$logfile" >&2
        die "$what failed (exit $rc) after $((SECONDS - start)) s; full log: $logfile${RUN_HINT:+
hint: $RUN_HINT}"
    fi
    log "$what: done in $((SECONDS - start)) s"
}
