/* SPDX-License-Identifier: MIT */
/*
 * guest_memfd shared/private attributes as a discard manager
 * (include/dmakit/discard.h), after QEMU 10.1's RamBlockAttributes
 * (system/ram-block-attributes.c).
 *
 * Model: one bit per host page (4 KiB on x86) of a RAM region; 1 = shared
 * (populated, mapped for DMA), 0 = private (discarded). All private at
 * creation. The granularity is the host base page whatever backs the
 * region (the fix after 5d6483edaa92: hugetlbfs-backed shared memory).
 *
 * A conversion of [offset, offset + size) (kvm_convert_memory() ->
 * ram_block_attributes_state_change()):
 *   - already wholly in the target state: nothing is notified;
 *   - wholly in the other state: ONE notification for the whole range;
 *   - mixed: one notification per page that changes, ascending.
 * Differences from QEMU 10.1, on failure only: QEMU sets the bits before
 * notifying and leaves them (and any listener other than the failing one)
 * half-converted; here the bitmap changes only when every notification was
 * accepted, and in the mixed case the pages already notified are notified
 * back, so a refused conversion changes nothing.
 *
 * Invariant: the shared pages are exactly the set bits, and every listener
 * holds exactly the shared parts of its section.
 */
#include <errno.h>
#include <string.h>

#include <dmakit/discard.h>

#include "alloc.h"
#include "guest_memory_internal.h"

struct dmakit_guest_memfd {
	struct dmakit_discard_manager dm;
};

DMAKIT_EXPORT int dmakit_guest_memfd_create(struct dmakit_memory_region *mr,
					    uint64_t host_page_size,
					    struct dmakit_guest_memfd **out)
{
	struct dmakit_guest_memfd *gm;
	uint64_t page = host_page_size ? host_page_size : 4096;
	int ret;

	if (!mr || !out || mr->kind != DMAKIT_MR_RAM || !dmakit__is_pow2(page) || page < 4096)
		return -EINVAL;
	if (mr->dm || mr->nr_sections)
		return -EBUSY;
	/* One bit per page, allocated whole: bounded like virtio-mem's bitmap. */
	if (mr->size / page > DMAKIT_DISCARD_MAX_GRANULES)
		return -EINVAL;
	gm = dmakit__calloc(1, sizeof(*gm));
	if (!gm)
		return -ENOMEM;
	ret = dmakit__dm_init(&gm->dm, DMAKIT_DISCARD_GUEST_MEMFD, mr, page);
	if (ret < 0) {
		dmakit__free(gm);
		return ret;
	}
	mr->dm = &gm->dm;
	*out = gm;
	return 0;
}

DMAKIT_EXPORT int dmakit_guest_memfd_destroy(struct dmakit_guest_memfd *gm)
{
	if (!gm)
		return 0;
	if (gm->dm.listeners || gm->dm.mr->nr_sections)
		return -EBUSY;
	gm->dm.mr->dm = NULL;
	dmakit__dm_fini(&gm->dm);
	dmakit__free(gm);
	return 0;
}

/* Mixed case, after a refusal at page @upto: the pages of [first, upto)
 * that were notified get the reverse notification. */
static void mixed_undo(struct dmakit_guest_memfd *gm, uint64_t first, uint64_t upto,
		       bool to_private)
{
	uint64_t g = gm->dm.granularity, b;

	for (b = first; b < upto; b++) {
		/* The bitmap is unchanged: the pages notified are those whose bit
		 * shows the state they were converted from. */
		if (dmakit__bit_test(&gm->dm, b) != to_private)
			continue;
		if (to_private)
			dmakit__dm_notify_populate(&gm->dm, b * g, g, NULL, 0);
		else
			dmakit__dm_notify_discard(&gm->dm, b * g, g, NULL, 0);
	}
}

DMAKIT_EXPORT int dmakit_guest_memfd_convert(struct dmakit_guest_memfd *gm, uint64_t offset,
					     uint64_t size, bool to_private,
					     struct dmakit_gmfd_result *res,
					     char *err, size_t errlen)
{
	struct dmakit_gmfd_result local;
	uint64_t g, first, count, b, end;
	int ret;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (!gm)
		return -EINVAL;
	g = gm->dm.granularity;
	if ((offset | size) & (g - 1) || __builtin_add_overflow(offset, size, &end) ||
	    end <= offset || end > gm->dm.mr->size) {
		dmakit__errf(err, errlen, "invalid conversion range [0x%llx, +0x%llx) of %s",
			     (unsigned long long)offset, (unsigned long long)size,
			     gm->dm.mr->name);
		return -EINVAL;
	}
	first = offset / g;
	count = size / g;

	if (dmakit__bits_all(&gm->dm, first, count, !to_private)) {
		res->which = DMAKIT_GMFD_NOTHING;
		return 0;
	}
	if (dmakit__bits_all(&gm->dm, first, count, to_private)) {
		res->which = DMAKIT_GMFD_WHOLE;
		ret = to_private ? dmakit__dm_notify_discard(&gm->dm, offset, size, err, errlen)
				 : dmakit__dm_notify_populate(&gm->dm, offset, size, err, errlen);
		if (ret < 0)
			goto failed;
		res->notifications = 1;
		res->pages_changed = count;
	} else {
		res->which = DMAKIT_GMFD_MIXED;
		for (b = first; b < first + count; b++) {
			if (dmakit__bit_test(&gm->dm, b) != to_private)
				continue;
			ret = to_private ? dmakit__dm_notify_discard(&gm->dm, b * g, g, err, errlen)
					 : dmakit__dm_notify_populate(&gm->dm, b * g, g, err, errlen);
			if (ret < 0) {
				mixed_undo(gm, first, b, to_private);
				goto failed;
			}
			res->notifications++;
			res->pages_changed++;
		}
	}
	if (to_private)
		dmakit__bits_clear(&gm->dm, first, count);
	else
		dmakit__bits_set(&gm->dm, first, count);
	return 0;

failed:
	res->notifications = 0;
	res->pages_changed = 0;
	dmakit__err_prefix(err, errlen, "Failed to notify the listener the state change of "
			   "(0x%llx + 0x%llx) to %s: ", (unsigned long long)offset,
			   (unsigned long long)size, to_private ? "private" : "shared");
	return ret;
}

DMAKIT_EXPORT bool dmakit_guest_memfd_is_shared(const struct dmakit_guest_memfd *gm,
						uint64_t offset, uint64_t size)
{
	return dmakit_discard_is_populated(&gm->dm, offset, size);
}

DMAKIT_EXPORT uint64_t dmakit_guest_memfd_shared_bytes(const struct dmakit_guest_memfd *gm)
{
	return dmakit__bits_weight(&gm->dm) * gm->dm.granularity;
}

DMAKIT_EXPORT struct dmakit_discard_manager *
dmakit_guest_memfd_manager(struct dmakit_guest_memfd *gm)
{
	return &gm->dm;
}
