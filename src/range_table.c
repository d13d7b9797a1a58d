/* SPDX-License-Identifier: MIT */
/*
 * The range table: a B+-tree of non-overlapping inclusive ranges.
 *
 * WHAT IS STORED
 *
 * Every range is three 64-bit words: start, last (both inclusive, so a range
 * may end at UINT64_MAX) and the caller's value. The table never merges,
 * splits or clips ranges; it only refuses overlaps. Addresses are opaque
 * 64-bit numbers here (the containers above use bytes of IOVA space). No
 * address arithmetic can wrap: the only "+ 1" is applied to a value already
 * known to be below another address.
 *
 * THE TREE
 *
 * The tree is keyed by `last`. Because the ranges do not overlap, sorting by
 * `last` also sorts by `start`, and "the range that holds address x" is "the
 * first range whose last >= x, if its start <= x": a lower-bound search for x
 * over the lasts, then one comparison. The same lower bound, taken for a new
 * range's start, decides overlap on insert: [start, last] overlaps iff that
 * first range exists and begins at or below last.
 *
 *   - A leaf holds up to RT_LEAF_CAP ranges in ascending order in three
 *     parallel arrays, lasts[], starts[] and values[]: a search reads lasts[]
 *     only (RT_LEAF_CAP / 8 cache lines), then one line each of starts[] and
 *     values[]. Leaves are chained both ways (prev/next) in ascending order:
 *     iteration costs O(1) per range, and a leaf unlinks without a search.
 *   - An inner node holds up to RT_INNER_CAP children and, for each child, its
 *     pivot: the greatest `last` anywhere below that child.
 *   - Every leaf is at the same depth; table->height counts the inner levels
 *     (0: the root is a leaf). An empty table has no node at all.
 *   - table->max_last is the greatest last of all. A key above it has no
 *     lower bound (look-ups answer -ENOENT at once, inserts append on the
 *     right); any other key finds a pivot >= itself at every level, so a
 *     descent never needs a clamp and never reads a node's count.
 *
 * Unused key slots (lasts[] of a leaf, pivots[] of an inner node, from index
 * `count` up to the capacity) always hold RT_PAD = UINT64_MAX. That keeps each
 * key array sorted over its whole capacity, so a node's search runs over a
 * fixed length, with no branch on the data: first it counts the cache lines
 * whose last key is below the key sought (one independent load per line, all
 * in flight at once), then it bisects the one line found. A padded slot may
 * equal a real key of UINT64_MAX, but the lower bound is the first equal key,
 * the real one.
 *
 * Node sizes (measured, see the engine's benchmark notes): leaves of 32
 * ranges (832 bytes with the header, cache-line aligned), inner nodes of 64
 * children (1088 bytes). Filled in ascending order that is 26.5 bytes per
 * range all told; in random order about 38.
 *
 * INVARIANTS (all checked by dmakit_range_table_check())
 *
 *   1. In every leaf, start <= last for each range, and each range starts
 *      after the previous one's last (strictly), also across leaf boundaries:
 *      the ranges are sorted and disjoint.
 *   2. Every pivot equals the greatest last of its child's subtree, and key
 *      slots past `count` hold RT_PAD.
 *   3. Fill. The root: a leaf with >= 1 range, or an inner node with >= 2
 *      children. Every other node on the RIGHT SPINE (the rightmost node of
 *      its level, i.e. the path of last children from the root) holds >= 1
 *      entry. Every other node holds at least a quarter of its capacity
 *      (RT_LEAF_MIN, RT_INNER_MIN). The spine is exempt so that ascending
 *      inserts can leave every node behind them completely full (below).
 *   4. The leaf chain visits exactly the leaves of the tree, left to right.
 *   5. table->count, nr_leaves, nr_inners and max_last match the tree; the
 *      last-hit cache is empty or exact, and so is its path if it has one
 *      (below).
 *
 * INSERTION
 *
 * One descent records the path (node and child slot per level; there are no
 * parent pointers, so moving entries between nodes never has to fix up
 * children). An insert above max_last skips the searches and walks the last
 * children. A full leaf splits; a full parent then splits too, and so on, with
 * a new root when the old one splits. Before anything is changed, every node
 * the split chain needs is allocated, so -ENOMEM leaves the table exactly as
 * it was. Where a split falls:
 *   - appending at the right end of the rightmost node: the old node keeps all
 *     of its entries and the new right node receives only the new one. A run
 *     of ascending inserts therefore fills every node completely except the
 *     spine;
 *   - inserting at the left end of the leftmost node: the old node keeps only
 *     a minimum fill, so descending runs leave nodes about 3/4 full;
 *   - anywhere else: half and half.
 * A range that falls between two leaves has its lower bound at slot 0 of the
 * right one; if that leaf is full and the left one is not, it is appended to
 * the left one instead. So removing and re-inserting ranges never splits a
 * leaf for nothing, and churn does not thin the tree out.
 *
 * REMOVAL
 *
 * Removal never allocates. A node that falls below its minimum fill (spine
 * nodes excepted) merges with a sibling under the same parent when both fit
 * in one node, and otherwise borrows entries to even the two out; a merge
 * removes a child from the parent, which may cascade upwards. An empty node
 * is freed and unlinked. A root with a single child is replaced by that
 * child. remove_inside() removes a whole run of a leaf at once and descends
 * once per leaf, not once per range; a leaf it empties is freed without
 * moving anything.
 *
 * THE LAST-HIT CACHE
 *
 * table->hint is the leaf of the last look-up, with the window of keys whose
 * lower bound lies in it: [hint_low, hint_high] = (the previous leaf's max,
 * this leaf's max]. Both bounds are pivots that the descent has just read, so
 * keeping the cache costs three stores; a look-up inside the window skips the
 * descent. Every change of the ranges (insert, remove_inside, resize)
 * empties the cache; set_value and look-ups keep it. remove() is the
 * exception: it also keeps hint_path, the path from the root to the hint
 * leaf, and when a removal leaves the tree's shape alone (the leaf keeps
 * at least its minimum fill) the cache survives it, its high end following
 * the leaf's max down; the next removal inside the window then starts from
 * that path. Ascending removals (unmapping consecutive pages) so descend
 * once per leaf, not once per range. Look-ups set the hint without a path.
 *
 * COSTS
 *
 * Look-ups, inserts and removals are O(log n): one descent, one search per
 * node, and (insert/remove) a shift of at most RT_LEAF_CAP entries in three
 * arrays. Each node costs two dependent rounds of loads; between them the
 * search prefetches the line of children[] (or of starts[] and values[]) that
 * its answer will index, so that fetch overlaps the second round.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <dmakit/range_table.h>

#include "range_table_internal.h"

#include "fault_internal.h"

/* Node capacities, in entries. Powers of two, multiples of RT_LINE_KEYS. */
#ifndef RT_LEAF_CAP
#define RT_LEAF_CAP 32
#endif
#ifndef RT_INNER_CAP
#define RT_INNER_CAP 64
#endif

/* Minimum fill of a node that is neither the root nor on the right spine. */
#define RT_LEAF_MIN (RT_LEAF_CAP / 4)
#define RT_INNER_MIN (RT_INNER_CAP / 4)

/* 64-bit keys per 64-byte cache line. */
#define RT_LINE_KEYS 8

/* Alignment of every node, in bytes: key arrays start on a cache line. */
#define RT_NODE_ALIGN 64

/* The key of an unused slot. */
#define RT_PAD UINT64_MAX

/*
 * Most inner levels a tree can have. The root has >= 2 children and its first
 * child is off the spine, so a tree of height h holds at least
 * RT_LEAF_MIN * RT_INNER_MIN^(h - 1) ranges: fewer than 32 levels for 2^64
 * ranges even with both minimums at 4. (Real tables stay below 6.)
 */
#define RT_MAX_HEIGHT 40

