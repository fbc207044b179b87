/*
 * QTest testcase for pcie-testdev
 *
 * Drives the device through the qtest protocol, with guest memory and the
 * virtual clock under the test's control. What is tested, by test path
 * (/pcie-testdev/...):
 *
 *   identity, registers       IDs, class, BAR0; every register reads back,
 *                             in 8- and 4-byte halves; 1- and 2-byte
 *                             accesses refused
 *   copy, copy-above-4g,      a copy lands, RESULT ok, also above 4 GiB;
 *   copy/overlap, copy/direct overlapping copies as memmove, whole and in
 *                             pieces; 64 MiB between RAM with no buffer of
 *                             its size, and from MMIO through the bounce
 *                             buffer (bench, with PCIE_TESTDEV_BENCH: costs)
 *   busy-delay, doorbell-while-busy
 *                             STATUS stays 1 for BUSY_DELAY; a doorbell
 *                             while busy is ignored
 *   bus-master-off, faults, own-bar, ram-then-own-bar, oversize
 *                             copies that must fault or be refused, the
 *                             destination untouched
 *   reset-by-own-dma          a copy that resets its own device by FLR
 *   aggressive/property, aggressive/register, aggressive/delay-zero
 *                             aggressive mode, by property and register
 *   reset, irq/intx, irq/msi  system reset and FLR; INTx, MSI, acknowledge
 *   migration, migration/aggressive, migration-bad-state
 *                             a pending copy across migration; streams the
 *                             device must refuse
 *   unplug, reset-unrealized  device_del with a copy pending and aggressive
 *                             mode on; system reset of an unrealized device
 *   scan, scan/migration, scan/mmio, scan/canary-flood,
 *   scan/migration-bad-state  the reachability scan
 *   memory-bound, mmio-limit  QEMU's memory grows by the bounce buffer at
 *                             most; copies reaching MMIO are bounded
 *   msi-to-own-bar, unaligned, wrap, two-devices/ping-pong,
 *   two-devices/unplug-by-peer-dma
 *                             what a guest must not be able to do to QEMU
 *                             through the device
 *   shared-budget, shared-budget/no-starving, shared-budget/unplug-queued
 *                             many devices on the shared timeline
 *   original, fail-after-copies, aer
 *                             x-original, x-fail-after-copies and aer
 *   fuzz/one-device, fuzz/topology
 *                             fuzzing one device, and a whole topology, for
 *                             PCIE_TESTDEV_FUZZ_SECONDS
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/madvise.h"
#include "qemu/units.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "libqos/pci.h"
#include "libqos/pci-pc.h"
#include "hw/pci/pci_regs.h"
#include "hw/pci-host/q35.h"
#include "hw/misc/testdev_regs.h"

#define DEVFN       QPCI_DEVFN(4, 0)
#define SRC_BUF     0x100000ULL     /* guest RAM used as the copy's source */
#define DST_BUF     0x200000ULL     /* ... and destination */
#define UNMAPPED    0x4000000000ULL /* 256 GiB: nothing answers there */
#define MSI_BUF     0x300000ULL     /* where MSI messages land */
#define RAM_SIZE    (128ULL << 20)
#define MS          1000000LL       /* virtual clock steps are in ns */
#define MACHINE     "-M q35 -nodefaults "
#define ECAM_BASE   0xb0000000ULL   /* config space, where tests map it */

typedef struct {
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar;
    uint64_t bar_size;
} Testdev;

/* Map BAR0 and enable memory decoding, plus bus mastering if asked. */
static void testdev_map(Testdev *t, bool master)
{
    uint16_t cmd;

    t->bus->mmio_alloc_ptr = 0xE0000000;
    t->bar = qpci_iomap(t->dev, TESTDEV_BAR, &t->bar_size);
    cmd = qpci_config_readw(t->dev, PCI_COMMAND) | PCI_COMMAND_MEMORY;
    if (master) {
        cmd |= PCI_COMMAND_MASTER;
    }
    qpci_config_writew(t->dev, PCI_COMMAND, cmd);
}

/*
 * Start QEMU: MACHINE, then the rest of the command line from fmt, with a
 * pcie-testdev at DEVFN; find it and map BAR0 (bus mastering if master).
 */
static void G_GNUC_PRINTF(3, 4) testdev_startf(Testdev *t, bool master,
                                               const char *fmt, ...)
{
    g_autofree char *args = NULL;
    va_list ap;

    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    t->qts = qtest_initf(MACHINE "%s", args);
    t->bus = qpci_new_pc(t->qts, NULL);
    t->dev = qpci_device_find(t->bus, DEVFN);
    g_assert(t->dev);
    testdev_map(t, master);
}

/* The usual machine: RAM_SIZE of RAM, the device with props appended. */
static void testdev_start(Testdev *t, bool master, const char *props)
{
    testdev_startf(t, master, "-m %llu -device pcie-testdev,addr=04.0%s",
                   RAM_SIZE >> 20, props);
}

static void testdev_stop(Testdev *t)
{
    g_free(t->dev);
    qpci_free_pc(t->bus);
    qtest_quit(t->qts);
}

static uint64_t rd(Testdev *t, uint64_t reg)
{
    return qpci_io_readq(t->dev, t->bar, reg);
}

static void wr(Testdev *t, uint64_t reg, uint64_t val)
{
    qpci_io_writeq(t->dev, t->bar, reg, val);
}

static bool intx_asserted(Testdev *t)
{
    return qpci_config_readw(t->dev, PCI_STATUS) & PCI_STATUS_INTERRUPT;
}

static void fill(Testdev *t, uint64_t addr, uint8_t byte, size_t len)
{
    qtest_memset(t->qts, addr, byte, len);
}

/* Assert that len bytes at addr all hold byte. */
static void assert_filled(Testdev *t, uint64_t addr, uint8_t byte, size_t len)
{
    g_autofree uint8_t *buf = g_malloc(len);
    size_t i;

    qtest_memread(t->qts, addr, buf, len);
    for (i = 0; i < len; i++) {
        g_assert_cmphex(buf[i], ==, byte);
    }
}

/* Set a copy up and ring the doorbell with the given bits. */
static void ring_copy(Testdev *t, uint64_t src, uint64_t dst, uint64_t size,
                      uint64_t doorbell)
{
    wr(t, TESTDEV_REG_SRCADDR, src);
    wr(t, TESTDEV_REG_DSTADDR, dst);
    wr(t, TESTDEV_REG_SIZE, size);
    wr(t, TESTDEV_REG_DOORBELL, doorbell);
}

/* The usual copy, SRC_BUF to DST_BUF. */
static void ring(Testdev *t, uint64_t size, uint64_t doorbell)
{
    ring_copy(t, SRC_BUF, DST_BUF, size, doorbell);
}

/*
 * Ring the doorbell for a copy and let the device run it: at the earliest
 * 1 us later, or later by BUSY_DELAY or the device's pacing by host time.
 */
static uint64_t copy(Testdev *t, uint64_t src, uint64_t dst, uint64_t size)
{
    int i;

    ring_copy(t, src, dst, size, TESTDEV_DOORBELL_START);
    qtest_clock_step(t->qts, TESTDEV_MIN_COPY_DELAY_NS);
    for (i = 0; i < 1000 && rd(t, TESTDEV_REG_STATUS); i++) {
        qtest_clock_step(t->qts, MS);
    }
    return rd(t, TESTDEV_REG_RESULT);
}

static void test_identity(void)
{
    Testdev t;
    uint32_t bar;

    testdev_start(&t, false, "");
    g_assert_cmphex(qpci_config_readw(t.dev, PCI_VENDOR_ID), ==,
                    TESTDEV_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(t.dev, PCI_DEVICE_ID), ==,
                    TESTDEV_DEVICE_ID);
    g_assert_cmphex(qpci_config_readw(t.dev, PCI_SUBSYSTEM_VENDOR_ID), ==,
                    TESTDEV_SUBSYS_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(t.dev, PCI_SUBSYSTEM_ID), ==,
                    TESTDEV_SUBSYS_ID);
    g_assert_cmphex(qpci_config_readw(t.dev, PCI_CLASS_DEVICE), ==,
                    TESTDEV_CLASS);
    g_assert_cmphex(qpci_config_readb(t.dev, PCI_CLASS_PROG), ==, 0);
    g_assert_cmpuint(qpci_find_capability(t.dev, PCI_CAP_ID_EXP, 0), !=, 0);

    bar = qpci_config_readl(t.dev, PCI_BASE_ADDRESS_0 + 4 * TESTDEV_BAR);
    g_assert_cmphex(bar & PCI_BASE_ADDRESS_SPACE, ==,
                    PCI_BASE_ADDRESS_SPACE_MEMORY);
    g_assert_cmphex(bar & PCI_BASE_ADDRESS_MEM_TYPE_MASK, ==,
                    PCI_BASE_ADDRESS_MEM_TYPE_64);
    g_assert_cmphex(bar & PCI_BASE_ADDRESS_MEM_PREFETCH, ==,
                    PCI_BASE_ADDRESS_MEM_PREFETCH);
    g_assert_cmphex(t.bar_size, ==, TESTDEV_BAR_SIZE);
    testdev_stop(&t);
}

static void test_registers(void)
{
    static const uint64_t rw_regs[] = {
        TESTDEV_REG_SRCADDR, TESTDEV_REG_DSTADDR, TESTDEV_REG_SIZE,
        TESTDEV_REG_BUSY_DELAY,
    };
    Testdev t;
    size_t i;

    testdev_start(&t, true, "");
    g_assert_cmpuint(rd(&t, TESTDEV_REG_STATUS), ==, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_RESULT), ==, TESTDEV_RESULT_NONE);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_AGGRESSIVE), ==, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_FAULTS), ==, 0);
    g_assert_cmphex(rd(&t, TESTDEV_REG_MAX_SIZE), ==,
                    TESTDEV_MAX_SIZE_DEFAULT);

    for (i = 0; i < ARRAY_SIZE(rw_regs); i++) {
        uint64_t reg = rw_regs[i];
        uint64_t val = 0x123456789abcdef0ULL + i;

        /* 64 bits survive: the original kept only the low 32. */
        wr(&t, reg, val);
        g_assert_cmphex(rd(&t, reg), ==, val);
        g_assert_cmphex(qpci_io_readl(t.dev, t.bar, reg), ==, (uint32_t)val);
        g_assert_cmphex(qpci_io_readl(t.dev, t.bar, reg + 4), ==, val >> 32);

        /* A low-half write zero-extends; a high-half write keeps the low. */
        qpci_io_writel(t.dev, t.bar, reg, 0xcafe0000 + i);
        g_assert_cmphex(rd(&t, reg), ==, 0xcafe0000 + i);
        qpci_io_writel(t.dev, t.bar, reg + 4, 0x1);
        g_assert_cmphex(rd(&t, reg), ==, 0x1cafe0000ULL + i);
    }

    /* 1- and 2-byte accesses are refused: writes ignored, reads 0. */
    wr(&t, TESTDEV_REG_SIZE, 0x1111111111111111ULL);
    qpci_io_writeb(t.dev, t.bar, TESTDEV_REG_SIZE, 0x22);
    qpci_io_writew(t.dev, t.bar, TESTDEV_REG_SIZE + 2, 0x3333);
    g_assert_cmphex(rd(&t, TESTDEV_REG_SIZE), ==, 0x1111111111111111ULL);
    g_assert_cmphex(qpci_io_readb(t.dev, t.bar, TESTDEV_REG_SIZE), ==, 0);
    g_assert_cmphex(qpci_io_readw(t.dev, t.bar, TESTDEV_REG_SIZE), ==, 0);

    /* Read-only and unlisted offsets ignore writes; unlisted read 0. */
    wr(&t, TESTDEV_REG_STATUS, 1);
    wr(&t, TESTDEV_REG_RESULT, 7);
    wr(&t, TESTDEV_REG_MAX_SIZE, 1);
    wr(&t, TESTDEV_REG_END, 0xffff);
    wr(&t, TESTDEV_BAR_SIZE - 8, 0xffff);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_STATUS), ==, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_RESULT), ==, TESTDEV_RESULT_NONE);
    g_assert_cmphex(rd(&t, TESTDEV_REG_MAX_SIZE), ==,
                    TESTDEV_MAX_SIZE_DEFAULT);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_END), ==, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_BAR_SIZE - 8), ==, 0);
    testdev_stop(&t);
}

static void test_copy(void)
{
    Testdev t;

    testdev_start(&t, true, "");
    fill(&t, SRC_BUF, 0x5a, 4096);
    fill(&t, DST_BUF, 0x00, 4096);
    g_assert_cmpuint(copy(&t, SRC_BUF, DST_BUF, 4096), ==, TESTDEV_RESULT_OK);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_STATUS), ==, 0);
    assert_filled(&t, DST_BUF, 0x5a, 4096);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 1);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_FAULTS), ==, 0);

    /* The largest copy the device accepts. */
    fill(&t, SRC_BUF, 0xa5, TESTDEV_MAX_SIZE_DEFAULT);
    g_assert_cmpuint(copy(&t, SRC_BUF, DST_BUF + TESTDEV_MAX_SIZE_DEFAULT,
                          TESTDEV_MAX_SIZE_DEFAULT), ==, TESTDEV_RESULT_OK);
    assert_filled(&t, DST_BUF + TESTDEV_MAX_SIZE_DEFAULT, 0xa5,
                  TESTDEV_MAX_SIZE_DEFAULT);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 2);
    testdev_stop(&t);
}

/* Bus addresses above 4 GiB work: the original truncated them to 32 bits. */
static void test_copy_above_4g(void)
{
    const uint64_t high = 0x100000000ULL + 0x1000;
    Testdev t;

    testdev_startf(&t, true, "-m 4608 -device pcie-testdev,addr=04.0");
    fill(&t, SRC_BUF, 0x42, 256);
    fill(&t, high, 0x00, 256);
    g_assert_cmpuint(copy(&t, SRC_BUF, high, 256), ==, TESTDEV_RESULT_OK);
    assert_filled(&t, high, 0x42, 256);
    fill(&t, DST_BUF, 0x00, 256);
    g_assert_cmpuint(copy(&t, high, DST_BUF, 256), ==, TESTDEV_RESULT_OK);
    assert_filled(&t, DST_BUF, 0x42, 256);
    testdev_stop(&t);
}

static void test_busy_delay(void)
{
    Testdev t;

    testdev_start(&t, true, "");
    fill(&t, SRC_BUF, 0x11, 64);
    fill(&t, DST_BUF, 0x00, 64);
    wr(&t, TESTDEV_REG_BUSY_DELAY, 50);
    ring(&t, 64, TESTDEV_DOORBELL_START);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_STATUS), ==, TESTDEV_STATUS_BUSY);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_RESULT), ==, TESTDEV_RESULT_NONE);
    qtest_clock_step(t.qts, 50 * MS - 1);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_STATUS), ==, TESTDEV_STATUS_BUSY);
    assert_filled(&t, DST_BUF, 0x00, 64);
    qtest_clock_step(t.qts, 1);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_STATUS), ==, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_RESULT), ==, TESTDEV_RESULT_OK);
    assert_filled(&t, DST_BUF, 0x11, 64);
    testdev_stop(&t);
}

/* A doorbell while busy is ignored; the copy uses what was latched. */
static void test_doorbell_while_busy(void)
{
    Testdev t;

    testdev_start(&t, true, "");
    fill(&t, SRC_BUF, 0x11, 64);
    fill(&t, SRC_BUF + 64, 0x22, 64);
    fill(&t, DST_BUF, 0x00, 128);
    wr(&t, TESTDEV_REG_BUSY_DELAY, 10);
    ring(&t, 64, TESTDEV_DOORBELL_START);
    ring_copy(&t, SRC_BUF + 64, DST_BUF + 64, 64, TESTDEV_DOORBELL_START);
    qtest_clock_step(t.qts, 100 * MS);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_STATUS), ==, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_RESULT), ==, TESTDEV_RESULT_OK);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 1);
    assert_filled(&t, DST_BUF, 0x11, 64);
    assert_filled(&t, DST_BUF + 64, 0x00, 64);
    /* A doorbell write without the start bit does nothing. */
    wr(&t, TESTDEV_REG_DOORBELL, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_STATUS), ==, 0);
    testdev_stop(&t);
}

static void test_bus_master_off(void)
{
    Testdev t;

    testdev_start(&t, false, "");
    fill(&t, SRC_BUF, 0x33, 64);
    fill(&t, DST_BUF, 0x77, 64);
    g_assert_cmpuint(copy(&t, SRC_BUF, DST_BUF, 64), ==,
                     TESTDEV_RESULT_SRC_FAULT);
    assert_filled(&t, DST_BUF, 0x77, 64);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_FAULTS), ==, 1);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 0);
    testdev_stop(&t);
}

static void test_faults(void)
{
    const uint64_t ram_end = RAM_SIZE;
    Testdev t;

    testdev_start(&t, true, "");
    fill(&t, SRC_BUF, 0x33, 64);
    fill(&t, DST_BUF, 0x77, 64);

    /* Nothing behind the source. */
    g_assert_cmpuint(copy(&t, UNMAPPED, DST_BUF, 64), ==,
                     TESTDEV_RESULT_SRC_FAULT);
    assert_filled(&t, DST_BUF, 0x77, 64);

    /* Nothing behind the destination. */
    g_assert_cmpuint(copy(&t, SRC_BUF, UNMAPPED, 64), ==,
                     TESTDEV_RESULT_DST_FAULT);

    /*
     * A destination that starts in RAM and runs past its end: the part in
     * RAM must stay untouched.
     */
    fill(&t, ram_end - 32, 0x77, 32);
    g_assert_cmpuint(copy(&t, SRC_BUF, ram_end - 32, 64), ==,
                     TESTDEV_RESULT_DST_FAULT);
    assert_filled(&t, ram_end - 32, 0x77, 32);

    g_assert_cmpuint(rd(&t, TESTDEV_REG_FAULTS), ==, 3);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 0);
    testdev_stop(&t);
}

/*
 * A destination that is RAM followed by the device's own BAR: the copy
 * faults before anything is written, the RAM part included.
 */
static void test_ram_then_own_bar(void)
{
    Testdev t;

    t.qts = qtest_initf(MACHINE "-m %llu -device pcie-testdev,addr=04.0",
                        RAM_SIZE >> 20);
    t.bus = qpci_new_pc(t.qts, NULL);
    t.dev = qpci_device_find(t.bus, DEVFN);
    /* Place BAR0 right after the end of RAM. */
    t.bus->mmio_alloc_ptr = RAM_SIZE;
    t.bar = qpci_iomap(t.dev, TESTDEV_BAR, NULL);
    g_assert_cmphex(t.bar.addr, ==, RAM_SIZE);
    qpci_device_enable(t.dev);
    fill(&t, SRC_BUF, 0x33, 64);
    fill(&t, RAM_SIZE - 32, 0x77, 32);
    g_assert_cmpuint(copy(&t, SRC_BUF, RAM_SIZE - 32, 64), ==,
                     TESTDEV_RESULT_DST_FAULT);
    assert_filled(&t, RAM_SIZE - 32, 0x77, 32);
    testdev_stop(&t);
}

