/* SPDX-License-Identifier: MIT */
/*
 * dmakit range table: the engine under every container.
 *
 * A set of non-overlapping ranges of a 64-bit address space, each carrying one
 * 64-bit value. A range is [start, last], both INCLUSIVE, so a range may end at
 * UINT64_MAX; an empty range cannot be stored. Two ranges overlap when they
 * share at least one address; ranges that merely touch (a.last + 1 == b.start)
 * do not overlap and are never merged.
 *
 * Structure: a B+-tree keyed by `last`. Leaves hold the ranges in ascending
 * order in separate arrays (lasts, starts, values) so a search touches one
 * cache line of keys per step; inner nodes hold, for each child, the greatest
 * `last` below it. "Which range holds address x" is "the first range whose
 * last >= x, if its start <= x": one root-to-leaf descent. A one-entry
 * last-hit cache answers repeated look-ups in the same leaf without a descent.
 * See docs/engine.md for the sizes and the measurements.
 *
 * Costs: insert, remove and find are O(log n); iteration is O(1) per range;
 * memory is 26.5 bytes per range when filled in ascending order and about 38
 * when filled at random (node headers and partly filled leaves included).
 *
 * Thread safety: none inside; a table is owned by one thread at a time (the
 * container above it holds the lock). Even find(), first_overlap() and
 * set_value() write (the last-hit cache), so concurrent readers need
 * exclusive access too (find_batch() as well); seek() and next() do not
 * write.
 */
#ifndef DMAKIT_RANGE_TABLE_H
#define DMAKIT_RANGE_TABLE_H

#include <dmakit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dmakit_range {
	uint64_t start; /* first address, inclusive */
	uint64_t last;  /* last address, inclusive; start <= last */
	uint64_t value; /* the caller's payload */
};

struct dmakit_range_table;

/**
 * dmakit_range_table_create() - an empty table.
 * @returns the table, or NULL when memory is short.
 */
DMAKIT_EXPORT struct dmakit_range_table *dmakit_range_table_create(void);

/** dmakit_range_table_destroy() - free the table and every range; NULL is fine. */
DMAKIT_EXPORT void dmakit_range_table_destroy(struct dmakit_range_table *table);

/**
 * dmakit_range_table_insert() - add [start, last] with @value.
 * @returns 0; -EINVAL if last < start; -EEXIST if the range overlaps one in
 * the table; -ENOMEM if a node could not be allocated. On any error the table
 * is unchanged.
 */
DMAKIT_EXPORT int dmakit_range_table_insert(struct dmakit_range_table *table,
					    uint64_t start, uint64_t last,
					    uint64_t value);

/**
 * dmakit_range_table_find() - the range that holds @addr.
 * @out: filled when found; may be NULL.
 * @returns 0, or -ENOENT when no range holds @addr.
 */
DMAKIT_EXPORT int dmakit_range_table_find(struct dmakit_range_table *table,
					  uint64_t addr,
					  struct dmakit_range *out);

/**
 * dmakit_range_table_find_batch() - dmakit_range_table_find() for @n
 * addresses at once: what a device model translating a scatter-gather list
 * calls. The answers are exactly those of @n calls of find(); the batch is
 * faster because the look-ups descend the tree in step and their cache
 * misses overlap instead of following one another.
 * @addrs: @n addresses, in the table's units (bytes of IOVA space for the
 * containers), in any order; repeats are fine.
 * @n: how many; 0 does nothing.
 * @out: @n ranges, may be NULL. out[i] gets the range holding addrs[i]
 * (start and last both inclusive, and its value); on a miss out[i] is left
 * as it was.
 * @results: @n statuses, may be NULL: results[i] is 0 when addrs[i] was
 * found, -ENOENT when no range holds it (what find() would return).
 * @returns the number of addresses found (0 to @n; @n means no miss), or
 * -EINVAL when @table is NULL, @addrs is NULL with @n > 0, or @n exceeds
 * INT64_MAX (nothing is written then). Like find(), it writes the last-hit
 * cache.
 */
