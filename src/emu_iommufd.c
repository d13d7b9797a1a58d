/* SPDX-License-Identifier: MIT */
/*
 * The emulated iommufd: Linux's drivers/iommu/iommufd answered in-process,
 * and the front of the public iommufd module (include/dmakit/iommufd.h).
 *
 * Model (the project's kernel-semantics reference, section 2):
 *   - a context holds objects by id: IOASes and HWPTs (one per attached
 *     emulated device). Ids are allocated as an XA_FLAGS_ALLOC1 xarray does:
 *     the lowest free id, from 1.
 *   - an IOAS holds areas (iopt_area) in a range table keyed by IOVA, the
 *     reserved ranges of its domains, the allowed ranges, iova_alignment
 *     (1 without a domain, 4096 with one, PAGE_SIZE with large pages
 *     disabled) and the number of domains attached.
 *   - an area refers to an iopt_pages: the user VA range one MAP made. COPY
 *     and splits make more areas over the same pages, so the pages are
 *     pinned and accounted once however many areas cover them.
 *   - pinning is lazy: an area is pinned only while its IOAS has a domain.
 *     A pages object's pinned count is the number of distinct pages that its
 *     pinned areas cover (pages_union()).
 *
 * Every ioctl runs the generic checks of main.c (size < min_size EINVAL,
 * non-zero unknown tail E2BIG), then its own checks in the kernel's order,
 * each with the kernel's errno; tests/unit/test_iommufd_rules.c has one test
 * per rule.
 *
 * Invariants, true between calls:
 *   - for every pages object p: p->npinned == pages_union(p), and p->users ==
 *     the number of areas that refer to it (a pages object with no user is
 *     freed);
 *   - ctx->pinned_pages == sum of npinned; user_locked_pages (mm_locked_pages)
 *     == sum of npinned over pages in USER (MM) account mode;
 *   - ctx->mapped_bytes == sum of area lengths; ctx->nr_areas == count;
 *   - an IOAS with ndomains > 0 has exactly the domain's reserved ranges (the
 *     MSI window and everything above the aperture) and none otherwise.
 * A call that fails leaves all of them, and every table, as they were, except
 * where the kernel itself is not atomic (UNMAP's partial failure: the areas
 * before the partly covered one are gone), and the one split that cannot be
 * undone without allocating (see area_split()).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <dmakit/iommufd.h>
#include <dmakit/range_table.h>

#include "alloc.h"
#include "bitmap.h"
#include "range_table_internal.h"
#include "iommufd_internal.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ull << PAGE_SHIFT)
#define HPAGE_SIZE (2ull << 20)
#define ULONG_MAX_ UINT64_MAX
#define SIZE_MAX_ UINT64_MAX

#define MAP_FIXED DMAKIT_IOMMU_IOAS_MAP_FIXED_IOVA
#define MAP_W DMAKIT_IOMMU_IOAS_MAP_WRITEABLE
#define MAP_R DMAKIT_IOMMU_IOAS_MAP_READABLE

enum acct { ACCT_NONE = 0, ACCT_USER = 1, ACCT_MM = 2 };
enum obj_type { OBJ_IOAS = 1, OBJ_HWPT = 2, OBJ_DEVICE = 3 };

struct ifd_pages {
	uint64_t uva;       /* the user address MAP was given */
	uint64_t length;
	bool writable;
	enum acct account_mode;
	uint64_t npinned;   /* pinned and accounted pages */
	uint32_t users;     /* areas that refer to it */
	struct ifd_area *areas; /* those areas, linked by pages_next */
};

struct ifd_ioas;
struct ifd_hwpt;

struct ifd_area {
	struct ifd_ioas *ioas;
	struct ifd_pages *pages;
	uint64_t iova;
	uint64_t length;
	uint64_t pages_off; /* byte offset of iova's data from pages->uva */
	uint32_t prot;      /* MAP_R | MAP_W */
	/* Its IOPTEs are 4 KiB only: large pages were disabled when it was
	 * first stored in a domain (re-enabling them does not remap it). */
	bool small_ioptes;
	struct ifd_area *pages_next;
};

struct ifd_ioas {
	uint32_t id;
	struct dmakit_range_table *areas;    /* iova -> struct ifd_area * */
	struct dmakit_range_table *reserved; /* the domains' reserved ranges */
	struct dmakit_range_table *allowed;  /* ALLOW_IOVAS */
	uint64_t iova_alignment;
	bool disable_large_pages;
	uint32_t ndomains;
	struct ifd_hwpt *hwpts; /* its domains, linked by ioas_next */
	uint32_t devices;       /* devices attached through its HWPTs: they
				 * reserve their regions (the MSI window) */
};

/*
 * A paging HWPT: one domain on its IOAS. Either an automatic domain
 * (dmakit_iommufd_attach_device() on an IOAS: destroyed when its last
 * device detaches) or one the user allocated with IOMMU_HWPT_ALLOC
 * (destroyed with IOMMU_DESTROY once no device is attached).
 *
 * Dirty tracking (kernel-semantics 2.10): the IOMMU sets a dirty bit per
 * IOPTE when a device writes through it while tracking is enabled. `dirty`
 * holds one range per dirty IOPTE, [IOPTE start, IOPTE last] inclusive, so
 * clearing is removal only; the IOPTE sizes are those iommu_map() would use
 * (iopte_of()). Unmapping an area drops the dirty IOPTEs inside it.
 */
struct ifd_hwpt {
	uint32_t id;
	struct ifd_ioas *ioas;
	struct ifd_hwpt *ioas_next;
	bool user_allocated;   /* IOMMU_HWPT_ALLOC */
	bool nest_parent;      /* allocated with IOMMU_HWPT_ALLOC_NEST_PARENT */
	uint32_t devices;      /* devices attached to it */
	bool dirty_tracking;   /* enabled by IOMMU_HWPT_SET_DIRTY_TRACKING */
	/* The dirty IOPTEs; NULL unless allocated with
	 * IOMMU_HWPT_ALLOC_DIRTY_TRACKING (the domain's dirty_ops). */
	struct dmakit_range_table *dirty;
};

struct ifd_obj {
	enum obj_type type;
	union {
		struct ifd_ioas *ioas;
		struct ifd_hwpt *hwpt;
	};
};

/* OBJ_DEVICE: a device bound with dmakit_iommufd_bind_device() (the emulated
 * VFIO_DEVICE_BIND_IOMMUFD). It only gives IOMMU_HWPT_ALLOC a dev_id. */

struct dmakit_iommufd {
	struct dmakit_iommufd_config cfg;
	pthread_mutex_t lock;
	int fd; /* linux backend */

	struct dmakit_range_table *objects; /* [id, id] -> struct ifd_obj * */
	struct dmakit_range_table *memory;  /* declared pinnable memory */
	struct ifd_ioas *vfio_ioas;         /* the compat IOAS, or NULL */
	enum acct account_mode;             /* USER or MM (only "== MM" matters) */
	uint64_t nr_areas;
	uint64_t nr_pages;
	uint64_t mapped_bytes;
	uint64_t pinned_pages;
	uint64_t user_locked_pages;
	uint64_t mm_locked_pages;
	uint64_t dirty_seq; /* tags the IOPTEs one DMA write dirtied (rollback) */
};

/* ------------------------------------------------------------------------ */
/* Helpers                                                                    */

static uint64_t align_up(uint64_t x, uint64_t a, bool *ovf)
{
	uint64_t r;

	*ovf = __builtin_add_overflow(x, a - 1, &r);
	return r & ~(a - 1);
}

static uint64_t roundup_pow_of_two(uint64_t x)
{
	if (x <= 1)
		return 1;
	if (x > (1ull << 63))
		return 0; /* not reached: callers bound x below ULONG_MAX / 2 */
	return 1ull << (64 - __builtin_clzll(x - 1));
}

static struct ifd_area *area_of(const struct dmakit_range *r)
{
	return (struct ifd_area *)(uintptr_t)r->value;
}

static uint64_t area_last(const struct ifd_area *a)
{
	return a->iova + a->length - 1;
}

/* ------------------------------------------------------------------------ */
/* Objects (xarray ALLOC1)                                                    */

static struct ifd_obj *obj_get(struct dmakit_iommufd *ctx, uint32_t id)
{
	struct dmakit_range r;

	if (dmakit_range_table_find(ctx->objects, id, &r) != 0)
		return NULL;
	return (struct ifd_obj *)(uintptr_t)r.value;
}

static struct ifd_ioas *ioas_get(struct dmakit_iommufd *ctx, uint32_t id)
{
	struct ifd_obj *o = obj_get(ctx, id);

	return o && o->type == OBJ_IOAS ? o->ioas : NULL;
}

/* The lowest free id from 1. */
static uint32_t obj_free_id(struct dmakit_iommufd *ctx)
{
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	uint64_t want = 1;
	int ret;

	for (ret = dmakit_range_table_seek(ctx->objects, 1, &cur, &r); ret == 0;
	     ret = dmakit_range_table_next(&cur, &r)) {
		if (r.start != want)
			break;
		want++;
	}
	return (uint32_t)want;
}

/* Insert @o under a new id; @returns the id or -ENOMEM. */
static int64_t obj_insert(struct dmakit_iommufd *ctx, struct ifd_obj *o)
{
	uint32_t id = obj_free_id(ctx);
	int ret;

	if (id > INT32_MAX)
		return -ENOSPC; /* xa_limit_31b */
	ret = dmakit_range_table_insert(ctx->objects, id, id, (uint64_t)(uintptr_t)o);
	if (ret < 0)
		return ret;
	return id;
}

/* ------------------------------------------------------------------------ */
/* Pinning and accounting                                                     */

/* Pages of @p that its pinned areas cover, without allocating: sort-free
 * union count (each span adds the part above every span that starts before
 * it). */
static uint64_t pages_union(const struct ifd_pages *p)
{
	const uint64_t head = p->uva % PAGE_SIZE;
	const struct ifd_area *a, *b;
	uint64_t total = 0;
	unsigned int ia, ib;

	for (a = p->areas, ia = 0; a; a = a->pages_next, ia++) {
		int64_t first, last, covered;

		if (!a->ioas->ndomains)
			continue;
		first = (int64_t)((head + a->pages_off) >> PAGE_SHIFT);
		last = (int64_t)((head + a->pages_off + a->length - 1) >> PAGE_SHIFT);
		covered = first - 1;
		for (b = p->areas, ib = 0; b; b = b->pages_next, ib++) {
			int64_t bf, bl;

			if (b == a || !b->ioas->ndomains)
				continue;
			bf = (int64_t)((head + b->pages_off) >> PAGE_SHIFT);
			bl = (int64_t)((head + b->pages_off + b->length - 1) >> PAGE_SHIFT);
			if (bf < first || (bf == first && ib < ia))
				if (bl > covered)
					covered = bl;
		}
		if (last > covered)
			total += (uint64_t)(last - covered);
	}
	return total;
}