_Static_assert((RT_LEAF_CAP & (RT_LEAF_CAP - 1)) == 0 &&
	       RT_LEAF_CAP >= 2 * RT_LINE_KEYS && RT_LEAF_CAP <= 256,
	       "leaf capacity: a power of two in [16, 256]");
_Static_assert((RT_INNER_CAP & (RT_INNER_CAP - 1)) == 0 &&
	       RT_INNER_CAP >= 2 * RT_LINE_KEYS && RT_INNER_CAP <= 256,
	       "inner capacity: a power of two in [16, 256]");

struct rt_leaf {
	/* Ascending; slots >= count hold RT_PAD. */
	_Alignas(RT_NODE_ALIGN) uint64_t lasts[RT_LEAF_CAP];
	uint64_t starts[RT_LEAF_CAP];
	uint64_t values[RT_LEAF_CAP];
	struct rt_leaf *prev; /* the leaf holding the ranges below, or NULL */
	struct rt_leaf *next; /* the leaf holding the ranges above, or NULL */
	unsigned int count;   /* ranges held, 1..RT_LEAF_CAP once linked */
};

struct rt_inner {
	/* pivots[i]: greatest last under children[i]; slots >= count: RT_PAD. */
	_Alignas(RT_NODE_ALIGN) uint64_t pivots[RT_INNER_CAP];
	void *children[RT_INNER_CAP]; /* struct rt_inner, or rt_leaf at the bottom */
	unsigned int count;           /* children held, 1..RT_INNER_CAP */
};

/*
 * A root-to-leaf descent: nodes[l] is the inner node at depth l (0 is the
 * root) and slots[l] the child taken there; the leaf is kept separately.
 */
struct rt_path {
	struct rt_inner *nodes[RT_MAX_HEIGHT];
	unsigned int slots[RT_MAX_HEIGHT];
};

struct dmakit_range_table {
	/* What a look-up reads, together in the first cache line. */
	void *root;          /* NULL when empty; a leaf when height == 0 */
	unsigned int height; /* inner levels above the leaves */
	uint64_t max_last;   /* greatest last in the table; 0 when empty */
	/*
	 * The last-hit cache: every key in [hint_low, hint_high] has its lower
	 * bound in the leaf hint. hint_low > hint_high when there is none.
	 */
	uint64_t hint_low;
	uint64_t hint_high;
	struct rt_leaf *hint;
	/* hint_path leads from the root to hint (set by remove() only). */
	bool hint_has_path;

	size_t count;     /* ranges held */
	size_t nr_leaves; /* leaves allocated, for memory() */
	size_t nr_inners; /* inner nodes allocated, for memory() */
	struct rt_path hint_path;
};

/*
 * Allocation. Every node and the table go through rt_alloc() and rt_free().
 * Like dmakit__malloc() (alloc.h), rt_alloc() asks the fault-injection switch
 * first, so the library's fail-nth tests reach every -ENOMEM path here too;
 * it does not call dmakit__malloc() because nodes want cache-line alignment.
 * RT_ALLOC_SIZE() is the bytes actually requested for an object of @size
 * bytes; memory() counts those.
 */
#define RT_ALLOC_SIZE(size) \
	(((size) + RT_NODE_ALIGN - 1) & ~(size_t)(RT_NODE_ALIGN - 1))

static void *rt_alloc(size_t size)
{
	if (dmakit__fault_check(DMAKIT_FAULT_ALLOC))
		return NULL;
	/* C11 wants the size to be a multiple of the alignment. */
	return aligned_alloc(RT_NODE_ALIGN, RT_ALLOC_SIZE(size));
}

static void rt_free(void *ptr)
{
	free(ptr);
}

/*
 * The lower-bound search of a node: the index of the first key >= @key among
 * its @cap keys (sorted, padded), or @cap when every key is smaller. In two
 * rounds, neither with a branch that depends on the data (measured against a
 * branch-free binary search of all the keys, which waits on one load per
 * halving, and against SIMD counts: as fast as the latter, portably):
 *
 * rt_search_line() counts the cache lines whose last key is < @key: one
 * independent load per line, all in flight at once. The last line is never
 * ruled out, so the answer lies in the line found (or is @cap).
 *
 * rt_search_in_line() bisects that line of RT_LINE_KEYS keys.
 *
 * Between the two rounds the callers prefetch the line of the other arrays
 * (children, or starts and values) that the answer will index, so that fetch
 * overlaps round two instead of following it.
 */
static inline unsigned int rt_search_line(const uint64_t *keys,
					  unsigned int cap, uint64_t key)
{
	unsigned int line = 0, i;

#pragma GCC unroll 32
	for (i = RT_LINE_KEYS - 1; i < cap - RT_LINE_KEYS; i += RT_LINE_KEYS)
		line += keys[i] < key;
	return line;
}

static inline unsigned int rt_search_in_line(const uint64_t *keys,
					     unsigned int line, uint64_t key)
{
	const uint64_t *k = keys + line * RT_LINE_KEYS;
	unsigned int pos = 0;

	_Static_assert(RT_LINE_KEYS == 8, "the bisection below is for 8 keys");
	pos += (unsigned int)(k[pos + 3] < key) * 4;
	pos += (unsigned int)(k[pos + 1] < key) * 2;
	pos += (unsigned int)(k[pos] < key);
	pos += (unsigned int)(k[pos] < key);
	return line * RT_LINE_KEYS + pos;
}

/*
 * The slot of the first range in @leaf with last >= @key, or the count when
 * there is none.
 */
static inline unsigned int rt_leaf_search(const struct rt_leaf *leaf,
					  uint64_t key)
{
	unsigned int line = rt_search_line(leaf->lasts, RT_LEAF_CAP, key);

	__builtin_prefetch(&leaf->starts[line * RT_LINE_KEYS]);
	__builtin_prefetch(&leaf->values[line * RT_LINE_KEYS]);
	return rt_search_in_line(leaf->lasts, line, key);
}

/*
 * The child slot of @inner to descend into for @key, which must not exceed
 * the node's max (then the slot is always < count: no clamp, and the node's
 * count, on another cache line, is not read).
 */
static inline unsigned int rt_inner_search(const struct rt_inner *inner,
					   uint64_t key)
{
	unsigned int line = rt_search_line(inner->pivots, RT_INNER_CAP, key);

	__builtin_prefetch(&inner->children[line * RT_LINE_KEYS]);
	return rt_search_in_line(inner->pivots, line, key);
}

/*
 * Prefetch the first @lines cache lines of a leaf as soon as its pointer is
 * known, before it is searched. The search's own loads come in two
 * dependent rounds (the line count, then the line), and starts[] and
 * values[] are read in lines that only its answer names; a single look-up
 * in a large table asks for all of them at once (RT_LEAF_LINES), which
 * turns those rounds into one wait for memory where the misses overlap. A
 * batch asks only for lasts[] (RT_LEAF_KEY_LINES) and names the one line of
 * starts[] and values[] later: with a group of look-ups in flight, the
 * extra lines cost more in memory traffic than they save in latency. Inner
 * nodes are not prefetched this way: their pivots' lines are loaded in
 * parallel by rt_search_line() anyway, and asking for children[] too
 * measured slower.
 */
#define RT_LEAF_KEY_LINES (RT_LEAF_CAP / RT_LINE_KEYS)
/*
 * A single descent prefetches its leaf only when the leaves hold more than
 * 8 MiB: then a leaf is most likely in DRAM, and overlapping its misses
 * saves a round trip of 150 ns or more (find_random at 1M: 213 -> 184 ns).
 * In a table whose leaves fit in L2/L3 (65,535 random ranges: 2.5 MB) the
 * twelve prefetches cost more than the L3 round trip they save
 * (find_random at 65,535: 50 -> 56 ns), so small tables do without.
 */
#define RT_PREFETCH_MIN_LEAVES ((8u << 20) / sizeof(struct rt_leaf))
#define RT_LEAF_LINES (3 * RT_LEAF_KEY_LINES)

