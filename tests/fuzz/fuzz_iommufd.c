/* SPDX-License-Identifier: MIT */
/*
 * fuzz_iommufd: the emulated iommufd (src/emu_iommufd.c) driven through its
 * public module (include/dmakit/iommufd.h) by a decoded stream of operations
 * on one context, checked against invariants rather than a full model.
 *
 * The input picks the context's configuration (account mode, CAP_IPC_LOCK,
 * CAP_SYS_RESOURCE, RLIMIT_MEMLOCK, transparent huge pages, the IOMMU's dirty
 * tracking capability, declared process memory) and then up to MAX_OPS
 * operations: IOAS_ALLOC, DESTROY (any id), IOAS_MAP (fixed and automatic
 * IOVA, bad flags, small and huge lengths, user_va inside declared memory or
 * not), IOAS_UNMAP (ranges and the all-range form), IOAS_COPY, IOVA_RANGES,
 * ALLOW_IOVAS (0-4 ranges), OPTION (RLIMIT_MODE, HUGE_PAGES; GET and SET),
 * IOMMU_VFIO_IOAS, the vfio compat ioctls (GET_INFO, MAP_DMA, UNMAP_DMA,
 * SET_IOMMU, CHECK_EXTENSION), bind_device, HWPT_ALLOC (DIRTY_TRACKING,
 * NEST_PARENT, FAULT_ID_VALID, bad flags), attach/detach_device (IOAS or HWPT
 * ids), SET_DIRTY_TRACKING, GET_DIRTY_BITMAP and dma_write. Every iommufd
 * ioctl goes through a buffer of exactly the `size` it claims (the struct's,
 * its min_size, one less, or longer with a zero or non-zero tail), so ASan
 * sees any read or write past it. Any operation may run with its k-th
 * allocation failed (include/dmakit/fault.h).
 *
 * A light model keeps only the objects (id -> IOAS / HWPT / device, a
 * HWPT's IOAS, devices attached, dirty ops and tracking) and the compat
 * IOAS, to draw live ids and to check: new ids are the lowest free one,
 * stats.objects is the number of live objects, IOMMU_VFIO_IOAS GET answers
 * the IOAS set. After every operation:
 *   - the answer is 0 or one of the errnos the ioctl can give;
 *   - the areas of every live IOAS (dmakit_iommufd_seek_area) are sorted and
 *     disjoint; stats.areas is their number, mapped_bytes the sum of their
 *     lengths, kernel_object_bytes 144 per area;
 *   - pinned bytes lie between the union and the sum of the page spans of
 *     the pinned areas (their user VAs) and are 0 with none; locked bytes
 *     are 0 with CAP_IPC_LOCK, else all pinned bytes, charged to the
 *     context's account mode, within RLIMIT_MEMLOCK;
 *   - a failed call changed nothing (stats, objects, every area), except
 *     UNMAP, which may have removed areas before the one that failed (the
 *     kernel's non-atomic partial failure) and, on the compat IOAS with
 *     large pages disabled, split areas (iopt_cut_iova is not undone);
 *   - a MAP, COPY, compat MAP or UNMAP that succeeded changed mapped_bytes
 *     by its length, and MAP's area is where it says, with its user_va;
 *   - a dma_write succeeds exactly when every byte is mapped writable in
 *     the HWPT's IOAS (and a device is attached); with tracking on, a
 *     NO_CLEAR GET_DIRTY_BITMAP of the written pages then reports them all;
 *   - GET_DIRTY_BITMAP sets no bit while the HWPT does not track, none past
 *     the bits the request covers, and only bits whose unit overlaps an area.
 * At the end dmakit_iommufd_close() must free everything (LeakSanitizer).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <dmakit/fault.h>
#include <dmakit/iommufd.h>
#include <dmakit/uapi.h>

#include "fuzz_common.h"

#define PG ((uint64_t)4096)
#define MAX_OPS 64
#define MAX_ID 256
#define MAX_AREAS 4096
/* COPY can double the areas of an IOAS; past this many it is skipped (the
 * emulator's pin count is quadratic in the areas sharing one pages object). */
#define COPY_AREA_CAP 128
/* dma_write lengths stay below this, so one operation cannot take seconds. */
#define WRITE_MAX (16ull << 20)
/* Dirty bitmaps larger than this are passed as NULL (bits dropped). */
#define BITMAP_ALLOC_MAX (1u << 20)
#define DECL_BASE 0x10000000ull

enum { T_NONE = 0, T_IOAS, T_HWPT, T_DEV };

struct obj {
	uint8_t type;
	uint32_t ioas;    /* HWPT: its IOAS */
	bool user;        /* HWPT: from HWPT_ALLOC */
	uint32_t devices; /* HWPT: devices attached */
	bool dirty_ops;
	bool tracking;
};

struct area {
	uint32_t ioas;
	struct dmakit_iommufd_area a;
};

struct state {
	struct dmakit_iommufd_stats st;
	size_t n;
	struct area areas[MAX_AREAS];
};

static struct {
	struct dmakit_iommufd *ctx;
	struct dmakit_iommufd_config cfg;
	struct obj o[MAX_ID];
	uint32_t vfio_ioas;
	unsigned int fault_nth; /* the next operation's failed allocation, 0: none */
	bool fired;
} R;

static struct state BEFORE, AFTER;

/* How a failed call may have changed the areas. */
enum rollback {
	RB_EXACT,  /* not at all */
	RB_SUBSET, /* UNMAP: areas removed, or split (compat, large pages off) */
};

/* ---- the object model ---------------------------------------------------- */

static uint32_t lowest_free_id(void)
{
	uint32_t id;

	for (id = 1; id < MAX_ID; id++)
		if (R.o[id].type == T_NONE)
			return id;
	return MAX_ID;
}

static void add_obj(uint32_t id, uint8_t type)
{
	FZ_CHECK(id == lowest_free_id(), "new object id %u, the lowest free is %u", id,
		 lowest_free_id());
	FZ_CHECK(id < MAX_ID, "object id %u past the model's %u", id, MAX_ID);
	memset(&R.o[id], 0, sizeof(R.o[id]));
	R.o[id].type = type;
}

static uint64_t model_objects(void)
{
	uint64_t n = 0;
	uint32_t id;

	for (id = 1; id < MAX_ID; id++)
		n += R.o[id].type != T_NONE;
	return n;
}

static uint32_t pick_of(uint8_t type, uint8_t arg)
{
	uint32_t ids[MAX_ID], n = 0, id;

	for (id = 1; id < MAX_ID; id++)
		if (R.o[id].type == type || (type == T_NONE && R.o[id].type != T_NONE))
			ids[n++] = id;
	return n ? ids[arg % n] : 1 + arg % 4;
}

/* An id: mostly a live object of @type, sometimes any id. */
static uint32_t draw_id(struct fz *f, uint8_t type)
{
	uint8_t sel = fz_u8(f), arg = fz_u8(f);

	switch (sel % 8) {
	case 0:
		return pick_of(T_NONE, arg);
	case 1:
		return arg % 8;
	case 2:
		return sel & 0x80 ? UINT32_MAX : (uint32_t)INT32_MAX + 1;
	case 3:
		if (type == T_IOAS)
			return pick_of(T_HWPT, arg);
		if (type == T_HWPT)
			return pick_of(T_IOAS, arg);
		return pick_of(T_NONE, arg);
	default:
		return pick_of(type, arg);
	}
}

/* ---- drawing values -------------------------------------------------------- */

static const uint64_t iova_bases[] = {
	0x0ull,
	PG,
	0x100000ull,
	0xfedf0000ull,         /* below the MSI window 0xfee00000 */
	0xfeef0000ull,         /* its top 0xfeefffff */
	0x7fffff0000ull,       /* the aperture's top 0x7fffffffff */
	0x40000000ull,         /* 1 GiB: large IOPTEs */
	0xffffffffffff0000ull, /* the top of the 64-bit space */
};

/* Near an area seen before the operation (its start or end, +- 2 pages). */
static uint64_t near_area(struct fz *f, uint8_t arg)
{
	const struct dmakit_iommufd_area *a;
	int64_t delta = (int64_t)(arg % 5) - 2;

	if (!BEFORE.n)
		return (uint64_t)arg * PG;
	a = &BEFORE.areas[fz_u8(f) % BEFORE.n].a;
	return (arg & 0x80 ? a->iova + a->length : a->iova) + (uint64_t)(delta * (int64_t)PG);
}

