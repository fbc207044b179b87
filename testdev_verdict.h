/* SPDX-License-Identifier: GPL-2.0-or-later WITH Linux-syscall-note */
/*
 * How a test copy ended, in one vocabulary: the bytes a test copy's source
 * and destination hold before it, the verdicts and their names, and the
 * rule that judges a copy by the device's RESULT and the data together.
 * Shared by testdev_driver (its two transfers at probe) and the tools
 * (testdevctl audit, the selftests); tests/audit-expected.txt, the one
 * table of what each IOMMU configuration must do, is written in these
 * names. Plain C for the kernel and user space alike: no includes but the
 * register map, no types but int.
 */
#ifndef TESTDEV_VERDICT_H
#define TESTDEV_VERDICT_H

#include "testdev_regs.h"

/* What the source and the destination of a test copy hold before it. */
#define TESTDEV_SRC_FILL	0x5a
#define TESTDEV_DST_FILL	0xc3

enum testdev_verdict {
	/* It landed: RESULT ok, the destination holds the source. */
	TESTDEV_VERDICT_ALLOWED,
	/* It faulted (src-fault, dst-fault), the destination untouched. */
	TESTDEV_VERDICT_BLOCKED,
	/* RESULT ok, the destination untouched: the device wrote a bounce buffer. */
	TESTDEV_VERDICT_BOUNCED,
	/* Bytes beside a sub-page mapping came out (the rest of its page). */
	TESTDEV_VERDICT_LEAKS,
	/* Bytes past a bounced mapping came out: the swiotlb pool. */
	TESTDEV_VERDICT_LEAKS_BOUNCE,
	/* A rogue device's DMA landed until translation came on, then faulted. */
	TESTDEV_VERDICT_LANDS_EARLY,
	/* A rogue device made no copy before the driver stopped it. */
	TESTDEV_VERDICT_IDLE,
	/* RESULT and the data disagree. */
	TESTDEV_VERDICT_INCONSISTENT,
	/* The copy was refused, or one a scenario starts with did not land. */
	TESTDEV_VERDICT_ERROR,
	/* The copy or scenario could not run. */
	TESTDEV_VERDICT_SKIP,
	TESTDEV_VERDICT_COUNT
};

/* The verdicts' names, indexed by verdict, for logs, tools and tables. */
#define TESTDEV_VERDICT_NAMES { \
	[TESTDEV_VERDICT_ALLOWED] = "allowed", \
	[TESTDEV_VERDICT_BLOCKED] = "blocked", \
	[TESTDEV_VERDICT_BOUNCED] = "bounced", \
	[TESTDEV_VERDICT_LEAKS] = "leaks", \
	[TESTDEV_VERDICT_LEAKS_BOUNCE] = "leaks-bounce", \
	[TESTDEV_VERDICT_LANDS_EARLY] = "lands-early", \
	[TESTDEV_VERDICT_IDLE] = "idle", \
	[TESTDEV_VERDICT_INCONSISTENT] = "inconsistent", \
	[TESTDEV_VERDICT_ERROR] = "error", \
	[TESTDEV_VERDICT_SKIP] = "skip", \
}

static inline const char *testdev_verdict_name(enum testdev_verdict v)
{
	static const char *const names[TESTDEV_VERDICT_COUNT] =
		TESTDEV_VERDICT_NAMES;

	return (unsigned int)v < TESTDEV_VERDICT_COUNT ? names[v] : "unknown";
}

/*
 * A copy's verdict by RESULT and the data together. landed: the
 * destination holds the source's bytes; untouched: it still holds
 * TESTDEV_DST_FILL. Without a RESULT (has_result 0: the original device
 * reads 0 there) the data alone decides.
 */
static inline enum testdev_verdict testdev_judge(int has_result,
						 unsigned int result,
						 int landed, int untouched)
{
	int ok = !has_result || result == TESTDEV_RESULT_OK;
	int fault = !has_result || result == TESTDEV_RESULT_SRC_FAULT ||
		    result == TESTDEV_RESULT_DST_FAULT;

	if (ok && landed)
		return TESTDEV_VERDICT_ALLOWED;
	/* The device wrote a bounce buffer the CPU never copies back. */
	if (has_result && ok && untouched)
		return TESTDEV_VERDICT_BOUNCED;
	if (fault && untouched)
		return TESTDEV_VERDICT_BLOCKED;
	return TESTDEV_VERDICT_INCONSISTENT;
}

#endif
