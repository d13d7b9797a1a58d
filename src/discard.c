/* SPDX-License-Identifier: MIT */
/*
 * The common part of the discard managers (include/dmakit/discard.h): the
 * granule bitmap, replay, listener registration and the transactional
 * populate / discard notifications. virtio_mem.c and guest_memfd.c decide
 * WHEN granules change; this file tells the listeners.
 *
 * Invariants, true between calls:
 *   - bit i of the bitmap is 1 iff granule i (region bytes [i*g, (i+1)*g),
 *     the last one possibly short) is populated;
 *   - every registered listener holds (in its container) exactly the
 *     populated parts of its section: registration replays them, every
 *     change is notified before the bitmap changes, and a refused change is
 *     undone on the listeners already told.
 * The bitmap is never changed here: the managers change it after a
 * notification is accepted by every listener, so "undo" can always read
 * the state from before the change.
 */
#include <errno.h>
#include <string.h>

#include <dmakit/discard.h>

#include "alloc.h"
#include "guest_memory_internal.h"

/* ------------------------------------------------------------------------ */
/* Bitmap                                                                      */

int dmakit__dm_init(struct dmakit_discard_manager *dm, enum dmakit_discard_kind kind,
		    struct dmakit_memory_region *mr, uint64_t granularity)
{
	uint64_t words;

	memset(dm, 0, sizeof(*dm));
	if (!dmakit__is_pow2(granularity))
		return -EINVAL;
	dm->kind = kind;
	dm->mr = mr;
	dm->granularity = granularity;
	dm->nbits = mr->size / granularity + !!(mr->size % granularity);
	/* The bitmap is allocated whole: past the bound the managers
	 * document (discard.h), refuse rather than try to allocate. */
	if (dm->nbits > DMAKIT_DISCARD_MAX_GRANULES)
		return -EINVAL;
	words = (dm->nbits + 63) / 64;
	if (words > SIZE_MAX / sizeof(uint64_t))
		return -ENOMEM;
	dm->bitmap = dmakit__calloc((size_t)words, sizeof(uint64_t));
	return dm->bitmap ? 0 : -ENOMEM;
}

void dmakit__dm_fini(struct dmakit_discard_manager *dm)
{
	dmakit__free(dm->bitmap);
	dm->bitmap = NULL;
}

bool dmakit__bit_test(const struct dmakit_discard_manager *dm, uint64_t bit)
{
	return (dm->bitmap[bit / 64] >> (bit % 64)) & 1;
}

void dmakit__bits_set(struct dmakit_discard_manager *dm, uint64_t first, uint64_t count)
{
	uint64_t b;

	for (b = first; b < first + count; b++)
		dm->bitmap[b / 64] |= 1ull << (b % 64);
}

void dmakit__bits_clear(struct dmakit_discard_manager *dm, uint64_t first, uint64_t count)
{
	uint64_t b;

	for (b = first; b < first + count; b++)
		dm->bitmap[b / 64] &= ~(1ull << (b % 64));
}

/* The first bit in [from, limit) whose value is @want, or @limit. */
static uint64_t find_next(const struct dmakit_discard_manager *dm, uint64_t from,
			  uint64_t limit, bool want)
{
	uint64_t b = from;

	while (b < limit) {
		uint64_t word = dm->bitmap[b / 64];

		if (!want)
			word = ~word;
		word &= ~0ull << (b % 64);
		if (word) {
			uint64_t hit = (b & ~63ull) + (uint64_t)__builtin_ctzll(word);

			return hit < limit ? hit : limit;
		}
		b = (b & ~63ull) + 64;
	}
	return limit;
}

bool dmakit__bits_all(const struct dmakit_discard_manager *dm, uint64_t first, uint64_t count,
		      bool want)
{
	return find_next(dm, first, first + count, !want) == first + count;
}

uint64_t dmakit__bits_weight(const struct dmakit_discard_manager *dm)
{
	uint64_t w = 0, i;

	for (i = 0; i < (dm->nbits + 63) / 64; i++)
		w += (uint64_t)__builtin_popcountll(dm->bitmap[i]);
	return w;
}

/* ------------------------------------------------------------------------ */
/* Queries and replay                                                          */

