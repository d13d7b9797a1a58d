/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the range table (src/range_table.c).
 *
 * The edge cases are spelled out one by one; the randomized test replays a
 * fixed-seed mix of every operation against a deliberately simple model (a
 * sorted array searched linearly) and compares each result, the whole
 * content, and the tree's own invariant check as it goes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dmakit/fault.h>
#include <dmakit/range_table.h>

#include "range_table_internal.h"

#define KIB 1024ULL

/* ---- helpers ------------------------------------------------------------ */

/* splitmix64: a small, fixed, portable generator for reproducible runs. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A number in [0, bound), bound > 0. */
static uint64_t rng_below(uint64_t *state, uint64_t bound)
{
	return rng_next(state) % bound;
}

static struct dmakit_range_table *new_table(void)
{
	struct dmakit_range_table *table = dmakit_range_table_create();

	assert_non_null(table);
	return table;
}

static void assert_range(const struct dmakit_range *range, uint64_t start,
			 uint64_t last, uint64_t value)
{
	assert_int_equal(range->start, start);
	assert_int_equal(range->last, last);
	assert_int_equal(range->value, value);
}

static void assert_find(struct dmakit_range_table *table, uint64_t addr,
			uint64_t start, uint64_t last, uint64_t value)
{
	struct dmakit_range range;

	memset(&range, 0xa5, sizeof(range));
	assert_int_equal(dmakit_range_table_find(table, addr, &range), 0);
	assert_range(&range, start, last, value);
}

static void assert_no_find(struct dmakit_range_table *table, uint64_t addr)
{
	struct dmakit_range range;

	assert_int_equal(dmakit_range_table_find(table, addr, &range), -ENOENT);
}

/* Collects what remove_inside() reports. */
struct removed_log {
	struct dmakit_range *ranges;
	size_t count;
	size_t capacity;
	const struct dmakit_range_table *table; /* to check "has left" */
};

static void removed_log_cb(void *ctx, const struct dmakit_range *range)
{
	struct removed_log *log = ctx;
	struct dmakit_range_cursor cursor;
	struct dmakit_range found;

	/* The range has already left the table when we hear of it. */
	if (log->table &&
	    dmakit_range_table_seek(log->table, range->start, &cursor, &found) == 0)
		assert_true(found.start != range->start);
	if (log->count == log->capacity) {
		log->capacity = log->capacity ? 2 * log->capacity : 64;
		log->ranges = realloc(log->ranges,
				      log->capacity * sizeof(*log->ranges));
		assert_non_null(log->ranges);
	}
	log->ranges[log->count++] = *range;
}

static void removed_log_reset(struct removed_log *log)
{
	log->count = 0;
}

/* ---- edge cases --------------------------------------------------------- */

static void test_empty_table(void **state)
{
	struct dmakit_range_table *table = new_table();
	struct dmakit_range_cursor cursor;
	struct dmakit_range range;

	(void)state;
	assert_int_equal(dmakit_range_table_count(table), 0);
	assert_true(dmakit_range_table_memory(table) > 0);
	assert_int_equal(dmakit_range_table_check(table), 0);
	assert_no_find(table, 0);
	assert_no_find(table, UINT64_MAX);
	assert_int_equal(dmakit_range_table_first_overlap(table, 0, UINT64_MAX, &range),
			 -ENOENT);
	assert_int_equal(dmakit_range_table_set_value(table, 0, 1), -ENOENT);
	assert_int_equal(dmakit_range_table_remove(table, 0, &range), -ENOENT);
	assert_int_equal(dmakit_range_table_remove_inside(table, 0, UINT64_MAX,
							  NULL, NULL), 0);
	assert_int_equal(dmakit_range_table_seek(table, 0, &cursor, &range), -ENOENT);
	assert_int_equal(dmakit_range_table_next(&cursor, &range), -ENOENT);
	dmakit_range_table_destroy(table);
	dmakit_range_table_destroy(NULL);
}

static void test_null_table(void **state)
{
	struct dmakit_range range;
	struct dmakit_range_cursor cursor;

	(void)state;
	assert_int_equal(dmakit_range_table_insert(NULL, 0, 1, 0), -EINVAL);
	assert_int_equal(dmakit_range_table_find(NULL, 0, &range), -EINVAL);
	assert_int_equal(dmakit_range_table_first_overlap(NULL, 0, 1, &range), -EINVAL);
	assert_int_equal(dmakit_range_table_set_value(NULL, 0, 1), -EINVAL);
	assert_int_equal(dmakit_range_table_remove(NULL, 0, &range), -EINVAL);
	assert_int_equal(dmakit_range_table_remove_inside(NULL, 0, 1, NULL, NULL),
			 -EINVAL);
	assert_int_equal(dmakit_range_table_count(NULL), 0);
	assert_int_equal(dmakit_range_table_memory(NULL), 0);
	assert_int_equal(dmakit_range_table_seek(NULL, 0, &cursor, &range), -EINVAL);
	assert_int_equal(dmakit_range_table_next(NULL, &range), -EINVAL);
	assert_int_equal(dmakit_range_table_check(NULL), -EINVAL);
}

static void test_insert_overlap_and_touching(void **state)
{
	struct dmakit_range_table *table = new_table();
	struct dmakit_range_cursor cursor;
	struct dmakit_range range;

	(void)state;
	assert_int_equal(dmakit_range_table_insert(table, 100, 199, 1), 0);

	/* Every way of sharing at least one address is refused. */
	assert_int_equal(dmakit_range_table_insert(table, 100, 199, 2), -EEXIST);
	assert_int_equal(dmakit_range_table_insert(table, 50, 100, 2), -EEXIST);
	assert_int_equal(dmakit_range_table_insert(table, 199, 300, 2), -EEXIST);
	assert_int_equal(dmakit_range_table_insert(table, 150, 150, 2), -EEXIST);
	assert_int_equal(dmakit_range_table_insert(table, 120, 130, 2), -EEXIST);
	assert_int_equal(dmakit_range_table_insert(table, 0, UINT64_MAX, 2), -EEXIST);
	assert_int_equal(dmakit_range_table_insert(table, 99, 200, 2), -EEXIST);

	/* last < start is invalid, even where it would not overlap. */
	assert_int_equal(dmakit_range_table_insert(table, 1000, 999, 2), -EINVAL);
	assert_int_equal(dmakit_range_table_insert(table, UINT64_MAX, 0, 2), -EINVAL);
	assert_int_equal(dmakit_range_table_count(table), 1);

	/* Touching on either side is not overlapping, and nothing merges. */
	assert_int_equal(dmakit_range_table_insert(table, 200, 299, 3), 0);
	assert_int_equal(dmakit_range_table_insert(table, 0, 99, 4), 0);
	assert_int_equal(dmakit_range_table_insert(table, 300, 300, 5), 0);
	assert_int_equal(dmakit_range_table_count(table), 4);
	assert_int_equal(dmakit_range_table_check(table), 0);

	/* Failed inserts left no trace: the content is exactly these four. */
	assert_int_equal(dmakit_range_table_seek(table, 0, &cursor, &range), 0);
	assert_range(&range, 0, 99, 4);
	assert_int_equal(dmakit_range_table_next(&cursor, &range), 0);
	assert_range(&range, 100, 199, 1);
	assert_int_equal(dmakit_range_table_next(&cursor, &range), 0);
	assert_range(&range, 200, 299, 3);
	assert_int_equal(dmakit_range_table_next(&cursor, &range), 0);
	assert_range(&range, 300, 300, 5);
	assert_int_equal(dmakit_range_table_next(&cursor, &range), -ENOENT);

	/* A gap of one address between two ranges takes a one-address range. */
	assert_int_equal(dmakit_range_table_insert(table, 302, 400, 6), 0);
	assert_int_equal(dmakit_range_table_insert(table, 301, 301, 7), 0);
	assert_int_equal(dmakit_range_table_insert(table, 301, 301, 8), -EEXIST);
	assert_find(table, 301, 301, 301, 7);
	assert_int_equal(dmakit_range_table_check(table), 0);
	dmakit_range_table_destroy(table);
}

