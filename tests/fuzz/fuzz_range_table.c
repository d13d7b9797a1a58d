/* SPDX-License-Identifier: MIT */
/*
 * fuzz_range_table: the range table (src/range_table.c) against a model that
 * is too simple to be wrong: a sorted array of ranges searched with linear
 * scans.
 *
 * The input is a stream of operations (insert, remove, remove_inside, find,
 * first_overlap, seek + next, set_value, batch inserts to grow the tree to
 * several levels, an insert with its k-th allocation failed). Every answer is
 * compared with the model's, and after every operation the whole table is
 * walked and compared range by range, its count checked, and
 * dmakit_range_table_check() run (above 1024 ranges, after every 8th).
 *
 * Addresses are drawn so that collisions are the rule: exact starts and lasts
 * of ranges already held (and their neighbours at +-1, +-2), 0, UINT64_MAX
 * and the values next to them, small numbers, powers of two; raw 64-bit
 * values are one choice among many.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <dmakit/fault.h>
#include <dmakit/range_table.h>

#include "fuzz_common.h"

/* Ranges the model may hold: bounds the batch inserts. */
#define MODEL_MAX 6000
/* Operations per input. */
#define MAX_OPS 400

/*
 * The ranges, ascending, at r[0..n) inside buf: room on both sides, so the
 * batch inserts of a descending run prepend without moving the rest.
 */
#define MODEL_CAP (3 * MODEL_MAX)
struct model {
	struct dmakit_range buf[MODEL_CAP];
	struct dmakit_range *r;
	size_t n;
};

static struct model M;

static void model_reset(void)
{
	M.r = M.buf + MODEL_MAX;
	M.n = 0;
}

FZ_MODEL static void model_recenter(void)
{
	struct dmakit_range *to = M.buf + (MODEL_CAP - M.n) / 2;

	memmove(to, M.r, M.n * sizeof(M.r[0]));
	M.r = to;
}

/* ---- the reference model ---------------------------------------------- */

FZ_MODEL static bool overlaps(uint64_t s1, uint64_t l1, uint64_t s2, uint64_t l2)
{
	return s1 <= l2 && s2 <= l1;
}

FZ_MODEL static int model_insert(uint64_t start, uint64_t last, uint64_t value)
{
	size_t i, at = M.n;

	if (last < start)
		return -EINVAL;
	for (i = 0; i < M.n; i++)
		if (overlaps(M.r[i].start, M.r[i].last, start, last))
			return -EEXIST;
	for (i = 0; i < M.n; i++)
		if (M.r[i].start > last) {
			at = i;
			break;
		}
	if (M.r + M.n == M.buf + MODEL_CAP)
		model_recenter();
	memmove(&M.r[at + 1], &M.r[at], (M.n - at) * sizeof(M.r[0]));
	M.r[at] = (struct dmakit_range){ start, last, value };
	M.n++;
	return 0;
}

FZ_MODEL static void model_remove_at(size_t i)
{
	memmove(&M.r[i], &M.r[i + 1], (M.n - i - 1) * sizeof(M.r[0]));
	M.n--;
}

FZ_MODEL static long model_index_starting(uint64_t start)
{
	size_t i;

	for (i = 0; i < M.n; i++)
		if (M.r[i].start == start)
			return (long)i;
	return -1;
}

FZ_MODEL static long model_index_holding(uint64_t addr)
{
	size_t i;

	for (i = 0; i < M.n; i++)
		if (M.r[i].start <= addr && addr <= M.r[i].last)
			return (long)i;
	return -1;
}

FZ_MODEL static long model_first_overlap(uint64_t start, uint64_t last)
{
	size_t i;

	for (i = 0; i < M.n; i++)
		if (overlaps(M.r[i].start, M.r[i].last, start, last))
			return (long)i;
	return -1;
}

/* The first range whose last >= addr. */
FZ_MODEL static long model_seek(uint64_t addr)
{
	size_t i;

	for (i = 0; i < M.n; i++)
		if (M.r[i].last >= addr)
			return (long)i;
	return -1;
}

/* ---- drawing values ----------------------------------------------------- */