static uint64_t draw_iova(struct fz *f)
{
	uint8_t sel = fz_u8(f), arg = fz_u8(f);

	switch (sel % 10) {
	case 0:
	case 1:
	case 2:
	case 3:
		return iova_bases[(sel >> 4) % 8] + (uint64_t)(arg % 32) * PG;
	case 4:
	case 5:
	case 6:
		return near_area(f, arg);
	case 7:
		return arg;                                    /* unaligned */
	case 8:
		return UINT64_MAX - (uint64_t)(arg % 4) * PG - (arg & 0x80 ? 0 : PG - 1);
	default:
		return fz_u64(f);
	}
}

static uint64_t draw_length(struct fz *f, uint64_t iova)
{
	static const uint64_t special[] = {
		1, PG - 1, PG + 1, 2ull << 20, 1ull << 30, 0xfee00000ull, UINT64_MAX,
		UINT64_MAX - PG, UINT64_MAX - PG + 1, 1ull << 63, 0x8000000000ull, 1ull << 40,
	};
	uint8_t sel = fz_u8(f), arg = fz_u8(f);

	switch (sel % 10) {
	case 0:
	case 1:
	case 2:
	case 3:
		return (1 + (uint64_t)(arg % 16)) * PG;
	case 4:
		/* up to the start or the end of an area */
		if (BEFORE.n) {
			const struct dmakit_iommufd_area *a = &BEFORE.areas[fz_u8(f) % BEFORE.n].a;

			return (arg & 1 ? a->iova + a->length : a->iova) - iova;
		}
		return PG;
	case 5:
		return (uint64_t)(1 + arg % 4) << 21;
	case 6:
		return 0;
	case 7:
		return special[arg % (sizeof(special) / sizeof(special[0]))];
	case 8:
		return 0 - iova; /* ends at 2^64 - 1 */
	default:
		return fz_u64(f);
	}
}

static uint64_t draw_uva(struct fz *f)
{
	uint8_t sel = fz_u8(f), arg = fz_u8(f);

	switch (sel % 8) {
	case 0:
	case 1:
	case 2:
	case 3:
		return DECL_BASE + (uint64_t)arg * PG; /* declared memory is around here */
	case 4:
		return DECL_BASE + (uint64_t)arg * PG + (2ull << 20) * (sel >> 4);
	case 5:
		return DECL_BASE + arg; /* unaligned */
	case 6:
		return UINT64_MAX - (uint64_t)(arg % 4) * PG - PG + 1; /* user_va + length wraps */
	default:
		return fz_u64(f);
	}
}

/* ---- the whole state --------------------------------------------------------- */

FZ_MODEL static void collect(struct state *s)
{
	uint32_t id;

	FZ_CHECK(dmakit_iommufd_stats(R.ctx, &s->st) == 0, "stats failed");
	s->n = 0;
	for (id = 1; id < MAX_ID; id++) {
		uint64_t iova = 0, prev_end = 0;
		bool first = true;

		if (R.o[id].type != T_IOAS)
			continue;
		for (;;) {
			struct dmakit_iommufd_area a;
			int ret = dmakit_iommufd_seek_area(R.ctx, id, iova, &a);

			if (ret == -ENOENT)
				break;
			FZ_CHECK(ret == 0, "seek_area(%u, 0x%" PRIx64 "): %d", id, iova, ret);
			FZ_CHECK(a.length > 0, "IOAS %u: an area of length 0 at 0x%" PRIx64, id,
				 a.iova);
			FZ_CHECK(a.iova + a.length - 1 >= iova,
				 "seek_area(%u, 0x%" PRIx64 "): area 0x%" PRIx64 "+0x%" PRIx64
				 " ends below", id, iova, a.iova, a.length);
			FZ_CHECK(first || a.iova >= prev_end,
				 "IOAS %u: area 0x%" PRIx64 " overlaps the one before (ends 0x%" PRIx64
				 ")", id, a.iova, prev_end);
			FZ_CHECK(s->n < MAX_AREAS, "more than %u areas", MAX_AREAS);
			s->areas[s->n].ioas = id;
			s->areas[s->n].a = a;
			s->n++;
			first = false;
			iova = a.iova + a.length;
			prev_end = iova;
			if (iova == 0)
				break;
		}
	}
}

static int cmp_u64pair(const void *x, const void *y)
{
	const uint64_t *a = x, *b = y;

	return a[0] < b[0] ? -1 : a[0] > b[0];
}

FZ_MODEL static void check_invariants(const struct state *s)
{
	static uint64_t spans[MAX_AREAS][2];
	uint64_t mapped = 0, sum = 0, uni = 0, limit = R.cfg.memlock_limit;
	size_t i, ns = 0;

	for (i = 0; i < s->n; i++) {
		const struct dmakit_iommufd_area *a = &s->areas[i].a;

		mapped += a->length;
		if (a->pinned) {
			uint64_t first = a->user_va / PG, last = (a->user_va + a->length - 1) / PG;

			spans[ns][0] = first;
			spans[ns][1] = last;
			ns++;
			sum += last - first + 1;
		}
	}
	qsort(spans, ns, sizeof(spans[0]), cmp_u64pair);
	for (i = 0; i < ns;) {
		uint64_t first = spans[i][0], last = spans[i][1];

		for (i++; i < ns && spans[i][0] <= last + 1; i++)
			if (spans[i][1] > last)
				last = spans[i][1];
		uni += last - first + 1;
	}
	FZ_CHECK(s->st.exact, "emulator stats not exact");
	FZ_CHECK(s->st.areas == s->n, "stats.areas %" PRIu64 ", seek_area finds %zu", s->st.areas,
		 s->n);
	FZ_CHECK(s->st.mapped_bytes == mapped, "stats.mapped_bytes 0x%" PRIx64
		 ", the areas hold 0x%" PRIx64, s->st.mapped_bytes, mapped);
	FZ_CHECK(s->st.kernel_object_bytes == s->n * DMAKIT_KERNEL_IOPT_AREA_BYTES,
		 "stats.kernel_object_bytes %" PRIu64 " for %zu areas", s->st.kernel_object_bytes,
		 s->n);
	FZ_CHECK(s->st.objects == model_objects(), "stats.objects %" PRIu64 ", model %" PRIu64,
		 s->st.objects, model_objects());
	FZ_CHECK(s->st.pinned_bytes <= sum * PG && s->st.pinned_bytes >= uni * PG,
		 "stats.pinned_bytes 0x%" PRIx64 ": the pinned areas span 0x%" PRIx64
		 " bytes of user memory, 0x%" PRIx64 " counted per area",
		 s->st.pinned_bytes, uni * PG, sum * PG);
	FZ_CHECK(s->st.pinned_bytes % PG == 0, "stats.pinned_bytes 0x%" PRIx64,
		 s->st.pinned_bytes);
	if (R.cfg.cap_ipc_lock) {
		FZ_CHECK(s->st.user_locked_bytes == 0 && s->st.mm_locked_bytes == 0,
			 "CAP_IPC_LOCK, yet locked bytes user 0x%" PRIx64 " mm 0x%" PRIx64,
			 s->st.user_locked_bytes, s->st.mm_locked_bytes);
	} else {
		uint64_t charged = s->st.account_mm ? s->st.mm_locked_bytes
						    : s->st.user_locked_bytes;
		uint64_t other = s->st.account_mm ? s->st.user_locked_bytes
						  : s->st.mm_locked_bytes;

		FZ_CHECK(charged == s->st.pinned_bytes && other == 0,
			 "account %s: pinned 0x%" PRIx64 ", user locked 0x%" PRIx64
			 ", mm locked 0x%" PRIx64, s->st.account_mm ? "mm" : "user",
			 s->st.pinned_bytes, s->st.user_locked_bytes, s->st.mm_locked_bytes);
		FZ_CHECK(charged / PG <= limit / PG, "locked 0x%" PRIx64 " past RLIMIT_MEMLOCK 0x%" PRIx64,
			 charged, limit);
	}
}

static bool area_eq(const struct area *x, const struct area *y)
{
	return x->ioas == y->ioas && x->a.iova == y->a.iova && x->a.length == y->a.length &&
	       x->a.user_va == y->a.user_va && x->a.prot == y->a.prot &&
	       x->a.pinned == y->a.pinned;
}

/* Nothing changed since BEFORE (RB_EXACT), or only areas went away or were
 * cut in pieces (RB_SUBSET). */
