#!/usr/bin/env python3
"""Tiny qtest-protocol driver for pcie-testdev reproducers (review-scan)."""
import os, socket, subprocess, sys, time, tempfile

QEMU = os.environ.get("QEMU", "/work/qemu-snap/scan/qemu-system-x86_64")
R = dict(SRCADDR=0x00, SCAN_START=0x70, SCAN_PAGES=0x78, SCAN_CANARY=0x80,
         SCAN_CTRL=0x88, SCAN_SEQ=0x90, SCAN_READABLE=0x98,
         SCAN_WRITABLE=0xa0, SCAN_CANARIES=0xa8)
MS = 1000000

class Q:
    def __init__(self, args, trace=None, extra_env=None):
        d = tempfile.mkdtemp(prefix="qt-")
        self.sock = os.path.join(d, "q.sock")
        self.qmp = os.path.join(d, "m.sock")
        srv = socket.socket(socket.AF_UNIX); srv.bind(self.sock); srv.listen(1)
        qs = socket.socket(socket.AF_UNIX); qs.bind(self.qmp); qs.listen(1)
        cmd = [QEMU, "-accel", "qtest", "-qtest", "unix:" + self.sock,
               "-qmp", "unix:" + self.qmp, "-display", "none",
               "-M", "q35", "-nodefaults"] + args
        if trace:
            cmd += ["-trace", trace, "-D", os.path.join(d, "log")]
        self.log = os.path.join(d, "log")
        self.p = subprocess.Popen(cmd, stderr=open(os.path.join(d, "err"), "w"))
        self.err = os.path.join(d, "err")
        self.c, _ = srv.accept(); self.f = self.c.makefile("rw")
        self.m, _ = qs.accept(); self.mf = self.m.makefile("rw")
        self.mf.readline(); self.qmpcmd('{"execute":"qmp_capabilities"}')

    def qmpcmd(self, s):
        self.mf.write(s + "\n"); self.mf.flush()
        while True:
            l = self.mf.readline()
            if not l:
                return None
            if '"return"' in l or '"error"' in l:
                return l.strip()

    def cmd(self, s):
        self.f.write(s + "\n"); self.f.flush()
        while True:
            l = self.f.readline()
            if not l:
                raise EOFError("qemu went away on: " + s)
            if l.startswith("OK") or l.startswith("FAIL") or l.startswith("ERR"):
                return l.strip()

    def cfg_addr(self, dev, reg, bus=0):
        return 0x80000000 | (bus << 16) | (dev << 11) | (reg & 0xfc)

    def cfg_wl(self, dev, reg, v, bus=0):
        self.cmd("outl 0xcf8 0x%x" % self.cfg_addr(dev, reg, bus))
        self.cmd("outl 0xcfc 0x%x" % v)

    def cfg_rl(self, dev, reg, bus=0):
        self.cmd("outl 0xcf8 0x%x" % self.cfg_addr(dev, reg, bus))
        return int(self.cmd("inl 0xcfc").split()[1], 16)

    def map(self, dev, bar_addr, master=True):
        self.cfg_wl(dev, 0x10, bar_addr & 0xffffffff)
        self.cfg_wl(dev, 0x14, bar_addr >> 32)
        self.cfg_wl(dev, 0x04, 0x2 | (0x4 if master else 0))
        return bar_addr

    def wq(self, a, v): return self.cmd("writeq 0x%x 0x%x" % (a, v & (2**64 - 1)))
    def wl(self, a, v): return self.cmd("writel 0x%x 0x%x" % (a, v))
    def rq(self, a): return int(self.cmd("readq 0x%x" % a).split()[1], 16)
    def step(self, ns): return self.cmd("clock_step %d" % ns)

    def cpu(self):
        with open("/proc/%d/stat" % self.p.pid) as f:
            x = f.read().rsplit(")", 1)[1].split()
        return (int(x[11]) + int(x[12])) / os.sysconf("SC_CLK_TCK")

    def scan(self, bar, start, pages, canary=0):
        self.wq(bar + R["SCAN_START"], start)
        self.wq(bar + R["SCAN_PAGES"], pages)
        self.wq(bar + R["SCAN_CANARY"], canary)
        self.wq(bar + R["SCAN_CTRL"], 1)

    def quit(self):
        try:
            self.qmpcmd('{"execute":"quit"}')
        except Exception:
            pass
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill(); self.p.wait()
        return self.p.returncode
