/*
 * pcie-testdev: a PCI Express endpoint with a DMA copy engine, for testing
 * drivers and IOMMUs.
 *
 * The guest sets SRCADDR, DSTADDR and SIZE and rings DOORBELL; after
 * BUSY_DELAY ms of virtual time the device copies SIZE bytes from SRCADDR to
 * DSTADDR through the PCI DMA API (so the IOMMU and the bus-master bit
 * apply), straight from guest memory to guest memory where both are RAM,
 * and reports how it ended in RESULT. In aggressive mode the device
 * repeats the copy on its own, as a rogue device would, without a driver;
 * a reachability scan (SCAN_*) probes a range of bus addresses, page by
 * page, for what such a device could read and write.
 * The register map is testdev_regs.h; docs/specs/pcie-testdev.rst is the spec.
 *
 * Guest-compatible with the original pcie-testdev of an out-of-tree QEMU
 * fork (same IDs, BAR, registers and properties); this is a new
 * implementation.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/rcu.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/queue.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "hw/pci/pci.h"
#include "hw/pci/msi.h"
#include "hw/pci/pcie.h"
#include "hw/pci/pcie_aer.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "system/dma.h"
#include "qom/object.h"
#include "trace.h"
#include "hw/misc/testdev_regs.h"

#define TYPE_PCIE_TESTDEV "pcie-testdev"
OBJECT_DECLARE_SIMPLE_TYPE(PCIeTestdevState, PCIE_TESTDEV)

/* No copy pending, or aggressive mode off: the deadline is unset. */
#define NO_DEADLINE INT64_MAX

/*
 * Where the PCIe capability goes, and the extended capabilities in turn
 * from 0x100: AER (aer=on), then ATS (ats=on).
 */
#define PCIE_TESTDEV_EXP_OFFSET 0x80
#define PCIE_TESTDEV_EXT_OFFSET 0x100

/* One translation of the device's ATS cache (its device-IOTLB). */
typedef struct PCIeTestdevATCEntry {
    bool valid;
    /* Invalidated, kept by a rogue device (x-ats-keep-invalidated). */
    bool stale;
    /*
     * What it was asked for and granted: the IOMMU answers one access at
     * a time (address_space_get_iotlb_entry() reports no permissions).
     */
    bool readable;
    bool writable;
    hwaddr iova;
    hwaddr mask;
    hwaddr translated;
    /* address_space_memory, or the device's own (no IOMMU in the way). */
    AddressSpace *target_as;
} PCIeTestdevATCEntry;

/*
 * The device-IOTLB invalidations of one IOMMU region in the DMA path: one
 * notifier for the whole region, however many sections of it the path
 * shows (intel-iommu's is split around the interrupt window), so that each
 * invalidation counts once.
 */
typedef struct PCIeTestdevATCNotifier {
    IOMMUNotifier n;
    MemoryRegion *mr;
    unsigned sections;
    /* Region offsets to bus addresses. */
    hwaddr offset;
    struct PCIeTestdevState *dev;
    QLIST_ENTRY(PCIeTestdevATCNotifier) next;
} PCIeTestdevATCNotifier;

struct PCIeTestdevState {
    PCIDevice parent_obj;

    MemoryRegion mmio;
    /* One timer serves both the pending copy and aggressive mode. */
    QEMUTimer timer;
    /*
     * For copies that reach MMIO (at most TESTDEV_MAX_MMIO_COPY bytes): the
     * source is read whole into it before the destination is written, so
     * a source that faults part-way leaves the destination untouched.
     * Copies between RAM need none.
     */
    uint8_t *bounce;
    /*
     * Set while the device masters the bus (a copy's DMA, an MSI write), to
     * refuse accesses it makes to its own BAR: nothing re-enters the device.
     */
    bool in_dma;
    /*
     * Bumped by reset and unrealize. A copy's own DMA can reset the device
     * (an FLR written through the PCIe config window) or unplug it (a slot
     * powered off the same way); a copy that outlived its generation must
     * neither report, count nor re-arm the timer.
     */
    uint32_t generation;
    /*
     * Set by unrealize. The object can outlive it: a DMA by another device
     * that unplugged this one (a hotplug slot powered off through the
     * config window) goes on through the memory map of before the unplug,
     * and may still reach these registers. From then on nothing happens.
     */
    bool unrealized;

    /* Properties: the registers' power-on values and the device's limits. */
    uint64_t prop_srcaddr;
    uint64_t prop_dstaddr;
    uint64_t prop_size;
    uint64_t prop_busy_delay_ms;
    bool prop_aggressive;
    uint64_t aggression_delay_ms;
    uint64_t max_size;
    /* x-original: the original fork's interface, for testing its drivers. */
    bool original;
    /*
     * x-dma-piece: the most a copy between RAM moves at once (0: as much
     * as the address space maps), to test pieces without an IOMMU.
     */
    uint64_t dma_piece;
    /* aer: an AER capability, for testing drivers' error recovery. */
    bool aer;
    /* ats: an ATS capability and a translation cache (testdev_regs.h). */
    bool ats;
    /* x-ats-keep-invalidated: the cache of a rogue device. */
    bool ats_keep_invalidated;
    /*
     * x-fail-after-copies: after this many copies the device fails, as one
     * that fell off the bus with its interrupt line stuck (see failed).
     */
    uint64_t fail_after_copies;

    /*
     * Failed (x-fail-after-copies) until the next reset: every register
     * reads all ones, writes are dropped, no DMA runs, and INTx stays at
     * the level it had, so a driver must tell such a device from its own
     * interrupts.
     */
    bool failed;

    /* Guest-visible registers. */
    uint64_t srcaddr;
    uint64_t dstaddr;
    uint64_t size;
    uint64_t busy_delay_ms;
    uint32_t status;
    uint32_t result;
    bool aggressive;
    uint64_t copies;
    uint64_t faults;
    uint32_t int_enable;
    uint32_t int_status;

    /* The copy the doorbell accepted, latched, and when it runs. */
    uint64_t copy_src;
    uint64_t copy_dst;
    uint64_t copy_size;
    bool copy_irq;
    int64_t copy_deadline;
    /* When the next aggressive copy runs. */
    int64_t aggr_deadline;

    /* The reachability scan's registers (SCAN_*) and progress. */
    uint64_t scan_start;
    uint64_t scan_pages;
    uint64_t scan_canary;
    bool scanning;
    uint64_t scan_seq;
    uint64_t scan_readable;
    uint64_t scan_writable;
    uint64_t scan_canaries;
    uint64_t scan_next;
    uint64_t scan_left;
    int64_t scan_deadline;
    /* The run of pages alike (access and kind) that the next trace reports. */
    uint64_t run_start;
    uint64_t run_pages;
    uint32_t run_access;
    bool run_ram;
    /* Canary trace events this scan has made (TESTDEV_SCAN_CANARY_TRACES). */
    uint32_t scan_canary_traces;
    /* One page read for canaries: a fixed buffer, whatever max_size is. */
    uint64_t scan_buf[TESTDEV_SCAN_PAGE_SIZE / 8];

    /*
     * ATS (ats=on): the translation cache, kept only while every IOMMU
     * region of the device's DMA path sends it invalidations (a listener
     * on that path registers a notifier on each); one that refused
     * (intel-iommu without device-iotlb=on) leaves ATS translating
     * every access afresh, as untranslated requests do.
     */
    MemoryListener atc_listener;
    QLIST_HEAD(, PCIeTestdevATCNotifier) atc_notifiers;
    bool atc_refused;
    PCIeTestdevATCEntry atc[TESTDEV_ATS_CACHE_ENTRIES];
    unsigned atc_next;
    uint64_t ats_translations;
    uint64_t ats_invalidations;

    /* Waiting for a turn on the devices' shared timeline (see below). */
    bool queued;
    QTAILQ_ENTRY(PCIeTestdevState) turn_link;
};

/*
 * The copies of every pcie-testdev in this QEMU take turns on one timeline
 * of virtual time: each one takes TESTDEV_SHARED_COPY_NS of it, plus its
 * bytes at TESTDEV_SHARED_BYTES_PER_SEC. However many devices a guest has,
 * and however they chain their copies, copying then takes a bounded share
 * of each second of virtual time, the same on every host; under TCG, where
 * the virtual clock follows the host's, that bounds the main loop's time.
 *
 * A device whose copy comes due while the timeline is taken, or while
 * others wait, joins a queue; one timer hands out the turns, one copy a
 * turn, in the order the devices came due. No device waits behind the
 * others for ever, and a turn costs one timer however many devices wait.
 */
static QTAILQ_HEAD(, PCIeTestdevState) pcie_testdev_queue =
    QTAILQ_HEAD_INITIALIZER(pcie_testdev_queue);
static QEMUTimer *pcie_testdev_turn_timer;
static int64_t pcie_testdev_free_at;

static int64_t pcie_testdev_turn_ns(uint64_t size)
{
    return TESTDEV_SHARED_COPY_NS +
           muldiv64(size, NANOSECONDS_PER_SECOND, TESTDEV_SHARED_BYTES_PER_SEC);
}

/* When the timeline is free, now or later. */
static int64_t pcie_testdev_free_from(int64_t now)
{
    /* Further ahead than any turn: the clock went back (a snapshot load). */
    if (pcie_testdev_free_at - now >
        pcie_testdev_turn_ns(TESTDEV_MAX_SIZE_LIMIT)) {
        pcie_testdev_free_at = now;
    }
    return MAX(pcie_testdev_free_at, now);
}