/* Turn on q35's PCIe config window, as firmware would; return its base. */
static uint64_t enable_ecam(QPCIBus *bus)
{
    const uint64_t ecam = ECAM_BASE;
    QPCIDevice *host = qpci_device_find(bus, 0);

    qpci_config_writel(host, MCH_HOST_BRIDGE_PCIEXBAR + 4, 0);
    qpci_config_writel(host, MCH_HOST_BRIDGE_PCIEXBAR,
                       ecam | MCH_HOST_BRIDGE_PCIEXBAREN); /* 256 MiB */
    g_free(host);
    return ecam;
}

/*
 * The device's own DMA resets it: an aggressive copy writes Function Level
 * Reset into its Device Control register through the PCIe config window.
 * QEMU must keep running (the reset happens in the middle of a copy).
 */
static void test_reset_by_own_dma(void)
{
    const uint16_t flr = PCI_EXP_DEVCTL_BCR_FLR;
    uint64_t devctl;
    Testdev t;

    testdev_start(&t, true, ",aggression_delay_ms=10");
    devctl = enable_ecam(t.bus) + (DEVFN << 12) +
             qpci_find_capability(t.dev, PCI_CAP_ID_EXP, 0) + PCI_EXP_DEVCTL;
    qtest_memwrite(t.qts, SRC_BUF, &flr, sizeof(flr));

    /* A doorbell copy pending across the reset must not report. */
    wr(&t, TESTDEV_REG_BUSY_DELAY, 10);
    wr(&t, TESTDEV_REG_INT_ENABLE, TESTDEV_INT_DONE);
    ring_copy(&t, SRC_BUF, devctl, sizeof(flr), TESTDEV_DOORBELL_START);
    qtest_clock_step(t.qts, 10 * MS);
    testdev_map(&t, true);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_STATUS), ==, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_RESULT), ==, TESTDEV_RESULT_NONE);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_INT_STATUS), ==, 0);
    /* Nor count: the reset zeroed the counters, as the spec says. */
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_FAULTS), ==, 0);

    /* Nor may an aggressive one, which used to leave a stale deadline. */
    ring_copy(&t, SRC_BUF, devctl, sizeof(flr), 0);
    wr(&t, TESTDEV_REG_AGGRESSIVE, TESTDEV_AGGRESSIVE_ON);
    qtest_clock_step(t.qts, 100 * MS);
    testdev_map(&t, true);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_AGGRESSIVE), ==, 0);
    qtest_qmp_assert_success(t.qts, "{ 'execute': 'query-status' }");
    testdev_stop(&t);
}

/* A copy aimed at the device's own registers faults and changes nothing. */
static void test_own_bar(void)
{
    const uint64_t evil = 0xffffffffffffffffULL;
    Testdev t;
    uint64_t regs;

    testdev_start(&t, true, "");
    regs = t.bar.addr;
    qtest_memwrite(t.qts, SRC_BUF, &evil, sizeof(evil));
    g_assert_cmpuint(copy(&t, SRC_BUF, regs + TESTDEV_REG_SIZE, 8), ==,
                     TESTDEV_RESULT_DST_FAULT);
    g_assert_cmphex(rd(&t, TESTDEV_REG_SIZE), ==, 8);
    g_assert_cmpuint(copy(&t, regs, DST_BUF, 64), ==,
                     TESTDEV_RESULT_SRC_FAULT);
    g_assert_cmpuint(copy(&t, regs + TESTDEV_REG_DOORBELL,
                          regs + TESTDEV_REG_DOORBELL, 8), ==,
                     TESTDEV_RESULT_SRC_FAULT);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_FAULTS), ==, 3);
    testdev_stop(&t);
}

static void test_oversize(void)
{
    static const uint64_t bad_sizes[] = {
        0, 4097, 0x100000000ULL, 0xffffffffffffffffULL,
    };
    Testdev t;
    size_t i;

    /* A size, with the suffixes QEMU's size properties take. */
    testdev_start(&t, true, ",max_transfer_size=4k");
    g_assert_cmphex(rd(&t, TESTDEV_REG_MAX_SIZE), ==, 4096);
    fill(&t, SRC_BUF, 0x44, 8192);
    fill(&t, DST_BUF, 0x00, 8192);
    for (i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
        g_assert_cmpuint(copy(&t, SRC_BUF, DST_BUF, bad_sizes[i]), ==,
                         TESTDEV_RESULT_BAD_SIZE);
    }
    assert_filled(&t, DST_BUF, 0x00, 8192);
    g_assert_cmpuint(copy(&t, SRC_BUF, DST_BUF, 4096), ==, TESTDEV_RESULT_OK);
    assert_filled(&t, DST_BUF, 0x44, 4096);
    assert_filled(&t, DST_BUF + 4096, 0x00, 4096);
    testdev_stop(&t);
}

/*
 * Aggressive mode from the property, as the seed README starts it: no
 * driver, and bus mastering left off by the "guest"; the device turns it on.
 */
static void test_aggressive_property(void)
{
    Testdev t;

    testdev_start(&t, false, ",aggressive=on,srcaddr=0x100000,"
                  "dstaddr=0x200000,size=16,aggression_delay_ms=20");
    fill(&t, SRC_BUF, 0x61, 16);
    fill(&t, DST_BUF, 0x00, 16);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_AGGRESSIVE), ==,
                     TESTDEV_AGGRESSIVE_ON);

    qtest_clock_step(t.qts, 20 * MS - 1);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 0);
    qtest_clock_step(t.qts, 1);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 1);
    assert_filled(&t, DST_BUF, 0x61, 16);
    g_assert_cmphex(qpci_config_readw(t.dev, PCI_COMMAND) & PCI_COMMAND_MASTER,
                    ==, PCI_COMMAND_MASTER);

    /* It repeats: new source data lands on the next round. */
    fill(&t, SRC_BUF, 0x62, 16);
    qtest_clock_step(t.qts, 20 * MS);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 2);
    assert_filled(&t, DST_BUF, 0x62, 16);
    qtest_clock_step(t.qts, 60 * MS);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 5);
    /* Aggressive copies leave the doorbell's RESULT alone. */
    g_assert_cmpuint(rd(&t, TESTDEV_REG_RESULT), ==, TESTDEV_RESULT_NONE);

    /* Stopped by the register. */
    wr(&t, TESTDEV_REG_AGGRESSIVE, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_AGGRESSIVE), ==, 0);
    fill(&t, SRC_BUF, 0x63, 16);
    qtest_clock_step(t.qts, 100 * MS);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 5);
    assert_filled(&t, DST_BUF, 0x62, 16);
    testdev_stop(&t);
}

static void test_aggressive_register(void)
{
    Testdev t;

    testdev_start(&t, true, ",aggression_delay_ms=10");
    fill(&t, SRC_BUF, 0x71, 32);
    fill(&t, DST_BUF, 0x00, 32);
    wr(&t, TESTDEV_REG_SRCADDR, SRC_BUF);
    wr(&t, TESTDEV_REG_DSTADDR, DST_BUF);
    wr(&t, TESTDEV_REG_SIZE, 32);
    qtest_clock_step(t.qts, 100 * MS);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 0);

    wr(&t, TESTDEV_REG_AGGRESSIVE, TESTDEV_AGGRESSIVE_ON);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_AGGRESSIVE), ==,
                     TESTDEV_AGGRESSIVE_ON);
    qtest_clock_step(t.qts, 10 * MS);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 1);
    assert_filled(&t, DST_BUF, 0x71, 32);

    /* Faulting rounds are counted as faults. */
    wr(&t, TESTDEV_REG_SRCADDR, UNMAPPED);
    qtest_clock_step(t.qts, 30 * MS);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 1);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_FAULTS), ==, 3);

    wr(&t, TESTDEV_REG_AGGRESSIVE, 0);
    qtest_clock_step(t.qts, 100 * MS);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_FAULTS), ==, 3);
    testdev_stop(&t);
}

/* A delay of 0 must not livelock the virtual clock: copies are paced. */
static void test_aggressive_delay_zero(void)
{
    Testdev t;
    int64_t before, after;

    testdev_start(&t, true, ",aggressive=on,srcaddr=0x100000,"
                  "dstaddr=0x200000,size=8,aggression_delay_ms=0");
    before = qtest_clock_step(t.qts, 1);
    after = qtest_clock_step(t.qts, 50 * MS);
    g_assert_cmpint(after - before, ==, 50 * MS);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), >=, 49);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), <=,
                     50 / TESTDEV_MIN_AGGRESSION_MS);
    testdev_stop(&t);
}

static void check_power_on_values(Testdev *t)
{
    g_assert_cmphex(rd(t, TESTDEV_REG_SRCADDR), ==, 0x1000);
    g_assert_cmphex(rd(t, TESTDEV_REG_DSTADDR), ==, 0x2000);
    g_assert_cmphex(rd(t, TESTDEV_REG_SIZE), ==, 0x30);
    g_assert_cmphex(rd(t, TESTDEV_REG_BUSY_DELAY), ==, 5);
    g_assert_cmpuint(rd(t, TESTDEV_REG_STATUS), ==, 0);
    g_assert_cmpuint(rd(t, TESTDEV_REG_RESULT), ==, TESTDEV_RESULT_NONE);
    g_assert_cmpuint(rd(t, TESTDEV_REG_AGGRESSIVE), ==, 0);
    g_assert_cmpuint(rd(t, TESTDEV_REG_COPIES), ==, 0);
    g_assert_cmpuint(rd(t, TESTDEV_REG_FAULTS), ==, 0);
    g_assert_cmpuint(rd(t, TESTDEV_REG_INT_ENABLE), ==, 0);
    g_assert_cmpuint(rd(t, TESTDEV_REG_INT_STATUS), ==, 0);
    g_assert_false(intx_asserted(t));
}

/* Leave a copy pending and aggressive mode on, with changed registers. */
static void dirty(Testdev *t)
{
    fill(t, SRC_BUF, 0x99, 64);
    fill(t, DST_BUF, 0x00, 64);
    ring(t, 64, TESTDEV_DOORBELL_START);
    g_assert_cmpuint(rd(t, TESTDEV_REG_STATUS), ==, TESTDEV_STATUS_BUSY);
    wr(t, TESTDEV_REG_BUSY_DELAY, 1000);
    wr(t, TESTDEV_REG_AGGRESSIVE, TESTDEV_AGGRESSIVE_ON);
    wr(t, TESTDEV_REG_INT_ENABLE, TESTDEV_INT_DONE);
}

static void test_reset(void)
{
    Testdev t;

    /* Power-on values come from the properties. */
    testdev_start(&t, true, ",srcaddr=0x1000,dstaddr=0x2000,size=0x30,"
                  "busy_delay_ms=5");
    check_power_on_values(&t);

    dirty(&t);
    qtest_qmp_assert_success(t.qts, "{ 'execute': 'system_reset' }");
    qtest_qmp_eventwait(t.qts, "RESET");
    testdev_map(&t, true);
    check_power_on_values(&t);
    /* The pending copy was cancelled, and aggressive mode stopped. */
    qtest_clock_step(t.qts, 2000 * MS);
    assert_filled(&t, DST_BUF, 0x00, 64);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 0);

    /* Function Level Reset does the same. */
    dirty(&t);
    qpci_config_writew(t.dev, qpci_find_capability(t.dev, PCI_CAP_ID_EXP, 0) +
                       PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR);
    testdev_map(&t, true);
    check_power_on_values(&t);
    qtest_clock_step(t.qts, 2000 * MS);
    assert_filled(&t, DST_BUF, 0x00, 64);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 0);
    testdev_stop(&t);
}

static void test_intx(void)
{
    Testdev t;

    testdev_start(&t, true, "");
    g_assert_cmpuint(qpci_config_readb(t.dev, PCI_INTERRUPT_PIN), ==, 1);
    fill(&t, SRC_BUF, 0x12, 64);

    /* Without asking, no interrupt: the original's behaviour. */
    g_assert_cmpuint(copy(&t, SRC_BUF, DST_BUF, 64), ==, TESTDEV_RESULT_OK);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_INT_STATUS), ==, 0);
    g_assert_false(intx_asserted(&t));

    /* Asked by the doorbell: raised when STATUS and RESULT are final. */
    wr(&t, TESTDEV_REG_BUSY_DELAY, 10);
    ring(&t, 64, TESTDEV_DOORBELL_START | TESTDEV_DOORBELL_IRQ);
    qtest_clock_step(t.qts, 10 * MS - 1);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_STATUS), ==, TESTDEV_STATUS_BUSY);
    g_assert_false(intx_asserted(&t));
    qtest_clock_step(t.qts, 1);
    g_assert_true(intx_asserted(&t));
    g_assert_cmpuint(rd(&t, TESTDEV_REG_STATUS), ==, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_RESULT), ==, TESTDEV_RESULT_OK);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_INT_STATUS), ==, TESTDEV_INT_DONE);
    wr(&t, TESTDEV_REG_INT_ACK, TESTDEV_INT_DONE);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_INT_STATUS), ==, 0);
    g_assert_false(intx_asserted(&t));

    /* Asked by INT_ENABLE, for every copy, faulting ones too. */
    wr(&t, TESTDEV_REG_BUSY_DELAY, 0);
    wr(&t, TESTDEV_REG_INT_ENABLE, TESTDEV_INT_DONE);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_INT_ENABLE), ==, TESTDEV_INT_DONE);
    g_assert_cmpuint(copy(&t, UNMAPPED, DST_BUF, 64), ==,
                     TESTDEV_RESULT_SRC_FAULT);
    g_assert_true(intx_asserted(&t));
    wr(&t, TESTDEV_REG_INT_ACK, TESTDEV_INT_DONE);
    g_assert_false(intx_asserted(&t));
    testdev_stop(&t);
}

static void test_msi(void)
{
    Testdev t;
    uint8_t cap;
    uint16_t flags;

    testdev_start(&t, true, "");
    cap = qpci_find_capability(t.dev, PCI_CAP_ID_MSI, 0);
    g_assert_cmpuint(cap, !=, 0);
    flags = qpci_config_readw(t.dev, cap + PCI_MSI_FLAGS);
    g_assert_cmphex(flags & PCI_MSI_FLAGS_64BIT, ==, PCI_MSI_FLAGS_64BIT);
    /* Point the message at guest RAM, where the test can see it. */
    qpci_config_writel(t.dev, cap + PCI_MSI_ADDRESS_LO, MSI_BUF);
    qpci_config_writel(t.dev, cap + PCI_MSI_ADDRESS_HI, 0);
    qpci_config_writew(t.dev, cap + PCI_MSI_DATA_64, 0x4321);
    qpci_config_writew(t.dev, cap + PCI_MSI_FLAGS,
                       flags | PCI_MSI_FLAGS_ENABLE);
    qtest_writel(t.qts, MSI_BUF, 0);
    fill(&t, SRC_BUF, 0x13, 64);

    wr(&t, TESTDEV_REG_INT_ENABLE, TESTDEV_INT_DONE);
    g_assert_cmpuint(copy(&t, SRC_BUF, DST_BUF, 64), ==, TESTDEV_RESULT_OK);
    g_assert_cmphex(qtest_readl(t.qts, MSI_BUF), ==, 0x4321);
    g_assert_false(intx_asserted(&t));
    g_assert_cmpuint(rd(&t, TESTDEV_REG_INT_STATUS), ==, TESTDEV_INT_DONE);

    /* Until acknowledged, a further completion sends no new message. */
    qtest_writel(t.qts, MSI_BUF, 0);
    g_assert_cmpuint(copy(&t, SRC_BUF, DST_BUF, 64), ==, TESTDEV_RESULT_OK);
    g_assert_cmphex(qtest_readl(t.qts, MSI_BUF), ==, 0);
    wr(&t, TESTDEV_REG_INT_ACK, TESTDEV_INT_DONE);
    g_assert_cmpuint(copy(&t, SRC_BUF, DST_BUF, 64), ==, TESTDEV_RESULT_OK);
    g_assert_cmphex(qtest_readl(t.qts, MSI_BUF), ==, 0x4321);

    /* Turning MSI off with the bit still set hands it to INTx. */
    qpci_config_writew(t.dev, cap + PCI_MSI_FLAGS, flags);
    g_assert_true(intx_asserted(&t));
    wr(&t, TESTDEV_REG_INT_ACK, TESTDEV_INT_DONE);
    g_assert_false(intx_asserted(&t));
    testdev_stop(&t);
}

static void wait_migration(QTestState *qts)
{
    for (;;) {
        QDict *rsp = qtest_qmp(qts, "{ 'execute': 'query-migrate' }");
        QDict *ret = qdict_get_qdict(rsp, "return");
        const char *status = qdict_get_try_str(ret, "status");
        bool done = !g_strcmp0(status, "completed");

        g_assert_cmpstr(status, !=, "failed");
        qobject_unref(rsp);
        if (done) {
            return;
        }
        g_usleep(10 * 1000);
    }
}

/*
 * Save src's VM state and load it into dst, a new QEMU whose device has the
 * properties props; dst's BAR is where src's was.
 */
static void migrate(Testdev *src, Testdev *dst, const char *props)
{
    g_autofree char *file = NULL;
    g_autofree char *save = NULL;
    g_autofree char *load = NULL;
    int fd;

    fd = g_file_open_tmp("pcie-testdev-migration-XXXXXX", &file, NULL);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    save = g_strdup_printf("exec:cat > %s", file);
    load = g_strdup_printf("exec:cat %s", file);
    qtest_qmp_assert_success(src->qts, "{ 'execute': 'migrate',"
                             " 'arguments': { 'uri': %s } }", save);
    wait_migration(src->qts);

    dst->qts = qtest_initf(MACHINE "-m %llu -device pcie-testdev,addr=04.0%s"
                           " -incoming defer", RAM_SIZE >> 20, props);
    qtest_qmp_assert_success(dst->qts, "{ 'execute': 'migrate-incoming',"
                             " 'arguments': { 'uri': %s } }", load);
    wait_migration(dst->qts);
    dst->bus = qpci_new_pc(dst->qts, NULL);
    dst->dev = qpci_device_find(dst->bus, DEVFN);
    dst->bar = src->bar;
    unlink(file);
}