static void test_find_hits_and_misses(void **state)
{
	struct dmakit_range_table *table = new_table();

	(void)state;
	assert_int_equal(dmakit_range_table_insert(table, 0x1000, 0x1fff, 11), 0);
	assert_int_equal(dmakit_range_table_insert(table, 0x3000, 0x3fff, 33), 0);

	assert_no_find(table, 0);
	assert_no_find(table, 0xfff);
	assert_find(table, 0x1000, 0x1000, 0x1fff, 11);
	assert_find(table, 0x1800, 0x1000, 0x1fff, 11);
	assert_find(table, 0x1fff, 0x1000, 0x1fff, 11);
	assert_no_find(table, 0x2000);
	assert_no_find(table, 0x2fff);
	assert_find(table, 0x3000, 0x3000, 0x3fff, 33);
	assert_find(table, 0x3fff, 0x3000, 0x3fff, 33);
	assert_no_find(table, 0x4000);
	assert_no_find(table, UINT64_MAX);

	/* @out may be NULL. */
	assert_int_equal(dmakit_range_table_find(table, 0x1000, NULL), 0);
	assert_int_equal(dmakit_range_table_find(table, 0x2000, NULL), -ENOENT);
	dmakit_range_table_destroy(table);
}

static void test_address_space_ends(void **state)
{
	struct dmakit_range_table *table = new_table();
	struct dmakit_range_cursor cursor;
	struct dmakit_range range;
	struct removed_log log = { 0 };

	(void)state;
	assert_int_equal(dmakit_range_table_insert(table, 0, 0, 1), 0);
	assert_int_equal(dmakit_range_table_insert(table, UINT64_MAX, UINT64_MAX, 2), 0);
	assert_int_equal(dmakit_range_table_insert(table, UINT64_MAX - 9, UINT64_MAX - 1, 3), 0);
	assert_int_equal(dmakit_range_table_insert(table, UINT64_MAX - 10, UINT64_MAX, 4),
			 -EEXIST);
	assert_int_equal(dmakit_range_table_check(table), 0);

	assert_find(table, 0, 0, 0, 1);
	assert_no_find(table, 1);
	assert_no_find(table, UINT64_MAX - 10);
	assert_find(table, UINT64_MAX - 9, UINT64_MAX - 9, UINT64_MAX - 1, 3);
	assert_find(table, UINT64_MAX - 1, UINT64_MAX - 9, UINT64_MAX - 1, 3);
	assert_find(table, UINT64_MAX, UINT64_MAX, UINT64_MAX, 2);

	assert_int_equal(dmakit_range_table_first_overlap(table, UINT64_MAX, UINT64_MAX,
							  &range), 0);
	assert_range(&range, UINT64_MAX, UINT64_MAX, 2);
	assert_int_equal(dmakit_range_table_seek(table, UINT64_MAX, &cursor, &range), 0);
	assert_range(&range, UINT64_MAX, UINT64_MAX, 2);
	assert_int_equal(dmakit_range_table_next(&cursor, &range), -ENOENT);

	/* The whole space, [0, UINT64_MAX], takes everything. */
	assert_int_equal(dmakit_range_table_remove_inside(table, 0, UINT64_MAX,
							  removed_log_cb, &log), 3);
	assert_int_equal(log.count, 3);
	assert_range(&log.ranges[0], 0, 0, 1);
	assert_range(&log.ranges[1], UINT64_MAX - 9, UINT64_MAX - 1, 3);
	assert_range(&log.ranges[2], UINT64_MAX, UINT64_MAX, 2);
	assert_int_equal(dmakit_range_table_count(table), 0);
	assert_int_equal(dmakit_range_table_check(table), 0);

	/* One range covering the whole space. */
	assert_int_equal(dmakit_range_table_insert(table, 0, UINT64_MAX, 9), 0);
	assert_find(table, 0, 0, UINT64_MAX, 9);
	assert_find(table, UINT64_MAX, 0, UINT64_MAX, 9);
	assert_find(table, 1ULL << 63, 0, UINT64_MAX, 9);
	assert_int_equal(dmakit_range_table_insert(table, 5, 5, 0), -EEXIST);
	assert_int_equal(dmakit_range_table_insert(table, UINT64_MAX, UINT64_MAX, 0),
			 -EEXIST);
	/* Only partly inside [1, UINT64_MAX]: stays. */
	assert_int_equal(dmakit_range_table_remove_inside(table, 1, UINT64_MAX,
							  NULL, NULL), 0);
	assert_int_equal(dmakit_range_table_remove(table, 0, &range), 0);
	assert_range(&range, 0, UINT64_MAX, 9);
	assert_int_equal(dmakit_range_table_check(table), 0);
	free(log.ranges);
	dmakit_range_table_destroy(table);
}

static void test_first_overlap(void **state)
{
	struct dmakit_range_table *table = new_table();
	struct dmakit_range range;

	(void)state;
	assert_int_equal(dmakit_range_table_insert(table, 10, 19, 1), 0);
	assert_int_equal(dmakit_range_table_insert(table, 30, 39, 2), 0);
	assert_int_equal(dmakit_range_table_insert(table, 50, 59, 3), 0);

	assert_int_equal(dmakit_range_table_first_overlap(table, 0, 9, &range), -ENOENT);
	assert_int_equal(dmakit_range_table_first_overlap(table, 0, 10, &range), 0);
	assert_range(&range, 10, 19, 1);
	assert_int_equal(dmakit_range_table_first_overlap(table, 19, 19, &range), 0);
	assert_range(&range, 10, 19, 1);
	assert_int_equal(dmakit_range_table_first_overlap(table, 20, 29, &range), -ENOENT);
	/* Spanning several: the lowest one. */
	assert_int_equal(dmakit_range_table_first_overlap(table, 15, 55, &range), 0);
	assert_range(&range, 10, 19, 1);
	assert_int_equal(dmakit_range_table_first_overlap(table, 20, 55, &range), 0);
	assert_range(&range, 30, 39, 2);
	assert_int_equal(dmakit_range_table_first_overlap(table, 40, UINT64_MAX, &range), 0);
	assert_range(&range, 50, 59, 3);
	assert_int_equal(dmakit_range_table_first_overlap(table, 60, UINT64_MAX, &range),
			 -ENOENT);
	assert_int_equal(dmakit_range_table_first_overlap(table, 0, UINT64_MAX, NULL), 0);
	assert_int_equal(dmakit_range_table_first_overlap(table, 11, 10, &range), -EINVAL);
	dmakit_range_table_destroy(table);
}

static void test_set_value(void **state)
{
	struct dmakit_range_table *table = new_table();

	(void)state;
	assert_int_equal(dmakit_range_table_insert(table, 0x1000, 0x1fff, 1), 0);
	assert_int_equal(dmakit_range_table_set_value(table, 0x1000, 42), 0);
	assert_find(table, 0x1234, 0x1000, 0x1fff, 42);
	/* Only the exact start names a range. */
	assert_int_equal(dmakit_range_table_set_value(table, 0x1001, 43), -ENOENT);
	assert_int_equal(dmakit_range_table_set_value(table, 0x1fff, 43), -ENOENT);
	assert_int_equal(dmakit_range_table_set_value(table, 0xfff, 43), -ENOENT);
	assert_int_equal(dmakit_range_table_set_value(table, 0x2000, 43), -ENOENT);
	assert_find(table, 0x1000, 0x1000, 0x1fff, 42);
	dmakit_range_table_destroy(table);
}

