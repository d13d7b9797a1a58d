/* SPDX-License-Identifier: MIT */
/*
 * dmakit bench: the timed loops, the same for every structure. Included once
 * per structure after it has defined (as static inline functions, so the
 * loops call them directly, without an indirect call per op):
 *
 *   BT_TABLE                          the structure's type
 *   BT_FN(x)                          a prefix for this structure's names
 *   BT_TABLE *BT_FN(create)(void)     NULL when memory is short
 *   void BT_FN(destroy)(BT_TABLE *)
 *   int BT_FN(insert)(t, start, last, value)   0, or non-zero on refusal
 *   int BT_FN(remove)(t, start)                0, or non-zero when absent
 *   int BT_FN(find)(t, addr, &start, &value)   the mapping holding addr
 *   size_t BT_FN(self_bytes)(t)       the structure's own memory count, or 0
 *
 * and optionally, with BT_HAS_FIND_BATCH defined,
 *
 *   size_t BT_FN(find_batch)(t, addrs, n, translate, &sum)
 *       look up @n <= BENCH_BATCH addresses; add to sum each one's start
 *       (translate false) or its vaddr, value + (addr - start) (translate
 *       true); @returns the number of misses.
 *
 * A structure without a batch interface gets the plain loop below: one
 * find() after another, which is what its users would write.
 *
 * Each loop is timed as one batch (two clock_gettime() calls around it, never
 * one per op). Results are summed and compared with the expected sums after
 * the clock stops, so no structure can skip work or answer wrongly unseen.
 */
#include <stdio.h>

#include "bench.h"

#ifndef BT_HAS_FIND_BATCH
static inline size_t BT_FN(find_batch)(BT_TABLE *t, const uint64_t *addrs, size_t n,
				       bool translate, uint64_t *sum)
{
	size_t i, fails = 0;

	for (i = 0; i < n; i++) {
		uint64_t start, value, addr = addrs[i];

		if (BT_FN(find)(t, addr, &start, &value) == 0)
			*sum += translate ? value + (addr - start) : start;
		else
			fails++;
	}
	return fails;
}
#endif

static uint64_t BT_FN(time_insert)(BT_TABLE *t, const uint64_t *starts, size_t n,
				   size_t *bad)
{
	size_t i, fails = 0;
	uint64_t t0, t1;

	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		uint64_t s = starts[i];

		fails += BT_FN(insert)(t, s, s + BENCH_PAGE - 1, s + BENCH_VOFF) != 0;
	}
	t1 = bench_now_ns();
	*bad += fails;
	return t1 - t0;
}

static uint64_t BT_FN(time_insert_seq)(BT_TABLE *t, size_t n, size_t *bad)
{
	size_t i, fails = 0;
	uint64_t t0, t1, s = BENCH_BASE;

	t0 = bench_now_ns();
	for (i = 0; i < n; i++, s += BENCH_PAGE)
		fails += BT_FN(insert)(t, s, s + BENCH_PAGE - 1, s + BENCH_VOFF) != 0;
	t1 = bench_now_ns();
	*bad += fails;
	return t1 - t0;
}

static uint64_t BT_FN(time_remove)(BT_TABLE *t, const uint64_t *starts, size_t n,
				   size_t *bad)
{
	size_t i, fails = 0;
	uint64_t t0, t1;

	t0 = bench_now_ns();
	for (i = 0; i < n; i++)
		fails += BT_FN(remove)(t, starts[i]) != 0;
	t1 = bench_now_ns();
	*bad += fails;
	return t1 - t0;
}

static uint64_t BT_FN(time_remove_seq)(BT_TABLE *t, size_t n, size_t *bad)
{
	size_t i, fails = 0;
	uint64_t t0, t1, s = BENCH_BASE;

	t0 = bench_now_ns();
	for (i = 0; i < n; i++, s += BENCH_PAGE)
		fails += BT_FN(remove)(t, s) != 0;
	t1 = bench_now_ns();
	*bad += fails;
	return t1 - t0;
}

/* find-containing: the sum of the starts found. ns per op (chunk median). */
static double BT_FN(time_find)(BT_TABLE *t, const uint64_t *addrs, size_t n,
			       uint64_t *sum_out, size_t *bad)
{
	size_t i = 0, fails = 0;
	uint64_t t0, sum = 0, ns[BENCH_CHUNKS];
	unsigned int c;

	for (c = 0; c < BENCH_CHUNKS; c++) {
		size_t end = bench_chunk_end(n, c);

		t0 = bench_now_ns();
		for (; i < end; i++) {
			uint64_t start, value;

			if (BT_FN(find)(t, addrs[i], &start, &value) == 0)
				sum += start;
			else
				fails++;
		}
		ns[c] = bench_now_ns() - t0;
	}
	*sum_out = sum;
	*bad += fails;
	return bench_chunk_median(ns, n);
}