/* A copy pending when the VM state is saved completes after it is loaded. */
static void test_migration(void)
{
    Testdev src, dst;
    int i;

    testdev_start(&src, true, "");
    fill(&src, SRC_BUF, 0x5c, 4096);
    fill(&src, DST_BUF, 0x00, 4096);
    wr(&src, TESTDEV_REG_BUSY_DELAY, 100);
    wr(&src, TESTDEV_REG_INT_ENABLE, TESTDEV_INT_DONE);
    ring(&src, 4096, TESTDEV_DOORBELL_START);
    qtest_clock_step(src.qts, 40 * MS);
    g_assert_cmpuint(rd(&src, TESTDEV_REG_STATUS), ==, TESTDEV_STATUS_BUSY);
    migrate(&src, &dst, "");

    /* Registers and the pending copy came across. */
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_STATUS), ==, TESTDEV_STATUS_BUSY);
    g_assert_cmphex(rd(&dst, TESTDEV_REG_SRCADDR), ==, SRC_BUF);
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_BUSY_DELAY), ==, 100);
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_INT_ENABLE), ==, TESTDEV_INT_DONE);
    assert_filled(&dst, DST_BUF, 0x00, 4096);
    /*
     * The qtest accelerator does not carry its virtual clock across, so
     * step until the copy's deadline, bounded.
     */
    for (i = 0; i < 20 && rd(&dst, TESTDEV_REG_STATUS); i++) {
        qtest_clock_step(dst.qts, 10 * MS);
    }
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_STATUS), ==, 0);
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_RESULT), ==, TESTDEV_RESULT_OK);
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_INT_STATUS), ==, TESTDEV_INT_DONE);
    assert_filled(&dst, DST_BUF, 0x5c, 4096);

    testdev_stop(&dst);
    testdev_stop(&src);
}

/*
 * Step the clock until the scan ends, bounded; return the virtual ms it
 * took. Each turn probes SCAN_PAGES_PER_TURN pages.
 */
static int scan_wait(Testdev *t)
{
    int ms;

    for (ms = 0; ms < 2000 && rd(t, TESTDEV_REG_SCAN_CTRL); ms++) {
        qtest_clock_step(t->qts, MS);
    }
    g_assert_cmpuint(rd(t, TESTDEV_REG_SCAN_CTRL), ==, 0);
    return ms;
}

static void scan(Testdev *t, uint64_t start, uint64_t pages, uint64_t canary)
{
    wr(t, TESTDEV_REG_SCAN_START, start);
    wr(t, TESTDEV_REG_SCAN_PAGES, pages);
    wr(t, TESTDEV_REG_SCAN_CANARY, canary);
    wr(t, TESTDEV_REG_SCAN_CTRL, TESTDEV_SCAN_RUN);
}

static uint64_t qom_get_uint(QTestState *qts, const char *path,
                             const char *prop)
{
    QDict *rsp = qtest_qmp(qts, "{ 'execute': 'qom-get', 'arguments':"
                           " { 'path': %s, 'property': %s } }", path, prop);
    uint64_t val = qdict_get_int(rsp, "return");

    qobject_unref(rsp);
    return val;
}

#define CANARY      0x5ca9ba5ec0ffee42ULL
#define TESTDEV_QOM_PATH "/machine/peripheral-anon/device[0]"
#define RAM_PAGES   (RAM_SIZE / TESTDEV_SCAN_PAGE_SIZE)

/*
 * The reachability scan without an IOMMU: all of RAM (less the legacy
 * holes below 1 MiB) is readable and writable, nothing past it, and the
 * page holding the canary is found; the scan forces bus mastering on, as a
 * rogue device would, writes nothing, and takes turns on the timeline.
 */
static void test_scan(void)
{
    Testdev t;
    uint64_t readable, writable;
    int ms;

    testdev_start(&t, false, "");
    fill(&t, DST_BUF, 0xa5, 4096);
    qtest_writeq(t.qts, SRC_BUF + 0x18, CANARY);
    qtest_writeq(t.qts, SRC_BUF + 0x20, 0x7a6);
    scan(&t, 0, RAM_PAGES + 64, CANARY);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_SEQ), ==, 1);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_CTRL), ==, TESTDEV_SCAN_RUN);

    /* Bounded work per slice of virtual time: a few turns a ms. */
    qtest_clock_step(t.qts, MS);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_READABLE), <=,
                     3 * TESTDEV_SCAN_PAGES_PER_TURN);
    ms = scan_wait(&t);
    g_assert_cmpint(ms, >=, RAM_PAGES / TESTDEV_SCAN_PAGES_PER_TURN / 3);

    readable = rd(&t, TESTDEV_REG_SCAN_READABLE);
    writable = rd(&t, TESTDEV_REG_SCAN_WRITABLE);
    g_assert_cmpuint(readable, <=, RAM_PAGES);
    g_assert_cmpuint(readable, >=, RAM_PAGES - 0x100000 / 4096);
    g_assert_cmpuint(writable, <=, readable);
    g_assert_cmpuint(writable, >=, RAM_PAGES - 0x100000 / 4096);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_CANARIES), ==, 1);
    g_assert_cmpuint(qom_get_uint(t.qts, TESTDEV_QOM_PATH,
                                  "x-scan-canary-pages"), ==, 1);
    g_assert_true(qpci_config_readw(t.dev, PCI_COMMAND) & PCI_COMMAND_MASTER);
    assert_filled(&t, DST_BUF, 0xa5, 4096);
    g_assert_cmphex(qtest_readq(t.qts, SRC_BUF + 0x18), ==, CANARY);

    /* Its own BAR is out of its reach; nothing lies past the top. */
    scan(&t, 0xE0000000, TESTDEV_BAR_SIZE / TESTDEV_SCAN_PAGE_SIZE, 0);
    scan_wait(&t);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_READABLE), ==, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_WRITABLE), ==, 0);
    scan(&t, UINT64_MAX, 16, 0);
    scan_wait(&t);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_SEQ), ==, 3);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_READABLE), ==, 0);

    /* Sizes it refuses start nothing. */
    scan(&t, 0, 0, 0);
    scan(&t, 0, TESTDEV_SCAN_MAX_PAGES + 1, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_SEQ), ==, 3);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_CTRL), ==, 0);

    /* Stopped by the guest, and by a reset; a copy still takes its turn. */
    scan(&t, 0, TESTDEV_SCAN_MAX_PAGES, 0);
    g_assert_cmpuint(copy(&t, SRC_BUF, DST_BUF, 64), ==, TESTDEV_RESULT_OK);
    qtest_clock_step(t.qts, 2 * MS);
    wr(&t, TESTDEV_REG_SCAN_CTRL, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_CTRL), ==, 0);
    readable = rd(&t, TESTDEV_REG_SCAN_READABLE);
    g_assert_cmpuint(readable, >, 0);
    qtest_clock_step(t.qts, 10 * MS);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_READABLE), ==, readable);
    scan(&t, 0, TESTDEV_SCAN_MAX_PAGES, 0);
    qtest_qmp_assert_success(t.qts, "{ 'execute': 'system_reset' }");
    testdev_map(&t, false);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_CTRL), ==, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_SEQ), ==, 0);
    qtest_clock_step(t.qts, 10 * MS);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_READABLE), ==, 0);
    testdev_stop(&t);
}

/* A scan saved half-way finishes after the load with the same answer. */
static void test_scan_migration(void)
{
    Testdev src, dst;

    testdev_start(&src, true, "");
    qtest_writeq(src.qts, DST_BUF + 0x800, CANARY);
    scan(&src, 0, RAM_PAGES, CANARY);
    qtest_clock_step(src.qts, 10 * MS);
    g_assert_cmpuint(rd(&src, TESTDEV_REG_SCAN_CTRL), ==, TESTDEV_SCAN_RUN);
    g_assert_cmpuint(rd(&src, TESTDEV_REG_SCAN_READABLE), >, 0);
    migrate(&src, &dst, "");
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_SCAN_CTRL), ==, TESTDEV_SCAN_RUN);
    scan_wait(&dst);
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_SCAN_SEQ), ==, 1);
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_SCAN_READABLE), >=,
                     RAM_PAGES - 0x100000 / 4096);
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_SCAN_CANARIES), ==, 1);
    g_assert_cmpuint(qom_get_uint(dst.qts, TESTDEV_QOM_PATH,
                                  "x-scan-canary-pages"), ==, 1);
    testdev_stop(&dst);
    testdev_stop(&src);
}

static int cmp_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* Nanoseconds a sleeping thread has run, from its /proc/.../schedstat. */
static int64_t cpu_ns_of(const char *schedstat)
{
    g_autofree char *text = NULL;

    g_assert_true(g_file_get_contents(schedstat, &text, NULL, NULL));
    return g_ascii_strtoll(text, NULL, 10);
}

/* Nanoseconds this thread has run. */
static int64_t self_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * PCIE_TESTDEV_BENCH=1: the device's copies between RAM against this
 * process's memcpy() of the same size, in one run; the median of several
 * of each. Both are CPU time (QEMU's main thread, which runs the copy, and
 * this thread), so other load on the host does not count. A copy's time
 * includes handling the qtest commands that ring it and wait for it (a
 * few microseconds), which only small sizes notice.
 */
static void test_bench(void)
{
    static const uint64_t sizes[] = { 4 * KiB, 64 * KiB, MiB, 64 * MiB };
    const uint64_t src = 64 * MiB, dst = 128 * MiB;
    int64_t dev_ns[15], cpu_ns[15];
    void *a, *b;
    g_autofree char *qemu_stat = NULL;
    Testdev t;
    size_t i;
    int r;

    testdev_startf(&t, true,
                   "-m 256 -device pcie-testdev,addr=04.0,"
                   "max_transfer_size=64M");
    qemu_stat = g_strdup_printf("/proc/%d/schedstat", qtest_pid(t.qts));
    fill(&t, src, 0x3c, 64 * MiB);
    fill(&t, dst, 0x00, 64 * MiB);
    /* As QEMU backs guest RAM: transparent huge pages where it can. */
    g_assert_cmpint(posix_memalign(&a, 2 * MiB, 64 * MiB), ==, 0);
    g_assert_cmpint(posix_memalign(&b, 2 * MiB, 64 * MiB), ==, 0);
    qemu_madvise(a, 64 * MiB, QEMU_MADV_HUGEPAGE);
    qemu_madvise(b, 64 * MiB, QEMU_MADV_HUGEPAGE);
    memset(a, 0x3c, 64 * MiB);
    memset(b, 0x00, 64 * MiB);
    for (i = 0; i < ARRAY_SIZE(sizes); i++) {
        for (r = 0; r < ARRAY_SIZE(dev_ns); r++) {
            int64_t t0 = cpu_ns_of(qemu_stat);

            g_assert_cmpuint(copy(&t, src, dst, sizes[i]), ==,
                             TESTDEV_RESULT_OK);
            dev_ns[r] = cpu_ns_of(qemu_stat) - t0;
            t0 = self_cpu_ns();
            memcpy(b, a, sizes[i]);
            cpu_ns[r] = self_cpu_ns() - t0;
            if (getenv("PCIE_TESTDEV_BENCH_ALL")) {
                g_test_message("size %" PRIu64 " device %" PRId64 " memcpy %"
                               PRId64, sizes[i], dev_ns[r], cpu_ns[r]);
            }
            /* Keep the compiler from dropping the copy. */
            g_assert_cmpuint(((uint8_t *)b)[sizes[i] - 1], ==, 0x3c);
        }
        qsort(dev_ns, ARRAY_SIZE(dev_ns), sizeof(dev_ns[0]), cmp_int64);
        qsort(cpu_ns, ARRAY_SIZE(cpu_ns), sizeof(cpu_ns[0]), cmp_int64);
        g_test_message("bench: size %" PRIu64 " device %" PRId64
                       " ns memcpy %" PRId64 " ns ratio %.2f", sizes[i],
                       dev_ns[ARRAY_SIZE(dev_ns) / 2],
                       cpu_ns[ARRAY_SIZE(cpu_ns) / 2],
                       (double)MAX(cpu_ns[ARRAY_SIZE(cpu_ns) / 2], 1) /
                       MAX(dev_ns[ARRAY_SIZE(dev_ns) / 2], 1));
    }
    free(a);
    free(b);
    testdev_stop(&t);
}

/*
 * MMIO smaller than a page: the HPET's 1 KiB at 0xfed00000 takes a copy's
 * reads, so the scan must count its page (asking for every access of the
 * page, the rest of which is unassigned, said no). And MMIO costs the host
 * what RAM does: the 256 MiB PCIe config window (enabled as firmware does,
 * PCIEXBAR in the MCH) once took ~1 ms of host time a page, each access of
 * each page asked for in turn, some 60 times the timeline's cost of it.
 */
#define SCAN_HPET       0xfed00000ULL
#define SCAN_ECAM       ECAM_BASE
#define SCAN_ECAM_PAGES (256 * MiB / TESTDEV_SCAN_PAGE_SIZE)

static void test_scan_mmio(void)
{
    g_autoptr(GTimer) timer = g_timer_new();
    QPCIDevice *mch;
    Testdev t;
    int ms;

    testdev_start(&t, false, "");
    g_assert_cmphex(qtest_readl(t.qts, SCAN_HPET), ==, 0x8086a201);
    scan(&t, SCAN_HPET, 1, 0);
    scan_wait(&t);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_READABLE), ==, 1);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_WRITABLE), ==, 1);

    mch = qpci_device_find(t.bus, QPCI_DEVFN(0, 0));
    g_assert(mch);
    qpci_config_writel(mch, MCH_HOST_BRIDGE_PCIEXBAR + 4, 0);
    qpci_config_writel(mch, MCH_HOST_BRIDGE_PCIEXBAR,
                       SCAN_ECAM | MCH_HOST_BRIDGE_PCIEXBAREN); /* 256 MiB */
    g_free(mch);
    scan(&t, SCAN_ECAM, SCAN_ECAM_PAGES, 0);
    g_timer_start(timer);
    ms = scan_wait(&t);
    g_test_message("scan of the config window: %d virtual ms, %.3f s of "
                   "host time", ms, g_timer_elapsed(timer, NULL));
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_READABLE), ==, SCAN_ECAM_PAGES);
    /* ~130 virtual ms of turns; 1.5 s of host CPU before, ~30 ms now. */
    g_assert_cmpfloat(g_timer_elapsed(timer, NULL), <, 0.5);
    testdev_stop(&t);
}

/*
 * A guest that fills its RAM with the canary: each page counts once, and
 * is traced once a tag (up to 4 tags a page, 256 a scan), not once each
 * 8 bytes (512 trace events a page: 16 MiB of canaries made 2 million
 * events, 157 MB of log and 1.6 s of host CPU for 8 ms of the timeline).
 */
