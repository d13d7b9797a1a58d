/* SPDX-License-Identifier: MIT */
/*
 * dmakit bench: shared declarations of the benchmark harness (cmd_bench.c)
 * and of the structures it measures, each in its own file:
 *
 *   bench_dmakit.c       the dmakit range table (public API only) and the
 *                        emulated type1 MAP/UNMAP path; in every build
 *   bench_baselines.c    GLib's GTree (as QEMU's util/iova-tree.c uses it)
 *                        and libbsd's red-black tree (as Linux type1 keeps
 *                        its vfio_dma); only in the shared dmakit command
 *   bench_nobaselines.c  stands in for bench_baselines.c in the static
 *                        command (no GLib or libbsd there)
 *
 * Every structure runs the same timed loops (bench_template.h) over the
 * same key arrays, generated before any timing from fixed seeds.
 */
#ifndef DMAKIT_BENCH_H
#define DMAKIT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Every mapping is one 4 KiB page: [start, start + BENCH_PAGE - 1]. */
#define BENCH_PAGE 4096ull
/* Lowest IOVA used (above the x86 MSI hole the emulator refuses). */
#define BENCH_BASE 0x100000000ull
/* The value (vaddr) of a mapping is its start + BENCH_VOFF, so a translate
 * of addr must give addr + BENCH_VOFF: every structure's answers are
 * checked with that. */
#define BENCH_VOFF 0x100000000000ull

/*
 * The work of one benchmark size, all precomputed. Random pattern: the n
 * live mappings are n of 2n slots (slot s = pages [4s, 4s + 3], the mapping
 * one of those four pages, chosen by a hash), inserted in random order.
 */
struct bench_keys {
	size_t n;                   /* live mappings */
	unsigned int rounds;        /* builds per sample (small n: >= 64K inserts) */

	/* random pattern */
	uint64_t *build;            /* [n] starts, in insertion order */
	uint64_t *find_addrs;       /* [nlookups] addresses inside built mappings */
	uint64_t *xlate_addrs;      /* [nlookups] the same kind, another draw */
	size_t nlookups;
	uint64_t *churn_ins;        /* [nchurn] op i inserts churn_ins[i] ... */
	uint64_t *churn_rem;        /* ... then removes churn_rem[i] (live) */
	size_t nchurn;
	/* Removes: nremove = min(n, 1M) ops; for n <= 1M that empties the
	 * table, at 16M it takes it from 16M to 15M live. */
	size_t nremove;
	uint64_t *remove_churned;   /* [nremove] of the live set after the churn, random order */
	uint64_t *remove_built;     /* [n] the built set, random order (rounds > 1) */

	/* sequential pattern: mapping i = page i above BENCH_BASE; the
	 * removes take the nremove lowest, in ascending order */
	uint64_t *seq_addrs;        /* [nlookups] ascending, wrapping at n */

	/* expected sums of the answers, for checking every structure */
	uint64_t find_sum, xlate_sum, seq_find_sum, seq_xlate_sum;
};

/* One sample of every figure of one structure at one size. ns per op. */
struct bench_sample {
	double insert_rand, find_rand, xlate_rand, churn_rand, remove_rand;
	/* the same look-ups as find_rand / xlate_rand, BENCH_BATCH per call */
	double find_rand_batched, xlate_rand_batched;
	double insert_seq, find_seq, xlate_seq, remove_seq;
	/* heap bytes (mallinfo2 delta) per mapping after the build */
	double heap_rand, heap_seq;
	/* the structure's own count of its bytes per mapping (dmakit only) */
	double self_rand, self_seq;
};

struct bench_impl {
	const char *name;  /* "dmakit", "gtree", "rbtree" */
	const char *title; /* for the table heading */
	/* One sample of the random figures, and of the sequential ones.
	 * @returns 0, or -1 after a message on stderr (a structure answered
	 * wrongly: the figures would mean nothing). */
	int (*run_random)(const struct bench_keys *k, struct bench_sample *s);
	int (*run_sequential)(const struct bench_keys *k, struct bench_sample *s);
	/* Heap bytes per mapping of a fresh structure holding n mappings (built
	 * in ascending order; every layout allocates the same nodes), for a
	 * structure whose allocator keeps freed nodes so that the deltas of the
	 * runs undercount: called in a child process that has never run it. */
	double (*cold_heap)(size_t n);
};

extern const struct bench_impl bench_impl_dmakit;

/* The baselines built in: BENCH_GTREE, BENCH_RBTREE, or NULL when this
 * command was built without them (the static one). */
enum { BENCH_GTREE = 0, BENCH_RBTREE = 1, BENCH_NR_BASELINES = 2 };
const struct bench_impl *bench_baseline(int which);
/* Versions of the baseline libraries, or why they are absent. */
const char *bench_baselines_describe(void);

/* The emulated type1 path: MAP/UNMAP of 4 KiB mappings on an emu container. */
struct bench_container_sample {
	double map_rand, churn_rand, unmap_rand; /* ns per ioctl */
	double map_seq, unmap_seq;
};
int bench_container_run(const struct bench_keys *k, bool model_page_tables,
			struct bench_container_sample *s);

/*
 * The batched look-ups (find_random_batched, translate_random_batched) hand
 * the addresses over BENCH_BATCH at a time, the length of a typical
 * scatter-gather list (a virtio-blk request carries up to 126 segments, a
 * virtio-net packet a handful): dmakit through its batch API, the baselines,
 * which have none, by one plain look-up after another.
 */
#define BENCH_BATCH 32

/* --- helpers shared by the structures --- */

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Heap bytes in use (malloc'd and mmap'd chunks), for bytes per mapping. */
size_t bench_heap_in_use(void);

/*
 * Figures whose ops all cost alike (look-ups, insert+remove at N live) are
 * timed as BENCH_CHUNKS consecutive batches, and the figure is the median
 * of their ns per op: a burst of other work on the machine spoils one batch,
 * not the figure. Builds and drains, whose ops grow dearer as the table
 * grows, are timed as one batch.
 */
#define BENCH_CHUNKS 8
static inline size_t bench_chunk_end(size_t n, unsigned int c)
{
	return n * (c + 1) / BENCH_CHUNKS;
}
double bench_chunk_median(const uint64_t ns[BENCH_CHUNKS], size_t n);

#endif /* DMAKIT_BENCH_H */
