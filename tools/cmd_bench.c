/* SPDX-License-Identifier: MIT */
/*
 * dmakit bench [--json] [--quick] [--only SIZES] [--reps N] [--seed N]
 *
 * The project's own benchmark: the range table (insert, remove,
 * find-containing, translate; random and sequential; insert+remove at a
 * constant number of live mappings) at 1K, 65,535, 1M and 16M live 4 KiB
 * mappings, the emulated type1 MAP/UNMAP path end to end, and bytes per
 * mapping; the same work on GLib's GTree and libbsd's red-black tree in the
 * same run, with the ratios and the project's targets. See docs/bench.md.
 *
 * Method: every key is drawn from a fixed-seed generator before any timing;
 * each figure is one batch timed with CLOCK_MONOTONIC, divided by its ops;
 * a warm-up run is discarded and the median of the runs that follow is
 * reported. The structures run in turn within each run, so a slow moment of
 * the machine falls on all of them alike.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dmakit/dmakit.h>

#include "bench.h"
#include "cli.h"

#define BENCH_MAX_REPS 32
#define BENCH_NR_IMPLS (1 + BENCH_NR_BASELINES) /* dmakit, gtree, rbtree */
#define BENCH_DEFAULT_SEED 20240601ull

/* ------------------------------------------------------------------------ */
/* Sizes                                                                    */

struct bench_tier {
	size_t n;
	const char *label;
	const char *aliases; /* other names accepted by --only, comma-separated */
	unsigned int reps[2];   /* measured runs: full, quick (0: skipped) */
	unsigned int warmup[2]; /* discarded runs before them */
	size_t nlookups[2];     /* ops per find / translate figure */
	size_t nchurn[2];       /* ops per insert+remove figure */
	bool container;         /* also the emulated type1 path */
};

/*
 * At 16M, building the table in random order costs GTree and the RB tree a
 * minute each (every op misses the cache at each level of a 24-deep tree):
 * one run, no warm-up (the heap is pre-faulted instead), fewer look-ups, and
 * removes capped at 1M (nremove), keep the full run to a few minutes. The
 * 1M runs are seconds long each, so a warm-up run would teach them nothing.
 */
#define K1 1024u
#define M1 (1024u * 1024u)
static const struct bench_tier bench_tiers[] = {
	{ 1024, "1K", "small,1k,1024", { 9, 5 }, { 1, 1 }, { M1, M1 / 4 }, { M1 / 4, 64 * K1 }, true },
	{ 65535, "65535", "64k,64K,65535", { 7, 3 }, { 1, 1 }, { M1, M1 / 4 }, { M1 / 4, 64 * K1 },
	  true },
	{ 1048576, "1M", "1m,1048576", { 3, 1 }, { 0, 0 }, { M1 / 2, M1 / 4 }, { M1 / 4, 64 * K1 },
	  true },
	{ 16777216, "16M", "16m,16777216", { 1, 0 }, { 0, 0 }, { M1 / 4, M1 / 4 },
	  { 64 * K1, 64 * K1 }, false },
};
#define BENCH_NR_TIERS (sizeof(bench_tiers) / sizeof(bench_tiers[0]))
#define BENCH_MAX_REMOVES M1
/* A random or sequential build is repeated until it makes this many inserts
 * (and removes), so the small sizes are not a few microseconds of timing. */
#define BENCH_MIN_BATCH 65535u

/* ------------------------------------------------------------------------ */
/* Keys                                                                     */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* splitmix64 */
static uint64_t rng_next(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ull;
	return mix64(*state);
}

/* Uniform in [0, n), n <= 2^32 (multiply-shift). */
static uint32_t rng_below(uint64_t *state, uint64_t n)
{
	return (uint32_t)(((rng_next(state) >> 32) * n) >> 32);
}