static void test_scan_canary_flood(void)
{
    const int pages = 64;
    g_autofree uint64_t *page = g_new(uint64_t, TESTDEV_SCAN_PAGE_SIZE / 8);
    g_autofree char *log = NULL;
    g_autofree char *log2 = NULL;
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    int fd, i, events = 0;
    Testdev t;

    fd = g_file_open_tmp("pcie-testdev-trace-XXXXXX", &log, NULL);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    testdev_startf(&t, false,
                   "-m %llu -device pcie-testdev,addr=04.0"
                   " -trace pcie_testdev_scan_canary -D %s",
                   RAM_SIZE >> 20, log);
    for (i = 0; i < TESTDEV_SCAN_PAGE_SIZE / 8; i++) {
        page[i] = cpu_to_le64(CANARY);
    }
    for (i = 0; i < pages; i++) {
        qtest_memwrite(t.qts, DST_BUF + i * TESTDEV_SCAN_PAGE_SIZE, page,
                       TESTDEV_SCAN_PAGE_SIZE);
    }
    /* One page more, with two tags: both are reported. */
    qtest_writeq(t.qts, SRC_BUF, CANARY);
    qtest_writeq(t.qts, SRC_BUF + 8, 1);
    qtest_writeq(t.qts, SRC_BUF + 0x100, CANARY);
    qtest_writeq(t.qts, SRC_BUF + 0x108, 2);
    scan(&t, SRC_BUF, 1, CANARY);
    scan_wait(&t);
    scan(&t, DST_BUF, pages, CANARY);
    scan_wait(&t);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_CANARIES), ==, pages);
    testdev_stop(&t);

    g_assert_true(g_file_get_contents(log, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (i = 0; lines[i]; i++) {
        events += !!strstr(lines[i], "pcie_testdev_scan_canary");
    }
    unlink(log);
    g_test_message("%d canary trace events", events);
    /* Two tags a page of canaries: the canary, and 0 after the last. */
    g_assert_cmpint(events, ==, 2 + 2 * pages);

    /* And no more than 256 a scan, however many pages hold it. */
    fd = g_file_open_tmp("pcie-testdev-trace-XXXXXX", &log2, NULL);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    testdev_startf(&t, false,
                   "-m %llu -device pcie-testdev,addr=04.0"
                   " -trace pcie_testdev_scan_canary -D %s",
                   RAM_SIZE >> 20, log2);
    for (i = 0; i < 4 * pages; i++) {
        qtest_memwrite(t.qts, DST_BUF + i * TESTDEV_SCAN_PAGE_SIZE, page,
                       TESTDEV_SCAN_PAGE_SIZE);
    }
    scan(&t, DST_BUF, 4 * pages, CANARY);
    scan_wait(&t);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_SCAN_CANARIES), ==, 4 * pages);
    testdev_stop(&t);
    g_free(text);
    g_strfreev(lines);
    g_assert_true(g_file_get_contents(log2, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (i = 0, events = 0; lines[i]; i++) {
        events += !!strstr(lines[i], "pcie_testdev_scan_canary");
    }
    unlink(log2);
    g_assert_cmpint(events, ==, 256);
}

/*
 * Load stream (len bytes, through file) into a new QEMU: it must load
 * (must_load), or QEMU must refuse it and exit 1, rather than go on with
 * the device in a state it cannot reach.
 */
static void load_stream(const char *file, const char *stream, size_t len,
                        bool must_load)
{
    g_autofree char *load = g_strdup_printf("exec:cat %s", file);
    QTestState *dst;
    int waited;

    g_assert_true(g_file_set_contents(file, stream, len, NULL));
    dst = qtest_initf(MACHINE "-m %llu -device pcie-testdev,addr=04.0"
                      " -incoming defer", RAM_SIZE >> 20);
    qtest_qmp_assert_success(dst, "{ 'execute': 'migrate-incoming',"
                             " 'arguments': { 'uri': %s } }", load);
    if (must_load) {
        wait_migration(dst);
        qtest_quit(dst);
        return;
    }
    for (waited = 0; waited < 1000 && qtest_probe_child(dst); waited++) {
        g_usleep(10 * 1000);
    }
    g_assert_false(qtest_probe_child(dst));
    qtest_set_expected_status(dst, EXIT_FAILURE);
    qtest_quit(dst);
}

/*
 * Save src's VM state to a new temporary file (its name in *file, for
 * load_stream()) and stop src: the stream, *len bytes.
 */
static char *save_stream(Testdev *src, char **file, size_t *len)
{
    g_autofree char *save = NULL;
    char *stream = NULL;
    int fd;

    fd = g_file_open_tmp("pcie-testdev-migration-XXXXXX", file, NULL);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    save = g_strdup_printf("exec:cat > %s", *file);
    qtest_qmp_assert_success(src->qts, "{ 'execute': 'migrate',"
                             " 'arguments': { 'uri': %s } }", save);
    wait_migration(src->qts);
    testdev_stop(src);
    g_assert_true(g_file_get_contents(*file, &stream, len, NULL));
    return stream;
}

/* Where the n bytes of needle first are in the stream (len bytes). */
static size_t stream_find(const char *stream, size_t len,
                          const void *needle, size_t n)
{
    size_t at;

    for (at = 0; at + n <= len; at++) {
        if (!memcmp(stream + at, needle, n)) {
            return at;
        }
    }
    g_assert_not_reached();
}

/*
 * A scan's progress in the stream is data too: a next page past the top
 * (the scan would go on at 0), one not on a page, or a run of pages that
 * does not end at the next page (a trace of a range no scan visited) must
 * not load. Patched as in test_migration_bad_state(), in the
 * pcie-testdev/scan subsection of a device saved mid-scan.
 */
static void test_scan_migration_bad_state(void)
{
    /* Offsets of 8-byte fields from the subsection's first (big endian). */
    enum { NEXT = 57, RUN_START = 81, RUN_PAGES = 89 };
    static const struct {
        const char *what;
        size_t offset, offset2;
        uint64_t val, val2;
    } patches[] = {
        { "the next page 16 pages under 2^64, no run",
          NEXT, RUN_PAGES, -16 * TESTDEV_SCAN_PAGE_SIZE, 0 },
        { "the next page not on a page, no run",
          NEXT, RUN_PAGES, 0x2007ff, 0 },
        { "a run of pages from past the next page",
          RUN_START, RUN_START, -TESTDEV_SCAN_PAGE_SIZE,
          -TESTDEV_SCAN_PAGE_SIZE },
    };
    static const char name[] = "pcie-testdev/scan";
    g_autofree char *file = NULL;
    g_autofree char *stream = NULL;
    size_t len, i, at;
    Testdev src;

    testdev_start(&src, true, "");
    scan(&src, 0, RAM_PAGES, 0);
    qtest_clock_step(src.qts, 3 * MS);
    g_assert_cmpuint(rd(&src, TESTDEV_REG_SCAN_CTRL), ==, TESTDEV_SCAN_RUN);
    stream = save_stream(&src, &file, &len);
    /* The subsection's name, then its version. */
    at = stream_find(stream, len, name, strlen(name)) + strlen(name) + 4;
    g_assert_cmpuint(at + 102, <=, len);
    /* A run is pending: RAM from 1 MiB on, up to the next page. */
    g_assert_cmphex(ldq_be_p(stream + at + RUN_START), ==, 0x100000);

    for (i = 0; i < ARRAY_SIZE(patches); i++) {
        g_autofree char *patched = g_memdup2(stream, len);

        g_test_message("loading with %s", patches[i].what);
        stq_be_p(patched + at + patches[i].offset, patches[i].val);
        stq_be_p(patched + at + patches[i].offset2, patches[i].val2);
        load_stream(file, patched, len, false);
    }
    /* The stream as saved loads. */
    load_stream(file, stream, len, true);
    unlink(file);
}

/*
 * Aggressive mode on and a copy pending when the VM state is saved: both
 * come across. The pending copy completes once, with its interrupt, and
 * the aggressive copies (aimed elsewhere) go on, counted in COPIES.
 */
/* A stream with ATS counters does not load into a device without ATS. */
static void test_ats_migration_mismatch(void)
{
    g_autofree char *file = NULL;
    g_autofree char *stream = NULL;
    size_t len;
    Testdev src;

    testdev_start(&src, true, ",ats=on");
    stream = save_stream(&src, &file, &len);
    load_stream(file, stream, len, false);
    unlink(file);
}

static void test_migration_aggressive(void)
{
    const char *props = ",aggression_delay_ms=10";
    Testdev src, dst;
    uint64_t copies;
    int i;

    testdev_start(&src, true, props);
    fill(&src, SRC_BUF, 0x5d, 4096);
    fill(&src, DST_BUF, 0x00, 4096);
    fill(&src, SRC_BUF + 0x2000, 0x7e, 64);
    fill(&src, DST_BUF + 0x2000, 0x00, 64);
    wr(&src, TESTDEV_REG_BUSY_DELAY, 100);
    wr(&src, TESTDEV_REG_INT_ENABLE, TESTDEV_INT_DONE);
    ring(&src, 4096, TESTDEV_DOORBELL_START);
    /* The doorbell took its addresses; aggressive copies use these. */
    ring_copy(&src, SRC_BUF + 0x2000, DST_BUF + 0x2000, 64, 0);
    wr(&src, TESTDEV_REG_AGGRESSIVE, TESTDEV_AGGRESSIVE_ON);
    qtest_clock_step(src.qts, 40 * MS);
    g_assert_cmpuint(rd(&src, TESTDEV_REG_STATUS), ==, TESTDEV_STATUS_BUSY);
    copies = rd(&src, TESTDEV_REG_COPIES);
    g_assert_cmpuint(copies, >=, 3);
    assert_filled(&src, DST_BUF + 0x2000, 0x7e, 64);
    assert_filled(&src, DST_BUF, 0x00, 4096);
    migrate(&src, &dst, props);

    g_assert_cmpuint(rd(&dst, TESTDEV_REG_AGGRESSIVE), ==,
                     TESTDEV_AGGRESSIVE_ON);
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_STATUS), ==, TESTDEV_STATUS_BUSY);
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_COPIES), ==, copies);
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_INT_STATUS), ==, 0);
    fill(&dst, DST_BUF + 0x2000, 0x00, 64);
    for (i = 0; i < 20 && rd(&dst, TESTDEV_REG_STATUS); i++) {
        qtest_clock_step(dst.qts, 10 * MS);
    }
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_STATUS), ==, 0);
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_RESULT), ==, TESTDEV_RESULT_OK);
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_INT_STATUS), ==, TESTDEV_INT_DONE);
    assert_filled(&dst, DST_BUF, 0x5d, 4096);
    /* Aggressive copies went on in the new QEMU, as many as it ran. */
    qtest_clock_step(dst.qts, 50 * MS);
    assert_filled(&dst, DST_BUF + 0x2000, 0x7e, 64);
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_COPIES), >=, copies + 1 + 3);
    g_assert_cmpuint(rd(&dst, TESTDEV_REG_FAULTS), ==, 0);
    wr(&dst, TESTDEV_REG_AGGRESSIVE, 0);

    testdev_stop(&dst);
    testdev_stop(&src);
}

/* Unplugging the device with a copy pending and aggressive mode on. */
static void test_unplug(void)
{
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar;

    qts = qtest_init("-M pc -nodefaults -m 128 -device pcie-testdev,id=td,"
                     "bus=pci.0,addr=04.0,aggressive=on,"
                     "aggression_delay_ms=1,busy_delay_ms=50");
    bus = qpci_new_pc(qts, NULL);
    dev = qpci_device_find(bus, DEVFN);
    qpci_device_enable(dev);
    bar = qpci_iomap(dev, TESTDEV_BAR, NULL);
    qpci_io_writeq(dev, bar, TESTDEV_REG_SRCADDR, SRC_BUF);
    qpci_io_writeq(dev, bar, TESTDEV_REG_DSTADDR, DST_BUF);
    qpci_io_writeq(dev, bar, TESTDEV_REG_SIZE, 64);
    qpci_io_writeq(dev, bar, TESTDEV_REG_DOORBELL, TESTDEV_DOORBELL_START);
    qtest_clock_step(qts, 10 * MS);
    g_assert_cmpuint(qpci_io_readq(dev, bar, TESTDEV_REG_STATUS), ==,
                     TESTDEV_STATUS_BUSY);

    qpci_unplug_acpi_device_test(qts, "td", 4);
    /* The device's timer must be gone with it. */
    qtest_clock_step(qts, 1000 * MS);
    qtest_qmp_assert_success(qts, "{ 'execute': 'query-status' }");
    g_free(dev);
    qpci_free_pc(bus);
    qtest_quit(qts);
}

/* The peak resident memory of the QEMU whose pid is in pidfile, in KiB. */
static uint64_t qemu_peak_kib(const char *pidfile)
{
    g_autofree char *pid = NULL;
    g_autofree char *path = NULL;
    g_autofree char *status = NULL;
    const char *hwm;

    g_assert_true(g_file_get_contents(pidfile, &pid, NULL, NULL));
    path = g_strdup_printf("/proc/%d/status", atoi(pid));
    g_assert_true(g_file_get_contents(path, &status, NULL, NULL));
    hwm = strstr(status, "VmHWM:");
    g_assert_nonnull(hwm);
    return g_ascii_strtoull(hwm + strlen("VmHWM:"), NULL, 10);
}

/*
 * Overlapping source and destination move as one memmove, either way:
 * whole, and in pieces as an IOMMU's pages would split the copy.
 */
static void test_copy_overlap(void)
{
    static const int64_t shifts[] = { 1000, -1000, 4096, -4096, 1, -1 };
    static const char *const pieces[] = { "", ",x-dma-piece=4096",
                                          ",x-dma-piece=1000" };
    const size_t len = 3 * 4096 + 100;
    g_autofree uint8_t *pattern = g_malloc(len);
    g_autofree uint8_t *got = g_malloc(len);
    uint64_t src = SRC_BUF + 8192;
    Testdev t;
    size_t i, p;

    for (i = 0; i < len; i++) {
        pattern[i] = i % 251;
    }
    for (p = 0; p < ARRAY_SIZE(pieces); p++) {
        testdev_start(&t, true, pieces[p]);
        for (i = 0; i < ARRAY_SIZE(shifts); i++) {
            qtest_memwrite(t.qts, src, pattern, len);
            g_assert_cmpuint(copy(&t, src, src + shifts[i], len), ==,
                             TESTDEV_RESULT_OK);
            qtest_memread(t.qts, src + shifts[i], got, len);
            g_assert_cmpmem(got, len, pattern, len);
        }
        testdev_stop(&t);
    }
}

/*
 * A copy between RAM goes straight from guest memory to guest memory: 64
 * MiB on a device that takes 256 MiB copies lands, and QEMU's memory grows
 * by no buffer of that size. One from MMIO (q35's PCIe config window)
 * goes through the bounce buffer, and lands too.
 */
static void test_copy_direct(void)
{
    const uint64_t big = 64 * MiB, src = 64 * MiB, dst = 128 * MiB;
    g_autofree char *pidfile = NULL;
    uint64_t before, after, off, ecam;
    Testdev t;
    int fd;

    fd = g_file_open_tmp("pcie-testdev-pid-XXXXXX", &pidfile, NULL);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    testdev_startf(&t, true,
                   "-m 256 -pidfile %s -device pcie-testdev,"
                   "addr=04.0,max_transfer_size=256M", pidfile);
    /* Touch both ranges first, so that only the device can grow. */
    fill(&t, src, 0x3c, big);
    fill(&t, dst, 0x00, big);
    before = qemu_peak_kib(pidfile);
    g_assert_cmpuint(copy(&t, src, dst, big), ==, TESTDEV_RESULT_OK);
    after = qemu_peak_kib(pidfile);
    g_test_message("QEMU peak memory: %" PRIu64 " KiB before, %" PRIu64
                   " KiB after a 64 MiB copy", before, after);
    g_assert_cmpuint(after - before, <, 8 * 1024);
    for (off = 0; off < big; off += MiB - 8) {
        g_assert_cmphex(qtest_readq(t.qts, dst + off), ==,
                        0x3c3c3c3c3c3c3c3cULL);
    }
    g_assert_cmphex(qtest_readq(t.qts, dst + big - 8), ==,
                    0x3c3c3c3c3c3c3c3cULL);
    g_assert_cmphex(qtest_readq(t.qts, dst + big), ==, 0);

    ecam = enable_ecam(t.bus);
    g_assert_cmpuint(copy(&t, ecam, DST_BUF, 64), ==, TESTDEV_RESULT_OK);
    /* The host bridge's vendor, Intel's. */
    g_assert_cmphex(qtest_readw(t.qts, DST_BUF), ==, 0x8086);
    testdev_stop(&t);
}

/*
 * Copies under intel-iommu, with VT-d tables written by hand (legacy mode,
 * 3 levels, 39-bit IOVAs): source IOVAs 0 to 4 MiB map RAM at IOMMU_SRC,
 * destination IOVAs 4 to 8 MiB RAM at IOMMU_DST, a level-1 table each 2 MiB.
 */
#define VTD_BASE        0xfed90000ULL
#define IOMMU_ROOT      0x100000ULL
#define IOMMU_CTX       0x101000ULL
#define IOMMU_L3        0x102000ULL
#define IOMMU_L2        0x103000ULL
#define IOMMU_L1(i)     (0x104000ULL + (i) * 0x1000)
#define IOMMU_SRC       (16 * MiB)
#define IOMMU_DST       (32 * MiB)
#define IOMMU_DST_IOVA  (4 * MiB)
#define IOMMU_PAGES     1024

static void testdev_add(Testdev *peer, Testdev *t, int devfn);

/*
 * An intel-iommu (with iommu_props; on the command line before the
 * devices, or after them) that maps IOMMU_PAGES pages at IOVA 0 to
 * IOMMU_SRC and as many at IOMMU_DST_IOVA to IOMMU_DST for the device
 * (with dev_props), and a peer device. The device's context entry says
 * "device-IOTLB" where ATS is asked for (ats=on), as Linux's does.
 */
static void iommu_startf(Testdev *t, Testdev *peer, const char *iommu_props,
                         const char *dev_props, bool iommu_first)
{
    g_autofree char *iommu = g_strdup_printf("-device intel-iommu%s ",
                                             iommu_props);
    uint64_t tt = strstr(dev_props, "ats=on") ? 1 << 2 : 0;
    int i;

    t->qts = qtest_initf(MACHINE "-m 256 %s"
                         "-device pcie-testdev,addr=04.0,max_transfer_size=16M%s "
                         "-device pcie-testdev,addr=05.0 %s",
                         iommu_first ? iommu : "", dev_props,
                         iommu_first ? "" : iommu);
    t->bus = qpci_new_pc(t->qts, NULL);
    t->dev = qpci_device_find(t->bus, DEVFN);
    g_assert(t->dev);
    testdev_map(t, true);
    testdev_add(peer, t, QPCI_DEVFN(5, 0));

    qtest_writeq(t->qts, IOMMU_ROOT, IOMMU_CTX | 1);
    qtest_writeq(t->qts, IOMMU_CTX + DEVFN * 16, IOMMU_L3 | tt | 1);
    qtest_writeq(t->qts, IOMMU_CTX + DEVFN * 16 + 8, 1 | (1 << 8));
    qtest_writeq(t->qts, IOMMU_L3, IOMMU_L2 | 3);
    for (i = 0; i < 4; i++) {
        qtest_writeq(t->qts, IOMMU_L2 + i * 8, IOMMU_L1(i) | 3);
    }
    for (i = 0; i < 2 * 512; i++) {
        qtest_writeq(t->qts, IOMMU_L1(0) + i * 8, (IOMMU_SRC + i * 4096) | 3);
        qtest_writeq(t->qts, IOMMU_L1(2) + i * 8, (IOMMU_DST + i * 4096) | 3);
    }
    qtest_writeq(t->qts, VTD_BASE + 0x20, IOMMU_ROOT);      /* RTADDR */
    qtest_writel(t->qts, VTD_BASE + 0x18, 1u << 30);        /* GCMD.SRTP */
    qtest_writel(t->qts, VTD_BASE + 0x18, 1u << 31);        /* GCMD.TE */
    g_assert_cmphex(qtest_readl(t->qts, VTD_BASE + 0x1c) & (3u << 30), ==,
                    3u << 30);
}

static void iommu_start(Testdev *t, Testdev *peer)
{
    iommu_startf(t, peer, "", "", true);
}

/*
 * Under an IOMMU a copy goes piece by piece; each lands, and a copy with
 * one unmapped page at either end is refused whole.
 */
static void test_copy_iommu(void)
{
    Testdev t, peer;

    iommu_start(&t, &peer);
    fill(&t, IOMMU_SRC, 0x41, 64 * 4096);
    fill(&t, IOMMU_DST, 0xc3, 64 * 4096);
    g_assert_cmpuint(copy(&t, 100, IOMMU_DST_IOVA + 100, 8 * 4096), ==,
                     TESTDEV_RESULT_OK);
    assert_filled(&t, IOMMU_DST + 100, 0x41, 8 * 4096);
    assert_filled(&t, IOMMU_DST + 100 + 8 * 4096, 0xc3, 4096);

    /* Destination page 20 unmapped: nothing of pages 16 to 23 changes. */
    qtest_writeq(t.qts, IOMMU_L1(2) + 20 * 8, 0);
    g_assert_cmpuint(copy(&t, 0, IOMMU_DST_IOVA + 16 * 4096, 8 * 4096), ==,
                     TESTDEV_RESULT_DST_FAULT);
    assert_filled(&t, IOMMU_DST + 16 * 4096, 0xc3, 8 * 4096);
    /* Source page 40 unmapped. */
    qtest_writeq(t.qts, IOMMU_L1(0) + 40 * 8, 0);
    g_assert_cmpuint(copy(&t, 36 * 4096, IOMMU_DST_IOVA + 32 * 4096,
                          8 * 4096), ==, TESTDEV_RESULT_SRC_FAULT);
    assert_filled(&t, IOMMU_DST + 32 * 4096, 0xc3, 8 * 4096);
    g_free(peer.dev);
    testdev_stop(&t);
}

/*
 * A copy between RAM whose own first bytes rewrite the IOMMU's page table
 * for its later destination pages, so that they point at another device's
 * registers: the check (which filled and so flushed the IOTLB) saw RAM,
 * the later pieces are translated again. They must not become MMIO writes
 * (a "RAM" copy of up to max_transfer_size would then write that much
 * MMIO, past the 64 KiB limit, and report ok): the copy stops, dst-partial,
 * and the peer's registers stay as they were.
 */
