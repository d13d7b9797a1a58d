/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the IO page-table model (src/iopt_model.c) against the rules
 * of kernel-semantics.md section 3: the iommu_pgsize examples of 3.1, table
 * page counts, the generic_pt table-freeing rules of 3.2 (a single unmap call
 * covering a table's span; clear_contig on map), EADDRINUSE with rollback,
 * the __iommu_unmap loop (holes, starting inside a large leaf), misaligned
 * input, scale, and a randomized comparison with a brute-force model that
 * keeps one byte per 4 KiB page.
 *
 * Sizes and addresses are in bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include <dmakit/iopt_model.h>

/* Internal (src/iopt_model.c): verifies every invariant; 0 or -EUCLEAN. */
int dmakit__iopt_model_check(const struct dmakit_iopt_model *model);

#define SZ_4K 0x1000ull
#define SZ_1M 0x100000ull
#define SZ_2M 0x200000ull
#define SZ_1G 0x40000000ull
#define SZ_512G (512 * SZ_1G)
#define SZ_1T (1024 * SZ_1G)
#define VTD_BITMAP 0x40201000ull

static struct dmakit_iopt_model *new_model(uint64_t bitmap, unsigned int levels)
{
	struct dmakit_iopt_config cfg = { .pgsize_bitmap = bitmap, .levels = levels };
	struct dmakit_iopt_model *m = dmakit_iopt_model_create(&cfg);

	assert_non_null(m);
	return m;
}

static struct dmakit_iopt_model *new_vtd39(void)
{
	struct dmakit_iopt_config cfg = DMAKIT_IOPT_CONFIG_VTD_39;
	struct dmakit_iopt_model *m = dmakit_iopt_model_create(&cfg);

	assert_non_null(m);
	return m;
}

static struct dmakit_iopt_stats stats_of(const struct dmakit_iopt_model *m)
{
	struct dmakit_iopt_stats st;

	dmakit_iopt_model_stats(m, &st);
	return st;
}

/* Leaves at levels 0, 1, 2 and table pages now, exactly. */
#define assert_model(m, l0, l1, l2, tables)                                 \
	do {                                                                 \
		struct dmakit_iopt_stats st_ = stats_of(m);                  \
		assert_int_equal(st_.leaves[0], (l0));                       \
		assert_int_equal(st_.leaves[1], (l1));                       \
		assert_int_equal(st_.leaves[2], (l2));                       \
		assert_int_equal(st_.table_pages, (tables));                 \
		assert_int_equal(dmakit__iopt_model_check(m), 0);            \
	} while (0)

static void map_ok(struct dmakit_iopt_model *m, uint64_t iova, uint64_t pa,
		   uint64_t size)
{
	assert_int_equal(dmakit_iopt_model_map(m, iova, pa, size), 0);
}

/* ---- dmakit_iommu_pgsize() ---------------------------------------------- */

struct step {
	uint64_t pgsize;
	uint64_t count;
};

/* The iommu_map loop: the (pgsize, count) steps for one contiguous run. */
static size_t split_run(uint64_t bitmap, uint64_t iova, uint64_t pa,
			uint64_t size, struct step *out, size_t max)
{
	size_t n = 0;

	while (size) {
		uint64_t count = 0;
		uint64_t pgsize = dmakit_iommu_pgsize(bitmap, iova, pa, size, &count);

		assert_int_not_equal(pgsize, 0);
		assert_int_not_equal(count, 0);
		assert_true(n < max);
		out[n].pgsize = pgsize;
		out[n].count = count;
		n++;
		iova += pgsize * count;
		pa += pgsize * count;
		size -= pgsize * count;
	}
	return n;
}

static void assert_steps(uint64_t iova, uint64_t pa, uint64_t size,
			 const struct step *want, size_t nwant)
{
	struct step got[16];
	size_t i, n = split_run(VTD_BITMAP, iova, pa, size, got, 16);

	assert_int_equal(n, nwant);
	for (i = 0; i < n; i++) {
		assert_int_equal(got[i].pgsize, want[i].pgsize);
		assert_int_equal(got[i].count, want[i].count);
	}
}

static void test_pgsize_examples(void **state)
{
	(void)state;
	/* 3.1: 1x4K then 2x2M; 1G impossible since (iova ^ pa) % 1G != 0. */
	const struct step ex1[] = { { SZ_4K, 1 }, { SZ_2M, 2 } };
	/* 3.1: 1x1G, 1x2M, 1x4K. */
	const struct step ex2[] = { { SZ_1G, 1 }, { SZ_2M, 1 }, { SZ_4K, 1 } };
	/* 3.1: 511x4K, 511x2M, 1x1G, then the 4K tail at 0x80000000. */
	const struct step ex3[] = { { SZ_4K, 511 }, { SZ_2M, 511 }, { SZ_1G, 1 },
				    { SZ_4K, 1 } };

	assert_steps(0x1ff000, 0x3ff000, 0x401000, ex1, 2);
	assert_steps(0x40000000, 0x80000000, 0x40201000, ex2, 3);
	assert_steps(0x1000, 0x1000, 0x80000000, ex3, 4);
}

static void test_pgsize_edges(void **state)
{
	uint64_t count = 99;
	(void)state;

	/* Different offsets inside 2M: 4K all the way, in one step. */
	assert_int_equal(dmakit_iommu_pgsize(VTD_BITMAP, 0x200000, 0x201000,
					     4 * SZ_1M, &count), SZ_4K);
	assert_int_equal(count, 1024);
	/* iova = pa = 0: the largest size that fits. */
	assert_int_equal(dmakit_iommu_pgsize(VTD_BITMAP, 0, 0, 3 * SZ_1G, &count), SZ_1G);
	assert_int_equal(count, 3);
	/* Boundary 0x1ff000 away, but no whole 2M page after it: no stop. */
	assert_int_equal(dmakit_iommu_pgsize(VTD_BITMAP, 0x1000, 0x1000, 0x3fe000,
					     &count), SZ_4K);
	assert_int_equal(count, 0x3fe);
	/* Exactly one 2M page fits after the boundary: stop there. */
	assert_int_equal(dmakit_iommu_pgsize(VTD_BITMAP, 0x1000, 0x1000, 0x3ff000,
					     &count), SZ_4K);
	assert_int_equal(count, 0x1ff);
	/* Nothing fits: size 0, size below the smallest page, misaligned. */
	assert_int_equal(dmakit_iommu_pgsize(VTD_BITMAP, 0, 0, 0, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(dmakit_iommu_pgsize(VTD_BITMAP, 0, 0, 0x800, &count), 0);
	assert_int_equal(dmakit_iommu_pgsize(VTD_BITMAP, 0x800, 0, SZ_4K, &count), 0);
	/* @count may be NULL. */
	assert_int_equal(dmakit_iommu_pgsize(VTD_BITMAP, 0, 0, SZ_2M, NULL), SZ_2M);
	/* 4K-only (intel_iommu=sp_off). */
	assert_int_equal(dmakit_iommu_pgsize(0x1000, 0, 0, SZ_1G, &count), SZ_4K);
	assert_int_equal(count, SZ_1G / SZ_4K);
	/* Top of the 64-bit space does not wrap. */
	assert_int_equal(dmakit_iommu_pgsize(VTD_BITMAP, UINT64_MAX - 0xfff, 0, SZ_4K,
					     &count), SZ_4K);
	assert_int_equal(count, 1);
}

/* ---- create --------------------------------------------------------------- */

static void test_create_rejects(void **state)
{
	struct dmakit_iopt_config bad[] = {
		{ .pgsize_bitmap = 0, .levels = 3 },
		{ .pgsize_bitmap = VTD_BITMAP, .levels = 0 },
		{ .pgsize_bitmap = VTD_BITMAP, .levels = 6 },
		{ .pgsize_bitmap = 0x5000, .levels = 3 },         /* 16K: not native */
		{ .pgsize_bitmap = 0x800, .levels = 3 },          /* 2K */
		{ .pgsize_bitmap = SZ_512G | SZ_4K, .levels = 3 }, /* leaf at the top+1 */
	};
	size_t i;
	(void)state;

	assert_null(dmakit_iopt_model_create(NULL));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_null(dmakit_iopt_model_create(&bad[i]));
	dmakit_iopt_model_destroy(NULL);
}

static void test_create_empty(void **state)
{
	struct dmakit_iopt_model *m = new_vtd39();
	struct dmakit_iopt_stats st = stats_of(m);
	(void)state;

	assert_model(m, 0, 0, 0, 1);
	assert_int_equal(st.table_pages_peak, 1);
	assert_int_equal(st.map_calls, 0);
	assert_int_equal(st.unmap_calls, 0);
	assert_true(dmakit_iopt_model_memory(m) > 0);
	dmakit_iopt_model_destroy(m);
}

/* ---- table page counts ----------------------------------------------------- */

static void test_map_4k_at_0(void **state)
{
	struct dmakit_iopt_model *m = new_vtd39();
	(void)state;

	map_ok(m, 0, 0, SZ_4K);
	assert_model(m, 1, 0, 0, 3); /* top + L1 table + L0 table */
	assert_int_equal(stats_of(m).table_pages_peak, 3);
	assert_int_equal(stats_of(m).map_calls, 1);
	dmakit_iopt_model_destroy(m);

	/* 4 levels: one more table on the path. */
	m = new_model(VTD_BITMAP, 4);
	map_ok(m, 0, 0, SZ_4K);
	assert_model(m, 1, 0, 0, 4);
	dmakit_iopt_model_destroy(m);
}

static void test_map_2m_aligned(void **state)
{
	struct dmakit_iopt_model *m = new_vtd39();
	(void)state;

	map_ok(m, SZ_2M, 0x40000000, SZ_2M);
	assert_model(m, 0, 1, 0, 2); /* top + L1 table, leaf at level 1 */
	dmakit_iopt_model_destroy(m);
}

static void test_map_1g_aligned(void **state)
{
	struct dmakit_iopt_model *m = new_vtd39();
	(void)state;

	map_ok(m, SZ_1G, 2 * SZ_1G, SZ_1G);
	assert_model(m, 0, 0, 1, 1); /* top only, leaf at level 2 */
	dmakit_iopt_model_destroy(m);
}

static void test_map_examples_tables(void **state)
{
	struct dmakit_iopt_model *m = new_vtd39();
	(void)state;

	/* 3.1 example 3: 511x4K + 511x2M + 1x1G + 1x4K. */
	map_ok(m, 0x1000, 0x1000, 0x80000000);
	/* L1 tables for GiB 0 and 2; L0 tables for [0, 2M) and [2G, 2G+2M). */
	assert_model(m, 512, 511, 1, 5);
	dmakit_iopt_model_destroy(m);
}

static void test_512g_leaf_4level(void **state)
{
	struct dmakit_iopt_model *m = new_model(SZ_512G | VTD_BITMAP, 4);
	(void)state;

	map_ok(m, SZ_512G, 0, SZ_512G);
	assert_int_equal(stats_of(m).leaves[3], 1);
	assert_model(m, 0, 0, 0, 1);
	assert_int_equal(dmakit_iopt_model_unmap(m, SZ_512G, SZ_4K), SZ_512G);
	assert_int_equal(stats_of(m).leaves[3], 0);
	dmakit_iopt_model_destroy(m);
}

/* ---- the 3.2 table-freeing rule -------------------------------------------- */

/* 512 separate 4K maps filling the L0 table of [2M, 4M). */
static struct dmakit_iopt_model *fill_l0_table(void)
{
	struct dmakit_iopt_model *m = new_vtd39();
	uint64_t i;

	for (i = 0; i < 512; i++) /* scattered physical pages */
		map_ok(m, SZ_2M + i * SZ_4K, ((i * 97) % 512 + 4096) * SZ_4K, SZ_4K);
	assert_model(m, 512, 0, 0, 3);
	assert_int_equal(stats_of(m).map_calls, 512);
	return m;
}

static void test_unmap_whole_table_frees_it(void **state)
{
	struct dmakit_iopt_model *m = fill_l0_table();
	(void)state;

	/* One call, one unmap_pages(2M x 1) covering the table's span. */
	assert_int_equal(dmakit_iopt_model_unmap(m, SZ_2M, SZ_2M), SZ_2M);
	assert_model(m, 0, 0, 0, 2); /* the L1 table's span (1G) was not covered */
	assert_int_equal(stats_of(m).table_pages_peak, 3);
	assert_int_equal(stats_of(m).unmap_calls, 1);
	dmakit_iopt_model_destroy(m);
}

static void test_separate_unmaps_keep_table(void **state)
{
	struct dmakit_iopt_model *m = fill_l0_table();
	uint64_t i;
	(void)state;

	for (i = 0; i < 512; i++)
		assert_int_equal(dmakit_iopt_model_unmap(m, SZ_2M + i * SZ_4K, SZ_4K),
				 SZ_4K);
	assert_model(m, 0, 0, 0, 3); /* the empty L0 table stays */
	assert_int_equal(stats_of(m).unmap_calls, 512);

	/* Now a whole-span unmap finds a hole at once: nothing freed. */
	assert_int_equal(dmakit_iopt_model_unmap(m, SZ_2M, SZ_2M), 0);
	assert_model(m, 0, 0, 0, 3);

	/* A 2M leaf over the empty L0 table frees it (clear_contig). */
	map_ok(m, SZ_2M, 0, SZ_2M);
	assert_model(m, 0, 1, 0, 2);
	assert_int_equal(stats_of(m).table_pages_peak, 3);
	dmakit_iopt_model_destroy(m);
}

static void test_unmap_table_with_hole_not_freed(void **state)
{
	struct dmakit_iopt_model *m = new_vtd39();
	(void)state;

	/* 511 pages of [2M, 4M), the last one missing. */
	map_ok(m, SZ_2M, 0x1000, 511 * SZ_4K);
	assert_model(m, 511, 0, 0, 3);
	assert_int_equal(dmakit_iopt_model_unmap(m, SZ_2M, SZ_2M), 511 * SZ_4K);
	assert_model(m, 0, 0, 0, 3); /* the walk stopped before the span's end */
	dmakit_iopt_model_destroy(m);
}

static void test_unmap_4k_leaves_with_2m_steps(void **state)
{
	struct dmakit_iopt_model *m = new_vtd39();
	(void)state;

	/* (iova ^ pa) % 2M != 0: 1024 leaves of 4K in two L0 tables. */
	map_ok(m, SZ_2M, 0x1000, 4 * SZ_1M);
	assert_model(m, 1024, 0, 0, 4);
	/* One unmap_pages(2M x 2) covers both L0 tables: both freed. */
	assert_int_equal(dmakit_iopt_model_unmap(m, SZ_2M, 4 * SZ_1M), 4 * SZ_1M);
	assert_model(m, 0, 0, 0, 2);

	/* Starting one page in: the first table is not covered by its step. */
	map_ok(m, SZ_2M, 0x1000, 4 * SZ_1M);
	assert_int_equal(stats_of(m).table_pages_peak, 4);
	assert_int_equal(dmakit_iopt_model_unmap(m, SZ_2M + SZ_4K, 4 * SZ_1M - SZ_4K),
			 4 * SZ_1M - SZ_4K);
	assert_model(m, 1, 0, 0, 3);
	dmakit_iopt_model_destroy(m);
}

static void test_unmap_1g_frees_l1_table(void **state)
{
	struct dmakit_iopt_model *m = new_vtd39();
	uint64_t i;
	(void)state;

	for (i = 0; i < 512; i++)
		map_ok(m, i * SZ_2M, (511 - i) * SZ_2M, SZ_2M);
	assert_model(m, 0, 512, 0, 2);
	assert_int_equal(dmakit_iopt_model_unmap(m, 0, SZ_1G), SZ_1G);
	assert_model(m, 0, 0, 0, 1); /* the top table is never freed */
	dmakit_iopt_model_destroy(m);
}

static void test_1g_leaf_over_empty_subtree(void **state)
{
	struct dmakit_iopt_model *m = new_vtd39();
	(void)state;

	map_ok(m, 0, 0, SZ_4K);
	map_ok(m, 0x40000, 0, SZ_4K);
	map_ok(m, 0x600000, 0, SZ_4K);
	assert_model(m, 3, 0, 0, 4);
	assert_int_equal(dmakit_iopt_model_unmap(m, 0, SZ_4K), SZ_4K);
	assert_int_equal(dmakit_iopt_model_unmap(m, 0x40000, SZ_4K), SZ_4K);
	assert_int_equal(dmakit_iopt_model_unmap(m, 0x600000, SZ_4K), SZ_4K);
	assert_model(m, 0, 0, 0, 4);
	/* The L1 table (with two empty L0 tables under it) goes. */
	map_ok(m, 0, 0, SZ_1G);
	assert_model(m, 0, 0, 1, 1);
	assert_int_equal(stats_of(m).table_pages_peak, 4);
	dmakit_iopt_model_destroy(m);
}

/* ---- EADDRINUSE ------------------------------------------------------------- */

static void test_eaddrinuse_rollback(void **state)
{
	struct dmakit_iopt_model *m = new_vtd39();
	struct dmakit_iopt_stats before, after;
	size_t mem;
	(void)state;

	map_ok(m, 0x5ff000, 0, SZ_4K);
	before = stats_of(m);
	mem = dmakit_iopt_model_memory(m);

	/* 4K at 0x1ff000 and 2M at 0x200000 would fit; 2M at 0x400000 not. */
	assert_int_equal(dmakit_iopt_model_map(m, 0x1ff000, 0x3ff000, 0x401000),
			 -EADDRINUSE);
	/* A 2M leaf over a table with a leaf in it. */
	assert_int_equal(dmakit_iopt_model_map(m, 0x400000, 0x400000, SZ_2M),
			 -EADDRINUSE);
	/* The same page again; a 1G leaf over it. */
	assert_int_equal(dmakit_iopt_model_map(m, 0x5ff000, 0x1000, SZ_4K), -EADDRINUSE);
	assert_int_equal(dmakit_iopt_model_map(m, 0, 0, SZ_1G), -EADDRINUSE);

	after = stats_of(m);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(dmakit_iopt_model_memory(m), mem);
	assert_model(m, 1, 0, 0, 3);
	assert_int_equal(after.table_pages_peak, 3);
	assert_int_equal(after.map_calls, 1);

	/* A neighbour that only touches the existing leaf is fine. */
	map_ok(m, 0x600000, 0x600000, SZ_2M);
	map_ok(m, 0x5fe000, 0, SZ_4K);
	assert_model(m, 2, 1, 0, 3);
	dmakit_iopt_model_destroy(m);
}

/* ---- the __iommu_unmap loop ------------------------------------------------- */

static void test_unmap_stops_at_hole(void **state)
{
	struct dmakit_iopt_model *m = new_vtd39();
	(void)state;

	map_ok(m, 0x0000, 0x10000, SZ_4K);
	map_ok(m, 0x1000, 0x30000, SZ_4K);
	map_ok(m, 0x3000, 0x50000, SZ_4K); /* hole at 0x2000 */
	assert_int_equal(dmakit_iopt_model_unmap(m, 0, 0x4000), 0x2000);
	assert_model(m, 1, 0, 0, 3);
	assert_int_equal(dmakit_iopt_model_unmap(m, 0x2000, 0x2000), 0);
	assert_model(m, 1, 0, 0, 3);
	assert_int_equal(dmakit_iopt_model_unmap(m, 0x3000, 0x1000), 0x1000);
	assert_model(m, 0, 0, 0, 3);
	/* Nothing mapped at all. */
	assert_int_equal(dmakit_iopt_model_unmap(m, 0, SZ_1G), 0);
	assert_int_equal(stats_of(m).unmap_calls, 4);
	dmakit_iopt_model_destroy(m);
}

static void test_unmap_inside_2m_leaf(void **state)
{
	struct dmakit_iopt_model *m = new_vtd39();
	(void)state;

	map_ok(m, SZ_2M, SZ_2M, SZ_2M);
	assert_model(m, 0, 1, 0, 2);
	/* 4K from the middle of the leaf: the whole 2M goes. */
	assert_int_equal(dmakit_iopt_model_unmap(m, SZ_2M + SZ_1M, SZ_4K), SZ_2M);
	assert_model(m, 0, 0, 0, 2);

	map_ok(m, SZ_2M, SZ_2M, SZ_2M);
	assert_int_equal(dmakit_iopt_model_unmap(m, SZ_2M, SZ_4K), SZ_2M);
	assert_model(m, 0, 0, 0, 2);
	dmakit_iopt_model_destroy(m);
}

/*
 * The reported bytes advance iova, not the end of what was removed: after a
 * 2M leaf entered 1M into, the next step starts 1M into the 4K leaves that
 * follow, and the 4K leaves it skipped stay mapped (as in the kernel).
 */
static void test_unmap_advances_by_reported(void **state)
{
	struct dmakit_iopt_model *m = new_vtd39();
	(void)state;

	map_ok(m, SZ_2M, SZ_2M, SZ_2M);             /* one 2M leaf */
	map_ok(m, 2 * SZ_2M, 0x1000, SZ_2M);        /* 512 x 4K */
	assert_model(m, 512, 1, 0, 3);
	assert_int_equal(dmakit_iopt_model_unmap(m, SZ_2M + SZ_1M, 4 * SZ_1M), 3 * SZ_1M);
	assert_model(m, 256, 0, 0, 3); /* [4M, 5M) is still mapped */
	assert_int_equal(dmakit_iopt_model_unmap(m, 2 * SZ_2M, SZ_1M), SZ_1M);
	assert_model(m, 0, 0, 0, 3);
	dmakit_iopt_model_destroy(m);
}

/* ---- bad input -------------------------------------------------------------- */

static void test_misaligned_and_out_of_range(void **state)
{
	struct dmakit_iopt_model *m = new_vtd39();
	struct dmakit_iopt_model *m4 = new_model(VTD_BITMAP, 4);
	const uint64_t top39 = 1ull << 39;
	(void)state;

	assert_int_equal(dmakit_iopt_model_map(NULL, 0, 0, SZ_4K), -EINVAL);
	assert_int_equal(dmakit_iopt_model_map(m, 0x800, 0, SZ_4K), -EINVAL);
	assert_int_equal(dmakit_iopt_model_map(m, 0, 0x800, SZ_4K), -EINVAL);
	assert_int_equal(dmakit_iopt_model_map(m, 0, 0, 0x1800), -EINVAL);
	assert_int_equal(dmakit_iopt_model_map(m, 0, 0, 0), -EINVAL);
	assert_int_equal(dmakit_iopt_model_map(m, top39 - SZ_4K, 0, 2 * SZ_4K), -EINVAL);
	assert_int_equal(dmakit_iopt_model_map(m, top39, 0, SZ_4K), -EINVAL);
	assert_int_equal(dmakit_iopt_model_map(m, UINT64_MAX - 0xfff, 0, 2 * SZ_4K),
			 -EINVAL);
	assert_int_equal(dmakit_iopt_model_map(m, 0, UINT64_MAX - 0xfff, 2 * SZ_4K),
			 -EINVAL);
	assert_int_equal(dmakit_iopt_model_map(m, 0, 0, UINT64_MAX - 0xfff), -EINVAL);
	assert_model(m, 0, 0, 0, 1);
	assert_int_equal(stats_of(m).map_calls, 0);

	/* The last page of the address width is fine; pa may be anything. */
	map_ok(m, top39 - SZ_4K, UINT64_MAX - 0xfff, SZ_4K);
	assert_model(m, 1, 0, 0, 3);
	map_ok(m4, (1ull << 48) - SZ_2M, 0, SZ_2M);
	assert_int_equal(dmakit_iopt_model_map(m4, 1ull << 48, 0, SZ_4K), -EINVAL);

	map_ok(m, 0, 0, SZ_2M);
	assert_model(m, 1, 1, 0, 4);
	assert_int_equal(dmakit_iopt_model_unmap(NULL, 0, SZ_4K), 0);
	assert_int_equal(dmakit_iopt_model_unmap(m, 0x800, SZ_4K), 0);
	assert_int_equal(dmakit_iopt_model_unmap(m, 0, 0x800), 0);
	assert_int_equal(dmakit_iopt_model_unmap(m, 0, 0), 0);
	assert_int_equal(dmakit_iopt_model_unmap(m, 0, UINT64_MAX - 0xfff), 0);
	assert_int_equal(dmakit_iopt_model_unmap(m, UINT64_MAX - 0xfff, 2 * SZ_4K), 0);
	/* A step that leaves the address width unmaps nothing. */
	assert_int_equal(dmakit_iopt_model_unmap(m, 0, 2 * top39), 0);
	assert_model(m, 1, 1, 0, 4);
	assert_int_equal(stats_of(m).unmap_calls, 6);
	/* The whole width in one call: stops at the hole after the 2M leaf. */
	assert_int_equal(dmakit_iopt_model_unmap(m, 0, top39), SZ_2M);
	assert_model(m, 1, 0, 0, 4);
	assert_int_equal(dmakit_iopt_model_unmap(m, top39 - SZ_4K, SZ_4K), SZ_4K);
	assert_model(m, 0, 0, 0, 4);

	dmakit_iopt_model_stats(NULL, NULL);
	assert_int_equal(dmakit_iopt_model_memory(NULL), 0);
	dmakit_iopt_model_destroy(m);
	dmakit_iopt_model_destroy(m4);
}

/* ---- scale ------------------------------------------------------------------- */

static void test_separate_4k_maps_store_runs(void **state)
{
	struct dmakit_iopt_model *m = new_vtd39();
	const uint64_t n = 262144; /* 1 GiB of separate 4K maps */
	uint64_t i;
	(void)state;

	for (i = 0; i < n; i++)
		map_ok(m, SZ_1G + i * SZ_4K, ((i * 7919) % n) * SZ_4K + SZ_4K, SZ_4K);
	assert_model(m, n, 0, 0, 2 + 512);
	/* Memory per table page, not per leaf: 514 table pages, 262144 PTEs. */
	assert_true(dmakit_iopt_model_memory(m) < 64 * 1024);
	for (i = 0; i < n; i++)
		assert_int_equal(dmakit_iopt_model_unmap(m, SZ_1G + i * SZ_4K, SZ_4K),
				 SZ_4K);
	assert_model(m, 0, 0, 0, 2 + 512);
	dmakit_iopt_model_destroy(m);
}

static void test_1tib_of_4k_leaves(void **state)
{
	struct dmakit_iopt_model *m = new_model(VTD_BITMAP, 4);
	struct dmakit_iopt_stats st;
	uint64_t tables;
	(void)state;

	/* (iova ^ pa) % 2M != 0: 268M leaves of 4K in one call. */
	map_ok(m, 0, 0x1000, SZ_1T);
	tables = 1 + 2 + 1024 + 524288;
	st = stats_of(m);
	assert_int_equal(st.leaves[0], SZ_1T / SZ_4K);
	assert_int_equal(st.table_pages, tables);
	assert_true(dmakit_iopt_model_memory(m) < 48 * tables);
	/* One unmap_pages(1G x 1024) covers every table below the top. */
	assert_int_equal(dmakit_iopt_model_unmap(m, 0, SZ_1T), SZ_1T);
	st = stats_of(m);
	assert_int_equal(st.leaves[0], 0);
	assert_int_equal(st.table_pages, 1);
	assert_int_equal(st.table_pages_peak, tables);
	assert_int_equal(dmakit__iopt_model_check(m), 0);
	assert_true(dmakit_iopt_model_memory(m) < 8192);
	dmakit_iopt_model_destroy(m);
}

/* ---- randomized comparison with a brute-force reference ---------------------- */

/*
 * The reference keeps, per 4 KiB page of [0, 4 GiB), the log2 size of the
 * leaf covering it (0: none), and one flag per possible table (3 levels:
 * 2048 L0 tables, 4 L1 tables, the top). It applies the same rules in the
 * plainest way: page by page, table by table.
 */
#define REF_SPACE (4 * SZ_1G)
#define REF_PAGES (REF_SPACE / SZ_4K)

struct ref {
	uint64_t bitmap;
	uint8_t *page;           /* leaf shift per 4K page */
	uint8_t l0[REF_SPACE / SZ_2M];
	uint8_t l1[REF_SPACE / SZ_1G];
	uint64_t leaves[3];
	uint64_t tables, peak;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void ref_set_table(struct ref *r, uint8_t *flag, int present)
{
	if (*flag && !present)
		r->tables--;
	if (!*flag && present)
		r->tables++;
	*flag = (uint8_t)present;
}

static int ref_map(struct ref *r, uint64_t iova, uint64_t pa, uint64_t size)
{
	uint64_t p, s, left, pgsize, count, i, j;

	if (!size || ((iova | pa | size) & (SZ_4K - 1)))
		return -EINVAL;
	for (p = iova / SZ_4K; p < (iova + size) / SZ_4K; p++)
		if (r->page[p])
			return -EADDRINUSE;
	for (s = iova, left = size; left; s += pgsize * count, pa += pgsize * count,
	     left -= pgsize * count) {
		pgsize = dmakit_iommu_pgsize(r->bitmap, s, pa, left, &count);
		/* Allocations first (the model samples its peak there). */
		for (i = 0; i < count; i++) {
			uint64_t a = s + i * pgsize;

			if (pgsize < SZ_1G)
				ref_set_table(r, &r->l1[a / SZ_1G], 1);
			if (pgsize < SZ_2M)
				ref_set_table(r, &r->l0[a / SZ_2M], 1);
		}
		if (r->tables > r->peak)
			r->peak = r->tables;
		for (i = 0; i < count; i++) {
			uint64_t a = s + i * pgsize;
			uint8_t shift = (uint8_t)__builtin_ctzll(pgsize);

			if (pgsize == SZ_1G) {
				ref_set_table(r, &r->l1[a / SZ_1G], 0);
				for (j = 0; j < 512; j++)
					ref_set_table(r, &r->l0[a / SZ_2M + j], 0);
			} else if (pgsize == SZ_2M) {
				ref_set_table(r, &r->l0[a / SZ_2M], 0);
			}
			memset(&r->page[a / SZ_4K], shift, pgsize / SZ_4K);
			r->leaves[(shift - 12) / 9]++;
		}
	}
	return 0;
}

static uint64_t ref_unmap_pages(struct ref *r, uint64_t a, uint64_t len)
{
	uint64_t b = a + len - 1, first, pos, hi, t;

	if (a >= REF_SPACE || !r->page[a / SZ_4K])
		return 0;
	first = a & ~((1ull << r->page[a / SZ_4K]) - 1);
	for (pos = first; pos <= b && pos < REF_SPACE && r->page[pos / SZ_4K];) {
		uint64_t sz = 1ull << r->page[pos / SZ_4K];

		r->leaves[(r->page[pos / SZ_4K] - 12) / 9]--;
		memset(&r->page[pos / SZ_4K], 0, sz / SZ_4K);
		pos += sz;
	}
	hi = pos - 1 < b ? pos - 1 : b;
	for (t = 0; t < REF_SPACE / SZ_2M; t++)
		if (t * SZ_2M >= a && (t + 1) * SZ_2M - 1 <= hi)
			ref_set_table(r, &r->l0[t], 0);
	for (t = 0; t < REF_SPACE / SZ_1G; t++)
		if (t * SZ_1G >= a && (t + 1) * SZ_1G - 1 <= hi)
			ref_set_table(r, &r->l1[t], 0);
	return pos - first;
}

static uint64_t ref_unmap(struct ref *r, uint64_t iova, uint64_t size)
{
	uint64_t unmapped = 0, pgsize, count, n;

	if (!size || ((iova | size) & (SZ_4K - 1)))
		return 0;
	while (unmapped < size) {
		pgsize = dmakit_iommu_pgsize(r->bitmap, iova, iova, size - unmapped,
					     &count);
		n = ref_unmap_pages(r, iova, pgsize * count);
		if (!n)
			break;
		iova += n;
		unmapped += n;
	}
	return unmapped;
}

static uint64_t pick_iova(void)
{
	switch (rnd_below(4)) {
	case 0:
		return rnd_below(REF_SPACE / SZ_1G) * SZ_1G;
	case 1:
		return rnd_below(REF_SPACE / SZ_2M) * SZ_2M;
	default:
		return rnd_below(REF_PAGES) * SZ_4K;
	}
}

static uint64_t pick_size(void)
{
	switch (rnd_below(20)) {
	case 0:
		return (1 + rnd_below(1536)) * SZ_1M;     /* up to 1.5 GiB */
	case 8:
		return SZ_1G + rnd_below(2) * (SZ_2M + SZ_4K);
	case 1: case 2: case 3:
		return (1 + rnd_below(4)) * SZ_2M + rnd_below(3) * SZ_4K;
	case 4: case 5: case 6: case 7:
		return (1 + rnd_below(2048)) * SZ_4K;
	default:
		return (1 + rnd_below(16)) * SZ_4K;
	}
}

/* A mapped address at or after @iova (a leaf start half the time), if any. */
static uint64_t pick_mapped(const struct ref *r, uint64_t iova)
{
	uint64_t p;

	for (p = iova / SZ_4K; p < REF_PAGES; p++) {
		if (r->page[p]) {
			iova = p * SZ_4K;
			if (rnd_below(2))
				iova &= ~((1ull << r->page[p]) - 1);
			break;
		}
	}
	return iova;
}

static void compare(struct dmakit_iopt_model *m, const struct ref *r)
{
	struct dmakit_iopt_stats st = stats_of(m);

	assert_int_equal(st.leaves[0], r->leaves[0]);
	assert_int_equal(st.leaves[1], r->leaves[1]);
	assert_int_equal(st.leaves[2], r->leaves[2]);
	assert_int_equal(st.table_pages, r->tables);
	assert_int_equal(st.table_pages_peak, r->peak);
}

/* Unmap all of [start, start + len), one call per run of leaves. */
static void drain(struct dmakit_iopt_model *m, struct ref *r, uint64_t start,
		  uint64_t len)
{
	uint64_t a;

	for (a = start; a < start + len; a += SZ_4K) {
		if (r->page[a / SZ_4K]) {
			uint64_t size = start + len - a;

			a &= ~((1ull << r->page[a / SZ_4K]) - 1);
			assert_int_equal(dmakit_iopt_model_unmap(m, a, size),
					 ref_unmap(r, a, size));
			compare(m, r);
		}
	}
}

static void random_against_reference(uint64_t bitmap, uint64_t seed, int ops)
{
	struct dmakit_iopt_model *m = new_model(bitmap, 3);
	struct ref *r = calloc(1, sizeof(*r));
	int i;

	assert_non_null(r);
	r->page = calloc(REF_PAGES, 1);
	assert_non_null(r->page);
	r->bitmap = bitmap;
	r->tables = r->peak = 1;
	rng_state = seed;

	for (i = 0; i < ops; i++) {
		uint64_t iova = pick_iova(), size = pick_size();

		if (i % 100 == 99) {
			/* Make room, then often put a 1G leaf in the room. */
			uint64_t gib = rnd_below(REF_SPACE / SZ_1G) * SZ_1G;
			uint64_t pa = rnd_below(64) * SZ_1G;

			drain(m, r, gib, SZ_1G);
			if (rnd_below(4))
				assert_int_equal(dmakit_iopt_model_map(m, gib, pa, SZ_1G),
						 ref_map(r, gib, pa, SZ_1G));
			compare(m, r);
		}

		if (iova + size > REF_SPACE)
			size = REF_SPACE - iova;
		if (rnd_below(2)) {
			uint64_t pa;

			switch (rnd_below(3)) {
			case 0: /* same offset in 1G: large pages possible */
				pa = (rnd_below(64) * SZ_1G) | (iova & (SZ_1G - 1));
				break;
			case 1: /* same offset in 2M */
				pa = (rnd_below(1 << 20) * SZ_2M) | (iova & (SZ_2M - 1));
				break;
			default:
				pa = rnd_below(1ull << 28) * SZ_4K;
				break;
			}
			if (rnd_below(50) == 0)
				pa |= 0x800; /* misaligned */
			assert_int_equal(dmakit_iopt_model_map(m, iova, pa, size),
					 ref_map(r, iova, pa, size));
		} else {
			if (rnd_below(2))
				iova = pick_mapped(r, iova);
			if (iova + size > REF_SPACE)
				size = REF_SPACE - iova;
			if (rnd_below(50) == 0)
				size |= 0x200; /* misaligned */
			assert_int_equal(dmakit_iopt_model_unmap(m, iova, size),
					 ref_unmap(r, iova, size));
		}
		compare(m, r);
		if (i % 64 == 0)
			assert_int_equal(dmakit__iopt_model_check(m), 0);
	}
	drain(m, r, 0, REF_SPACE);
	assert_int_equal(r->leaves[0] + r->leaves[1] + r->leaves[2], 0);
	assert_int_equal(dmakit__iopt_model_check(m), 0);
	free(r->page);
	free(r);
	dmakit_iopt_model_destroy(m);
}

static void test_random_vtd(void **state)
{
	(void)state;
	random_against_reference(VTD_BITMAP, 0x1234567887654321ull, 4000);
	random_against_reference(VTD_BITMAP, 0xdeadbeefcafef00dull, 4000);
}

static void test_random_no_1g(void **state)
{
	(void)state;
	random_against_reference(0x201000, 0x0123456789abcdefull, 3000);
}

static void test_random_4k_only(void **state)
{
	(void)state;
	random_against_reference(0x1000, 0xfeedface12345678ull, 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pgsize_examples),
		cmocka_unit_test(test_pgsize_edges),
		cmocka_unit_test(test_create_rejects),
		cmocka_unit_test(test_create_empty),
		cmocka_unit_test(test_map_4k_at_0),
		cmocka_unit_test(test_map_2m_aligned),
		cmocka_unit_test(test_map_1g_aligned),
		cmocka_unit_test(test_map_examples_tables),
		cmocka_unit_test(test_512g_leaf_4level),
		cmocka_unit_test(test_unmap_whole_table_frees_it),
		cmocka_unit_test(test_separate_unmaps_keep_table),
		cmocka_unit_test(test_unmap_table_with_hole_not_freed),
		cmocka_unit_test(test_unmap_4k_leaves_with_2m_steps),
		cmocka_unit_test(test_unmap_1g_frees_l1_table),
		cmocka_unit_test(test_1g_leaf_over_empty_subtree),
		cmocka_unit_test(test_eaddrinuse_rollback),
		cmocka_unit_test(test_unmap_stops_at_hole),
		cmocka_unit_test(test_unmap_inside_2m_leaf),
		cmocka_unit_test(test_unmap_advances_by_reported),
		cmocka_unit_test(test_misaligned_and_out_of_range),
		cmocka_unit_test(test_separate_4k_maps_store_runs),
		cmocka_unit_test(test_1tib_of_4k_leaves),
		cmocka_unit_test(test_random_vtd),
		cmocka_unit_test(test_random_no_1g),
		cmocka_unit_test(test_random_4k_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