static void pcie_testdev_dequeue(PCIeTestdevState *s)
{
    if (s->queued) {
        QTAILQ_REMOVE(&pcie_testdev_queue, s, turn_link);
        s->queued = false;
    }
}

/*
 * When the device's next copy may run. Never "now": a copy can ring another
 * device's doorbell, and timers that keep expiring at the current instant
 * would never let timerlist_run_timers() return; at least
 * TESTDEV_MIN_COPY_DELAY_NS apart, each copy needs the virtual clock to
 * move.
 */
static int64_t pcie_testdev_deadline(PCIeTestdevState *s, uint64_t delay_ms)
{
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
           MAX(MIN(delay_ms, TESTDEV_MAX_DELAY_MS) * SCALE_MS,
               TESTDEV_MIN_COPY_DELAY_NS);
}

/* aggression_delay_ms, bounded below so the virtual clock keeps moving. */
static int64_t pcie_testdev_next_round(PCIeTestdevState *s)
{
    return pcie_testdev_deadline(s, MAX(s->aggression_delay_ms,
                                        TESTDEV_MIN_AGGRESSION_MS));
}

static void pcie_testdev_rearm(PCIeTestdevState *s)
{
    int64_t next = MIN(MIN(s->copy_deadline,
                           s->aggressive ? s->aggr_deadline : NO_DEADLINE),
                       s->scanning ? s->scan_deadline : NO_DEADLINE);

    if (next == NO_DEADLINE || s->unrealized) {
        timer_del(&s->timer);
    } else {
        timer_mod(&s->timer, next);
    }
}

static const char *pcie_testdev_result_name(uint32_t result)
{
    static const char *const names[] = TESTDEV_RESULT_NAMES;

    return result < ARRAY_SIZE(names) ? names[result] : "unknown";
}

/*
 * Whether the device sees [addr, addr + len) as RAM it may read (or write),
 * after any IOMMU. Each MMIO access costs host time under the big lock, so
 * copies that reach MMIO are kept short.
 */
static void pcie_testdev_log_mmio_limit(const char *kind, const char *end,
                                        uint64_t addr, uint64_t size)
{
    qemu_log_mask(LOG_GUEST_ERROR,
                  "%s: %s copy of 0x%" PRIx64 " bytes: its %s at 0x%" PRIx64
                  " reaches MMIO or nothing: refused above 0x%llx bytes\n",
                  TYPE_PCIE_TESTDEV, kind, size, end, addr,
                  TESTDEV_MAX_MMIO_COPY);
}

/*
 * The smallest page an IOMMU maps: a copy running backwards takes pieces
 * that never cross one, so each maps whole.
 */
#define PCIE_TESTDEV_PIECE 4096

/*
 * How many bytes from addr (up to len) are RAM the device may read (or
 * write: not read-only; never a RAM device region, whose host memory is
 * another device's), in one run of host memory: the translations that
 * dma_memory_map() would merge into one mapping (under an IOMMU, pages
 * that map contiguous memory). 0 if addr is not such RAM.
 */
static uint64_t pcie_testdev_ram_len(AddressSpace *as, uint64_t addr,
                                     uint64_t len, bool is_write)
{
    MemoryRegion *first = NULL;
    hwaddr base = 0;
    uint64_t done = 0;

    RCU_READ_LOCK_GUARD();
    while (done < len) {
        hwaddr xlat, l = len - done;
        MemoryRegion *mr = address_space_translate(as, addr + done, &xlat, &l,
                                                   is_write,
                                                   MEMTXATTRS_UNSPECIFIED);

        if (!memory_region_is_ram(mr) || memory_region_is_ram_device(mr) ||
            (is_write && mr->readonly) || l == 0 ||
            (first && (mr != first || xlat != base + done))) {
            break;
        }
        if (!first) {
            first = mr;
            base = xlat;
        }
        done += MIN(l, len - done);
    }
    return done;
}

/* Whether all of addr..addr + len - 1 is RAM the device may read (or write). */
static bool pcie_testdev_is_ram(PCIeTestdevState *s, uint64_t addr,
                                uint64_t len, bool is_write)
{
    AddressSpace *as = pci_get_address_space(PCI_DEVICE(s));

    while (len) {
        uint64_t n = pcie_testdev_ram_len(as, addr, len, is_write);

        if (!n) {
            return false;
        }
        addr += n;
        len -= n;
    }
    return true;
}

/* Whether a pointer dma_memory_map() returned is guest RAM, not a bounce. */
static bool pcie_testdev_mapped_ram(void *p)
{
    ram_addr_t offset;

    RCU_READ_LOCK_GUARD();
    return memory_region_from_host(p, &offset) != NULL;
}

/*
 * Copy between two ranges that are RAM to the device, with no copy in
 * between: each piece of the source is mapped with the destination's at
 * the same offset (pieces as the address space translates them: an IOMMU
 * maps page by page), and moved. Overlapping ranges move as one memmove,
 * from the end when the destination lies above the source. Both ranges
 * were checked whole and RAM cannot fail, so the copy lands whole, unless
 * the translation changed since the check: under an IOMMU whose page
 * tables the copy's own bytes (or a CPU) rewrote, a later piece may no
 * longer be RAM. Each piece is translated again before it is mapped (and
 * is no longer than one run of RAM), and a
 * mapping that is not guest RAM (the address space's bounce buffer: MMIO,
 * nothing, ROM) is dropped unused, so no MMIO is read or written here and
 * the 64 KiB MMIO limit holds; the copy then ends in dst-partial (or
 * src-fault / dst-fault if nothing landed yet).
 */
static uint32_t pcie_testdev_copy_direct(AddressSpace *as, uint64_t src,
                                         uint64_t dst, uint64_t size,
                                         uint64_t max_piece)
{
    bool backward = dst > src && dst - src < size;
    uint64_t done = 0;

    while (done < size) {
        uint64_t off = done, n = MIN(size - done, max_piece);
        uint64_t end = size;
        dma_addr_t slen, dlen;
        void *sp, *dp;

        if (backward) {
            end = size - done;
            n = MIN(n, MIN((src + end - 1) % PCIE_TESTDEV_PIECE,
                           (dst + end - 1) % PCIE_TESTDEV_PIECE) + 1);
            off = end - n;
        }
        /* Still RAM, as far as one mapping each goes. */
        n = MIN(n, pcie_testdev_ram_len(as, src + off, n, false));
        if (!n || (backward && n != end - off)) {
            return done ? TESTDEV_RESULT_DST_PARTIAL : TESTDEV_RESULT_SRC_FAULT;
        }
        n = MIN(n, pcie_testdev_ram_len(as, dst + off, n, true));
        if (!n || (backward && n != end - off)) {
            return done ? TESTDEV_RESULT_DST_PARTIAL : TESTDEV_RESULT_DST_FAULT;
        }
        slen = n;
        sp = dma_memory_map(as, src + off, &slen, DMA_DIRECTION_TO_DEVICE,
                            MEMTXATTRS_UNSPECIFIED);
        if (sp && !pcie_testdev_mapped_ram(sp)) {
            dma_memory_unmap(as, sp, slen, DMA_DIRECTION_TO_DEVICE, 0);
            sp = NULL;
        }
        if (!sp) {
            return done ? TESTDEV_RESULT_DST_PARTIAL : TESTDEV_RESULT_SRC_FAULT;
        }
        dlen = slen;
        dp = dma_memory_map(as, dst + off, &dlen, DMA_DIRECTION_FROM_DEVICE,
                            MEMTXATTRS_UNSPECIFIED);
        if (dp && !pcie_testdev_mapped_ram(dp)) {
            /* A bounce buffer unmapped with no length writes nothing. */
            dma_memory_unmap(as, dp, dlen, DMA_DIRECTION_FROM_DEVICE, 0);
            dp = NULL;
        }
        if (!dp || (backward && dlen != n)) {
            if (dp) {
                dma_memory_unmap(as, dp, dlen, DMA_DIRECTION_FROM_DEVICE, 0);
            }
            dma_memory_unmap(as, sp, slen, DMA_DIRECTION_TO_DEVICE, 0);
            return done ? TESTDEV_RESULT_DST_PARTIAL : TESTDEV_RESULT_DST_FAULT;
        }
        memmove(dp, sp, dlen);
        dma_memory_unmap(as, dp, dlen, DMA_DIRECTION_FROM_DEVICE, dlen);
        dma_memory_unmap(as, sp, slen, DMA_DIRECTION_TO_DEVICE, dlen);
        done += dlen;
    }
    return TESTDEV_RESULT_OK;
}

static bool pcie_testdev_ats_enabled(PCIeTestdevState *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);

    return s->ats && !s->atc_refused &&
           (pci_get_word(pdev->config + pdev->exp.ats_cap + PCI_ATS_CTRL) &
            PCI_ATS_CTRL_ENABLE);
}

static void pcie_testdev_atc_flush(PCIeTestdevState *s)
{
    memset(s->atc, 0, sizeof(s->atc));
}

