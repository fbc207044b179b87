/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pcie-testdev register map: the one definition of the device's identity,
 * registers, bits and result codes. The QEMU device model, the Linux
 * driver, the user tools and the tests all include this file, so it holds
 * plain macros only (no types, no includes).
 *
 * Register lines follow the form
 *   #define TESTDEV_REG_<NAME> <offset> // <access>: <meaning>
 * (as a C comment); scripts/regs-table turns them into the README's table.
 */
#ifndef TESTDEV_REGS_H
#define TESTDEV_REGS_H

/* Identity, as the original QEMU fork defines it. */
#define TESTDEV_VENDOR_ID		0x1ae0
#define TESTDEV_DEVICE_ID		0x006b
#define TESTDEV_SUBSYS_VENDOR_ID	0x1ae0
#define TESTDEV_SUBSYS_ID		0x00be
/* 16-bit class id: base class 0x00, subclass 0xff ("Unclassified device"). */
#define TESTDEV_CLASS			0x00ff

/* All registers live in BAR0: 64 KiB, memory, 64-bit, prefetchable. */
#define TESTDEV_BAR			0
#define TESTDEV_BAR_SIZE		0x10000

/*
 * Registers: little endian, one 64-bit slot each. 8-byte accesses read or
 * write a whole register; 4-byte accesses read or write one half. A 4-byte
 * write to the low half clears the high half, so a driver that only writes
 * 32 bits (like the original one) sets the whole register; write the low
 * half first, then the high half. Unlisted offsets read as 0 and ignore
 * writes.
 */
#define TESTDEV_REG_SRCADDR	0x00 /* RW: DMA source bus address (an IOVA under an IOMMU) */
#define TESTDEV_REG_DSTADDR	0x08 /* RW: DMA destination bus address */
#define TESTDEV_REG_SIZE	0x10 /* RW: bytes to copy, 1 to MAX_SIZE */
#define TESTDEV_REG_DOORBELL	0x18 /* W: bit 0 starts a copy, unless one is pending */
#define TESTDEV_REG_STATUS	0x20 /* R: 1 while a copy is pending, 0 when idle */
#define TESTDEV_REG_BUSY_DELAY	0x28 /* RW: ms of virtual time from doorbell to copy */
#define TESTDEV_REG_AGGRESSIVE	0x30 /* RW: 1 starts aggressive mode, 0 stops it */
#define TESTDEV_REG_RESULT	0x38 /* R: how the last doorbell copy ended */
#define TESTDEV_REG_COPIES	0x40 /* R: copies that landed, doorbell and aggressive */
#define TESTDEV_REG_FAULTS	0x48 /* R: copies whose DMA faulted */
#define TESTDEV_REG_MAX_SIZE	0x50 /* R: the largest SIZE the device accepts */
#define TESTDEV_REG_INT_ENABLE	0x58 /* RW: bit 0 interrupts at the end of every copy */
#define TESTDEV_REG_INT_STATUS	0x60 /* R: bit 0 a copy that asked for it has ended */
#define TESTDEV_REG_INT_ACK	0x68 /* W: clears the INT_STATUS bits written as 1 */
#define TESTDEV_REG_SCAN_START	0x70 /* RW: first bus address of a reachability scan */
#define TESTDEV_REG_SCAN_PAGES	0x78 /* RW: 4 KiB pages to scan, 1 to SCAN_MAX_PAGES */
#define TESTDEV_REG_SCAN_CANARY	0x80 /* RW: 8 bytes to look for in readable RAM; 0 reads none */
#define TESTDEV_REG_SCAN_CTRL	0x88 /* RW: 1 starts a scan, 0 stops it; reads 1 while it runs */
#define TESTDEV_REG_SCAN_SEQ	0x90 /* R: scans started since reset */
#define TESTDEV_REG_SCAN_READABLE 0x98 /* R: pages the last scan could read */
#define TESTDEV_REG_SCAN_WRITABLE 0xa0 /* R: pages the last scan could write */
#define TESTDEV_REG_SCAN_CANARIES 0xa8 /* R: readable RAM pages holding SCAN_CANARY */
#define TESTDEV_REG_ATS_TRANSLATIONS 0xb0 /* R: ATS translation requests sent (ats=on) */
#define TESTDEV_REG_ATS_INVALIDATIONS 0xb8 /* R: device-IOTLB invalidations received (ats=on) */
#define TESTDEV_REG_END		0xc0

