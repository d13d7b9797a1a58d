/* SPDX-License-Identifier: MIT */
/*
 * The IO page-table model: what one IOMMU domain's page table costs.
 *
 * Sources: /work/shared/reference/kernel-semantics.md, section 3 (iommu_map,
 * iommu_pgsize, __iommu_unmap, the generic_pt map_pages / __unmap_range rules)
 * and section 1.5 (type1 calls iommu_map once per physically contiguous run).
 * Nothing here is taken from Linux; the rules are restated and replayed.
 *
 * Units: every address and size is in BYTES. A "shift" is log2 of a size in
 * bytes. Leaf and table counts are plain counts.
 *
 * Geometry (VT-d / x86_64 / AMD v2 style, native sizes only):
 *   - a table page is 4 KiB: 512 entries of 8 bytes;
 *   - a leaf at level L maps 4 KiB << (9 * L) bytes (4K, 2M, 1G, 512G, 256T);
 *   - a table at level l covers 4 KiB << (9 * (l + 1)) bytes and sits at index
 *     `iova >> (12 + 9 * (l + 1))` of its level ("table (l, index)");
 *   - the top table is at level `levels - 1`, index 0; it always exists and is
 *     counted in table_pages; the address width is 12 + 9 * levels bits
 *     (levels 1 to DMAKIT_IOPT_MAX_LEVELS are accepted; VT-d uses 3 to 5).
 * The configured pgsize_bitmap may hold only native sizes whose level is
 * below `levels` (4K|2M|1G for VT-d). Non-native sizes (AMD v1's replicated
 * PTEs, ARM's 64K granule) and AMD's dynamic top level are not modelled:
 * create() returns NULL for such a bitmap.
 *
 * What is stored:
 *   - Leaves as RUNS: (start, shift, count) = `count` leaves of 1 << shift
 *     bytes at start, start + (1 << shift), ... Runs never overlap, and two
 *     runs that touch with the same leaf size are merged, so mapping a 1 TiB
 *     guest as 268M separate 4 KiB maps in ascending order stores one run.
 *     Physical addresses are not stored (nothing here needs them). The run
 *     store is a treap used only through the runs_* functions (find the run
 *     at or below / at or above an address, insert, remove, reserve), so it
 *     can be swapped for the project's range table.
 *   - Tables as records in an open-addressing hash keyed by (level, index),
 *     one 16-byte slot per table page that exists, at a load of at most 3/4
 *     (the top table lives in the model itself). A record counts its live
 *     entries: n_leaves (leaf entries) and n_tables (lower tables present).
 *     Memory is therefore per table page and per run, never per PTE.
 *
 * Invariants (checked by dmakit__iopt_model_check()):
 *   I1 every leaf has all tables on its path, from its own level up to the
 *      top, present; each table's parent is present;
 *   I2 a table record's n_leaves / n_tables equal the leaves and child tables
 *      that lie in its span one level down;
 *   I3 runs are sorted, disjoint, aligned to their leaf size, and inside the
 *      address width; stats.leaves[L] is the sum of counts of level-L runs;
 *   I4 table_pages = 1 + tables in the hash; table_pages_peak >= table_pages.
 * A table can exist with no entries: the kernel keeps a table whose leaves
 * went away in unmap calls that each covered less than its span.
 *
 * map (iommu_map of one contiguous run): check iova | paddr | size against
 * the smallest page, size != 0, no overflow, the address width (-EINVAL);
 * then any existing leaf in [iova, iova + size) gives -EADDRINUSE. Both are
 * decided before anything changes, and the memory map needs is reserved
 * before anything changes too (-ENOMEM), so an error leaves the model as it
 * was, map_calls included (the kernel undoes a failed iommu_map through
 * iommu_unmap, which can leave table pages behind; the contract here is
 * all-or-nothing). Then, for each
 * dmakit_iommu_pgsize() step (pgsize, count): create the missing tables on
 * the leaves' paths, top down; install the leaves; for a leaf above level 0
 * whose slot holds a lower table (which holds no leaf, or the overlap check
 * would have failed), free that table and every table below it (generic_pt
 * clear_contig). table_pages_peak is sampled after each step's allocations,
 * before that step's frees.
 *
 * unmap (__iommu_unmap): returns 0 unless iova and size are aligned to the
 * smallest page and iova + size does not wrap. Each step takes
 * dmakit_iommu_pgsize(bitmap, iova, iova, remaining) and replays one
 * unmap_pages(iova, pgsize * count):
 *   - nothing is mapped at iova, or the step range leaves the address width:
 *     the step unmaps 0 and the unmap stops;
 *   - otherwise the leaf holding iova (even if iova is inside it) and every
 *     following leaf that starts inside the step range is removed, in address
 *     order, up to the first hole; the step reports the bytes of the removed
 *     leaves, which can exceed the step; iova and the total advance by that;
 *   - a lower table is freed (with everything below it) only when its whole
 *     span lies inside BOTH the step range and the bytes this step removed,
 *     i.e. that single call covered the span and walked it to the end;
 *   - the top table is never freed.
 * unmap_calls counts every unmap call made on a model.
 *
 * Memory: unmap needs at most one new run record per step (removing the
 * middle of a run splits it). The record comes from a small reserve that
 * every call tops up; if the allocator has failed so that the reserve is
 * empty, a step that needs a split unmaps nothing and the unmap stops there.
 * Unmap may also shrink the table hash once it is 1/8 full; if that
 * allocation fails the old hash stays. Destroy never fails.
 *
 * Cost: map and unmap are O(log runs + table pages touched), independent of
 * the number of leaves (one call mapping 1 TiB as 4K leaves walks its
 * 525K table pages once, never its 268M leaves).
 *
 * Thread safety: none; a model is owned by one container.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <dmakit/iopt_model.h>

#include "alloc.h"

/* ---- allocation: every byte goes through here (fault injection hooks) --- */