/* Whether single descents prefetch the leaf (RT_PREFETCH_MIN_LEAVES). */
static inline bool rt_prefetch_leaves(const struct dmakit_range_table *table)
{
	return table->nr_leaves > RT_PREFETCH_MIN_LEAVES;
}

static inline void rt_leaf_prefetch(const void *leaf, unsigned int lines)
{
	unsigned int i;

#pragma GCC unroll 16
	for (i = 0; i < lines; i++)
		__builtin_prefetch((const char *)leaf + i * 64);
}

/* ---- nodes ------------------------------------------------------------ */

static struct rt_leaf *rt_leaf_alloc(struct dmakit_range_table *table)
{
	struct rt_leaf *leaf = rt_alloc(sizeof(*leaf));
	unsigned int i;

	if (!leaf)
		return NULL;
	for (i = 0; i < RT_LEAF_CAP; i++)
		leaf->lasts[i] = RT_PAD;
	leaf->prev = NULL;
	leaf->next = NULL;
	leaf->count = 0;
	table->nr_leaves++;
	return leaf;
}

static void rt_leaf_free(struct dmakit_range_table *table, struct rt_leaf *leaf)
{
	table->nr_leaves--;
	rt_free(leaf);
}

static struct rt_inner *rt_inner_alloc(struct dmakit_range_table *table)
{
	struct rt_inner *inner = rt_alloc(sizeof(*inner));
	unsigned int i;

	if (!inner)
		return NULL;
	for (i = 0; i < RT_INNER_CAP; i++) {
		inner->pivots[i] = RT_PAD;
		inner->children[i] = NULL;
	}
	inner->count = 0;
	table->nr_inners++;
	return inner;
}

static void rt_inner_free(struct dmakit_range_table *table,
			  struct rt_inner *inner)
{
	table->nr_inners--;
	rt_free(inner);
}

/* Copy @n ranges from @src[@src_slot] to @dst[@dst_slot]; may overlap. */
static void rt_leaf_move(struct rt_leaf *dst, unsigned int dst_slot,
			 const struct rt_leaf *src, unsigned int src_slot,
			 unsigned int n)
{
	memmove(&dst->lasts[dst_slot], &src->lasts[src_slot], n * sizeof(uint64_t));
	memmove(&dst->starts[dst_slot], &src->starts[src_slot], n * sizeof(uint64_t));
	memmove(&dst->values[dst_slot], &src->values[src_slot], n * sizeof(uint64_t));
}

/* Set the key of slots [@from, @to) to RT_PAD. */
static void rt_pad_keys(uint64_t *keys, unsigned int from, unsigned int to)
{
	for (; from < to; from++)
		keys[from] = RT_PAD;
}

static void rt_leaf_put(struct rt_leaf *leaf, unsigned int slot,
			uint64_t start, uint64_t last, uint64_t value)
{
	leaf->lasts[slot] = last;
	leaf->starts[slot] = start;
	leaf->values[slot] = value;
}

static void rt_leaf_get(const struct rt_leaf *leaf, unsigned int slot,
			struct dmakit_range *out)
{
	out->start = leaf->starts[slot];
	out->last = leaf->lasts[slot];
	out->value = leaf->values[slot];
}

/* Insert a range at @slot of a leaf that has room. */
static void rt_leaf_insert_at(struct rt_leaf *leaf, unsigned int slot,
			      uint64_t start, uint64_t last, uint64_t value)
{
	if (slot < leaf->count)
		rt_leaf_move(leaf, slot + 1, leaf, slot, leaf->count - slot);
	rt_leaf_put(leaf, slot, start, last, value);
	leaf->count++;
}

/* Remove the @n ranges at slots [@slot, @slot + @n) of a leaf. */
static void rt_leaf_remove_at(struct rt_leaf *leaf, unsigned int slot,
			      unsigned int n)
{
	unsigned int old_count = leaf->count;

	rt_leaf_move(leaf, slot, leaf, slot + n, old_count - slot - n);
	leaf->count = old_count - n;
	rt_pad_keys(leaf->lasts, leaf->count, old_count);
}

/*
 * rt_leaf_remove_at() for one range, inline: remove() calls it on every
 * removal, and a one-slot pad is a store, not a call to memset().
 */
static inline void rt_leaf_remove_one(struct rt_leaf *leaf, unsigned int slot)
{
	unsigned int count = leaf->count - 1;

	if (slot < count)
		rt_leaf_move(leaf, slot, leaf, slot + 1, count - slot);
	leaf->count = count;
	leaf->lasts[count] = RT_PAD;
}

static uint64_t rt_leaf_max(const struct rt_leaf *leaf)
{
	return leaf->lasts[leaf->count - 1];
}

/* Take @leaf out of the leaf chain. */
static void rt_leaf_unlink(struct rt_leaf *leaf)
{
	if (leaf->prev)
		leaf->prev->next = leaf->next;
	if (leaf->next)
		leaf->next->prev = leaf->prev;
}

/* Put @leaf into the chain right after @prev. */
static void rt_leaf_link_after(struct rt_leaf *prev, struct rt_leaf *leaf)
{
	leaf->prev = prev;
	leaf->next = prev->next;
	if (prev->next)
		prev->next->prev = leaf;
	prev->next = leaf;
}

static void rt_inner_move(struct rt_inner *dst, unsigned int dst_slot,
			  const struct rt_inner *src, unsigned int src_slot,
			  unsigned int n)
{
	memmove(&dst->pivots[dst_slot], &src->pivots[src_slot], n * sizeof(uint64_t));
	memmove(&dst->children[dst_slot], &src->children[src_slot], n * sizeof(void *));
}

static void rt_inner_insert_at(struct rt_inner *inner, unsigned int slot,
			       uint64_t pivot, void *child)
{
	if (slot < inner->count)
		rt_inner_move(inner, slot + 1, inner, slot, inner->count - slot);
	inner->pivots[slot] = pivot;
	inner->children[slot] = child;
	inner->count++;
}

static void rt_inner_remove_at(struct rt_inner *inner, unsigned int slot)
{
	rt_inner_move(inner, slot, inner, slot + 1, inner->count - slot - 1);
	inner->count--;
	inner->pivots[inner->count] = RT_PAD;
	inner->children[inner->count] = NULL;
}

static uint64_t rt_inner_max(const struct rt_inner *inner)
{
	return inner->pivots[inner->count - 1];
}

static void rt_free_subtree(void *node, unsigned int height)
{
	struct rt_inner *inner = node;
	unsigned int i;

	if (height) {
		for (i = 0; i < inner->count; i++)
			rt_free_subtree(inner->children[i], height - 1);
	}
	rt_free(node);
}

/* ---- descent ---------------------------------------------------------- */

/* Recompute table->max_last from the root after a removal. */
static void rt_update_max_last(struct dmakit_range_table *table)
{
	if (!table->root)
		table->max_last = 0;
	else if (table->height == 0)
		table->max_last = rt_leaf_max(table->root);
	else
		table->max_last = rt_inner_max(table->root);
}

/* Forget the last-hit cache; done by every change of the ranges. */
static void rt_hint_forget(struct dmakit_range_table *table)
{
	table->hint = NULL;
	table->hint_low = UINT64_MAX;
	table->hint_high = 0;
	table->hint_has_path = false;
}

/*
 * The leaf where the first range with last >= @key is. @key must not exceed
 * table->max_last (so the table is not empty). Records the path when @path is
 * not NULL.
 */
static inline struct rt_leaf *rt_descend(const struct dmakit_range_table *table,
					 uint64_t key, struct rt_path *path)
{
	void *node = table->root;
	unsigned int level;

	for (level = 0; level < table->height; level++) {
		struct rt_inner *inner = node;
		unsigned int slot = rt_inner_search(inner, key);

		if (path) {
			path->nodes[level] = inner;
			path->slots[level] = slot;
		}
		node = inner->children[slot];
	}
	if (rt_prefetch_leaves(table))
		rt_leaf_prefetch(node, RT_LEAF_LINES);
	return node;
}