static uint64_t limit_pages(const struct dmakit_iommufd *ctx)
{
	return ctx->cfg.memlock_limit >> PAGE_SHIFT;
}

/*
 * Bring @p's pinned count to pages_union(): pin and then account an increase
 * (ENOMEM past the limit, nothing changed), unpin and unaccount a decrease
 * (cannot fail).
 */
static int pages_sync(struct dmakit_iommufd *ctx, struct ifd_pages *p)
{
	uint64_t want = pages_union(p), delta;

	if (want > p->npinned) {
		delta = want - p->npinned;
		if (p->account_mode == ACCT_USER) {
			uint64_t base = ctx->cfg.user_locked_base >> PAGE_SHIFT;

			if (base + ctx->user_locked_pages + delta > limit_pages(ctx))
				return -ENOMEM;
			ctx->user_locked_pages += delta;
		} else if (p->account_mode == ACCT_MM) {
			if (ctx->mm_locked_pages + delta > limit_pages(ctx))
				return -ENOMEM;
			ctx->mm_locked_pages += delta;
		}
		ctx->pinned_pages += delta;
	} else {
		delta = p->npinned - want;
		if (p->account_mode == ACCT_USER)
			ctx->user_locked_pages -= delta;
		else if (p->account_mode == ACCT_MM)
			ctx->mm_locked_pages -= delta;
		ctx->pinned_pages -= delta;
	}
	p->npinned = want;
	return 0;
}

/* Can the process pin [uva, uva + len)? (pin_user_pages: EFAULT) */
static bool memory_pinnable(struct dmakit_iommufd *ctx, uint64_t uva, uint64_t len)
{
	uint64_t addr = uva & ~(PAGE_SIZE - 1), last = uva + len - 1;
	struct dmakit_range r;

	if (dmakit_range_table_count(ctx->memory) == 0)
		return true;
	for (;;) {
		if (dmakit_range_table_find(ctx->memory, addr, &r) != 0)
			return false;
		if (r.last >= last)
			return true;
		addr = r.last + 1;
	}
}