static void shuffle_u32(uint32_t *a, size_t n, uint64_t *state)
{
	size_t i;

	for (i = n; i > 1; i--) {
		size_t j = rng_below(state, i);
		uint32_t t = a[i - 1];

		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* Slot s owns pages [4s, 4s + 3] above BENCH_BASE; its mapping is one of them. */
static uint64_t slot_start(uint32_t s, uint64_t seed)
{
	uint64_t page = ((uint64_t)s << 2) | (mix64(s ^ seed) & 3);

	return BENCH_BASE + page * BENCH_PAGE;
}

static void keys_free(struct bench_keys *k)
{
	free(k->build);
	free(k->find_addrs);
	free(k->xlate_addrs);
	free(k->churn_ins);
	free(k->churn_rem);
	free(k->remove_churned);
	free(k->remove_built);
	free(k->seq_addrs);
	memset(k, 0, sizeof(*k));
}

static uint64_t *alloc_u64(size_t n)
{
	return malloc((n ? n : 1) * sizeof(uint64_t));
}

static int keys_make(struct bench_keys *k, const struct bench_tier *tier, bool quick,
		     uint64_t seed)
{
	size_t n = tier->n;
	uint64_t st = mix64(seed ^ (n * 0x2545f4914f6cdd1dull));
	size_t i, nslots = 2 * n;
	uint32_t *perm, *live, *spare;

	memset(k, 0, sizeof(*k));
	k->n = n;
	k->rounds = n >= BENCH_MIN_BATCH ? 1 : (unsigned int)((BENCH_MIN_BATCH + n - 1) / n);
	k->nlookups = tier->nlookups[quick];
	k->nchurn = tier->nchurn[quick];
	k->nremove = n < BENCH_MAX_REMOVES ? n : BENCH_MAX_REMOVES;

	perm = malloc(nslots * sizeof(*perm));
	k->build = alloc_u64(n);
	k->find_addrs = alloc_u64(k->nlookups);
	k->xlate_addrs = alloc_u64(k->nlookups);
	k->churn_ins = alloc_u64(k->nchurn);
	k->churn_rem = alloc_u64(k->nchurn);
	k->remove_churned = alloc_u64(k->nremove);
	k->remove_built = k->rounds > 1 ? alloc_u64(n) : NULL;
	k->seq_addrs = alloc_u64(k->nlookups);
	if (!perm || !k->build || !k->find_addrs || !k->xlate_addrs || !k->churn_ins ||
	    !k->churn_rem || !k->remove_churned || (k->rounds > 1 && !k->remove_built) ||
	    !k->seq_addrs) {
		free(perm);
		keys_free(k);
		return -ENOMEM;
	}

	/* The live set: n of the 2n slots, in random order. */
	for (i = 0; i < nslots; i++)
		perm[i] = (uint32_t)i;
	shuffle_u32(perm, nslots, &st);
	for (i = 0; i < n; i++)
		k->build[i] = slot_start(perm[i], seed);

	/* Look-ups: a random live mapping, a random byte in it. */
	for (i = 0; i < k->nlookups; i++) {
		uint64_t a = k->build[rng_below(&st, n)] + (rng_next(&st) & (BENCH_PAGE - 1));

		k->find_addrs[i] = a;
		k->find_sum += a & ~(BENCH_PAGE - 1);
	}
	for (i = 0; i < k->nlookups; i++) {
		uint64_t a = k->build[rng_below(&st, n)] + (rng_next(&st) & (BENCH_PAGE - 1));

		k->xlate_addrs[i] = a;
		k->xlate_sum += a + BENCH_VOFF;
	}
	/* Sequential look-ups: page after page, wrapping at n. */
	for (i = 0; i < k->nlookups; i++) {
		uint64_t a = BENCH_BASE + (uint64_t)(i % n) * BENCH_PAGE +
			     (rng_next(&st) & (BENCH_PAGE - 1));

		k->seq_addrs[i] = a;
		k->seq_find_sum += a & ~(BENCH_PAGE - 1);
		k->seq_xlate_sum += a + BENCH_VOFF;
	}

	/* The churn: insert a random free slot, remove a random live one. */
	live = perm;
	spare = perm + n;
	for (i = 0; i < k->nchurn; i++) {
		uint32_t l = rng_below(&st, n), f = rng_below(&st, n), t;

		k->churn_ins[i] = slot_start(spare[f], seed);
		k->churn_rem[i] = slot_start(live[l], seed);
		t = live[l];
		live[l] = spare[f];
		spare[f] = t;
	}
	/* Then nremove live mappings (all of them up to 1M) in random order. */
	shuffle_u32(live, n, &st);
	for (i = 0; i < k->nremove; i++)
		k->remove_churned[i] = slot_start(live[i], seed);
	free(perm);

	if (k->remove_built) {
		memcpy(k->remove_built, k->build, n * sizeof(uint64_t));
		for (i = n; i > 1; i--) {
			size_t j = rng_below(&st, i);
			uint64_t t = k->remove_built[i - 1];

			k->remove_built[i - 1] = k->remove_built[j];
			k->remove_built[j] = t;
		}
	}
	return 0;
}

/*
 * Fault in the heap the next size will use, and keep it: the structures'
 * nodes then come from memory already mapped, so no structure pays the page
 * faults of another's first run. Nodes are small; blocks up to 32 MiB come
 * from the heap, and a free top chunk is not returned below 2 GiB.
 */
static void heap_prepare(size_t bytes)
{
	enum { BLOCK = 1 << 20 };
	size_t i, count = bytes / BLOCK;
	void **blocks = calloc(count ? count : 1, sizeof(*blocks));

	if (!blocks)
		return;
	for (i = 0; i < count; i++) {
		blocks[i] = malloc(BLOCK);
		if (!blocks[i])
			break;
		memset(blocks[i], 0, BLOCK);
	}
	while (i-- > 0)
		free(blocks[i]);
	free(blocks);
}

/* ------------------------------------------------------------------------ */
/* Cold heap figures                                                        */

/*
 * GLib 2.74's GSlice keeps the nodes a GTree frees in per-thread magazines
 * for seconds, and the next tree takes them back without asking malloc: a
 * mallinfo2() delta in this process undercounts every GTree built after the
 * first. Its bytes per mapping come from a prober instead, forked before
 * any GTree exists: for each size it forks a child, which builds one tree
 * and reports the delta, from a cold GSlice, exactly as a fresh process
 * would pay it.
 */
struct prober {
	pid_t pid;
	int req, resp;
};

static void prober_main(int req, int resp, const struct bench_impl *impl)
{
	size_t n;

	while (read(req, &n, sizeof(n)) == (ssize_t)sizeof(n)) {
		double v = NAN;
		int fds[2], status;
		pid_t pid;

		if (pipe(fds) == 0) {
			pid = fork();
			if (pid == 0) {
				v = impl->cold_heap(n);
				if (write(fds[1], &v, sizeof(v)) != (ssize_t)sizeof(v))
					_exit(1);
				_exit(0);
			}
			close(fds[1]);
			if (pid > 0) {
				if (read(fds[0], &v, sizeof(v)) != (ssize_t)sizeof(v) || v < 0)
					v = NAN;
				waitpid(pid, &status, 0);
			}
			close(fds[0]);
		}
		if (write(resp, &v, sizeof(v)) != (ssize_t)sizeof(v))
			break;
	}
	_exit(0);
}

static void prober_start(struct prober *p, const struct bench_impl *impl)
{
	int req[2], resp[2];

	p->pid = -1;
	if (!impl || !impl->cold_heap || pipe(req) < 0)
		return;
	if (pipe(resp) < 0) {
		close(req[0]);
		close(req[1]);
		return;
	}
	fflush(NULL);
	p->pid = fork();
	if (p->pid == 0) {
		close(req[1]);
		close(resp[0]);
		prober_main(req[0], resp[1], impl);
	}
	close(req[0]);
	close(resp[1]);
	p->req = req[1];
	p->resp = resp[0];
	if (p->pid < 0) {
		close(p->req);
		close(p->resp);
	}
}

static double prober_ask(struct prober *p, size_t n)
{
	double v = NAN;

	if (p->pid <= 0)
		return NAN;
	if (write(p->req, &n, sizeof(n)) != (ssize_t)sizeof(n) ||
	    read(p->resp, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return NAN;
	return v;
}

static void prober_stop(struct prober *p)
{
	int status;

	if (p->pid <= 0)
		return;
	close(p->req);
	close(p->resp);
	waitpid(p->pid, &status, 0);
	p->pid = -1;
}

/* ------------------------------------------------------------------------ */
/* Memory latency, to read the figures against                              */

/*
 * One dependent load after another over a random cycle of 64-byte lines in
 * a block of @bytes (4 KiB pages, as the structures' heap): what one cache
 * or TLB miss costs at that working-set size.
 */
static double chase_ns(size_t bytes)
{
	size_t n = bytes / 64, i, loads = 1u << 20;
	uint64_t st = 0x5eed, t0, t1;
	uint32_t *perm = malloc(n * sizeof(*perm));
	char *buf = aligned_alloc(4096, bytes);
	void *p;

	if (!perm || !buf) {
		free(perm);
		free(buf);
		return NAN;
	}
	for (i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	shuffle_u32(perm, n, &st);
	for (i = 0; i < n; i++)
		*(void **)(buf + (size_t)perm[i] * 64) = buf + (size_t)perm[(i + 1) % n] * 64;
	free(perm);
	p = buf;
	for (i = 0; i < (n < loads ? n : loads); i++)
		p = *(void **)p;
	t0 = bench_now_ns();
	for (i = 0; i < loads; i++)
		p = *(void **)p;
	t1 = bench_now_ns();
	if (!p) /* never: the cycle has no NULL; keeps the chase */
		t1 = t0;
	free(buf);
	return (double)(t1 - t0) / (double)loads;
}

static const size_t chase_sizes[] = { 16u << 10, 1u << 20, 4u << 20, 32u << 20, 256u << 20 };
#define NR_CHASE (sizeof(chase_sizes) / sizeof(chase_sizes[0]))

/* ------------------------------------------------------------------------ */
/* Results                                                                  */

struct tier_result {
	const struct bench_tier *tier;
	unsigned int reps, warmup;
	unsigned int nr_samples;
	struct bench_sample samples[BENCH_NR_IMPLS][BENCH_MAX_REPS];
	struct bench_container_sample csamples[2][BENCH_MAX_REPS]; /* model off, on */
	bool done[BENCH_NR_IMPLS];
	bool container_done;
	double cold_heap[BENCH_NR_IMPLS]; /* from the prober; NaN: use the runs */
	size_t nlookups, nchurn, nremove; /* ops per figure, as keys_make() chose */
	unsigned int rounds;
	double seconds;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The median of one field (at byte offset @off) of the samples of impl @i. */
static double sample_median(const struct tier_result *tr, int impl, size_t off)
{
	double v[BENCH_MAX_REPS];
	unsigned int r;

	if (!tr->done[impl])
		return NAN;
	for (r = 0; r < tr->nr_samples; r++)
		memcpy(&v[r], (const char *)&tr->samples[impl][r] + off, sizeof(double));
	return median(v, tr->nr_samples);
}

static double csample_median(const struct tier_result *tr, int model, size_t off)
{
	double v[BENCH_MAX_REPS];
	unsigned int r;

	if (!tr->container_done)
		return NAN;
	for (r = 0; r < tr->nr_samples; r++)
		memcpy(&v[r], (const char *)&tr->csamples[model][r] + off, sizeof(double));
	return median(v, tr->nr_samples);
}

/* One line of the report: a benchmark at one size. */
struct bench_row {
	char name[48];
	const struct bench_tier *tier;
	double ns[BENCH_NR_IMPLS]; /* NaN: not measured */
	double target_ns;          /* 0: none */
	double target_ratio;       /* 0: none */
};

struct bench_mem_row {
	const struct bench_tier *tier;
	const char *layout; /* "random", "sequential" */
	double self_bytes;  /* dmakit_range_table_memory() / count */
	double heap[BENCH_NR_IMPLS];
	double target_bytes; /* 0: none */
};

#define TARGET_RATIO 5.0
#define TARGET_BYTES 48.0

static double ratio(double base, double ours)
{
	return isnan(base) || isnan(ours) || ours <= 0 ? NAN : base / ours;
}

/* 1: met, 0: not met, -1: cannot say (a baseline is missing). */
static int row_met(const struct bench_row *r)
{
	int met = 1, i;

	if (r->target_ns > 0 && !(r->ns[0] <= r->target_ns))
		met = 0;
	if (r->target_ratio > 0) {
		for (i = 1; i < BENCH_NR_IMPLS; i++) {
			double x = ratio(r->ns[i], r->ns[0]);

			if (isnan(x))
				return met == 0 ? 0 : -1;
			if (x < r->target_ratio)
				met = 0;
		}
	}
	return met;
}

static bool row_has_target(const struct bench_row *r)
{
	return r->target_ns > 0 || r->target_ratio > 0;
}

static bool mem_met(const struct bench_mem_row *m)
{
	return m->self_bytes <= m->target_bytes;
}

struct bench_report {
	struct bench_row rows[256];
	size_t nr_rows;
	struct bench_mem_row mem[16];
	size_t nr_mem;
};

static struct bench_row *add_row(struct bench_report *rep, const char *name,
				 const struct bench_tier *tier)
{
	struct bench_row *r = &rep->rows[rep->nr_rows++];
	int i;

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->tier = tier;
	for (i = 0; i < BENCH_NR_IMPLS; i++)
		r->ns[i] = NAN;
	return r;
}

static void build_report(const struct tier_result *results, size_t nr, struct bench_report *rep)
{
	static const struct {
		const char *name;
		size_t off;
		bool ratio_target;
	} engine[] = {
		{ "insert_random", offsetof(struct bench_sample, insert_rand), true },
		{ "insert_sequential", offsetof(struct bench_sample, insert_seq), true },
		{ "remove_random", offsetof(struct bench_sample, remove_rand), true },
		{ "remove_sequential", offsetof(struct bench_sample, remove_seq), true },
		{ "find_random", offsetof(struct bench_sample, find_rand), true },
		{ "find_sequential", offsetof(struct bench_sample, find_seq), true },
		{ "translate_random", offsetof(struct bench_sample, xlate_rand), false },
		{ "translate_sequential", offsetof(struct bench_sample, xlate_seq), false },
		{ "find_random_batched", offsetof(struct bench_sample, find_rand_batched), false },
		{ "translate_random_batched", offsetof(struct bench_sample, xlate_rand_batched),
		  false },
		{ "insert_remove_random", offsetof(struct bench_sample, churn_rand), false },
	};
	static const struct {
		const char *name;
		size_t off;
	} emu[] = {
		{ "emu_map_random", offsetof(struct bench_container_sample, map_rand) },
		{ "emu_unmap_random", offsetof(struct bench_container_sample, unmap_rand) },
		{ "emu_map_unmap_random", offsetof(struct bench_container_sample, churn_rand) },
		{ "emu_map_sequential", offsetof(struct bench_container_sample, map_seq) },
		{ "emu_unmap_sequential", offsetof(struct bench_container_sample, unmap_seq) },
	};
	size_t t, e;
	int i, model;

	memset(rep, 0, sizeof(*rep));
	for (t = 0; t < nr; t++) {
		const struct tier_result *tr = &results[t];
		size_t n = tr->tier->n;

		for (e = 0; e < sizeof(engine) / sizeof(engine[0]); e++) {
			struct bench_row *r = add_row(rep, engine[e].name, tr->tier);
			bool lookup = strcmp(engine[e].name, "find_random") == 0 ||
				      strcmp(engine[e].name, "translate_random") == 0;

			for (i = 0; i < BENCH_NR_IMPLS; i++)
				r->ns[i] = sample_median(tr, i, engine[e].off);
			/* The project's targets (docs/bench.md). */
			if (lookup && n == 65535)
				r->target_ns = 10;
			if (lookup && n == 1048576)
				r->target_ns = 40;
			if (strcmp(engine[e].name, "insert_remove_random") == 0 && n == 1048576)
				r->target_ns = 150;
			if (strcmp(engine[e].name, "insert_sequential") == 0)
				r->target_ns = 30;
			if (engine[e].ratio_target && (n == 65535 || n == 1048576))
				r->target_ratio = TARGET_RATIO;
		}
		for (model = 0; model < 2 && tr->container_done; model++) {
			for (e = 0; e < sizeof(emu) / sizeof(emu[0]); e++) {
				char name[48];
				struct bench_row *r;

				snprintf(name, sizeof(name), "%s_model_%s", emu[e].name,
					 model ? "on" : "off");
				r = add_row(rep, name, tr->tier);
				r->ns[0] = csample_median(tr, model, emu[e].off);
			}
		}
		for (e = 0; e < 2; e++) {
			struct bench_mem_row *m = &rep->mem[rep->nr_mem++];
			size_t self_off = e ? offsetof(struct bench_sample, self_seq)
					    : offsetof(struct bench_sample, self_rand);
			size_t heap_off = e ? offsetof(struct bench_sample, heap_seq)
					    : offsetof(struct bench_sample, heap_rand);

			m->tier = tr->tier;
			m->layout = e ? "sequential" : "random";
			m->self_bytes = sample_median(tr, 0, self_off);
			for (i = 0; i < BENCH_NR_IMPLS; i++)
				m->heap[i] = isnan(tr->cold_heap[i]) ? sample_median(tr, i, heap_off)
								      : tr->cold_heap[i];
			m->target_bytes = n == 1048576 ? TARGET_BYTES : 0;
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Machine                                                                  */

struct machine {
	char cpu[128];
	long cpus;
	char kernel[256];
	const char *compiler;
	double latency[NR_CHASE]; /* ns per dependent load, by chase_sizes */
	double load_start[3], load_end[3]; /* /proc/loadavg: other work on the machine */
};

static void read_loadavg(double out[3])
{
	FILE *f = fopen("/proc/loadavg", "r");

	out[0] = out[1] = out[2] = NAN;
	if (f) {
		if (fscanf(f, "%lf %lf %lf", &out[0], &out[1], &out[2]) != 3)
			out[0] = out[1] = out[2] = NAN;
		fclose(f);
	}
}

static void machine_info(struct machine *m, bool quick)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	struct utsname u;
	char line[512];

	snprintf(m->cpu, sizeof(m->cpu), "unknown");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) != 0 || !colon)
			continue;
		colon++;
		colon += strspn(colon, " \t");
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(m->cpu, sizeof(m->cpu), "%s", colon);
		break;
	}
	if (f)
		fclose(f);
	m->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	read_loadavg(m->load_start);
	/* The largest block takes a second to set up: full runs only. */
	for (size_t i = 0; i < NR_CHASE; i++)
		m->latency[i] = quick && i == NR_CHASE - 1 ? NAN : chase_ns(chase_sizes[i]);
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%s %s %s", u.sysname, u.release, u.machine);
	else
		snprintf(m->kernel, sizeof(m->kernel), "unknown");
#if defined(__clang__)
	m->compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
	m->compiler = "gcc " __VERSION__;
#else
	m->compiler = "unknown";
#endif
}

static const char *build_flavour(void)
{
#if defined(__OPTIMIZE__) && defined(NDEBUG)
	return "optimized, NDEBUG";
#elif defined(__OPTIMIZE__)
	return "optimized, assertions on";
#else
	return "not optimized";
#endif
}

/* ------------------------------------------------------------------------ */
/* JSON (the CLI's writer has no numbers with fractions)                    */

struct jw {
	FILE *out;
	int depth;
	bool first[16];
};

static void jw_key(struct jw *j, const char *key)
{
	if (j->depth > 0) {
		if (!j->first[j->depth])
			fputc(',', j->out);
		j->first[j->depth] = false;
		fprintf(j->out, "\n%*s", 2 * j->depth, "");
	}
	if (key)
		fprintf(j->out, "\"%s\": ", key);
}

static void jw_str(struct jw *j, const char *key, const char *v)
{
	const unsigned char *p;

	jw_key(j, key);
	fputc('"', j->out);
	for (p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(j->out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(j->out, "\\u%04x", *p);
		else
			fputc(*p, j->out);
	}
	fputc('"', j->out);
}

static void jw_num(struct jw *j, const char *key, double v)
{
	jw_key(j, key);
	if (isnan(v) || isinf(v))
		fputs("null", j->out);
	else
		fprintf(j->out, "%.3f", v);
}

static void jw_int(struct jw *j, const char *key, long long v)
{
	jw_key(j, key);
	fprintf(j->out, "%lld", v);
}

static void jw_bool(struct jw *j, const char *key, int v) /* -1: null */
{
	jw_key(j, key);
	fputs(v < 0 ? "null" : v ? "true" : "false", j->out);
}

static void jw_open(struct jw *j, const char *key, char c)
{
	jw_key(j, key);
	fputc(c, j->out);
	j->first[++j->depth] = true;
}

static void jw_close(struct jw *j, char c)
{
	bool empty = j->first[j->depth];

	j->depth--;
	if (!empty)
		fprintf(j->out, "\n%*s", 2 * j->depth, "");
	fputc(c, j->out);
}

/* ------------------------------------------------------------------------ */
/* Targets                                                                  */

struct target_check {
	char what[160];
	double value, limit;
	int met; /* 1, 0, -1: not measured */
};

static size_t collect_targets(const struct bench_report *rep, struct target_check *out,
			      size_t max)
{
	size_t nr = 0, i;
	int b;

	for (i = 0; i < rep->nr_rows && nr < max; i++) {
		const struct bench_row *r = &rep->rows[i];

		if (r->target_ns > 0 && nr < max) {
			struct target_check *c = &out[nr++];

			snprintf(c->what, sizeof(c->what), "%s at %s <= %g ns", r->name,
				 r->tier->label, r->target_ns);
			c->value = r->ns[0];
			c->limit = r->target_ns;
			c->met = isnan(r->ns[0]) ? -1 : r->ns[0] <= r->target_ns;
		}
		for (b = 1; r->target_ratio > 0 && b < BENCH_NR_IMPLS && nr < max; b++) {
			struct target_check *c = &out[nr++];
			double x = ratio(r->ns[b], r->ns[0]);

			snprintf(c->what, sizeof(c->what), "%s at %s >= %gx faster than %s",
				 r->name, r->tier->label, r->target_ratio,
				 b == BENCH_GTREE + 1 ? "gtree" : "rbtree");
			c->value = x;
			c->limit = r->target_ratio;
			c->met = isnan(x) ? -1 : x >= r->target_ratio;
		}
	}
	for (i = 0; i < rep->nr_mem && nr < max; i++) {
		const struct bench_mem_row *m = &rep->mem[i];
		struct target_check *c;

		if (m->target_bytes <= 0)
			continue;
		c = &out[nr++];
		snprintf(c->what, sizeof(c->what), "bytes per mapping at %s (%s build) <= %g",
			 m->tier->label, m->layout, m->target_bytes);
		c->value = m->self_bytes;
		c->limit = m->target_bytes;
		c->met = isnan(m->self_bytes) ? -1 : mem_met(m);
	}
	return nr;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */

struct bench_run {
	bool quick, json;
	uint64_t seed;
	struct machine machine;
	const struct bench_impl *impls[BENCH_NR_IMPLS];
	struct tier_result *results;
	size_t nr_results;
	struct prober probers[BENCH_NR_IMPLS];
	double seconds;
};

static const char *impl_key[BENCH_NR_IMPLS] = { "dmakit", "gtree", "rbtree" };

static void fmt_ns(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (v < 100)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.0f", v);
}

static void fmt_ratio(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2fx", v);
}

static void print_human(const struct bench_run *run, const struct bench_report *rep)
{
	struct target_check checks[128];
	size_t i, nr_checks, met = 0, unknown = 0;
	char a[32], b[32], c[32], d[32], e[32], f[32], tgt[40];
	FILE *out = stdout;

	fprintf(out, "dmakit bench (%s, seed %llu): %s, %ld CPUs, %s, %s\n",
		run->quick ? "quick" : "full", (unsigned long long)run->seed, run->machine.cpu,
		run->machine.cpus, run->machine.compiler, run->machine.kernel);
	fprintf(out, "baselines: %s\n", bench_baselines_describe());
	fprintf(out, "memory latency (dependent loads, 4 KiB pages):");
	for (i = 0; i < NR_CHASE && !isnan(run->machine.latency[i]); i++)
		fprintf(out, "%s %zu %s %.1f ns", i ? "," : "",
			chase_sizes[i] >= (1u << 20) ? chase_sizes[i] >> 20 : chase_sizes[i] >> 10,
			chase_sizes[i] >= (1u << 20) ? "MiB" : "KiB", run->machine.latency[i]);
	fputc('\n', out);
	fprintf(out, "runs per size (median of; after warm-up runs):");
	for (i = 0; i < run->nr_results; i++)
		fprintf(out, " %s %u+%u", run->results[i].tier->label, run->results[i].reps,
			run->results[i].warmup);
	fprintf(out, "\nns per op; ratio = baseline ns / dmakit ns (> 1: dmakit is faster)\n\n");

	fprintf(out, "%-34s %-6s %9s %8s %9s %8s %9s %8s  %-18s %s\n", "benchmark", "N",
		"dmakit", "Mops/s", "gtree", "ratio", "rbtree", "ratio", "target", "met");
	for (i = 0; i < rep->nr_rows; i++) {
		const struct bench_row *r = &rep->rows[i];
		int m = row_met(r);

		if (i > 0 && r->tier != rep->rows[i - 1].tier)
			fputc('\n', out);
		fmt_ns(a, sizeof(a), r->ns[0]);
		if (isnan(r->ns[0]))
			snprintf(b, sizeof(b), "-");
		else
			snprintf(b, sizeof(b), "%.1f", 1e3 / r->ns[0]);
		fmt_ns(c, sizeof(c), r->ns[1]);
		fmt_ratio(d, sizeof(d), ratio(r->ns[1], r->ns[0]));
		fmt_ns(e, sizeof(e), r->ns[2]);
		fmt_ratio(f, sizeof(f), ratio(r->ns[2], r->ns[0]));
		tgt[0] = '\0';
		if (r->target_ns > 0)
			snprintf(tgt, sizeof(tgt), "<=%g ns", r->target_ns);
		if (r->target_ratio > 0)
			snprintf(tgt + strlen(tgt), sizeof(tgt) - strlen(tgt), "%s>=%gx",
				 tgt[0] ? ", " : "", r->target_ratio);
		fprintf(out, "%-34s %-6s %9s %8s %9s %8s %9s %8s  %-18s %s\n", r->name,
			r->tier->label, a, b, c, d, e, f, tgt,
			!row_has_target(r) ? "" : m < 0 ? "?" : m ? "yes" : "NO");
	}

	fprintf(out, "\nbytes per mapping: dmakit's own count (dmakit_range_table_memory() / count)"
		     "\nand heap in use after the build (mallinfo2() delta) for every structure\n\n");
	fprintf(out, "%-6s %-11s %11s %11s %11s %11s  %s\n", "N", "build", "dmakit own",
		"dmakit heap", "gtree heap", "rbtree heap", "target");
	for (i = 0; i < rep->nr_mem; i++) {
		const struct bench_mem_row *m = &rep->mem[i];

		fprintf(out, "%-6s %-11s %11.1f %11.1f", m->tier->label, m->layout, m->self_bytes,
			m->heap[0]);
		fmt_ns(a, sizeof(a), m->heap[1]);
		fmt_ns(b, sizeof(b), m->heap[2]);
		fprintf(out, " %11s %11s", a, b);
		if (m->target_bytes > 0)
			fprintf(out, "  <=%g own: %s", m->target_bytes, mem_met(m) ? "yes" : "NO");
		fputc('\n', out);
	}

	nr_checks = collect_targets(rep, checks, sizeof(checks) / sizeof(checks[0]));
	for (i = 0; i < nr_checks; i++) {
		met += checks[i].met == 1;
		unknown += checks[i].met < 0;
	}
	fprintf(out, "\ntargets: %zu of %zu met", met, nr_checks);
	if (unknown)
		fprintf(out, " (%zu not measured)", unknown);
	fprintf(out, "%s\n", met + unknown < nr_checks ? "; not met:" : "");
	for (i = 0; i < nr_checks; i++)
		if (checks[i].met == 0)
			fprintf(out, "  %-62s %.2f\n", checks[i].what, checks[i].value);
	fprintf(out, "\ntotal time %.1f s; load average %.2f at the start, %.2f at the end "
		     "(above ~0.5, other work shares the machine: expect noise)\n",
		run->seconds, run->machine.load_start[0], run->machine.load_end[0]);
}

static void print_json(const struct bench_run *run, const struct bench_report *rep, FILE *out)
{
	struct target_check checks[128];
	size_t i, nr_checks;
	struct jw j = { .out = out };
	int b, all_met = 1;

	jw_open(&j, NULL, '{');
	jw_str(&j, "tool", "dmakit bench");
	jw_str(&j, "dmakit_version", dmakit_version());
	jw_str(&j, "mode", run->quick ? "quick" : "full");
	jw_int(&j, "seed", (long long)run->seed);
	jw_str(&j, "unit", "ns per op (median of runs); ratio = baseline_ns / dmakit_ns");
	jw_open(&j, "machine", '{');
	jw_str(&j, "cpu_model", run->machine.cpu);
	jw_int(&j, "cpus", run->machine.cpus);
	jw_str(&j, "kernel", run->machine.kernel);
	jw_str(&j, "compiler", run->machine.compiler);
	jw_str(&j, "build", build_flavour());
	jw_str(&j, "libc", gnu_get_libc_version());
	jw_open(&j, "loadavg_start", '[');
	for (i = 0; i < 3; i++)
		jw_num(&j, NULL, run->machine.load_start[i]);
	jw_close(&j, ']');
	jw_open(&j, "loadavg_end", '[');
	for (i = 0; i < 3; i++)
		jw_num(&j, NULL, run->machine.load_end[i]);
	jw_close(&j, ']');
	jw_open(&j, "memory_latency_ns", '[');
	for (i = 0; i < NR_CHASE; i++) {
		jw_open(&j, NULL, '{');
		jw_int(&j, "bytes", (long long)chase_sizes[i]);
		jw_num(&j, "ns", run->machine.latency[i]);
		jw_close(&j, '}');
	}
	jw_close(&j, ']');
	jw_close(&j, '}');
	jw_str(&j, "baselines", bench_baselines_describe());
	jw_open(&j, "sizes", '[');
	for (i = 0; i < run->nr_results; i++) {
		const struct tier_result *tr = &run->results[i];

		jw_open(&j, NULL, '{');
		jw_int(&j, "n", (long long)tr->tier->n);
		jw_str(&j, "label", tr->tier->label);
		jw_int(&j, "runs", tr->reps);
		jw_int(&j, "warmup_runs", tr->warmup);
		jw_int(&j, "builds_per_run", tr->rounds);
		jw_int(&j, "lookups_per_figure", (long long)tr->nlookups);
		jw_int(&j, "insert_remove_ops", (long long)tr->nchurn);
		jw_int(&j, "removes_per_build", (long long)tr->nremove);
		jw_num(&j, "seconds", tr->seconds);
		jw_close(&j, '}');
	}
	jw_close(&j, ']');

	jw_open(&j, "benchmarks", '[');
	for (i = 0; i < rep->nr_rows; i++) {
		const struct bench_row *r = &rep->rows[i];

		jw_open(&j, NULL, '{');
		jw_str(&j, "name", r->name);
		jw_int(&j, "n", (long long)r->tier->n);
		for (b = 0; b < BENCH_NR_IMPLS; b++) {
			char key[32];

			snprintf(key, sizeof(key), "%s_ns", impl_key[b]);
			jw_num(&j, key, r->ns[b]);
		}
		jw_num(&j, "dmakit_ops_per_s", isnan(r->ns[0]) ? NAN : 1e9 / r->ns[0]);
		jw_num(&j, "ratio_gtree", ratio(r->ns[1], r->ns[0]));
		jw_num(&j, "ratio_rbtree", ratio(r->ns[2], r->ns[0]));
		if (r->target_ns > 0)
			jw_num(&j, "target_ns", r->target_ns);
		if (r->target_ratio > 0)
			jw_num(&j, "target_ratio", r->target_ratio);
		if (row_has_target(r))
			jw_bool(&j, "target_met", row_met(r));
		else
			jw_bool(&j, "target_met", -1);
		jw_close(&j, '}');
	}
	jw_close(&j, ']');

	jw_open(&j, "bytes_per_mapping", '[');
	for (i = 0; i < rep->nr_mem; i++) {
		const struct bench_mem_row *m = &rep->mem[i];

		jw_open(&j, NULL, '{');
		jw_int(&j, "n", (long long)m->tier->n);
		jw_str(&j, "build", m->layout);
		jw_num(&j, "dmakit_own", m->self_bytes);
		jw_num(&j, "dmakit_heap", m->heap[0]);
		jw_num(&j, "gtree_heap", m->heap[1]);
		jw_num(&j, "rbtree_heap", m->heap[2]);
		if (m->target_bytes > 0) {
			jw_num(&j, "target_bytes", m->target_bytes);
			jw_bool(&j, "target_met", mem_met(m));
		} else {
			jw_bool(&j, "target_met", -1);
		}
		jw_close(&j, '}');
	}
	jw_close(&j, ']');

	nr_checks = collect_targets(rep, checks, sizeof(checks) / sizeof(checks[0]));
	jw_open(&j, "targets", '[');
	for (i = 0; i < nr_checks; i++) {
		jw_open(&j, NULL, '{');
		jw_str(&j, "what", checks[i].what);
		jw_num(&j, "value", checks[i].value);
		jw_num(&j, "limit", checks[i].limit);
		jw_bool(&j, "met", checks[i].met);
		jw_close(&j, '}');
		if (checks[i].met != 1)
			all_met = checks[i].met < 0 && all_met ? -1 : 0;
	}
	jw_close(&j, ']');
	jw_bool(&j, "all_targets_met", nr_checks ? all_met : -1);
	jw_num(&j, "seconds", run->seconds);
	jw_close(&j, '}');
	fputc('\n', out);
}

/* ------------------------------------------------------------------------ */
/* Running                                                                  */

static bool progress;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	if (!progress)
		return;
	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int run_tier(struct bench_run *run, const struct bench_tier *tier, unsigned int reps,
		    unsigned int warmup, struct tier_result *tr)
{
	struct bench_keys k;
	uint64_t t0 = bench_now_ns();
	unsigned int r;
	int i, ret = 0;

	memset(tr, 0, sizeof(*tr));
	tr->tier = tier;
	tr->reps = reps;
	tr->warmup = warmup;
	note("N=%s: generating keys", tier->label);
	if (keys_make(&k, tier, run->quick, run->seed) < 0) {
		cli_error("bench: out of memory for the keys of N=%s", tier->label);
		return -ENOMEM;
	}
	/* The largest structure (GTree: ~100 bytes a mapping), capped below the
	 * 2 GiB the heap keeps. */
	tr->nlookups = k.nlookups;
	tr->nchurn = k.nchurn;
	tr->nremove = k.nremove;
	tr->rounds = k.rounds;
	for (i = 0; i < BENCH_NR_IMPLS; i++) {
		tr->cold_heap[i] = NAN;
		if (run->probers[i].pid > 0) {
			note("N=%s: %s bytes per mapping in a fresh process", tier->label,
			     run->impls[i]->name);
			tr->cold_heap[i] = prober_ask(&run->probers[i], tier->n);
		}
	}
	heap_prepare(tier->n * 112 + (16u << 20) > (1900u << 20) ? (1900u << 20)
				 : tier->n * 112 + (16u << 20));

	for (r = 0; r < warmup + reps && ret == 0; r++) {
		bool keep = r >= warmup;
		struct bench_sample scratch;
		struct bench_container_sample cscratch;

		note("N=%s: %s %u of %u", tier->label, keep ? "run" : "warm-up",
		     keep ? r - warmup + 1 : r + 1, keep ? reps : warmup);
		for (i = 0; i < BENCH_NR_IMPLS && ret == 0; i++) {
			struct bench_sample *s = keep ? &tr->samples[i][r - warmup] : &scratch;

			if (!run->impls[i])
				continue;
			memset(s, 0, sizeof(*s));
			if (run->impls[i]->run_random(&k, s) < 0 ||
			    run->impls[i]->run_sequential(&k, s) < 0)
				ret = -EIO;
			tr->done[i] = ret == 0;
		}
		for (i = 0; i < 2 && tier->container && ret == 0; i++) {
			struct bench_container_sample *s =
				keep ? &tr->csamples[i][r - warmup] : &cscratch;

			memset(s, 0, sizeof(*s));
			if (bench_container_run(&k, i == 1, s) < 0)
				ret = -EIO;
			tr->container_done = ret == 0;
		}
	}
	tr->nr_samples = reps;
	keys_free(&k);
	tr->seconds = (double)(bench_now_ns() - t0) / 1e9;
	note("N=%s: %.1f s", tier->label, tr->seconds);
	return ret;
}

/* --only: a comma-separated list of sizes; @mask gets one bit per tier. */
static int parse_only(const char *arg, unsigned int *mask)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	size_t t;

	if (!copy)
		return -1;
	*mask = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool found = false;

		for (t = 0; t < BENCH_NR_TIERS && !found; t++) {
			const struct bench_tier *tier = &bench_tiers[t];
			const char *p = tier->aliases;
			size_t len = strlen(tok);

			found = strcmp(tok, tier->label) == 0;
			while (!found && p && *p) {
				size_t l = strcspn(p, ",");

				found = l == len && strncmp(p, tok, len) == 0;
				p += l + (p[l] == ',');
			}
			if (found)
				*mask |= 1u << t;
		}
		if (!found) {
			cli_error("bench: unknown size '%s' for --only (small, 1K, 65535, 1M, 16M)",
				  tok);
			free(copy);
			return -1;
		}
	}
	free(copy);
	return *mask ? 0 : -1;
}

static void bench_usage(FILE *out)
{
	fprintf(out,
		"usage: dmakit bench [--json] [--quick] [--only SIZES] [--reps N] [--seed N]\n"
		"                    [--json-file FILE]\n"
		"\n"
		"Measure the range table (insert, remove, find, translate; random and\n"
		"sequential; insert+remove at N live), the emulated type1 MAP/UNMAP path\n"
		"and bytes per mapping, at N = 1K, 65535, 1M and 16M live 4 KiB mappings,\n"
		"against GLib's GTree (QEMU's iova-tree) and libbsd's red-black tree\n"
		"(Linux type1's vfio_dma tree). Fixed seeds; median of several runs after\n"
		"a warm-up. See docs/bench.md.\n"
		"\n"
		"  --json        one JSON object on standard output instead of the tables\n"
		"  --quick       skip 16M, fewer runs and ops (about half a minute)\n"
		"  --only SIZES  only these sizes, comma-separated: small (= 1K), 65535, 1M, 16M\n"
		"  --reps N      N measured runs at every size (default: by size)\n"
		"  --seed N      the key generator's seed (default %llu)\n"
		"  --json-file F also write the JSON object to file F\n"
		"  --version, --help\n",
		(unsigned long long)BENCH_DEFAULT_SEED);
}

int cmd_bench(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "only", required_argument, NULL, 'o' },
		{ "reps", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "json-file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_run run = { .seed = BENCH_DEFAULT_SEED };
	struct tier_result *results;
	struct bench_report *rep;
	unsigned int mask = 0, reps_override = 0;
	const char *json_file = NULL;
	FILE *jf = NULL;
	uint64_t t0;
	size_t t;
	int opt, i, ret = 0;
	char *end;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "jqo:r:s:f:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			run.json = true;
			break;
		case 'q':
			run.quick = true;
			break;
		case 'o':
			if (parse_only(optarg, &mask) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'r':
			errno = 0;
			reps_override = (unsigned int)strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] == '-' || reps_override < 1 ||
			    reps_override > BENCH_MAX_REPS) {
				cli_error("bench: bad number '%s' for --reps (1 to %d)", optarg,
					  BENCH_MAX_REPS);
				return CLI_EXIT_USAGE;
			}
			break;
		case 's':
			errno = 0;
			run.seed = strtoull(optarg, &end, 0);
			if (errno || *end || optarg[0] == '-' || end == optarg) {
				cli_error("bench: bad number '%s' for --seed", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'f':
			json_file = optarg;
			break;
		case 'h':
			bench_usage(stdout);
			return CLI_EXIT_OK;
		case 'V':
			printf("dmakit %s\n", dmakit_version());
			return CLI_EXIT_OK;
		default:
			bench_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("bench: unexpected argument '%s'", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	/* Opened first: a bad path should not cost a whole run. */
	if (json_file) {
		jf = fopen(json_file, "w");
		if (!jf) {
			cli_error("bench: cannot write '%s': %s", json_file, strerror(errno));
			return CLI_EXIT_USAGE;
		}
	}
	if (!mask)
		for (t = 0; t < BENCH_NR_TIERS; t++)
			if (bench_tiers[t].reps[run.quick])
				mask |= 1u << t;

	progress = isatty(STDERR_FILENO);
	machine_info(&run.machine, run.quick);
	run.impls[0] = &bench_impl_dmakit;
	for (i = 0; i < BENCH_NR_BASELINES; i++)
		run.impls[1 + i] = bench_baseline(i);
	if (!run.impls[1])
		fprintf(stderr, "dmakit: bench: baselines %s\n", bench_baselines_describe());

	/* Before any structure has run (see struct prober). */
	for (i = 0; i < BENCH_NR_IMPLS; i++)
		prober_start(&run.probers[i], run.impls[i]);

	/* Nodes from the heap, not from mmap, and a heap that stays mapped. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, INT_MAX);

	results = calloc(BENCH_NR_TIERS, sizeof(*results));
	rep = calloc(1, sizeof(*rep));
	if (!results || !rep) {
		free(results);
		free(rep);
		if (jf)
			fclose(jf);
		cli_error("bench: out of memory");
		return CLI_EXIT_FAILS;
	}
	run.results = results;
	t0 = bench_now_ns();
	for (t = 0; t < BENCH_NR_TIERS && ret == 0; t++) {
		const struct bench_tier *tier = &bench_tiers[t];
		unsigned int reps = tier->reps[run.quick], warmup = tier->warmup[run.quick];

		if (!(mask & (1u << t)))
			continue;
		if (reps == 0) /* asked for by --only in quick mode */
			reps = 1;
		if (reps_override)
			reps = reps_override;
		ret = run_tier(&run, tier, reps, warmup, &results[run.nr_results]);
		if (ret == 0)
			run.nr_results++;
	}
	run.seconds = (double)(bench_now_ns() - t0) / 1e9;
	read_loadavg(run.machine.load_end);
	for (i = 0; i < BENCH_NR_IMPLS; i++)
		prober_stop(&run.probers[i]);
	if (ret < 0) {
		if (jf)
			fclose(jf);
		free(results);
		free(rep);
		return CLI_EXIT_FAILS;
	}
	build_report(results, run.nr_results, rep);
	if (run.json)
		print_json(&run, rep, stdout);
	else
		print_human(&run, rep);
	if (jf) {
		print_json(&run, rep, jf);
		if (fclose(jf) != 0) {
			cli_error("bench: cannot write '%s': %s", json_file, strerror(errno));
			ret = -EIO;
		}
		jf = NULL;
	}
	free(results);
	free(rep);
	return fflush(stdout) == 0 && ret == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILS;
}