static void *iopt_zalloc(size_t size)
{
	return dmakit__calloc(1, size);
}

static void *iopt_zalloc_array(size_t nmemb, size_t size)
{
	return dmakit__calloc(nmemb, size);
}

static void iopt_free(void *ptr)
{
	dmakit__free(ptr);
}

/* ---- geometry ---------------------------------------------------------- */

#define PT_SHIFT 12u          /* a 4 KiB table page / level-0 leaf */
#define PT_BITS 9u            /* 512 entries per table */
#define PT_ENTRIES 512u

static unsigned int leaf_shift(unsigned int level)
{
	return PT_SHIFT + PT_BITS * level;
}

/* log2 of the span of a table at @level; index = iova >> table_shift(). */
static unsigned int table_shift(unsigned int level)
{
	return PT_SHIFT + PT_BITS * (level + 1);
}

static unsigned int fls64_idx(uint64_t v) /* index of the highest set bit, v != 0 */
{
	return 63u - (unsigned int)__builtin_clzll(v);
}

static unsigned int ffs64_idx(uint64_t v) /* index of the lowest set bit, v != 0 */
{
	return (unsigned int)__builtin_ctzll(v);
}

/* Bits 0..@hi set. */
static uint64_t mask_upto(unsigned int hi)
{
	return hi >= 63 ? UINT64_MAX : (2ull << hi) - 1;
}

DMAKIT_EXPORT uint64_t dmakit_iommu_pgsize(uint64_t pgsize_bitmap, uint64_t iova,
					   uint64_t paddr, uint64_t size,
					   uint64_t *count)
{
	uint64_t addr_merge = iova | paddr;
	uint64_t cands, pgsize, bigger, next, offset;
	unsigned int idx;

	if (count)
		*count = 0;
	if (!size)
		return 0;
	/* Sizes <= size, then sizes the alignment of iova | paddr allows. */
	cands = pgsize_bitmap & mask_upto(fls64_idx(size));
	if (addr_merge)
		cands &= mask_upto(ffs64_idx(addr_merge));
	if (!cands)
		return 0;
	idx = fls64_idx(cands);
	pgsize = 1ull << idx;

	/*
	 * When iova and paddr sit at the same offset inside the next bigger
	 * page, stop at that page's boundary so the bigger page can start there,
	 * provided at least one bigger page still fits after it.
	 */
	bigger = pgsize_bitmap & ~mask_upto(idx);
	if (bigger) {
		next = 1ull << ffs64_idx(bigger);
		if (((iova ^ paddr) & (next - 1)) == 0) {
			offset = next - (addr_merge & (next - 1));
			if (offset <= size && next <= size - offset)
				size = offset;
		}
	}
	if (count)
		*count = size >> idx;
	return pgsize;
}

/* ---- run store: a treap of leaf runs keyed by start --------------------- */

struct run {
	uint64_t start;  /* iova of the first leaf, bytes */
	uint64_t count;  /* leaves in the run, >= 1 */
	struct run *left, *right;
	uint32_t prio;   /* treap heap key */
	unsigned int shift; /* log2 of the leaf size */
};

#define RUN_SPARE_MAX 8 /* spare records kept for later splits and merges */

struct run_store {
	struct run *root;
	struct run *spare; /* free records, linked through ->right */
	size_t count;      /* records in the tree */
	size_t nspare;
	uint32_t seed;     /* xorshift32 state for priorities */
};

static uint64_t run_end(const struct run *r) /* exclusive; < 2^58, no wrap */
{
	return r->start + (r->count << r->shift);
}