static void test_copy_iommu_remap(void)
{
    uint64_t peer_bar;
    Testdev t, peer;
    int i;

    iommu_start(&t, &peer);
    peer_bar = qpci_config_readl(peer.dev, PCI_BASE_ADDRESS_0) & ~0xfULL;
    peer_bar |= (uint64_t)qpci_config_readl(peer.dev,
                                            PCI_BASE_ADDRESS_0 + 4) << 32;
    /* Destination page 0 is the table of destination pages 512 to 1023... */
    qtest_writeq(t.qts, IOMMU_L1(2), IOMMU_L1(3) | 3);
    /* ...and source page 0, which lands there first, sends them away. */
    for (i = 0; i < 512; i++) {
        qtest_writeq(t.qts, IOMMU_SRC + i * 8,
                     (peer_bar + (i % 16) * 4096) | 3);
    }
    fill(&t, IOMMU_SRC + 4096, 0x41, (IOMMU_PAGES - 1) * 4096);
    fill(&t, IOMMU_DST, 0xc3, IOMMU_PAGES * 4096);

    g_assert_cmpuint(copy(&t, 0, IOMMU_DST_IOVA, IOMMU_PAGES * 4096), ==,
                     TESTDEV_RESULT_DST_PARTIAL);
    g_assert_cmphex(qpci_io_readq(peer.dev, peer.bar, TESTDEV_REG_SRCADDR),
                    ==, 0);
    g_assert_cmphex(qpci_io_readq(peer.dev, peer.bar, TESTDEV_REG_COPIES) +
                    qpci_io_readq(peer.dev, peer.bar, TESTDEV_REG_FAULTS),
                    ==, 0);
    /* Pages before the rewritten ones landed; the rest did not. */
    assert_filled(&t, IOMMU_DST + 4096, 0x41, 4096);
    assert_filled(&t, IOMMU_DST + 600 * 4096, 0xc3, 4096);
    g_free(peer.dev);
    testdev_stop(&t);
}

/*
 * The guest asks for the largest copies and for absurd sizes: QEMU's memory
 * may grow by the bounce buffer (64 KiB) and no more.
 */
static void test_memory_bound(void)
{
    static const uint64_t sizes[] = {
        TESTDEV_MAX_SIZE_DEFAULT, TESTDEV_MAX_SIZE_DEFAULT + 1,
        0x100000000ULL, 0x7fffffffffffffffULL, 0xffffffffffffffffULL,
    };
    g_autofree char *pidfile = NULL;
    uint64_t before, after;
    Testdev t;
    int fd, i;

    fd = g_file_open_tmp("pcie-testdev-pid-XXXXXX", &pidfile, NULL);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    testdev_startf(&t, true,
                   "-m %llu -pidfile %s "
                   "-device pcie-testdev,addr=04.0", RAM_SIZE >> 20,
                   pidfile);
    /* Touch the guest RAM the copies use, so only the device can grow. */
    wr(&t, TESTDEV_REG_SIZE, 0);
    fill(&t, SRC_BUF, 0x01, TESTDEV_MAX_SIZE_DEFAULT);
    before = qemu_peak_kib(pidfile);

    for (i = 0; i < 200; i++) {
        uint64_t size = sizes[i % ARRAY_SIZE(sizes)];
        uint64_t result = copy(&t, SRC_BUF, SRC_BUF, size);

        g_assert_cmpuint(result, ==, size <= TESTDEV_MAX_SIZE_DEFAULT ?
                         TESTDEV_RESULT_OK : TESTDEV_RESULT_BAD_SIZE);
    }
    after = qemu_peak_kib(pidfile);
    g_test_message("QEMU peak memory: %" PRIu64 " KiB before, %" PRIu64
                   " KiB after 200 copies of up to 2^64-1 bytes"
                   " (max_transfer_size %llu KiB)", before, after,
                   TESTDEV_MAX_SIZE_DEFAULT / 1024);
    /* 4 MiB of slack for QEMU's own allocations. */
    g_assert_cmpuint(after - before, <=,
                     TESTDEV_MAX_SIZE_DEFAULT / 1024 + 4096);
    testdev_stop(&t);
    unlink(pidfile);
}

/*
 * The fuzz tests' time, PCIE_TESTDEV_FUZZ_SECONDS (default 6): a third for
 * the one-device fuzzer, the rest for the topology one.
 */
static double fuzz_seconds(void)
{
    const char *env = g_getenv("PCIE_TESTDEV_FUZZ_SECONDS");

    return env ? g_ascii_strtod(env, NULL) : 6;
}

/* Bus addresses a fuzzed copy aims at: RAM, edges, MMIO, nothing. */
static uint64_t fuzz_addr(Testdev *t)
{
    switch (g_test_rand_int_range(0, 8)) {
    case 0:
        return g_test_rand_int_range(0, RAM_SIZE);
    case 1:
        return RAM_SIZE - g_test_rand_int_range(0, 4096);
    case 2:
        return t->bar.addr + g_test_rand_int_range(0, TESTDEV_BAR_SIZE);
    case 3:
        return UNMAPPED;
    case 4:
        return 0xfee00000; /* the APIC's MSI window */
    case 5:
        return 0xffffffffffffffffULL - g_test_rand_int_range(0, 4096);
    default:
        return SRC_BUF + g_test_rand_int_range(0, 0x300000);
    }
}

static uint64_t fuzz_size(void)
{
    switch (g_test_rand_int_range(0, 6)) {
    case 0:
        return 0;
    case 1:
        return TESTDEV_MAX_SIZE_DEFAULT + g_test_rand_int_range(0, 2);
    case 2:
        return ((uint64_t)g_test_rand_int() << 32) | g_test_rand_int();
    default:
        return g_test_rand_int_range(1, 8192);
    }
}

/*
 * SCAN_PAGES a fuzzer writes: mostly sizes a scan takes (a random 64-bit
 * value never is one), now and then the largest, 0 or one too many.
 */
static uint64_t fuzz_scan_pages(void)
{
    switch (g_test_rand_int_range(0, 8)) {
    case 0:
        return TESTDEV_SCAN_MAX_PAGES + g_test_rand_int_range(0, 2);
    case 1:
        return 0;
    default:
        return g_test_rand_int_range(1, 0x4000);
    }
}

/*
 * Random register accesses, config-space writes, resets and clock steps,
 * with DMA aimed anywhere, for a third of fuzz_seconds(); the seed is
 * GLib's (--seed to replay). The device must keep working.
 */
static void test_fuzz(void)
{
    double seconds = fuzz_seconds() / 3;
    g_autoptr(GTimer) timer = g_timer_new();
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    uint64_t ops = 0;
    uint8_t msi_cap, exp_cap;
    Testdev t;

    testdev_start(&t, true, ",aggression_delay_ms=3");
    msi_cap = qpci_find_capability(t.dev, PCI_CAP_ID_MSI, 0);
    exp_cap = qpci_find_capability(t.dev, PCI_CAP_ID_EXP, 0);
    qpci_config_writel(t.dev, msi_cap + PCI_MSI_ADDRESS_LO, MSI_BUF);

    while (g_timer_elapsed(timer, NULL) < seconds) {
        uint64_t reg = g_test_rand_int_range(0, TESTDEV_REG_END / 8 + 2) * 8;
        unsigned size = sizes[g_test_rand_int_range(0, 4)];
        uint64_t off = g_test_rand_bit() ? reg + (size == 4 ? 4 : 0)
                     : g_test_rand_int_range(0, TESTDEV_BAR_SIZE - 8);
        uint64_t val;

        switch (reg) {
        case TESTDEV_REG_SRCADDR:
        case TESTDEV_REG_DSTADDR:
            val = fuzz_addr(&t);
            break;
        case TESTDEV_REG_SIZE:
            val = fuzz_size();
            break;
        case TESTDEV_REG_BUSY_DELAY:
            val = g_test_rand_bit() ? g_test_rand_int_range(0, 20)
                                    : ((uint64_t)g_test_rand_int() << 32);
            break;
        case TESTDEV_REG_SCAN_START:
            val = fuzz_addr(&t);
            break;
        case TESTDEV_REG_SCAN_PAGES:
            val = fuzz_scan_pages();
            break;
        case TESTDEV_REG_SCAN_CTRL:
            val = g_test_rand_int_range(0, 4);
            break;
        default:
            val = ((uint64_t)g_test_rand_int() << 32) | g_test_rand_int();
        }

        switch (g_test_rand_int_range(0, 16)) {
        case 0:
            qtest_clock_step(t.qts, g_test_rand_int_range(1, 20 * MS));
            break;
        case 1:
            qpci_config_writew(t.dev, PCI_COMMAND, PCI_COMMAND_MEMORY |
                               (g_test_rand_bit() ? PCI_COMMAND_MASTER : 0));
            break;
        case 2:
            qpci_config_writew(t.dev, msi_cap + PCI_MSI_FLAGS,
                               g_test_rand_bit() ? PCI_MSI_FLAGS_ENABLE : 0);
            break;
        case 3:
            if (g_test_rand_int_range(0, 50) == 0) {
                qpci_config_writew(t.dev, exp_cap + PCI_EXP_DEVCTL,
                                   PCI_EXP_DEVCTL_BCR_FLR);
                testdev_map(&t, true);
            }
            break;
        case 4:
        case 5:
        case 6:
            qpci_memread(t.dev, t.bar, off, &val, size);
            break;
        default:
            qpci_memwrite(t.dev, t.bar, off, &val, size);
            break;
        }
        ops++;
    }
    g_test_message("fuzz: %" PRIu64 " operations in %.0f s", ops, seconds);

    /* Still alive, and still a working device after a reset. */
    qtest_qmp_assert_success(t.qts, "{ 'execute': 'query-status' }");
    qpci_config_writew(t.dev, exp_cap + PCI_EXP_DEVCTL,
                       PCI_EXP_DEVCTL_BCR_FLR);
    testdev_map(&t, true);
    fill(&t, SRC_BUF, 0x6d, 256);
    fill(&t, DST_BUF, 0x00, 256);
    g_assert_cmpuint(copy(&t, SRC_BUF, DST_BUF, 256), ==, TESTDEV_RESULT_OK);
    assert_filled(&t, DST_BUF, 0x6d, 256);
    testdev_stop(&t);
}

/*
 * The device's own MSI is a DMA write like its copies: aimed at its own
 * DOORBELL it must not start a second copy, aimed at INT_ACK it must not
 * acknowledge itself.
 */
static void test_msi_to_own_bar(void)
{
    static const struct {
        uint64_t reg;
        uint16_t data;
    } targets[] = {
        { TESTDEV_REG_DOORBELL, TESTDEV_DOORBELL_START },
        { TESTDEV_REG_INT_ACK, TESTDEV_INT_DONE },
    };
    Testdev t;
    uint8_t cap;
    uint16_t flags;
    size_t i;

    testdev_start(&t, true, "");
    cap = qpci_find_capability(t.dev, PCI_CAP_ID_MSI, 0);
    flags = qpci_config_readw(t.dev, cap + PCI_MSI_FLAGS);
    fill(&t, SRC_BUF, 0x21, 64);
    for (i = 0; i < ARRAY_SIZE(targets); i++) {
        qpci_config_writel(t.dev, cap + PCI_MSI_ADDRESS_LO,
                           t.bar.addr + targets[i].reg);
        qpci_config_writel(t.dev, cap + PCI_MSI_ADDRESS_HI, 0);
        qpci_config_writew(t.dev, cap + PCI_MSI_DATA_64, targets[i].data);
        qpci_config_writew(t.dev, cap + PCI_MSI_FLAGS,
                           flags | PCI_MSI_FLAGS_ENABLE);

        ring(&t, 64, TESTDEV_DOORBELL_START | TESTDEV_DOORBELL_IRQ);
        qtest_clock_step(t.qts, 10 * MS);
        g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, i + 1);
        g_assert_cmpuint(rd(&t, TESTDEV_REG_STATUS), ==, 0);
        g_assert_cmpuint(rd(&t, TESTDEV_REG_INT_STATUS), ==,
                         TESTDEV_INT_DONE);
        wr(&t, TESTDEV_REG_INT_ACK, TESTDEV_INT_DONE);
    }
    testdev_stop(&t);
}

/*
 * Unaligned accesses are refused whole. The memory core splits an access
 * into aligned pieces unless the region takes unaligned ones: a writeq at
 * SIZE + 4 used to write SIZE's high half and DOORBELL's low half, and so
 * start a copy.
 */
static void test_unaligned(void)
{
    Testdev t;

    testdev_start(&t, true, "");
    fill(&t, SRC_BUF, 0x31, 16);
    fill(&t, DST_BUF, 0x00, 16);
    ring_copy(&t, SRC_BUF, DST_BUF, 16, 0);
    qtest_writeq(t.qts, t.bar.addr + TESTDEV_REG_SIZE + 4,
                 (uint64_t)TESTDEV_DOORBELL_START << 32);
    qtest_writel(t.qts, t.bar.addr + TESTDEV_REG_DOORBELL + 2,
                 TESTDEV_DOORBELL_START);
    qtest_writeq(t.qts, t.bar.addr + TESTDEV_REG_SRCADDR + 4,
                 0xffffffffffffffffULL);
    qtest_clock_step(t.qts, 10 * MS);
    g_assert_cmphex(rd(&t, TESTDEV_REG_SRCADDR), ==, SRC_BUF);
    g_assert_cmphex(rd(&t, TESTDEV_REG_DSTADDR), ==, DST_BUF);
    g_assert_cmphex(rd(&t, TESTDEV_REG_SIZE), ==, 16);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_RESULT), ==, TESTDEV_RESULT_NONE);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 0);
    assert_filled(&t, DST_BUF, 0x00, 16);
    /* The aligned halves still work. */
    qtest_writel(t.qts, t.bar.addr + TESTDEV_REG_SIZE + 4, 0);
    g_assert_cmphex(rd(&t, TESTDEV_REG_SIZE), ==, 16);
    testdev_stop(&t);
}

/*
 * A copy whose source or destination runs past 2^64 is refused before any
 * DMA: the DMA API would carry on at address 0, reading memory the guest
 * never asked for. Nothing shows that read but the device's own account of
 * the refusal, in the guest-error log.
 */
static void test_wrap(void)
{
    const uint64_t top = 0xfffffffffffff000ULL;
    g_autofree char *log = NULL;
    g_autofree char *text = NULL;
    const char *p;
    Testdev t;
    int fd, n;

    fd = g_file_open_tmp("pcie-testdev-log-XXXXXX", &log, NULL);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    testdev_startf(&t, true,
                   "-m %llu -d guest_errors -D %s "
                   "-device pcie-testdev,addr=04.0", RAM_SIZE >> 20, log);
    fill(&t, DST_BUF, 0x00, 0x2000);
    g_assert_cmpuint(copy(&t, top, DST_BUF, 0x2000), ==,
                     TESTDEV_RESULT_SRC_FAULT);
    g_assert_cmpuint(copy(&t, SRC_BUF, top, 0x2000), ==,
                     TESTDEV_RESULT_DST_FAULT);
    /* Ending exactly at 2^64 - 1 is no wrap. */
    g_assert_cmpuint(copy(&t, top, DST_BUF, 0x1000), ==,
                     TESTDEV_RESULT_SRC_FAULT);
    assert_filled(&t, DST_BUF, 0x00, 0x2000);
    testdev_stop(&t);

    g_assert_true(g_file_get_contents(log, &text, NULL, NULL));
    for (n = 0, p = text; (p = strstr(p, "wraps past 2^64")); p++) {
        n++;
    }
    g_assert_cmpint(n, ==, 2);
    unlink(log);
}

/* x-original: the original fork's interface, which its drivers expect. */
static void test_original(void)
{
    Testdev t;

    testdev_start(&t, true, ",x-original=on");
    g_assert_cmpuint(qpci_find_capability(t.dev, PCI_CAP_ID_MSI, 0), ==, 0);
    g_assert_cmphex(rd(&t, TESTDEV_REG_MAX_SIZE), ==, 0);
    wr(&t, TESTDEV_REG_SRCADDR, 0x100000000ULL | SRC_BUF);
    g_assert_cmphex(rd(&t, TESTDEV_REG_SRCADDR), ==, SRC_BUF);
    qpci_io_writel(t.dev, t.bar, TESTDEV_REG_DSTADDR + 4, 1);
    wr(&t, TESTDEV_REG_DSTADDR, DST_BUF);
    g_assert_cmphex(rd(&t, TESTDEV_REG_DSTADDR), ==, DST_BUF);
    g_assert_cmphex(qpci_io_readl(t.dev, t.bar, TESTDEV_REG_DSTADDR + 4),
                    ==, 0);
    fill(&t, SRC_BUF, 0x41, 64);
    fill(&t, DST_BUF, 0x00, 64);
    wr(&t, TESTDEV_REG_SIZE, 64);
    wr(&t, TESTDEV_REG_INT_ENABLE, TESTDEV_INT_DONE);
    wr(&t, TESTDEV_REG_DOORBELL, TESTDEV_DOORBELL_START | TESTDEV_DOORBELL_IRQ);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_STATUS), ==, TESTDEV_STATUS_BUSY);
    qtest_clock_step(t.qts, 10 * MS);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_STATUS), ==, 0);
    assert_filled(&t, DST_BUF, 0x41, 64);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_RESULT), ==, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_COPIES), ==, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_INT_STATUS), ==, 0);
    g_assert_false(intx_asserted(&t));
    testdev_stop(&t);
}

/* A second pcie-testdev on the same bus as t, at devfn, mapped. */
static void testdev_add(Testdev *peer, Testdev *t, int devfn)
{
    peer->qts = t->qts;
    peer->bus = t->bus;
    peer->dev = qpci_device_find(t->bus, devfn);
    g_assert(peer->dev);
    peer->bar = qpci_iomap(peer->dev, TESTDEV_BAR, &peer->bar_size);
    qpci_device_enable(peer->dev);
}

/*
 * Two devices ring each other's doorbell with BUSY_DELAY 0: each copy
 * writes 1 into the other's DOORBELL. Copies scheduled at "now" kept the
 * timer list busy for ever, with QEMU deaf to qtest and QMP. In a
 * subprocess, so that a hang fails the test instead of stopping the run.
 */