FZ_MODEL static void check_rollback(const char *what, int ret, enum rollback rb)
{
	const struct dmakit_iommufd_stats *b = &BEFORE.st, *a = &AFTER.st;
	size_t i, j = 0;

	if (rb == RB_EXACT) {
		FZ_CHECK(a->objects == b->objects && a->areas == b->areas &&
				 a->pages_objects == b->pages_objects &&
				 a->mapped_bytes == b->mapped_bytes &&
				 a->pinned_bytes == b->pinned_bytes &&
				 a->user_locked_bytes == b->user_locked_bytes &&
				 a->mm_locked_bytes == b->mm_locked_bytes &&
				 a->kernel_object_bytes == b->kernel_object_bytes &&
				 a->account_mm == b->account_mm,
			 "%s failed (%d) but changed the stats: objects %" PRIu64 "->%" PRIu64
			 " areas %" PRIu64 "->%" PRIu64 " pages %" PRIu64 "->%" PRIu64
			 " mapped 0x%" PRIx64 "->0x%" PRIx64 " pinned 0x%" PRIx64 "->0x%" PRIx64
			 " user 0x%" PRIx64 "->0x%" PRIx64 " mm 0x%" PRIx64 "->0x%" PRIx64,
			 what, ret, b->objects, a->objects, b->areas, a->areas, b->pages_objects,
			 a->pages_objects, b->mapped_bytes, a->mapped_bytes, b->pinned_bytes,
			 a->pinned_bytes, b->user_locked_bytes, a->user_locked_bytes,
			 b->mm_locked_bytes, a->mm_locked_bytes);
		FZ_CHECK(AFTER.n == BEFORE.n, "%s failed (%d): %zu areas, %zu before", what, ret,
			 AFTER.n, BEFORE.n);
		for (i = 0; i < AFTER.n; i++)
			FZ_CHECK(area_eq(&AFTER.areas[i], &BEFORE.areas[i]),
				 "%s failed (%d): area %zu changed: IOAS %u 0x%" PRIx64 "+0x%" PRIx64
				 ", before IOAS %u 0x%" PRIx64 "+0x%" PRIx64, what, ret, i,
				 AFTER.areas[i].ioas, AFTER.areas[i].a.iova, AFTER.areas[i].a.length,
				 BEFORE.areas[i].ioas, BEFORE.areas[i].a.iova,
				 BEFORE.areas[i].a.length);
		return;
	}
	FZ_CHECK(a->objects == b->objects && a->account_mm == b->account_mm &&
			 a->mapped_bytes <= b->mapped_bytes && a->pinned_bytes <= b->pinned_bytes,
		 "%s failed (%d): objects %" PRIu64 "->%" PRIu64 " mapped 0x%" PRIx64
		 "->0x%" PRIx64 " pinned 0x%" PRIx64 "->0x%" PRIx64, what, ret, b->objects,
		 a->objects, b->mapped_bytes, a->mapped_bytes, b->pinned_bytes, a->pinned_bytes);
	/* every area left is an area from before or a piece of one */
	for (i = 0; i < AFTER.n; i++) {
		const struct area *x = &AFTER.areas[i];
		const struct area *y;

		while (j < BEFORE.n &&
		       (BEFORE.areas[j].ioas < x->ioas ||
			(BEFORE.areas[j].ioas == x->ioas &&
			 BEFORE.areas[j].a.iova + BEFORE.areas[j].a.length - 1 < x->a.iova)))
			j++;
		FZ_CHECK(j < BEFORE.n, "%s failed (%d): a new area IOAS %u 0x%" PRIx64 "+0x%" PRIx64,
			 what, ret, x->ioas, x->a.iova, x->a.length);
		y = &BEFORE.areas[j];
		FZ_CHECK(y->ioas == x->ioas && y->a.iova <= x->a.iova &&
				 x->a.iova + x->a.length - 1 <= y->a.iova + y->a.length - 1 &&
				 x->a.user_va - y->a.user_va == x->a.iova - y->a.iova &&
				 x->a.prot == y->a.prot && x->a.pinned == y->a.pinned,
			 "%s failed (%d): area IOAS %u 0x%" PRIx64 "+0x%" PRIx64 " uva 0x%" PRIx64
			 " is not a piece of IOAS %u 0x%" PRIx64 "+0x%" PRIx64 " uva 0x%" PRIx64,
			 what, ret, x->ioas, x->a.iova, x->a.length, x->a.user_va, y->ioas,
			 y->a.iova, y->a.length, y->a.user_va);
	}
}

/* ---- calling ---------------------------------------------------------------- */

static void fault_begin(void)
{
	R.fired = false;
	if (R.fault_nth)
		dmakit_fault_arm(DMAKIT_FAULT_ALLOC, R.fault_nth, 0);
}

static void fault_end(void)
{
	if (R.fault_nth) {
		R.fired = dmakit_fault_fired(DMAKIT_FAULT_ALLOC);
		dmakit_fault_disarm(DMAKIT_FAULT_ALLOC);
	}
}

/*
 * One iommufd ioctl on a buffer of exactly the size it claims: the struct's
 * own, its min_size, one less, or 8 more with a zero or a non-zero tail.
 * What the kernel wrote back is copied into @st.
 */
static int call_ioctl(struct fz *f, unsigned long req, void *st, size_t st_size, uint32_t minsz)
{
	uint8_t sel = fz_u8(f), *buf;
	uint32_t size;
	size_t alloc;
	int ret;

	switch (sel % 16) {
	case 12:
		size = minsz;
		break;
	case 13:
		size = minsz - 1;
		break;
	case 14:
	case 15:
		size = (uint32_t)st_size + 8;
		break;
	default:
		size = (uint32_t)st_size;
		break;
	}
	alloc = size < 4 ? 4 : size;
	buf = calloc(1, alloc);
	memcpy(st, &size, sizeof(size));
	memcpy(buf, st, size < st_size ? size : st_size);
	if (sel % 16 == 15)
		buf[alloc - 1 - sel / 16 % 8] = 1 + sel / 128;
	fault_begin();
	ret = dmakit_iommufd_ioctl(R.ctx, req, buf);
	fault_end();
	memcpy(st, buf, size < st_size ? size : st_size);
	free(buf);
	return ret;
}

/* Is ret 0 (or >= 0 when @pos) or -e for e in the 0-terminated @errs? */
static bool known(int ret, bool pos, const int *errs)
{
	if (ret == 0 || (pos && ret > 0))
		return true;
	for (; *errs; errs++)
		if (ret == -*errs)
			return true;
	return false;
}

/* What every iommufd ioctl can answer before its own checks. */
#define GENERIC EINVAL, E2BIG, ENOMEM

/* The last operation, for the checks after it. */
static char WHAT[200];
static int RET;
static enum rollback RB;

#define EXPECT(ret, pos, ...)                                                          \
	do {                                                                         \
		static const int errs_[] = { __VA_ARGS__, 0 };                       \
		FZ_CHECK(known(ret, pos, errs_), "%s: unexpected answer %d", WHAT, ret); \
	} while (0)

/* ---- the operations ---------------------------------------------------------- */

static void op_ioas_alloc(struct fz *f)
{
	struct dmakit_iommu_ioas_alloc c = { 0 };

	c.flags = fz_u8(f) % 8 == 0 ? 1 : 0;
	RET = call_ioctl(f, DMAKIT_IOMMU_IOAS_ALLOC, &c, sizeof(c), DMAKIT_IOMMU_IOAS_ALLOC_MINSZ);
	snprintf(WHAT, sizeof(WHAT), "IOAS_ALLOC flags=%u size=%u", c.flags, c.size);
	EXPECT(RET, false, GENERIC, EOPNOTSUPP, ENOSPC);
	if (RET == 0)
		add_obj(c.out_ioas_id, T_IOAS);
}

static void op_destroy(struct fz *f)
{
	struct dmakit_iommu_destroy c = { 0 };
	uint32_t id = draw_id(f, T_NONE);
	uint8_t type;

	c.id = id;
	RET = call_ioctl(f, DMAKIT_IOMMU_DESTROY, &c, sizeof(c), DMAKIT_IOMMU_DESTROY_MINSZ);
	snprintf(WHAT, sizeof(WHAT), "DESTROY id=%u size=%u", id, c.size);
	EXPECT(RET, false, GENERIC, ENOENT, EBUSY);
	type = id < MAX_ID ? R.o[id].type : T_NONE;
	if (RET == 0) {
		FZ_CHECK(type == T_IOAS || type == T_HWPT, "%s: destroyed a %s", WHAT,
			 type == T_DEV ? "device" : "missing object");
		if (type == T_HWPT)
			FZ_CHECK(R.o[id].devices == 0, "%s: HWPT with %u devices destroyed", WHAT,
				 R.o[id].devices);
		if (type == T_IOAS) {
			uint32_t h;

			for (h = 1; h < MAX_ID; h++)
				FZ_CHECK(!(R.o[h].type == T_HWPT && R.o[h].ioas == id),
					 "%s: IOAS destroyed under HWPT %u", WHAT, h);
			if (R.vfio_ioas == id)
				R.vfio_ioas = 0;
		}
		R.o[id].type = T_NONE;
	} else if (RET == -ENOENT) {
		FZ_CHECK(type == T_NONE, "%s: ENOENT for a live object", WHAT);
	} else if (RET == -EBUSY) {
		FZ_CHECK(type != T_NONE, "%s: EBUSY for no object", WHAT);
	}
}