static uint32_t runs_prio(struct run_store *rs)
{
	uint32_t x = rs->seed;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rs->seed = x;
	return x;
}

/* Make sure @n spare records exist. @returns 0 or -ENOMEM (no change). */
static int runs_reserve(struct run_store *rs, size_t n)
{
	while (rs->nspare < n) {
		struct run *r = iopt_zalloc(sizeof(*r));

		if (!r)
			return -ENOMEM;
		r->right = rs->spare;
		rs->spare = r;
		rs->nspare++;
	}
	return 0;
}

static struct run *runs_take_spare(struct run_store *rs)
{
	struct run *r = rs->spare;

	if (r) {
		rs->spare = r->right;
		rs->nspare--;
		memset(r, 0, sizeof(*r));
	}
	return r;
}

static void runs_put_spare(struct run_store *rs, struct run *r)
{
	if (rs->nspare >= RUN_SPARE_MAX) {
		iopt_free(r);
		return;
	}
	r->right = rs->spare;
	rs->spare = r;
	rs->nspare++;
}

/* The run with the greatest start <= @addr, or NULL. */
static struct run *runs_find_le(const struct run_store *rs, uint64_t addr)
{
	struct run *n = rs->root, *best = NULL;

	while (n) {
		if (n->start <= addr) {
			best = n;
			n = n->right;
		} else {
			n = n->left;
		}
	}
	return best;
}

/* The run with the smallest start >= @addr, or NULL. */
static struct run *runs_find_ge(const struct run_store *rs, uint64_t addr)
{
	struct run *n = rs->root, *best = NULL;