/* translate: find, then vaddr = value + (addr - start); the sum of vaddrs. */
static double BT_FN(time_translate)(BT_TABLE *t, const uint64_t *addrs, size_t n,
				    uint64_t *sum_out, size_t *bad)
{
	size_t i = 0, fails = 0;
	uint64_t t0, sum = 0, ns[BENCH_CHUNKS];
	unsigned int c;

	for (c = 0; c < BENCH_CHUNKS; c++) {
		size_t end = bench_chunk_end(n, c);

		t0 = bench_now_ns();
		for (; i < end; i++) {
			uint64_t start, value, addr = addrs[i];

			if (BT_FN(find)(t, addr, &start, &value) == 0)
				sum += value + (addr - start);
			else
				fails++;
		}
		ns[c] = bench_now_ns() - t0;
	}
	*sum_out = sum;
	*bad += fails;
	return bench_chunk_median(ns, n);
}

/*
 * find or translate, BENCH_BATCH addresses per call of find_batch: the same
 * addresses and sums as time_find() and time_translate().
 */
static double BT_FN(time_batched)(BT_TABLE *t, const uint64_t *addrs, size_t n,
				  bool translate, uint64_t *sum_out, size_t *bad)
{
	size_t i = 0, fails = 0;
	uint64_t t0, sum = 0, ns[BENCH_CHUNKS];
	unsigned int c;

	for (c = 0; c < BENCH_CHUNKS; c++) {
		size_t end = bench_chunk_end(n, c);

		t0 = bench_now_ns();
		while (i < end) {
			size_t m = end - i < BENCH_BATCH ? end - i : BENCH_BATCH;

			fails += BT_FN(find_batch)(t, addrs + i, m, translate, &sum);
			i += m;
		}
		ns[c] = bench_now_ns() - t0;
	}
	*sum_out = sum;
	*bad += fails;
	return bench_chunk_median(ns, n);
}

/* n live: each op inserts a new mapping, then removes a live one. */
static double BT_FN(time_churn)(BT_TABLE *t, const uint64_t *ins, const uint64_t *rem,
				size_t n, size_t *bad)
{
	size_t i = 0, fails = 0;
	uint64_t t0, ns[BENCH_CHUNKS];
	unsigned int c;

	for (c = 0; c < BENCH_CHUNKS; c++) {
		size_t end = bench_chunk_end(n, c);

		t0 = bench_now_ns();
		for (; i < end; i++) {
			uint64_t s = ins[i];

			fails += BT_FN(insert)(t, s, s + BENCH_PAGE - 1, s + BENCH_VOFF) != 0;
			fails += BT_FN(remove)(t, rem[i]) != 0;
		}
		ns[c] = bench_now_ns() - t0;
	}
	*bad += fails;
	return bench_chunk_median(ns, n);
}

static int BT_FN(check)(const char *what, size_t bad, uint64_t sum, uint64_t expected)
{
	if (bad == 0 && sum == expected)
		return 0;
	fprintf(stderr, "dmakit: bench: %s: %s: %zu failed operations, sum %#llx, "
		"expected %#llx\n", BT_NAME, what, bad, (unsigned long long)sum,
		(unsigned long long)expected);
	return -1;
}

static double BT_FN(per_mapping)(size_t bytes, size_t n)
{
	return (double)bytes / (double)n;
}

/* Heap grown since @heap0 (0 if it shrank: a sanitizer's allocator). */
static size_t BT_FN(heap_since)(size_t heap0)
{
	size_t now = bench_heap_in_use();

	return now > heap0 ? now - heap0 : 0;
}