static void test_two_devices_ping_pong(void)
{
    const uint64_t start = TESTDEV_DOORBELL_START;
    uint64_t copies;
    Testdev a, b;

    if (!g_test_subprocess()) {
        g_test_trap_subprocess(NULL, 120 * G_USEC_PER_SEC, 0);
        g_test_trap_assert_passed();
        return;
    }
    testdev_startf(&a, true,
                   "-m %llu -device pcie-testdev,addr=04.0 "
                   "-device pcie-testdev,addr=05.0", RAM_SIZE >> 20);
    testdev_add(&b, &a, QPCI_DEVFN(5, 0));
    qtest_memwrite(a.qts, SRC_BUF, &start, sizeof(start));
    ring_copy(&b, SRC_BUF, a.bar.addr + TESTDEV_REG_DOORBELL, 8, 0);
    ring_copy(&a, SRC_BUF, b.bar.addr + TESTDEV_REG_DOORBELL, 8, start);

    qtest_clock_step(a.qts, 10 * MS);
    qtest_qmp_assert_success(a.qts, "{ 'execute': 'query-status' }");
    copies = rd(&a, TESTDEV_REG_COPIES) + rd(&b, TESTDEV_REG_COPIES);
    g_test_message("ping-pong: %" PRIu64 " copies in 10 ms", copies);
    /* They do ping-pong, one copy per turn on the devices' timeline. */
    g_assert_cmpuint(copies, >=, 100);
    g_assert_cmpuint(copies, <=, 10 * MS / TESTDEV_SHARED_COPY_NS + 1);
    g_free(b.dev);
    testdev_stop(&a);
}

/*
 * Four devices in aggressive mode, each copying about 1 MiB every
 * millisecond, ask for 4 GiB/s: together they get
 * TESTDEV_SHARED_BYTES_PER_SEC of virtual time, in turns, and each its
 * share. Each copy's turn is exactly 500 us: turns that divide the period
 * once let two devices take every turn and starve the other two.
 */
static void test_shared_budget(void)
{
    const uint64_t size = 1052267;
    const int64_t span = 100 * MS;
    uint64_t turn = TESTDEV_SHARED_COPY_NS +
        size * 1000 * MS / TESTDEV_SHARED_BYTES_PER_SEC;
    uint64_t total = 0, each[4];
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar;
    GString *cmd = g_string_new(MACHINE);
    int i;

    g_string_append_printf(cmd, "-m %llu", RAM_SIZE >> 20);
    for (i = 0; i < 4; i++) {
        g_string_append_printf(cmd, " -device pcie-testdev,addr=%02x.0,"
                               "max_transfer_size=2M,aggressive=on,"
                               "srcaddr=0x%llx,"
                               "dstaddr=0x%llx,size=0x%" PRIx64
                               ",aggression_delay_ms=1", 4 + i,
                               SRC_BUF + i * 4 * MiB,
                               SRC_BUF + (i * 4 + 2) * MiB, size);
    }
    qts = qtest_init(cmd->str);
    g_string_free(cmd, true);
    qtest_clock_step(qts, span);
    bus = qpci_new_pc(qts, NULL);
    bus->mmio_alloc_ptr = 0xE0000000;
    for (i = 0; i < 4; i++) {
        dev = qpci_device_find(bus, QPCI_DEVFN(4 + i, 0));
        g_assert(dev);
        bar = qpci_iomap(dev, TESTDEV_BAR, NULL);
        qpci_device_enable(dev);
        qpci_io_writeq(dev, bar, TESTDEV_REG_AGGRESSIVE, 0);
        each[i] = qpci_io_readq(dev, bar, TESTDEV_REG_COPIES);
        total += each[i];
        g_free(dev);
    }
    g_test_message("shared budget: %" PRIu64 " copies of ~1 MiB in 100 ms "
                   "(%" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ")",
                   total, each[0], each[1], each[2], each[3]);
    /* Back to back on the timeline from the first round, 1 ms in. */
    g_assert_cmpuint(total, <=, span / turn + 1);
    g_assert_cmpuint(total, >=, (span - 2 * MS) / turn - 1);
    for (i = 0; i < 4; i++) {
        g_assert_cmpuint(each[i], >=, total / 4 - 2);
    }
    qpci_free_pc(bus);
    qtest_quit(qts);
}

/*
 * An aggressive device whose every turn on the timeline is exactly its
 * period (1 ms) asks for all of it; a doorbell copy on another device still
 * gets the next turn.
 */
static void test_shared_budget_no_starving(void)
{
    Testdev a;
    QPCIDevice *dev;
    QPCIBar bar;
    int i;

    testdev_start(&a, true, " -device pcie-testdev,addr=05.0,"
                  "max_transfer_size=4M,aggressive=on,srcaddr=0x1000000,"
                  "dstaddr=0x2000000,size=2126009,aggression_delay_ms=1");
    qtest_clock_step(a.qts, 10 * MS);
    fill(&a, SRC_BUF, 0x31, 64);
    fill(&a, DST_BUF, 0x00, 64);
    ring(&a, 64, TESTDEV_DOORBELL_START);
    for (i = 0; i < 100 && rd(&a, TESTDEV_REG_STATUS); i++) {
        qtest_clock_step(a.qts, 100 * 1000);
    }
    g_test_message("no-starving: the doorbell copy ran after %d00 us", i);
    g_assert_cmpint(i, <=, 11);
    assert_filled(&a, DST_BUF, 0x31, 64);

    /* The aggressive device kept copying all along. */
    dev = qpci_device_find(a.bus, QPCI_DEVFN(5, 0));
    bar = qpci_iomap(dev, TESTDEV_BAR, NULL);
    qpci_device_enable(dev);
    g_assert_cmpuint(qpci_io_readq(dev, bar, TESTDEV_REG_COPIES), >=, 9);
    g_free(dev);
    testdev_stop(&a);
}

/*
 * A device unplugged, and then every device reset, while they wait in the
 * timeline's queue: the others go on taking turns.
 */
static void test_shared_budget_unplug_queued(void)
{
    GString *cmd = g_string_new("-M pc -nodefaults -m 128");
    uint64_t before, after;
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar;
    int i;

    /* Five devices whose turns take 2.5 ms of each 1 ms: always a queue. */
    for (i = 0; i < 5; i++) {
        g_string_append_printf(cmd, " -device pcie-testdev,id=td%d,"
                               "bus=pci.0,addr=%02x.0,max_transfer_size=2M,"
                               "aggressive=on,aggression_delay_ms=1,"
                               "srcaddr=0x%llx,dstaddr=0x%llx,size=1052267",
                               i, 4 + i, SRC_BUF + i * 4 * MiB,
                               SRC_BUF + (i * 4 + 2) * MiB);
    }
    qts = qtest_init(cmd->str);
    g_string_free(cmd, true);
    bus = qpci_new_pc(qts, NULL);
    dev = qpci_device_find(bus, QPCI_DEVFN(5, 0));
    bar = qpci_iomap(dev, TESTDEV_BAR, NULL);
    qpci_device_enable(dev);
    qtest_clock_step(qts, 20 * MS);

    qpci_unplug_acpi_device_test(qts, "td0", 4);
    before = qpci_io_readq(dev, bar, TESTDEV_REG_COPIES);
    qtest_clock_step(qts, 50 * MS);
    after = qpci_io_readq(dev, bar, TESTDEV_REG_COPIES);
    /* Four devices share 100 turns now. */
    g_assert_cmpuint(after - before, >=, 20);

    qtest_qmp_assert_success(qts, "{ 'execute': 'system_reset' }");
    qtest_qmp_eventwait(qts, "RESET");
    qtest_clock_step(qts, 50 * MS);
    qtest_qmp_assert_success(qts, "{ 'execute': 'query-status' }");
    g_free(dev);
    qpci_free_pc(bus);
    qtest_quit(qts);
}

/*
 * x-fail-after-copies: the device fails as one that fell off the bus with
 * its interrupt line stuck, until a reset.
 */
static void test_fail_after_copies(void)
{
    Testdev t, src;
    int exp;

    testdev_start(&t, true, ",x-fail-after-copies=2");
    fill(&t, SRC_BUF, 0x21, 64);
    fill(&t, DST_BUF, 0x00, 64);
    g_assert_cmpuint(copy(&t, SRC_BUF, DST_BUF, 64), ==, TESTDEV_RESULT_OK);
    g_assert_false(intx_asserted(&t));

    /* The second copy lands and interrupts; then the device is gone. */
    fill(&t, SRC_BUF, 0x22, 64);
    ring(&t, 64, TESTDEV_DOORBELL_START | TESTDEV_DOORBELL_IRQ);
    qtest_clock_step(t.qts, MS);
    assert_filled(&t, DST_BUF, 0x22, 64);
    g_assert_true(intx_asserted(&t));
    g_assert_cmphex(rd(&t, TESTDEV_REG_STATUS), ==, UINT64_MAX);
    g_assert_cmphex(rd(&t, TESTDEV_REG_INT_STATUS), ==, UINT64_MAX);
    g_assert_cmphex(qpci_io_readl(t.dev, t.bar, TESTDEV_REG_MAX_SIZE), ==,
                    UINT32_MAX);
    /* Nobody can acknowledge it, and it copies no more. */
    wr(&t, TESTDEV_REG_INT_ACK, TESTDEV_INT_DONE);
    g_assert_true(intx_asserted(&t));
    fill(&t, SRC_BUF, 0x23, 64);
    ring(&t, 64, TESTDEV_DOORBELL_START);
    qtest_clock_step(t.qts, 100 * MS);
    assert_filled(&t, DST_BUF, 0x22, 64);

    /* It migrates failed, line asserted. */
    src = t;
    migrate(&src, &t, ",x-fail-after-copies=2");
    testdev_stop(&src);
    g_assert_cmphex(rd(&t, TESTDEV_REG_COPIES), ==, UINT64_MAX);
    g_assert_true(intx_asserted(&t));

    /* A function reset brings it back, line released, counting anew. */
    exp = qpci_find_capability(t.dev, PCI_CAP_ID_EXP, 0);
    qpci_config_writew(t.dev, exp + PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR);
    testdev_map(&t, true);
    g_assert_false(intx_asserted(&t));
    g_assert_cmpuint(rd(&t, TESTDEV_REG_STATUS), ==, 0);
    g_assert_cmpuint(copy(&t, SRC_BUF, DST_BUF, 64), ==, TESTDEV_RESULT_OK);
    assert_filled(&t, DST_BUF, 0x23, 64);
    testdev_stop(&t);
}

/*
 * The first extended capability's header, through q35's ECAM (0xcf8/0xcfc
 * reach only the first 256 bytes), turned on at ECAM_BASE.
 */
static uint32_t first_ext_cap(Testdev *t)
{
    const uint64_t ecam = ECAM_BASE;
    QPCIDevice *host = qpci_device_find(t->bus, 0);
    uint32_t val;

    qpci_config_writel(host, MCH_HOST_BRIDGE_PCIEXBAR,
                       ecam | MCH_HOST_BRIDGE_PCIEXBAREN);
    val = qtest_readl(t->qts, ecam + (DEVFN << 12) + PCI_CFG_SPACE_SIZE);
    g_free(host);
    return val;
}

/* aer=on: an AER extended capability, first in extended config space. */
static void test_aer(void)
{
    Testdev t;

    testdev_start(&t, false, "");
    g_assert_cmphex(first_ext_cap(&t), ==, 0);
    testdev_stop(&t);
    testdev_start(&t, false, ",aer=on");
    g_assert_cmphex(PCI_EXT_CAP_ID(first_ext_cap(&t)), ==, PCI_EXT_CAP_ID_ERR);
    testdev_stop(&t);
}

#define IOMMU_QUEUE     0x120000ULL     /* the invalidation queue (IQA) */

/* Turn the device's ATS on (ats=on puts its capability at 0x100). */
static void ats_enable(Testdev *t)
{
    g_assert_cmphex(PCI_EXT_CAP_ID(first_ext_cap(t)), ==, PCI_EXT_CAP_ID_ATS);
    qtest_writew(t->qts, ECAM_BASE + (DEVFN << 12) + PCI_CFG_SPACE_SIZE +
                 PCI_ATS_CTRL, PCI_ATS_CTRL_ENABLE);
}

/*
 * An unmap's invalidations, as a guest's IOMMU driver sends them through
 * intel-iommu's invalidation queue (its tail at *tail): the IOMMU's IOTLB
 * (all of it), then the device's, for the 4 KiB at iova.
 */
static void iommu_invalidate(Testdev *t, uint64_t iova, uint32_t *tail)
{
    qtest_writeq(t->qts, IOMMU_QUEUE + *tail, 0x2 | 1 << 4);  /* global */
    qtest_writeq(t->qts, IOMMU_QUEUE + *tail + 8, 0);
    qtest_writeq(t->qts, IOMMU_QUEUE + *tail + 16,
                 0x3 | (uint64_t)DEVFN << 32);                 /* device */
    qtest_writeq(t->qts, IOMMU_QUEUE + *tail + 24, iova);
    *tail += 32;
    qtest_writeq(t->qts, VTD_BASE + 0x88, *tail);           /* IQT */
}

#define ATS_KEEP_INVALIDATED 1
#define ATS_IOMMU_LAST      2

/*
 * ats=on behind intel-iommu,device-iotlb=on: once the guest turns ATS on,
 * copies translate through the device's cache, so a page unmapped from
 * the IOMMU's tables still lands until the IOMMU invalidates the device's
 * translation; then the copy faults. A rogue device (ATS_KEEP_INVALIDATED)
 * reads on through the invalidated translation. The same with the IOMMU
 * after the devices on the command line (ATS_IOMMU_LAST).
 */
static void test_ats(const void *data)
{
    int flags = GPOINTER_TO_INT(data);
    bool keep_invalidated = flags & ATS_KEEP_INVALIDATED;
    Testdev t, peer;
    uint32_t tail = 0;

    iommu_startf(&t, &peer, ",device-iotlb=on",
                 keep_invalidated ? ",ats=on,x-ats-keep-invalidated=on"
                                  : ",ats=on",
                 !(flags & ATS_IOMMU_LAST));
    qtest_writeq(t.qts, VTD_BASE + 0x90, IOMMU_QUEUE);        /* IQA */
    qtest_writel(t.qts, VTD_BASE + 0x18, 1u << 31 | 1u << 26); /* TE, QIE */
    fill(&t, IOMMU_SRC, 0x41, 2 * 4096);
    fill(&t, IOMMU_DST, 0xc3, 2 * 4096);

    /* ATS off: untranslated requests, no cache. */
    g_assert_cmpuint(copy(&t, 0, IOMMU_DST_IOVA, 64), ==, TESTDEV_RESULT_OK);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_ATS_TRANSLATIONS), ==, 0);

    ats_enable(&t);
    g_assert_cmpuint(copy(&t, 0, IOMMU_DST_IOVA, 4096), ==, TESTDEV_RESULT_OK);
    assert_filled(&t, IOMMU_DST, 0x41, 4096);
    /* The source's and the destination's page, one request each. */
    g_assert_cmpuint(rd(&t, TESTDEV_REG_ATS_TRANSLATIONS), ==, 2);

    /* Unmapped in the tables only: the cached translation still serves. */
    qtest_writeq(t.qts, IOMMU_L1(0), 0);
    fill(&t, IOMMU_DST, 0xc3, 4096);
    g_assert_cmpuint(copy(&t, 0, IOMMU_DST_IOVA, 4096), ==, TESTDEV_RESULT_OK);
    assert_filled(&t, IOMMU_DST, 0x41, 4096);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_ATS_TRANSLATIONS), ==, 2);

    /* The invalidation: the next copy asks again, and the IOMMU refuses. */
    iommu_invalidate(&t, 0, &tail);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_ATS_INVALIDATIONS), ==, 1);
    fill(&t, IOMMU_DST, 0xc3, 4096);
    if (keep_invalidated) {
        g_assert_cmpuint(copy(&t, 0, IOMMU_DST_IOVA, 4096), ==,
                         TESTDEV_RESULT_OK);
        assert_filled(&t, IOMMU_DST, 0x41, 4096);
    } else {
        g_assert_cmpuint(copy(&t, 0, IOMMU_DST_IOVA, 4096), ==,
                         TESTDEV_RESULT_SRC_FAULT);
        assert_filled(&t, IOMMU_DST, 0xc3, 4096);
    }
    /* Refused: the rogue device asked in both the check and the copy. */
    g_assert_cmpuint(rd(&t, TESTDEV_REG_ATS_TRANSLATIONS), ==,
                     keep_invalidated ? 4 : 3);

    /*
     * A translation granted for a write is no read's: destination page 1,
     * write-only, written (its translation cached), then read from.
     */
    qtest_writeq(t.qts, IOMMU_L1(2) + 8, (IOMMU_DST + 4096) | 2);
    iommu_invalidate(&t, IOMMU_DST_IOVA + 4096, &tail);
    g_assert_cmpuint(copy(&t, 8 * 4096, IOMMU_DST_IOVA + 4096, 64), ==,
                     TESTDEV_RESULT_OK);
    g_assert_cmpuint(copy(&t, IOMMU_DST_IOVA + 4096, 9 * 4096, 64), ==,
                     TESTDEV_RESULT_SRC_FAULT);

    /* Never written through: the destination's page, unmapped too. */
    qtest_writeq(t.qts, IOMMU_L1(2), 0);
    iommu_invalidate(&t, IOMMU_DST_IOVA, &tail);
    g_assert_cmpuint(copy(&t, 4096, IOMMU_DST_IOVA, 64), ==,
                     TESTDEV_RESULT_DST_FAULT);

    /* Bus mastering off: nothing, cached or not. */
    qpci_config_writew(t.dev, PCI_COMMAND, PCI_COMMAND_MEMORY);
    g_assert_cmpuint(copy(&t, 4096, IOMMU_DST_IOVA + 4096, 64), ==,
                     TESTDEV_RESULT_SRC_FAULT);

    /* A reset clears the counters (and the cache), and turns ATS off. */
    qtest_system_reset(t.qts);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_ATS_TRANSLATIONS), ==, 0);
    g_assert_cmpuint(rd(&t, TESTDEV_REG_ATS_INVALIDATIONS), ==, 0);
    g_assert_cmphex(qtest_readw(t.qts, ECAM_BASE + (DEVFN << 12) +
                                PCI_CFG_SPACE_SIZE + PCI_ATS_CTRL), ==, 0);
    g_free(peer.dev);
    testdev_stop(&t);
}

/* Config space by the legacy 0xcf8/0xcfc ports, which reach every bus. */
static void cfg_select(QTestState *qts, int bus, int devfn, int off)
{
    qtest_outl(qts, 0xcf8, 0x80000000U | bus << 16 | devfn << 8 | (off & ~3));
}

static uint16_t cfg_readw(QTestState *qts, int bus, int devfn, int off)
{
    cfg_select(qts, bus, devfn, off);
    return qtest_inw(qts, 0xcfc + (off & 2));
}

static void cfg_writel(QTestState *qts, int bus, int devfn, int off,
                       uint32_t val)
{
    cfg_select(qts, bus, devfn, off);
    qtest_outl(qts, 0xcfc, val);
}

static void cfg_writew(QTestState *qts, int bus, int devfn, int off,
                       uint16_t val)
{
    cfg_select(qts, bus, devfn, off);
    qtest_outw(qts, 0xcfc + (off & 2), val);
}