/* A cached translation of addr for the access, valid or else stale. */
static PCIeTestdevATCEntry *pcie_testdev_atc_lookup(PCIeTestdevState *s,
                                                    hwaddr addr, bool is_write,
                                                    bool stale)
{
    unsigned i;

    for (i = 0; i < TESTDEV_ATS_CACHE_ENTRIES; i++) {
        PCIeTestdevATCEntry *e = &s->atc[i];

        if (e->valid && e->stale == stale && (addr & ~e->mask) == e->iova &&
            (is_write ? e->writable : e->readable)) {
            return e;
        }
    }
    return NULL;
}

/*
 * The translation of the page at addr for a read or a write: from the
 * cache, or an ATS translation request to the IOMMU (which checks it, and
 * reports a fault as it would for the access). NULL if refused.
 */
static PCIeTestdevATCEntry *pcie_testdev_atc_translate(PCIeTestdevState *s,
                                                       hwaddr addr,
                                                       bool is_write)
{
    AddressSpace *as = pci_get_address_space(PCI_DEVICE(s));
    PCIeTestdevATCEntry *e;
    IOMMUTLBEntry t;
    unsigned i;

    e = pcie_testdev_atc_lookup(s, addr, is_write, false);
    if (e) {
        return e;
    }
    s->ats_translations++;
    WITH_RCU_READ_LOCK_GUARD() {
        t = address_space_get_iotlb_entry(as, addr, is_write,
                                          MEMTXATTRS_UNSPECIFIED);
    }
    /* Translations elsewhere than RAM's or our own space: not supported. */
    if (t.perm == IOMMU_NONE ||
        (t.target_as != &address_space_memory && t.target_as != as)) {
        trace_pcie_testdev_ats_translate(addr, is_write, false, 0);
        /*
         * Refused: a rogue device reads on with what it was told before.
         * Not writes: those would land in pages the kernel freed and
         * reused, which crashes a guest at random rather than showing
         * anything.
         */
        e = is_write ? NULL : pcie_testdev_atc_lookup(s, addr, false, true);
        if (e) {
            trace_pcie_testdev_ats_stale(addr, is_write,
                                         e->translated | (addr & e->mask));
        }
        return e;
    }
    trace_pcie_testdev_ats_translate(addr, is_write, true,
                                     t.translated_addr | (addr & t.addr_mask));
    /* A fresh translation replaces any stale one it covers. */
    for (i = 0; i < TESTDEV_ATS_CACHE_ENTRIES; i++) {
        e = &s->atc[i];
        if (e->stale && (e->iova & ~t.addr_mask) == (addr & ~t.addr_mask)) {
            e->valid = false;
        }
    }
    e = &s->atc[s->atc_next];
    s->atc_next = (s->atc_next + 1) % TESTDEV_ATS_CACHE_ENTRIES;
    *e = (PCIeTestdevATCEntry) {
        .valid = true,
        .readable = !is_write,
        .writable = is_write,
        .iova = addr & ~t.addr_mask,
        .mask = t.addr_mask,
        .translated = t.translated_addr,
        .target_as = t.target_as,
    };
    return e;
}

/* A device-IOTLB invalidation from the IOMMU. */
static void pcie_testdev_atc_invalidate(IOMMUNotifier *n, IOMMUTLBEntry *iotlb)
{
    PCIeTestdevATCNotifier *an = container_of(n, PCIeTestdevATCNotifier, n);
    PCIeTestdevState *s = an->dev;
    hwaddr first = iotlb->iova + an->offset;
    hwaddr last = first + iotlb->addr_mask;
    unsigned i, dropped = 0;

    s->ats_invalidations++;
    for (i = 0; i < TESTDEV_ATS_CACHE_ENTRIES; i++) {
        PCIeTestdevATCEntry *e = &s->atc[i];

        if (e->valid && !e->stale && e->iova <= last &&
            first <= e->iova + e->mask) {
            /* Either way it is no longer used while a fresh one is had. */
            e->valid = s->ats_keep_invalidated;
            e->stale = true;
            dropped++;
        }
    }
    trace_pcie_testdev_ats_invalidate(first, iotlb->addr_mask + 1, dropped,
                                      s->ats_keep_invalidated);
}

static void pcie_testdev_atc_region_add(MemoryListener *listener,
                                        MemoryRegionSection *section)
{
    PCIeTestdevState *s = container_of(listener, PCIeTestdevState,
                                       atc_listener);
    PCIeTestdevATCNotifier *an;
    Error *err = NULL;

    if (!memory_region_is_iommu(section->mr) || s->atc_refused) {
        return;
    }
    QLIST_FOREACH(an, &s->atc_notifiers, next) {
        if (an->mr == section->mr) {
            an->sections++;
            return;
        }
    }
    an = g_new0(PCIeTestdevATCNotifier, 1);
    iommu_notifier_init(&an->n, pcie_testdev_atc_invalidate,
                        IOMMU_NOTIFIER_DEVIOTLB_UNMAP, 0, HWADDR_MAX,
                        memory_region_iommu_attrs_to_index(
                            IOMMU_MEMORY_REGION(section->mr),
                            MEMTXATTRS_UNSPECIFIED));
    an->mr = section->mr;
    an->sections = 1;
    an->offset = section->offset_within_address_space -
                 section->offset_within_region;
    an->dev = s;
    if (memory_region_register_iommu_notifier(section->mr, &an->n, &err)) {
        /* Nothing would tell a cache that a translation is gone. */
        warn_reportf_err(err, "%s: ATS translates every access afresh: ",
                         TYPE_PCIE_TESTDEV);
        s->atc_refused = true;
        g_free(an);
        return;
    }
    QLIST_INSERT_HEAD(&s->atc_notifiers, an, next);
}

static void pcie_testdev_atc_region_del(MemoryListener *listener,
                                        MemoryRegionSection *section)
{
    PCIeTestdevState *s = container_of(listener, PCIeTestdevState,
                                       atc_listener);
    PCIeTestdevATCNotifier *an, *tmp;

    QLIST_FOREACH_SAFE(an, &s->atc_notifiers, next, tmp) {
        if (an->mr == section->mr && !--an->sections) {
            memory_region_unregister_iommu_notifier(an->mr, &an->n);
            QLIST_REMOVE(an, next);
            g_free(an);
        }
    }
    /*
     * The path changed (the IOMMU turned on or off, bus mastering off):
     * nothing cached holds.
     */
    pcie_testdev_atc_flush(s);
}

/*
 * A copy as a device with ATS enabled makes it: every page of both ranges
 * is translated first (a refusal faults the copy, nothing written), then
 * each piece goes to its translated addresses, which no IOMMU checks again
 * (PCIe's translated requests), through the same RAM-only direct copy.
 * Pieces never cross a page; a copy running backwards takes them from the
 * end. A translation the copy's own bytes changed ends it part-way.
 */
static uint32_t pcie_testdev_copy_ats(PCIeTestdevState *s, uint64_t src,
                                      uint64_t dst, uint64_t size)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    bool backward = dst > src && dst - src < size;
    uint64_t done, off, n, end;
    int pass;

    /* Translated or not, a request needs bus mastering. */
    if (!(pci_get_word(pdev->config + PCI_COMMAND) & PCI_COMMAND_MASTER)) {
        return TESTDEV_RESULT_SRC_FAULT;
    }
    for (pass = 0; pass < 2; pass++) {
        for (done = 0; done < size; done += n) {
            PCIeTestdevATCEntry *e, se, de;
            uint32_t r;

            if (backward) {
                end = size - done;
                n = MIN(end, MIN((src + end - 1) % PCIE_TESTDEV_PIECE,
                                 (dst + end - 1) % PCIE_TESTDEV_PIECE) + 1);
                off = end - n;
            } else {
                off = done;
                n = MIN(size - done,
                        PCIE_TESTDEV_PIECE -
                        MAX((src + off) % PCIE_TESTDEV_PIECE,
                            (dst + off) % PCIE_TESTDEV_PIECE));
            }
            /* Copies: the destination's may replace the source's. */
            e = pcie_testdev_atc_translate(s, src + off, false);
            if (!e) {
                return done && pass ? TESTDEV_RESULT_DST_PARTIAL
                                    : TESTDEV_RESULT_SRC_FAULT;
            }
            se = *e;
            e = pcie_testdev_atc_translate(s, dst + off, true);
            if (!e || e->target_as != se.target_as) {
                return done && pass ? TESTDEV_RESULT_DST_PARTIAL
                                    : TESTDEV_RESULT_DST_FAULT;
            }
            de = *e;
            if (!pass) {
                continue;
            }
            se.translated += (src + off) & se.mask;
            de.translated += (dst + off) & de.mask;
            r = pcie_testdev_copy_direct(se.target_as, se.translated,
                                         de.translated, n, PCIE_TESTDEV_PIECE);
            if (r != TESTDEV_RESULT_OK) {
                return done ? TESTDEV_RESULT_DST_PARTIAL : r;
            }
        }
    }
    return TESTDEV_RESULT_OK;
}

/*
 * A copy of a valid size within the bus address space: between RAM,
 * directly; else, where it is short enough, through the bounce buffer.
 */
