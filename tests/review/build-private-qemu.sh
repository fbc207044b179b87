#!/bin/bash
# Link a private qemu-system-x86_64 with this worktree's pcie-testdev.c (or a
# commit's: $1), reusing the shared 10.0 build tree's objects read-only.
# Output: $2 (default out/qemu-fix). Never writes into the build tree.
set -euo pipefail
S=/root/.cache/pcie-testdev/qemu/10.0.13+ds-0+deb13u1-plain-2c105536/src
WT=$(cd "$(dirname "$0")/../.." && pwd)
REV=${1:-}
O=$(realpath -m "${2:-$WT/out/qemu-fix}")
mkdir -p "$O"
if [ -n "$REV" ]; then git -C "$WT" show "$REV:qemu/hw/misc/pcie-testdev.c"; else cat "$WT/qemu/hw/misc/pcie-testdev.c"; fi |
    sed 's/pcie_testdev_class_init(ObjectClass \*klass, const void \*data)/pcie_testdev_class_init(ObjectClass *klass, void *data)/' > "$O/pcie-testdev.c"
cd "$S/build"
CMD=$(python3 -c "
import json
for e in json.load(open('compile_commands.json')):
    if e['file'].endswith('pcie-testdev.c'): print(e['command'])
")
CMD=$(echo "$CMD" | sed "s#-MQ [^ ]*#-MQ x#; s#-MF [^ ]*#-MF $O/p.d#; s#-o [^ ]*#-o $O/pcie-testdev.o#; s#-c ../hw/misc/pcie-testdev.c#-c $O/pcie-testdev.c#")
eval "$CMD -Werror -iquote $S/hw/misc"
O=$O python3 - <<'PY'
import os
O = os.environ["O"]
lines = open('build.ninja').read().split('\n')
for i, l in enumerate(lines):
    if l.startswith('build qemu-system-x86_64: c_LINKER_RSP'):
        ins = l.split('c_LINKER_RSP', 1)[1].split('|')[0].split()
        link = ''
        for m in lines[i + 1:]:
            if not m.startswith(' '):
                break
            k, _, v = m.strip().partition(' = ')
            if k == 'LINK_ARGS':
                link = v
        break
ins = [O + '/pcie-testdev.o' if x == 'libcommon.a.p/hw_misc_pcie-testdev.c.o' else x for x in ins]
open(O + '/link.rsp', 'w').write('-o ' + O + '/qemu-system-x86_64 ' + ' '.join(ins) + ' ' + link)
PY
cc -m64 @"$O/link.rsp"
echo "$O/qemu-system-x86_64"

# And the qtest binary from this worktree's pcie-testdev-test.c (or $REV's).
if [ -n "$REV" ]; then git -C "$WT" show "$REV:qemu/tests/qtest/pcie-testdev-test.c"; else cat "$WT/qemu/tests/qtest/pcie-testdev-test.c"; fi > "$O/pcie-testdev-test.c"
CMD=$(python3 -c "
import json
for e in json.load(open('compile_commands.json')):
    if e['file'].endswith('pcie-testdev-test.c'): print(e['command'])
")
CMD=$(echo "$CMD" | sed "s#-MQ [^ ]*#-MQ x#; s#-MF [^ ]*#-MF $O/t.d#; s#-o [^ ]*#-o $O/pcie-testdev-test.o#; s#-c ../tests/qtest/pcie-testdev-test.c#-c $O/pcie-testdev-test.c#")
eval "$CMD -Werror -iquote $S/tests/qtest"
O=$O python3 - <<'PY'
import os, shlex
O = os.environ["O"]
lines = open('build.ninja').read().split('\n')
for i, l in enumerate(lines):
    if l.startswith('build tests/qtest/pcie-testdev-test: c_LINKER '):
        ins = l.split('c_LINKER', 1)[1].split('|')[0].split()
        link = args = ''
        for m in lines[i + 1:]:
            if not m.startswith(' '):
                break
            k, _, v = m.strip().partition(' = ')
            if k == 'LINK_ARGS':
                link = v
            if k == 'ARGS':
                args = v
        break
ins = [O + '/pcie-testdev-test.o' if x.endswith('pcie-testdev-test.c.o') else x for x in ins]
open(O + '/link-test.rsp', 'w').write(args + ' -o ' + O + '/pcie-testdev-test ' + ' '.join(ins) + ' ' + link)
PY
cc -m64 @"$O/link-test.rsp"
echo "$O/pcie-testdev-test"
