/* SPDX-License-Identifier: MIT */
/*
 * Per-thread fault injection (include/dmakit/fault.h). The library's
 * allocation wrappers (alloc.c) and the container front (container.c) ask
 * dmakit__fault_check() before each event.
 */
#include <errno.h>

#include <dmakit/fault.h>

#include "fault_internal.h"

#define NR_POINTS 2

struct fault_state {
	bool armed;
	bool fired;
	uint64_t count;
	uint64_t nth;
	int err;
};

static _Thread_local struct fault_state faults[NR_POINTS];

DMAKIT_EXPORT void dmakit_fault_arm(enum dmakit_fault_point point, uint64_t nth, int err)
{
	if ((unsigned int)point >= NR_POINTS)
		return;
	faults[point] = (struct fault_state){ .armed = true, .nth = nth, .err = err > 0 ? err : -err };
}

DMAKIT_EXPORT void dmakit_fault_disarm(enum dmakit_fault_point point)
{
	if ((unsigned int)point < NR_POINTS)
		faults[point].armed = false;
}

DMAKIT_EXPORT uint64_t dmakit_fault_count(enum dmakit_fault_point point)
{
	return (unsigned int)point < NR_POINTS ? faults[point].count : 0;
}

DMAKIT_EXPORT bool dmakit_fault_fired(enum dmakit_fault_point point)
{
	return (unsigned int)point < NR_POINTS && faults[point].fired;
}

int dmakit__fault_check(enum dmakit_fault_point point)
{
	struct fault_state *f = &faults[point];

	if (!f->armed)
		return 0;
	f->count++;
	if (f->nth && f->count == f->nth) {
		f->fired = true;
		return point == DMAKIT_FAULT_ALLOC ? -ENOMEM : -(f->err ? f->err : EIO);
	}
	return 0;
}