/* The rightmost leaf, recording the path (of last children). */
static struct rt_leaf *rt_descend_rightmost(const struct dmakit_range_table *table,
					    struct rt_path *path)
{
	void *node = table->root;
	unsigned int level;

	for (level = 0; level < table->height; level++) {
		struct rt_inner *inner = node;

		path->nodes[level] = inner;
		path->slots[level] = inner->count - 1;
		node = inner->children[inner->count - 1];
	}
	return node;
}

/*
 * A look-up: the leaf holding the first range with last >= @key, which must
 * not exceed table->max_last. Answered by the last-hit cache when it can;
 * otherwise a descent, which then becomes the cache. The descent also yields
 * the keys the leaf answers for: above the pivot left of each slot taken
 * (the previous leaf's max, if any) and up to the pivot of the last slot
 * taken (this leaf's max) -- both read from lines the search touched.
 */
static inline struct rt_leaf *rt_lookup_leaf(struct dmakit_range_table *table,
					     uint64_t key)
{
	uint64_t low = 0, high = table->max_last;
	void *node = table->root;
	unsigned int level;

	if (key >= table->hint_low && key <= table->hint_high)
		return table->hint;
	for (level = 0; level < table->height; level++) {
		struct rt_inner *inner = node;
		unsigned int slot = rt_inner_search(inner, key);

		if (slot)
			low = inner->pivots[slot - 1] + 1;
		high = inner->pivots[slot];
		node = inner->children[slot];
	}
	if (rt_prefetch_leaves(table))
		rt_leaf_prefetch(node, RT_LEAF_LINES);
	table->hint = node;
	table->hint_low = low;
	table->hint_high = high;
	table->hint_has_path = false;
	return node;
}

/*
 * The subtree below path->nodes[@level] at path->slots[@level] now has the
 * greatest last @max: store it, and up the path as long as the changed child
 * is the last one of its node (only then does the node's own max change).
 */
static void rt_path_set_max(struct rt_path *path, unsigned int level,
			    uint64_t max)
{
	for (;;) {
		struct rt_inner *inner = path->nodes[level];
		unsigned int slot = path->slots[level];

		inner->pivots[slot] = max;
		if (level == 0 || slot != inner->count - 1)
			return;
		level--;
	}
}

/* Whether every node above path->nodes[@level] took its last child. */
static bool rt_path_right_edge(const struct rt_path *path, unsigned int level)
{
	unsigned int l;

	for (l = 0; l < level; l++) {
		if (path->slots[l] != path->nodes[l]->count - 1)
			return false;
	}
	return true;
}

/* Whether every node above path->nodes[@level] took its first child. */
static bool rt_path_left_edge(const struct rt_path *path, unsigned int level)
{
	unsigned int l;

	for (l = 0; l < level; l++) {
		if (path->slots[l] != 0)
			return false;
	}
	return true;
}

/* ---- insertion -------------------------------------------------------- */

/*
 * Split the full leaf @left while inserting a range at @slot: of the
 * RT_LEAF_CAP + 1 ranges, the first @left_count stay in @left and the rest go
 * to the empty @right.
 */
static void rt_leaf_split_insert(struct rt_leaf *left, struct rt_leaf *right,
				 unsigned int slot, unsigned int left_count,
				 uint64_t start, uint64_t last, uint64_t value)
{
	if (slot < left_count) {
		unsigned int keep = left_count - 1;

		rt_leaf_move(right, 0, left, keep, RT_LEAF_CAP - keep);
		right->count = RT_LEAF_CAP - keep;
		left->count = keep;
		rt_pad_keys(left->lasts, keep, RT_LEAF_CAP);
		rt_leaf_insert_at(left, slot, start, last, value);
	} else {
		unsigned int below = slot - left_count;

		rt_leaf_move(right, 0, left, left_count, below);
		rt_leaf_put(right, below, start, last, value);
		rt_leaf_move(right, below + 1, left, slot, RT_LEAF_CAP - slot);
		right->count = RT_LEAF_CAP + 1 - left_count;
		left->count = left_count;
		rt_pad_keys(left->lasts, left_count, RT_LEAF_CAP);
	}
}

/* The same for a full inner node gaining the child @child at @slot. */
static void rt_inner_split_insert(struct rt_inner *left, struct rt_inner *right,
				  unsigned int slot, unsigned int left_count,
				  uint64_t pivot, void *child)
{
	unsigned int i;

	if (slot < left_count) {
		unsigned int keep = left_count - 1;

		rt_inner_move(right, 0, left, keep, RT_INNER_CAP - keep);
		right->count = RT_INNER_CAP - keep;
		left->count = keep;
		rt_inner_insert_at(left, slot, pivot, child);
	} else {
		unsigned int below = slot - left_count;

		rt_inner_move(right, 0, left, left_count, below);
		right->pivots[below] = pivot;
		right->children[below] = child;
		rt_inner_move(right, below + 1, left, slot, RT_INNER_CAP - slot);
		right->count = RT_INNER_CAP + 1 - left_count;
		left->count = left_count;
	}
	for (i = left->count; i < RT_INNER_CAP; i++) {
		left->pivots[i] = RT_PAD;
		left->children[i] = NULL;
	}
}

/* Where a full leaf splits when a range is inserted at @slot. */
static unsigned int rt_leaf_split_point(const struct rt_leaf *leaf,
					unsigned int slot)
{
	if (slot == RT_LEAF_CAP && !leaf->next)
		return RT_LEAF_CAP; /* ascending run: keep this leaf full */
	if (slot == 0 && !leaf->prev)
		return RT_LEAF_MIN; /* descending run: keep the new right full */
	return (RT_LEAF_CAP + 1) / 2;
}

/* Where the full inner node path->nodes[@level] splits for a child at @slot. */
static unsigned int rt_inner_split_point(const struct rt_path *path,
					 unsigned int level, unsigned int slot)
{
	if (slot == RT_INNER_CAP && rt_path_right_edge(path, level))
		return RT_INNER_CAP;
	if (slot == 1 && rt_path_left_edge(path, level))
		return RT_INNER_MIN;
	return (RT_INNER_CAP + 1) / 2;
}

/*
 * Insert into the full leaf @leaf at @slot: split it, and every full node
 * above it, all nodes allocated first so that -ENOMEM changes nothing.
 */
static int rt_insert_split(struct dmakit_range_table *table,
			   struct rt_path *path, struct rt_leaf *leaf,
			   unsigned int slot, uint64_t start, uint64_t last,
			   uint64_t value)
{
	struct rt_inner *spare[RT_MAX_HEIGHT + 1];
	unsigned int nr_full = 0, nr_spare, used = 0, level, i;
	struct rt_leaf *right;
	uint64_t left_max, right_max;
	void *new_child;
	bool grow;

	while (nr_full < table->height &&
	       path->nodes[table->height - 1 - nr_full]->count == RT_INNER_CAP)
		nr_full++;
	grow = nr_full == table->height;
	if (grow && table->height == RT_MAX_HEIGHT)
		return -ENOMEM; /* cannot happen: see RT_MAX_HEIGHT */
	nr_spare = nr_full + grow;

	right = rt_leaf_alloc(table);
	if (!right)
		return -ENOMEM;
	for (i = 0; i < nr_spare; i++) {
		spare[i] = rt_inner_alloc(table);
		if (!spare[i]) {
			while (i--)
				rt_inner_free(table, spare[i]);
			rt_leaf_free(table, right);
			return -ENOMEM;
		}
	}

	/* Nothing can fail from here on. */
	rt_leaf_split_insert(leaf, right, slot, rt_leaf_split_point(leaf, slot),
			     start, last, value);
	rt_leaf_link_after(leaf, right);
	left_max = rt_leaf_max(leaf);
	right_max = rt_leaf_max(right);
	new_child = right;
	table->count++;

	for (level = table->height; level-- > 0;) {
		struct rt_inner *inner = path->nodes[level];
		unsigned int child_slot = path->slots[level] + 1;
		struct rt_inner *sibling;

		inner->pivots[child_slot - 1] = left_max;
		if (inner->count < RT_INNER_CAP) {
			rt_inner_insert_at(inner, child_slot, right_max, new_child);
			if (child_slot == inner->count - 1 && level > 0)
				rt_path_set_max(path, level - 1, right_max);
			return 0;
		}
		sibling = spare[used++];
		rt_inner_split_insert(inner, sibling, child_slot,
				      rt_inner_split_point(path, level, child_slot),
				      right_max, new_child);
		left_max = rt_inner_max(inner);
		right_max = rt_inner_max(sibling);
		new_child = sibling;
	}

	/* The root itself split: a new root above the two halves. */
	{
		struct rt_inner *root = spare[used++];

		root->pivots[0] = left_max;
		root->children[0] = table->root;
		root->pivots[1] = right_max;
		root->children[1] = new_child;
		root->count = 2;
		table->root = root;
		table->height++;
	}
	return 0;
}