	while (n) {
		if (n->start >= addr) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

static struct run *treap_insert(struct run *root, struct run *node)
{
	struct run *c;

	if (!root)
		return node;
	if (node->start < root->start) {
		root->left = treap_insert(root->left, node);
		if (root->left->prio > root->prio) {
			c = root->left;
			root->left = c->right;
			c->right = root;
			root = c;
		}
	} else {
		root->right = treap_insert(root->right, node);
		if (root->right->prio > root->prio) {
			c = root->right;
			root->right = c->left;
			c->left = root;
			root = c;
		}
	}
	return root;
}

/* Join two treaps, every key of @a below every key of @b. */
static struct run *treap_join(struct run *a, struct run *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (a->prio > b->prio) {
		a->right = treap_join(a->right, b);
		return a;
	}
	b->left = treap_join(a, b->left);
	return b;
}

static struct run *treap_remove(struct run *root, const struct run *victim)
{
	if (root == victim)
		return treap_join(root->left, root->right);
	if (victim->start < root->start)
		root->left = treap_remove(root->left, victim);
	else
		root->right = treap_remove(root->right, victim);
	return root;
}

/* Insert a record taken from the reserve (cannot fail). */
static void runs_insert(struct run_store *rs, struct run *r)
{
	r->left = r->right = NULL;
	r->prio = runs_prio(rs);
	rs->root = treap_insert(rs->root, r);
	rs->count++;
}

static void runs_remove(struct run_store *rs, struct run *r)
{
	rs->root = treap_remove(rs->root, r);
	rs->count--;
	runs_put_spare(rs, r);
}

static void treap_free(struct run *n)
{
	while (n) {
		struct run *right = n->right;

		treap_free(n->left);
		iopt_free(n);
		n = right;
	}
}

static void runs_destroy(struct run_store *rs)
{
	struct run *r;

	treap_free(rs->root);
	while ((r = rs->spare)) {
		rs->spare = r->right;
		iopt_free(r);
	}
	rs->root = NULL;
	rs->count = rs->nspare = 0;
}

/*
 * Add @count leaves of 1 << @shift at @start, merging with touching runs of
 * the same leaf size. Needs one spare record (cannot fail then).
 */
static void runs_add(struct run_store *rs, uint64_t start, unsigned int shift,
		     uint64_t count)
{
	uint64_t end = start + (count << shift);
	struct run *left = start ? runs_find_le(rs, start - 1) : NULL;
	struct run *right = runs_find_ge(rs, end);
	struct run *r;

	if (left && (left->shift != shift || run_end(left) != start))
		left = NULL;
	if (right && (right->shift != shift || right->start != end))
		right = NULL;
	if (left && right) {
		left->count += count + right->count;
		runs_remove(rs, right);
	} else if (left) {
		left->count += count;
	} else if (right) {
		right->start = start; /* order is kept: nothing lies in between */
		right->count += count;
	} else {
		r = runs_take_spare(rs);
		r->start = start;
		r->shift = shift;
		r->count = count;
		runs_insert(rs, r);
	}
}

/* ---- table records: open-addressing hash keyed by (level, index) -------- */

struct table_rec {
	uint64_t key;      /* index << 3 | level; TABLE_EMPTY when free */
	uint16_t n_leaves; /* leaf entries in this table, 0..512 */
	uint16_t n_tables; /* lower tables present under this table, 0..512 */
};

#define TABLE_EMPTY UINT64_MAX
#define TABLE_MIN_CAP 64u

struct table_hash {
	struct table_rec *slots;
	size_t cap;   /* a power of two, or 0 */
	size_t count; /* records in use */
};

static uint64_t table_key(unsigned int level, uint64_t index)
{
	return index << 3 | level;
}

static size_t table_hash_of(uint64_t key, size_t cap)
{
	key ^= key >> 31;
	key *= 0x7fb5d329728ea185ull;
	key ^= key >> 27;
	key *= 0x81dadef4bc2dd44dull;
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

static struct table_rec *hash_find(const struct table_hash *h, uint64_t key)
{
	size_t i;

	if (!h->cap)
		return NULL;
	for (i = table_hash_of(key, h->cap);; i = (i + 1) & (h->cap - 1)) {
		if (h->slots[i].key == key)
			return &h->slots[i];
		if (h->slots[i].key == TABLE_EMPTY)
			return NULL;
	}
}

/* Insert a new record; capacity must have been reserved. */
static struct table_rec *hash_insert(struct table_hash *h, uint64_t key)
{
	size_t i = table_hash_of(key, h->cap);

	while (h->slots[i].key != TABLE_EMPTY)
		i = (i + 1) & (h->cap - 1);
	h->slots[i].key = key;
	h->slots[i].n_leaves = 0;
	h->slots[i].n_tables = 0;
	h->count++;
	return &h->slots[i];
}

/* Remove @rec (backward-shift deletion: records after it may move). */
static void hash_delete(struct table_hash *h, struct table_rec *rec)
{
	size_t mask = h->cap - 1;
	size_t hole = (size_t)(rec - h->slots);
	size_t i = hole;

	for (;;) {
		size_t home;

		i = (i + 1) & mask;
		if (h->slots[i].key == TABLE_EMPTY)
			break;
		home = table_hash_of(h->slots[i].key, h->cap);
		/* Move slot i into the hole unless its home lies in (hole, i]. */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			h->slots[hole] = h->slots[i];
			hole = i;
		}
	}
	h->slots[hole].key = TABLE_EMPTY;
	h->count--;
}

static int hash_resize(struct table_hash *h, size_t cap)
{
	struct table_rec *slots = iopt_zalloc_array(cap, sizeof(*slots));
	struct table_hash nh = { slots, cap, 0 };
	size_t i;

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < cap; i++)
		slots[i].key = TABLE_EMPTY;
	for (i = 0; i < h->cap; i++) {
		if (h->slots[i].key != TABLE_EMPTY)
			*hash_insert(&nh, h->slots[i].key) = h->slots[i];
	}
	iopt_free(h->slots);
	*h = nh;
	return 0;
}

/* Room for @extra more records at a load of at most 3/4. */
static int hash_reserve(struct table_hash *h, uint64_t extra)
{
	uint64_t need = (uint64_t)h->count + extra;
	size_t cap = h->cap ? h->cap : TABLE_MIN_CAP;

	if (need * 4 <= (uint64_t)h->cap * 3)
		return 0;
	if (need > SIZE_MAX / 8 / sizeof(struct table_rec))
		return -ENOMEM;
	while (need * 4 > (uint64_t)cap * 3)
		cap *= 2;
	if (cap == h->cap)
		return 0;
	return hash_resize(h, cap);
}

/* Give memory back once the hash is mostly empty; failing is harmless. */
static void hash_maybe_shrink(struct table_hash *h)
{
	size_t cap = h->cap;

	if (cap <= TABLE_MIN_CAP || h->count * 8 > cap)
		return;
	while (cap > TABLE_MIN_CAP && h->count * 4 < cap / 2)
		cap /= 2;
	if (cap != h->cap)
		(void)hash_resize(h, cap);
}

/* ---- the model ---------------------------------------------------------- */

struct dmakit_iopt_model {
	uint64_t pgsize_bitmap;
	uint64_t min_pgsize;
	uint64_t last_iova;  /* last byte of the address width, inclusive */
	unsigned int levels;
	unsigned int top;    /* level of the top table: levels - 1 */
	struct table_rec top_rec; /* the top table's counts (key unused) */
	struct table_hash tables; /* every table below the top */
	struct run_store runs;
	struct dmakit_iopt_stats stats; /* table_pages derived on read */
	uint64_t table_pages_peak;
};

/* Internal, for tests; declared again in tests/unit/test_iopt_model.c. */
int dmakit__iopt_model_check(const struct dmakit_iopt_model *model);

static uint64_t table_pages(const struct dmakit_iopt_model *m)
{
	return 1 + (uint64_t)m->tables.count;
}

static void note_peak(struct dmakit_iopt_model *m)
{
	if (table_pages(m) > m->table_pages_peak)
		m->table_pages_peak = table_pages(m);
}

static struct table_rec *table_get(struct dmakit_iopt_model *m,
				   unsigned int level, uint64_t index)
{
	if (level == m->top)
		return &m->top_rec;
	return hash_find(&m->tables, table_key(level, index));
}

/* Level of a leaf of 1 << @shift, or -1 when it is not a native size. */
static int leaf_level_of(unsigned int shift)
{
	if (shift < PT_SHIFT || (shift - PT_SHIFT) % PT_BITS)
		return -1;
	return (int)((shift - PT_SHIFT) / PT_BITS);
}

DMAKIT_EXPORT struct dmakit_iopt_model *
dmakit_iopt_model_create(const struct dmakit_iopt_config *cfg)
{
	struct dmakit_iopt_model *m;
	uint64_t bits;

	if (!cfg || !cfg->pgsize_bitmap || cfg->levels < 1 ||
	    cfg->levels > DMAKIT_IOPT_MAX_LEVELS)
		return NULL;
	for (bits = cfg->pgsize_bitmap; bits; bits &= bits - 1) {
		int level = leaf_level_of(ffs64_idx(bits));

		if (level < 0 || (unsigned int)level >= cfg->levels)
			return NULL;
	}
	m = iopt_zalloc(sizeof(*m));
	if (!m)
		return NULL;
	m->pgsize_bitmap = cfg->pgsize_bitmap;
	m->min_pgsize = 1ull << ffs64_idx(cfg->pgsize_bitmap);
	m->levels = cfg->levels;
	m->top = cfg->levels - 1;
	m->last_iova = mask_upto(leaf_shift(cfg->levels) - 1);
	m->runs.seed = 0x9e3779b9u;
	m->table_pages_peak = 1;
	if (runs_reserve(&m->runs, 1)) {
		iopt_free(m);
		return NULL;
	}
	return m;
}

DMAKIT_EXPORT void dmakit_iopt_model_destroy(struct dmakit_iopt_model *model)
{
	if (!model)
		return;
	runs_destroy(&model->runs);
	iopt_free(model->tables.slots);
	iopt_free(model);
}

/* Free table (@level, @index), which holds no leaf, and every table below. */
static void free_subtree(struct dmakit_iopt_model *m, unsigned int level,
			 uint64_t index)
{
	struct table_rec *rec = hash_find(&m->tables, table_key(level, index));
	unsigned int left;
	uint64_t c;

	if (!rec)
		return;
	left = rec->n_tables;
	hash_delete(&m->tables, rec);
	if (level == 0 || !left)
		return;
	for (c = index << PT_BITS; left && c < (index + 1) << PT_BITS; c++) {
		if (hash_find(&m->tables, table_key(level - 1, c))) {
			free_subtree(m, level - 1, c);
			left--;
		}
	}
}

/*
 * Loop once per table (one level up from the leaves) that holds some of the
 * @count leaves of 1 << @shift starting at @start: @t is the table's index,
 * @addr the address of the first of those leaves, @k how many they are.
 */
#define FOR_EACH_TABLE_CHUNK(start, shift, count, t, addr, k)                \
	for (uint64_t addr = (start), left_ = (count), t, k;                     \
	     left_ && ((t = addr >> ((shift) + PT_BITS)),                        \
		       (k = PT_ENTRIES - ((addr >> (shift)) & (PT_ENTRIES - 1))), \
		       (k = k < left_ ? k : left_), 1);                          \
	     addr += k << (shift), left_ -= k)

/* Tables one step of a map would allocate (skipping those counted already). */
static uint64_t step_missing_tables(struct dmakit_iopt_model *m, uint64_t s,
				    uint64_t len, unsigned int leaf_level,
				    uint64_t seen[DMAKIT_IOPT_MAX_LEVELS])
{
	uint64_t missing = 0, t, first, last;
	unsigned int l;

	for (l = leaf_level; l < m->top; l++) {
		first = s >> table_shift(l);
		last = (s + len - 1) >> table_shift(l);
		if (seen[l] != UINT64_MAX && first <= seen[l])
			first = seen[l] + 1;
		for (t = first; t <= last; t++) {
			if (!hash_find(&m->tables, table_key(l, t)))
				missing++;
		}
		if (seen[l] == UINT64_MAX || last > seen[l])
			seen[l] = last;
	}
	return missing;
}

/* One map step: @count leaves of 1 << @shift at @s. Cannot fail. */
static void map_step(struct dmakit_iopt_model *m, uint64_t s,
		     unsigned int shift, uint64_t count)
{
	unsigned int leaf_level = (unsigned int)leaf_level_of(shift);
	uint64_t len = count << shift, t;
	unsigned int l;

	/* Tables on every leaf's path, top down, so parents exist first. */
	for (l = m->top; l-- > leaf_level;) {
		uint64_t first = s >> table_shift(l);
		uint64_t last = (s + len - 1) >> table_shift(l);

		for (t = first; t <= last; t++) {
			struct table_rec *parent;

			if (hash_find(&m->tables, table_key(l, t)))
				continue;
			/* Inserting moves no record: @parent stays valid. */
			parent = table_get(m, l + 1, t >> PT_BITS);
			hash_insert(&m->tables, table_key(l, t));
			if (parent) /* always: created on the previous pass */
				parent->n_tables++;
		}
	}
	note_peak(m);

	/* The leaves, freeing any (leafless) lower table in their slots. */
	FOR_EACH_TABLE_CHUNK(s, shift, count, tidx, addr, k) {
		struct table_rec *rec = table_get(m, leaf_level, tidx);
		unsigned int freed = 0;
		uint64_t i;

		if (!rec) /* cannot happen: created above */
			continue;
		rec->n_leaves += (uint16_t)k;
		if (leaf_level > 0 && rec->n_tables) {
			for (i = 0; i < k; i++) {
				uint64_t lower = (addr >> shift) + i;
				uint64_t key = table_key(leaf_level - 1, lower);

				if (hash_find(&m->tables, key)) {
					free_subtree(m, leaf_level - 1, lower);
					freed++;
				}
			}
			/* Deletions may have moved records: look it up again. */
			rec = table_get(m, leaf_level, tidx);
			if (rec)
				rec->n_tables -= (uint16_t)freed;
		}
	}
	m->stats.leaves[leaf_level] += count;
	runs_add(&m->runs, s, shift, count);
}

DMAKIT_EXPORT int dmakit_iopt_model_map(struct dmakit_iopt_model *model, uint64_t iova,
					uint64_t paddr, uint64_t size)
{
	struct dmakit_iopt_model *m = model;
	uint64_t seen[DMAKIT_IOPT_MAX_LEVELS];
	uint64_t last, missing = 0, steps = 0;
	uint64_t s, pa, left, pgsize, count;
	struct run *r;
	unsigned int l, level;
	int ret;

	if (!m || !size || ((iova | paddr | size) & (m->min_pgsize - 1)))
		return -EINVAL;
	if (size - 1 > UINT64_MAX - iova || size - 1 > UINT64_MAX - paddr)
		return -EINVAL;
	last = iova + (size - 1);
	if (last > m->last_iova)
		return -EINVAL;

	r = runs_find_le(&m->runs, last);
	if (r && run_end(r) > iova)
		return -EADDRINUSE;

	/* Dry run: count steps and tables to reserve, so nothing fails later. */
	for (l = 0; l < DMAKIT_IOPT_MAX_LEVELS; l++)
		seen[l] = UINT64_MAX;
	for (s = iova, pa = paddr, left = size; left; steps++) {
		pgsize = dmakit_iommu_pgsize(m->pgsize_bitmap, s, pa, left, &count);
		if (!pgsize)
			return -EINVAL; /* cannot happen: alignment was checked */
		level = (unsigned int)leaf_level_of(ffs64_idx(pgsize));
		missing += step_missing_tables(m, s, pgsize * count, level, seen);
		s += pgsize * count;
		pa += pgsize * count;
		left -= pgsize * count;
	}
	ret = hash_reserve(&m->tables, missing);
	if (!ret)
		ret = runs_reserve(&m->runs, steps + 1);
	if (ret)
		return ret;

	for (s = iova, pa = paddr, left = size; left;) {
		pgsize = dmakit_iommu_pgsize(m->pgsize_bitmap, s, pa, left, &count);
		map_step(m, s, ffs64_idx(pgsize), count);
		s += pgsize * count;
		pa += pgsize * count;
		left -= pgsize * count;
	}
	m->stats.map_calls++;
	return 0;
}

/* Take @n leaves of 1 << @shift at @s off their tables' counts. */
static void leaves_removed(struct dmakit_iopt_model *m, uint64_t s,
			   unsigned int shift, uint64_t n)
{
	unsigned int leaf_level = (unsigned int)leaf_level_of(shift);

	FOR_EACH_TABLE_CHUNK(s, shift, n, tidx, addr, k) {
		struct table_rec *rec = table_get(m, leaf_level, tidx);

		(void)addr;
		if (rec) /* always, by I1 */
			rec->n_leaves -= (uint16_t)k;
	}
	m->stats.leaves[leaf_level] -= n;
}

/*
 * Free every table whose span lies inside [lo, hi], looking below table
 * (@level, @index), which exists and whose span meets [lo, hi].
 */
static void free_covered(struct dmakit_iopt_model *m, unsigned int level,
			 uint64_t index, uint64_t lo, uint64_t hi)
{
	struct table_rec *rec = table_get(m, level, index);
	unsigned int cl, cs, freed = 0;
	uint64_t c, first, last;

	if (level == 0 || !rec || !rec->n_tables)
		return;
	cl = level - 1;
	cs = table_shift(cl);
	first = lo >> cs;
	last = hi >> cs;
	if (first < index << PT_BITS)
		first = index << PT_BITS;
	if (last > (index << PT_BITS) + PT_ENTRIES - 1)
		last = (index << PT_BITS) + PT_ENTRIES - 1;
	for (c = first; c <= last; c++) {
		uint64_t span_lo = c << cs, span_hi = span_lo + ((1ull << cs) - 1);

		if (!hash_find(&m->tables, table_key(cl, c)))
			continue;
		if (span_lo >= lo && span_hi <= hi) {
			free_subtree(m, cl, c);
			freed++;
		} else {
			free_covered(m, cl, c, lo, hi);
		}
	}
	rec = table_get(m, level, index); /* deletions may have moved it */
	if (rec)
		rec->n_tables -= (uint16_t)freed;
}

/*
 * One unmap_pages(@a, @len) of the driver. @returns the bytes of the leaves
 * removed (0 at a hole or when the range leaves the address width).
 */
static uint64_t unmap_pages(struct dmakit_iopt_model *m, uint64_t a, uint64_t len)
{
	uint64_t b, first, pos, i0, i_end, n, orig;
	struct run *r, *tail;

	if (a > m->last_iova || len - 1 > m->last_iova - a)
		return 0;
	b = a + (len - 1);
	r = runs_find_le(&m->runs, a);
	if (!r || run_end(r) <= a)
		return 0;
	i0 = (a - r->start) >> r->shift;
	first = r->start + (i0 << r->shift);

	/* Removing the middle of the first run splits it: needs a record. */
	i_end = ((b - r->start) >> r->shift) + 1;
	if (i0 > 0 && i_end < r->count && !m->runs.nspare)
		return 0;

	pos = first;
	for (;;) {
		i0 = (pos - r->start) >> r->shift;
		i_end = ((b - r->start) >> r->shift) + 1;
		if (i_end > r->count)
			i_end = r->count;
		n = i_end - i0;
		leaves_removed(m, pos, r->shift, n);
		pos = r->start + (i_end << r->shift);
		orig = r->count;
		if (i0 == 0 && i_end == orig) {
			runs_remove(&m->runs, r);
		} else if (i0 == 0) {
			r->start = pos;
			r->count = orig - i_end;
		} else if (i_end == orig) {
			r->count = i0;
		} else {
			r->count = i0;
			tail = runs_take_spare(&m->runs);
			tail->start = pos;
			tail->shift = r->shift;
			tail->count = orig - i_end;
			runs_insert(&m->runs, tail);
		}
		if (pos > b)
			break;
		r = runs_find_ge(&m->runs, pos);
		if (!r || r->start != pos)
			break; /* a hole */
	}

	/* Tables this single call covered and walked to their end. */
	free_covered(m, m->top, 0, a, (pos - 1 < b ? pos - 1 : b));
	return pos - first;
}

DMAKIT_EXPORT uint64_t dmakit_iopt_model_unmap(struct dmakit_iopt_model *model,
					       uint64_t iova, uint64_t size)
{
	struct dmakit_iopt_model *m = model;
	uint64_t unmapped = 0, pgsize, count, n;

	if (!m)
		return 0;
	m->stats.unmap_calls++;
	if (!size || ((iova | size) & (m->min_pgsize - 1)) ||
	    size - 1 > UINT64_MAX - iova)
		return 0;
	while (unmapped < size) {
		pgsize = dmakit_iommu_pgsize(m->pgsize_bitmap, iova, iova,
					     size - unmapped, &count);
		if (!pgsize)
			break;
		(void)runs_reserve(&m->runs, 1); /* for a split; may fail */
		n = unmap_pages(m, iova, pgsize * count);
		if (!n)
			break;
		iova += n;
		unmapped += n;
	}
	hash_maybe_shrink(&m->tables);
	(void)runs_reserve(&m->runs, 1);
	return unmapped;
}

DMAKIT_EXPORT void dmakit_iopt_model_stats(const struct dmakit_iopt_model *model,
					   struct dmakit_iopt_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!model)
		return;
	*out = model->stats;
	out->table_pages = table_pages(model);
	out->table_pages_peak = model->table_pages_peak;
}