/* In-place bounds (the listener's runs): neighbours, separators, max_last. */
static void test_resize_in_place(void **state)
{
	struct dmakit_range_table *table = new_table();
	uint64_t i, n = 5000;

	(void)state;
	/* Ranges [4i*0x1000, 4i*0x1000 + 0xfff]: several leaves and levels. */
	for (i = 0; i < n; i++)
		assert_int_equal(dmakit_range_table_insert(table, i * 0x4000, i * 0x4000 + 0xfff, i), 0);
	assert_int_equal(dmakit__range_table_resize(table, 0x1000, 0x1000, 0x1fff), -ENOENT);
	assert_int_equal(dmakit__range_table_resize(table, 0x4000, 0x4000, 0x3fff), -EINVAL);
	/* Touching a neighbour is fine, overlapping it is not. */
	assert_int_equal(dmakit__range_table_resize(table, 0x4000, 0x4000, 0x8000), -EEXIST);
	assert_int_equal(dmakit__range_table_resize(table, 0x4000, 0xfff, 0x4fff), -EEXIST);
	assert_find(table, 0x4000, 0x4000, 0x4fff, 1);
	/* Grow and shrink every range, each the last of its leaf at times. */
	for (i = 0; i < n; i++)
		assert_int_equal(dmakit__range_table_resize(table, i * 0x4000, i * 0x4000,
							   i * 0x4000 + 0x3fff), 0);
	assert_int_equal(dmakit_range_table_check(table), 0);
	for (i = 0; i < n; i++)
		assert_find(table, i * 0x4000 + 0x3000, i * 0x4000, i * 0x4000 + 0x3fff, i);
	for (i = 0; i < n; i++)
		assert_int_equal(dmakit__range_table_resize(table, i * 0x4000, i * 0x4000 + 0x1000,
							   i * 0x4000 + 0x1fff), 0);
	assert_int_equal(dmakit_range_table_check(table), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(dmakit_range_table_find(table, i * 0x4000 + 0x2000, NULL), -ENOENT);
		assert_find(table, i * 0x4000 + 0x1800, i * 0x4000 + 0x1000, i * 0x4000 + 0x1fff, i);
	}
	/* The greatest range grows the table's max. */
	assert_int_equal(dmakit__range_table_resize(table, (n - 1) * 0x4000 + 0x1000,
						   (n - 1) * 0x4000, UINT64_MAX), 0);
	assert_find(table, UINT64_MAX, (n - 1) * 0x4000, UINT64_MAX, n - 1);
	assert_int_equal(dmakit_range_table_check(table), 0);
	assert_int_equal(dmakit_range_table_count(table), n);
	dmakit_range_table_destroy(table);
}

static void test_remove(void **state)
{
	struct dmakit_range_table *table = new_table();
	struct dmakit_range range;

	(void)state;
	assert_int_equal(dmakit_range_table_insert(table, 10, 19, 1), 0);
	assert_int_equal(dmakit_range_table_insert(table, 20, 29, 2), 0);

	assert_int_equal(dmakit_range_table_remove(table, 11, &range), -ENOENT);
	assert_int_equal(dmakit_range_table_remove(table, 19, &range), -ENOENT);
	assert_int_equal(dmakit_range_table_remove(table, 9, &range), -ENOENT);
	assert_int_equal(dmakit_range_table_count(table), 2);

	assert_int_equal(dmakit_range_table_remove(table, 10, &range), 0);
	assert_range(&range, 10, 19, 1);
	assert_no_find(table, 10);
	assert_find(table, 20, 20, 29, 2);
	assert_int_equal(dmakit_range_table_remove(table, 10, NULL), -ENOENT);
	assert_int_equal(dmakit_range_table_remove(table, 20, NULL), 0);
	assert_int_equal(dmakit_range_table_count(table), 0);
	assert_int_equal(dmakit_range_table_check(table), 0);

	/* The space is free again. */
	assert_int_equal(dmakit_range_table_insert(table, 0, 100, 3), 0);
	assert_int_equal(dmakit_range_table_check(table), 0);
	dmakit_range_table_destroy(table);
}

static void test_remove_inside(void **state)
{
	struct dmakit_range_table *table = new_table();
	struct removed_log log = { .table = table };
	uint64_t i;

	(void)state;
	/* [i*100, i*100 + 49] for i in 0..999, value i. */
	for (i = 0; i < 1000; i++)
		assert_int_equal(dmakit_range_table_insert(table, i * 100, i * 100 + 49, i), 0);

	/* Partial overlaps at both ends stay: [1020, 1548] holds 11..14 only. */
	assert_int_equal(dmakit_range_table_remove_inside(table, 1020, 1548,
							  removed_log_cb, &log), 4);
	assert_int_equal(log.count, 4);
	for (i = 0; i < 4; i++)
		assert_range(&log.ranges[i], (11 + i) * 100, (11 + i) * 100 + 49, 11 + i);
	assert_find(table, 1020, 1000, 1049, 10);
	assert_find(table, 1549, 1500, 1549, 15);
	assert_int_equal(dmakit_range_table_count(table), 996);
	assert_int_equal(dmakit_range_table_check(table), 0);

	/* Exact bounds count as inside. */
	removed_log_reset(&log);
	assert_int_equal(dmakit_range_table_remove_inside(table, 1000, 1049,
							  removed_log_cb, &log), 1);
	assert_range(&log.ranges[0], 1000, 1049, 10);

	/* Nothing inside a gap. */
	assert_int_equal(dmakit_range_table_remove_inside(table, 2050, 2099, NULL, NULL), 0);
	/* A window inside one range removes nothing. */
	assert_int_equal(dmakit_range_table_remove_inside(table, 2010, 2020, NULL, NULL), 0);
	assert_int_equal(dmakit_range_table_remove_inside(table, 5, 4, NULL, NULL), -EINVAL);

	/* A wide window across many leaves, in ascending order. */
	removed_log_reset(&log);
	assert_int_equal(dmakit_range_table_remove_inside(table, 20000, 79999,
							  removed_log_cb, &log), 600);
	for (i = 0; i < 600; i++)
		assert_range(&log.ranges[i], (200 + i) * 100, (200 + i) * 100 + 49, 200 + i);
	assert_no_find(table, 20000);
	assert_no_find(table, 79949);
	assert_find(table, 19999 - 50, 19900, 19949, 199);
	assert_find(table, 80000, 80000, 80049, 800);
	assert_int_equal(dmakit_range_table_count(table), 995 - 600);
	assert_int_equal(dmakit_range_table_check(table), 0);

	/* Everything, with no callback. */
	assert_int_equal(dmakit_range_table_remove_inside(table, 0, UINT64_MAX, NULL, NULL),
			 395);
	assert_int_equal(dmakit_range_table_count(table), 0);
	assert_int_equal(dmakit_range_table_check(table), 0);
	free(log.ranges);
	dmakit_range_table_destroy(table);
}