static uint32_t pcie_testdev_copy_checked(PCIeTestdevState *s,
                                          const char *kind, uint64_t src,
                                          uint64_t dst, uint64_t size)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    AddressSpace *as = pci_get_address_space(pdev);
    bool src_ram, both_ram;
    uint32_t result;

    if (pcie_testdev_ats_enabled(s)) {
        s->in_dma = true;
        result = pcie_testdev_copy_ats(s, src, dst, size);
        s->in_dma = false;
        return result;
    }
    src_ram = pcie_testdev_is_ram(s, src, size, false);
    both_ram = src_ram && pcie_testdev_is_ram(s, dst, size, true);
    if (both_ram) {
        s->in_dma = true;
        result = pcie_testdev_copy_direct(as, src, dst, size,
                                          s->dma_piece ?: UINT64_MAX);
        s->in_dma = false;
    } else if (size > TESTDEV_MAX_MMIO_COPY) {
        pcie_testdev_log_mmio_limit(kind, src_ram ? "destination" : "source",
                                    src_ram ? dst : src, size);
        result = src_ram ? TESTDEV_RESULT_DST_FAULT : TESTDEV_RESULT_SRC_FAULT;
    } else {
        /* MMIO, or nothing, at one end: through the bounce buffer. */
        s->in_dma = true;
        if (pci_dma_read(pdev, src, s->bounce, size) != MEMTX_OK) {
            result = TESTDEV_RESULT_SRC_FAULT;
        } else if (!dma_memory_valid(as, dst, size,
                                     DMA_DIRECTION_FROM_DEVICE,
                                     MEMTXATTRS_UNSPECIFIED)) {
            result = TESTDEV_RESULT_DST_FAULT;
        } else if (pci_dma_write(pdev, dst, s->bounce, size) != MEMTX_OK) {
            result = TESTDEV_RESULT_DST_PARTIAL;
        } else {
            result = TESTDEV_RESULT_OK;
        }
        s->in_dma = false;
    }
    return result;
}

/*
 * Copy size bytes from src to dst by DMA and return a TESTDEV_RESULT_* code.
 * The whole destination is checked before anything is written to it, so a
 * copy that faults leaves it as it was (dst-fault). Only a destination that
 * passed the check and then failed part-way can be partly written
 * (dst-partial): RAM cannot fail that way, MMIO can (a register that refuses
 * the write, or a device the copy's own earlier bytes unplugged through the
 * PCIe config window).
 */
static uint32_t pcie_testdev_copy(PCIeTestdevState *s, const char *kind,
                                  uint64_t src, uint64_t dst, uint64_t size)
{
    uint32_t generation = s->generation;
    uint32_t result;

    if (size == 0 || size > s->max_size) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: %s copy of 0x%" PRIx64 " bytes rejected: SIZE must"
                      " be 1 to 0x%" PRIx64 "\n",
                      TYPE_PCIE_TESTDEV, kind, size, s->max_size);
        result = TESTDEV_RESULT_BAD_SIZE;
    } else if (src + (size - 1) < src || dst + (size - 1) < dst) {
        /* Refused up front: the DMA API would go on at address 0. */
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: %s copy of 0x%" PRIx64 " bytes from 0x%" PRIx64
                      " to 0x%" PRIx64 " wraps past 2^64: refused\n",
                      TYPE_PCIE_TESTDEV, kind, size, src, dst);
        result = src + (size - 1) < src ? TESTDEV_RESULT_SRC_FAULT
                                        : TESTDEV_RESULT_DST_FAULT;
    } else {
        result = pcie_testdev_copy_checked(s, kind, src, dst, size);
    }

    /* A copy that reset or unplugged its own device counts for nobody. */
    if (s->generation == generation && result != TESTDEV_RESULT_BAD_SIZE) {
        if (result == TESTDEV_RESULT_OK) {
            s->copies++;
        } else {
            s->faults++;
        }
    }
    trace_pcie_testdev_dma(kind, src, dst, size,
                           pcie_testdev_result_name(result),
                           qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL));
    return result;
}

/*
 * INTx is a level: asserted while INT_STATUS has a bit set. MSI, when the
 * guest enabled it, is an edge: one message per bit newly set.
 */
static void pcie_testdev_update_intx(PCIeTestdevState *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);

    /* The original had no interrupt pin. */
    if (!s->original) {
        pci_set_irq(pdev, !msi_enabled(pdev) && s->int_status);
    }
}

static void pcie_testdev_raise(PCIeTestdevState *s, uint32_t bits)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    bool new = bits & ~s->int_status;

    s->int_status |= bits;
    trace_pcie_testdev_irq(s->int_status, msi_enabled(pdev));
    if (msi_enabled(pdev)) {
        if (new) {
            /* The message is a DMA write too: it may not re-enter the BAR. */
            s->in_dma = true;
            msi_notify(pdev, 0);
            s->in_dma = false;
        }
    } else {
        pcie_testdev_update_intx(s);
    }
}

/*
 * A rogue device does not wait for a driver: turn bus mastering on through
 * the config-space write path, which is what enables QEMU's bus-master
 * address space (setting the config bit alone would not).
 */
static void pcie_testdev_force_bus_master(PCIeTestdevState *s)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint16_t cmd = pci_get_word(pdev->config + PCI_COMMAND);

    if (!(cmd & PCI_COMMAND_MASTER)) {
        pci_default_write_config(pdev, PCI_COMMAND,
                                 cmd | PCI_COMMAND_MASTER, 2);
    }
}

/*
 * The reachability scan. Each page is probed for a read and for a write
 * by translating its bus address through the device's address space, so
 * an IOMMU checks (and reports) each probe as it would a real access;
 * nothing is written, and MMIO is asked whether it would accept an access,
 * never accessed. Pages alike are gathered into runs for the trace.
 */
#define SCAN_READ  1
#define SCAN_WRITE 2

static const char *pcie_testdev_access_name(uint32_t access)
{
    static const char *const names[] = { "none", "r", "w", "rw" };

    return names[access & 3];
}

/*
 * Whether an MMIO region takes an access of some size at offset addr:
 * asked, never made (.valid.accepts callbacks have no side effects).
 */
static bool pcie_testdev_mmio_takes(MemoryRegion *mr, hwaddr addr,
                                    bool is_write)
{
    unsigned size;

    for (size = 1; size <= 8; size *= 2) {
        if (memory_region_access_valid(mr, addr, size, is_write,
                                       MEMTXATTRS_UNSPECIFIED)) {
            return true;
        }
    }
    return false;
}

/*
 * Probe one page: RAM all over it (ram), or some region in it that takes
 * an access (MMIO smaller than a page: the HPET, a small BAR, counts).
 * One translation a region the page holds, and no more than
 * TESTDEV_SCAN_MAX_REGIONS of them: each probe's cost is bounded, whatever
 * the guest maps there (asking for every access of a page, as
 * address_space_access_valid() does, costs up to 4096 calls a page).
 */
#define TESTDEV_SCAN_MAX_REGIONS 16

static uint32_t pcie_testdev_probe(AddressSpace *as, uint64_t addr,
                                   bool *ram)
{
    uint32_t access = 0;
    int is_write;

    *ram = false;
    RCU_READ_LOCK_GUARD();
    for (is_write = 0; is_write < 2; is_write++) {
        hwaddr off = 0;
        int regions;

        for (regions = 0; off < TESTDEV_SCAN_PAGE_SIZE &&
                          regions < TESTDEV_SCAN_MAX_REGIONS; regions++) {
            hwaddr xlat, l = TESTDEV_SCAN_PAGE_SIZE - off;
            MemoryRegion *mr = address_space_translate(as, addr + off, &xlat,
                                                       &l, is_write,
                                                       MEMTXATTRS_UNSPECIFIED);
            bool is_ram = memory_region_is_ram(mr) &&
                          !memory_region_is_ram_device(mr);

            if (is_ram && !(is_write && mr->readonly)) {
                access |= is_write ? SCAN_WRITE : SCAN_READ;
                /* Kind "ram": RAM over the whole page, as before. */
                *ram = *ram || (!off && l == TESTDEV_SCAN_PAGE_SIZE);
                break;
            }
            if (!is_ram && pcie_testdev_mmio_takes(mr, xlat, is_write)) {
                /* MMIO that would take the access (a doorbell, a BAR). */
                access |= is_write ? SCAN_WRITE : SCAN_READ;
                break;
            }
            if (l == 0) {
                break;
            }
            off += l;
        }
    }
    return access;
}

/* Report the run gathered so far, if any. */
static void pcie_testdev_scan_flush(PCIeTestdevState *s)
{
    if (s->run_pages) {
        trace_pcie_testdev_scan_range(s->scan_seq, s->run_start,
            s->run_start + (s->run_pages * TESTDEV_SCAN_PAGE_SIZE - 1),
            pcie_testdev_access_name(s->run_access),
            s->run_ram ? "ram" : "mmio");
    }
    s->run_pages = 0;
}

static void pcie_testdev_scan_note(PCIeTestdevState *s, uint64_t addr,
                                   uint32_t access, bool ram)
{
    if (s->run_pages && (access != s->run_access || ram != s->run_ram ||
                         addr != s->run_start +
                                 s->run_pages * TESTDEV_SCAN_PAGE_SIZE)) {
        pcie_testdev_scan_flush(s);
    }
    if (!access) {
        return;
    }
    if (!s->run_pages) {
        s->run_start = addr;
        s->run_access = access;
        s->run_ram = ram;
    }
    s->run_pages++;
}

/*
 * Read a readable RAM page, as an attacker would, and look for the canary.
 * The page counts once however many times it holds the canary, and is
 * traced for its first TESTDEV_SCAN_PAGE_CANARY_TRACES tags, and a scan
 * for its first TESTDEV_SCAN_CANARY_TRACES: a guest that fills its RAM
 * with the canary must not make 512 trace events of each page.
 */