/*
 * A new range that falls between two leaves has its lower bound at slot 0 of
 * the right one, @leaf. When that leaf is full but the previous leaf has
 * room, append the range there instead of splitting: otherwise a
 * remove-and-reinsert at a leaf boundary would split a full leaf each time,
 * and a tree churned that way would drift towards half-full leaves.
 *
 * The previous leaf's max rises to @last. Its path leaves @path at the
 * deepest level where @path did not take the first child; there the pivot
 * left of the slot taken is its subtree's max, and below it the previous
 * leaf is reached through last children, whose pivots are all that max.
 * Above that level nothing changes. @returns whether the range was placed.
 */
static bool rt_insert_into_prev_leaf(struct dmakit_range_table *table,
				     struct rt_path *path, struct rt_leaf *leaf,
				     uint64_t start, uint64_t last,
				     uint64_t value)
{
	struct rt_leaf *prev = leaf->prev;
	struct rt_inner *inner;
	unsigned int level;
	void *node;

	if (!prev || prev->count == RT_LEAF_CAP)
		return false;
	/* A leaf with a predecessor is below some slot > 0 of the path. */
	level = table->height;
	while (path->slots[--level] == 0)
		;
	inner = path->nodes[level];
	inner->pivots[path->slots[level] - 1] = last;
	node = inner->children[path->slots[level] - 1];
	for (level++; level < table->height; level++) {
		inner = node;
		inner->pivots[inner->count - 1] = last;
		node = inner->children[inner->count - 1];
	}
	rt_leaf_put(prev, prev->count, start, last, value);
	prev->count++;
	table->count++;
	return true;
}

DMAKIT_EXPORT struct dmakit_range_table *dmakit_range_table_create(void)
{
	struct dmakit_range_table *table = rt_alloc(sizeof(*table));

	if (!table)
		return NULL;
	memset(table, 0, sizeof(*table));
	rt_hint_forget(table);
	return table;
}

DMAKIT_EXPORT void dmakit_range_table_destroy(struct dmakit_range_table *table)
{
	if (!table)
		return;
	if (table->root)
		rt_free_subtree(table->root, table->height);
	rt_free(table);
}

DMAKIT_EXPORT int dmakit_range_table_insert(struct dmakit_range_table *table,
					    uint64_t start, uint64_t last,
					    uint64_t value)
{
	struct rt_path path;
	struct rt_leaf *leaf;
	unsigned int slot;

	if (!table || last < start)
		return -EINVAL;

	if (!table->root) {
		leaf = rt_leaf_alloc(table);
		if (!leaf)
			return -ENOMEM;
		rt_leaf_put(leaf, 0, start, last, value);
		leaf->count = 1;
		table->root = leaf;
		table->count = 1;
		table->max_last = last;
		return 0;
	}

	if (start > table->max_last) {
		/* Above everything: append to the rightmost leaf. */
		leaf = rt_descend_rightmost(table, &path);
		slot = leaf->count;
	} else {
		/* The first range with last >= start decides overlap. */
		leaf = rt_descend(table, start, &path);
		slot = rt_leaf_search(leaf, start);
		if (leaf->starts[slot] <= last)
			return -EEXIST;
	}

	if (leaf->count == RT_LEAF_CAP) {
		int ret;

		if (slot == 0 &&
		    rt_insert_into_prev_leaf(table, &path, leaf, start, last, value))
			goto inserted;
		ret = rt_insert_split(table, &path, leaf, slot, start, last, value);
		if (ret)
			return ret;
	} else {
		rt_leaf_insert_at(leaf, slot, start, last, value);
		table->count++;
		/* Only an append raises the leaf's max (and the spine's). */
		if (slot == leaf->count - 1 && table->height)
			rt_path_set_max(&path, table->height - 1, last);
	}
inserted:
	if (last > table->max_last)
		table->max_last = last;
	rt_hint_forget(table);
	return 0;
}

/* ---- look-ups --------------------------------------------------------- */

DMAKIT_EXPORT int dmakit_range_table_find(struct dmakit_range_table *table,
					  uint64_t addr,
					  struct dmakit_range *out)
{
	struct rt_leaf *leaf;
	unsigned int slot;

	if (!table)
		return -EINVAL;
	if (!table->root || addr > table->max_last)
		return -ENOENT;
	leaf = rt_lookup_leaf(table, addr);
	/* addr <= the leaf's max, so the slot holds a range. */
	slot = rt_leaf_search(leaf, addr);
	if (leaf->starts[slot] > addr)
		return -ENOENT;
	if (out)
		rt_leaf_get(leaf, slot, out);
	return 0;
}

/*
 * Batched look-ups. One look-up is a chain of dependent loads: each node's
 * address comes out of its parent, so its misses cannot overlap one another.
 * The look-ups of different addresses are independent, though, so a group
 * of RT_GROUP of them descends in step, one level at a time, and each level
 * runs as two passes over the group: pass one counts the lines of every
 * node (a leaf's key lines were prefetched by the level above) and
 * prefetches the line of children[] (or starts[] and values[]) its answer
 * names; pass two finishes each search and reads the child. While one
 * address waits for memory, the others' requests are in flight: the group
 * pays about one latency per level instead of one per address per level
 * (group prefetching). The root, in cache for every look-up, takes one
 * pass. Groups of 8, 16 and 32 were measured; 32 was best at 1M ranges.
 */
#ifndef RT_GROUP
#define RT_GROUP 32
#endif

static size_t rt_find_group(struct dmakit_range_table *table,
			    const uint64_t *addrs, unsigned int m,
			    struct dmakit_range *out, int *results)
{
	void *node[RT_GROUP];
	bool descend[RT_GROUP];
	unsigned int line[RT_GROUP];
	unsigned int height = table->height, level, i, last_descent = RT_GROUP;
	size_t found = 0;

	/*
	 * Where each address starts: nowhere when nothing can hold it (empty
	 * table, or above max_last), at the cached leaf when it falls in the
	 * last-hit window, else at the root.
	 */
	for (i = 0; i < m; i++) {
		uint64_t key = addrs[i];

		descend[i] = false;
		if (!table->root || key > table->max_last) {
			node[i] = NULL;
		} else if (key >= table->hint_low && key <= table->hint_high) {
			node[i] = table->hint;
		} else {
			node[i] = table->root;
			descend[i] = true;
			last_descent = i;
		}
	}