static void op_map(struct fz *f)
{
	static const uint32_t flags[] = {
		DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA | DMAKIT_IOMMU_IOAS_MAP_READABLE |
			DMAKIT_IOMMU_IOAS_MAP_WRITEABLE,
		DMAKIT_IOMMU_IOAS_MAP_READABLE | DMAKIT_IOMMU_IOAS_MAP_WRITEABLE,
		DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA | DMAKIT_IOMMU_IOAS_MAP_READABLE,
		DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA | DMAKIT_IOMMU_IOAS_MAP_READABLE |
			DMAKIT_IOMMU_IOAS_MAP_WRITEABLE,
		DMAKIT_IOMMU_IOAS_MAP_READABLE,
		DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA | DMAKIT_IOMMU_IOAS_MAP_WRITEABLE,
		DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA,
		8 | DMAKIT_IOMMU_IOAS_MAP_READABLE,
	};
	struct dmakit_iommu_ioas_map c = { 0 }, req;
	uint8_t sel = fz_u8(f);
	struct dmakit_iommufd_area a;

	if (BEFORE.st.areas >= COPY_AREA_CAP * 4) {
		snprintf(WHAT, sizeof(WHAT), "IOAS_MAP skipped");
		RET = 0;
		return;
	}
	c.flags = flags[sel % 8];
	if ((sel & 0xf8) == 0xf8)
		c.__reserved = 1;
	c.ioas_id = draw_id(f, T_IOAS);
	c.iova = draw_iova(f);
	c.length = draw_length(f, c.iova);
	c.user_va = draw_uva(f);
	req = c;
	RET = call_ioctl(f, DMAKIT_IOMMU_IOAS_MAP, &c, sizeof(c), DMAKIT_IOMMU_IOAS_MAP_MINSZ);
	snprintf(WHAT, sizeof(WHAT),
		 "IOAS_MAP size=%u ioas=%u flags=0x%x iova=0x%" PRIx64 " length=0x%" PRIx64
		 " user_va=0x%" PRIx64 " -> iova 0x%" PRIx64, c.size, req.ioas_id, req.flags,
		 req.iova, req.length, req.user_va, c.iova);
	EXPECT(RET, false, GENERIC, EOPNOTSUPP, EOVERFLOW, ENOENT, EEXIST, ENOSPC, EFAULT,
	       EPERM);
	if (RET != 0)
		return;
	if (req.flags & DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA)
		FZ_CHECK(c.iova == req.iova, "%s: fixed IOVA moved", WHAT);
	FZ_CHECK(dmakit_iommufd_seek_area(R.ctx, req.ioas_id, c.iova, &a) == 0 &&
			 a.iova == c.iova && a.length == req.length && a.user_va == req.user_va &&
			 a.prot == (req.flags & (DMAKIT_IOMMU_IOAS_MAP_READABLE |
						 DMAKIT_IOMMU_IOAS_MAP_WRITEABLE)),
		 "%s: the new area is 0x%" PRIx64 "+0x%" PRIx64 " uva 0x%" PRIx64 " prot %u", WHAT,
		 a.iova, a.length, a.user_va, a.prot);
	FZ_CHECK(c.iova >= PG || (req.flags & DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA),
		 "%s: automatic IOVA below 4096", WHAT);
}

static void op_unmap(struct fz *f)
{
	struct dmakit_iommu_ioas_unmap c = { 0 }, req;
	uint8_t sel = fz_u8(f);

	c.ioas_id = draw_id(f, T_IOAS);
	if (sel % 6 == 0) {
		c.iova = 0;
		c.length = UINT64_MAX; /* everything */
	} else if (sel % 6 == 1 && BEFORE.n) {
		/* a span from one area to another */
		const struct area *x = &BEFORE.areas[fz_u8(f) % BEFORE.n];
		const struct area *y = &BEFORE.areas[fz_u8(f) % BEFORE.n];

		if (y->a.iova < x->a.iova) {
			const struct area *t = x;

			x = y;
			y = t;
		}
		c.ioas_id = sel & 0x80 ? c.ioas_id : x->ioas;
		c.iova = x->a.iova;
		c.length = y->a.iova + y->a.length - x->a.iova;
	} else {
		c.iova = draw_iova(f);
		c.length = draw_length(f, c.iova);
	}
	req = c;
	RET = call_ioctl(f, DMAKIT_IOMMU_IOAS_UNMAP, &c, sizeof(c), DMAKIT_IOMMU_IOAS_UNMAP_MINSZ);
	snprintf(WHAT, sizeof(WHAT), "IOAS_UNMAP size=%u ioas=%u iova=0x%" PRIx64
		 " length=0x%" PRIx64 " -> 0x%" PRIx64, c.size, req.ioas_id, req.iova, req.length,
		 c.length);
	EXPECT(RET, false, GENERIC, ENOENT, EOVERFLOW);
	RB = RB_SUBSET;
	collect(&AFTER);
	if (RET == 0)
		FZ_CHECK(BEFORE.st.mapped_bytes - AFTER.st.mapped_bytes == c.length &&
				 (c.length || (req.iova == 0 && req.length == UINT64_MAX)),
			 "%s: mapped_bytes 0x%" PRIx64 " -> 0x%" PRIx64, WHAT,
			 BEFORE.st.mapped_bytes, AFTER.st.mapped_bytes);
}

static void op_copy(struct fz *f)
{
	struct dmakit_iommu_ioas_copy c = { 0 }, req;
	uint8_t sel = fz_u8(f);

	if (BEFORE.st.areas >= COPY_AREA_CAP) {
		snprintf(WHAT, sizeof(WHAT), "IOAS_COPY skipped");
		RET = 0;
		return;
	}
	c.flags = (uint32_t[]){ 7, 6, 5, 4, 3, 2, 1, 8 | 6 }[sel % 8];
	c.src_ioas_id = draw_id(f, T_IOAS);
	c.dst_ioas_id = draw_id(f, T_IOAS);
	if (BEFORE.n && (sel & 0x30) != 0x30) {
		const struct area *x = &BEFORE.areas[fz_u8(f) % BEFORE.n];
		const struct area *y = &BEFORE.areas[fz_u8(f) % BEFORE.n];

		if (y->a.iova < x->a.iova) {
			const struct area *t = x;

			x = y;
			y = t;
		}
		c.src_ioas_id = (sel & 0x40) ? c.src_ioas_id : x->ioas;
		c.src_iova = x->a.iova + (sel & 0x80 ? PG : 0);
		c.length = y->a.iova + y->a.length - c.src_iova;
	} else {
		c.src_iova = draw_iova(f);
		c.length = draw_length(f, c.src_iova);
	}
	c.dst_iova = draw_iova(f);
	req = c;
	RET = call_ioctl(f, DMAKIT_IOMMU_IOAS_COPY, &c, sizeof(c), DMAKIT_IOMMU_IOAS_COPY_MINSZ);
	snprintf(WHAT, sizeof(WHAT),
		 "IOAS_COPY size=%u flags=0x%x src=%u 0x%" PRIx64 " dst=%u 0x%" PRIx64
		 " length=0x%" PRIx64 " -> dst 0x%" PRIx64, c.size, req.flags, req.src_ioas_id,
		 req.src_iova, req.dst_ioas_id, req.dst_iova, req.length, c.dst_iova);
	EXPECT(RET, false, GENERIC, EOPNOTSUPP, EOVERFLOW, ENOENT, EEXIST, ENOSPC, EFAULT, EPERM);
	collect(&AFTER);
	if (RET == 0)
		FZ_CHECK(AFTER.st.mapped_bytes - BEFORE.st.mapped_bytes == req.length,
			 "%s: mapped_bytes 0x%" PRIx64 " -> 0x%" PRIx64, WHAT,
			 BEFORE.st.mapped_bytes, AFTER.st.mapped_bytes);
}