/* Pin, map into the domain(s): the checks before accounting. */
static int area_fill_check(struct dmakit_iommufd *ctx, const struct ifd_area *a)
{
	if (!memory_pinnable(ctx, a->pages->uva + a->pages_off, a->length))
		return -EFAULT;
	/* A generic_pt domain refuses a map with neither IOMMU_READ nor
	 * IOMMU_WRITE (compat MAP_DMA with flags 0). */
	if (!(a->prot & (MAP_R | MAP_W)))
		return -EINVAL;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Areas                                                                      */

static struct ifd_pages *pages_new(struct dmakit_iommufd *ctx, uint64_t uva, uint64_t length,
				   bool writable)
{
	struct ifd_pages *p = dmakit__calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->uva = uva;
	p->length = length;
	p->writable = writable;
	/* iopt_alloc_user_pages: NONE with CAP_IPC_LOCK, else USER, upgraded to
	 * MM by iopt_map_common when the context is in MM mode. */
	if (ctx->cfg.cap_ipc_lock)
		p->account_mode = ACCT_NONE;
	else
		p->account_mode = ctx->account_mode == ACCT_MM ? ACCT_MM : ACCT_USER;
	ctx->nr_pages++;
	return p;
}

static void pages_put(struct dmakit_iommufd *ctx, struct ifd_pages *p)
{
	if (p->users == 0) {
		ctx->nr_pages--;
		dmakit__free(p);
	}
}

static void area_link(struct ifd_area *a)
{
	a->pages_next = a->pages->areas;
	a->pages->areas = a;
	a->pages->users++;
}

static void area_unlink(struct ifd_area *a)
{
	struct ifd_area **pp = &a->pages->areas;

	while (*pp != a)
		pp = &(*pp)->pages_next;
	*pp = a->pages_next;
	a->pages_next = NULL;
	a->pages->users--;
}

/* Remove an area that is in its IOAS's table: unmap, unpin, unaccount, free. */
static void area_destroy(struct dmakit_iommufd *ctx, struct ifd_area *a)
{
	struct ifd_pages *p = a->pages;
	struct ifd_hwpt *h;

	/* The IOPTEs go, and their dirty bits with them. */
	for (h = a->ioas->hwpts; h; h = h->ioas_next)
		if (h->dirty)
			dmakit_range_table_remove_inside(h->dirty, a->iova, area_last(a), NULL,
							 NULL);
	dmakit_range_table_remove(a->ioas->areas, a->iova, NULL);
	area_unlink(a);
	pages_sync(ctx, p); /* a decrease: cannot fail */
	ctx->nr_areas--;
	ctx->mapped_bytes -= a->length;
	dmakit__free(a);
	pages_put(ctx, p);
}

/* ------------------------------------------------------------------------ */
/* IOVA placement (io_pagetable.c)                                            */

/* The lowest area or reserved range overlapping [start, last], by start. */
static bool first_busy(struct ifd_ioas *ioas, uint64_t start, uint64_t last,
		       struct dmakit_range *out)
{
	struct dmakit_range a, r;
	bool ha = dmakit_range_table_first_overlap(ioas->areas, start, last, &a) == 0;
	bool hr = dmakit_range_table_first_overlap(ioas->reserved, start, last, &r) == 0;

	if (!ha && !hr)
		return false;
	if (ha && (!hr || a.start <= r.start))
		*out = a;
	else
		*out = r;
	return true;
}

/* __alloc_iova_check_range() on one hole. */
static bool hole_fits(uint64_t hole_start, uint64_t hole_last, uint64_t length,
		      uint64_t alignment, uint64_t page_offset, uint64_t *out)
{
	bool ovf;
	uint64_t start = align_up(hole_start, alignment, &ovf);

	if (ovf)
		return false;
	start |= page_offset;
	if (start < hole_start || start >= hole_last)
		return false;
	if (hole_last - start < length - 1)
		return false;
	*out = start;
	return true;
}

/* Scan the holes of (reserved U areas) in [lo, hi] from low to high. */
static bool span_alloc(struct ifd_ioas *ioas, uint64_t lo, uint64_t hi, uint64_t length,
		       uint64_t alignment, uint64_t page_offset, uint64_t *out)
{
	uint64_t pos = lo;
	struct dmakit_range busy;

	while (pos <= hi) {
		if (!first_busy(ioas, pos, hi, &busy)) {
			return hole_fits(pos, hi, length, alignment, page_offset, out);
		}
		if (busy.start > pos &&
		    hole_fits(pos, busy.start - 1, length, alignment, page_offset, out))
			return true;
		if (busy.last >= hi)
			return false;
		pos = busy.last + 1;
	}
	return false;
}

/* iopt_alloc_iova(). */
static int alloc_iova(struct dmakit_iommufd *ctx, struct ifd_ioas *ioas, uint64_t uva,
		      uint64_t length, uint64_t *iova)
{
	const uint64_t lo = PAGE_SIZE, hi = ULONG_MAX_ - PAGE_SIZE;
	uint64_t page_offset = uva % PAGE_SIZE, alignment, max_alignment;
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	int ret;

	if (length == 0 || length >= ULONG_MAX_ / 2)
		return -EOVERFLOW;
	alignment = roundup_pow_of_two(length);
	if (uva) {
		uint64_t low_bit = 1ull << __builtin_ctzll(uva);

		if (low_bit < alignment)
			alignment = low_bit;
	}
	max_alignment = ctx->cfg.transparent_hugepage ? HPAGE_SIZE : PAGE_SIZE;
	if (alignment > max_alignment)
		alignment = max_alignment;
	if (alignment < ioas->iova_alignment)
		return -EINVAL;

	if (dmakit_range_table_count(ioas->allowed) == 0)
		return span_alloc(ioas, lo, hi, length, alignment, page_offset, iova) ? 0 : -ENOSPC;
	for (ret = dmakit_range_table_seek(ioas->allowed, 0, &cur, &r); ret == 0;
	     ret = dmakit_range_table_next(&cur, &r)) {
		uint64_t s = r.start > lo ? r.start : lo, l = r.last < hi ? r.last : hi;

		if (s > l)
			continue;
		if (span_alloc(ioas, s, l, length, alignment, page_offset, iova))
			return 0;
	}
	return -ENOSPC;
}

/* iopt_check_iova(): the FIXED_IOVA placement checks. */
static int check_iova(struct ifd_ioas *ioas, uint64_t iova, uint64_t length)
{
	uint64_t last;
	struct dmakit_range r;

	if (iova & (ioas->iova_alignment - 1))
		return -EINVAL;
	if (__builtin_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (dmakit_range_table_first_overlap(ioas->reserved, iova, last, &r) == 0)
		return -EINVAL;
	if (dmakit_range_table_first_overlap(ioas->areas, iova, last, &r) == 0)
		return -EEXIST;
	return 0;
}

/* One source of pages for a new area (MAP: one; COPY: one per source area). */
struct elm {
	struct ifd_pages *pages;
	uint64_t pages_off;
	uint64_t length;
};

/*
 * iopt_map_pages(): place the elements at *iova (FIXED) or at an allocated
 * IOVA, insert one area per element, and fill the domains (pin, map,
 * account). All or nothing.
 */
static int map_pages(struct dmakit_iommufd *ctx, struct ifd_ioas *ioas, struct elm *elms,
		     size_t n, uint64_t length, uint64_t *iova, uint32_t prot, bool fixed)
{
	struct ifd_area **areas;
	uint64_t at;
	size_t i, inserted = 0;
	int ret;

	areas = dmakit__calloc(n, sizeof(*areas));
	if (!areas)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		areas[i] = dmakit__calloc(1, sizeof(**areas));
		if (!areas[i]) {
			ret = -ENOMEM;
			goto out_free;
		}
	}
	/* iopt_alloc_area_pages */
	if ((length & (ioas->iova_alignment - 1)) || !length) {
		ret = -EINVAL;
		goto out_free;
	}
	if (fixed)
		ret = check_iova(ioas, *iova, length);
	else
		ret = alloc_iova(ctx, ioas, elms[0].pages->uva + elms[0].pages_off, length, iova);
	if (ret < 0)
		goto out_free;
	/* iopt_insert_area, per element */
	at = *iova;
	for (i = 0; i < n; i++) {
		struct ifd_area *a = areas[i];

		if ((prot & MAP_W) && !elms[i].pages->writable) {
			ret = -EPERM;
			goto out_remove;
		}
		if (((elms[i].pages->uva + elms[i].pages_off) % PAGE_SIZE) &
		    (ioas->iova_alignment - 1)) {
			ret = -EINVAL;
			goto out_remove;
		}
		a->ioas = ioas;
		a->pages = elms[i].pages;
		a->iova = at;
		a->length = elms[i].length;
		a->pages_off = elms[i].pages_off;
		a->prot = prot;
		ret = dmakit_range_table_insert(ioas->areas, a->iova, area_last(a),
						(uint64_t)(uintptr_t)a);
		if (ret < 0)
			goto out_remove;
		area_link(a);
		inserted++;
		at += a->length;
	}
	/* iopt_fill_domains_pages: nothing without a domain. */
	if (ioas->ndomains) {
		for (i = 0; i < n; i++) {
			areas[i]->small_ioptes = ioas->disable_large_pages;
			ret = area_fill_check(ctx, areas[i]);
			if (ret < 0)
				goto out_remove;
		}
		for (i = 0; i < n; i++) {
			ret = pages_sync(ctx, areas[i]->pages);
			if (ret < 0)
				goto out_remove;
		}
	}
	for (i = 0; i < n; i++) {
		ctx->nr_areas++;
		ctx->mapped_bytes += areas[i]->length;
	}
	dmakit__free(areas);
	return 0;

out_remove:
	for (i = 0; i < inserted; i++) {
		dmakit_range_table_remove(ioas->areas, areas[i]->iova, NULL);
		area_unlink(areas[i]);
		pages_sync(ctx, areas[i]->pages); /* decreases only */
	}
out_free:
	for (i = 0; i < n; i++)
		dmakit__free(areas[i]);
	dmakit__free(areas);
	return ret;
}

/* iopt_unmap_iova_range(): the lowest area in [iova, last] first; an area not
 * wholly inside is ENOENT (the ones before it are already gone). */
static int unmap_range(struct dmakit_iommufd *ctx, struct ifd_ioas *ioas, uint64_t iova,
		       uint64_t last, uint64_t *unmapped)
{
	struct dmakit_range r;

	*unmapped = 0;
	while (dmakit_range_table_first_overlap(ioas->areas, iova, last, &r) == 0) {
		struct ifd_area *a = area_of(&r);

		if (r.start < iova || r.last > last)
			return -ENOENT;
		*unmapped += a->length;
		area_destroy(ctx, a);
	}
	return 0;
}

/*
 * iopt_area_split() at @iova: [start, iova] and [iova + 1, last]. A no-op at
 * the area's first or last byte. The halves share the pages; nothing is
 * pinned or accounted anew.
 */
static int area_split(struct dmakit_iommufd *ctx, struct ifd_ioas *ioas, uint64_t iova)
{
	struct dmakit_range r;
	struct ifd_area *a, *hi;
	uint64_t old_last;
	int ret;

	(void)ctx;
	if (dmakit_range_table_find(ioas->areas, iova, &r) != 0)
		return 0;
	a = area_of(&r);
	if (iova == a->iova || iova == area_last(a))
		return 0;
	if ((iova + 1) & (ioas->iova_alignment - 1))
		return -EINVAL;
	if (ioas->ndomains && !ioas->disable_large_pages)
		return -EINVAL;
	hi = dmakit__calloc(1, sizeof(*hi));
	if (!hi)
		return -ENOMEM;
	old_last = area_last(a);
	*hi = *a;
	hi->iova = iova + 1;
	hi->length = old_last - iova;
	hi->pages_off = a->pages_off + (iova + 1 - a->iova);
	dmakit_range_table_remove(ioas->areas, a->iova, NULL);
	ret = dmakit_range_table_insert(ioas->areas, a->iova, iova, (uint64_t)(uintptr_t)a);
	if (ret == 0) {
		ret = dmakit_range_table_insert(ioas->areas, hi->iova, old_last,
						(uint64_t)(uintptr_t)hi);
		if (ret < 0)
			dmakit_range_table_remove(ioas->areas, a->iova, NULL);
	}
	if (ret < 0) {
		/* Put the area back whole. Removal freed room in its leaf, so
		 * this does not normally allocate; under a second injected
		 * failure it is retried. */
		if (dmakit_range_table_insert(ioas->areas, a->iova, old_last,
					      (uint64_t)(uintptr_t)a) < 0)
			dmakit_range_table_insert(ioas->areas, a->iova, old_last,
						  (uint64_t)(uintptr_t)a);
		dmakit__free(hi);
		return ret;
	}
	a->length = iova - a->iova + 1;
	hi->pages_next = NULL;
	area_link(hi);
	ctx->nr_areas++;
	return 0;
}

static void ioas_recalc_alignment(struct ifd_ioas *ioas)
{
	uint64_t a = 1;

	if (ioas->ndomains)
		a = 1ull << __builtin_ctzll(DMAKIT_IOMMUFD_EMU_PGSIZE_BITMAP);
	if (ioas->disable_large_pages && a < PAGE_SIZE)
		a = PAGE_SIZE;
	ioas->iova_alignment = a;
}

/* iopt_disable_large_pages(). */
static int ioas_disable_large_pages(struct ifd_ioas *ioas)
{
	if (ioas->disable_large_pages)
		return 0;
	if (ioas->ndomains && dmakit_range_table_count(ioas->areas))
		return -EINVAL;
	ioas->disable_large_pages = true;
	ioas_recalc_alignment(ioas);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Object lifetime                                                            */

static void ioas_free(struct dmakit_iommufd *ctx, struct ifd_ioas *ioas)
{
	struct dmakit_range r;

	if (!ioas)
		return;
	if (ioas->areas)
		while (dmakit_range_table_first_overlap(ioas->areas, 0, UINT64_MAX, &r) == 0)
			area_destroy(ctx, area_of(&r));
	dmakit_range_table_destroy(ioas->areas);
	dmakit_range_table_destroy(ioas->reserved);
	dmakit_range_table_destroy(ioas->allowed);
	dmakit__free(ioas);
}

static int ioas_create(struct dmakit_iommufd *ctx, uint32_t *id)
{
	struct ifd_ioas *ioas = dmakit__calloc(1, sizeof(*ioas));
	struct ifd_obj *o = dmakit__calloc(1, sizeof(*o));
	int64_t ret = -ENOMEM;

	if (!ioas || !o)
		goto fail;
	ioas->areas = dmakit_range_table_create();
	ioas->reserved = dmakit_range_table_create();
	ioas->allowed = dmakit_range_table_create();
	if (!ioas->areas || !ioas->reserved || !ioas->allowed)
		goto fail;
	ioas->iova_alignment = 1;
	o->type = OBJ_IOAS;
	o->ioas = ioas;
	ret = obj_insert(ctx, o);
	if (ret < 0)
		goto fail;
	ioas->id = (uint32_t)ret;
	*id = ioas->id;
	return 0;
fail:
	ioas_free(ctx, ioas);
	dmakit__free(o);
	return (int)ret;
}

static void obj_remove(struct dmakit_iommufd *ctx, uint32_t id)
{
	struct dmakit_range r;

	if (dmakit_range_table_remove(ctx->objects, id, &r) == 0)
		dmakit__free((void *)(uintptr_t)r.value);
}

/* ------------------------------------------------------------------------ */
/* Domains: the emulated device                                               */

/* What a domain reserves (iopt_table_add_domain: its geometry) and what an
 * attached device reserves (iopt_table_enforce_dev_resv_regions: the MSI
 * window of the emulated VT-d platform). */
static const struct dmakit_iommu_iova_range domain_reserved = {
	DMAKIT_IOMMUFD_EMU_APERTURE_LAST + 1, UINT64_MAX,
};
static const struct dmakit_iommu_iova_range device_reserved = {
	DMAKIT_IOMMUFD_EMU_MSI_START, DMAKIT_IOMMUFD_EMU_MSI_LAST,
};

/* iopt_reserve_iova(): EADDRINUSE on an allowed range or an area. */
static int reserve_range(struct ifd_ioas *ioas, const struct dmakit_iommu_iova_range *rr)
{
	struct dmakit_range r;

	if (dmakit_range_table_first_overlap(ioas->allowed, rr->start, rr->last, &r) == 0 ||
	    dmakit_range_table_first_overlap(ioas->areas, rr->start, rr->last, &r) == 0)
		return -EADDRINUSE;
	return dmakit_range_table_insert(ioas->reserved, rr->start, rr->last, 0);
}

/* A device attaches to @ioas through one of its HWPTs: the first one
 * reserves the MSI window (the devices are alike, so one copy serves all). */
static int device_reserve(struct ifd_ioas *ioas)
{
	if (ioas->devices == 0) {
		int ret = reserve_range(ioas, &device_reserved);

		if (ret < 0)
			return ret;
	}
	ioas->devices++;
	return 0;
}

static void device_release(struct ifd_ioas *ioas)
{
	if (--ioas->devices == 0)
		dmakit_range_table_remove(ioas->reserved, device_reserved.start, NULL);
}

/* Re-sync every pages object the IOAS's areas use. */
static int ioas_sync_all(struct dmakit_iommufd *ctx, struct ifd_ioas *ioas)
{
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	int ret;

	for (ret = dmakit_range_table_seek(ioas->areas, 0, &cur, &r); ret == 0;
	     ret = dmakit_range_table_next(&cur, &r)) {
		int s = pages_sync(ctx, area_of(&r)->pages);

		if (s < 0)
			return s;
	}
	return 0;
}

/*
 * iopt_table_add_domain() for @hwpt's new domain on its IOAS: the first
 * domain reserves what lies beyond the aperture (EADDRINUSE on an allowed
 * range or an area) and makes the alignment 4096; then every area is
 * pinned, mapped and accounted. Nothing changes on error.
 */
static int domain_add(struct dmakit_iommufd *ctx, struct ifd_hwpt *hwpt)
{
	struct ifd_ioas *ioas = hwpt->ioas;
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	bool reserved = false;
	int ret;

	if (ioas->ndomains == 0) {
		ret = reserve_range(ioas, &domain_reserved);
		if (ret < 0)
			return ret;
		reserved = true;
		/* The new alignment must hold for every area. */
		for (ret = dmakit_range_table_seek(ioas->areas, 0, &cur, &r); ret == 0;
		     ret = dmakit_range_table_next(&cur, &r)) {
			if ((r.start | (r.last + 1)) & (PAGE_SIZE - 1)) {
				ret = -EADDRINUSE;
				goto fail_reserved;
			}
		}
	}
	ioas->ndomains++;
	ioas_recalc_alignment(ioas);
	/* Pin and map every area, then account. */
	for (ret = dmakit_range_table_seek(ioas->areas, 0, &cur, &r); ret == 0;
	     ret = dmakit_range_table_next(&cur, &r)) {
		int c;

		/* Stored in a domain for the first time: its IOPTE size (only
		 * read while it is stored, so a failure below leaves no trace). */
		if (reserved)
			area_of(&r)->small_ioptes = ioas->disable_large_pages;
		c = area_fill_check(ctx, area_of(&r));
		if (c < 0) {
			ret = c;
			goto fail_domain;
		}
	}
	ret = ioas_sync_all(ctx, ioas);
	if (ret < 0)
		goto fail_domain;
	hwpt->ioas_next = ioas->hwpts;
	ioas->hwpts = hwpt;
	return 0;

fail_domain:
	ioas->ndomains--;
	ioas_recalc_alignment(ioas);
	ioas_sync_all(ctx, ioas);
fail_reserved:
	if (reserved)
		dmakit_range_table_remove(ioas->reserved, domain_reserved.start, NULL);
	return ret;
}

/* iopt_table_remove_domain(): unpin and unaccount what no domain holds any
 * more; the last domain takes its reserved range with it. */
static void domain_remove(struct dmakit_iommufd *ctx, struct ifd_hwpt *hwpt)
{
	struct ifd_ioas *ioas = hwpt->ioas;
	struct ifd_hwpt **pp;

	for (pp = &ioas->hwpts; *pp; pp = &(*pp)->ioas_next)
		if (*pp == hwpt) {
			*pp = hwpt->ioas_next;
			break;
		}
	ioas->ndomains--;
	if (ioas->ndomains == 0)
		dmakit_range_table_remove(ioas->reserved, domain_reserved.start, NULL);
	ioas_recalc_alignment(ioas);
	ioas_sync_all(ctx, ioas); /* decreases only */
}

static struct ifd_hwpt *hwpt_get(struct dmakit_iommufd *ctx, uint32_t id)
{
	struct ifd_obj *o = obj_get(ctx, id);

	return o && o->type == OBJ_HWPT ? o->hwpt : NULL;
}

static void hwpt_free(struct ifd_hwpt *hwpt)
{
	dmakit_range_table_destroy(hwpt->dirty);
	dmakit__free(hwpt);
}

/* A new HWPT object with a domain on @ioas in *@out; @returns 0 or -errno,
 * and on error nothing is left (the id is free again). */
static int hwpt_create(struct dmakit_iommufd *ctx, struct ifd_ioas *ioas, bool user_allocated,
		       uint32_t alloc_flags, struct ifd_hwpt **out)
{
	struct ifd_hwpt *hwpt = dmakit__calloc(1, sizeof(*hwpt));
	struct ifd_obj *o = dmakit__calloc(1, sizeof(*o));
	int64_t id;
	int ret;

	if (!hwpt || !o)
		goto fail_nomem;
	if (alloc_flags & DMAKIT_IOMMU_HWPT_ALLOC_DIRTY_TRACKING) {
		hwpt->dirty = dmakit_range_table_create();
		if (!hwpt->dirty)
			goto fail_nomem;
	}
	hwpt->ioas = ioas;
	hwpt->user_allocated = user_allocated;
	hwpt->nest_parent = alloc_flags & DMAKIT_IOMMU_HWPT_ALLOC_NEST_PARENT;
	o->type = OBJ_HWPT;
	o->hwpt = hwpt;
	id = obj_insert(ctx, o);
	if (id < 0) {
		ret = (int)id;
		goto fail_free;
	}
	hwpt->id = (uint32_t)id;
	ret = domain_add(ctx, hwpt);
	if (ret < 0) {
		obj_remove(ctx, hwpt->id); /* frees o */
		hwpt_free(hwpt);
		return ret;
	}
	*out = hwpt;
	return 0;
fail_nomem:
	ret = -ENOMEM;
fail_free:
	dmakit__free(o);
	if (hwpt)
		hwpt_free(hwpt);
	return ret;
}

static void hwpt_destroy(struct dmakit_iommufd *ctx, struct ifd_hwpt *hwpt)
{
	domain_remove(ctx, hwpt);
	obj_remove(ctx, hwpt->id);
	hwpt_free(hwpt);
}

/*
 * Attach a device to @pt_id (VFIO_DEVICE_ATTACH_IOMMUFD_PT): to a HWPT, or
 * to an IOAS through a new automatic domain. The device reserves its
 * regions first (EADDRINUSE on an area or an allowed range).
 */
static int emu_attach(struct dmakit_iommufd *ctx, uint32_t pt_id, uint32_t *hwpt_id)
{
	struct ifd_obj *o = obj_get(ctx, pt_id);
	struct ifd_hwpt *hwpt;
	struct ifd_ioas *ioas;
	int ret;

	if (!o || (o->type != OBJ_HWPT && o->type != OBJ_IOAS))
		return -ENOENT;
	ioas = o->type == OBJ_HWPT ? o->hwpt->ioas : o->ioas;
	ret = device_reserve(ioas);
	if (ret < 0)
		return ret;
	if (o->type == OBJ_HWPT) {
		o->hwpt->devices++;
		*hwpt_id = pt_id;
		return 0;
	}
	ret = hwpt_create(ctx, ioas, false, 0, &hwpt);
	if (ret < 0) {
		device_release(ioas);
		return ret;
	}
	hwpt->devices = 1;
	*hwpt_id = hwpt->id;
	return 0;
}

/* Detach one device from @hwpt_id; an automatic domain goes with its last. */
static int emu_detach(struct dmakit_iommufd *ctx, uint32_t hwpt_id)
{
	struct ifd_hwpt *hwpt = hwpt_get(ctx, hwpt_id);

	if (!hwpt || !hwpt->devices)
		return -ENOENT;
	hwpt->devices--;
	device_release(hwpt->ioas);
	if (!hwpt->user_allocated && !hwpt->devices)
		hwpt_destroy(ctx, hwpt);
	return 0;
}

static int emu_bind(struct dmakit_iommufd *ctx, uint32_t *dev_id)
{
	struct ifd_obj *o = dmakit__calloc(1, sizeof(*o));
	int64_t id;

	if (!o)
		return -ENOMEM;
	o->type = OBJ_DEVICE;
	id = obj_insert(ctx, o);
	if (id < 0) {
		dmakit__free(o);
		return (int)id;
	}
	*dev_id = (uint32_t)id;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Dirty tracking (kernel-semantics 2.10)                                     */

/*
 * The IOPTE of @a's mapping that holds @iova: iommu_map() splits an area
 * into the largest page sizes of the domain that fit, so it is the largest
 * size whose aligned block around @iova lies inside the area and whose IOVA
 * and address agree modulo the size. The user address stands in for the
 * physical one (as if the memory were contiguous huge pages). @returns the
 * IOPTE's first byte; *@size receives its size in bytes.
 */
static uint64_t iopte_of(const struct ifd_area *a, uint64_t iova, uint64_t *size)
{
	uint64_t sizes = a->small_ioptes ? PAGE_SIZE : DMAKIT_IOMMUFD_EMU_PGSIZE_BITMAP;
	uint64_t uva = a->pages->uva + a->pages_off; /* the address of a->iova */

	while (sizes) {
		uint64_t sz = 1ull << (63 - __builtin_clzll(sizes));
		uint64_t start = iova & ~(sz - 1);

		if (start >= a->iova && area_last(a) - start >= sz - 1 &&
		    ((a->iova - uva) & (sz - 1)) == 0) {
			*size = sz;
			return start;
		}
		sizes &= ~sz;
	}
	*size = PAGE_SIZE;
	return iova & ~(PAGE_SIZE - 1);
}

/* Remove the dirty IOPTEs that @seq's write added inside [first, last]. */
static void dirty_unwind(struct ifd_hwpt *hwpt, uint64_t first, uint64_t last, uint64_t seq)
{
	struct dmakit_range r;
	uint64_t pos = first;

	while (dmakit_range_table_first_overlap(hwpt->dirty, pos, last, &r) == 0) {
		if (r.value == seq)
			dmakit_range_table_remove(hwpt->dirty, r.start, NULL);
		if (r.last >= last)
			break;
		pos = r.last + 1;
	}
}

/* A device behind @hwpt writes [iova, last]; the IOMMU checks every byte. */
static int emu_dma_write(struct dmakit_iommufd *ctx, uint32_t hwpt_id, uint64_t iova,
			 uint64_t last)
{
	struct ifd_hwpt *hwpt = hwpt_get(ctx, hwpt_id);
	struct dmakit_range r;
	uint64_t pos, seq, sz, first_pte = 0;
	int ret;

	if (!hwpt)
		return -ENOENT;
	if (!hwpt->devices)
		return -ENODEV; /* no device to write through this domain */
	/* A byte without a writable mapping is a DMA fault: nothing is written. */
	for (pos = iova;;) {
		if (dmakit_range_table_find(hwpt->ioas->areas, pos, &r) != 0 ||
		    !(area_of(&r)->prot & MAP_W))
			return -EFAULT;
		if (r.last >= last)
			break;
		pos = r.last + 1;
	}
	if (!hwpt->dirty_tracking)
		return 0;
	seq = ++ctx->dirty_seq;
	for (pos = iova;;) {
		uint64_t start;

		dmakit_range_table_find(hwpt->ioas->areas, pos, &r);
		start = iopte_of(area_of(&r), pos, &sz);
		if (pos == iova)
			first_pte = start;
		ret = dmakit_range_table_insert(hwpt->dirty, start, start + sz - 1, seq);
		if (ret < 0 && ret != -EEXIST) {
			if (start > first_pte)
				dirty_unwind(hwpt, first_pte, start - 1, seq);
			return ret;
		}
		if (start + sz - 1 >= last)
			break;
		pos = start + sz;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The iommufd ioctls                                                         */

struct ucmd {
	void *user;         /* the caller's struct */
	uint32_t user_size;
	void *cmd;          /* our copy, sizeof the kernel struct */
	size_t cmd_size;
};

/* iommufd_ucmd_respond(): copy back min(user size, struct size). */
static void respond(struct ucmd *u)
{
	memcpy(u->user, u->cmd, u->user_size < u->cmd_size ? u->user_size : u->cmd_size);
}

static int op_destroy(struct dmakit_iommufd *ctx, struct ucmd *u)
{
	struct dmakit_iommu_destroy *cmd = u->cmd;
	struct ifd_obj *o = obj_get(ctx, cmd->id);
	struct ifd_ioas *ioas;

	if (!o)
		return -ENOENT;
	if (o->type == OBJ_DEVICE)
		return -EBUSY; /* the VFIO device holds it until it unbinds */
	if (o->type == OBJ_HWPT) {
		/* An attached device holds its HWPT (an automatic domain
		 * always has one). */
		if (o->hwpt->devices)
			return -EBUSY;
		hwpt_destroy(ctx, o->hwpt);
		return 0;
	}
	ioas = o->ioas;
	if (ioas->ndomains)
		return -EBUSY;
	if (ctx->vfio_ioas == ioas)
		ctx->vfio_ioas = NULL;
	obj_remove(ctx, cmd->id);
	ioas_free(ctx, ioas);
	return 0;
}

static int op_ioas_alloc(struct dmakit_iommufd *ctx, struct ucmd *u)
{
	struct dmakit_iommu_ioas_alloc *cmd = u->cmd;
	uint32_t id = 0;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	ret = ioas_create(ctx, &id);
	if (ret < 0)
		return ret;
	cmd->out_ioas_id = id;
	respond(u);
	return 0;
}

/* Write @n ranges to the user array at @uptr. */
static int op_iova_ranges(struct dmakit_iommufd *ctx, struct ucmd *u)
{
	struct dmakit_iommu_ioas_iova_ranges *cmd = u->cmd;
	struct dmakit_iommu_iova_range *ranges =
		(struct dmakit_iommu_iova_range *)(uintptr_t)cmd->allowed_iovas;
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	struct ifd_ioas *ioas;
	uint32_t max_iovas;
	uint64_t pos = 0;
	bool done = false;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = ioas_get(ctx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;
	max_iovas = cmd->num_iovas;
	cmd->num_iovas = 0;
	cmd->out_iova_alignment = ioas->iova_alignment;
	/* The holes of the reserved ranges over [0, ULONG_MAX]. */
	for (ret = dmakit_range_table_seek(ioas->reserved, 0, &cur, &r); !done; ) {
		uint64_t hs = pos, hl;

		if (ret == 0) {
			if (r.start > pos) {
				hl = r.start - 1;
			} else {
				if (r.last == UINT64_MAX)
					break;
				pos = r.last + 1;
				ret = dmakit_range_table_next(&cur, &r);
				continue;
			}
			if (r.last == UINT64_MAX)
				done = true;
			else
				pos = r.last + 1;
			ret = dmakit_range_table_next(&cur, &r);
		} else {
			hl = ULONG_MAX_;
			done = true;
		}
		if (cmd->num_iovas < max_iovas) {
			if (!ranges)
				return -EFAULT;
			ranges[cmd->num_iovas].start = hs;
			ranges[cmd->num_iovas].last = hl;
		}
		cmd->num_iovas++;
	}
	respond(u);
	if (cmd->num_iovas > max_iovas)
		return -EMSGSIZE;
	return 0;
}

static int op_allow_iovas(struct dmakit_iommufd *ctx, struct ucmd *u)
{
	struct dmakit_iommu_ioas_allow_iovas *cmd = u->cmd;
	const struct dmakit_iommu_iova_range *ranges =
		(const struct dmakit_iommu_iova_range *)(uintptr_t)cmd->allowed_iovas;
	struct dmakit_range_table *allowed, *old;
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	struct ifd_ioas *ioas;
	uint32_t i;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = ioas_get(ctx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;
	allowed = dmakit_range_table_create();
	if (!allowed)
		return -ENOMEM;
	for (i = 0; i < cmd->num_iovas; i++) {
		if (!ranges) {
			ret = -EFAULT;
			goto fail;
		}
		if (ranges[i].start >= ranges[i].last) {
			ret = -EINVAL;
			goto fail;
		}
		if (dmakit_range_table_first_overlap(allowed, ranges[i].start, ranges[i].last,
						     &r) == 0) {
			ret = -EINVAL;
			goto fail;
		}
		ret = dmakit_range_table_insert(allowed, ranges[i].start, ranges[i].last, 0);
		if (ret < 0)
			goto fail;
	}
	/* iopt_set_allow_iova: no allowed range may touch a reserved one. */
	for (ret = dmakit_range_table_seek(allowed, 0, &cur, &r); ret == 0;
	     ret = dmakit_range_table_next(&cur, &r)) {
		struct dmakit_range x;

		if (dmakit_range_table_first_overlap(ioas->reserved, r.start, r.last, &x) == 0) {
			ret = -EADDRINUSE;
			goto fail;
		}
	}
	old = ioas->allowed;
	ioas->allowed = allowed;
	dmakit_range_table_destroy(old);
	return 0;
fail:
	dmakit_range_table_destroy(allowed);
	return ret;
}

static int op_ioas_map(struct dmakit_iommufd *ctx, struct ucmd *u)
{
	struct dmakit_iommu_ioas_map *cmd = u->cmd;
	struct ifd_ioas *ioas;
	struct ifd_pages *pages;
	struct elm elm;
	uint64_t iova = cmd->iova, end;
	int ret;

	if ((cmd->flags & ~(MAP_FIXED | MAP_W | MAP_R)) || cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->iova >= ULONG_MAX_ || cmd->length >= ULONG_MAX_)
		return -EOVERFLOW;
	if (!(cmd->flags & (MAP_R | MAP_W)))
		return -EINVAL;
	ioas = ioas_get(ctx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;
	/* iopt_alloc_user_pages */
	if (__builtin_add_overflow(cmd->user_va, cmd->length, &end))
		return -EOVERFLOW;
	if (cmd->length == 0 || cmd->length > SIZE_MAX_ - PAGE_SIZE)
		return -EINVAL;
	pages = pages_new(ctx, cmd->user_va, cmd->length, cmd->flags & MAP_W);
	if (!pages)
		return -ENOMEM;
	elm.pages = pages;
	elm.pages_off = 0;
	elm.length = cmd->length;
	ret = map_pages(ctx, ioas, &elm, 1, cmd->length, &iova, cmd->flags & (MAP_R | MAP_W),
			cmd->flags & MAP_FIXED);
	if (ret < 0) {
		pages_put(ctx, pages);
		return ret;
	}
	cmd->iova = iova;
	respond(u);
	return 0;
}

static int op_ioas_copy(struct dmakit_iommufd *ctx, struct ucmd *u)
{
	struct dmakit_iommu_ioas_copy *cmd = u->cmd;
	struct ifd_ioas *src, *dst;
	struct elm *elms = NULL;
	size_t n = 0, cap = 0;
	uint64_t last, pos, iova = cmd->dst_iova;
	struct dmakit_range r;
	int ret;

	if (cmd->flags & ~(MAP_FIXED | MAP_W | MAP_R))
		return -EOPNOTSUPP;
	if (cmd->length >= ULONG_MAX_ || cmd->src_iova >= ULONG_MAX_ ||
	    cmd->dst_iova >= ULONG_MAX_)
		return -EOVERFLOW;
	if (!(cmd->flags & (MAP_R | MAP_W)))
		return -EINVAL;
	src = ioas_get(ctx, cmd->src_ioas_id);
	if (!src)
		return -ENOENT;
	/* iopt_get_pages: contiguous areas covering the whole range. */
	if (!cmd->length)
		return -EINVAL;
	if (__builtin_add_overflow(cmd->src_iova, cmd->length - 1, &last))
		return -EOVERFLOW;
	pos = cmd->src_iova;
	for (;;) {
		struct ifd_area *a;
		uint64_t piece_last;

		if (dmakit_range_table_find(src->areas, pos, &r) != 0) {
			ret = -ENOENT;
			goto out;
		}
		a = area_of(&r);
		piece_last = r.last < last ? r.last : last;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct elm *grown = dmakit__realloc(elms, ncap * sizeof(*grown));

			if (!grown) {
				ret = -ENOMEM;
				goto out;
			}
			elms = grown;
			cap = ncap;
		}
		elms[n].pages = a->pages;
		elms[n].pages_off = a->pages_off + (pos - a->iova);
		elms[n].length = piece_last - pos + 1;
		n++;
		if (piece_last == last)
			break;
		pos = piece_last + 1;
	}
	dst = ioas_get(ctx, cmd->dst_ioas_id);
	if (!dst) {
		ret = -ENOENT;
		goto out;
	}
	ret = map_pages(ctx, dst, elms, n, cmd->length, &iova, cmd->flags & (MAP_R | MAP_W),
			cmd->flags & MAP_FIXED);
	if (ret < 0)
		goto out;
	cmd->dst_iova = iova;
	respond(u);
out:
	dmakit__free(elms);
	return ret;
}

static int op_ioas_unmap(struct dmakit_iommufd *ctx, struct ucmd *u)
{
	struct dmakit_iommu_ioas_unmap *cmd = u->cmd;
	struct ifd_ioas *ioas = ioas_get(ctx, cmd->ioas_id);
	uint64_t unmapped = 0, last;
	int ret;

	if (!ioas)
		return -ENOENT;
	if (cmd->iova == 0 && cmd->length == UINT64_MAX) {
		ret = unmap_range(ctx, ioas, 0, ULONG_MAX_, &unmapped);
		if (ret < 0)
			return ret;
	} else {
		if (cmd->iova >= ULONG_MAX_ || cmd->length >= ULONG_MAX_)
			return -EOVERFLOW;
		if (!cmd->length)
			return -EINVAL;
		if (__builtin_add_overflow(cmd->iova, cmd->length - 1, &last))
			return -EOVERFLOW;
		ret = unmap_range(ctx, ioas, cmd->iova, last, &unmapped);
		if (ret < 0)
			return ret;
		if (!unmapped)
			return -ENOENT;
	}
	cmd->length = unmapped;
	respond(u);
	return 0;
}

static int op_option(struct dmakit_iommufd *ctx, struct ucmd *u)
{
	struct dmakit_iommu_option *cmd = u->cmd;
	struct ifd_ioas *ioas;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->option_id) {
	case DMAKIT_IOMMU_OPTION_RLIMIT_MODE:
		if (cmd->object_id)
			return -EOPNOTSUPP;
		if (cmd->op == DMAKIT_IOMMU_OPTION_OP_GET) {
			cmd->val64 = ctx->account_mode == ACCT_MM;
			ret = 0;
		} else if (cmd->op == DMAKIT_IOMMU_OPTION_OP_SET) {
			if (!ctx->cfg.cap_sys_resource)
				return -EPERM;
			if (dmakit_range_table_count(ctx->objects))
				return -EBUSY;
			if (cmd->val64 == 0)
				ctx->account_mode = ACCT_USER;
			else if (cmd->val64 == 1)
				ctx->account_mode = ACCT_MM;
			else
				return -EINVAL;
			ret = 0;
		} else {
			return -EOPNOTSUPP;
		}
		break;
	case DMAKIT_IOMMU_OPTION_HUGE_PAGES:
		ioas = ioas_get(ctx, cmd->object_id);
		if (!ioas)
			return -ENOENT;
		if (cmd->op == DMAKIT_IOMMU_OPTION_OP_GET) {
			cmd->val64 = !ioas->disable_large_pages;
			ret = 0;
		} else if (cmd->op == DMAKIT_IOMMU_OPTION_OP_SET) {
			if (cmd->val64 == 0) {
				ret = ioas_disable_large_pages(ioas);
			} else if (cmd->val64 == 1) {
				ioas->disable_large_pages = false;
				ioas_recalc_alignment(ioas);
				ret = 0;
			} else {
				return -EINVAL;
			}
		} else {
			return -EOPNOTSUPP;
		}
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (ret < 0)
		return ret;
	/* Only val64 is written back. */
	memcpy((uint8_t *)u->user + offsetof(struct dmakit_iommu_option, val64), &cmd->val64,
	       sizeof(cmd->val64));
	return 0;
}

static int op_vfio_ioas(struct dmakit_iommufd *ctx, struct ucmd *u)
{
	struct dmakit_iommu_vfio_ioas *cmd = u->cmd;
	struct ifd_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->op) {
	case DMAKIT_IOMMU_VFIO_IOAS_GET:
		if (!ctx->vfio_ioas)
			return -ENODEV;
		cmd->ioas_id = ctx->vfio_ioas->id;
		respond(u);
		return 0;
	case DMAKIT_IOMMU_VFIO_IOAS_SET:
		ioas = ioas_get(ctx, cmd->ioas_id);
		if (!ioas)
			return -ENOENT;
		ctx->vfio_ioas = ioas;
		return 0;
	case DMAKIT_IOMMU_VFIO_IOAS_CLEAR:
		ctx->vfio_ioas = NULL;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/* HWPT_ALLOC and dirty tracking (kernel-semantics 2.10). */

static int op_hwpt_alloc(struct dmakit_iommufd *ctx, struct ucmd *u)
{
	struct dmakit_iommu_hwpt_alloc *cmd = u->cmd;
	const uint32_t valid = DMAKIT_IOMMU_HWPT_ALLOC_NEST_PARENT |
			       DMAKIT_IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
			       DMAKIT_IOMMU_HWPT_FAULT_ID_VALID | DMAKIT_IOMMU_HWPT_ALLOC_PASID;
	struct ifd_obj *dev, *pt;
	struct ifd_hwpt *hwpt;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if ((cmd->data_type == DMAKIT_IOMMU_HWPT_DATA_NONE) != (cmd->data_len == 0))
		return -EINVAL;
	dev = obj_get(ctx, cmd->dev_id);
	if (!dev || dev->type != OBJ_DEVICE)
		return -ENOENT;
	pt = obj_get(ctx, cmd->pt_id);
	if (!pt)
		return -EINVAL; /* the kernel answers a bad pt_id with EINVAL */
	if (pt->type == OBJ_HWPT) {
		/* iommufd_hwpt_nested_alloc(): it needs driver data and no flag
		 * but FAULT_ID_VALID, and a parent allocated as NEST_PARENT. */
		if ((cmd->flags & ~DMAKIT_IOMMU_HWPT_FAULT_ID_VALID) || !cmd->data_len)
			return -EOPNOTSUPP;
		if (!pt->hwpt->user_allocated || !pt->hwpt->nest_parent)
			return -EINVAL;
		return -EOPNOTSUPP; /* nested (stage-1) domains are not modelled */
	}
	if (pt->type != OBJ_IOAS)
		return -EINVAL;
	/* iommufd_hwpt_paging_alloc() */
	if (cmd->flags & ~valid)
		return -EOPNOTSUPP;
	if (cmd->data_len)
		return -EOPNOTSUPP; /* a VT-d paging domain takes no driver data */
	if ((cmd->flags & DMAKIT_IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !ctx->cfg.dirty_tracking)
		return -EOPNOTSUPP; /* no IOMMU_CAP_DIRTY_TRACKING */
	if ((cmd->flags & DMAKIT_IOMMU_HWPT_FAULT_ID_VALID) &&
	    (cmd->flags & DMAKIT_IOMMU_HWPT_ALLOC_NEST_PARENT))
		return -EOPNOTSUPP;
	ret = hwpt_create(ctx, pt->ioas, true, cmd->flags, &hwpt);
	if (ret < 0)
		return ret;
	if (cmd->flags & DMAKIT_IOMMU_HWPT_FAULT_ID_VALID) {
		/* No fault objects are modelled, so every fault_id is a bad id;
		 * the kernel checks it after making the HWPT and aborts it. */
		hwpt_destroy(ctx, hwpt);
		return -ENOENT;
	}
	cmd->out_hwpt_id = hwpt->id;
	respond(u);
	return 0;
}

static int op_set_dirty_tracking(struct dmakit_iommufd *ctx, struct ucmd *u)
{
	struct dmakit_iommu_hwpt_set_dirty_tracking *cmd = u->cmd;
	struct ifd_hwpt *hwpt;
	bool enable = cmd->flags & DMAKIT_IOMMU_HWPT_DIRTY_TRACKING_ENABLE;

	/* Only the flags are checked (not __reserved, unlike GET_DIRTY_BITMAP). */
	if (cmd->flags & ~DMAKIT_IOMMU_HWPT_DIRTY_TRACKING_ENABLE)
		return -EOPNOTSUPP;
	hwpt = hwpt_get(ctx, cmd->hwpt_id);
	if (!hwpt)
		return -ENOENT;
	if (!hwpt->dirty)
		return -EOPNOTSUPP; /* no dirty_ops */
	/* Enabling starts from a clean snapshot: every dirty bit is cleared. */
	if (enable)
		dmakit_range_table_remove_inside(hwpt->dirty, 0, UINT64_MAX, NULL, NULL);
	hwpt->dirty_tracking = enable;
	return 0;
}

/*
 * Read (and clear) the dirty IOPTEs of [iova, last]. The walk covers the
 * contiguous run of areas that starts at @iova and stops at the first gap;
 * that gap is an error inside the kernel's walk which the ioctl does not
 * report. A dirty IOPTE sets the bits of its bytes that lie inside the
 * request and, without NO_CLEAR, is cleared whole. While tracking is off
 * the domain answers the walk with an error, also unreported: no bits.
 */
static void dirty_walk(struct ifd_hwpt *hwpt, uint64_t iova, uint64_t last, unsigned int pgshift,
		       uint64_t *map /* NULL: bits dropped */, bool clear)
{
	struct dmakit_range r, d;
	uint64_t pos = iova;

	if (!hwpt->dirty_tracking)
		return;
	for (;;) {
		uint64_t piece_last, p;

		if (dmakit_range_table_find(hwpt->ioas->areas, pos, &r) != 0)
			return; /* a gap ends the walk */
		piece_last = r.last < last ? r.last : last;
		for (p = pos; dmakit_range_table_first_overlap(hwpt->dirty, p, piece_last, &d) == 0;) {
			uint64_t s = d.start > iova ? d.start : iova;
			uint64_t l = d.last < last ? d.last : last;

			if (map)
				dmakit__bitmap_set(map, (s - iova) >> pgshift,
						   ((l - iova) >> pgshift) - ((s - iova) >> pgshift) + 1);
			if (clear)
				dmakit_range_table_remove(hwpt->dirty, d.start, NULL);
			if (d.last >= piece_last)
				break;
			p = d.last + 1;
		}
		if (piece_last == last)
			return;
		pos = piece_last + 1;
	}
}

static int op_get_dirty_bitmap(struct dmakit_iommufd *ctx, struct ucmd *u)
{
	struct dmakit_iommu_hwpt_get_dirty_bitmap *cmd = u->cmd;
	struct ifd_hwpt *hwpt;
	uint64_t last, align;

	if ((cmd->flags & ~DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) || cmd->__reserved)
		return -EOPNOTSUPP;
	hwpt = hwpt_get(ctx, cmd->hwpt_id);
	if (!hwpt)
		return -ENOENT;
	/* iommufd_check_iova_range() */
	if (__builtin_add_overflow(cmd->iova, cmd->length - 1, &last))
		return -EOVERFLOW;
	align = hwpt->ioas->iova_alignment;
	if ((cmd->iova & (align - 1)) || ((last + 1) & (align - 1)))
		return -EINVAL;
	if (!cmd->page_size)
		return -EINVAL;
	if ((cmd->iova & (cmd->page_size - 1)) || ((last + 1) & (cmd->page_size - 1)))
		return -EINVAL;
	if (!hwpt->dirty)
		return -EOPNOTSUPP; /* no dirty_ops */
	/* A bitmap the kernel cannot pin: iova_bitmap_set() drops the bits
	 * silently, while the walk still reads (and clears) the IOPTEs. */
	dirty_walk(hwpt, cmd->iova, last, (unsigned int)__builtin_ctzll(cmd->page_size),
			   (uint64_t *)(uintptr_t)cmd->data,
			   !(cmd->flags & DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR));
	return 0;
}

struct op {
	unsigned int nr;
	size_t size;
	uint32_t min_size;
	int (*fn)(struct dmakit_iommufd *ctx, struct ucmd *u);
};

static const struct op ops[] = {
	{ 0x80, sizeof(struct dmakit_iommu_destroy), DMAKIT_IOMMU_DESTROY_MINSZ, op_destroy },
	{ 0x81, sizeof(struct dmakit_iommu_ioas_alloc), DMAKIT_IOMMU_IOAS_ALLOC_MINSZ, op_ioas_alloc },
	{ 0x82, sizeof(struct dmakit_iommu_ioas_allow_iovas), DMAKIT_IOMMU_ALLOW_IOVAS_MINSZ, op_allow_iovas },
	{ 0x83, sizeof(struct dmakit_iommu_ioas_copy), DMAKIT_IOMMU_IOAS_COPY_MINSZ, op_ioas_copy },
	{ 0x84, sizeof(struct dmakit_iommu_ioas_iova_ranges), DMAKIT_IOMMU_IOVA_RANGES_MINSZ, op_iova_ranges },
	{ 0x85, sizeof(struct dmakit_iommu_ioas_map), DMAKIT_IOMMU_IOAS_MAP_MINSZ, op_ioas_map },
	{ 0x86, sizeof(struct dmakit_iommu_ioas_unmap), DMAKIT_IOMMU_IOAS_UNMAP_MINSZ, op_ioas_unmap },
	{ 0x87, sizeof(struct dmakit_iommu_option), DMAKIT_IOMMU_OPTION_MINSZ, op_option },
	{ 0x88, sizeof(struct dmakit_iommu_vfio_ioas), DMAKIT_IOMMU_VFIO_IOAS_MINSZ, op_vfio_ioas },
	{ 0x89, sizeof(struct dmakit_iommu_hwpt_alloc), DMAKIT_IOMMU_HWPT_ALLOC_MINSZ, op_hwpt_alloc },
	{ 0x8b, sizeof(struct dmakit_iommu_hwpt_set_dirty_tracking),
	  DMAKIT_IOMMU_HWPT_SET_DIRTY_TRACKING_MINSZ, op_set_dirty_tracking },
	{ 0x8c, sizeof(struct dmakit_iommu_hwpt_get_dirty_bitmap),
	  DMAKIT_IOMMU_HWPT_GET_DIRTY_BITMAP_MINSZ, op_get_dirty_bitmap },
};

/* ------------------------------------------------------------------------ */
/* The vfio compat layer (vfio_compat.c)                                      */

static int compat_check_extension(struct dmakit_iommufd *ctx, unsigned long ext)
{
	(void)ctx;
	switch (ext) {
	case DMAKIT_VFIO_TYPE1_IOMMU:
	case DMAKIT_VFIO_TYPE1v2_IOMMU:
	case DMAKIT_VFIO_UNMAP_ALL:
		return 1;
	case DMAKIT_VFIO_DMA_CC_IOMMU:
		return 1; /* the emulated VT-d domains enforce coherency */
	case DMAKIT_VFIO_NOIOMMU_IOMMU:
		return 0; /* CONFIG_VFIO_NOIOMMU=n */
	default:
		return 0; /* nesting (6), UPDATE_VADDR (10), anything else */
	}
}

static int compat_set_iommu(struct dmakit_iommufd *ctx, unsigned long type)
{
	if (type != DMAKIT_VFIO_TYPE1_IOMMU && type != DMAKIT_VFIO_TYPE1v2_IOMMU)
		return -EINVAL;
	if (!ctx->vfio_ioas)
		return -ENODEV;
	if (type == DMAKIT_VFIO_TYPE1_IOMMU)
		return ioas_disable_large_pages(ctx->vfio_ioas);
	return 0;
}

static int compat_map_dma(struct dmakit_iommufd *ctx, struct dmakit_vfio_iommu_type1_dma_map *arg)
{
	struct dmakit_vfio_iommu_type1_dma_map map;
	struct ifd_ioas *ioas;
	struct ifd_pages *pages;
	struct elm elm;
	uint64_t iova, end;
	uint32_t prot = 0;
	int ret;

	if (!arg)
		return -EFAULT;
	memcpy(&map, arg, sizeof(map));
	if (map.argsz < DMAKIT_VFIO_MAP_MINSZ ||
	    (map.flags & ~(DMAKIT_VFIO_DMA_MAP_FLAG_READ | DMAKIT_VFIO_DMA_MAP_FLAG_WRITE)))
		return -EINVAL;
	if (map.flags & DMAKIT_VFIO_DMA_MAP_FLAG_READ)
		prot |= MAP_R;
	if (map.flags & DMAKIT_VFIO_DMA_MAP_FLAG_WRITE)
		prot |= MAP_W;
	ioas = ctx->vfio_ioas;
	if (!ioas)
		return -ENODEV;
	/* iopt_map_user_pages(..., flags = 0): FIXED iova. */
	if (__builtin_add_overflow(map.vaddr, map.size, &end))
		return -EOVERFLOW;
	if (map.size == 0 || map.size > SIZE_MAX_ - PAGE_SIZE)
		return -EINVAL;
	pages = pages_new(ctx, map.vaddr, map.size, prot & MAP_W);
	if (!pages)
		return -ENOMEM;
	elm.pages = pages;
	elm.pages_off = 0;
	elm.length = map.size;
	iova = map.iova;
	ret = map_pages(ctx, ioas, &elm, 1, map.size, &iova, prot, true);
	if (ret < 0)
		pages_put(ctx, pages);
	return ret;
}

static int compat_unmap_dma(struct dmakit_iommufd *ctx,
			    struct dmakit_vfio_iommu_type1_dma_unmap *arg)
{
	struct dmakit_vfio_iommu_type1_dma_unmap unmap;
	struct ifd_ioas *ioas;
	uint64_t unmapped = 0, last;
	int ret;

	if (!arg)
		return -EFAULT;
	memcpy(&unmap, arg, sizeof(unmap));
	if (unmap.argsz < DMAKIT_VFIO_UNMAP_MINSZ || (unmap.flags & ~DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL))
		return -EINVAL;
	ioas = ctx->vfio_ioas;
	if (!ioas)
		return -ENODEV;
	if (unmap.flags & DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size)
			return -EINVAL;
		ret = unmap_range(ctx, ioas, 0, ULONG_MAX_, &unmapped);
	} else {
		if (ioas->disable_large_pages) {
			/* iopt_cut_iova at iova + size - 1, then iova - 1. */
			ret = area_split(ctx, ioas, unmap.iova + unmap.size - 1);
			if (ret == 0 && unmap.iova)
				ret = area_split(ctx, ioas, unmap.iova - 1);
			if (ret < 0)
				return ret;
		}
		/* iopt_unmap_iova */
		if (!unmap.size)
			ret = -EINVAL;
		else if (__builtin_add_overflow(unmap.iova, unmap.size - 1, &last))
			ret = -EOVERFLOW;
		else
			ret = unmap_range(ctx, ioas, unmap.iova, last, &unmapped);
	}
	/* The size is copied back even on error. */
	arg->size = unmapped;
	return ret;
}

/* The pgsize bitmap the compat GET_INFO reports. */
static uint64_t compat_pagesizes(const struct ifd_ioas *ioas)
{
	uint64_t bm = UINT64_MAX;
	const uint64_t page_mask = ~(PAGE_SIZE - 1);

	if (ioas->ndomains)
		bm &= DMAKIT_IOMMUFD_EMU_PGSIZE_BITMAP;
	if (bm & ~page_mask) {
		bm &= page_mask;
		bm |= PAGE_SIZE;
	}
	return bm > ioas->iova_alignment ? bm : ioas->iova_alignment;
}

static int compat_get_info(struct dmakit_iommufd *ctx, struct dmakit_vfio_iommu_type1_info *arg)
{
	struct dmakit_vfio_iommu_type1_info info;
	struct ifd_ioas *ioas;
	uint8_t *base = (uint8_t *)arg;
	uint32_t total, last_cap = 0, nr = 0, minsz;
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	uint64_t pos = 0;
	int ret;

	if (!arg)
		return -EFAULT;
	memcpy(&info, arg, DMAKIT_VFIO_INFO_MINSZ);
	if (info.argsz < DMAKIT_VFIO_INFO_MINSZ)
		return -EINVAL;
	minsz = info.argsz < sizeof(info) ? info.argsz : (uint32_t)sizeof(info);
	ioas = ctx->vfio_ioas;
	if (!ioas)
		return -ENODEV;
	info.flags = DMAKIT_VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = compat_pagesizes(ioas);
	info.cap_offset = 0;
	info.pad = 0;
	total = sizeof(info);

	/* DMA_AVAIL: U32_MAX, 12 bytes, padded to 16. */
	{
		struct dmakit_vfio_iommu_type1_info_dma_avail cap = {
			.header = { .id = DMAKIT_VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 },
			.avail = UINT32_MAX,
		};

		if (info.argsz > total && info.argsz - total >= sizeof(cap))
			memcpy(base + total, &cap, sizeof(cap));
		last_cap = total;
		total += (sizeof(cap) + 7) & ~7u;
	}
	/* IOVA_RANGE: the holes of the reserved ranges. */
	{
		struct dmakit_vfio_iommu_type1_info_cap_iova_range cap = {
			.header = { .id = DMAKIT_VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, .version = 1 },
		};
		uint32_t avail = info.argsz > total ? info.argsz - total : 0;
		bool done = false;

		for (ret = dmakit_range_table_seek(ioas->reserved, 0, &cur, &r); !done;) {
			struct dmakit_vfio_iova_range range;

			if (ret == 0 && r.start <= pos) {
				if (r.last == UINT64_MAX)
					break;
				pos = r.last + 1;
				ret = dmakit_range_table_next(&cur, &r);
				continue;
			}
			range.start = pos;
			if (ret == 0) {
				range.end = r.start - 1;
				if (r.last == UINT64_MAX)
					done = true;
				else
					pos = r.last + 1;
				ret = dmakit_range_table_next(&cur, &r);
			} else {
				range.end = UINT64_MAX;
				done = true;
			}
			if (avail >= sizeof(cap) + (nr + 1) * sizeof(range))
				memcpy(base + total + sizeof(cap) + nr * sizeof(range), &range,
				       sizeof(range));
			nr++;
		}
		cap.nr_iovas = nr;
		if (avail >= sizeof(cap) + nr * sizeof(struct dmakit_vfio_iova_range))
			memcpy(base + total, &cap, sizeof(cap));
		/* Link the previous cap to this one if the user's buffer reaches it. */
		if (info.argsz >= total) {
			uint32_t next = total;

			memcpy(base + last_cap + offsetof(struct dmakit_vfio_info_cap_header, next),
			       &next, sizeof(next));
		}
		total += (uint32_t)((sizeof(cap) + nr * sizeof(struct dmakit_vfio_iova_range) + 7) & ~7u);
	}
	if (info.argsz >= total)
		info.cap_offset = sizeof(info);
	info.argsz = total;
	info.flags |= DMAKIT_VFIO_IOMMU_INFO_CAPS;
	memcpy(arg, &info, minsz);
	return 0;
}

static int compat_ioctl(struct dmakit_iommufd *ctx, unsigned long request, void *arg)
{
	switch (request) {
	case DMAKIT_VFIO_GET_API_VERSION:
		return DMAKIT_VFIO_API_VERSION;
	case DMAKIT_VFIO_CHECK_EXTENSION:
		return compat_check_extension(ctx, (unsigned long)(uintptr_t)arg);
	case DMAKIT_VFIO_SET_IOMMU:
		return compat_set_iommu(ctx, (unsigned long)(uintptr_t)arg);
	case DMAKIT_VFIO_IOMMU_GET_INFO:
		return compat_get_info(ctx, arg);
	case DMAKIT_VFIO_IOMMU_MAP_DMA:
		return compat_map_dma(ctx, arg);
	case DMAKIT_VFIO_IOMMU_UNMAP_DMA:
		return compat_unmap_dma(ctx, arg);
	default:
		/* DIRTY_PAGES, ENABLE, DISABLE, anything else: ENOIOCTLCMD. */
		return -ENOTTY;
	}
}

/* iommufd_fops_ioctl(). */
static int emu_ioctl(struct dmakit_iommufd *ctx, unsigned long request, void *arg)
{
	uint8_t buf[64];
	struct ucmd u;
	const struct op *op = NULL;
	unsigned int nr = request & 0xff;
	uint32_t size, i;

	if ((request & ~0xfful) != ((unsigned long)DMAKIT_VFIO_TYPE << 8))
		return -ENOTTY;
	if (nr < DMAKIT_IOMMUFD_CMD_BASE)
		return compat_ioctl(ctx, request, arg);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].nr == nr)
			op = &ops[i];
	if (!op)
		return -ENOTTY; /* not emulated (GET_HW_INFO, MAP_FILE, ...), or no such op */
	if (!arg)
		return -EFAULT;
	memcpy(&size, arg, sizeof(size));
	if (size < op->min_size)
		return -EINVAL;
	/* copy_struct_from_user: zero-fill a short struct, refuse a non-zero tail. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, arg, size < op->size ? size : op->size);
	for (i = (uint32_t)op->size; i < size; i++)
		if (((const uint8_t *)arg)[i])
			return -E2BIG;
	u.user = arg;
	u.user_size = size;
	u.cmd = buf;
	u.cmd_size = op->size;
	return op->fn(ctx, &u);
}

/* ------------------------------------------------------------------------ */
/* The public module                                                          */

DMAKIT_EXPORT void dmakit_iommufd_config_init(struct dmakit_iommufd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->backend = DMAKIT_IOMMUFD_EMU;
	cfg->account_mode = DMAKIT_IOMMUFD_ACCOUNT_USER;
	cfg->memlock_limit = UINT64_MAX;
	cfg->cap_ipc_lock = true;
	cfg->cap_sys_resource = true;
	cfg->transparent_hugepage = true;
	cfg->user_locked_base = 0;
	cfg->dirty_tracking = true;
	cfg->path = "/dev/iommu";
}

DMAKIT_EXPORT int dmakit_iommufd_open(const struct dmakit_iommufd_config *cfg,
				      struct dmakit_iommufd **out)
{
	struct dmakit_iommufd *ctx;
	int ret;

	if (!cfg || !out)
		return -EINVAL;
	if (cfg->backend != DMAKIT_IOMMUFD_EMU && cfg->backend != DMAKIT_IOMMUFD_LINUX)
		return -EINVAL;
	if (cfg->account_mode != DMAKIT_IOMMUFD_ACCOUNT_USER &&
	    cfg->account_mode != DMAKIT_IOMMUFD_ACCOUNT_MM)
		return -EINVAL;
	ctx = dmakit__calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->cfg = *cfg;
	ctx->fd = -1;
	ctx->account_mode = cfg->account_mode == DMAKIT_IOMMUFD_ACCOUNT_MM ? ACCT_MM : ACCT_USER;
	if (cfg->backend == DMAKIT_IOMMUFD_LINUX) {
		ret = dmakit__linux_iommufd_open(cfg->path ? cfg->path : "/dev/iommu");
		if (ret < 0) {
			dmakit__free(ctx);
			return ret;
		}
		ctx->fd = ret;
	} else {
		ctx->objects = dmakit_range_table_create();
		ctx->memory = dmakit_range_table_create();
		if (!ctx->objects || !ctx->memory) {
			dmakit_range_table_destroy(ctx->objects);
			dmakit_range_table_destroy(ctx->memory);
			dmakit__free(ctx);
			return -ENOMEM;
		}
	}
	pthread_mutex_init(&ctx->lock, NULL);
	*out = ctx;
	return 0;
}

DMAKIT_EXPORT void dmakit_iommufd_close(struct dmakit_iommufd *ctx)
{
	struct dmakit_range r;

	if (!ctx)
		return;
	if (ctx->fd >= 0) {
		dmakit__linux_iommufd_close(ctx->fd);
	} else {
		/* HWPTs first (they hold their IOAS), then the IOASes. */
		struct dmakit_range_cursor cur;
		bool again = true;

		while (again) {
			int ret;

			again = false;
			for (ret = dmakit_range_table_seek(ctx->objects, 0, &cur, &r); ret == 0;
			     ret = dmakit_range_table_next(&cur, &r)) {
				struct ifd_obj *o = (struct ifd_obj *)(uintptr_t)r.value;

				if (o->type == OBJ_HWPT) {
					hwpt_destroy(ctx, o->hwpt);
					again = true;
					break;
				}
				if (o->type == OBJ_DEVICE) {
					obj_remove(ctx, (uint32_t)r.start);
					again = true;
					break;
				}
			}
		}
		while (dmakit_range_table_first_overlap(ctx->objects, 0, UINT64_MAX, &r) == 0) {
			struct ifd_obj *o = (struct ifd_obj *)(uintptr_t)r.value;
			struct ifd_ioas *ioas = o->ioas;

			obj_remove(ctx, (uint32_t)r.start);
			ioas_free(ctx, ioas);
		}
		dmakit_range_table_destroy(ctx->objects);
		dmakit_range_table_destroy(ctx->memory);
	}
	pthread_mutex_destroy(&ctx->lock);
	dmakit__free(ctx);
}

DMAKIT_EXPORT int dmakit_iommufd_ioctl(struct dmakit_iommufd *ctx, unsigned long request,
				       void *arg)
{
	int ret;

	if (!ctx)
		return -EBADF;
	if (ctx->fd >= 0)
		return dmakit__linux_iommufd_ioctl(ctx->fd, request, arg);
	pthread_mutex_lock(&ctx->lock);
	ret = emu_ioctl(ctx, request, arg);
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

DMAKIT_EXPORT int dmakit_iommufd_attach_device(struct dmakit_iommufd *ctx, uint32_t ioas_id,
					       uint32_t *hwpt_id)
{
	uint32_t id = 0;
	int ret;

	if (!ctx)
		return -EBADF;
	if (ctx->fd >= 0)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&ctx->lock);
	ret = emu_attach(ctx, ioas_id, &id);
	pthread_mutex_unlock(&ctx->lock);
	if (ret == 0 && hwpt_id)
		*hwpt_id = id;
	return ret;
}

DMAKIT_EXPORT int dmakit_iommufd_detach_device(struct dmakit_iommufd *ctx, uint32_t hwpt_id)
{
	int ret;

	if (!ctx)
		return -EBADF;
	if (ctx->fd >= 0)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&ctx->lock);
	ret = emu_detach(ctx, hwpt_id);
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

DMAKIT_EXPORT int dmakit_iommufd_bind_device(struct dmakit_iommufd *ctx, uint32_t *dev_id)
{
	uint32_t id = 0;
	int ret;

	if (!ctx)
		return -EBADF;
	if (!dev_id)
		return -EINVAL;
	if (ctx->fd >= 0)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&ctx->lock);
	ret = emu_bind(ctx, &id);
	pthread_mutex_unlock(&ctx->lock);
	if (ret == 0)
		*dev_id = id;
	return ret;
}

DMAKIT_EXPORT int dmakit_iommufd_dma_write(struct dmakit_iommufd *ctx, uint32_t hwpt_id,
					   uint64_t iova, uint64_t length)
{
	uint64_t last;
	int ret;

	if (!ctx)
		return -EBADF;
	if (!length || __builtin_add_overflow(iova, length - 1, &last))
		return -EINVAL;
	if (ctx->fd >= 0)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&ctx->lock);
	ret = emu_dma_write(ctx, hwpt_id, iova, last);
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

DMAKIT_EXPORT int dmakit_iommufd_declare_memory(struct dmakit_iommufd *ctx, uint64_t vaddr,
						uint64_t size)
{
	uint64_t last;
	int ret;

	if (!ctx)
		return -EBADF;
	if (!size || __builtin_add_overflow(vaddr, size - 1, &last))
		return -EINVAL;
	if (ctx->fd >= 0)
		return 0;
	pthread_mutex_lock(&ctx->lock);
	ret = dmakit__range_table_fill_holes(ctx->memory, vaddr, last, 0);
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

DMAKIT_EXPORT int dmakit_iommufd_stats(struct dmakit_iommufd *ctx,
				       struct dmakit_iommufd_stats *out)
{
	if (!ctx || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (ctx->fd >= 0)
		return 0;
	pthread_mutex_lock(&ctx->lock);
	out->exact = true;
	out->objects = dmakit_range_table_count(ctx->objects);
	out->areas = ctx->nr_areas;
	out->pages_objects = ctx->nr_pages;
	out->mapped_bytes = ctx->mapped_bytes;
	out->pinned_bytes = ctx->pinned_pages << PAGE_SHIFT;
	out->user_locked_bytes = ctx->user_locked_pages << PAGE_SHIFT;
	out->mm_locked_bytes = ctx->mm_locked_pages << PAGE_SHIFT;
	out->kernel_object_bytes = ctx->nr_areas * DMAKIT_KERNEL_IOPT_AREA_BYTES;
	out->account_mm = ctx->account_mode == ACCT_MM;
	pthread_mutex_unlock(&ctx->lock);
	return 0;
}

static int seek_locked(struct dmakit_iommufd *ctx, uint32_t ioas_id, uint64_t iova,
		       struct dmakit_iommufd_area *out)
{
	struct ifd_ioas *ioas = ioas_get(ctx, ioas_id);
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	struct ifd_area *a;

	if (!ioas)
		return -ENOENT;
	if (dmakit_range_table_seek(ioas->areas, iova, &cur, &r) != 0)
		return -ENOENT;
	a = area_of(&r);
	memset(out, 0, sizeof(*out));
	out->iova = a->iova;
	out->length = a->length;
	out->user_va = a->pages->uva + a->pages_off;
	out->prot = a->prot;
	out->pinned = ioas->ndomains > 0;
	return 0;
}

DMAKIT_EXPORT int dmakit_iommufd_seek_area(struct dmakit_iommufd *ctx, uint32_t ioas_id,
					   uint64_t iova, struct dmakit_iommufd_area *out)
{
	int ret;

	if (!ctx || !out)
		return -EINVAL;
	if (ctx->fd >= 0)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&ctx->lock);
	ret = seek_locked(ctx, ioas_id, iova, out);
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

uint32_t dmakit__iommufd_compat_ioas(struct dmakit_iommufd *ctx)
{
	uint32_t id;

	pthread_mutex_lock(&ctx->lock);
	id = ctx->vfio_ioas ? ctx->vfio_ioas->id : 0;
	pthread_mutex_unlock(&ctx->lock);
	return id;
}
