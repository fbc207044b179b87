#!/usr/bin/env python3
"""Host CPU per virtual ms of a scan over MMIO that accepts accesses
(the q35 ECAM window at 0xb0000000, 256 MiB), vs over RAM.
usage: mmio_cost.py START PAGES [NDEV] [VIRT_MS] [CANARY]"""
import sys, time
sys.path.insert(0, __import__("os").path.dirname(__file__))
from qt import *

start = int(sys.argv[1], 0); pages = int(sys.argv[2], 0)
ndev = int(sys.argv[3]) if len(sys.argv) > 3 else 1
vms = int(sys.argv[4]) if len(sys.argv) > 4 else 20
canary = int(sys.argv[5], 0) if len(sys.argv) > 5 else 0
args = ["-m", "128"]
for i in range(ndev):
    args += ["-device", "pcie-testdev,addr=%02x.0" % (4 + i)]
q = Q(args)
q.cfg_wl(0, 0x64, 0); q.cfg_wl(0, 0x60, 0xb0000001)  # PCIEXBAR on, as firmware does
bars = [q.map(4 + i, 0xe0000000 + i * 0x10000) for i in range(ndev)]
for b in bars:
    q.scan(b, start, pages, canary)
c0, t0 = q.cpu(), time.time()
for _ in range(vms):
    q.step(MS)
c1, t1 = q.cpu(), time.time()
done = [q.rq(b + R["SCAN_READABLE"]) for b in bars]
run = [q.rq(b + R["SCAN_CTRL"]) for b in bars]
print("devices %d start 0x%x pages %d: %d virtual ms cost %.2f s CPU, %.2f s wall "
      "(%.0f ms CPU per virtual ms); readable so far %s running %s" %
      (ndev, start, pages, vms, c1 - c0, t1 - t0, (c1 - c0) * 1000 / vms, done, run))
q.quit()