static void op_iova_ranges(struct fz *f)
{
	struct dmakit_iommu_ioas_iova_ranges c = { 0 };
	struct dmakit_iommu_iova_range *ranges = NULL;
	uint8_t sel = fz_u8(f);
	uint32_t cap = sel % 5, i;

	c.ioas_id = draw_id(f, T_IOAS);
	c.num_iovas = cap;
	if (cap && (sel & 0x80) == 0) {
		ranges = malloc(cap * sizeof(*ranges));
		c.allowed_iovas = (uint64_t)(uintptr_t)ranges;
	}
	if ((sel & 0x70) == 0x70)
		c.__reserved = 1;
	RET = call_ioctl(f, DMAKIT_IOMMU_IOAS_IOVA_RANGES, &c, sizeof(c),
			 DMAKIT_IOMMU_IOVA_RANGES_MINSZ);
	snprintf(WHAT, sizeof(WHAT), "IOVA_RANGES size=%u ioas=%u cap=%u%s -> %u ranges align %" PRIu64,
		 c.size, c.ioas_id, cap, ranges || !cap ? "" : " (NULL)", c.num_iovas,
		 c.out_iova_alignment);
	EXPECT(RET, false, GENERIC, EOPNOTSUPP, ENOENT, EFAULT, EMSGSIZE);
	if (RET == 0 || RET == -EMSGSIZE) {
		FZ_CHECK(c.num_iovas >= 1 && (RET == 0) == (c.num_iovas <= cap),
			 "%s: EMSGSIZE disagrees with the count", WHAT);
		FZ_CHECK(c.out_iova_alignment && !(c.out_iova_alignment & (c.out_iova_alignment - 1)),
			 "%s: alignment not a power of two", WHAT);
		for (i = 0; ranges && i < cap && i < c.num_iovas; i++) {
			FZ_CHECK(ranges[i].start <= ranges[i].last, "%s: range %u backwards", WHAT, i);
			FZ_CHECK(i == 0 || ranges[i].start > ranges[i - 1].last + 1,
				 "%s: ranges %u and %u touch or overlap", WHAT, i - 1, i);
		}
	}
	free(ranges);
}

static void op_allow_iovas(struct fz *f)
{
	struct dmakit_iommu_ioas_allow_iovas c = { 0 };
	struct dmakit_iommu_iova_range *ranges = NULL;
	uint8_t sel = fz_u8(f);
	uint32_t n = sel % 5, i;

	c.ioas_id = draw_id(f, T_IOAS);
	c.num_iovas = n;
	if (n && (sel & 0x80) == 0) {
		ranges = malloc(n * sizeof(*ranges));
		for (i = 0; i < n; i++) {
			uint8_t k = fz_u8(f);

			switch (k % 4) {
			case 0: /* the lower 4 GiB below the MSI window */
				ranges[i].start = PG * (k >> 2);
				ranges[i].last = 0xfedfffffull;
				break;
			case 1:
				ranges[i].start = 0x100000000ull + (uint64_t)(k >> 2) * (1ull << 30);
				ranges[i].last = ranges[i].start + (1ull << 30) - 1;
				break;
			case 2:
				ranges[i].start = draw_iova(f);
				ranges[i].last = ranges[i].start + draw_length(f, ranges[i].start) - 1;
				break;
			default:
				ranges[i].start = draw_iova(f);
				ranges[i].last = fz_u8(f) & 1 ? UINT64_MAX : ranges[i].start;
				break;
			}
		}
		c.allowed_iovas = (uint64_t)(uintptr_t)ranges;
	}
	if ((sel & 0x70) == 0x70)
		c.__reserved = 1;
	RET = call_ioctl(f, DMAKIT_IOMMU_IOAS_ALLOW_IOVAS, &c, sizeof(c),
			 DMAKIT_IOMMU_ALLOW_IOVAS_MINSZ);
	snprintf(WHAT, sizeof(WHAT), "ALLOW_IOVAS size=%u ioas=%u n=%u%s", c.size, c.ioas_id, n,
		 ranges || !n ? "" : " (NULL)");
	if (fz_verbose())
		for (i = 0; ranges && i < n; i++)
			FZ_LOG("  allow [0x%" PRIx64 ", 0x%" PRIx64 "]\n", ranges[i].start,
			       ranges[i].last);
	EXPECT(RET, false, GENERIC, EOPNOTSUPP, ENOENT, EFAULT, EADDRINUSE);
	free(ranges);
}

static void op_option(struct fz *f)
{
	struct dmakit_iommu_option c = { 0 };
	uint8_t sel = fz_u8(f), arg = fz_u8(f);
	struct dmakit_iommufd_stats st;

	c.option_id = sel % 8 < 4 ? DMAKIT_IOMMU_OPTION_RLIMIT_MODE
		      : sel % 8 < 7 ? DMAKIT_IOMMU_OPTION_HUGE_PAGES : 2 + arg % 3;
	c.op = arg % 8 < 3 ? DMAKIT_IOMMU_OPTION_OP_GET : arg % 8 < 7 ? DMAKIT_IOMMU_OPTION_OP_SET : 2;
	c.val64 = (arg >> 3) % 4 == 3 ? 2 + (arg >> 5) : (arg >> 3) % 2;
	if (c.option_id == DMAKIT_IOMMU_OPTION_HUGE_PAGES)
		c.object_id = draw_id(f, T_IOAS);
	else if ((sel & 0xf0) == 0xf0)
		c.object_id = 1;
	if ((sel & 0xf8) == 0x88)
		c.__reserved = 1;
	RET = call_ioctl(f, DMAKIT_IOMMU_OPTION, &c, sizeof(c), DMAKIT_IOMMU_OPTION_MINSZ);
	snprintf(WHAT, sizeof(WHAT), "OPTION size=%u id=%u op=%u object=%u val=%" PRIu64, c.size,
		 c.option_id, c.op, c.object_id, c.val64);
	EXPECT(RET, false, GENERIC, EOPNOTSUPP, EPERM, EBUSY, ENOENT);
	if (RET == 0 && c.option_id == DMAKIT_IOMMU_OPTION_RLIMIT_MODE) {
		dmakit_iommufd_stats(R.ctx, &st);
		FZ_CHECK(c.val64 == st.account_mm, "%s: mode %" PRIu64 ", stats.account_mm %d", WHAT,
			 c.val64, st.account_mm);
	}
	if (RET == 0 && c.option_id == DMAKIT_IOMMU_OPTION_HUGE_PAGES)
		FZ_CHECK(c.val64 <= 1, "%s: value", WHAT);
}

static void op_vfio_ioas(struct fz *f)
{
	struct dmakit_iommu_vfio_ioas c = { 0 };
	uint8_t sel = fz_u8(f);

	c.op = sel % 8 < 3 ? DMAKIT_IOMMU_VFIO_IOAS_GET
	       : sel % 8 < 6 ? DMAKIT_IOMMU_VFIO_IOAS_SET
	       : sel % 8 == 6 ? DMAKIT_IOMMU_VFIO_IOAS_CLEAR : 3;
	c.ioas_id = draw_id(f, T_IOAS);
	if ((sel & 0xf0) == 0xf0)
		c.__reserved = 1;
	RET = call_ioctl(f, DMAKIT_IOMMU_VFIO_IOAS, &c, sizeof(c), DMAKIT_IOMMU_VFIO_IOAS_MINSZ);
	snprintf(WHAT, sizeof(WHAT), "VFIO_IOAS size=%u op=%u ioas=%u", c.size, c.op, c.ioas_id);
	EXPECT(RET, false, GENERIC, EOPNOTSUPP, ENODEV, ENOENT);
	if (RET == 0 && c.op == DMAKIT_IOMMU_VFIO_IOAS_GET)
		FZ_CHECK(c.size < 8 || c.ioas_id == R.vfio_ioas, "%s: model %u", WHAT, R.vfio_ioas);
	if (RET == -ENODEV)
		FZ_CHECK(R.vfio_ioas == 0, "%s: ENODEV, model %u", WHAT, R.vfio_ioas);
	if (RET == 0 && c.op == DMAKIT_IOMMU_VFIO_IOAS_SET)
		R.vfio_ioas = c.ioas_id;
	if (RET == 0 && c.op == DMAKIT_IOMMU_VFIO_IOAS_CLEAR)
		R.vfio_ioas = 0;
}

