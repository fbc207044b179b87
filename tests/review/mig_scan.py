#!/usr/bin/env python3
"""Crafted "pcie-testdev/scan" subsection values: save a scan in progress,
patch fields in the stream, load it, step the clock, and report what the
trace shows.  usage: mig_scan.py FIELD=VALUE ...   (fields as in the vmsd)"""
import os, struct, sys, time, json
sys.path.insert(0, os.path.dirname(__file__))
from qt import *

FIELDS = ["scan_start", "scan_pages", "scan_canary", "scanning", "scan_seq",
          "scan_readable", "scan_writable", "scan_canaries", "scan_next",
          "scan_left", "scan_deadline", "run_start", "run_pages",
          "run_access", "run_ram"]
SIZES = dict(scanning=1, run_ram=1, run_access=4)
out = "/work/wt-review/out/review"
os.makedirs(out, exist_ok=True)
img = os.path.join(out, "scan.mig")
args = ["-m", "32", "-device", "pcie-testdev,addr=04.0"]

q = Q(args)
bar = q.map(4, 0xe0000000)
q.scan(bar, 0, 4096)
q.step(2 * MS)
q.qmpcmd('{"execute":"migrate","arguments":{"uri":"exec:cat > %s"}}' % img)
for _ in range(200):
    r = q.qmpcmd('{"execute":"query-migrate"}')
    if '"completed"' in r or '"failed"' in r:
        break
    time.sleep(0.1)
q.quit()

data = bytearray(open(img, "rb").read())
name = b"pcie-testdev/scan"
i = data.find(name)
assert i > 0, "no scan subsection"
off = i + len(name) + 4          # + version_id
pos = {}
for f in FIELDS:
    pos[f] = off
    off += SIZES.get(f, 8)
orig = {}
for f in FIELDS:
    n = SIZES.get(f, 8)
    orig[f] = int.from_bytes(data[pos[f]:pos[f] + n], "big")
print("saved:", {k: hex(v) for k, v in orig.items()})
for a in sys.argv[1:]:
    k, v = a.split("=")
    n = SIZES.get(k, 8)
    data[pos[k]:pos[k] + n] = (int(v, 0) & (2 ** (8 * n) - 1)).to_bytes(n, "big")
bad = img + ".bad"
open(bad, "wb").write(data)

q = Q(args + ["-incoming", "exec:cat %s" % bad], trace="pcie_testdev_scan_*")
r = ""
for _ in range(100):
    try:
        r = q.qmpcmd('{"execute":"query-migrate"}') or ""
    except OSError:
        r = ""
    if '"completed"' in r or '"failed"' in r or q.p.poll() is not None:
        break
    time.sleep(0.1)
if q.p.poll() is not None or not r:
    q.p.wait()
    print("load refused: QEMU exited %s:" % q.p.returncode,
          " ".join(l for l in open(q.err).read().splitlines() if not l.startswith("[")))
    sys.exit(0)
print("load:", r[:200])
c0 = q.cpu()
for _ in range(50):
    if q.p.poll() is not None:
        break
    try:
        q.step(MS)
    except EOFError:
        break
print("cpu for 50 virtual ms: %.2f s" % (q.cpu() - c0) if q.p.poll() is None else "qemu exited %s" % q.p.returncode)
if q.p.poll() is None:
    print("SCAN_CTRL", q.rq(bar + R["SCAN_CTRL"]), "READABLE", q.rq(bar + R["SCAN_READABLE"]))
rc = q.quit()
print("exit", rc)
print("stderr:", open(q.err).read()[-600:])
log = open(q.log).read().splitlines() if os.path.exists(q.log) else []
print("trace (%d lines):" % len(log))
for l in log[:6] + (["..."] if len(log) > 12 else []) + log[-6:]:
    print("  ", l)