/* Bits. */
#define TESTDEV_DOORBELL_START	0x1
#define TESTDEV_DOORBELL_IRQ	0x2	/* interrupt at the end of this copy */
#define TESTDEV_STATUS_BUSY	0x1
#define TESTDEV_AGGRESSIVE_ON	0x1
#define TESTDEV_INT_DONE	0x1	/* INT_ENABLE, INT_STATUS, INT_ACK */
#define TESTDEV_SCAN_RUN	0x1	/* SCAN_CTRL */

/* RESULT codes. */
#define TESTDEV_RESULT_OK		0x00 /* the copy landed */
#define TESTDEV_RESULT_SRC_FAULT	0x01 /* reading the source faulted; nothing written */
#define TESTDEV_RESULT_DST_FAULT	0x02 /* writing the destination faulted; it is untouched */
#define TESTDEV_RESULT_BAD_SIZE		0x03 /* SIZE was 0 or above MAX_SIZE; nothing copied */
#define TESTDEV_RESULT_NONE		0x04 /* none since reset, or a copy is pending */
/* The destination passed the check, then MMIO in it failed: partly written. */
#define TESTDEV_RESULT_DST_PARTIAL	0x05
#define TESTDEV_RESULT_LAST		TESTDEV_RESULT_DST_PARTIAL

/* Names for the result codes, indexed by code, for logs and tools. */
#define TESTDEV_RESULT_NAMES { \
	[TESTDEV_RESULT_OK] = "ok", \
	[TESTDEV_RESULT_SRC_FAULT] = "src-fault", \
	[TESTDEV_RESULT_DST_FAULT] = "dst-fault", \
	[TESTDEV_RESULT_BAD_SIZE] = "bad-size", \
	[TESTDEV_RESULT_NONE] = "none", \
	[TESTDEV_RESULT_DST_PARTIAL] = "dst-partial", \
}

/* Device limits (the QEMU properties' defaults and bounds). */
#define TESTDEV_MAX_SIZE_DEFAULT	0x100000ULL	/* 1 MiB */
#define TESTDEV_MAX_SIZE_LIMIT		0x10000000ULL	/* 256 MiB */
#define TESTDEV_MAX_DELAY_MS		3600000ULL	/* delays are capped at 1 h */
#define TESTDEV_MIN_AGGRESSION_MS	1ULL		/* aggressive copies at most every 1 ms */
#define TESTDEV_MIN_COPY_DELAY_NS	1000ULL		/* a copy runs >= 1 us after its doorbell */
#define TESTDEV_MAX_MMIO_COPY		0x10000ULL	/* copies that reach MMIO: 64 KiB at most */
/*
 * The copies of all devices in one QEMU take turns: each takes 10 us of
 * virtual time plus its bytes at 2 GiB/s, so together they make at most
 * 100,000 copies, or 2 GiB, per second of virtual time.
 */
#define TESTDEV_SHARED_COPY_NS		10000ULL
#define TESTDEV_SHARED_BYTES_PER_SEC	0x80000000ULL
/*
 * The reachability scan (SCAN_*) probes bus addresses as a rogue device
 * would, a page at a time, for reads and writes through the same DMA path
 * as copies, writing nothing. It takes turns on the same timeline: each
 * turn probes SCAN_PAGES_PER_TURN pages and costs what a copy of their
 * bytes does. Where SCAN_CANARY is not 0, each readable RAM page is read,
 * and a page holding it at an 8-byte aligned offset counts; the 8 bytes
 * after it are a tag the device reports to the host.
 */
#define TESTDEV_SCAN_PAGE_SIZE		0x1000ULL
#define TESTDEV_SCAN_MAX_PAGES		0x1000000ULL	/* 64 GiB */
#define TESTDEV_SCAN_PAGES_PER_TURN	256ULL
/*
 * With ats=on the device has an ATS extended capability; once the guest
 * enables it, copies translate each 4 KiB page through the device's own
 * translation cache (ATS_CACHE_ENTRIES translations, asking the IOMMU on
 * a miss) and go to the translated addresses, which the IOMMU does not
 * check again. Device-IOTLB invalidations drop what they cover (unless
 * x-ats-keep-invalidated=on: a rogue device keeps them, and reads
 * through them where the IOMMU refuses a fresh translation).
 */
#define TESTDEV_ATS_CACHE_ENTRIES	16

#endif /* TESTDEV_REGS_H */