/* The vfio compat ioctls on the compat IOAS. */
static void op_compat(struct fz *f)
{
	uint8_t sel = fz_u8(f), arg = fz_u8(f);

	switch (sel % 8) {
	case 0: { /* GET_INFO, argsz 0..255 on a buffer of max(argsz, 16) */
		uint32_t argsz = arg % 4 == 0 ? 16 + fz_u8(f) % 16 : arg;
		size_t alloc = argsz < 16 ? 16 : argsz;
		uint8_t *buf = calloc(1, alloc);

		memcpy(buf, &argsz, sizeof(argsz));
		fault_begin();
		RET = dmakit_iommufd_ioctl(R.ctx, DMAKIT_VFIO_IOMMU_GET_INFO, buf);
		fault_end();
		snprintf(WHAT, sizeof(WHAT), "compat GET_INFO argsz=%u", argsz);
		EXPECT(RET, false, EINVAL, ENODEV, ENOMEM);
		free(buf);
		break;
	}
	case 1:
	case 2:
	case 3: { /* MAP_DMA */
		struct dmakit_vfio_iommu_type1_dma_map m = { 0 };

		if (BEFORE.st.areas >= COPY_AREA_CAP * 4) {
			snprintf(WHAT, sizeof(WHAT), "compat MAP_DMA skipped");
			RET = 0;
			return;
		}
		m.argsz = arg % 16 == 0 ? 31 : 32;
		m.flags = (uint32_t[]){ 3, 3, 1, 2, 0, 4 | 3, 8 | 1, 3 }[(arg >> 4) % 8];
		m.iova = draw_iova(f);
		m.size = draw_length(f, m.iova);
		m.vaddr = draw_uva(f);
		fault_begin();
		RET = dmakit_iommufd_ioctl(R.ctx, DMAKIT_VFIO_IOMMU_MAP_DMA, &m);
		fault_end();
		snprintf(WHAT, sizeof(WHAT), "compat MAP_DMA argsz=%u flags=0x%x iova=0x%" PRIx64
			 " size=0x%" PRIx64 " vaddr=0x%" PRIx64, m.argsz, m.flags, m.iova, m.size,
			 m.vaddr);
		EXPECT(RET, false, EINVAL, ENODEV, EOVERFLOW, ENOMEM, EEXIST, EFAULT, EPERM);
		if (RET == 0) {
			struct dmakit_iommufd_stats st;

			dmakit_iommufd_stats(R.ctx, &st);
			FZ_CHECK(st.mapped_bytes - BEFORE.st.mapped_bytes == m.size,
				 "%s: mapped_bytes 0x%" PRIx64 " -> 0x%" PRIx64, WHAT,
				 BEFORE.st.mapped_bytes, st.mapped_bytes);
		}
		break;
	}
	case 4:
	case 5: { /* UNMAP_DMA */
		struct dmakit_vfio_iommu_type1_dma_unmap u = { 0 };

		u.argsz = arg % 16 == 0 ? 23 : 24;
		u.flags = (uint32_t[]){ 0, 0, 0, 0, 2, 2, 1, 4 }[(arg >> 4) % 8];
		if (u.flags != 2 || (arg & 0x80)) {
			if (BEFORE.n && (fz_u8(f) & 1)) {
				const struct area *x = &BEFORE.areas[fz_u8(f) % BEFORE.n];

				u.iova = x->a.iova + (arg & 4 ? PG : 0);
				u.size = x->a.length - (arg & 8 ? PG : 0);
			} else {
				u.iova = draw_iova(f);
				u.size = draw_length(f, u.iova);
			}
		}
		fault_begin();
		RET = dmakit_iommufd_ioctl(R.ctx, DMAKIT_VFIO_IOMMU_UNMAP_DMA, &u);
		fault_end();
		snprintf(WHAT, sizeof(WHAT), "compat UNMAP_DMA argsz=%u flags=0x%x iova=0x%" PRIx64
			 " size -> 0x%" PRIx64, u.argsz, u.flags, u.iova, u.size);
		EXPECT(RET, false, EINVAL, ENODEV, EOVERFLOW, ENOMEM, ENOENT);
		RB = RB_SUBSET;
		collect(&AFTER);
		/* the size is written back once the compat IOAS is found */
		if (RET == 0 || RET == -ENOENT)
			FZ_CHECK(BEFORE.st.mapped_bytes - AFTER.st.mapped_bytes == u.size,
				 "%s: mapped_bytes 0x%" PRIx64 " -> 0x%" PRIx64, WHAT,
				 BEFORE.st.mapped_bytes, AFTER.st.mapped_bytes);
		break;
	}
	case 6: { /* SET_IOMMU */
		unsigned long type = (unsigned long[]){ 1, 3, 3, 1, 6, 8, 0, 2 }[arg % 8];

		fault_begin();
		RET = dmakit_iommufd_ioctl(R.ctx, DMAKIT_VFIO_SET_IOMMU, (void *)(uintptr_t)type);
		fault_end();
		snprintf(WHAT, sizeof(WHAT), "compat SET_IOMMU(%lu)", type);
		EXPECT(RET, false, EINVAL, ENODEV);
		break;
	}
	default: { /* CHECK_EXTENSION, GET_API_VERSION, unknown */
		unsigned long req = (unsigned long[]){ DMAKIT_VFIO_CHECK_EXTENSION,
						       DMAKIT_VFIO_GET_API_VERSION,
						       DMAKIT_VFIO_IOMMU_DIRTY_PAGES,
						       DMAKIT_VFIO_IO(0x8a) }[arg % 4];

		fault_begin();
		RET = dmakit_iommufd_ioctl(R.ctx, req, (void *)(uintptr_t)(arg >> 2));
		fault_end();
		snprintf(WHAT, sizeof(WHAT), "compat ioctl 0x%lx arg %u", req, arg >> 2);
		EXPECT(RET, true, ENOTTY);
		FZ_CHECK(RET <= 1, "%s: %d", WHAT, RET);
		break;
	}
	}
}

static void op_bind(struct fz *f)
{
	uint32_t dev = 0;

	(void)f;
	fault_begin();
	RET = dmakit_iommufd_bind_device(R.ctx, &dev);
	fault_end();
	snprintf(WHAT, sizeof(WHAT), "bind_device -> %u", dev);
	EXPECT(RET, false, ENOMEM, ENOSPC);
	if (RET == 0)
		add_obj(dev, T_DEV);
}

static void op_hwpt_alloc(struct fz *f)
{
	struct dmakit_iommu_hwpt_alloc c = { 0 };
	uint8_t sel = fz_u8(f), arg = fz_u8(f);
	uint32_t flags = (uint32_t[]){ 0, 2, 2, 1, 3, 0, 4, 8, 16, 5, 2, 0 }[sel % 12];

	c.flags = flags;
	c.dev_id = draw_id(f, T_DEV);
	c.pt_id = draw_id(f, T_IOAS);
	if (arg % 8 == 0) {
		c.data_type = 1 + arg / 8 % 2;
		c.data_len = arg / 16 % 2 ? 8 : 0;
	} else if (arg % 8 == 1) {
		c.data_len = 8;
	}
	if (arg == 0xff)
		c.__reserved = 1;
	RET = call_ioctl(f, DMAKIT_IOMMU_HWPT_ALLOC, &c, sizeof(c), DMAKIT_IOMMU_HWPT_ALLOC_MINSZ);
	snprintf(WHAT, sizeof(WHAT), "HWPT_ALLOC size=%u flags=0x%x dev=%u pt=%u data=%u/%u -> %u",
		 c.size, flags, c.dev_id, c.pt_id, c.data_type, c.data_len, c.out_hwpt_id);
	EXPECT(RET, false, GENERIC, EOPNOTSUPP, ENOENT, EADDRINUSE, EFAULT, ENOSPC);
	if (RET == 0) {
		FZ_CHECK(c.pt_id < MAX_ID && R.o[c.pt_id].type == T_IOAS, "%s: pt not an IOAS", WHAT);
		add_obj(c.out_hwpt_id, T_HWPT);
		R.o[c.out_hwpt_id].ioas = c.pt_id;
		R.o[c.out_hwpt_id].user = true;
		R.o[c.out_hwpt_id].dirty_ops = flags & DMAKIT_IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
		FZ_CHECK(!R.o[c.out_hwpt_id].dirty_ops || R.cfg.dirty_tracking,
			 "%s: dirty tracking without the capability", WHAT);
	}
}