static void test_cursor(void **state)
{
	struct dmakit_range_table *table = new_table();
	struct dmakit_range_cursor cursor;
	struct dmakit_range range;
	uint64_t i, n = 5000;

	(void)state;
	/* Insert in a scrambled order: i * 7919 mod 5000 visits all of 0..4999. */
	for (i = 0; i < n; i++) {
		uint64_t k = (i * 7919) % n;

		assert_int_equal(dmakit_range_table_insert(table, k * 16, k * 16 + 9, k), 0);
	}
	assert_int_equal(dmakit_range_table_check(table), 0);

	/* From the bottom: every range, in order, then the end. */
	assert_int_equal(dmakit_range_table_seek(table, 0, &cursor, &range), 0);
	assert_range(&range, 0, 9, 0);
	for (i = 1; i < n; i++) {
		assert_int_equal(dmakit_range_table_next(&cursor, &range), 0);
		assert_range(&range, i * 16, i * 16 + 9, i);
	}
	assert_int_equal(dmakit_range_table_next(&cursor, &range), -ENOENT);
	assert_int_equal(dmakit_range_table_next(&cursor, &range), -ENOENT);

	/* Inside a range: that range. In a gap: the next one. */
	assert_int_equal(dmakit_range_table_seek(table, 1605, &cursor, &range), 0);
	assert_range(&range, 1600, 1609, 100);
	assert_int_equal(dmakit_range_table_seek(table, 1610, &cursor, &range), 0);
	assert_range(&range, 1616, 1625, 101);
	assert_int_equal(dmakit_range_table_next(&cursor, NULL), 0);
	assert_int_equal(dmakit_range_table_next(&cursor, &range), 0);
	assert_range(&range, 1648, 1657, 103);
	/* Past the top. */
	assert_int_equal(dmakit_range_table_seek(table, (n - 1) * 16 + 9, &cursor, &range), 0);
	assert_range(&range, (n - 1) * 16, (n - 1) * 16 + 9, n - 1);
	assert_int_equal(dmakit_range_table_seek(table, (n - 1) * 16 + 10, &cursor, &range),
			 -ENOENT);
	assert_int_equal(dmakit_range_table_next(&cursor, &range), -ENOENT);
	assert_int_equal(dmakit_range_table_seek(table, 0, NULL, &range), -EINVAL);
	dmakit_range_table_destroy(table);
}

/* ---- the model ------------------------------------------------------------ */

/* Sorted by start, disjoint; every query is a plain linear scan. */
struct model {
	struct dmakit_range *ranges;
	size_t count;
	size_t capacity;
};

/* Index of the first range with last >= addr, or count. */
static size_t model_lower_bound(const struct model *model, uint64_t addr)
{
	size_t i;

	for (i = 0; i < model->count; i++) {
		if (model->ranges[i].last >= addr)
			break;
	}
	return i;
}

static int model_insert(struct model *model, uint64_t start, uint64_t last,
			uint64_t value)
{
	size_t i;

	if (last < start)
		return -EINVAL;
	i = model_lower_bound(model, start);
	if (i < model->count && model->ranges[i].start <= last)
		return -EEXIST;
	if (model->count == model->capacity) {
		model->capacity = model->capacity ? 2 * model->capacity : 1024;
		model->ranges = realloc(model->ranges,
					model->capacity * sizeof(*model->ranges));
		assert_non_null(model->ranges);
	}
	memmove(&model->ranges[i + 1], &model->ranges[i],
		(model->count - i) * sizeof(*model->ranges));
	model->ranges[i] = (struct dmakit_range){ start, last, value };
	model->count++;
	return 0;
}

static int model_find(const struct model *model, uint64_t addr,
		      struct dmakit_range *out)
{
	size_t i;

	for (i = 0; i < model->count; i++) {
		if (model->ranges[i].start <= addr && addr <= model->ranges[i].last) {
			*out = model->ranges[i];
			return 0;
		}
	}
	return -ENOENT;
}

static int model_first_overlap(const struct model *model, uint64_t start,
			       uint64_t last, struct dmakit_range *out)
{
	size_t i;

	if (last < start)
		return -EINVAL;
	for (i = 0; i < model->count; i++) {
		if (model->ranges[i].start <= last && start <= model->ranges[i].last) {
			*out = model->ranges[i];
			return 0;
		}
	}
	return -ENOENT;
}

static size_t model_index_of_start(const struct model *model, uint64_t start)
{
	size_t i;

	for (i = 0; i < model->count; i++) {
		if (model->ranges[i].start == start)
			break;
	}
	return i;
}

static int model_remove(struct model *model, uint64_t start,
			struct dmakit_range *out)
{
	size_t i = model_index_of_start(model, start);

	if (i == model->count)
		return -ENOENT;
	*out = model->ranges[i];
	memmove(&model->ranges[i], &model->ranges[i + 1],
		(model->count - i - 1) * sizeof(*model->ranges));
	model->count--;
	return 0;
}

/* Removes into @log (appending), returns the number removed. */
static int64_t model_remove_inside(struct model *model, uint64_t start,
				   uint64_t last, struct removed_log *log)
{
	size_t i, kept = 0;
	int64_t removed = 0;

	for (i = 0; i < model->count; i++) {
		struct dmakit_range *range = &model->ranges[i];

		if (range->start >= start && range->last <= last) {
			removed_log_cb(log, range);
			removed++;
		} else {
			model->ranges[kept++] = *range;
		}
	}
	model->count = kept;
	return removed;
}

/* The table holds exactly the model's ranges, in order. */
static void assert_same_content(struct dmakit_range_table *table,
				const struct model *model)
{
	struct dmakit_range_cursor cursor;
	struct dmakit_range range;
	size_t i;
	int ret;

	assert_int_equal(dmakit_range_table_count(table), model->count);
	ret = dmakit_range_table_seek(table, 0, &cursor, &range);
	for (i = 0; i < model->count; i++) {
		assert_int_equal(ret, 0);
		assert_range(&range, model->ranges[i].start, model->ranges[i].last,
			     model->ranges[i].value);
		ret = dmakit_range_table_next(&cursor, &range);
	}
	assert_int_equal(ret, -ENOENT);
}

/* ---- randomized comparison ----------------------------------------------- */

struct random_plan {
	uint64_t seed;
	uint64_t base;     /* lowest address used */
	uint64_t span;     /* addresses used: [base, base + span - 1] */
	uint64_t max_len;  /* range lengths: 1..max_len */
	unsigned int ops;
};

/* An address in the plan's window. */
static uint64_t plan_addr(const struct random_plan *plan, uint64_t *rng)
{
	/* Now and then the very edges of the window. */
	switch (rng_below(rng, 64)) {
	case 0:
		return plan->base;
	case 1:
		return plan->base + plan->span - 1;
	default:
		return plan->base + rng_below(rng, plan->span);
	}
}

/* last for a range starting at @start, clipped to the window (no wrap). */
static uint64_t plan_last(const struct random_plan *plan, uint64_t *rng,
			  uint64_t start)
{
	uint64_t top = plan->base + plan->span - 1;
	uint64_t len = 1 + rng_below(rng, plan->max_len);

	return top - start < len - 1 ? top : start + len - 1;
}

/* A start that is in the model most of the time. */
static uint64_t plan_existing_start(const struct random_plan *plan, uint64_t *rng,
				    const struct model *model)
{
	if (model->count && rng_below(rng, 8) != 0)
		return model->ranges[rng_below(rng, model->count)].start;
	return plan_addr(plan, rng);
}

