/* SPDX-License-Identifier: MIT */
/*
 * dmakit bench: the two baselines, built from Debian's packages and used the
 * way their best-known users use them.
 *
 * GTREE: GLib's balanced binary tree as QEMU's util/iova-tree.c drives it.
 * The key and the value are one heap DMAMap {iova, translated_addr, size,
 * perm} with an inclusive size (last - iova); the comparator answers 0 when
 * two ranges overlap, so a look-up with a one-byte range finds the range
 * that holds an address:
 *   insert    g_tree_lookup() for an overlap, then g_new0() + g_tree_insert()
 *             (iova_tree_insert)
 *   find      g_tree_lookup() of {addr, size 0} (iova_tree_find_address)
 *   remove    g_tree_remove() of {start, size 0}; the tree frees the key.
 *             QEMU's iova_tree_remove() also looks up before and after,
 *             so this is the cheaper side of what QEMU pays.
 *
 * RBTREE: libbsd's <bsd/sys/tree.h> red-black tree keyed by range start, as
 * Linux's drivers/vfio/vfio_iommu_type1.c keeps struct vfio_dma in an rbtree:
 *   insert    vfio_find_dma() (descent with an overlap compare), then
 *             malloc + vfio_link_dma() (RB_INSERT, ordered by start)
 *   find      the same overlap descent (RB_FIND) with [addr, addr]
 *   remove    vfio_find_dma() of [start, start], rb_erase() (RB_REMOVE), free
 * The node is {rb links, iova, size, vaddr}: 56 bytes, a 64-byte malloc
 * chunk (the kernel's vfio_dma is 96).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
/* RB_GENERATE_STATIC marks its functions __unused, which glibc does not define. */
#ifndef __unused
#define __unused __attribute__((unused))
#endif
#include <bsd/sys/tree.h>

#include "bench.h"

/* ------------------------------------------------------------------------ */
/* GTree, as QEMU's IOVATree                                                */

typedef struct {
	uint64_t iova;
	uint64_t translated_addr;
	uint64_t size; /* inclusive: last - iova */
	uint32_t perm;
} bench_dma_map;

/* QEMU's iova_tree_compare(). */
static gint gtree_compare(gconstpointer a, gconstpointer b, gpointer data)
{
	const bench_dma_map *m1 = a, *m2 = b;

	(void)data;
	if (m1->iova > m2->iova + m2->size)
		return 1;
	if (m1->iova + m1->size < m2->iova)
		return -1;
	return 0; /* overlapped */
}

#define BT_TABLE GTree
#define BT_FN(x) bt_gtree_##x
#define BT_NAME "gtree"

static inline GTree *bt_gtree_create(void)
{
	return g_tree_new_full(gtree_compare, NULL, g_free, NULL);
}

static inline void bt_gtree_destroy(GTree *t)
{
	g_tree_destroy(t);
}

static inline int bt_gtree_insert(GTree *t, uint64_t start, uint64_t last, uint64_t value)
{
	bench_dma_map key = { .iova = start, .translated_addr = value,
			      .size = last - start, .perm = 3 };
	bench_dma_map *map;

	if (g_tree_lookup(t, &key))
		return -EEXIST;
	map = g_new0(bench_dma_map, 1);
	memcpy(map, &key, sizeof(*map));
	g_tree_insert(t, map, map);
	return 0;
}

static inline int bt_gtree_remove(GTree *t, uint64_t start)
{
	bench_dma_map key = { .iova = start, .size = 0 };

	return g_tree_remove(t, &key) ? 0 : -ENOENT;
}

static inline int bt_gtree_find(GTree *t, uint64_t addr, uint64_t *start, uint64_t *value)
{
	bench_dma_map key = { .iova = addr, .size = 0 };
	const bench_dma_map *map = g_tree_lookup(t, &key);

	if (!map)
		return -ENOENT;
	*start = map->iova;
	*value = map->translated_addr;
	return 0;
}

static inline size_t bt_gtree_self_bytes(GTree *t)
{
	(void)t;
	return 0;
}

#include "bench_template.h"

#undef BT_TABLE
#undef BT_FN
#undef BT_NAME

/* ------------------------------------------------------------------------ */
/* libbsd's red-black tree, as Linux's vfio_iommu_type1                     */

struct bench_vfio_dma {
	RB_ENTRY(bench_vfio_dma) node;
	uint64_t iova;
	uint64_t size; /* bytes */
	uint64_t vaddr;
};