	for (level = 0; level < height && last_descent < RT_GROUP; level++) {
		bool to_leaf = level + 1 == height;

		/*
		 * Every look-up reads the root, so it is in cache: one pass,
		 * without waiting on a prefetch.
		 */
		for (i = 0; i < m && level == 0; i++) {
			const struct rt_inner *inner = node[i];
			unsigned int slot;

			if (!descend[i])
				continue;
			slot = rt_inner_search(inner, addrs[i]);
			node[i] = inner->children[slot];
			if (to_leaf)
				rt_leaf_prefetch(node[i], RT_LEAF_KEY_LINES);
		}
		if (level == 0)
			continue;
		for (i = 0; i < m; i++) {
			const struct rt_inner *inner = node[i];

			if (!descend[i])
				continue;
			line[i] = rt_search_line(inner->pivots, RT_INNER_CAP, addrs[i]);
			__builtin_prefetch(&inner->children[line[i] * RT_LINE_KEYS]);
		}
		for (i = 0; i < m; i++) {
			const struct rt_inner *inner = node[i];
			unsigned int slot;

			if (!descend[i])
				continue;
			slot = rt_search_in_line(inner->pivots, line[i], addrs[i]);
			node[i] = inner->children[slot];
			if (to_leaf)
				rt_leaf_prefetch(node[i], RT_LEAF_KEY_LINES);
		}
	}

	for (i = 0; i < m; i++) {
		const struct rt_leaf *leaf = node[i];

		if (!leaf)
			continue;
		line[i] = rt_search_line(leaf->lasts, RT_LEAF_CAP, addrs[i]);
		__builtin_prefetch(&leaf->starts[line[i] * RT_LINE_KEYS]);
		__builtin_prefetch(&leaf->values[line[i] * RT_LINE_KEYS]);
	}
	for (i = 0; i < m; i++) {
		const struct rt_leaf *leaf = node[i];
		unsigned int slot;

		if (leaf) {
			/* addrs[i] <= max_last: the slot holds a range. */
			slot = rt_search_in_line(leaf->lasts, line[i], addrs[i]);
			if (leaf->starts[slot] <= addrs[i]) {
				if (out)
					rt_leaf_get(leaf, slot, &out[i]);
				if (results)
					results[i] = 0;
				found++;
				continue;
			}
		}
		if (results)
			results[i] = -ENOENT;
	}

	/*
	 * The last descent becomes the last-hit cache, as find() leaves it.
	 * Its path is in cache now, so descending again for the window costs
	 * less than carrying every address's window through the levels.
	 */
	if (last_descent < RT_GROUP)
		rt_lookup_leaf(table, addrs[last_descent]);
	return found;
}

DMAKIT_EXPORT int64_t dmakit_range_table_find_batch(struct dmakit_range_table *table,
						    const uint64_t *addrs, size_t n,
						    struct dmakit_range *out,
						    int *results)
{
	size_t done, found = 0;

	if (!table || (n && !addrs) || n > INT64_MAX)
		return -EINVAL;
	for (done = 0; done < n; done += RT_GROUP) {
		unsigned int m = n - done < RT_GROUP ? (unsigned int)(n - done) : RT_GROUP;

		found += rt_find_group(table, addrs + done, m, out ? out + done : NULL,
				       results ? results + done : NULL);
	}
	return (int64_t)found;
}

DMAKIT_EXPORT int dmakit_range_table_first_overlap(struct dmakit_range_table *table,
						   uint64_t start, uint64_t last,
						   struct dmakit_range *out)
{
	struct rt_leaf *leaf;
	unsigned int slot;

	if (!table || last < start)
		return -EINVAL;
	if (!table->root || start > table->max_last)
		return -ENOENT;
	leaf = rt_lookup_leaf(table, start);
	slot = rt_leaf_search(leaf, start);
	if (leaf->starts[slot] > last)
		return -ENOENT;
	if (out)
		rt_leaf_get(leaf, slot, out);
	return 0;
}

DMAKIT_EXPORT int dmakit_range_table_set_value(struct dmakit_range_table *table,
					       uint64_t start, uint64_t value)
{
	struct rt_leaf *leaf;
	unsigned int slot;

	if (!table)
		return -EINVAL;
	if (!table->root || start > table->max_last)
		return -ENOENT;
	leaf = rt_lookup_leaf(table, start);
	slot = rt_leaf_search(leaf, start);
	if (leaf->starts[slot] != start)
		return -ENOENT;
	leaf->values[slot] = value;
	return 0;
}

DMAKIT_EXPORT size_t dmakit_range_table_count(const struct dmakit_range_table *table)
{
	return table ? table->count : 0;
}

DMAKIT_EXPORT size_t dmakit_range_table_memory(const struct dmakit_range_table *table)
{
	if (!table)
		return 0;
	return RT_ALLOC_SIZE(sizeof(*table)) +
	       table->nr_leaves * RT_ALLOC_SIZE(sizeof(struct rt_leaf)) +
	       table->nr_inners * RT_ALLOC_SIZE(sizeof(struct rt_inner));
}

/* ---- removal ---------------------------------------------------------- */

static void rt_inner_lost_child(struct dmakit_range_table *table,
				struct rt_path *path, unsigned int level,
				unsigned int slot);

/* While the root is an inner node with one child, make that child the root. */
static void rt_collapse_root(struct dmakit_range_table *table)
{
	while (table->height) {
		struct rt_inner *root = table->root;

		if (root->count != 1)
			return;
		table->root = root->children[0];
		table->height--;
		rt_inner_free(table, root);
	}
}

/*
 * @leaf, at the bottom of @path and off the spine, has fallen below
 * RT_LEAF_MIN: merge it with a sibling under the same parent or borrow from
 * one.
 */
static void rt_leaf_rebalance(struct dmakit_range_table *table,
			      struct rt_path *path, struct rt_leaf *leaf)
{
	unsigned int level = table->height - 1;
	struct rt_inner *parent = path->nodes[level];
	unsigned int slot = path->slots[level];

	/* A node off the spine always has a sibling under its parent. */
	if (slot + 1 < parent->count) {
		struct rt_leaf *right = parent->children[slot + 1];

		if (leaf->count + right->count <= RT_LEAF_CAP) {
			rt_leaf_move(leaf, leaf->count, right, 0, right->count);
			leaf->count += right->count;
			parent->pivots[slot] = parent->pivots[slot + 1];
			rt_leaf_unlink(right);
			rt_leaf_free(table, right);
			rt_inner_lost_child(table, path, level, slot + 1);
		} else {
			unsigned int n = (right->count - leaf->count) / 2;

			rt_leaf_move(leaf, leaf->count, right, 0, n);
			leaf->count += n;
			rt_leaf_remove_at(right, 0, n);
			parent->pivots[slot] = rt_leaf_max(leaf);
		}
	} else {
		struct rt_leaf *left = parent->children[slot - 1];

		if (left->count + leaf->count <= RT_LEAF_CAP) {
			rt_leaf_move(left, left->count, leaf, 0, leaf->count);
			left->count += leaf->count;
			parent->pivots[slot - 1] = parent->pivots[slot];
			rt_leaf_unlink(leaf);
			rt_leaf_free(table, leaf);
			rt_inner_lost_child(table, path, level, slot);
		} else {
			unsigned int n = (left->count - leaf->count) / 2;

			rt_leaf_move(leaf, n, leaf, 0, leaf->count);
			rt_leaf_move(leaf, 0, left, left->count - n, n);
			leaf->count += n;
			left->count -= n;
			rt_pad_keys(left->lasts, left->count, left->count + n);
			parent->pivots[slot - 1] = rt_leaf_max(left);
		}
	}
}

/* The same for the inner node path->nodes[@level] (off the spine, not root). */
static void rt_inner_rebalance(struct dmakit_range_table *table,
			       struct rt_path *path, unsigned int level)
{
	struct rt_inner *node = path->nodes[level];
	struct rt_inner *parent = path->nodes[level - 1];
	unsigned int slot = path->slots[level - 1];
	unsigned int i;