static uint8_t cfg_find_cap(QTestState *qts, int bus, int devfn, uint8_t id)
{
    uint8_t pos = cfg_readw(qts, bus, devfn, PCI_CAPABILITY_LIST) & 0xfc;

    while (pos && (cfg_readw(qts, bus, devfn, pos) & 0xff) != id) {
        pos = (cfg_readw(qts, bus, devfn, pos) >> 8) & 0xfc;
    }
    g_assert_cmpuint(pos, !=, 0);
    return pos;
}

/*
 * The switch downstream port of the hotplug tests sits in the last slot of
 * the switch's bus, so that its config space is close to the end of the
 * config window: a copy from its Slot Control into what follows the window
 * stays short (copies that reach MMIO are limited in size).
 */
#define DP_DEVFN QPCI_DEVFN(0x1f, 0)

/* A bridge at bus:devfn forwarding buses sec..sub and one 1 MiB window. */
static void cfg_bridge(QTestState *qts, int bus, int devfn, int sec, int sub,
                       uint32_t window)
{
    cfg_writel(qts, bus, devfn, PCI_PRIMARY_BUS,
               bus | sec << 8 | sub << 16);
    cfg_writew(qts, bus, devfn, PCI_MEMORY_BASE, 0xfff0);
    cfg_writew(qts, bus, devfn, PCI_MEMORY_LIMIT, 0);
    cfg_writew(qts, bus, devfn, PCI_PREF_MEMORY_BASE, window >> 16);
    cfg_writew(qts, bus, devfn, PCI_PREF_MEMORY_LIMIT, window >> 16);
    cfg_writel(qts, bus, devfn, PCI_PREF_BASE_UPPER32, 0);
    cfg_writel(qts, bus, devfn, PCI_PREF_LIMIT_UPPER32, 0);
    cfg_writew(qts, bus, devfn, PCI_COMMAND,
               PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

/*
 * Device B unplugs device A by DMA, and the same DMA goes on into A's
 * registers. A sits behind a switch downstream port with native hotplug,
 * whose config space is on the last bus of a 64 MiB PCIe config window,
 * and A's BAR is right after the window. B's one copy starts at the port's
 * Slot Control: its first bytes power the slot off, which unplugs A at
 * once; the rest lands, through the memory map of before the unplug, on A's
 * registers and rings A's doorbell. That used to arm the timer of a device
 * that was about to be freed (a use-after-free, SIGSEGV in the timer walk).
 * Now A takes no access once unrealized, so B's copy ends in dst-partial:
 * its destination passed the check, and then failed part-way.
 */
static void test_unplug_by_peer_dma(void)
{
    const uint64_t ecam = ECAM_BASE, ecam_size = 64 * MiB;
    const uint64_t a_regs = ecam + ecam_size;
    const int rp_bus = 0, up_bus = 62, dp_bus = 63, a_bus = 64;
    const int rp = QPCI_DEVFN(5, 0), dp = DP_DEVFN, a = QPCI_DEVFN(0, 0);
    g_autofree uint8_t *payload = NULL;
    QPCIDevice *host;
    uint64_t sltctl, size, a_bar;
    uint16_t ctl;
    uint8_t cap;
    Testdev b;

    testdev_startf(&b, true,
                   "-m %llu "
                   "-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off "
                   "-device pcie-testdev,addr=04.0 "
                   "-device pcie-root-port,id=rp,bus=pcie.0,addr=05.0,"
                   "chassis=1,slot=1 "
                   "-device x3130-upstream,id=up,bus=rp "
                   "-device xio3130-downstream,id=dp,bus=up,addr=1f.0,"
                   "chassis=2,slot=2 "
                   "-device pcie-testdev,id=a,bus=dp,busy_delay_ms=10",
                   RAM_SIZE >> 20);

    /* A 64 MiB config window: buses 0 to 63. */
    host = qpci_device_find(b.bus, 0);
    qpci_config_writel(host, MCH_HOST_BRIDGE_PCIEXBAR + 4, 0);
    qpci_config_writel(host, MCH_HOST_BRIDGE_PCIEXBAR,
                       ecam | MCH_HOST_BRIDGE_PCIEXBAR_LENGTH_64M |
                       MCH_HOST_BRIDGE_PCIEXBAREN);
    g_free(host);
    /* Root port, switch upstream and downstream ports: A on bus 64. */
    cfg_bridge(b.qts, rp_bus, rp, up_bus, a_bus, a_regs);
    cfg_bridge(b.qts, up_bus, 0, dp_bus, a_bus, a_regs);
    cfg_bridge(b.qts, dp_bus, dp, a_bus, a_bus, a_regs);
    g_assert_cmphex(cfg_readw(b.qts, a_bus, a, PCI_VENDOR_ID), ==,
                    TESTDEV_VENDOR_ID);
    a_bar = PCI_BASE_ADDRESS_0 + 4 * TESTDEV_BAR;
    cfg_writel(b.qts, a_bus, a, a_bar, a_regs);
    cfg_writel(b.qts, a_bus, a, a_bar + 4, 0);
    cfg_writew(b.qts, a_bus, a, PCI_COMMAND,
               PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    g_assert_cmphex(qtest_readq(b.qts, a_regs + TESTDEV_REG_BUSY_DELAY), ==,
                    10);

    /* Slot Control: power indicator off, power off. Then A's registers. */
    cap = cfg_find_cap(b.qts, dp_bus, dp, PCI_CAP_ID_EXP);
    sltctl = ecam + ((uint64_t)dp_bus << 20) + (dp << 12) + cap +
             PCI_EXP_SLTCTL;
    size = a_regs + TESTDEV_REG_DOORBELL + 8 - sltctl;
    g_assert_cmpuint(size, <=, TESTDEV_MAX_SIZE_DEFAULT);
    payload = g_malloc0(size);
    ctl = cfg_readw(b.qts, dp_bus, dp, cap + PCI_EXP_SLTCTL);
    ctl |= PCI_EXP_SLTCTL_PWR_IND_OFF | PCI_EXP_SLTCTL_PWR_OFF;
    stw_le_p(payload, ctl);
    stq_le_p(payload + a_regs - sltctl + TESTDEV_REG_SRCADDR, SRC_BUF);
    stq_le_p(payload + a_regs - sltctl + TESTDEV_REG_DSTADDR, DST_BUF);
    stq_le_p(payload + a_regs - sltctl + TESTDEV_REG_SIZE, 8);
    stq_le_p(payload + a_regs - sltctl + TESTDEV_REG_DOORBELL,
             TESTDEV_DOORBELL_START);
    qtest_memwrite(b.qts, SRC_BUF, payload, size);

    g_assert_cmpuint(copy(&b, SRC_BUF, sltctl, size), ==,
                     TESTDEV_RESULT_DST_PARTIAL);
    g_assert_cmpuint(rd(&b, TESTDEV_REG_FAULTS), ==, 1);
    g_assert_cmphex(cfg_readw(b.qts, a_bus, a, PCI_VENDOR_ID), ==, 0xffff);
    /* Let RCU free A, then walk the timers: A's must not be among them. */
    g_usleep(200 * 1000);
    qtest_clock_step(b.qts, 100 * MS);
    g_usleep(100 * 1000);
    qtest_clock_step(b.qts, 100 * MS);
    qtest_qmp_assert_success(b.qts, "{ 'execute': 'query-status' }");
    testdev_stop(&b);
}

/*
 * A migration stream is data the device must check. Save an idle device,
 * load the stream once as it is (it must load), then patched: each patch
 * is a state the device cannot reach, and the load must fail (QEMU exits
 * 1) rather than leave the device busy or aggressive with no deadline.
 */
static void test_migration_bad_state(void)
{
    /* Offsets from SRCADDR in the device's section (big endian fields). */
    static const struct {
        const char *what;
        size_t offset;
        uint8_t byte;
    } patches[] = {
        { "STATUS busy, no deadline", 32 + 3, TESTDEV_STATUS_BUSY },
        { "aggressive, no deadline", 40, 1 },
        { "INT_STATUS bits that do not exist", 61 + 3, 0xfe },
        { "RESULT past the last code", 36 + 3, 0x77 },
    };
    const uint64_t magic = 0x5a5a5a5a12345678ULL;
    g_autofree char *file = NULL;
    g_autofree char *stream = NULL;
    uint8_t marker[8];
    size_t len, i, at;
    Testdev src;

    testdev_start(&src, true, "");
    wr(&src, TESTDEV_REG_SRCADDR, magic);
    stream = save_stream(&src, &file, &len);
    stq_be_p(marker, magic);
    at = stream_find(stream, len, marker, sizeof(marker));

    for (i = 0; i < ARRAY_SIZE(patches); i++) {
        g_autofree char *patched = g_memdup2(stream, len);

        g_test_message("loading with %s", patches[i].what);
        patched[at + patches[i].offset] = patches[i].byte;
        load_stream(file, patched, len, false);
    }
    /* The stream as saved loads. */
    load_stream(file, stream, len, true);
    unlink(file);
}

/*
 * The world the topology fuzzer drives: device B at 00:04.0 and C at
 * 00:06.0 on the root bus, and A behind a root port and a switch with
 * native hotplug, on a bus past a 64 MiB PCIe config window, with its BAR
 * right after the window (as in test_unplug_by_peer_dma). The fuzzer
 * renumbers the buses, powers A's slot off and on, plugs A back with
 * device_add, and migrates the whole machine to a new QEMU.
 */
#define FUZZ_ECAM       ECAM_BASE
#define FUZZ_ECAM_SIZE  (64 * MiB)
#define FUZZ_A_BAR      (FUZZ_ECAM + FUZZ_ECAM_SIZE)
#define FUZZ_PAYLOAD    0x400000ULL /* RAM of words worth writing anywhere */
#define FUZZ_A_PROPS    "busy_delay_ms=1,aggression_delay_ms=2"

typedef struct {
    QTestState *qts;
    QPCIBus *bus;
    int up_bus, dp_bus, a_bus;  /* the switch's numbering, fuzzed */
    bool a_present;
    uint64_t bar[3];            /* B, C, A */
    uint8_t exp_cap, msi_cap, rp_exp_cap, dp_exp_cap;
    uint64_t ops, migrations, unplugs, replugs, renumbers;
} FuzzWorld;

static const int fuzz_root_devfn[2] = { QPCI_DEVFN(4, 0), QPCI_DEVFN(6, 0) };
#define FUZZ_RP QPCI_DEVFN(5, 0)

/* Bus and devfn of device i (0 B, 1 C, 2 A). */
static void fuzz_where(FuzzWorld *w, int i, int *bus, int *devfn)
{
    *bus = i < 2 ? 0 : w->a_bus;
    *devfn = i < 2 ? fuzz_root_devfn[i] : 0;
}

static void fuzz_number_buses(FuzzWorld *w)
{
    cfg_bridge(w->qts, 0, FUZZ_RP, w->up_bus, w->a_bus, FUZZ_A_BAR);
    cfg_bridge(w->qts, w->up_bus, 0, w->dp_bus, w->a_bus, FUZZ_A_BAR);
    cfg_bridge(w->qts, w->dp_bus, DP_DEVFN, w->a_bus, w->a_bus, FUZZ_A_BAR);
}

/* Give device i its BAR and decoding back (an FLR clears them). */
static void fuzz_map(FuzzWorld *w, int i, int bus, int devfn)
{
    const int bar = PCI_BASE_ADDRESS_0 + 4 * TESTDEV_BAR;

    cfg_writel(w->qts, bus, devfn, bar, w->bar[i]);
    cfg_writel(w->qts, bus, devfn, bar + 4, w->bar[i] >> 32);
    cfg_writew(w->qts, bus, devfn, PCI_COMMAND,
               PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

/* The same for A, if it is there. */
static void fuzz_setup_a(FuzzWorld *w)
{
    w->a_present = cfg_readw(w->qts, w->a_bus, 0, PCI_VENDOR_ID) ==
                   TESTDEV_VENDOR_ID;
    if (w->a_present) {
        fuzz_map(w, 2, w->a_bus, 0);
    }
}

/* Boot the machine and set its buses up, or boot one to load it into. */
static void fuzz_boot(FuzzWorld *w, bool incoming)
{
    QPCIDevice *host;
    int i;

    w->qts = qtest_initf(MACHINE "-m %llu "
                         "-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off "
                         "-device pcie-testdev,addr=04.0,aggression_delay_ms=3 "
                         "-device pcie-testdev,addr=06.0,aer=on,"
                         "x-fail-after-copies=200 "
                         "-device pcie-root-port,id=rp,bus=pcie.0,addr=05.0,"
                         "chassis=1,slot=1 "
                         "-device x3130-upstream,id=up,bus=rp "
                         "-device xio3130-downstream,id=dp,bus=up,addr=1f.0,"
                         "chassis=2,slot=2 %s %s", RAM_SIZE >> 20,
                         w->a_present ? "-device pcie-testdev,id=a,bus=dp,"
                                        FUZZ_A_PROPS : "",
                         incoming ? "-incoming defer" : "");
    w->bus = qpci_new_pc(w->qts, NULL);
    if (incoming) {
        return;
    }
    w->bus->mmio_alloc_ptr = 0xE0000000;
    for (i = 0; i < 2; i++) {
        QPCIDevice *dev = qpci_device_find(w->bus, fuzz_root_devfn[i]);

        w->bar[i] = qpci_iomap(dev, TESTDEV_BAR, NULL).addr;
        qpci_device_enable(dev);
        g_free(dev);
    }
    w->bar[2] = FUZZ_A_BAR;
    host = qpci_device_find(w->bus, 0);
    qpci_config_writel(host, MCH_HOST_BRIDGE_PCIEXBAR + 4, 0);
    qpci_config_writel(host, MCH_HOST_BRIDGE_PCIEXBAR,
                       FUZZ_ECAM | MCH_HOST_BRIDGE_PCIEXBAR_LENGTH_64M |
                       MCH_HOST_BRIDGE_PCIEXBAREN);
    g_free(host);
    fuzz_number_buses(w);
    fuzz_setup_a(w);
    g_assert_true(w->a_present);
    w->exp_cap = cfg_find_cap(w->qts, 0, fuzz_root_devfn[0], PCI_CAP_ID_EXP);
    w->msi_cap = cfg_find_cap(w->qts, 0, fuzz_root_devfn[0], PCI_CAP_ID_MSI);
    w->rp_exp_cap = cfg_find_cap(w->qts, 0, FUZZ_RP, PCI_CAP_ID_EXP);
    w->dp_exp_cap = cfg_find_cap(w->qts, w->dp_bus, DP_DEVFN, PCI_CAP_ID_EXP);
}

/* Where a fuzzed bus address points: memory, registers, config space. */
static uint64_t fuzz_target(FuzzWorld *w)
{
    static const int cfg_regs[] = {
        PCI_COMMAND, PCI_PRIMARY_BUS, PCI_BASE_ADDRESS_0,
    };
    int bus = 0, devfn = 0, off;

    switch (g_test_rand_int_range(0, 12)) {
    case 0:
        return g_test_rand_int_range(0, RAM_SIZE);
    case 1:
        return w->bar[g_test_rand_int_range(0, 3)] +
               g_test_rand_int_range(0, TESTDEV_REG_END / 4 + 1) * 4;
    case 2:
        return w->bar[g_test_rand_int_range(0, 3)] + TESTDEV_REG_DOORBELL;
    case 3:
    case 4:
        /* A config register that matters, through the window. */
        switch (g_test_rand_int_range(0, 4)) {
        case 0:
            fuzz_where(w, g_test_rand_int_range(0, 3), &bus, &devfn);
            off = w->exp_cap + PCI_EXP_DEVCTL;
            break;
        case 1:
            fuzz_where(w, g_test_rand_int_range(0, 3), &bus, &devfn);
            off = w->msi_cap + g_test_rand_int_range(0, 4) * 4;
            break;
        case 2:
            bus = w->dp_bus;
            devfn = DP_DEVFN;
            off = w->dp_exp_cap + PCI_EXP_SLTCTL;
            break;
        default:
            bus = g_test_rand_bit() ? w->up_bus : w->dp_bus;
            devfn = bus == w->dp_bus ? DP_DEVFN : 0;
            off = cfg_regs[g_test_rand_int_range(0, ARRAY_SIZE(cfg_regs))];
            break;
        }
        return FUZZ_ECAM + ((uint64_t)bus << 20) + (devfn << 12) + off;
    case 5:
        return FUZZ_ECAM + FUZZ_ECAM_SIZE - g_test_rand_int_range(1, 0x2000);
    case 6:
        return 0xfee00000 + g_test_rand_int_range(0, 0x1000);
    case 7:
        return UNMAPPED;
    case 8:
        return 0xffffffffffffffffULL - g_test_rand_int_range(0, 0x2000);
    default:
        return FUZZ_PAYLOAD + g_test_rand_int_range(0, 0x10000 / 8) * 8;
    }
}

/* A word that does something wherever it lands. */
static uint64_t fuzz_word(FuzzWorld *w)
{
    static const uint64_t words[] = {
        TESTDEV_DOORBELL_START, TESTDEV_DOORBELL_START | TESTDEV_DOORBELL_IRQ,
        PCI_EXP_DEVCTL_BCR_FLR, PCI_EXP_SLTCTL_PWR_IND_OFF |
        PCI_EXP_SLTCTL_PWR_OFF, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
        TESTDEV_AGGRESSIVE_ON, 0, ~0ULL, 0x3f3e00, FUZZ_A_BAR,
    };

    return g_test_rand_bit() ? words[g_test_rand_int_range(0,
                                     ARRAY_SIZE(words))]
                             : fuzz_target(w);
}

static void fuzz_payload(FuzzWorld *w)
{
    uint64_t buf[0x10000 / 8];
    size_t i;

    for (i = 0; i < ARRAY_SIZE(buf); i++) {
        buf[i] = fuzz_word(w);
    }
    qtest_memwrite(w->qts, FUZZ_PAYLOAD, buf, sizeof(buf));
}

/*
 * A copy put together from parts that matter: device i copies a source
 * that starts with a word that acts (a doorbell, FLR, slot power-off, ...)
 * to a destination the fuzzer knows, and is either one word long or long
 * enough to run on into A's registers, where its last words land as
 * SRCADDR, DSTADDR, SIZE and DOORBELL. Each device has a source area of
 * its own, so the copies it is set up for stay armed.
 */
static void fuzz_composed_copy(FuzzWorld *w, int i)
{
    uint64_t src = 0x600000 + i * 0x200000ULL, dst = fuzz_target(w);
    uint64_t size = 8, head = fuzz_word(w), tail[4];

    /* Often ring another device's doorbell: chains of devices. */
    if (g_test_rand_int_range(0, 4) == 0) {
        dst = w->bar[(i + g_test_rand_int_range(1, 3)) % 3] +
              TESTDEV_REG_DOORBELL;
        head = TESTDEV_DOORBELL_START;
    }

    if (dst < FUZZ_A_BAR && FUZZ_A_BAR - dst < TESTDEV_MAX_SIZE_DEFAULT - 64 &&
        g_test_rand_bit()) {
        size = FUZZ_A_BAR + sizeof(tail) - dst;
    }
    tail[0] = fuzz_target(w);
    tail[1] = fuzz_target(w);
    tail[2] = g_test_rand_int_range(1, 0x100);
    tail[3] = TESTDEV_DOORBELL_START;
    qtest_memwrite(w->qts, src, &head, sizeof(head));
    if (size > sizeof(head)) {
        qtest_memwrite(w->qts, src + size - sizeof(tail), tail, sizeof(tail));
    }
    qtest_writeq(w->qts, w->bar[i] + TESTDEV_REG_BUSY_DELAY,
                 g_test_rand_bit() ? 0 : g_test_rand_int_range(1, 3));
    qtest_writeq(w->qts, w->bar[i] + TESTDEV_REG_SRCADDR, src);
    qtest_writeq(w->qts, w->bar[i] + TESTDEV_REG_DSTADDR, dst);
    qtest_writeq(w->qts, w->bar[i] + TESTDEV_REG_SIZE, size);
    qtest_writeq(w->qts, w->bar[i] + TESTDEV_REG_DOORBELL,
                 g_test_rand_bit() ? TESTDEV_DOORBELL_START : 0);
}

/*
 * Whether A exists, powered or not: config space alone cannot tell a device
 * in a powered-off slot from none.
 */
static bool fuzz_a_exists(FuzzWorld *w)
{
    QDict *rsp = qtest_qmp(w->qts, "{ 'execute': 'qom-get', 'arguments':"
                           " { 'path': '/machine/peripheral/a',"
                           " 'property': 'type' } }");
    bool exists = qdict_haskey(rsp, "return");

    qobject_unref(rsp);
    return exists;
}

/* Save the machine and carry on in a new QEMU that loaded it. */
static void fuzz_migrate(FuzzWorld *w, const char *file)
{
    g_autofree char *save = g_strdup_printf("exec:cat > %s", file);
    g_autofree char *load = g_strdup_printf("exec:cat %s", file);
    FuzzWorld old = *w;
    bool a_present = w->a_present;
    const int port[2][3] = {
        { 0, FUZZ_RP, w->rp_exp_cap }, { w->dp_bus, DP_DEVFN, w->dp_exp_cap },
    };
    int i;

    /*
     * QEMU's own hotplug ports cannot migrate their electromechanical
     * interlock status (read-only, yet checked on load), which a stray
     * write of EIC toggles: no migration then.
     */
    for (i = 0; i < 2; i++) {
        if (cfg_readw(w->qts, port[i][0], port[i][1],
                      port[i][2] + PCI_EXP_SLTSTA) & PCI_EXP_SLTSTA_EIS) {
            return;
        }
    }

    qtest_qmp_assert_success(w->qts, "{ 'execute': 'migrate',"
                             " 'arguments': { 'uri': %s } }", save);
    wait_migration(w->qts);
    w->a_present = fuzz_a_exists(w);
    fuzz_boot(w, true);
    w->a_present = a_present;
    qtest_qmp_assert_success(w->qts, "{ 'execute': 'migrate-incoming',"
                             " 'arguments': { 'uri': %s } }", load);
    wait_migration(w->qts);
    qpci_free_pc(old.bus);
    qtest_quit(old.qts);
    w->migrations++;
}

/* One step of the fuzzer: mostly register and DMA traffic. */
static void fuzz_step(FuzzWorld *w, const char *file)
{
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    int i = g_test_rand_int_range(0, w->a_present ? 3 : 2);
    int bus, devfn, off;
    uint64_t reg, val;
    unsigned size;

    fuzz_where(w, i, &bus, &devfn);
    switch (g_test_rand_int_range(0, 40)) {
    case 0:
    case 1:
        /* Not 0: qtest answers "FAIL could not advance time" to that. */
        qtest_clock_step(w->qts, g_test_rand_int_range(1, 5 * MS));
        /* Bring back what an FLR by some DMA may have unmapped. */
        fuzz_map(w, 0, 0, fuzz_root_devfn[0]);
        fuzz_map(w, 1, 0, fuzz_root_devfn[1]);
        fuzz_setup_a(w);
        return;
    case 2:
        cfg_writew(w->qts, bus, devfn, PCI_COMMAND, PCI_COMMAND_MEMORY |
                   (g_test_rand_bit() ? PCI_COMMAND_MASTER : 0));
        return;
    case 3:
        /* MSI at anything the fuzzer knows, with a word that acts there. */
        off = w->msi_cap;
        cfg_writel(w->qts, bus, devfn, off + PCI_MSI_ADDRESS_LO,
                   fuzz_target(w));
        cfg_writel(w->qts, bus, devfn, off + PCI_MSI_ADDRESS_HI, 0);
        cfg_writew(w->qts, bus, devfn, off + PCI_MSI_DATA_64,
                   g_test_rand_int_range(0, 4));
        cfg_writew(w->qts, bus, devfn, off + PCI_MSI_FLAGS,
                   g_test_rand_bit() ? PCI_MSI_FLAGS_ENABLE : 0);
        return;
    case 4:
        if (g_test_rand_int_range(0, 20) == 0) {
            cfg_writew(w->qts, bus, devfn, w->exp_cap + PCI_EXP_DEVCTL,
                       PCI_EXP_DEVCTL_BCR_FLR);
            cfg_writew(w->qts, bus, devfn, PCI_COMMAND,
                       PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        }
        return;
    case 5:
        if (g_test_rand_int_range(0, 50) == 0) {
            /* Renumber the switch: a valid numbering, or garbage first. */
            if (g_test_rand_bit()) {
                cfg_writel(w->qts, 0, FUZZ_RP, PCI_PRIMARY_BUS,
                           g_test_rand_int());
                qtest_clock_step(w->qts, MS);
            }
            /* Often the port stays on the last bus the window reaches. */
            w->up_bus = g_test_rand_int_range(1, 62);
            w->dp_bus = g_test_rand_bit() ? 63 :
                        g_test_rand_int_range(w->up_bus + 1, 64);
            w->a_bus = g_test_rand_bit() ? 64 :
                       g_test_rand_int_range(w->dp_bus + 1, 65);
            fuzz_number_buses(w);
            fuzz_setup_a(w);
            w->renumbers++;
        }
        return;
    case 6:
        if (g_test_rand_int_range(0, 50) == 0) {
            /* Power the slot off, which unplugs A, or on again. */
            bool was_present = w->a_present;

            cfg_writew(w->qts, w->dp_bus, DP_DEVFN,
                       w->dp_exp_cap + PCI_EXP_SLTCTL,
                       g_test_rand_bit() ? PCI_EXP_SLTCTL_PWR_IND_OFF |
                                           PCI_EXP_SLTCTL_PWR_OFF :
                                           PCI_EXP_SLTCTL_PWR_IND_ON);
            fuzz_setup_a(w);
            w->unplugs += was_present && !w->a_present;
        }
        return;
    case 7:
        if (!w->a_present && g_test_rand_int_range(0, 20) == 0) {
            QDict *rsp;

            cfg_writew(w->qts, w->dp_bus, DP_DEVFN,
                       w->dp_exp_cap + PCI_EXP_SLTCTL,
                       PCI_EXP_SLTCTL_PWR_IND_ON);
            rsp = qtest_qmp(w->qts, "{ 'execute': 'device_add', 'arguments':"
                            " { 'driver': 'pcie-testdev', 'id': 'a',"
                            " 'bus': 'dp', 'busy_delay_ms': 1,"
                            " 'aggression_delay_ms': 2 } }");
            qobject_unref(rsp);
            fuzz_setup_a(w);
            w->replugs += w->a_present;
        }
        return;
    case 8:
        if (g_test_rand_int_range(0, 200) == 0) {
            fuzz_migrate(w, file);
        }
        return;
    case 9:
        if (g_test_rand_int_range(0, 10) == 0) {
            fuzz_payload(w);
        }
        return;
    case 10:
    case 11:
    case 12:
    case 13:
        fuzz_composed_copy(w, i);
        return;
    default:
        break;
    }

    /* A register access, aligned or not, with a value that matters. */
    reg = g_test_rand_int_range(0, TESTDEV_REG_END / 8 + 1) * 8;
    size = sizes[g_test_rand_int_range(0, 4)];
    switch (reg) {
    case TESTDEV_REG_SRCADDR:
    case TESTDEV_REG_DSTADDR:
        val = fuzz_target(w);
        break;
    case TESTDEV_REG_SIZE:
        val = g_test_rand_bit() ? g_test_rand_int_range(1, 0x3000)
                                : fuzz_size();
        break;
    case TESTDEV_REG_BUSY_DELAY:
        val = g_test_rand_int_range(0, 3);
        break;
    case TESTDEV_REG_SCAN_START:
        val = fuzz_target(w);
        break;
    case TESTDEV_REG_SCAN_PAGES:
        val = fuzz_scan_pages();
        break;
    case TESTDEV_REG_SCAN_CTRL:
        val = g_test_rand_int_range(0, 4);
        break;
    default:
        val = ((uint64_t)g_test_rand_int() << 32) | g_test_rand_int();
    }
    if (g_test_rand_int_range(0, 10) == 0) {
        reg += g_test_rand_int_range(1, 8);
    } else if (size == 4 && g_test_rand_bit()) {
        reg += 4;
    }
    if (g_test_rand_int_range(0, 4) == 0) {
        qtest_memread(w->qts, w->bar[i] + reg, &val, size);
    } else {
        qtest_memwrite(w->qts, w->bar[i] + reg, &val, size);
    }
}

/*
 * Three devices DMAing into each other's registers and config spaces, MSI
 * aimed anywhere, FLR, bus renumbering, slot power (unplug), device_add,
 * and migration to a new QEMU in the middle of it all, for two thirds of
 * fuzz_seconds(); GLib's seed (--seed to replay).
 * QEMU must stay alive, and B must still copy at the end.
 */
static void test_fuzz_topology(void)
{
    double seconds = fuzz_seconds() * 2 / 3;
    g_autoptr(GTimer) timer = g_timer_new();
    g_autofree char *file = NULL;
    FuzzWorld w = { .up_bus = 62, .dp_bus = 63, .a_bus = 64,
                    .a_present = true };
    Testdev b;
    int fd;

    fd = g_file_open_tmp("pcie-testdev-fuzz-XXXXXX", &file, NULL);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    fuzz_boot(&w, false);
    fuzz_payload(&w);
    while (g_timer_elapsed(timer, NULL) < seconds) {
        fuzz_step(&w, file);
        w.ops++;
    }
    g_test_message("fuzz-topology: %" PRIu64 " operations in %.0f s, %"
                   PRIu64 " migrations, %" PRIu64 " renumberings, %" PRIu64
                   " slot power-offs that unplugged, %" PRIu64 " replugs",
                   w.ops, seconds, w.migrations, w.renumbers, w.unplugs,
                   w.replugs);

    qtest_qmp_assert_success(w.qts, "{ 'execute': 'query-status' }");
    b.qts = w.qts;
    b.bus = w.bus;
    b.dev = qpci_device_find(w.bus, fuzz_root_devfn[0]);
    qpci_config_writew(b.dev, w.exp_cap + PCI_EXP_DEVCTL,
                       PCI_EXP_DEVCTL_BCR_FLR);
    testdev_map(&b, true);
    fill(&b, SRC_BUF, 0x6e, 256);
    fill(&b, DST_BUF, 0x00, 256);
    g_assert_cmpuint(copy(&b, SRC_BUF, DST_BUF, 256), ==, TESTDEV_RESULT_OK);
    assert_filled(&b, DST_BUF, 0x6e, 256);
    testdev_stop(&b);
    unlink(file);
}

/*
 * Each MMIO access costs host time under QEMU's big lock: a copy that
 * reaches MMIO (here the PCIe config window) may be TESTDEV_MAX_MMIO_COPY
 * bytes long, no more; one that stays in RAM may be max_transfer_size.
 */
static void test_mmio_limit(void)
{
    uint64_t nobody;
    Testdev t;

    testdev_start(&t, true, "");
    /* Config space of bus 1, where no device answers: writes are dropped. */
    nobody = enable_ecam(t.bus) + (1 << 20);
    g_assert_cmpuint(copy(&t, SRC_BUF, nobody, TESTDEV_MAX_MMIO_COPY), ==,
                     TESTDEV_RESULT_OK);
    g_assert_cmpuint(copy(&t, SRC_BUF, nobody, TESTDEV_MAX_MMIO_COPY + 8),
                     ==, TESTDEV_RESULT_DST_FAULT);
    g_assert_cmpuint(copy(&t, nobody, DST_BUF, TESTDEV_MAX_MMIO_COPY + 8),
                     ==, TESTDEV_RESULT_SRC_FAULT);
    g_assert_cmpuint(copy(&t, SRC_BUF, DST_BUF, TESTDEV_MAX_SIZE_DEFAULT), ==,
                     TESTDEV_RESULT_OK);
    testdev_stop(&t);
}

/*
 * Unrealized through QMP, the device stays on its bus, so system reset
 * still reaches it; it must not touch its freed config space then.
 */
static void test_reset_unrealized(void)
{
    QTestState *qts = qtest_init(MACHINE "-device pcie-testdev,id=t,addr=04.0");

    qtest_qmp_assert_success(qts, "{ 'execute': 'qom-set', 'arguments':"
                             " { 'path': '/machine/peripheral/t',"
                             " 'property': 'realized', 'value': false } }");
    qtest_qmp_assert_success(qts, "{ 'execute': 'system_reset' }");
    qtest_qmp_eventwait(qts, "RESET");
    qtest_clock_step(qts, 10 * MS);
    qtest_qmp_assert_success(qts, "{ 'execute': 'query-status' }");
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/pcie-testdev/identity", test_identity);
    qtest_add_func("/pcie-testdev/registers", test_registers);
    qtest_add_func("/pcie-testdev/copy", test_copy);
    qtest_add_func("/pcie-testdev/copy-above-4g", test_copy_above_4g);
    qtest_add_func("/pcie-testdev/copy/overlap", test_copy_overlap);
    qtest_add_func("/pcie-testdev/copy/direct", test_copy_direct);
    qtest_add_func("/pcie-testdev/copy/iommu", test_copy_iommu);
    qtest_add_func("/pcie-testdev/copy/iommu-remap", test_copy_iommu_remap);
    if (getenv("PCIE_TESTDEV_BENCH")) {
        qtest_add_func("/pcie-testdev/bench", test_bench);
    }
    qtest_add_func("/pcie-testdev/busy-delay", test_busy_delay);
    qtest_add_func("/pcie-testdev/doorbell-while-busy",
                   test_doorbell_while_busy);
    qtest_add_func("/pcie-testdev/bus-master-off", test_bus_master_off);
    qtest_add_func("/pcie-testdev/faults", test_faults);
    qtest_add_func("/pcie-testdev/own-bar", test_own_bar);
    qtest_add_func("/pcie-testdev/ram-then-own-bar", test_ram_then_own_bar);
    qtest_add_func("/pcie-testdev/reset-by-own-dma", test_reset_by_own_dma);
    qtest_add_func("/pcie-testdev/oversize", test_oversize);
    qtest_add_func("/pcie-testdev/aggressive/property",
                   test_aggressive_property);
    qtest_add_func("/pcie-testdev/aggressive/register",
                   test_aggressive_register);
    qtest_add_func("/pcie-testdev/aggressive/delay-zero",
                   test_aggressive_delay_zero);
    qtest_add_func("/pcie-testdev/reset", test_reset);
    qtest_add_func("/pcie-testdev/irq/intx", test_intx);
    qtest_add_func("/pcie-testdev/irq/msi", test_msi);
    qtest_add_func("/pcie-testdev/migration", test_migration);
    qtest_add_func("/pcie-testdev/migration/aggressive",
                   test_migration_aggressive);
    qtest_add_func("/pcie-testdev/unplug", test_unplug);
    qtest_add_func("/pcie-testdev/scan", test_scan);
    qtest_add_func("/pcie-testdev/scan/migration", test_scan_migration);
    qtest_add_func("/pcie-testdev/scan/mmio", test_scan_mmio);
    qtest_add_func("/pcie-testdev/scan/canary-flood", test_scan_canary_flood);
    qtest_add_func("/pcie-testdev/scan/migration-bad-state",
                   test_scan_migration_bad_state);
    qtest_add_func("/pcie-testdev/memory-bound", test_memory_bound);
    qtest_add_func("/pcie-testdev/msi-to-own-bar", test_msi_to_own_bar);
    qtest_add_func("/pcie-testdev/unaligned", test_unaligned);
    qtest_add_func("/pcie-testdev/wrap", test_wrap);
    qtest_add_func("/pcie-testdev/original", test_original);
    qtest_add_func("/pcie-testdev/two-devices/ping-pong",
                   test_two_devices_ping_pong);
    qtest_add_func("/pcie-testdev/shared-budget", test_shared_budget);
    qtest_add_func("/pcie-testdev/shared-budget/no-starving",
                   test_shared_budget_no_starving);
    qtest_add_func("/pcie-testdev/shared-budget/unplug-queued",
                   test_shared_budget_unplug_queued);
    qtest_add_func("/pcie-testdev/fail-after-copies",
                   test_fail_after_copies);
    qtest_add_func("/pcie-testdev/aer", test_aer);
    qtest_add_data_func("/pcie-testdev/ats", GINT_TO_POINTER(0), test_ats);
    qtest_add_data_func("/pcie-testdev/ats/keep-invalidated",
                        GINT_TO_POINTER(ATS_KEEP_INVALIDATED), test_ats);
    qtest_add_data_func("/pcie-testdev/ats/iommu-last",
                        GINT_TO_POINTER(ATS_IOMMU_LAST), test_ats);
    qtest_add_func("/pcie-testdev/ats/migration-mismatch",
                   test_ats_migration_mismatch);
    qtest_add_func("/pcie-testdev/two-devices/unplug-by-peer-dma",
                   test_unplug_by_peer_dma);
    qtest_add_func("/pcie-testdev/migration-bad-state",
                   test_migration_bad_state);
    qtest_add_func("/pcie-testdev/mmio-limit", test_mmio_limit);
    qtest_add_func("/pcie-testdev/reset-unrealized", test_reset_unrealized);
    qtest_add_func("/pcie-testdev/fuzz/one-device", test_fuzz);
    qtest_add_func("/pcie-testdev/fuzz/topology", test_fuzz_topology);
    return g_test_run();
}