static uint64_t draw_addr(struct fz *f)
{
	uint8_t sel = fz_u8(f);
	uint8_t arg = fz_u8(f);

	switch (sel % 12) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX;
	case 2:
		return arg;                       /* small */
	case 3:
		return UINT64_MAX - arg;          /* near the top */
	case 4:
	case 5:
	case 6: {                                 /* at or next to a range held */
		const struct dmakit_range *r;
		int delta = (int)(arg % 5) - 2;

		if (!M.n)
			return arg;
		r = &M.r[fz_u8(f) % M.n];
		return (arg & 0x80 ? r->last : r->start) + (uint64_t)(int64_t)delta;
	}
	case 7:
		return (1ull << (arg % 64)) + (uint64_t)(int64_t)((int)(arg >> 6) - 2);
	case 8:
		return (uint64_t)arg << 12;       /* page-like */
	case 9:
		return (uint64_t)fz_u16(f);
	case 10:
		return fz_u64(f);
	default:
		return (uint64_t)arg * 0x10;
	}
}

/* A last for @start: mostly a short range, sometimes anything. */
static uint64_t draw_last(struct fz *f, uint64_t start)
{
	uint8_t sel = fz_u8(f);

	switch (sel % 8) {
	case 0:
		return start;                      /* one address */
	case 1:
	case 2:
	case 3:
		return start + (fz_u8(f) % 16);    /* may wrap: an EINVAL case */
	case 4:
		return UINT64_MAX;
	case 5:
		return start + ((uint64_t)fz_u8(f) << 12) - 1;
	default:
		return draw_addr(f);
	}
}

/* ---- comparisons -------------------------------------------------------- */

FZ_MODEL static void same_range(const struct dmakit_range *got, const struct dmakit_range *want,
		       const char *what)
{
	FZ_CHECK(got->start == want->start && got->last == want->last &&
			 got->value == want->value,
		 "%s: got [0x%" PRIx64 ", 0x%" PRIx64 "]=0x%" PRIx64 ", model [0x%" PRIx64
		 ", 0x%" PRIx64 "]=0x%" PRIx64,
		 what, got->start, got->last, got->value, want->start, want->last, want->value);
}

FZ_MODEL static void compare_all(struct dmakit_range_table *t)
{
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	size_t i = 0;
	int ret;

	FZ_CHECK(dmakit_range_table_check(t) == 0, "dmakit_range_table_check() failed");
	FZ_CHECK(dmakit_range_table_count(t) == M.n, "count %zu, model %zu",
		 dmakit_range_table_count(t), M.n);
	for (ret = dmakit_range_table_seek(t, 0, &cur, &r); ret == 0;
	     ret = dmakit_range_table_next(&cur, &r)) {
		FZ_CHECK(i < M.n, "walk: more ranges than the model's %zu", M.n);
		same_range(&r, &M.r[i], "walk");
		i++;
	}
	FZ_CHECK(ret == -ENOENT, "walk ended with %d", ret);
	FZ_CHECK(i == M.n, "walk: %zu ranges, model %zu", i, M.n);
	FZ_CHECK(dmakit_range_table_memory(t) >= M.n * 3 * sizeof(uint64_t),
		 "memory() %zu below 24 bytes per range", dmakit_range_table_memory(t));
}

struct removed_log {
	size_t n;
	uint64_t prev_start;
	const struct dmakit_range *want; /* the model's ranges, in order */
};

FZ_MODEL static void removed_cb(void *ctx, const struct dmakit_range *range)
{
	struct removed_log *log = ctx;

	FZ_CHECK(log->n == 0 || range->start > log->prev_start,
		 "remove_inside: callback out of order");
	same_range(range, &log->want[log->n], "remove_inside callback");
	log->prev_start = range->start;
	log->n++;
}

/* ---- operations ----------------------------------------------------------- */

static void op_insert(struct dmakit_range_table *t, struct fz *f)
{
	uint64_t start = draw_addr(f), last = draw_last(f, start), value = fz_u64(f);
	int want, got;

	want = model_insert(start, last, value);
	got = dmakit_range_table_insert(t, start, last, value);
	FZ_LOG("insert [0x%" PRIx64 ", 0x%" PRIx64 "] -> %d (model %d)\n", start, last, got, want);
	FZ_CHECK(got == want, "insert [0x%" PRIx64 ", 0x%" PRIx64 "]: %d, model %d", start,
		 last, got, want);
}

/* An insert whose k-th allocation fails: -ENOMEM and nothing changed, or
 * success if the insert needed fewer allocations. */