#define TESTDEV_SCAN_PAGE_CANARY_TRACES 4
#define TESTDEV_SCAN_CANARY_TRACES 256

static void pcie_testdev_scan_read(PCIeTestdevState *s, AddressSpace *as,
                                   uint64_t addr)
{
    uint64_t canary = cpu_to_le64(s->scan_canary);
    uint64_t tags[TESTDEV_SCAN_PAGE_CANARY_TRACES];
    size_t i, j, traced = 0;
    bool found = false;

    if (address_space_read(as, addr, MEMTXATTRS_UNSPECIFIED, s->scan_buf,
                           TESTDEV_SCAN_PAGE_SIZE) != MEMTX_OK) {
        return;
    }
    for (i = 0; i < ARRAY_SIZE(s->scan_buf); i++) {
        uint64_t tag;

        if (s->scan_buf[i] != canary) {
            continue;
        }
        found = true;
        tag = i + 1 < ARRAY_SIZE(s->scan_buf) ?
              le64_to_cpu(s->scan_buf[i + 1]) : 0;
        for (j = 0; j < traced && tags[j] != tag; j++) {
            /* a tag this page has shown already */
        }
        if (j == traced && traced < ARRAY_SIZE(tags) &&
            s->scan_canary_traces < TESTDEV_SCAN_CANARY_TRACES) {
            tags[traced++] = tag;
            s->scan_canary_traces++;
            trace_pcie_testdev_scan_canary(s->scan_seq, addr + i * 8, tag);
        }
    }
    s->scan_canaries += found;
}

static void pcie_testdev_scan_end(PCIeTestdevState *s, const char *how)
{
    pcie_testdev_scan_flush(s);
    trace_pcie_testdev_scan_done(s->scan_seq, s->scan_readable,
                                 s->scan_writable, s->scan_canaries, how);
    s->scanning = false;
    s->scan_left = 0;
    s->scan_deadline = NO_DEADLINE;
}

static void pcie_testdev_scan_ctrl(PCIeTestdevState *s, uint64_t val)
{
    uint64_t start = s->scan_start & ~(TESTDEV_SCAN_PAGE_SIZE - 1);

    if (!(val & TESTDEV_SCAN_RUN)) {
        if (s->scanning) {
            pcie_testdev_scan_end(s, "stopped");
            pcie_testdev_rearm(s);
        }
        return;
    }
    if (s->scanning) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: scan started while one runs: ignored\n",
                      TYPE_PCIE_TESTDEV);
        return;
    }
    if (s->scan_pages == 0 || s->scan_pages > TESTDEV_SCAN_MAX_PAGES) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: scan of 0x%" PRIx64 " pages refused: SCAN_PAGES"
                      " must be 1 to 0x%llx\n", TYPE_PCIE_TESTDEV,
                      s->scan_pages, TESTDEV_SCAN_MAX_PAGES);
        return;
    }
    s->scan_seq++;
    s->scan_readable = s->scan_writable = s->scan_canaries = 0;
    s->scan_next = start;
    /* Up to the top of the bus address space, never past it. */
    s->scan_left = MIN(s->scan_pages,
                       (UINT64_MAX - start) / TESTDEV_SCAN_PAGE_SIZE + 1);
    s->run_pages = 0;
    s->scan_canary_traces = 0;
    s->scanning = true;
    s->scan_deadline = pcie_testdev_deadline(s, 0);
    trace_pcie_testdev_scan_start(s->scan_seq, start, s->scan_left,
                                  s->scan_canary != 0);
    pcie_testdev_rearm(s);
}

/* Probe the scan's next pages; returns how many, for the timeline. */
static uint64_t pcie_testdev_scan_step(PCIeTestdevState *s)
{
    AddressSpace *as = pci_get_address_space(PCI_DEVICE(s));
    uint64_t n = MIN(s->scan_left, TESTDEV_SCAN_PAGES_PER_TURN);
    uint64_t i;

    /* A rogue device does not ask the driver; nor does the scan. */
    pcie_testdev_force_bus_master(s);
    s->in_dma = true;
    for (i = 0; i < n; i++) {
        uint64_t addr = s->scan_next;
        bool ram;
        uint32_t access = pcie_testdev_probe(as, addr, &ram);

        s->scan_readable += !!(access & SCAN_READ);
        s->scan_writable += !!(access & SCAN_WRITE);
        if (ram && (access & SCAN_READ) && s->scan_canary) {
            pcie_testdev_scan_read(s, as, addr);
        }
        pcie_testdev_scan_note(s, addr, access, ram);
        s->scan_next += TESTDEV_SCAN_PAGE_SIZE;
        s->scan_left--;
    }
    s->in_dma = false;
    if (s->scan_left) {
        s->scan_deadline = pcie_testdev_deadline(s, 0);
    } else {
        pcie_testdev_scan_end(s, "done");
    }
    return n;
}

/*
 * x-fail-after-copies: once that many copies ended, the device fails (see
 * PCIeTestdevState.failed). Nothing pending survives it.
 */
static void pcie_testdev_maybe_fail(PCIeTestdevState *s)
{
    if (!s->fail_after_copies || s->failed ||
        s->copies + s->faults < s->fail_after_copies) {
        return;
    }
    trace_pcie_testdev_failed(s->copies + s->faults, s->int_status);
    s->failed = true;
    s->status = 0;
    s->copy_deadline = NO_DEADLINE;
    s->aggressive = false;
    s->aggr_deadline = NO_DEADLINE;
    if (s->scanning) {
        pcie_testdev_scan_end(s, "failed");
    }
}

/*
 * The device's turn: run one copy that is due, the doorbell's first, and
 * take the time it costs on the timeline.
 */
static void pcie_testdev_take_turn(PCIeTestdevState *s, int64_t now)
{
    uint32_t generation = s->generation;
    uint32_t result;
    uint64_t size;

    /* The device may be unplugged by its own DMA: keep it until we return. */
    object_ref(OBJECT(s));
    if (s->copy_deadline <= now) {
        size = s->copy_size;
        s->copy_deadline = NO_DEADLINE;
        result = pcie_testdev_copy(s, "doorbell", s->copy_src, s->copy_dst,
                                   size);
        pcie_testdev_free_at = now + pcie_testdev_turn_ns(size);
        if (s->generation == generation) {
            s->result = result;
            s->status = 0;
            /* STATUS and RESULT are final before the interrupt is raised. */
            if (s->copy_irq) {
                pcie_testdev_raise(s, TESTDEV_INT_DONE);
            }
            pcie_testdev_maybe_fail(s);
        }
    } else if (s->aggressive && s->aggr_deadline <= now) {
        pcie_testdev_force_bus_master(s);
        size = s->size;
        result = pcie_testdev_copy(s, "aggressive", s->srcaddr, s->dstaddr,
                                   size);
        pcie_testdev_free_at = now + pcie_testdev_turn_ns(
            result == TESTDEV_RESULT_BAD_SIZE ? 0 : size);
        if (s->generation == generation) {
            s->aggr_deadline = pcie_testdev_next_round(s);
            pcie_testdev_maybe_fail(s);
        }
    } else if (s->scanning && s->scan_deadline <= now) {
        size = pcie_testdev_scan_step(s) * TESTDEV_SCAN_PAGE_SIZE;
        pcie_testdev_free_at = now + pcie_testdev_turn_ns(size);
    }
    /* After a reset or unrealize, they have set the timer themselves. */
    if (s->generation == generation) {
        pcie_testdev_rearm(s);
    }
    object_unref(OBJECT(s));
}

/* A copy of the device is due: its turn now, or a place in the queue. */
static void pcie_testdev_timer(void *opaque)
{
    PCIeTestdevState *s = opaque;
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    int64_t turn = pcie_testdev_free_from(now);

    if (s->unrealized || s->queued) {
        return;
    }
    if (turn == now && QTAILQ_EMPTY(&pcie_testdev_queue)) {
        pcie_testdev_take_turn(s, now);
        return;
    }
    s->queued = true;
    QTAILQ_INSERT_TAIL(&pcie_testdev_queue, s, turn_link);
    timer_mod_anticipate(pcie_testdev_turn_timer, turn);
}

/* The timeline is free: the first device in the queue takes its turn. */
static void pcie_testdev_next_turn(void *opaque)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    int64_t turn = pcie_testdev_free_from(now);
    PCIeTestdevState *s = QTAILQ_FIRST(&pcie_testdev_queue);

    if (s && turn == now) {
        pcie_testdev_dequeue(s);
        pcie_testdev_take_turn(s, now);
        turn = pcie_testdev_free_from(now);
    }
    if (!QTAILQ_EMPTY(&pcie_testdev_queue)) {
        timer_mod(pcie_testdev_turn_timer, turn);
    }
}

