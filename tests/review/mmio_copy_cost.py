#!/usr/bin/env python3
"""Baseline for mmio_cost.py: host CPU per virtual ms of N aggressive devices
copying 64 KiB (TESTDEV_MAX_MMIO_COPY) from the ECAM window every 1 ms."""
import sys, os, time
sys.path.insert(0, os.path.dirname(__file__))
from qt import *
n = int(sys.argv[1]) if len(sys.argv) > 1 else 8
args = ["-m", "128"]
for i in range(n):
    args += ["-device", "pcie-testdev,addr=%02x.0,aggressive=on,aggression_delay_ms=1,"
             "srcaddr=0xb0000000,dstaddr=0x%x,size=0x10000" % (4 + i, 0x1000000 + i * 0x10000)]
q = Q(args)
q.cfg_wl(0, 0x64, 0); q.cfg_wl(0, 0x60, 0xb0000001)
bars = [q.map(4 + i, 0xe0000000 + i * 0x10000) for i in range(n)]
c0 = q.cpu()
for _ in range(20):
    q.step(MS)
c1 = q.cpu()
print("%d aggressive 64 KiB ECAM->RAM copiers: %.1f ms CPU per virtual ms; copies %s faults %s" %
      (n, (c1 - c0) * 1000 / 20, [q.rq(b + 0x40) for b in bars][:3], [q.rq(b + 0x48) for b in bars][:3]))
q.quit()
