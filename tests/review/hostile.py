#!/usr/bin/env python3
"""Hostile register sequences against the scan; prints what held."""
import sys, os, json
sys.path.insert(0, os.path.dirname(__file__))
from qt import *

def rss(q):
    for l in open("/proc/%d/status" % q.p.pid):
        if l.startswith("VmRSS"):
            return int(l.split()[1])

n = 4
args = ["-m", "128", "-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"]
for i in range(n):
    args += ["-device", "pcie-testdev,id=t%d,addr=%02x.0%s" % (i, 4 + i, ",aer=on" if i == 1 else "")]
q = Q(args, trace="pcie_testdev_scan_*")
q.cfg_wl(0, 0x64, 0); q.cfg_wl(0, 0x60, 0xb0000001)
bars = [q.map(4 + i, 0xe0000000 + i * 0x10000) for i in range(n)]
b = bars[0]
def st(b):
    return tuple(q.rq(b + R[k]) for k in ("SCAN_CTRL", "SCAN_SEQ", "SCAN_READABLE", "SCAN_WRITABLE", "SCAN_CANARIES"))

# top of the address space
q.scan(b, 2**64 - 4096, 16); [q.step(MS) for _ in range(3)]
print("top page:", st(b))
# 4-byte halves: high half of CTRL ignored, low half starts; start while running
q.wl(b + R["SCAN_START"] + 4, 0); q.wl(b + R["SCAN_START"], 0)
q.wl(b + R["SCAN_PAGES"] + 4, 0); q.wl(b + R["SCAN_PAGES"], 0x1000)
q.wl(b + R["SCAN_CTRL"] + 4, 1); print("high half of CTRL:", st(b))
q.wl(b + R["SCAN_CTRL"], 1); q.wl(b + R["SCAN_CTRL"], 1); q.wq(b + R["SCAN_CTRL"], 3)
print("started by halves, restarted twice:", st(b))
q.step(MS); q.wq(b + R["SCAN_CTRL"], 0); print("stopped:", st(b))
# max pages with canary on every device, RSS before/after
r0 = rss(q)
for x in bars:
    q.scan(x, 0, 0x1000000, 0x5ca9ba5ec0ffee42)
c0 = q.cpu()
for _ in range(200):
    q.step(MS)
print("4 devices, MAX pages with canary, 200 virtual ms: %.2f s CPU, RSS %d -> %d kB" % (q.cpu() - c0, r0, rss(q)), [st(x)[2] for x in bars])
# FLR on device 1 mid scan (exp cap at its offset), system_reset, realized=false/true on device 2
def find_cap(dev, cid):
    p = q.cfg_rl(dev, 0x34) & 0xff
    while p:
        v = q.cfg_rl(dev, p)
        if v & 0xff == cid:
            return p
        p = (v >> 8) & 0xff
exp = find_cap(5, 0x10)
q.cfg_wl(5, exp + 8, 0x8000)   # DEVCTL BCR_FLR
print("after FLR, dev1:", st(bars[1]) if q.cfg_rl(5, 4) & 2 else "(memory decode off after FLR)")
bars[1] = q.map(5, bars[1]); print("dev1 remapped:", st(bars[1]))
print(q.qmpcmd('{"execute":"qom-set","arguments":{"path":"/machine/peripheral/t2","property":"realized","value":false}}'))
for _ in range(5):
    q.step(MS)
print("dev2 unrealized mid-scan, 5 ms later: alive", q.qmpcmd('{"execute":"query-status"}'))
# peer BAR / own BAR / ECAM / MSI in one go on dev3, and check the MMIO it probed is unchanged
before = [q.rq(bars[0] + R["SCAN_SEQ"])]
q.scan(bars[3], 0xe0000000, 64); [q.step(MS) for _ in range(3)]
print("dev3 over the 4 BARs (peers readable, own not):", st(bars[3]))
print(q.qmpcmd('{"execute":"system_reset"}'))
for _ in range(5):
    q.step(MS)
print("alive:", q.qmpcmd('{"execute":"query-status"}'))
print("exit", q.quit())
log = open(q.log).read().splitlines()
print("trace lines:", len(log)); print("\n".join("   " + l for l in log if "done" in l)[:3000])