DMAKIT_EXPORT size_t dmakit_iopt_model_memory(const struct dmakit_iopt_model *model)
{
	if (!model)
		return 0;
	return sizeof(*model) + model->tables.cap * sizeof(struct table_rec) +
	       (model->runs.count + model->runs.nspare) * sizeof(struct run);
}

/* ---- self check (tests) ------------------------------------------------- */

struct check_ctx {
	const struct dmakit_iopt_model *m;
	struct table_hash copy; /* counts left to account for */
	struct table_rec top;
	uint64_t leaves[DMAKIT_IOPT_MAX_LEVELS];
	uint64_t prev_end;
	int bad;
};

static struct table_rec *check_get(struct check_ctx *cx, unsigned int level,
				   uint64_t index)
{
	if (level == cx->m->top)
		return index == 0 ? &cx->top : NULL;
	return hash_find(&cx->copy, table_key(level, index));
}

static void check_runs(struct check_ctx *cx, const struct run *r)
{
	int level;

	for (; r && !cx->bad; r = r->right) {
		check_runs(cx, r->left);
		if (cx->bad)
			return;
		level = leaf_level_of(r->shift);
		if (level < 0 || !((cx->m->pgsize_bitmap >> r->shift) & 1) ||
		    !r->count || r->start & ((1ull << r->shift) - 1) ||
		    r->start < cx->prev_end || run_end(r) - 1 > cx->m->last_iova) {
			cx->bad = 1;
			return;
		}
		cx->prev_end = run_end(r);
		cx->leaves[level] += r->count;
		FOR_EACH_TABLE_CHUNK(r->start, r->shift, r->count, tidx, addr, k) {
			struct table_rec *rec = check_get(cx, (unsigned int)level, tidx);
			unsigned int l;

			/* I1: the whole path up to the top exists. */
			for (l = (unsigned int)level + 1; l < cx->m->top; l++) {
				uint64_t key = table_key(l, addr >> table_shift(l));

				if (!hash_find(&cx->copy, key))
					cx->bad = 1;
			}
			if (!rec || rec->n_leaves < k) {
				cx->bad = 1;
				return;
			}
			rec->n_leaves -= (uint16_t)k;
		}
	}
}