static void op_attach(struct fz *f)
{
	uint32_t pt = draw_id(f, fz_u8(f) & 1 ? T_HWPT : T_IOAS), hwpt = 0;

	fault_begin();
	RET = dmakit_iommufd_attach_device(R.ctx, pt, &hwpt);
	fault_end();
	snprintf(WHAT, sizeof(WHAT), "attach_device pt=%u -> hwpt %u", pt, hwpt);
	EXPECT(RET, false, ENOENT, EADDRINUSE, EFAULT, ENOMEM, EINVAL, ENOSPC);
	if (RET == -ENOENT)
		FZ_CHECK(pt >= MAX_ID || (R.o[pt].type != T_IOAS && R.o[pt].type != T_HWPT),
			 "%s: ENOENT on a live IOAS or HWPT", WHAT);
	if (RET != 0)
		return;
	FZ_CHECK(pt < MAX_ID && (R.o[pt].type == T_IOAS || R.o[pt].type == T_HWPT),
		 "%s: attached to a non-IOAS/HWPT", WHAT);
	if (R.o[pt].type == T_HWPT) {
		FZ_CHECK(hwpt == pt, "%s: HWPT id changed", WHAT);
		R.o[pt].devices++;
	} else {
		add_obj(hwpt, T_HWPT);
		R.o[hwpt].ioas = pt;
		R.o[hwpt].devices = 1;
	}
}

static void op_detach(struct fz *f)
{
	uint32_t id = draw_id(f, T_HWPT);

	fault_begin();
	RET = dmakit_iommufd_detach_device(R.ctx, id);
	fault_end();
	snprintf(WHAT, sizeof(WHAT), "detach_device hwpt=%u", id);
	EXPECT(RET, false, ENOENT);
	FZ_CHECK((RET == 0) == (id < MAX_ID && R.o[id].type == T_HWPT && R.o[id].devices > 0),
		 "%s: %d, model: %s with %u devices", WHAT, RET,
		 id < MAX_ID && R.o[id].type == T_HWPT ? "a HWPT" : "no HWPT",
		 id < MAX_ID ? R.o[id].devices : 0);
	if (RET == 0 && --R.o[id].devices == 0 && !R.o[id].user)
		R.o[id].type = T_NONE;
}

static void op_set_dirty(struct fz *f)
{
	struct dmakit_iommu_hwpt_set_dirty_tracking c = { 0 };
	uint8_t sel = fz_u8(f);

	c.flags = sel % 8 < 5 ? DMAKIT_IOMMU_HWPT_DIRTY_TRACKING_ENABLE : sel % 8 < 7 ? 0 : 2;
	c.hwpt_id = draw_id(f, T_HWPT);
	if ((sel & 0xf0) == 0xf0)
		c.__reserved = 1;
	RET = call_ioctl(f, DMAKIT_IOMMU_HWPT_SET_DIRTY_TRACKING, &c, sizeof(c),
			 DMAKIT_IOMMU_HWPT_SET_DIRTY_TRACKING_MINSZ);
	snprintf(WHAT, sizeof(WHAT), "SET_DIRTY_TRACKING size=%u flags=0x%x hwpt=%u", c.size,
		 c.flags, c.hwpt_id);
	EXPECT(RET, false, GENERIC, EOPNOTSUPP, ENOENT);
	if (RET == 0) {
		FZ_CHECK(c.hwpt_id < MAX_ID && R.o[c.hwpt_id].type == T_HWPT &&
				 R.o[c.hwpt_id].dirty_ops,
			 "%s: accepted on a HWPT without dirty ops", WHAT);
		R.o[c.hwpt_id].tracking = c.flags & DMAKIT_IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
	}
}

/* Does [first, last] overlap an area of IOAS @ioas (in @s)? */
FZ_MODEL static bool overlaps_area(const struct state *s, uint32_t ioas, uint64_t first,
				   uint64_t last)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->areas[i].ioas == ioas && s->areas[i].a.iova <= last &&
		    first <= s->areas[i].a.iova + s->areas[i].a.length - 1)
			return true;
	return false;
}

/* GET_DIRTY_BITMAP into a bitmap sized by the rule of uapi.h; returns the
 * answer. @checked: verify the bits against the areas. */
static int get_dirty(struct fz *f, uint32_t hwpt, uint64_t iova, uint64_t length, uint64_t page_size,
		     uint32_t flags, uint64_t **out_map, uint64_t *out_nbits)
{
	struct dmakit_iommu_hwpt_get_dirty_bitmap c = { 0 };
	uint64_t nbits = 0, words = 0, *map = NULL;
	int ret;

	if (length && page_size) {
		nbits = ((length - 1) >> __builtin_ctzll(page_size)) + 1;
		words = (nbits + 63) / 64;
		if (words <= BITMAP_ALLOC_MAX / 8)
			map = calloc(words, 8);
	}
	c.hwpt_id = hwpt;
	c.flags = flags;
	c.iova = iova;
	c.length = length;
	c.page_size = page_size;
	c.data = (uint64_t)(uintptr_t)map;
	if (f) {
		ret = call_ioctl(f, DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP, &c, sizeof(c),
				 DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP_MINSZ);
	} else {
		c.size = sizeof(c);
		ret = dmakit_iommufd_ioctl(R.ctx, DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP, &c);
	}
	*out_map = map;
	*out_nbits = map ? nbits : 0;
	return ret;
}

static void op_get_dirty(struct fz *f)
{
	static const uint64_t sizes[] = { PG, PG, PG, 2ull << 20, 1ull << 30, 1, 0, 3 * PG,
					  2 * PG, 1ull << 63 };
	uint8_t sel = fz_u8(f), arg = fz_u8(f);
	uint32_t hwpt = draw_id(f, T_HWPT), ioas;
	uint64_t iova, length, ps, *map, nbits, i, checked = 0;
	uint32_t flags = sel % 4 == 0 ? DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR
			 : sel % 16 == 1 ? 2 : 0;

	ioas = hwpt < MAX_ID && R.o[hwpt].type == T_HWPT ? R.o[hwpt].ioas : 0;
	if (BEFORE.n && (sel & 0x30) != 0x30) {
		const struct area *x = &BEFORE.areas[fz_u8(f) % BEFORE.n];
		const struct area *y = &BEFORE.areas[fz_u8(f) % BEFORE.n];

		if (y->a.iova < x->a.iova) {
			const struct area *t = x;

			x = y;
			y = t;
		}
		iova = x->a.iova - (arg & 0x40 ? PG : 0);
		length = y->a.iova + y->a.length - iova + (arg & 0x80 ? PG : 0);
	} else {
		iova = draw_iova(f);
		length = draw_length(f, iova);
	}
	ps = arg % 16 < 10 ? sizes[arg % 16] : fz_u64(f);
	RET = get_dirty(f, hwpt, iova, length, ps, flags, &map, &nbits);
	snprintf(WHAT, sizeof(WHAT), "GET_DIRTY_BITMAP hwpt=%u flags=0x%x iova=0x%" PRIx64
		 " length=0x%" PRIx64 " page_size=0x%" PRIx64 " bits=%" PRIu64 "%s", hwpt, flags,
		 iova, length, ps, nbits, map ? "" : " (no bitmap)");
	EXPECT(RET, false, GENERIC, EOPNOTSUPP, ENOENT, EOVERFLOW);
	if (RET == 0) {
		FZ_CHECK(ioas, "%s: accepted for no HWPT", WHAT);
		FZ_CHECK(R.o[hwpt].dirty_ops, "%s: accepted for a HWPT without dirty ops", WHAT);
	}
	if (map) {
		unsigned int shift = (unsigned int)__builtin_ctzll(ps);

		for (i = 0; i < (nbits + 63) / 64 * 64; i++) {
			uint64_t first, last;

			if (!(map[i / 64] >> (i % 64) & 1))
				continue;
			FZ_CHECK(RET == 0, "%s failed (%d) but set bit %" PRIu64, WHAT, RET, i);
			FZ_CHECK(R.o[hwpt].tracking, "%s: bit %" PRIu64 " set, tracking is off", WHAT, i);
			FZ_CHECK(i < nbits, "%s: bit %" PRIu64 " set past the %" PRIu64 " bits", WHAT,
				 i, nbits);
			if (++checked > 4096)
				continue;
			first = iova + (i << shift);
			last = first + (1ull << shift) - 1;
			if (last < first || last > iova + length - 1)
				last = iova + length - 1;
			FZ_CHECK(overlaps_area(&BEFORE, ioas, first, last),
				 "%s: bit %" PRIu64 " [0x%" PRIx64 ", 0x%" PRIx64 "] set, no area there",
				 WHAT, i, first, last);
		}
	}
	free(map);
}