static void pcie_testdev_doorbell(PCIeTestdevState *s, uint64_t val)
{
    if (!(val & TESTDEV_DOORBELL_START)) {
        return;
    }
    if (s->status & TESTDEV_STATUS_BUSY) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: doorbell while a copy is pending: ignored\n",
                      TYPE_PCIE_TESTDEV);
        return;
    }
    if (s->size == 0 || s->size > s->max_size) {
        s->result = pcie_testdev_copy(s, "doorbell", s->srcaddr, s->dstaddr,
                                      s->size);
        return;
    }
    s->copy_src = s->srcaddr;
    s->copy_dst = s->dstaddr;
    s->copy_size = s->size;
    s->copy_irq = !s->original && ((val & TESTDEV_DOORBELL_IRQ) ||
                                   (s->int_enable & TESTDEV_INT_DONE));
    s->status = TESTDEV_STATUS_BUSY;
    s->result = TESTDEV_RESULT_NONE;
    /*
     * Even with no delay the copy runs from the timer, never inside the
     * MMIO write, so a copy cannot nest in another device's DMA.
     */
    s->copy_deadline = pcie_testdev_deadline(s, s->busy_delay_ms);
    trace_pcie_testdev_doorbell(s->copy_src, s->copy_dst, s->copy_size,
                                s->busy_delay_ms);
    pcie_testdev_rearm(s);
}

static void pcie_testdev_set_aggressive(PCIeTestdevState *s, bool on)
{
    trace_pcie_testdev_aggressive(on);
    s->aggressive = on;
    s->aggr_deadline = on ? pcie_testdev_next_round(s) : NO_DEADLINE;
    pcie_testdev_rearm(s);
}

static uint64_t pcie_testdev_reg_read(PCIeTestdevState *s, hwaddr reg)
{
    switch (reg) {
    case TESTDEV_REG_SRCADDR:
        return s->srcaddr;
    case TESTDEV_REG_DSTADDR:
        return s->dstaddr;
    case TESTDEV_REG_SIZE:
        return s->size;
    case TESTDEV_REG_STATUS:
        return s->status;
    case TESTDEV_REG_BUSY_DELAY:
        return s->busy_delay_ms;
    case TESTDEV_REG_AGGRESSIVE:
        return s->aggressive;
    case TESTDEV_REG_RESULT:
        return s->result;
    case TESTDEV_REG_COPIES:
        return s->copies;
    case TESTDEV_REG_FAULTS:
        return s->faults;
    case TESTDEV_REG_MAX_SIZE:
        return s->max_size;
    case TESTDEV_REG_INT_ENABLE:
        return s->int_enable;
    case TESTDEV_REG_INT_STATUS:
        return s->int_status;
    case TESTDEV_REG_SCAN_START:
        return s->scan_start;
    case TESTDEV_REG_SCAN_PAGES:
        return s->scan_pages;
    case TESTDEV_REG_SCAN_CANARY:
        return s->scan_canary;
    case TESTDEV_REG_SCAN_CTRL:
        return s->scanning;
    case TESTDEV_REG_SCAN_SEQ:
        return s->scan_seq;
    case TESTDEV_REG_SCAN_READABLE:
        return s->scan_readable;
    case TESTDEV_REG_SCAN_WRITABLE:
        return s->scan_writable;
    case TESTDEV_REG_SCAN_CANARIES:
        return s->scan_canaries;
    case TESTDEV_REG_ATS_TRANSLATIONS:
        return s->ats_translations;
    case TESTDEV_REG_ATS_INVALIDATIONS:
        return s->ats_invalidations;
    default:
        return 0;
    }
}

/*
 * The original fork's device decoded only the low halves of SRCADDR to
 * AGGRESSIVE, and split 8-byte accesses: its registers held 32 bits.
 */
static bool pcie_testdev_original_ignores(PCIeTestdevState *s, hwaddr addr)
{
    return s->original && (addr >= TESTDEV_REG_RESULT || (addr & 4));
}

static uint64_t pcie_testdev_mmio_read(void *opaque, hwaddr addr,
                                       unsigned size)
{
    PCIeTestdevState *s = opaque;
    uint64_t val;

    /* The memory core refuses these already; never act on one regardless. */
    if (addr & (size - 1)) {
        return 0;
    }
    if (s->failed) {
        return MAKE_64BIT_MASK(0, size * 8);
    }
    val = pcie_testdev_original_ignores(s, addr) ? 0 :
          pcie_testdev_reg_read(s, addr & ~7ULL);
    if (size == 4 || s->original) {
        val = extract64(val, (addr & 4) * 8, 32);
    }
    trace_pcie_testdev_mmio_read(addr, size, val);
    return val;
}

/* Merge a 4-byte write into a 64-bit register (see testdev_regs.h). */
static void pcie_testdev_merge(uint64_t *reg, hwaddr addr, unsigned size,
                               uint64_t val)
{
    if (size == 8) {
        *reg = val;
    } else if (addr & 4) {
        *reg = deposit64(*reg, 32, 32, val);
    } else {
        *reg = (uint32_t)val;
    }
}

static void pcie_testdev_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                                    unsigned size)
{
    PCIeTestdevState *s = opaque;
    hwaddr reg = addr & ~7ULL;

    trace_pcie_testdev_mmio_write(addr, size, val);
    if (addr & (size - 1) || s->failed) {
        return;
    }
    if (pcie_testdev_original_ignores(s, addr)) {
        return;
    }
    if (s->original) {
        val = (uint32_t)val;
    }

    switch (reg) {
    case TESTDEV_REG_SRCADDR:
        pcie_testdev_merge(&s->srcaddr, addr, size, val);
        break;
    case TESTDEV_REG_DSTADDR:
        pcie_testdev_merge(&s->dstaddr, addr, size, val);
        break;
    case TESTDEV_REG_SIZE:
        pcie_testdev_merge(&s->size, addr, size, val);
        break;
    case TESTDEV_REG_BUSY_DELAY:
        pcie_testdev_merge(&s->busy_delay_ms, addr, size, val);
        break;
    case TESTDEV_REG_DOORBELL:
        if (!(addr & 4)) {
            pcie_testdev_doorbell(s, val);
        }
        break;
    case TESTDEV_REG_AGGRESSIVE:
        if (!(addr & 4)) {
            pcie_testdev_set_aggressive(s, val & TESTDEV_AGGRESSIVE_ON);
        }
        break;
    case TESTDEV_REG_INT_ENABLE:
        if (!(addr & 4)) {
            s->int_enable = val & TESTDEV_INT_DONE;
        }
        break;
    case TESTDEV_REG_INT_ACK:
        if (!(addr & 4)) {
            s->int_status &= ~val;
            pcie_testdev_update_intx(s);
        }
        break;
    case TESTDEV_REG_SCAN_START:
        pcie_testdev_merge(&s->scan_start, addr, size, val);
        break;
    case TESTDEV_REG_SCAN_PAGES:
        pcie_testdev_merge(&s->scan_pages, addr, size, val);
        break;
    case TESTDEV_REG_SCAN_CANARY:
        pcie_testdev_merge(&s->scan_canary, addr, size, val);
        break;
    case TESTDEV_REG_SCAN_CTRL:
        if (!(addr & 4)) {
            pcie_testdev_scan_ctrl(s, val);
        }
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "%s: write to read-only or unknown offset 0x%"
                      HWADDR_PRIx ": ignored\n", TYPE_PCIE_TESTDEV, addr);
        break;
    }
}

/*
 * A copy whose source or destination lies in the device's own BAR would
 * re-enter the device in the middle of a copy. The memory core refuses
 * such accesses (and logs them as guest errors), so the copy ends with
 * SRC_FAULT or DST_FAULT, the destination check fails before anything is
 * written, and no register changes.
 */
static bool pcie_testdev_mmio_accepts(void *opaque, hwaddr addr,
                                      unsigned size, bool is_write,
                                      MemTxAttrs attrs)
{
    PCIeTestdevState *s = opaque;

    return !s->in_dma && !s->unrealized;
}

static const MemoryRegionOps pcie_testdev_mmio_ops = {
    .read = pcie_testdev_mmio_read,
    .write = pcie_testdev_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    /*
     * Other sizes and unaligned accesses are refused, and logged as guest
     * errors, by the memory core.
     */
    .valid = {
        .min_access_size = 4,
        .max_access_size = 8,
        .unaligned = false,
        .accepts = pcie_testdev_mmio_accepts,
    },
    /*
     * Said "unaligned" so that the memory core does not split an unaligned
     * access (a qtest, KVM or DMA writeq at offset 4) into aligned pieces
     * that would each be valid: whole, .valid refuses it.
     */
    .impl = {
        .min_access_size = 4,
        .max_access_size = 8,
        .unaligned = true,
    },
};

static void pcie_testdev_reset_hold(Object *obj, ResetType type)
{
    PCIeTestdevState *s = PCIE_TESTDEV(obj);

    trace_pcie_testdev_reset();
    s->generation++;
    /* Unrealized but still on its bus (qom-set realized=false): no config. */
    if (s->unrealized) {
        return;
    }
    s->srcaddr = s->prop_srcaddr;
    s->dstaddr = s->prop_dstaddr;
    s->size = s->prop_size;
    s->busy_delay_ms = s->prop_busy_delay_ms;
    s->status = 0;
    s->result = TESTDEV_RESULT_NONE;
    s->copies = 0;
    s->faults = 0;
    s->failed = false;
    s->int_enable = 0;
    s->int_status = 0;
    pcie_testdev_update_intx(s);
    s->copy_src = s->copy_dst = s->copy_size = 0;
    s->copy_irq = false;
    s->copy_deadline = NO_DEADLINE;
    if (s->scanning) {
        pcie_testdev_scan_end(s, "reset");
    }
    s->scan_start = s->scan_pages = s->scan_canary = 0;
    s->scan_seq = s->scan_readable = s->scan_writable = 0;
    s->scan_canaries = 0;
    s->ats_translations = s->ats_invalidations = 0;
    /* ATS Control's Enable is 0 after a reset (FLR too), as the spec has it. */
    if (s->ats) {
        pci_set_word(PCI_DEVICE(s)->config + PCI_DEVICE(s)->exp.ats_cap +
                     PCI_ATS_CTRL, 0);
    }
    pcie_testdev_atc_flush(s);
    pcie_testdev_dequeue(s);
    pcie_testdev_set_aggressive(s, s->prop_aggressive);
}

