#!/usr/bin/env python3
"""A guest fills RAM with the canary: one trace event per 8 bytes.
With the scan's trace events on (as make exposure runs), count the events
and host CPU per virtual ms.  usage: canary_flood.py [MiB]"""
import sys, os
sys.path.insert(0, os.path.dirname(__file__))
from qt import *
mib = int(sys.argv[1]) if len(sys.argv) > 1 else 16
CANARY = 0x5ca9ba5ec0ffee42
q = Q(["-m", "128", "-device", "pcie-testdev,addr=04.0"], trace="pcie_testdev_scan_*")
bar = q.map(4, 0xe0000000)
pat = CANARY.to_bytes(8, "little").hex() * 512          # one page of canaries
base = 0x1000000
for p in range(mib * 256):
    q.cmd("write 0x%x 0x1000 0x%s" % (base + p * 4096, pat))
q.scan(bar, base, mib * 256, CANARY)
c0 = q.cpu()
ms = 0
while q.rq(bar + R["SCAN_CTRL"]) and ms < 1000:
    q.step(MS); ms += 1
c1 = q.cpu()
print("%d MiB of canaries: scan took %d virtual ms, %.2f s host CPU (%.1f ms per virtual ms); canary pages %d"
      % (mib, ms, c1 - c0, (c1 - c0) * 1000 / max(ms, 1), q.rq(bar + R["SCAN_CANARIES"])))
q.quit()
n = sum(1 for l in open(q.log) if "scan_canary" in l)
print("trace: %d canary events, log %.1f MB" % (n, os.path.getsize(q.log) / 1e6))
