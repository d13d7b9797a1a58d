/* SPDX-License-Identifier: MIT */
/*
 * dmakit bench: the structure under test, through the public API only.
 *
 *   - the range table (include/dmakit/range_table.h): insert, remove,
 *     find, and its own memory count;
 *   - the emulated type1 path end to end (include/dmakit/container.h):
 *     VFIO_IOMMU_MAP_DMA / UNMAP_DMA of 4 KiB mappings on an emu container,
 *     with the IO page-table model off or on.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>

#include <dmakit/dmakit.h>

#include "bench.h"

size_t bench_heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

double bench_chunk_median(const uint64_t ns[BENCH_CHUNKS], size_t n)
{
	double v[BENCH_CHUNKS], t;
	unsigned int c, i, m = 0;

	for (c = 0; c < BENCH_CHUNKS; c++) {
		size_t ops = bench_chunk_end(n, c) - (c ? bench_chunk_end(n, c - 1) : 0);

		if (ops == 0)
			continue;
		v[m] = (double)ns[c] / (double)ops;
		for (i = m++; i > 0 && v[i - 1] > v[i]; i--) {
			t = v[i];
			v[i] = v[i - 1];
			v[i - 1] = t;
		}
	}
	if (m == 0)
		return 0;
	return m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
}

/* ------------------------------------------------------------------------ */
/* The range table                                                          */

#define BT_TABLE struct dmakit_range_table
#define BT_FN(x) bt_dmakit_##x
#define BT_NAME "dmakit"

static inline struct dmakit_range_table *bt_dmakit_create(void)
{
	return dmakit_range_table_create();
}

static inline void bt_dmakit_destroy(struct dmakit_range_table *t)
{
	dmakit_range_table_destroy(t);
}

static inline int bt_dmakit_insert(struct dmakit_range_table *t, uint64_t start,
				   uint64_t last, uint64_t value)
{
	return dmakit_range_table_insert(t, start, last, value);
}

static inline int bt_dmakit_remove(struct dmakit_range_table *t, uint64_t start)
{
	return dmakit_range_table_remove(t, start, NULL);
}

static inline int bt_dmakit_find(struct dmakit_range_table *t, uint64_t addr,
				 uint64_t *start, uint64_t *value)
{
	struct dmakit_range r;

	if (dmakit_range_table_find(t, addr, &r) != 0)
		return -1;
	*start = r.start;
	*value = r.value;
	return 0;
}

/* A scatter-gather list's translation: one call for the whole list. */
#define BT_HAS_FIND_BATCH
static inline size_t bt_dmakit_find_batch(struct dmakit_range_table *t, const uint64_t *addrs,
					  size_t n, bool translate, uint64_t *sum)
{
	struct dmakit_range r[BENCH_BATCH];
	int64_t found = dmakit_range_table_find_batch(t, addrs, n, r, NULL);
	size_t i;

	/* A miss leaves its r[i] unwritten; the run fails on any miss anyway. */
	if (found != (int64_t)n)
		return found < 0 ? n : n - (size_t)found;
	for (i = 0; i < n; i++)
		*sum += translate ? r[i].value + (addrs[i] - r[i].start) : r[i].start;
	return 0;
}

static inline size_t bt_dmakit_self_bytes(struct dmakit_range_table *t)
{
	return dmakit_range_table_memory(t);
}

#include "bench_template.h"

const struct bench_impl bench_impl_dmakit = {
	.name = "dmakit",
	.title = "dmakit range table",
	.run_random = bt_dmakit_run_random,
	.run_sequential = bt_dmakit_run_sequential,
};

/* ------------------------------------------------------------------------ */
/* The emulated type1 path                                                  */

static int container_open(const struct bench_keys *k, bool model,
			  struct dmakit_container **out)
{
	struct dmakit_container_config cfg;
	int ret;

	dmakit_container_config_init(&cfg);
	cfg.backend = DMAKIT_BACKEND_EMU;
	cfg.iommu_type = 3; /* VFIO_TYPE1v2_IOMMU */
	/* The churn holds n + 1 mappings for a moment. */
	cfg.dma_entry_limit = k->n + 16 > UINT32_MAX ? UINT32_MAX : (uint32_t)(k->n + 16);
	cfg.model_page_tables = model;
	ret = dmakit_container_open(&cfg, out);
	if (ret < 0)
		fprintf(stderr, "dmakit: bench: cannot open an emu container: %d\n", ret);
	return ret;
}