/*
 * vfio_find_dma()'s descent: the key range [a->iova, a->iova + a->size)
 * overlapping the node's range counts as equal. Among the disjoint ranges
 * of the tree this is also the order by start, which vfio_link_dma() uses.
 */
static inline int bench_vfio_dma_cmp(const struct bench_vfio_dma *a,
				     const struct bench_vfio_dma *b)
{
	if (a->iova + a->size <= b->iova)
		return -1;
	if (a->iova >= b->iova + b->size)
		return 1;
	return 0;
}

RB_HEAD(bench_dma_tree, bench_vfio_dma);
RB_GENERATE_STATIC(bench_dma_tree, bench_vfio_dma, node, bench_vfio_dma_cmp)

#define BT_TABLE struct bench_dma_tree
#define BT_FN(x) bt_rbtree_##x
#define BT_NAME "rbtree"

static inline struct bench_dma_tree *bt_rbtree_create(void)
{
	struct bench_dma_tree *t = malloc(sizeof(*t));

	if (t)
		RB_INIT(t);
	return t;
}

/* Free a subtree without rebalancing: recursion as deep as the tree. */
static void rbtree_free_subtree(struct bench_vfio_dma *d)
{
	while (d) {
		struct bench_vfio_dma *right = RB_RIGHT(d, node);

		rbtree_free_subtree(RB_LEFT(d, node));
		free(d);
		d = right;
	}
}

static inline void bt_rbtree_destroy(struct bench_dma_tree *t)
{
	rbtree_free_subtree(RB_ROOT(t));
	free(t);
}

static inline int bt_rbtree_insert(struct bench_dma_tree *t, uint64_t start, uint64_t last,
				   uint64_t value)
{
	struct bench_vfio_dma key = { .iova = start, .size = last - start + 1 };
	struct bench_vfio_dma *d;

	if (RB_FIND(bench_dma_tree, t, &key))
		return -EEXIST;
	d = malloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->iova = start;
	d->size = last - start + 1;
	d->vaddr = value;
	RB_INSERT(bench_dma_tree, t, d);
	return 0;
}

static inline int bt_rbtree_remove(struct bench_dma_tree *t, uint64_t start)
{
	struct bench_vfio_dma key = { .iova = start, .size = 1 };
	struct bench_vfio_dma *d = RB_FIND(bench_dma_tree, t, &key);

	if (!d || d->iova != start)
		return -ENOENT;
	RB_REMOVE(bench_dma_tree, t, d);
	free(d);
	return 0;
}

static inline int bt_rbtree_find(struct bench_dma_tree *t, uint64_t addr, uint64_t *start,
				 uint64_t *value)
{
	struct bench_vfio_dma key = { .iova = addr, .size = 1 };
	const struct bench_vfio_dma *d = RB_FIND(bench_dma_tree, t, &key);

	if (!d)
		return -ENOENT;
	*start = d->iova;
	*value = d->vaddr;
	return 0;
}

static inline size_t bt_rbtree_self_bytes(struct bench_dma_tree *t)
{
	(void)t;
	return 0;
}

#include "bench_template.h"

/* ------------------------------------------------------------------------ */

static const struct bench_impl bench_impl_gtree = {
	.name = "gtree",
	.title = "GLib GTree (QEMU iova-tree)",
	.run_random = bt_gtree_run_random,
	.run_sequential = bt_gtree_run_sequential,
	/* GSlice (GLib 2.74) keeps freed nodes in its magazines for seconds. */
	.cold_heap = bt_gtree_cold_heap,
};

static const struct bench_impl bench_impl_rbtree = {
	.name = "rbtree",
	.title = "libbsd RB tree (Linux type1)",
	.run_random = bt_rbtree_run_random,
	.run_sequential = bt_rbtree_run_sequential,
};

const struct bench_impl *bench_baseline(int which)
{
	switch (which) {
	case BENCH_GTREE:
		return &bench_impl_gtree;
	case BENCH_RBTREE:
		return &bench_impl_rbtree;
	default:
		return NULL;
	}
}

const char *bench_baselines_describe(void)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "GLib %u.%u.%u GTree; libbsd <bsd/sys/tree.h> RB tree",
		 glib_major_version, glib_minor_version, glib_micro_version);
	return buf;
}