static int BT_FN(run_random)(const struct bench_keys *k, struct bench_sample *s)
{
	uint64_t t_ins = 0, t_rem = 0, sum;
	size_t bad = 0, heap0;
	unsigned int r;
	BT_TABLE *t;

	for (r = 0; r < k->rounds; r++) {
		heap0 = bench_heap_in_use();
		t = BT_FN(create)();
		if (!t)
			return BT_FN(check)("create", 1, 0, 0);
		t_ins += BT_FN(time_insert)(t, k->build, k->n, &bad);
		if (BT_FN(check)("insert (random)", bad, 0, 0))
			goto fail;
		if (r > 0) {
			t_rem += BT_FN(time_remove)(t, k->remove_built, k->n, &bad);
			if (BT_FN(check)("remove (random)", bad, 0, 0))
				goto fail;
			BT_FN(destroy)(t);
			continue;
		}
		s->heap_rand = BT_FN(per_mapping)(BT_FN(heap_since)(heap0), k->n);
		s->self_rand = BT_FN(per_mapping)(BT_FN(self_bytes)(t), k->n);

		s->find_rand = BT_FN(time_find)(t, k->find_addrs, k->nlookups, &sum, &bad);
		if (BT_FN(check)("find (random)", bad, sum, k->find_sum))
			goto fail;
		s->xlate_rand = BT_FN(time_translate)(t, k->xlate_addrs, k->nlookups, &sum, &bad);
		if (BT_FN(check)("translate (random)", bad, sum, k->xlate_sum))
			goto fail;
		s->find_rand_batched = BT_FN(time_batched)(t, k->find_addrs, k->nlookups, false,
							   &sum, &bad);
		if (BT_FN(check)("find (random, batched)", bad, sum, k->find_sum))
			goto fail;
		s->xlate_rand_batched = BT_FN(time_batched)(t, k->xlate_addrs, k->nlookups, true,
							    &sum, &bad);
		if (BT_FN(check)("translate (random, batched)", bad, sum, k->xlate_sum))
			goto fail;
		s->churn_rand = BT_FN(time_churn)(t, k->churn_ins, k->churn_rem, k->nchurn, &bad);
		if (BT_FN(check)("insert+remove (random)", bad, 0, 0))
			goto fail;
		t_rem += BT_FN(time_remove)(t, k->remove_churned, k->nremove, &bad);
		if (BT_FN(check)("remove (random)", bad, 0, 0))
			goto fail;
		BT_FN(destroy)(t);
	}
	s->insert_rand = (double)t_ins / ((double)k->n * k->rounds);
	/* Round 0 removes nremove, the others (small n only) all n. */
	s->remove_rand = (double)t_rem / ((double)k->nremove + (double)k->n * (k->rounds - 1));
	return 0;
fail:
	BT_FN(destroy)(t);
	return -1;
}

static int BT_FN(run_sequential)(const struct bench_keys *k, struct bench_sample *s)
{
	uint64_t t_ins = 0, t_rem = 0, sum;
	size_t bad = 0, heap0;
	unsigned int r;
	BT_TABLE *t;

	for (r = 0; r < k->rounds; r++) {
		heap0 = bench_heap_in_use();
		t = BT_FN(create)();
		if (!t)
			return BT_FN(check)("create", 1, 0, 0);
		t_ins += BT_FN(time_insert_seq)(t, k->n, &bad);
		if (BT_FN(check)("insert (sequential)", bad, 0, 0))
			goto fail;
		if (r == 0) {
			s->heap_seq = BT_FN(per_mapping)(BT_FN(heap_since)(heap0), k->n);
			s->self_seq = BT_FN(per_mapping)(BT_FN(self_bytes)(t), k->n);
			s->find_seq = BT_FN(time_find)(t, k->seq_addrs, k->nlookups, &sum, &bad);
			if (BT_FN(check)("find (sequential)", bad, sum, k->seq_find_sum))
				goto fail;
			s->xlate_seq = BT_FN(time_translate)(t, k->seq_addrs, k->nlookups, &sum,
							     &bad);
			if (BT_FN(check)("translate (sequential)", bad, sum, k->seq_xlate_sum))
				goto fail;
		}
		t_rem += BT_FN(time_remove_seq)(t, k->nremove, &bad);
		if (BT_FN(check)("remove (sequential)", bad, 0, 0))
			goto fail;
		BT_FN(destroy)(t);
	}
	s->insert_seq = (double)t_ins / ((double)k->n * k->rounds);
	s->remove_seq = (double)t_rem / ((double)k->nremove * k->rounds);
	return 0;
fail:
	BT_FN(destroy)(t);
	return -1;
}

static inline double BT_FN(cold_heap)(size_t n)
{
	size_t heap0 = bench_heap_in_use(), bad = 0;
	BT_TABLE *t = BT_FN(create)();

	if (!t)
		return -1;
	BT_FN(time_insert_seq)(t, n, &bad);
	return bad ? -1 : BT_FN(per_mapping)(BT_FN(heap_since)(heap0), n);
}
