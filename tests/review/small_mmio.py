#!/usr/bin/env python3
"""Pages holding MMIO smaller than a page (the HPET's 1 KiB at 0xfed00000,
the ICH9 RCRB, ...): does the scan report them reachable?"""
import sys, os, json
sys.path.insert(0, os.path.dirname(__file__))
from qt import *
q = Q(["-m", "128", "-device", "pcie-testdev,addr=04.0"])
bar = q.map(4, 0xe0000000)
r = q.qmpcmd('{"execute":"human-monitor-command","arguments":{"command-line":"info mtree -f"}}')
txt = json.loads(r)["return"]
for l in txt.splitlines():
    if any(k in l for k in ("hpet", "ioapic", "apic-msi", "rcrb")) :
        print("  mtree:", l.strip()); 
    if l.startswith("FlatView #1"):
        break
for name, a in (("hpet", 0xfed00000), ("ioapic", 0xfec00000), ("msi", 0xfee00000)):
    # the HPET can be read and written by DMA: show it with a real DMA read
    q.scan(bar, a, 1)
    for _ in range(5):
        q.step(MS)
    print("%-6s page 0x%x: readable %d writable %d" % (name, a, q.rq(bar + R["SCAN_READABLE"]), q.rq(bar + R["SCAN_WRITABLE"])))
# a copy of 8 bytes from the HPET's ID register (offset 0) into RAM: does it land?
q.wq(bar + 0x00, 0xfed00000); q.wq(bar + 0x08, 0x300000); q.wq(bar + 0x10, 8); q.wq(bar + 0x18, 1)
for _ in range(5):
    q.step(MS)
print("copy 8 bytes from 0xfed00000 (HPET capabilities): RESULT %d, RAM now 0x%x" % (q.rq(bar + 0x30), q.rq(0x300000)))
q.quit()