	if (slot + 1 < parent->count) {
		struct rt_inner *right = parent->children[slot + 1];

		if (node->count + right->count <= RT_INNER_CAP) {
			rt_inner_move(node, node->count, right, 0, right->count);
			node->count += right->count;
			parent->pivots[slot] = parent->pivots[slot + 1];
			rt_inner_free(table, right);
			rt_inner_lost_child(table, path, level - 1, slot + 1);
		} else {
			unsigned int n = (right->count - node->count) / 2;

			rt_inner_move(node, node->count, right, 0, n);
			node->count += n;
			rt_inner_move(right, 0, right, n, right->count - n);
			for (i = right->count - n; i < right->count; i++) {
				right->pivots[i] = RT_PAD;
				right->children[i] = NULL;
			}
			right->count -= n;
			parent->pivots[slot] = rt_inner_max(node);
		}
	} else {
		struct rt_inner *left = parent->children[slot - 1];

		if (left->count + node->count <= RT_INNER_CAP) {
			rt_inner_move(left, left->count, node, 0, node->count);
			left->count += node->count;
			parent->pivots[slot - 1] = parent->pivots[slot];
			rt_inner_free(table, node);
			rt_inner_lost_child(table, path, level - 1, slot);
		} else {
			unsigned int n = (left->count - node->count) / 2;

			rt_inner_move(node, n, node, 0, node->count);
			rt_inner_move(node, 0, left, left->count - n, n);
			node->count += n;
			for (i = left->count - n; i < left->count; i++) {
				left->pivots[i] = RT_PAD;
				left->children[i] = NULL;
			}
			left->count -= n;
			parent->pivots[slot - 1] = rt_inner_max(left);
		}
	}
}

/*
 * The child at @slot of path->nodes[@level] has been freed (its pivot may
 * already have been folded into a sibling's): drop the entry, then repair
 * the pivots above, the fill of this node, and the root.
 */
static void rt_inner_lost_child(struct dmakit_range_table *table,
				struct rt_path *path, unsigned int level,
				unsigned int slot)
{
	struct rt_inner *inner = path->nodes[level];
	bool was_last = slot == inner->count - 1;

	rt_inner_remove_at(inner, slot);

	if (inner->count == 0) {
		/* Only a spine node (never the root) loses its last child. */
		rt_inner_free(table, inner);
		if (level == 0) {
			table->root = NULL;
			table->height = 0;
			return;
		}
		rt_inner_lost_child(table, path, level - 1, path->slots[level - 1]);
		return;
	}
	if (level == 0) {
		rt_collapse_root(table);
		return;
	}
	if (was_last)
		rt_path_set_max(path, level - 1, rt_inner_max(inner));
	if (inner->count < RT_INNER_MIN && !rt_path_right_edge(path, level))
		rt_inner_rebalance(table, path, level);
}

/*
 * Ranges were removed from @leaf, reached through @path: free it if empty,
 * fix the pivots above it, and restore its fill.
 */
static void rt_leaf_shrunk(struct dmakit_range_table *table,
			   struct rt_path *path, struct rt_leaf *leaf)
{
	unsigned int height = table->height;

	if (leaf->count == 0) {
		rt_leaf_unlink(leaf);
		rt_leaf_free(table, leaf);
		if (height == 0)
			table->root = NULL;
		else
			rt_inner_lost_child(table, path, height - 1,
					    path->slots[height - 1]);
		return;
	}
	if (height == 0)
		return;
	rt_path_set_max(path, height - 1, rt_leaf_max(leaf));
	/* The rightmost leaf (the spine's) may hold as little as one range. */
	if (leaf->count < RT_LEAF_MIN && leaf->next)
		rt_leaf_rebalance(table, path, leaf);
}

/*
 * remove() keeps the last-hit cache and the path to its leaf when it takes a
 * range out of a leaf without restructuring the tree (no node freed, no
 * entries moved between nodes), and the next remove() in that leaf's window
 * starts from that path instead of descending: a run of removals in
 * ascending order (an unmap of consecutive pages) descends once per leaf.
 * The path stays exact because nothing but pivots changed; the window's
 * upper end follows the leaf's max down.
 */
DMAKIT_EXPORT int dmakit_range_table_remove(struct dmakit_range_table *table,
					    uint64_t start,
					    struct dmakit_range *out)
{
	struct rt_path *path;
	struct rt_leaf *leaf;
	unsigned int slot, level;
	uint64_t low;

	if (!table)
		return -EINVAL;
	path = &table->hint_path;
	if (!table->root || start > table->max_last)
		return -ENOENT;
	if (table->hint_has_path && start >= table->hint_low &&
	    start <= table->hint_high) {
		leaf = table->hint;
		low = table->hint_low;
	} else {
		rt_hint_forget(table);
		leaf = rt_descend(table, start, path);
		/* The window's low end: past the pivot left of the deepest slot > 0. */
		low = 0;
		for (level = table->height; level-- > 0;) {
			if (path->slots[level]) {
				low = path->nodes[level]->pivots[path->slots[level] - 1] + 1;
				break;
			}
		}
	}
	slot = rt_leaf_search(leaf, start);
	if (leaf->starts[slot] != start)
		return -ENOENT;
	if (out)
		rt_leaf_get(leaf, slot, out);
	rt_leaf_remove_one(leaf, slot);
	table->count--;
	if (leaf->count == 0 || (leaf->count < RT_LEAF_MIN && leaf->next)) {
		/* The leaf goes, or merges or borrows: the path is no more. */
		rt_hint_forget(table);
		rt_leaf_shrunk(table, path, leaf);
	} else {
		/* What rt_leaf_shrunk() does for a leaf that keeps its fill. */
		if (slot == leaf->count && table->height)
			rt_path_set_max(path, table->height - 1, rt_leaf_max(leaf));
		table->hint = leaf;
		table->hint_low = low;
		table->hint_high = rt_leaf_max(leaf);
		table->hint_has_path = true;
	}
	rt_update_max_last(table);
	return 0;
}

DMAKIT_EXPORT int64_t dmakit_range_table_remove_inside(
	struct dmakit_range_table *table, uint64_t start, uint64_t last,
	void (*removed_cb)(void *ctx, const struct dmakit_range *range),
	void *ctx)
{
	struct dmakit_range batch[RT_LEAF_CAP];
	uint64_t key = start;
	int64_t removed = 0;

	if (!table || last < start)
		return -EINVAL;

	/*
	 * The ranges wholly inside [start, last] are consecutive: those from
	 * the first range with last >= start (skipped if it begins below start)
	 * up to the last one with last <= last. Take them one leaf at a time.
	 */
	while (table->root && key <= table->max_last) {
		struct rt_path path;
		struct rt_leaf *leaf = rt_descend(table, key, &path);
		unsigned int first = rt_leaf_search(leaf, key), end, n, i;
		uint64_t examined_max;
		bool whole_leaf;

		if (leaf->starts[first] < start)
			first++; /* only partly inside */
		end = first;
		while (end < leaf->count && leaf->lasts[end] <= last)
			end++;
		if (end == 0)
			break; /* the first range examined ends above last */
		examined_max = leaf->lasts[end - 1];
		whole_leaf = end == leaf->count;

		n = end - first;
		if (n) {
			for (i = 0; i < n; i++)
				rt_leaf_get(leaf, first + i, &batch[i]);
			rt_hint_forget(table);
			rt_leaf_remove_at(leaf, first, n);
			table->count -= n;
			rt_leaf_shrunk(table, &path, leaf);
			rt_update_max_last(table);
			if (removed_cb) {
				for (i = 0; i < n; i++)
					removed_cb(ctx, &batch[i]);
			}
			removed += n;
		}
		/*
		 * Stop when a range ending above last was seen (the run ended
		 * inside the leaf) or nothing inside can follow; otherwise
		 * examined_max < last <= UINT64_MAX, so the + 1 cannot wrap.
		 * The leaf itself may be gone by now.
		 */
		if (!whole_leaf || examined_max >= last)
			break;
		key = examined_max + 1;
	}
	return removed;
}

/* ---- iteration -------------------------------------------------------- */

DMAKIT_EXPORT int dmakit_range_table_seek(const struct dmakit_range_table *table,
					  uint64_t addr,
					  struct dmakit_range_cursor *cursor,
					  struct dmakit_range *out)
{
	const struct rt_leaf *leaf;
	unsigned int slot;