static inline int map_one(struct dmakit_container *c, uint64_t iova)
{
	struct dmakit_vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = iova + BENCH_VOFF,
		.iova = iova,
		.size = BENCH_PAGE,
	};

	return dmakit_container_map_dma(c, &map);
}

static inline int unmap_one(struct dmakit_container *c, uint64_t iova)
{
	struct dmakit_vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = BENCH_PAGE,
	};
	int ret = dmakit_container_unmap_dma(c, &unmap);

	/* UNMAP answers the bytes unmapped in .size: exactly one page here. */
	return ret != 0 ? ret : unmap.size == BENCH_PAGE ? 0 : -ENOENT;
}

static uint64_t time_map(struct dmakit_container *c, const uint64_t *iovas, size_t n,
			 size_t *bad)
{
	size_t i, fails = 0;
	uint64_t t0, t1;

	t0 = bench_now_ns();
	for (i = 0; i < n; i++)
		fails += map_one(c, iovas[i]) != 0;
	t1 = bench_now_ns();
	*bad += fails;
	return t1 - t0;
}

static uint64_t time_unmap(struct dmakit_container *c, const uint64_t *iovas, size_t n,
			   size_t *bad)
{
	size_t i, fails = 0;
	uint64_t t0, t1;

	t0 = bench_now_ns();
	for (i = 0; i < n; i++)
		fails += unmap_one(c, iovas[i]) != 0;
	t1 = bench_now_ns();
	*bad += fails;
	return t1 - t0;
}

static uint64_t time_map_seq(struct dmakit_container *c, size_t n, bool unmap, size_t *bad)
{
	size_t i, fails = 0;
	uint64_t t0, t1, iova = BENCH_BASE;

	t0 = bench_now_ns();
	for (i = 0; i < n; i++, iova += BENCH_PAGE)
		fails += (unmap ? unmap_one(c, iova) : map_one(c, iova)) != 0;
	t1 = bench_now_ns();
	*bad += fails;
	return t1 - t0;
}

static uint64_t time_map_churn(struct dmakit_container *c, const struct bench_keys *k,
			       size_t *bad)
{
	size_t i, fails = 0;
	uint64_t t0, t1;

	t0 = bench_now_ns();
	for (i = 0; i < k->nchurn; i++) {
		fails += map_one(c, k->churn_ins[i]) != 0;
		fails += unmap_one(c, k->churn_rem[i]) != 0;
	}
	t1 = bench_now_ns();
	*bad += fails;
	return t1 - t0;
}

static int container_check(const char *what, size_t bad)
{
	if (bad == 0)
		return 0;
	fprintf(stderr, "dmakit: bench: emu container: %s: %zu failed ioctls\n", what, bad);
	return -1;
}

int bench_container_run(const struct bench_keys *k, bool model_page_tables,
			struct bench_container_sample *s)
{
	uint64_t t_map = 0, t_unmap = 0, t_map_seq = 0, t_unmap_seq = 0;
	struct dmakit_container *c;
	size_t bad = 0;
	unsigned int r;
	double ops = (double)k->n * k->rounds;

	for (r = 0; r < k->rounds; r++) {
		if (container_open(k, model_page_tables, &c) < 0)
			return -1;
		t_map += time_map(c, k->build, k->n, &bad);
		if (r == 0) {
			s->churn_rand = (double)time_map_churn(c, k, &bad) / (double)k->nchurn;
			t_unmap += time_unmap(c, k->remove_churned, k->nremove, &bad);
		} else {
			t_unmap += time_unmap(c, k->remove_built, k->n, &bad);
		}
		dmakit_container_close(c);
		if (container_check("random MAP/UNMAP", bad))
			return -1;

		if (container_open(k, model_page_tables, &c) < 0)
			return -1;
		t_map_seq += time_map_seq(c, k->n, false, &bad);
		t_unmap_seq += time_map_seq(c, k->nremove, true, &bad);
		dmakit_container_close(c);
		if (container_check("sequential MAP/UNMAP", bad))
			return -1;
	}
	s->map_rand = (double)t_map / ops;
	s->unmap_rand = (double)t_unmap / ((double)k->nremove + (double)k->n * (k->rounds - 1));
	s->map_seq = (double)t_map_seq / ops;
	s->unmap_seq = (double)t_unmap_seq / ((double)k->nremove * k->rounds);
	return 0;
}