static void run_random_plan(const struct random_plan *plan)
{
	struct dmakit_range_table *table = new_table();
	struct model model = { 0 };
	struct removed_log got = { .table = table }, want = { 0 };
	struct dmakit_range a, b;
	uint64_t rng = plan->seed;
	size_t peak = 0;
	unsigned int op;

	for (op = 0; op < plan->ops; op++) {
		/* Phases: grow for a while, then shrink, twice over. */
		unsigned int insert_weight = (op / (plan->ops / 4)) % 2 == 0 ? 60 : 25;
		unsigned int dice = rng_below(&rng, 100);
		uint64_t start, last, value;

		if (dice < insert_weight) {
			start = plan_addr(plan, &rng);
			last = plan_last(plan, &rng, start);
			value = rng_next(&rng);
			if (rng_below(&rng, 200) == 0) {
				/* A reversed range now and then. */
				uint64_t tmp = start;

				start = last;
				last = tmp;
			}
			assert_int_equal(dmakit_range_table_insert(table, start, last, value),
					 model_insert(&model, start, last, value));
		} else if (dice < insert_weight + 20) {
			start = plan_existing_start(plan, &rng, &model);
			memset(&a, 0, sizeof(a));
			memset(&b, 0, sizeof(b));
			assert_int_equal(dmakit_range_table_remove(table, start, &a),
					 model_remove(&model, start, &b));
			assert_memory_equal(&a, &b, sizeof(a));
		} else if (dice < insert_weight + 22) {
			int64_t removed;
			/* Mostly small windows, rarely a huge one. */
			uint64_t width = rng_below(&rng, 400) == 0 ? plan->span :
					 rng_below(&rng, 40 * plan->max_len) + 1;

			start = plan_addr(plan, &rng);
			last = plan_last(plan, &rng, start);
			if (plan->base + plan->span - 1 - start > width)
				last = start + width;
			else
				last = plan->base + plan->span - 1;
			removed_log_reset(&got);
			removed_log_reset(&want);
			removed = dmakit_range_table_remove_inside(table, start, last,
								  removed_log_cb, &got);
			assert_int_equal(removed, model_remove_inside(&model, start, last,
								      &want));
			assert_int_equal(got.count, want.count);
			if (got.count)
				assert_memory_equal(got.ranges, want.ranges,
						    got.count * sizeof(*got.ranges));
		} else if (dice < insert_weight + 24) {
			start = plan_existing_start(plan, &rng, &model);
			value = rng_next(&rng);
			{
				size_t i = model_index_of_start(&model, start);
				int expect = i < model.count ? 0 : -ENOENT;

				if (i < model.count)
					model.ranges[i].value = value;
				assert_int_equal(dmakit_range_table_set_value(table, start, value),
						 expect);
			}
		} else if (dice < insert_weight + 28) {
			start = plan_addr(plan, &rng);
			last = plan_last(plan, &rng, start);
			memset(&a, 0, sizeof(a));
			memset(&b, 0, sizeof(b));
			assert_int_equal(dmakit_range_table_first_overlap(table, start, last, &a),
					 model_first_overlap(&model, start, last, &b));
			assert_memory_equal(&a, &b, sizeof(a));
		} else if (dice < insert_weight + 29) {
			/* Seek and walk a few steps. */
			struct dmakit_range_cursor cursor;
			size_t i = model_lower_bound(&model, start = plan_addr(plan, &rng));
			int ret = dmakit_range_table_seek(table, start, &cursor, &a);
			unsigned int step;

			for (step = 0; step < 70; step++, i++) {
				if (i >= model.count) {
					assert_int_equal(ret, -ENOENT);
					break;
				}
				assert_int_equal(ret, 0);
				assert_memory_equal(&a, &model.ranges[i], sizeof(a));
				ret = dmakit_range_table_next(&cursor, &a);
			}
		} else {
			/* find: half the time an address just inside or outside an edge. */
			uint64_t addr = plan_addr(plan, &rng);

			if (model.count && rng_below(&rng, 2)) {
				const struct dmakit_range *r =
					&model.ranges[rng_below(&rng, model.count)];

				switch (rng_below(&rng, 4)) {
				case 0: addr = r->start; break;
				case 1: addr = r->last; break;
				case 2: addr = r->start ? r->start - 1 : 0; break;
				default: addr = r->last < UINT64_MAX ? r->last + 1 : r->last; break;
				}
			}
			memset(&a, 0, sizeof(a));
			memset(&b, 0, sizeof(b));
			assert_int_equal(dmakit_range_table_find(table, addr, &a),
					 model_find(&model, addr, &b));
			assert_memory_equal(&a, &b, sizeof(a));
		}

		assert_int_equal(dmakit_range_table_count(table), model.count);
		if (model.count > peak)
			peak = model.count;
		if (op % 1000 == 999)
			assert_int_equal(dmakit_range_table_check(table), 0);
		if (op % 20000 == 19999)
			assert_same_content(table, &model);
	}
	assert_int_equal(dmakit_range_table_check(table), 0);
	assert_same_content(table, &model);
	/* The plan must actually have built a tree of several levels. */
	print_message("seed %llu: peak %zu ranges\n", (unsigned long long)plan->seed, peak);
	assert_true(peak > 4000);

	free(model.ranges);
	free(got.ranges);
	free(want.ranges);
	dmakit_range_table_destroy(table);
}

static void test_random_dense_low(void **state)
{
	/* Crowded: many overlaps refused, at address 0. */
	const struct random_plan plan = {
		.seed = 1, .base = 0, .span = 1ULL << 18, .max_len = 8, .ops = 70000,
	};

	(void)state;
	run_random_plan(&plan);
}

static void test_random_top_of_space(void **state)
{
	/* The window ends at UINT64_MAX. */
	const struct random_plan plan = {
		.seed = 2, .base = UINT64_MAX - (1ULL << 18) + 1, .span = 1ULL << 18,
		.max_len = 8, .ops = 70000,
	};

	(void)state;
	run_random_plan(&plan);
}

static void test_random_sparse(void **state)
{
	/* Mostly fitting: a big table of long ranges. */
	const struct random_plan plan = {
		.seed = 3, .base = 1ULL << 40, .span = 1ULL << 32,
		.max_len = 1ULL << 16, .ops = 70000,
	};

	(void)state;
	run_random_plan(&plan);
}

/* ---- allocation failure ----------------------------------------------------- */

/* A copy of everything observable, to compare before and after a failure. */
struct snapshot {
	struct dmakit_range *ranges;
	size_t count;
	size_t memory;
};

static void take_snapshot(struct dmakit_range_table *table, struct snapshot *snap)
{
	struct dmakit_range_cursor cursor;
	struct dmakit_range range;
	size_t n = 0;
	int ret;

	snap->count = dmakit_range_table_count(table);
	snap->memory = dmakit_range_table_memory(table);
	snap->ranges = realloc(snap->ranges, (snap->count + 1) * sizeof(range));
	assert_non_null(snap->ranges);
	for (ret = dmakit_range_table_seek(table, 0, &cursor, &range); ret == 0;
	     ret = dmakit_range_table_next(&cursor, &range)) {
		assert_true(n < snap->count);
		snap->ranges[n++] = range;
	}
	assert_int_equal(n, snap->count);
}

static void assert_snapshot(struct dmakit_range_table *table,
			    const struct snapshot *before)
{
	struct snapshot now = { 0 };

	assert_int_equal(dmakit_range_table_check(table), 0);
	take_snapshot(table, &now);
	assert_int_equal(now.count, before->count);
	assert_int_equal(now.memory, before->memory);
	assert_memory_equal(now.ranges, before->ranges,
			    now.count * sizeof(*now.ranges));
	free(now.ranges);
}

/*
 * Insert with the library's fail-nth switch: fail the first allocation, then
 * the second, ... until the insert no longer reaches the failing one. Each
 * failure must return -ENOMEM and leave the table exactly as it was.
 * @returns what the insert finally returned; adds the failures to @failures.
 */