static void op_insert_fail_alloc(struct dmakit_range_table *t, struct fz *f)
{
	uint64_t start = draw_addr(f), last = draw_last(f, start), value = fz_u64(f);
	unsigned int nth = 1 + fz_u8(f) % 4;
	size_t n_before = M.n;
	int want, got;

	want = model_insert(start, last, value);
	dmakit_fault_arm(DMAKIT_FAULT_ALLOC, nth, 0);
	got = dmakit_range_table_insert(t, start, last, value);
	dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
	FZ_LOG("insert-fail-alloc#%u [0x%" PRIx64 ", 0x%" PRIx64 "] -> %d (model %d)\n", nth,
	       start, last, got, want);
	if (got == -ENOMEM && want == 0) {
		FZ_CHECK(dmakit_fault_fired(DMAKIT_FAULT_ALLOC),
			 "insert: -ENOMEM without a failed allocation");
		/* Undo the model's insert: the table must be unchanged. */
		model_remove_at((size_t)model_index_starting(start));
		FZ_CHECK(M.n == n_before, "model bookkeeping");
		return;
	}
	FZ_CHECK(got == want, "insert (allocation %u failing) [0x%" PRIx64 ", 0x%" PRIx64
		 "]: %d, model %d", nth, start, last, got, want);
}

/* Many ranges at a stride: grows the tree past one leaf and one inner level. */
static void op_batch_insert(struct dmakit_range_table *t, struct fz *f)
{
	uint64_t base = draw_addr(f), stride = 1 + fz_u8(f) % 8, len = 1 + fz_u8(f) % 4;
	uint8_t shape = fz_u8(f);
	/* mostly a leaf or two; sometimes enough for two inner levels */
	unsigned int count = 1 + fz_u16(f) % ((shape & 0x0e) == 0x0e ? 2500 : 100), i;
	bool down = shape & 1;

	FZ_LOG("batch base=0x%" PRIx64 " stride=%" PRIu64 " len=%" PRIu64 " count=%u down=%d\n",
	       base, stride, len, count, down);
	for (i = 0; i < count && M.n < MODEL_MAX - 1; i++) {
		uint64_t off = (uint64_t)i * stride;
		uint64_t start = down ? base - off : base + off;
		uint64_t last = start + len - 1;
		int want, got;

		/* The model's insert by binary search (the linear one is too slow
		 * for thousands of ranges): the first range with last >= start
		 * overlaps iff it starts at or below last. */
		if (last < start) {
			want = -EINVAL;
		} else {
			size_t lo = 0, hi = M.n;

			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (M.r[mid].last < start)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < M.n && M.r[lo].start <= last) {
				want = -EEXIST;
			} else if (lo != 0 && lo != M.n && M.n > 256) {
				/* Inserts in the middle of a big model cost a memmove
				 * each: end the batch (batches are for growing trees). */
				break;
			} else {
				if (lo == 0) {
					if (M.r == M.buf)
						model_recenter();
					M.r--;
				} else {
					if (M.r + M.n == M.buf + MODEL_CAP)
						model_recenter();
					memmove(&M.r[lo + 1], &M.r[lo], (M.n - lo) * sizeof(M.r[0]));
				}
				M.r[lo] = (struct dmakit_range){ start, last, off };
				M.n++;
				want = 0;
			}
		}
		got = dmakit_range_table_insert(t, start, last, off);
		FZ_CHECK(got == want, "batch insert %u [0x%" PRIx64 ", 0x%" PRIx64 "]: %d, model %d",
			 i, start, last, got, want);
	}
}

static void op_remove(struct dmakit_range_table *t, struct fz *f)
{
	uint64_t start = draw_addr(f);
	long i = model_index_starting(start);
	struct dmakit_range out, want_r;
	bool null_out = fz_u8(f) & 1;
	int got;

	memset(&out, 0xa5, sizeof(out));
	got = dmakit_range_table_remove(t, start, null_out ? NULL : &out);
	FZ_LOG("remove 0x%" PRIx64 " -> %d (model %s)\n", start, got, i < 0 ? "ENOENT" : "ok");
	if (i < 0) {
		FZ_CHECK(got == -ENOENT, "remove 0x%" PRIx64 ": %d, model -ENOENT", start, got);
		return;
	}
	FZ_CHECK(got == 0, "remove 0x%" PRIx64 ": %d, model 0", start, got);
	want_r = M.r[i];
	if (!null_out)
		same_range(&out, &want_r, "remove");
	model_remove_at((size_t)i);
}

/* Take out of the model every range wholly inside [start, last], into
 * @want in order; returns how many. */
FZ_MODEL static size_t model_take_inside(uint64_t start, uint64_t last, struct dmakit_range *want)
{
	size_t i, nwant = 0, kept = 0;

	for (i = 0; i < M.n; i++) {
		if (M.r[i].start >= start && M.r[i].last <= last)
			want[nwant++] = M.r[i];
		else
			M.r[kept++] = M.r[i];
	}
	M.n = kept;
	return nwant;
}

