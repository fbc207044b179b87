/*
 * QTest testcase for pcie-testdev
 *
 * Drives the device through the qtest protocol, with guest memory and the
 * virtual clock under the test's control: identity, registers, copies,
 * faults, limits, aggressive mode and reset.
 *
 * This work is licensed under the terms of the GNU GPL, version 2 or later.
 * See the COPYING file in the top-level directory.
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "libqos/pci.h"
#include "libqos/pci-pc.h"
#include "hw/pci/pci_regs.h"
#include "hw/misc/testdev_regs.h"

#define DEVFN       QPCI_DEVFN(4, 0)
#define SRC_BUF     0x100000ULL     /* guest RAM used as the copy's source */
#define DST_BUF     0x200000ULL     /* ... and destination */
#define UNMAPPED    0x4000000000ULL /* 256 GiB: nothing answers there */
#define MSI_BUF     0x300000ULL     /* where MSI messages land */
#define RAM_SIZE    (128ULL << 20)
#define MS          1000000LL       /* virtual clock steps are in ns */
#define MACHINE     "-M q35 -nodefaults "

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

static void testdev_start(Testdev *t, bool master, const char *props)
{
    t->qts = qtest_initf(MACHINE "-m %llu -device pcie-testdev,addr=04.0%s",
                         RAM_SIZE >> 20, props);
    t->bus = qpci_new_pc(t->qts, NULL);
    t->dev = qpci_device_find(t->bus, DEVFN);
    g_assert(t->dev);
    testdev_map(t, master);
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

/* Ring the doorbell for a copy and let the device run it. */
static uint64_t copy(Testdev *t, uint64_t src, uint64_t dst, uint64_t size)
{
    ring_copy(t, src, dst, size, TESTDEV_DOORBELL_START);
    qtest_clock_step(t->qts, 1);
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

    t.qts = qtest_init(MACHINE "-m 4608 -device pcie-testdev,addr=04.0");
    t.bus = qpci_new_pc(t.qts, NULL);
    t.dev = qpci_device_find(t.bus, DEVFN);
    testdev_map(&t, true);
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
    const uint64_t ecam = 0xb0000000ULL;
    QPCIDevice *host = qpci_device_find(bus, 0);

    qpci_config_writel(host, 0x64, 0);        /* PCIEXBAR, high half */
    qpci_config_writel(host, 0x60, ecam | 1); /* base, enabled */
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

    testdev_start(&t, true, ",max_transfer_size=4096");
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
    g_assert_cmpuint(rd(&t, TESTDEV_REG_AGGRESSIVE), ==, 1);

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
    g_assert_cmpuint(rd(&t, TESTDEV_REG_AGGRESSIVE), ==, 1);
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
    g_assert_cmpuint(copy(t, SRC_BUF, DST_BUF, 64), ==, TESTDEV_RESULT_NONE);
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

/* A copy pending when the VM state is saved completes after it is loaded. */
static void test_migration(void)
{
    g_autofree char *file = NULL;
    g_autofree char *save = NULL;
    g_autofree char *load = NULL;
    Testdev src, dst;
    int fd, i;

    fd = g_file_open_tmp("pcie-testdev-migration-XXXXXX", &file, NULL);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    save = g_strdup_printf("exec:cat > %s", file);
    load = g_strdup_printf("exec:cat %s", file);

    testdev_start(&src, true, "");
    fill(&src, SRC_BUF, 0x5c, 4096);
    fill(&src, DST_BUF, 0x00, 4096);
    wr(&src, TESTDEV_REG_BUSY_DELAY, 100);
    wr(&src, TESTDEV_REG_INT_ENABLE, TESTDEV_INT_DONE);
    ring(&src, 4096, TESTDEV_DOORBELL_START);
    qtest_clock_step(src.qts, 40 * MS);
    g_assert_cmpuint(rd(&src, TESTDEV_REG_STATUS), ==, TESTDEV_STATUS_BUSY);
    qtest_qmp_assert_success(src.qts, "{ 'execute': 'migrate',"
                             " 'arguments': { 'uri': %s } }", save);
    wait_migration(src.qts);

    dst.qts = qtest_initf(MACHINE "-m %llu -device pcie-testdev,addr=04.0"
                          " -incoming defer", RAM_SIZE >> 20);
    qtest_qmp_assert_success(dst.qts, "{ 'execute': 'migrate-incoming',"
                             " 'arguments': { 'uri': %s } }", load);
    wait_migration(dst.qts);
    dst.bus = qpci_new_pc(dst.qts, NULL);
    dst.dev = qpci_device_find(dst.bus, DEVFN);
    dst.bar = src.bar;

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
    unlink(file);
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
 * The guest asks for the largest copies and for absurd sizes: QEMU's memory
 * may grow by the bounce buffer (max_transfer_size) and no more.
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
    t.qts = qtest_initf(MACHINE "-m %llu -pidfile %s "
                        "-device pcie-testdev,addr=04.0", RAM_SIZE >> 20,
                        pidfile);
    t.bus = qpci_new_pc(t.qts, NULL);
    t.dev = qpci_device_find(t.bus, DEVFN);
    testdev_map(&t, true);
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
 * Random register accesses, config-space writes, resets and clock steps,
 * with DMA aimed anywhere. PCIE_TESTDEV_FUZZ_SECONDS bounds the run (default
 * 5); the seed is GLib's (--seed to replay). The device must keep working.
 */
static void test_fuzz(void)
{
    const char *env = g_getenv("PCIE_TESTDEV_FUZZ_SECONDS");
    double seconds = env ? g_ascii_strtod(env, NULL) : 5;
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
        default:
            val = ((uint64_t)g_test_rand_int() << 32) | g_test_rand_int();
        }

        switch (g_test_rand_int_range(0, 16)) {
        case 0:
            qtest_clock_step(t.qts, g_test_rand_int_range(0, 20 * MS));
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

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/pcie-testdev/identity", test_identity);
    qtest_add_func("/pcie-testdev/registers", test_registers);
    qtest_add_func("/pcie-testdev/copy", test_copy);
    qtest_add_func("/pcie-testdev/copy-above-4g", test_copy_above_4g);
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
    qtest_add_func("/pcie-testdev/unplug", test_unplug);
    qtest_add_func("/pcie-testdev/memory-bound", test_memory_bound);
    qtest_add_func("/pcie-testdev/fuzz", test_fuzz);
    return g_test_run();
}