static int insert_failing_each_allocation(struct dmakit_range_table *table,
					  uint64_t start, uint64_t last,
					  uint64_t value, unsigned int *failures,
					  unsigned int *most)
{
	struct snapshot before = { 0 };
	unsigned int here = 0;
	uint64_t nth;
	int ret;

	for (nth = 1;; nth++) {
		if (nth == 1)
			take_snapshot(table, &before);
		dmakit_fault_arm(DMAKIT_FAULT_ALLOC, nth, 0);
		ret = dmakit_range_table_insert(table, start, last, value);
		if (!dmakit_fault_fired(DMAKIT_FAULT_ALLOC))
			break;
		assert_int_equal(ret, -ENOMEM);
		assert_snapshot(table, &before);
		here++;
	}
	dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
	free(before.ranges);
	*failures += here;
	if (here > *most)
		*most = here;
	return ret;
}

/* The inserts of the allocation-failure test: ascending, then into gaps. */
static void enomem_insert_plan(unsigned int i, uint64_t *rng, uint64_t *start,
			       uint64_t *last)
{
	if (i < 3000) {
		/* Ascending: right-edge splits, up to new roots. */
		*start = i * 16;
		*last = *start + 7;
	} else {
		/* In the gaps: splits in the middle of full nodes. */
		*start = rng_below(rng, 3000) * 16 + 8 + rng_below(rng, 4);
		*last = *start;
	}
}

static void test_enomem_leaves_table_unchanged(void **state)
{
	const unsigned int inserts = 4500;
	struct dmakit_range_table *table, *twin;
	struct snapshot expect = { 0 };
	unsigned int failures = 0, most = 0, i;
	uint64_t allocations, rng, start, last;
	int ret;

	(void)state;
	dmakit_fault_arm(DMAKIT_FAULT_ALLOC, 1, 0);
	assert_null(dmakit_range_table_create());
	dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);

	/* The twin counts the allocations the plan needs when none fails. */
	twin = new_table();
	dmakit_fault_arm(DMAKIT_FAULT_ALLOC, 0, 0);
	for (rng = 5, i = 0; i < inserts; i++) {
		enomem_insert_plan(i, &rng, &start, &last);
		ret = dmakit_range_table_insert(twin, start, last, i);
		assert_true(ret == 0 || ret == -EEXIST);
	}
	allocations = dmakit_fault_count(DMAKIT_FAULT_ALLOC);
	dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);

	table = new_table();
	for (rng = 5, i = 0; i < inserts; i++) {
		struct dmakit_range_cursor cursor;
		struct dmakit_range found;

		enomem_insert_plan(i, &rng, &start, &last);
		ret = insert_failing_each_allocation(table, start, last, i,
						     &failures, &most);
		/* The same answer as without failures. */
		if (dmakit_range_table_seek(twin, start, &cursor, &found) == 0 &&
		    found.start == start && found.value == i)
			assert_int_equal(ret, 0);
		else
			assert_int_equal(ret, -EEXIST);
	}
	print_message("%u allocation failures injected, up to %u in one insert\n",
		      failures, most);
	/* Every allocation was failed once before it succeeded. */
	assert_int_equal(failures, allocations);
	/* At least one split needed a new leaf and a new root together. */
	assert_true(most >= 2);
	take_snapshot(twin, &expect);
	assert_snapshot(table, &expect);
	free(expect.ranges);
	dmakit_range_table_destroy(twin);

	/* Removal never allocates: an armed first allocation never fires. */
	dmakit_fault_arm(DMAKIT_FAULT_ALLOC, 1, 0);
	for (i = 0; i < 3000; i += 2)
		assert_int_equal(dmakit_range_table_remove(table, i * 16, NULL), 0);
	assert_true(dmakit_range_table_remove_inside(table, 0, 16 * 2000, NULL, NULL) > 0);
	assert_true(dmakit_range_table_remove_inside(table, 0, UINT64_MAX, NULL, NULL) > 0);
	assert_false(dmakit_fault_fired(DMAKIT_FAULT_ALLOC));
	assert_int_equal(dmakit_fault_count(DMAKIT_FAULT_ALLOC), 0);
	dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
	assert_int_equal(dmakit_range_table_count(table), 0);
	assert_int_equal(dmakit_range_table_check(table), 0);
	dmakit_range_table_destroy(table);
}

/* ---- volume: growth, shrinkage, memory ------------------------------------ */