static void op_remove_inside(struct dmakit_range_table *t, struct fz *f)
{
	static struct dmakit_range want[MODEL_CAP];
	uint64_t start = draw_addr(f), last = draw_last(f, start);
	struct removed_log log = { .want = want };
	bool with_cb = (fz_u8(f) % 4) != 0;
	size_t nwant;
	int64_t got;

	if (last < start) {
		got = dmakit_range_table_remove_inside(t, start, last, removed_cb, &log);
		FZ_CHECK(got == -EINVAL, "remove_inside with last < start: %" PRId64, got);
		FZ_CHECK(log.n == 0, "remove_inside with last < start called back");
		return;
	}
	nwant = model_take_inside(start, last, want);
	got = dmakit_range_table_remove_inside(t, start, last, with_cb ? removed_cb : NULL, &log);
	FZ_LOG("remove_inside [0x%" PRIx64 ", 0x%" PRIx64 "] -> %" PRId64 " (model %zu)\n", start,
	       last, got, nwant);
	FZ_CHECK(got == (int64_t)nwant, "remove_inside [0x%" PRIx64 ", 0x%" PRIx64 "]: %" PRId64
		 ", model %zu", start, last, got, nwant);
	if (with_cb)
		FZ_CHECK(log.n == nwant, "remove_inside: %zu callbacks, model %zu", log.n, nwant);
}

/*
 * find_batch() of up to 64 addresses: each answer (status, range, untouched
 * out[] on a miss) and the count must be the model's.
 */
static void op_find_batch(struct dmakit_range_table *t, struct fz *f, uint64_t first,
			  unsigned int n, bool null_out, bool null_results)
{
	static const struct dmakit_range untouched = { 0x5a5a, 0xa5a5, 0x5a5a };
	struct dmakit_range out[64];
	int results[64];
	uint64_t addrs[64];
	size_t hits = 0;
	unsigned int k;
	int64_t got;

	addrs[0] = first;
	for (k = 1; k < n; k++)
		addrs[k] = draw_addr(f);
	for (k = 0; k < n; k++) {
		out[k] = untouched;
		results[k] = 1;
	}
	got = dmakit_range_table_find_batch(t, addrs, n, null_out ? NULL : out,
					    null_results ? NULL : results);
	FZ_LOG("find_batch of %u from 0x%" PRIx64 " -> %" PRId64 "\n", n, first, got);
	for (k = 0; k < n; k++) {
		long i = model_index_holding(addrs[k]);

		hits += i >= 0;
		if (!null_results)
			FZ_CHECK(results[k] == (i < 0 ? -ENOENT : 0), "find_batch 0x%" PRIx64
				 ": %d, model %d", addrs[k], results[k], i < 0 ? -ENOENT : 0);
		if (null_out)
			continue;
		if (i < 0)
			same_range(&out[k], &untouched, "find_batch miss");
		else
			same_range(&out[k], &M.r[i], "find_batch");
	}
	FZ_CHECK(got == (int64_t)hits, "find_batch: %" PRId64 " found, model %zu", got, hits);
}

static void op_find(struct dmakit_range_table *t, struct fz *f)
{
	uint64_t addr = draw_addr(f);
	long i = model_index_holding(addr);
	struct dmakit_range out;
	uint8_t how = fz_u8(f);
	bool null_out = how & 1;
	int got;

	/* Bit 1: the batch interface instead, with 1 + (how >> 2) addresses. */
	if (how & 2) {
		op_find_batch(t, f, addr, 1 + (how >> 2), null_out, how & 0x80);
		return;
	}
	got = dmakit_range_table_find(t, addr, null_out ? NULL : &out);

	FZ_LOG("find 0x%" PRIx64 " -> %d\n", addr, got);
	if (i < 0) {
		FZ_CHECK(got == -ENOENT, "find 0x%" PRIx64 ": %d, model -ENOENT", addr, got);
		return;
	}
	FZ_CHECK(got == 0, "find 0x%" PRIx64 ": %d, model 0", addr, got);
	if (!null_out)
		same_range(&out, &M.r[i], "find");
}