static void pcie_testdev_write_config(PCIDevice *pdev, uint32_t addr,
                                      uint32_t val, int len)
{
    PCIeTestdevState *s = PCIE_TESTDEV(pdev);
    uint16_t ats_ctrl = s->ats ? pci_get_word(pdev->config + pdev->exp.ats_cap +
                                              PCI_ATS_CTRL) : 0;

    pci_default_write_config(pdev, addr, val, len);
    /* Turning MSI on or off moves a pending interrupt between MSI and INTx. */
    pcie_testdev_update_intx(s);
    /* ATS turned on or off, or its page size changed: start afresh. */
    if (s->ats && ats_ctrl != pci_get_word(pdev->config + pdev->exp.ats_cap +
                                           PCI_ATS_CTRL)) {
        pcie_testdev_atc_flush(s);
    }
    pcie_cap_flr_write_config(pdev, addr, val, len);
}

static void pcie_testdev_realize(PCIDevice *pdev, Error **errp)
{
    PCIeTestdevState *s = PCIE_TESTDEV(pdev);
    Error *err = NULL;

    if (s->max_size == 0 || s->max_size > TESTDEV_MAX_SIZE_LIMIT) {
        error_setg(errp, "max_transfer_size must be 1 to %llu bytes",
                   TESTDEV_MAX_SIZE_LIMIT);
        return;
    }
    if (pcie_endpoint_cap_init(pdev, PCIE_TESTDEV_EXP_OFFSET) < 0) {
        error_setg(errp, "cannot add the PCI Express capability");
        return;
    }
    pcie_cap_flr_init(pdev);

    pci_config_set_interrupt_pin(pdev->config, s->original ? 0 : 1);
    /*
     * MSI, one vector; where the platform has none, INTx alone. The
     * original had no interrupt at all.
     */
    if (s->original) {
        /* nothing */
    } else if (msi_init(pdev, 0, 1, true, false, &err) < 0 &&
               !msi_nonbroken) {
        error_free(err);
    } else if (err) {
        error_propagate(errp, err);
        return;
    }

    if (s->aer && pcie_aer_init(pdev, PCI_ERR_VER, PCIE_TESTDEV_EXT_OFFSET,
                                PCI_ERR_SIZEOF, errp) < 0) {
        return;
    }
    if (s->ats) {
        pcie_ats_init(pdev, PCIE_TESTDEV_EXT_OFFSET +
                      (s->aer ? PCI_ERR_SIZEOF : 0), true);
        s->atc_listener = (MemoryListener) {
            .name = "pcie-testdev-atc",
            .region_add = pcie_testdev_atc_region_add,
            .region_del = pcie_testdev_atc_region_del,
        };
        s->atc_refused = false;
        /*
         * The bus-master space, which holds the IOMMU's however the command
         * line orders the devices (for cold-plugged ones it is wired in
         * when the machine is done), and drops it with bus mastering.
         */
        memory_listener_register(&s->atc_listener,
                                 pci_get_address_space(pdev));
    }

    memory_region_init_io(&s->mmio, OBJECT(s), &pcie_testdev_mmio_ops, s,
                          "pcie-testdev-mmio", TESTDEV_BAR_SIZE);
    pci_register_bar(pdev, TESTDEV_BAR,
                     PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64 |
                     PCI_BASE_ADDRESS_MEM_PREFETCH, &s->mmio);

    g_free(s->bounce);
    s->bounce = g_malloc(MIN(s->max_size, TESTDEV_MAX_MMIO_COPY));
    s->unrealized = false;
}

static void pcie_testdev_exit(PCIDevice *pdev)
{
    PCIeTestdevState *s = PCIE_TESTDEV(pdev);

    s->unrealized = true;
    s->generation++;
    s->scanning = false;
    timer_del(&s->timer);
    pcie_testdev_dequeue(s);
    msi_uninit(pdev);
    if (s->aer) {
        pcie_aer_exit(pdev);
    }
    if (s->ats) {
        memory_listener_unregister(&s->atc_listener);
    }
    pcie_cap_exit(pdev);
}

/* The timer and the bounce buffer live as long as the object. */
static void pcie_testdev_init(Object *obj)
{
    PCIeTestdevState *s = PCIE_TESTDEV(obj);

    timer_init_ns(&s->timer, QEMU_CLOCK_VIRTUAL, pcie_testdev_timer, s);
    s->copy_deadline = s->aggr_deadline = s->scan_deadline = NO_DEADLINE;
    /* The last scan's result, for the host's side (QMP's qom-get). */
    object_property_add_uint64_ptr(obj, "x-scan-seq", &s->scan_seq,
                                   OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "x-scan-readable-pages",
                                   &s->scan_readable, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "x-scan-writable-pages",
                                   &s->scan_writable, OBJ_PROP_FLAG_READ);
    object_property_add_uint64_ptr(obj, "x-scan-canary-pages",
                                   &s->scan_canaries, OBJ_PROP_FLAG_READ);
    if (!pcie_testdev_turn_timer) {
        pcie_testdev_turn_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL,
                                               pcie_testdev_next_turn, NULL);
    }
}

static void pcie_testdev_finalize(Object *obj)
{
    PCIeTestdevState *s = PCIE_TESTDEV(obj);

    timer_del(&s->timer);
    pcie_testdev_dequeue(s);
    g_free(s->bounce);
}

/*
 * The stream is guest-controlled data: refuse a state this device could not
 * have reached, above all one that would leave it busy, or aggressive, with
 * no deadline to end it. A deadline beyond the longest delay is brought back
 * within it.
 */
static int pcie_testdev_post_load(void *opaque, int version_id)
{
    PCIeTestdevState *s = opaque;
    bool busy = s->status == TESTDEV_STATUS_BUSY;
    int64_t latest = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                     TESTDEV_MAX_DELAY_MS * SCALE_MS;
    const char *bad = NULL;

    if (s->status & ~TESTDEV_STATUS_BUSY) {
        bad = "STATUS";
    } else if (busy != (s->copy_deadline != NO_DEADLINE)) {
        bad = "a pending copy's deadline";
    } else if (busy && (s->copy_size == 0 || s->copy_size > s->max_size)) {
        bad = "a pending copy's size";
    } else if (s->aggressive && s->aggr_deadline == NO_DEADLINE) {
        bad = "aggressive mode's deadline";
    } else if (s->scanning != (s->scan_deadline != NO_DEADLINE) ||
               s->scanning != (s->scan_left != 0) ||
               s->scan_left > TESTDEV_SCAN_MAX_PAGES ||
               s->run_pages > TESTDEV_SCAN_MAX_PAGES ||
               s->run_access > (SCAN_READ | SCAN_WRITE) ||
               s->scan_canary_traces > TESTDEV_SCAN_CANARY_TRACES) {
        bad = "the scan's progress";
    } else if (s->scanning &&
               ((s->scan_next & (TESTDEV_SCAN_PAGE_SIZE - 1)) ||
                s->scan_left - 1 > (UINT64_MAX - s->scan_next) /
                                   TESTDEV_SCAN_PAGE_SIZE)) {
        /* Page by page, and never past the top, as scan_ctrl starts it. */
        bad = "the scan's next page";
    } else if (s->run_pages &&
               (!s->scanning || !s->run_access ||
                s->run_start > s->scan_next ||
                s->run_start + s->run_pages * TESTDEV_SCAN_PAGE_SIZE !=
                s->scan_next)) {
        /* A run is reported when it ends; it ends at the next page. */
        bad = "the scan's run of pages";
    } else if (s->failed && (busy || s->aggressive || s->scanning)) {
        bad = "a failed device with work pending";
    } else if (s->failed && !s->fail_after_copies) {
        bad = "a failure on a device that cannot fail";
    } else if (s->result > TESTDEV_RESULT_LAST) {
        bad = "RESULT";
    } else if ((s->int_enable | s->int_status) & ~TESTDEV_INT_DONE) {
        bad = "the interrupt registers";
    } else if (s->original && (s->copy_irq || s->int_enable ||
                               s->int_status)) {
        bad = "interrupts, which x-original devices have none of";
    } else if (s->original && ((s->srcaddr | s->dstaddr | s->size |
                                s->busy_delay_ms | s->copy_src |
                                s->copy_dst | s->copy_size) >> 32)) {
        bad = "registers above 32 bits on an x-original device";
    }
    if (bad) {
        error_report("%s: invalid migration state: %s", TYPE_PCIE_TESTDEV,
                     bad);
        return -EINVAL;
    }
    if (busy) {
        s->copy_deadline = MIN(s->copy_deadline, latest);
    }
    if (s->aggressive) {
        s->aggr_deadline = MIN(s->aggr_deadline, latest);
    }
    if (s->scanning) {
        s->scan_deadline = MIN(s->scan_deadline, latest);
    }
    /*
     * A snapshot load may have taken the clock back: the timeline is
     * free from now.
     */
    pcie_testdev_free_at = MIN(pcie_testdev_free_at,
                               qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    pcie_testdev_update_intx(s);
    pcie_testdev_rearm(s);
    /* The translation cache is not migrated: it asks the IOMMU afresh. */
    pcie_testdev_atc_flush(s);
    return 0;
}

static bool pcie_testdev_failed_needed(void *opaque)
{
    PCIeTestdevState *s = opaque;

    return s->failed;
}

static const VMStateDescription vmstate_pcie_testdev_failed = {
    .name = TYPE_PCIE_TESTDEV "/failed",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = pcie_testdev_failed_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(failed, PCIeTestdevState),
        VMSTATE_END_OF_LIST()
    },
};