	if (!table || !cursor)
		return -EINVAL;
	cursor->table = table;
	cursor->leaf = NULL;
	cursor->slot = 0;
	if (!table->root || addr > table->max_last)
		return -ENOENT;
	leaf = rt_descend(table, addr, NULL);
	slot = rt_leaf_search(leaf, addr);
	cursor->leaf = leaf;
	cursor->slot = slot;
	if (out)
		rt_leaf_get(leaf, slot, out);
	return 0;
}

DMAKIT_EXPORT int dmakit_range_table_next(struct dmakit_range_cursor *cursor,
					  struct dmakit_range *out)
{
	const struct rt_leaf *leaf;
	unsigned int slot;

	if (!cursor)
		return -EINVAL;
	leaf = cursor->leaf;
	if (!leaf)
		return -ENOENT;
	slot = cursor->slot + 1;
	if (slot >= leaf->count) {
		leaf = leaf->next;
		slot = 0;
	}
	cursor->leaf = leaf;
	cursor->slot = slot;
	if (!leaf)
		return -ENOENT;
	if (out)
		rt_leaf_get(leaf, slot, out);
	return 0;
}

/* ---- invariant check -------------------------------------------------- */

struct rt_check {
	const struct dmakit_range_table *table;
	const struct rt_leaf *prev_leaf; /* last leaf visited, in tree order */
	size_t ranges;
	size_t leaves;
	size_t inners;
	uint64_t hint_low; /* what hint_low must be, once the hint leaf is seen */
	bool hint_seen;
};

static bool rt_check_leaf(struct rt_check *check, const struct rt_leaf *leaf,
			  bool is_root, bool on_spine)
{
	const struct rt_leaf *prev = check->prev_leaf;
	unsigned int i;

	if (leaf->count < 1 || leaf->count > RT_LEAF_CAP)
		return false;
	if (!is_root && !on_spine && leaf->count < RT_LEAF_MIN)
		return false;
	for (i = 0; i < leaf->count; i++) {
		if (leaf->starts[i] > leaf->lasts[i])
			return false;
		if (i && leaf->starts[i] <= leaf->lasts[i - 1])
			return false;
	}
	for (; i < RT_LEAF_CAP; i++) {
		if (leaf->lasts[i] != RT_PAD)
			return false;
	}
	if (leaf->prev != prev)
		return false;
	if (prev && (prev->next != leaf || leaf->starts[0] <= rt_leaf_max(prev)))
		return false;
	if (on_spine != !leaf->next)
		return false;
	if (leaf == check->table->hint) {
		check->hint_seen = true;
		check->hint_low = prev ? rt_leaf_max(prev) + 1 : 0;
	}
	check->prev_leaf = leaf;
	check->ranges += leaf->count;
	check->leaves++;
	return true;
}

/* Check the subtree at @node (@depth inner levels below the root). */
static bool rt_check_node(struct rt_check *check, const void *node,
			  unsigned int depth, bool on_spine, uint64_t *max)
{
	const struct rt_inner *inner = node;
	bool is_root = depth == 0;
	unsigned int i;

	if (!node || depth > check->table->height)
		return false;
	if (depth == check->table->height) {
		if (!rt_check_leaf(check, node, is_root, on_spine))
			return false;
		*max = rt_leaf_max(node);
		return true;
	}

	if (inner->count < (is_root ? 2u : 1u) || inner->count > RT_INNER_CAP)
		return false;
	if (!is_root && !on_spine && inner->count < RT_INNER_MIN)
		return false;
	for (i = 0; i < inner->count; i++) {
		uint64_t child_max;

		if (!rt_check_node(check, inner->children[i], depth + 1,
				   on_spine && i == inner->count - 1, &child_max))
			return false;
		if (inner->pivots[i] != child_max)
			return false;
	}
	for (; i < RT_INNER_CAP; i++) {
		if (inner->pivots[i] != RT_PAD)
			return false;
	}
	check->inners++;
	*max = rt_inner_max(inner);
	return true;
}

/* Whether hint_path leads from the root to the hint leaf. */
static bool rt_check_hint_path(const struct dmakit_range_table *table)
{
	const struct rt_path *path = &table->hint_path;
	const void *node = table->root;
	unsigned int level;

	for (level = 0; level < table->height; level++) {
		const struct rt_inner *inner = node;

		if (path->nodes[level] != inner || path->slots[level] >= inner->count)
			return false;
		node = inner->children[path->slots[level]];
	}
	return node == table->hint;
}

DMAKIT_EXPORT int dmakit_range_table_check(const struct dmakit_range_table *table)
{
	struct rt_check check = { .table = table };
	uint64_t max;

	if (!table)
		return -EINVAL;
	if (!table->root) {
		if (table->count || table->height || table->nr_leaves ||
		    table->nr_inners || table->max_last || table->hint ||
		    table->hint_low <= table->hint_high)
			return -EUCLEAN;
		return 0;
	}
	if (table->height > RT_MAX_HEIGHT ||
	    !rt_check_node(&check, table->root, 0, true, &max))
		return -EUCLEAN;
	if (check.prev_leaf->next || check.ranges != table->count ||
	    check.leaves != table->nr_leaves || check.inners != table->nr_inners)
		return -EUCLEAN;
	if (table->max_last != max)
		return -EUCLEAN;
	/* The cache, if any, names a leaf and exactly the keys it answers. */
	if (table->hint) {
		if (!check.hint_seen || table->hint_low != check.hint_low ||
		    table->hint_high != rt_leaf_max(table->hint))
			return -EUCLEAN;
		if (table->hint_has_path && !rt_check_hint_path(table))
			return -EUCLEAN;
	} else if (table->hint_low <= table->hint_high || table->hint_has_path) {
		return -EUCLEAN;
	}
	return 0;
}

/* ---- in-place bounds (range_table_internal.h) ------------------------- */

int dmakit__range_table_resize(struct dmakit_range_table *table, uint64_t start,
			       uint64_t new_start, uint64_t new_last)
{
	struct rt_path path;
	struct rt_leaf *leaf;
	unsigned int slot;

	if (!table || new_last < new_start)
		return -EINVAL;
	if (!table->root || start > table->max_last)
		return -ENOENT;
	leaf = rt_descend(table, start, &path);
	slot = rt_leaf_search(leaf, start);
	if (slot >= leaf->count || leaf->starts[slot] != start)
		return -ENOENT;
	/* Neighbours: the new bounds must stay strictly between them. */
	if (slot > 0 ? leaf->lasts[slot - 1] >= new_start :
		       (leaf->prev && rt_leaf_max(leaf->prev) >= new_start))
		return -EEXIST;
	if (slot + 1 < leaf->count ? leaf->starts[slot + 1] <= new_last :
				     (leaf->next && leaf->next->starts[0] <= new_last))
		return -EEXIST;
	leaf->starts[slot] = new_start;
	leaf->lasts[slot] = new_last;
	if (slot == leaf->count - 1) {
		if (table->height)
			rt_path_set_max(&path, table->height - 1, new_last);
		if (!leaf->next)
			table->max_last = new_last;
	}
	rt_hint_forget(table);
	return 0;
}

int dmakit__range_table_fill_holes(struct dmakit_range_table *table, uint64_t start,
				   uint64_t last, uint64_t value)
{
	struct dmakit_range r;
	uint64_t addr = start;
	int ret;

	while (addr <= last) {
		uint64_t gap_last;

		if (dmakit_range_table_find(table, addr, &r) == 0) {
			if (r.last >= last)
				return 0;
			addr = r.last + 1;
			continue;
		}
		/* A hole starting at addr: fill it up to the next range. */
		if (dmakit_range_table_first_overlap(table, addr, last, &r) == 0)
			gap_last = r.start - 1;
		else
			gap_last = last;
		ret = dmakit_range_table_insert(table, addr, gap_last, value);
		if (ret < 0)
			return ret;
		if (gap_last == last)
			return 0;
		addr = gap_last + 1;
	}
	return 0;
}