static void op_first_overlap(struct dmakit_range_table *t, struct fz *f)
{
	uint64_t start = draw_addr(f), last = draw_last(f, start);
	struct dmakit_range out;
	bool null_out = fz_u8(f) & 1;
	long i;
	int got = dmakit_range_table_first_overlap(t, start, last, null_out ? NULL : &out);

	FZ_LOG("first_overlap [0x%" PRIx64 ", 0x%" PRIx64 "] -> %d\n", start, last, got);
	if (last < start) {
		FZ_CHECK(got == -EINVAL, "first_overlap with last < start: %d", got);
		return;
	}
	i = model_first_overlap(start, last);
	if (i < 0) {
		FZ_CHECK(got == -ENOENT, "first_overlap [0x%" PRIx64 ", 0x%" PRIx64
			 "]: %d, model -ENOENT", start, last, got);
		return;
	}
	FZ_CHECK(got == 0, "first_overlap [0x%" PRIx64 ", 0x%" PRIx64 "]: %d, model 0", start,
		 last, got);
	if (!null_out)
		same_range(&out, &M.r[i], "first_overlap");
}

static void op_seek_next(struct dmakit_range_table *t, struct fz *f)
{
	uint64_t addr = draw_addr(f);
	unsigned int steps = fz_u8(f), k;
	struct dmakit_range_cursor cur;
	struct dmakit_range out;
	long i = model_seek(addr);
	int got = dmakit_range_table_seek(t, addr, &cur, &out);

	FZ_LOG("seek 0x%" PRIx64 " +%u -> %d\n", addr, steps, got);
	if (i < 0) {
		FZ_CHECK(got == -ENOENT, "seek 0x%" PRIx64 ": %d, model -ENOENT", addr, got);
		FZ_CHECK(dmakit_range_table_next(&cur, &out) == -ENOENT,
			 "next after a failed seek found a range");
		return;
	}
	FZ_CHECK(got == 0, "seek 0x%" PRIx64 ": %d, model 0", addr, got);
	same_range(&out, &M.r[i], "seek");
	for (k = 0; k < steps; k++) {
		got = dmakit_range_table_next(&cur, (k & 1) ? NULL : &out);
		i++;
		if ((size_t)i >= M.n) {
			FZ_CHECK(got == -ENOENT, "next past the end: %d", got);
			FZ_CHECK(dmakit_range_table_next(&cur, &out) == -ENOENT,
				 "next after the end found a range");
			return;
		}
		FZ_CHECK(got == 0, "next %u: %d, model 0", k, got);
		if (!(k & 1))
			same_range(&out, &M.r[i], "next");
	}
}

static void op_set_value(struct dmakit_range_table *t, struct fz *f)
{
	uint64_t start = draw_addr(f), value = fz_u64(f);
	long i = model_index_starting(start);
	int got = dmakit_range_table_set_value(t, start, value);

	FZ_LOG("set_value 0x%" PRIx64 " -> %d\n", start, got);
	if (i < 0) {
		FZ_CHECK(got == -ENOENT, "set_value 0x%" PRIx64 ": %d, model -ENOENT", start, got);
		return;
	}
	FZ_CHECK(got == 0, "set_value 0x%" PRIx64 ": %d, model 0", start, got);
	M.r[i].value = value;
}

/* A find, then a remove of the range found: exercises the last-hit cache
 * right before a structural change. */
static void op_find_remove(struct dmakit_range_table *t, struct fz *f)
{
	op_find(t, f);
	op_remove(t, f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct dmakit_range_table *t = dmakit_range_table_create();
	unsigned int ops = 0;

	FZ_CHECK(t != NULL, "create failed");
	model_reset();
	compare_all(t);
	while (!fz_empty(&f) && ops++ < MAX_OPS) {
		uint8_t op = fz_u8(&f);

		switch (op % 16) {
		case 0:
		case 1:
		case 2:
		case 3:
			op_insert(t, &f);
			break;
		case 4:
		case 5:
			op_remove(t, &f);
			break;
		case 6:
			op_remove_inside(t, &f);
			break;
		case 7:
		case 8:
			op_find(t, &f);
			break;
		case 9:
			op_first_overlap(t, &f);
			break;
		case 10:
		case 11:
			op_seek_next(t, &f);
			break;
		case 12:
			op_set_value(t, &f);
			break;
		case 13:
			op_insert_fail_alloc(t, &f);
			break;
		case 14:
			op_find_remove(t, &f);
			break;
		default:
			if (op & 0x10)
				op_batch_insert(t, &f);
			else
				op_remove_inside(t, &f);
			break;
		}
		/* After every operation; in a table of thousands of ranges (the
		 * batch inserts), every 8th and after the last, or the walk costs
		 * more than all the rest. */
		if (M.n <= 1024 || ops % 8 == 0 || fz_empty(&f))
			compare_all(t);
	}
	compare_all(t);
	dmakit_range_table_destroy(t);
	return 0;
}