static bool pcie_testdev_scan_needed(void *opaque)
{
    PCIeTestdevState *s = opaque;

    return s->scan_seq || s->scan_start || s->scan_pages || s->scan_canary;
}

static const VMStateDescription vmstate_pcie_testdev_scan = {
    .name = TYPE_PCIE_TESTDEV "/scan",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = pcie_testdev_scan_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(scan_start, PCIeTestdevState),
        VMSTATE_UINT64(scan_pages, PCIeTestdevState),
        VMSTATE_UINT64(scan_canary, PCIeTestdevState),
        VMSTATE_BOOL(scanning, PCIeTestdevState),
        VMSTATE_UINT64(scan_seq, PCIeTestdevState),
        VMSTATE_UINT64(scan_readable, PCIeTestdevState),
        VMSTATE_UINT64(scan_writable, PCIeTestdevState),
        VMSTATE_UINT64(scan_canaries, PCIeTestdevState),
        VMSTATE_UINT64(scan_next, PCIeTestdevState),
        VMSTATE_UINT64(scan_left, PCIeTestdevState),
        VMSTATE_INT64(scan_deadline, PCIeTestdevState),
        VMSTATE_UINT64(run_start, PCIeTestdevState),
        VMSTATE_UINT64(run_pages, PCIeTestdevState),
        VMSTATE_UINT32(run_access, PCIeTestdevState),
        VMSTATE_BOOL(run_ram, PCIeTestdevState),
        VMSTATE_UINT32(scan_canary_traces, PCIeTestdevState),
        VMSTATE_END_OF_LIST()
    },
};

/* With ats=on, always: the counters are registers. */
static bool pcie_testdev_ats_needed(void *opaque)
{
    PCIeTestdevState *s = opaque;

    return s->ats;
}

/* Sent only with ats=on: a device without ATS has no such counters. */
static int pcie_testdev_ats_post_load(void *opaque, int version_id)
{
    PCIeTestdevState *s = opaque;

    if (!s->ats) {
        error_report("%s: the migration stream has ATS counters, but this "
                     "device has ats=off", TYPE_PCIE_TESTDEV);
        return -EINVAL;
    }
    return 0;
}

static const VMStateDescription vmstate_pcie_testdev_ats = {
    .name = TYPE_PCIE_TESTDEV "/ats",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = pcie_testdev_ats_needed,
    .post_load = pcie_testdev_ats_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(ats_translations, PCIeTestdevState),
        VMSTATE_UINT64(ats_invalidations, PCIeTestdevState),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_pcie_testdev = {
    .name = TYPE_PCIE_TESTDEV,
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = pcie_testdev_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, PCIeTestdevState),
        VMSTATE_UINT64(srcaddr, PCIeTestdevState),
        VMSTATE_UINT64(dstaddr, PCIeTestdevState),
        VMSTATE_UINT64(size, PCIeTestdevState),
        VMSTATE_UINT64(busy_delay_ms, PCIeTestdevState),
        VMSTATE_UINT32(status, PCIeTestdevState),
        VMSTATE_UINT32(result, PCIeTestdevState),
        VMSTATE_BOOL(aggressive, PCIeTestdevState),
        VMSTATE_UINT64(copies, PCIeTestdevState),
        VMSTATE_UINT64(faults, PCIeTestdevState),
        VMSTATE_UINT32(int_enable, PCIeTestdevState),
        VMSTATE_UINT32(int_status, PCIeTestdevState),
        VMSTATE_UINT64(copy_src, PCIeTestdevState),
        VMSTATE_UINT64(copy_dst, PCIeTestdevState),
        VMSTATE_UINT64(copy_size, PCIeTestdevState),
        VMSTATE_BOOL(copy_irq, PCIeTestdevState),
        VMSTATE_INT64(copy_deadline, PCIeTestdevState),
        VMSTATE_INT64(aggr_deadline, PCIeTestdevState),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_pcie_testdev_failed,
        &vmstate_pcie_testdev_scan,
        &vmstate_pcie_testdev_ats,
        NULL
    },
};

static const Property pcie_testdev_properties[] = {
    DEFINE_PROP_BOOL("aggressive", PCIeTestdevState, prop_aggressive, false),
    DEFINE_PROP_UINT64("aggression_delay_ms", PCIeTestdevState,
                       aggression_delay_ms, 1000),
    DEFINE_PROP_UINT64("srcaddr", PCIeTestdevState, prop_srcaddr, 0),
    DEFINE_PROP_UINT64("dstaddr", PCIeTestdevState, prop_dstaddr, 0),
    DEFINE_PROP_UINT64("size", PCIeTestdevState, prop_size, 0),
    DEFINE_PROP_UINT64("busy_delay_ms", PCIeTestdevState, prop_busy_delay_ms,
                       0),
    DEFINE_PROP_SIZE("max_transfer_size", PCIeTestdevState, max_size,
                     TESTDEV_MAX_SIZE_DEFAULT),
    DEFINE_PROP_BOOL("x-original", PCIeTestdevState, original, false),
    DEFINE_PROP_BOOL("aer", PCIeTestdevState, aer, false),
    DEFINE_PROP_BOOL("ats", PCIeTestdevState, ats, false),
    DEFINE_PROP_BOOL("x-ats-keep-invalidated", PCIeTestdevState,
                     ats_keep_invalidated, false),
    DEFINE_PROP_UINT64("x-fail-after-copies", PCIeTestdevState,
                       fail_after_copies, 0),
    DEFINE_PROP_SIZE("x-dma-piece", PCIeTestdevState, dma_piece, 0),
};

static void pcie_testdev_class_init(ObjectClass *klass, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = pcie_testdev_realize;
    k->exit = pcie_testdev_exit;
    k->config_write = pcie_testdev_write_config;
    k->vendor_id = TESTDEV_VENDOR_ID;
    k->device_id = TESTDEV_DEVICE_ID;
    k->subsystem_vendor_id = TESTDEV_SUBSYS_VENDOR_ID;
    k->subsystem_id = TESTDEV_SUBSYS_ID;
    k->class_id = TESTDEV_CLASS;
    dc->desc = "PCI Express DMA test device";
    rc->phases.hold = pcie_testdev_reset_hold;
    dc->vmsd = &vmstate_pcie_testdev;
    device_class_set_props(dc, pcie_testdev_properties);
    object_class_property_set_description(klass, "aggressive",
        "start in aggressive mode: copy size bytes from srcaddr to dstaddr "
        "every aggression_delay_ms, with no driver");
    object_class_property_set_description(klass, "aggression_delay_ms",
        "virtual ms between aggressive copies (at least 1)");
    object_class_property_set_description(klass, "srcaddr",
        "power-on SRCADDR: the bus address copies read from");
    object_class_property_set_description(klass, "dstaddr",
        "power-on DSTADDR: the bus address copies write to");
    object_class_property_set_description(klass, "size",
        "power-on SIZE: bytes per copy");
    object_class_property_set_description(klass, "busy_delay_ms",
        "power-on BUSY_DELAY: virtual ms from doorbell to copy");
    object_class_property_set_description(klass, "max_transfer_size",
        "largest SIZE accepted (1 to 256M)");
    object_class_property_set_description(klass, "x-original",
        "the original fork's interface: 32-bit registers, no RESULT or "
        "later registers, no interrupt");
    object_class_property_set_description(klass, "aer",
        "an AER capability, for injecting PCIe errors");
    object_class_property_set_description(klass, "ats",
        "an ATS capability: once the guest enables it, copies translate "
        "through the device's own cache, which device-IOTLB invalidations "
        "empty");
    object_class_property_set_description(klass, "x-ats-keep-invalidated",
        "with ats=on, keep the translations the IOMMU invalidated and use "
        "them where it refuses a fresh one, as a rogue device may");
    object_class_property_set_description(klass, "x-dma-piece",
        "the most a copy between RAM moves at once, as an IOMMU's pages "
        "would split it (0: no limit)");
    object_class_property_set_description(klass, "x-fail-after-copies",
        "fail after this many copies, as a device gone from the bus with "
        "its INTx stuck, until reset (0: never)");
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo pcie_testdev_info = {
    .name = TYPE_PCIE_TESTDEV,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(PCIeTestdevState),
    .instance_init = pcie_testdev_init,
    .instance_finalize = pcie_testdev_finalize,
    .class_init = pcie_testdev_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_PCIE_DEVICE },
        { }
    },
};

static void pcie_testdev_register_types(void)
{
    type_register_static(&pcie_testdev_info);
}

type_init(pcie_testdev_register_types)