DMAKIT_EXPORT enum dmakit_discard_kind
dmakit_discard_kind(const struct dmakit_discard_manager *dm)
{
	return dm->kind;
}

DMAKIT_EXPORT struct dmakit_memory_region *
dmakit_discard_region(const struct dmakit_discard_manager *dm)
{
	return dm->mr;
}

DMAKIT_EXPORT uint64_t dmakit_discard_granularity(const struct dmakit_discard_manager *dm)
{
	return dm->granularity;
}

static bool range_in_region(const struct dmakit_discard_manager *dm, uint64_t offset,
			    uint64_t size)
{
	uint64_t last;

	return size && !__builtin_add_overflow(offset, size - 1, &last) && last < dm->mr->size;
}

DMAKIT_EXPORT bool dmakit_discard_is_populated(const struct dmakit_discard_manager *dm,
					       uint64_t offset, uint64_t size)
{
	uint64_t first, last;

	if (!dm || !range_in_region(dm, offset, size))
		return false;
	first = offset / dm->granularity;
	last = (offset + size - 1) / dm->granularity;
	return dmakit__bits_all(dm, first, last - first + 1, true);
}

static int replay(const struct dmakit_discard_manager *dm, uint64_t offset, uint64_t size,
		  bool want, dmakit_discard_replay_fn fn, void *opaque)
{
	uint64_t g = dm->granularity, end = offset + size, limit, b;

	if (!range_in_region(dm, offset, size))
		return -EINVAL;
	limit = (end - 1) / g + 1;
	b = find_next(dm, offset / g, limit, want);
	while (b < limit) {
		uint64_t e = find_next(dm, b + 1, limit, !want);
		uint64_t start = b * g, stop = e * g;
		int ret;

		if (start < offset)
			start = offset;
		if (stop > end)
			stop = end;
		ret = fn(opaque, start, stop - start);
		if (ret)
			return ret;
		b = find_next(dm, e, limit, want);
	}
	return 0;
}

DMAKIT_EXPORT int dmakit_discard_replay_populated(const struct dmakit_discard_manager *dm,
						  uint64_t offset, uint64_t size,
						  dmakit_discard_replay_fn fn, void *opaque)
{
	return replay(dm, offset, size, true, fn, opaque);
}

DMAKIT_EXPORT int dmakit_discard_replay_discarded(const struct dmakit_discard_manager *dm,
						  uint64_t offset, uint64_t size,
						  dmakit_discard_replay_fn fn, void *opaque)
{
	return replay(dm, offset, size, false, fn, opaque);
}

/* ------------------------------------------------------------------------ */
/* Listeners                                                                   */

/* The part of @s that shows region bytes [offset, offset + size); false if
 * there is none. */
static bool section_part(const struct dmakit_section *s, uint64_t offset, uint64_t size,
			 struct dmakit_section *part)
{
	uint64_t lo = offset, hi = offset + size; /* callers keep it below 2^64 */
	uint64_t slo = s->offset_in_region, shi = s->offset_in_region + s->size;

	if (lo < slo)
		lo = slo;
	if (hi > shi)
		hi = shi;
	if (lo >= hi)
		return false;
	*part = *s;
	part->offset_in_region = lo;
	part->gpa = s->gpa + (lo - slo);
	part->size = hi - lo;
	return true;
}

struct replay_ctx {
	struct dmakit_discard_listener *dl;
	char *err;
	size_t errlen;
};

static int replay_populate_cb(void *opaque, uint64_t offset, uint64_t size)
{
	struct replay_ctx *ctx = opaque;
	struct dmakit_section part;

	if (!section_part(&ctx->dl->section, offset, size, &part))
		return 0;
	return ctx->dl->populate(ctx->dl, &part, ctx->err, ctx->errlen);
}

/* Populate, on @dl, the populated runs of region bytes [offset, offset+size)
 * inside its section. */
static int repopulate(struct dmakit_discard_manager *dm, struct dmakit_discard_listener *dl,
		      uint64_t offset, uint64_t size, char *err, size_t errlen)
{
	struct replay_ctx ctx = { dl, err, errlen };
	struct dmakit_section part;

	if (!section_part(&dl->section, offset, size, &part))
		return 0;
	return replay(dm, part.offset_in_region, part.size, true, replay_populate_cb, &ctx);
}