DMAKIT_EXPORT int64_t dmakit_range_table_find_batch(struct dmakit_range_table *table,
						    const uint64_t *addrs, size_t n,
						    struct dmakit_range *out,
						    int *results);

/**
 * dmakit_range_table_first_overlap() - the lowest range that overlaps
 * [start, last] (both inclusive).
 * @returns 0 with @out filled, -ENOENT when nothing overlaps, -EINVAL if
 * last < start.
 */
DMAKIT_EXPORT int dmakit_range_table_first_overlap(struct dmakit_range_table *table,
						   uint64_t start, uint64_t last,
						   struct dmakit_range *out);

/**
 * dmakit_range_table_set_value() - replace the value of the range that starts
 * exactly at @start.
 * @returns 0, or -ENOENT when no range starts at @start.
 */
DMAKIT_EXPORT int dmakit_range_table_set_value(struct dmakit_range_table *table,
					       uint64_t start, uint64_t value);

/**
 * dmakit_range_table_remove() - remove the range that starts exactly at @start.
 * @out: filled with the removed range; may be NULL.
 * @returns 0, or -ENOENT when no range starts at @start. Removal never
 * allocates, so it cannot fail for lack of memory.
 */
DMAKIT_EXPORT int dmakit_range_table_remove(struct dmakit_range_table *table,
					    uint64_t start,
					    struct dmakit_range *out);

/**
 * dmakit_range_table_remove_inside() - remove every range that lies wholly
 * inside [start, last] (both inclusive); ranges that only partly overlap stay.
 * @removed_cb: called once per removed range, in ascending order, after it has
 * left the table; may be NULL. It must not touch the table.
 * @returns the number of ranges removed, or -EINVAL if last < start.
 */
DMAKIT_EXPORT int64_t dmakit_range_table_remove_inside(
	struct dmakit_range_table *table, uint64_t start, uint64_t last,
	void (*removed_cb)(void *ctx, const struct dmakit_range *range),
	void *ctx);

/** dmakit_range_table_count() - the number of ranges in the table. */
DMAKIT_EXPORT size_t dmakit_range_table_count(const struct dmakit_range_table *table);

/**
 * dmakit_range_table_memory() - bytes of heap the table holds (nodes and the
 * table itself), for the bytes-per-mapping figures.
 */
DMAKIT_EXPORT size_t dmakit_range_table_memory(const struct dmakit_range_table *table);

/*
 * Ordered iteration. A cursor is valid until the table is next modified;
 * modifying the table while iterating needs a new cursor (seek again).
 */
struct dmakit_range_cursor {
	const struct dmakit_range_table *table;
	const void *leaf;  /* private */
	unsigned int slot; /* private */
};

/**
 * dmakit_range_table_seek() - point @cursor at the first range whose last >=
 * @addr (the range holding @addr, or the next one above it).
 * @returns 0 with @out filled, or -ENOENT when there is no such range.
 */
DMAKIT_EXPORT int dmakit_range_table_seek(const struct dmakit_range_table *table,
					  uint64_t addr,
					  struct dmakit_range_cursor *cursor,
					  struct dmakit_range *out);

/**
 * dmakit_range_table_next() - advance @cursor to the next range in ascending
 * order.
 * @returns 0 with @out filled, or -ENOENT past the last range.
 */
DMAKIT_EXPORT int dmakit_range_table_next(struct dmakit_range_cursor *cursor,
					  struct dmakit_range *out);

/**
 * dmakit_range_table_check() - verify every invariant of the tree (order,
 * no overlap, node fill, separator keys, counts). For tests and fuzzers.
 * @returns 0, -EUCLEAN when the table is corrupt, -EINVAL for NULL.
 */
DMAKIT_EXPORT int dmakit_range_table_check(const struct dmakit_range_table *table);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_RANGE_TABLE_H */