static void test_grow_and_shrink_random_order(void **state)
{
	const uint64_t n = 200000;
	struct dmakit_range_table *table = new_table();
	size_t empty_memory = dmakit_range_table_memory(table);
	uint64_t *order = malloc(n * sizeof(*order));
	uint64_t rng = 42, i;

	(void)state;
	assert_non_null(order);
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		uint64_t j = rng_below(&rng, i + 1), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	for (i = 0; i < n; i++) {
		uint64_t k = order[i];

		assert_int_equal(dmakit_range_table_insert(table, k * 8192, k * 8192 + 4095, k), 0);
		if (i % 20000 == 0)
			assert_int_equal(dmakit_range_table_check(table), 0);
	}
	assert_int_equal(dmakit_range_table_check(table), 0);
	print_message("random order %llu x 4 KiB: %.2f bytes per range\n",
		      (unsigned long long)n,
		      (double)dmakit_range_table_memory(table) / (double)n);
	assert_true(dmakit_range_table_memory(table) <= 48 * n);
	/* Remove in a different random order, checking on the way down. */
	for (i = n - 1; i > 0; i--) {
		uint64_t j = rng_below(&rng, i + 1), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	for (i = 0; i < n; i++) {
		struct dmakit_range range;
		uint64_t k = order[i];

		assert_int_equal(dmakit_range_table_remove(table, k * 8192, &range), 0);
		assert_range(&range, k * 8192, k * 8192 + 4095, k);
		if (i % 20000 == 0 || n - i < 200)
			assert_int_equal(dmakit_range_table_check(table), 0);
	}
	assert_int_equal(dmakit_range_table_count(table), 0);
	assert_int_equal(dmakit_range_table_memory(table), empty_memory);
	free(order);
	dmakit_range_table_destroy(table);
}

/*
 * Punch random holes (remove_inside with partial overlaps at both ends) into
 * a tree filled by ascending inserts, where every node is full: underfull
 * nodes then often sit next to full siblings and must borrow rather than
 * merge. The model is one "still there" flag per range.
 */
static void test_punch_holes_in_full_tree(void **state)
{
	const uint64_t n = 500000, base = 1ULL << 36, page = 4 * KIB;
	struct dmakit_range_table *table = new_table();
	struct removed_log log = { .table = table };
	bool *alive = malloc(n * sizeof(*alive));
	uint64_t rng = 7, i, window;

	(void)state;
	assert_non_null(alive);
	for (i = 0; i < n; i++) {
		assert_int_equal(dmakit_range_table_insert(table, base + i * page,
							   base + i * page + page - 1, i), 0);
		alive[i] = true;
	}
	for (window = 0; window < 400; window++) {
		uint64_t first = rng_below(&rng, n);
		uint64_t width = 1 + rng_below(&rng, window % 2 ? 200 : 4000);
		uint64_t end = first + width < n ? first + width : n; /* exclusive */
		uint64_t start = base + first * page + (rng_below(&rng, 2) ? 0 : 1);
		uint64_t last = base + end * page - 1 - (rng_below(&rng, 2) ? 0 : 1);
		uint64_t lo = start == base + first * page ? first : first + 1;
		uint64_t hi = last == base + end * page - 1 ? end : end - 1;
		int64_t expect = 0;

		for (i = lo; i < hi; i++) {
			expect += alive[i];
			alive[i] = false;
		}
		removed_log_reset(&log);
		assert_int_equal(dmakit_range_table_remove_inside(table, start, last,
								  removed_log_cb, &log), expect);
		for (i = 0; i < log.count; i++)
			assert_true(log.ranges[i].value >= lo && log.ranges[i].value < hi);
		if (window % 16 == 0)
			assert_int_equal(dmakit_range_table_check(table), 0);
	}
	assert_int_equal(dmakit_range_table_check(table), 0);
	{
		struct dmakit_range_cursor cursor;
		struct dmakit_range range;
		size_t left = 0;
		int ret = dmakit_range_table_seek(table, 0, &cursor, &range);

		for (i = 0; i < n; i++) {
			if (!alive[i])
				continue;
			assert_int_equal(ret, 0);
			assert_range(&range, base + i * page, base + i * page + page - 1, i);
			ret = dmakit_range_table_next(&cursor, &range);
			left++;
		}
		assert_int_equal(ret, -ENOENT);
		assert_int_equal(dmakit_range_table_count(table), left);
	}
	free(alive);
	free(log.ranges);
	dmakit_range_table_destroy(table);
}

/*
 * Remove a random range and put it back, many times, in a table filled in
 * order. A range removed from the end of a leaf comes back between two leaves;
 * if that split the full leaf on the right each time, the table would drift
 * towards half-full leaves.
 */
static void test_churn_keeps_nodes_full(void **state)
{
	const uint64_t n = 65535, rounds = 300000, page = 4 * KIB;
	struct dmakit_range_table *table = new_table();
	size_t filled;
	uint64_t rng = 11, i;

	(void)state;
	for (i = 0; i < n; i++)
		assert_int_equal(dmakit_range_table_insert(table, i * page,
							   i * page + page - 1, i), 0);
	filled = dmakit_range_table_memory(table);
	for (i = 0; i < rounds; i++) {
		uint64_t k = rng_below(&rng, n);
		struct dmakit_range range;

		assert_int_equal(dmakit_range_table_remove(table, k * page, &range), 0);
		assert_range(&range, k * page, k * page + page - 1, k);
		assert_int_equal(dmakit_range_table_insert(table, k * page,
							   k * page + page - 1, k), 0);
	}
	assert_int_equal(dmakit_range_table_count(table), n);
	assert_int_equal(dmakit_range_table_check(table), 0);
	print_message("churned: %.2f bytes per range (filled: %.2f)\n",
		      (double)dmakit_range_table_memory(table) / (double)n,
		      (double)filled / (double)n);
	/*
	 * Every range goes back where it came from or into the leaf it left,
	 * which has room: not one node more than the freshly filled table.
	 */
	assert_int_equal(dmakit_range_table_memory(table), filled);
	dmakit_range_table_destroy(table);
}

/*
 * Descending inserts keep hitting the left end of the leftmost leaf; its
 * split leaves only a minimum there, so the nodes left behind stay about 3/4
 * full instead of half full.
 */
static void test_descending_fill(void **state)
{
	const uint64_t n = 200000, page = 4 * KIB, base = 1ULL << 40;
	struct dmakit_range_table *table = new_table();
	struct dmakit_range_cursor cursor;
	struct dmakit_range range;
	double bytes_per_range;
	uint64_t i;

	(void)state;
	for (i = n; i-- > 0;)
		assert_int_equal(dmakit_range_table_insert(table, base + i * page,
							   base + i * page + page - 1, i), 0);
	assert_int_equal(dmakit_range_table_check(table), 0);
	bytes_per_range = (double)dmakit_range_table_memory(table) / (double)n;
	print_message("descending %llu x 4 KiB: %.2f bytes per range\n",
		      (unsigned long long)n, bytes_per_range);
	assert_true(bytes_per_range <= 40.0);

	assert_int_equal(dmakit_range_table_seek(table, 0, &cursor, &range), 0);
	for (i = 0; i < n; i++) {
		assert_range(&range, base + i * page, base + i * page + page - 1, i);
		assert_int_equal(dmakit_range_table_next(&cursor, &range),
				 i + 1 < n ? 0 : -ENOENT);
	}
	dmakit_range_table_destroy(table);
}

static void test_sequential_million_bytes_per_range(void **state)
{
	const uint64_t n = 1000000, base = 1ULL << 32;
	struct dmakit_range_table *table = new_table();
	size_t empty_memory = dmakit_range_table_memory(table);
	struct removed_log log = { 0 };
	double bytes_per_range;
	uint64_t i;

	(void)state;
	for (i = 0; i < n; i++)
		assert_int_equal(dmakit_range_table_insert(table, base + i * 4 * KIB,
							   base + i * 4 * KIB + 4 * KIB - 1, i), 0);
	assert_int_equal(dmakit_range_table_count(table), n);
	assert_int_equal(dmakit_range_table_check(table), 0);
	bytes_per_range = (double)dmakit_range_table_memory(table) / (double)n;
	print_message("sequential 1M x 4 KiB: %.2f bytes per range\n", bytes_per_range);
	assert_true(bytes_per_range <= 48.0);
	/*
	 * Ascending inserts must leave every node behind them full: 24 bytes
	 * of payload plus node headers stays under 30, where leaves split in
	 * halves would cost about twice the payload.
	 */
	assert_true(bytes_per_range <= 30.0);

	assert_find(table, base, base, base + 4 * KIB - 1, 0);
	assert_find(table, base + n * 4 * KIB - 1, base + (n - 1) * 4 * KIB,
		    base + n * 4 * KIB - 1, n - 1);
	assert_no_find(table, base - 1);
	assert_no_find(table, base + n * 4 * KIB);

	/* Unmap everything in one call, in order. */
	assert_int_equal(dmakit_range_table_remove_inside(table, 0, UINT64_MAX,
							  removed_log_cb, &log), (int64_t)n);
	assert_int_equal(log.count, n);
	for (i = 0; i < n; i += 99991)
		assert_range(&log.ranges[i], base + i * 4 * KIB,
			     base + i * 4 * KIB + 4 * KIB - 1, i);
	assert_range(&log.ranges[n - 1], base + (n - 1) * 4 * KIB,
		     base + n * 4 * KIB - 1, n - 1);
	assert_int_equal(dmakit_range_table_count(table), 0);
	assert_int_equal(dmakit_range_table_memory(table), empty_memory);
	assert_int_equal(dmakit_range_table_check(table), 0);
	free(log.ranges);
	dmakit_range_table_destroy(table);
}

/* ---- batched look-ups ----------------------------------------------------- */

#define BATCH_SENTINEL 0xa5a5a5a5a5a5a5a5ULL

/*
 * find_batch() over @addrs[0..n) must answer exactly what find() answers
 * for each address: the count, every status, every range found, and leave
 * out[i] untouched on a miss; with @out or @results NULL too. The table's
 * invariants, last-hit cache included, must still hold afterwards.
 */
static void assert_batch_matches_find(struct dmakit_range_table *table,
				      const uint64_t *addrs, size_t n)
{
	struct dmakit_range *out = malloc((n ? n : 1) * sizeof(*out));
	int *results = malloc((n ? n : 1) * sizeof(*results));
	size_t i, hits = 0;

	assert_non_null(out);
	assert_non_null(results);
	memset(out, 0xa5, (n ? n : 1) * sizeof(*out));
	for (i = 0; i < n; i++)
		results[i] = 12345;
	assert_int_equal(dmakit_range_table_find_batch(table, addrs, n, out, results),
			 dmakit_range_table_find_batch(table, addrs, n, NULL, NULL));
	for (i = 0; i < n; i++) {
		struct dmakit_range want;
		int ret = dmakit_range_table_find(table, addrs[i], &want);

		assert_int_equal(results[i], ret);
		if (ret == 0) {
			hits++;
			assert_memory_equal(&out[i], &want, sizeof(want));
		} else {
			assert_int_equal(out[i].start, BATCH_SENTINEL);
			assert_int_equal(out[i].last, BATCH_SENTINEL);
			assert_int_equal(out[i].value, BATCH_SENTINEL);
		}
	}
	assert_int_equal(dmakit_range_table_find_batch(table, addrs, n, out, NULL),
			 (int64_t)hits);
	for (i = 0; i < n; i++)
		results[i] = 12345;
	assert_int_equal(dmakit_range_table_find_batch(table, addrs, n, NULL, results),
			 (int64_t)hits);
	for (i = 0; i < n; i++)
		assert_int_equal(results[i], dmakit_range_table_find(table, addrs[i], NULL));
	assert_int_equal(dmakit_range_table_check(table), 0);
	free(out);
	free(results);
}

static void test_find_batch_edges(void **state)
{
	struct dmakit_range_table *table = new_table();
	const uint64_t addrs[] = { 0, 1, 4095, 4096, UINT64_MAX - 1, UINT64_MAX };
	const size_t n = sizeof(addrs) / sizeof(addrs[0]);
	struct dmakit_range out[sizeof(addrs) / sizeof(addrs[0])];
	int results[sizeof(addrs) / sizeof(addrs[0])];
	size_t i;

	(void)state;
	assert_int_equal(dmakit_range_table_find_batch(NULL, addrs, n, out, results), -EINVAL);
	assert_int_equal(dmakit_range_table_find_batch(table, NULL, 1, out, results), -EINVAL);
	/* n = 0: nothing to read or write, not even @addrs. */
	assert_int_equal(dmakit_range_table_find_batch(table, NULL, 0, NULL, NULL), 0);
	assert_int_equal(dmakit_range_table_find_batch(table, addrs, 0, out, results), 0);

	/* Empty table: every address misses and out[] is not written. */
	memset(out, 0xa5, sizeof(out));
	assert_int_equal(dmakit_range_table_find_batch(table, addrs, n, out, results), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(results[i], -ENOENT);
		assert_int_equal(out[i].start, BATCH_SENTINEL);
	}
	assert_int_equal(dmakit_range_table_check(table), 0);

	/* One range at each end of the address space; the root is a leaf. */
	assert_int_equal(dmakit_range_table_insert(table, 0, 4095, 7), 0);
	assert_int_equal(dmakit_range_table_insert(table, UINT64_MAX - 1, UINT64_MAX, 9), 0);
	assert_int_equal(dmakit_range_table_find_batch(table, addrs, n, out, results), 5);
	assert_range(&out[0], 0, 4095, 7);
	assert_range(&out[2], 0, 4095, 7);
	assert_int_equal(results[3], -ENOENT);
	assert_range(&out[5], UINT64_MAX - 1, UINT64_MAX, 9);
	assert_batch_matches_find(table, addrs, n);
	dmakit_range_table_destroy(table);
}

/* Addresses around the table's ranges: starts, lasts, the gaps, the ends. */
static void batch_fill_addrs(const uint64_t *starts, const uint64_t *lasts, size_t count,
			     uint64_t *addrs, size_t n, uint64_t *rng)
{
	size_t i;

	for (i = 0; i < n; i++) {
		size_t r = count ? rng_below(rng, count) : 0;

		switch (count ? rng_below(rng, 8) : 7) {
		case 0: addrs[i] = starts[r]; break;
		case 1: addrs[i] = lasts[r]; break;
		case 2: addrs[i] = starts[r] ? starts[r] - 1 : 0; break;
		case 3: addrs[i] = lasts[r] < UINT64_MAX ? lasts[r] + 1 : lasts[r]; break;
		case 4: /* a run of neighbours, as a scatter-gather list walks */
			addrs[i] = i ? addrs[i - 1] + rng_below(rng, 3 * 4096) : starts[r];
			break;
		case 5: addrs[i] = i ? addrs[i - 1] : 0; break; /* a repeat */
		case 6: addrs[i] = starts[r] + rng_below(rng, lasts[r] - starts[r] + 1); break;
		default: addrs[i] = rng_next(rng); break;
		}
	}
}

static void test_find_batch_matches_find(void **state)
{
	static const size_t sizes[] = { 1, 2, 31, 32, 33, 200, 5000, 120000 };
	static const size_t batch_lens[] = { 0, 1, 2, 15, 31, 32, 33, 64, 97, 1000, 70000 };
	uint64_t rng = 2024;
	size_t s, b;

	(void)state;
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct dmakit_range_table *table = new_table();
		size_t count = 0, i, cap = sizes[s];
		uint64_t *starts = malloc(cap * sizeof(*starts));
		uint64_t *lasts = malloc(cap * sizeof(*lasts));
		uint64_t *addrs = malloc(70000 * sizeof(*addrs));
		uint64_t addr = rng_below(&rng, 3) == 0 ? 0 : rng_below(&rng, 1ULL << 20);

		assert_non_null(starts);
		assert_non_null(lasts);
		assert_non_null(addrs);
		/* Ranges of 1 byte to 64 KiB with gaps of 0 to 16 KiB, in random order. */
		for (i = 0; i < cap; i++) {
			uint64_t len = 1 + rng_below(&rng, 64 * KIB);

			starts[i] = addr;
			lasts[i] = addr + len - 1;
			addr = lasts[i] + 1 + rng_below(&rng, 16 * KIB);
		}
		if (s % 2) /* and now and then the very top of the space */
			lasts[cap - 1] = UINT64_MAX;
		for (i = cap; i > 1; i--) {
			size_t j = rng_below(&rng, i);
			uint64_t t = starts[i - 1];

			starts[i - 1] = starts[j];
			starts[j] = t;
			t = lasts[i - 1];
			lasts[i - 1] = lasts[j];
			lasts[j] = t;
		}
		for (i = 0; i < cap; i++)
			assert_int_equal(dmakit_range_table_insert(table, starts[i], lasts[i], i), 0);
		count = cap;
		for (b = 0; b < sizeof(batch_lens) / sizeof(batch_lens[0]); b++) {
			batch_fill_addrs(starts, lasts, count, addrs, batch_lens[b], &rng);
			assert_batch_matches_find(table, addrs, batch_lens[b]);
			/* After a change, the last-hit cache is gone; again. */
			if (count > 1 && rng_below(&rng, 2)) {
				count--;
				assert_int_equal(dmakit_range_table_remove(table, starts[count],
									   NULL), 0);
				assert_batch_matches_find(table, addrs, batch_lens[b]);
			}
		}
		free(starts);
		free(lasts);
		free(addrs);
		dmakit_range_table_destroy(table);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_null_table),
		cmocka_unit_test(test_insert_overlap_and_touching),
		cmocka_unit_test(test_find_hits_and_misses),
		cmocka_unit_test(test_address_space_ends),
		cmocka_unit_test(test_first_overlap),
		cmocka_unit_test(test_set_value),
		cmocka_unit_test(test_resize_in_place),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_remove_inside),
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_random_dense_low),
		cmocka_unit_test(test_random_top_of_space),
		cmocka_unit_test(test_random_sparse),
		cmocka_unit_test(test_enomem_leaves_table_unchanged),
		cmocka_unit_test(test_grow_and_shrink_random_order),
		cmocka_unit_test(test_punch_holes_in_full_tree),
		cmocka_unit_test(test_churn_keeps_nodes_full),
		cmocka_unit_test(test_descending_fill),
		cmocka_unit_test(test_sequential_million_bytes_per_range),
		cmocka_unit_test(test_find_batch_edges),
		cmocka_unit_test(test_find_batch_matches_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