static void op_dma_write(struct fz *f)
{
	uint8_t sel = fz_u8(f);
	uint32_t hwpt = draw_id(f, T_HWPT), ioas;
	uint64_t iova, length, last, pos;
	bool covered = true;
	size_t i;

	ioas = hwpt < MAX_ID && R.o[hwpt].type == T_HWPT ? R.o[hwpt].ioas : 0;
	if (BEFORE.n && (sel & 3) != 3) {
		const struct area *x = &BEFORE.areas[fz_u8(f) % BEFORE.n];

		iova = x->a.iova + (uint64_t)(fz_u8(f) % 8) * (sel & 4 ? 1 : PG);
		length = sel & 8 ? x->a.length : 1 + (uint64_t)fz_u8(f) * (sel & 16 ? 1 : PG);
		if (sel & 0x20)
			length += x->a.length;
	} else {
		iova = draw_iova(f);
		length = draw_length(f, iova);
	}
	if (length > WRITE_MAX)
		length = WRITE_MAX - (sel >> 6);
	fault_begin();
	RET = dmakit_iommufd_dma_write(R.ctx, hwpt, iova, length);
	fault_end();
	snprintf(WHAT, sizeof(WHAT), "dma_write hwpt=%u iova=0x%" PRIx64 " length=0x%" PRIx64,
		 hwpt, iova, length);
	EXPECT(RET, false, EINVAL, ENOENT, ENODEV, EFAULT, ENOMEM);
	if (RET == -EINVAL || RET == -ENOMEM)
		return;
	FZ_CHECK((RET == -ENOENT) == (ioas == 0), "%s: %d, model HWPT %s", WHAT, RET,
		 ioas ? "live" : "missing");
	if (!ioas)
		return;
	FZ_CHECK((RET == -ENODEV) == (R.o[hwpt].devices == 0), "%s: %d with %u devices", WHAT,
		 RET, R.o[hwpt].devices);
	if (RET == -ENODEV)
		return;
	/* Every byte mapped writable, from the areas seen before. */
	last = iova + length - 1;
	for (pos = iova; covered;) {
		const struct area *hit = NULL;

		for (i = 0; i < BEFORE.n; i++)
			if (BEFORE.areas[i].ioas == ioas && BEFORE.areas[i].a.iova <= pos &&
			    pos <= BEFORE.areas[i].a.iova + BEFORE.areas[i].a.length - 1)
				hit = &BEFORE.areas[i];
		if (!hit || !(hit->a.prot & DMAKIT_IOMMU_IOAS_MAP_WRITEABLE)) {
			covered = false;
			break;
		}
		if (hit->a.iova + hit->a.length - 1 >= last)
			break;
		pos = hit->a.iova + hit->a.length;
	}
	FZ_CHECK((RET == 0) == covered, "%s: %d, but the bytes are %smapped writable", WHAT, RET,
		 covered ? "" : "not all ");
	if (RET == 0 && R.o[hwpt].tracking) {
		/* NO_CLEAR read-back of the pages written: all dirty. */
		uint64_t first = iova & ~(PG - 1), end = (last | (PG - 1)), *map, nbits, b;
		int ret = get_dirty(NULL, hwpt, first, end - first + 1, PG,
				    DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, &map, &nbits);

		FZ_CHECK(ret == 0 && map, "%s: read-back GET_DIRTY_BITMAP: %d", WHAT, ret);
		for (b = 0; b < nbits; b++)
			FZ_CHECK(map[b / 64] >> (b % 64) & 1,
				 "%s: read-back: page 0x%" PRIx64 " written but not dirty", WHAT,
				 first + b * PG);
		free(map);
	}
}

static void op_declare(struct fz *f)
{
	uint64_t vaddr = DECL_BASE + (uint64_t)(fz_u8(f) % 64) * 4 * PG;
	uint64_t size = (uint64_t)(fz_u8(f) % 24) * PG;

	fault_begin();
	RET = dmakit_iommufd_declare_memory(R.ctx, vaddr, size);
	fault_end();
	snprintf(WHAT, sizeof(WHAT), "declare 0x%" PRIx64 "+0x%" PRIx64, vaddr, size);
	EXPECT(RET, false, EINVAL, ENOMEM);
	FZ_CHECK((RET == -EINVAL) == (size == 0), "%s: %d", WHAT, RET);
}

/* ---- the entry point --------------------------------------------------------- */

static void open_context(struct fz *f)
{
	uint8_t b0 = fz_u8(f), b1 = fz_u8(f), b2 = fz_u8(f);
	unsigned int i;

	memset(&R, 0, sizeof(R));
	dmakit_iommufd_config_init(&R.cfg);
	R.cfg.account_mode = b0 & 1 ? DMAKIT_IOMMUFD_ACCOUNT_MM : DMAKIT_IOMMUFD_ACCOUNT_USER;
	R.cfg.cap_ipc_lock = !(b0 & 2);
	R.cfg.dirty_tracking = !(b0 & 4);
	R.cfg.transparent_hugepage = !(b0 & 8);
	R.cfg.cap_sys_resource = !(b0 & 0x10);
	R.cfg.memlock_limit = b1 == 0xff ? UINT64_MAX
			      : b1 & 0x80 ? (uint64_t)(b1 & 0x7f) << 20
					  : (uint64_t)b1 * PG + (b1 & 1 ? 123 : 0);
	FZ_LOG("open account=%s cap_ipc_lock=%d dirty_tracking=%d thp=%d cap_sys_resource=%d "
	       "memlock=0x%" PRIx64 "\n",
	       b0 & 1 ? "mm" : "user", R.cfg.cap_ipc_lock, R.cfg.dirty_tracking,
	       R.cfg.transparent_hugepage, R.cfg.cap_sys_resource, R.cfg.memlock_limit);
	FZ_CHECK(dmakit_iommufd_open(&R.cfg, &R.ctx) == 0, "open failed");
	/* declared pinnable memory: none (everything pins) or up to 3 buffers */
	for (i = 0; i < b2 % 4; i++) {
		uint64_t vaddr = DECL_BASE + (uint64_t)(fz_u8(f) % 64) * 4 * PG;
		uint64_t size = (1 + (uint64_t)(fz_u8(f) % 64)) * PG;

		FZ_LOG("declare 0x%" PRIx64 "+0x%" PRIx64 "\n", vaddr, size);
		FZ_CHECK(dmakit_iommufd_declare_memory(R.ctx, vaddr, size) == 0, "declare failed");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	unsigned int ops = 0;

	open_context(&f);
	collect(&BEFORE);
	check_invariants(&BEFORE);
	while (!fz_empty(&f) && ops++ < MAX_OPS) {
		uint8_t op = fz_u8(&f);
		bool collected = false;

		RB = RB_EXACT;
		RET = 0;
		WHAT[0] = 0;
		AFTER.n = SIZE_MAX;
		switch (op % 22) {
		case 0:
			op_ioas_alloc(&f);
			break;
		case 1:
			op_destroy(&f);
			break;
		case 2:
		case 3:
		case 4:
			op_map(&f);
			break;
		case 5:
		case 6:
			op_unmap(&f);
			break;
		case 7:
			op_copy(&f);
			break;
		case 8:
			op_iova_ranges(&f);
			break;
		case 9:
			op_allow_iovas(&f);
			break;
		case 10:
			op_option(&f);
			break;
		case 11:
			op_vfio_ioas(&f);
			break;
		case 12:
			op_compat(&f);
			break;
		case 13:
			op_bind(&f);
			break;
		case 14:
			op_hwpt_alloc(&f);
			break;
		case 15:
			op_attach(&f);
			break;
		case 16:
			op_detach(&f);
			break;
		case 17:
			op_set_dirty(&f);
			break;
		case 18:
			op_get_dirty(&f);
			break;
		case 19:
			op_dma_write(&f);
			break;
		case 20:
			op_declare(&f);
			break;
		default:
			/* the next operation runs with its k-th allocation failed */
			R.fault_nth = 1 + fz_u8(&f) % 8;
			continue;
		}
		FZ_LOG("%s -> %d%s\n", WHAT, RET,
		       R.fault_nth ? (R.fired ? " [alloc failed]" : " [alloc armed, not failed]")
				   : "");
		if (R.fired)
			FZ_CHECK(RET == -ENOMEM || RET == 0,
				 "%s: %d after a failed allocation (want -ENOMEM or success)", WHAT,
				 RET);
		R.fault_nth = 0;
		R.fired = false;
		collected = AFTER.n != SIZE_MAX;
		/* the state after (collected again: the op may have changed objects) */
		if (!collected || RET == 0)
			collect(&AFTER);
		check_invariants(&AFTER);
		if (RET < 0)
			check_rollback(WHAT, RET, RB);
		memcpy(&BEFORE.st, &AFTER.st, sizeof(AFTER.st));
		BEFORE.n = AFTER.n;
		memcpy(BEFORE.areas, AFTER.areas, AFTER.n * sizeof(AFTER.areas[0]));
	}
	dmakit_iommufd_close(R.ctx);
	R.ctx = NULL;
	return 0;
}
