/* SPDX-License-Identifier: MIT */
/*
 * For tests: a snapshot of an emulated container (its statistics and up to
 * CONTAINER_SNAPSHOT_MAX mappings, ascending), and the comparison of two
 * snapshots' mappings. Each test compares the statistics it cares about
 * itself. Include after <cmocka.h> and <dmakit/dmakit.h>.
 */
#ifndef DMAKIT_TEST_CONTAINER_SNAPSHOT_H
#define DMAKIT_TEST_CONTAINER_SNAPSHOT_H

#include <string.h>

#define CONTAINER_SNAPSHOT_MAX 256

struct snapshot {
	struct dmakit_container_stats stats;
	size_t n;
	struct dmakit_mapping maps[CONTAINER_SNAPSHOT_MAX];
};

static inline void take(struct dmakit_container *c, struct snapshot *s)
{
	uint64_t iova = 0;

	memset(s, 0, sizeof(*s));
	assert_int_equal(dmakit_container_stats(c, &s->stats), 0);
	while (s->n < CONTAINER_SNAPSHOT_MAX &&
	       dmakit_container_seek_mapping(c, iova, &s->maps[s->n]) == 0) {
		iova = s->maps[s->n].iova + s->maps[s->n].size;
		s->n++;
		if (iova == 0) /* the last mapping ended at 2^64 - 1 */
			break;
	}
}

/* The same mappings: iova, size, vaddr, flags and vaddr validity. */
static inline void assert_same_mappings(const struct snapshot *a, const struct snapshot *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		assert_int_equal(a->maps[i].iova, b->maps[i].iova);
		assert_int_equal(a->maps[i].size, b->maps[i].size);
		assert_int_equal(a->maps[i].vaddr, b->maps[i].vaddr);
		assert_int_equal(a->maps[i].flags, b->maps[i].flags);
		assert_int_equal(a->maps[i].vaddr_valid, b->maps[i].vaddr_valid);
	}
}

#endif /* DMAKIT_TEST_CONTAINER_SNAPSHOT_H */