int dmakit__iopt_model_check(const struct dmakit_iopt_model *model)
{
	struct check_ctx cx = { .m = model };
	size_t i;
	unsigned int l;
	int ret = 0;

	if (!model)
		return -EINVAL;
	cx.top = model->top_rec;
	cx.copy.cap = model->tables.cap;
	cx.copy.count = model->tables.count;
	if (cx.copy.cap) {
		cx.copy.slots = iopt_zalloc_array(cx.copy.cap, sizeof(struct table_rec));
		if (!cx.copy.slots)
			return -ENOMEM;
		memcpy(cx.copy.slots, model->tables.slots,
		       cx.copy.cap * sizeof(struct table_rec));
	}
	/* I2 (tables): each table's parent exists and counts it. */
	for (i = 0; i < cx.copy.cap && !cx.bad; i++) {
		uint64_t key = model->tables.slots[i].key;
		struct table_rec *parent;

		if (key == TABLE_EMPTY)
			continue;
		l = (unsigned int)(key & 7);
		if (l >= model->top ||
		    (key >> 3) > (model->last_iova >> table_shift(l))) {
			cx.bad = 1;
			break;
		}
		parent = check_get(&cx, l + 1, (key >> 3) >> PT_BITS);
		if (!parent || !parent->n_tables)
			cx.bad = 1;
		else
			parent->n_tables--;
	}
	/* I1, I2 (leaves), I3. */
	if (!cx.bad)
		check_runs(&cx, model->runs.root);
	for (i = 0; i < cx.copy.cap && !cx.bad; i++) {
		if (cx.copy.slots[i].key != TABLE_EMPTY &&
		    (cx.copy.slots[i].n_leaves || cx.copy.slots[i].n_tables))
			cx.bad = 1;
	}
	if (cx.top.n_leaves || cx.top.n_tables)
		cx.bad = 1;
	for (l = 0; l < DMAKIT_IOPT_MAX_LEVELS; l++) {
		if (cx.leaves[l] != model->stats.leaves[l])
			cx.bad = 1;
	}
	/* I4 */
	if (model->table_pages_peak < table_pages(model))
		cx.bad = 1;
	if (cx.bad)
		ret = -EUCLEAN;
	iopt_free(cx.copy.slots);
	return ret;
}