DMAKIT_EXPORT int dmakit_discard_register_listener(struct dmakit_discard_manager *dm,
						   struct dmakit_discard_listener *dl,
						   char *err, size_t errlen)
{
	struct dmakit_discard_listener **tail;
	uint64_t last;
	int ret;

	if (!dm || !dl || !dl->populate || !dl->discard || dl->dm_ ||
	    dl->section.mr != dm->mr || !dl->section.size ||
	    __builtin_add_overflow(dl->section.offset_in_region, dl->section.size - 1, &last) ||
	    last >= dm->mr->size) {
		dmakit__errf(err, errlen, "invalid discard listener");
		return -EINVAL;
	}
	ret = repopulate(dm, dl, dl->section.offset_in_region, dl->section.size, err, errlen);
	if (ret < 0) {
		/* Whatever the replay mapped goes, in one discard. */
		dl->discard(dl, &dl->section, NULL, 0);
		return ret;
	}
	dl->dm_ = dm;
	dl->next_ = NULL;
	for (tail = &dm->listeners; *tail; tail = &(*tail)->next_)
		;
	*tail = dl;
	return 0;
}

void dmakit__dm_drop_listener(struct dmakit_discard_listener *dl)
{
	struct dmakit_discard_listener **pp;

	if (!dl || !dl->dm_)
		return;
	for (pp = &dl->dm_->listeners; *pp; pp = &(*pp)->next_) {
		if (*pp == dl) {
			*pp = dl->next_;
			break;
		}
	}
	dl->dm_ = NULL;
	dl->next_ = NULL;
}

DMAKIT_EXPORT int dmakit_discard_unregister_listener(struct dmakit_discard_listener *dl,
						     char *err, size_t errlen)
{
	int ret;

	if (!dl || !dl->dm_)
		return -EINVAL;
	ret = dl->discard(dl, &dl->section, err, errlen);
	if (ret < 0)
		return ret;
	dmakit__dm_drop_listener(dl);
	return 0;
}

unsigned int dmakit__dm_listener_count(const struct dmakit_discard_manager *dm)
{
	const struct dmakit_discard_listener *dl;
	unsigned int n = 0;

	for (dl = dm->listeners; dl; dl = dl->next_)
		n++;
	return n;
}

int dmakit__dm_notify_populate(struct dmakit_discard_manager *dm, uint64_t offset,
			       uint64_t size, char *err, size_t errlen)
{
	struct dmakit_discard_listener *dl, *undo;
	struct dmakit_section part;
	int ret;

	for (dl = dm->listeners; dl; dl = dl->next_) {
		if (!section_part(&dl->section, offset, size, &part))
			continue;
		ret = dl->populate(dl, &part, err, errlen);
		if (ret < 0) {
			for (undo = dm->listeners; undo != dl; undo = undo->next_)
				if (section_part(&undo->section, offset, size, &part))
					undo->discard(undo, &part, NULL, 0);
			return ret;
		}
	}
	return 0;
}

int dmakit__dm_notify_discard(struct dmakit_discard_manager *dm, uint64_t offset,
			      uint64_t size, char *err, size_t errlen)
{
	struct dmakit_discard_listener *dl, *undo;
	struct dmakit_section part;
	int ret;

	for (dl = dm->listeners; dl; dl = dl->next_) {
		if (!section_part(&dl->section, offset, size, &part))
			continue;
		ret = dl->discard(dl, &part, err, errlen);
		if (ret < 0) {
			for (undo = dm->listeners; undo != dl; undo = undo->next_)
				repopulate(dm, undo, offset, size, NULL, 0);
			return ret;
		}
	}
	return 0;
}

int dmakit__dm_notify_discard_all(struct dmakit_discard_manager *dm, char *err, size_t errlen)
{
	struct dmakit_discard_listener *dl, *undo;
	int ret;

	for (dl = dm->listeners; dl; dl = dl->next_) {
		ret = dl->discard(dl, &dl->section, err, errlen);
		if (ret < 0) {
			for (undo = dm->listeners; undo != dl; undo = undo->next_)
				repopulate(dm, undo, undo->section.offset_in_region,
					   undo->section.size, NULL, 0);
			return ret;
		}
	}
	return 0;
}
