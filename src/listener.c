/* SPDX-License-Identifier: MIT */
/*
 * The VFIO listener (include/dmakit/listener.h): guest memory events in,
 * MAP_DMA / UNMAP_DMA on one container out.
 *
 * Model. The listener is a memory listener of one address space. For every
 * section it keeps a `struct lsec` unless the section is skipped: a plain
 * section (one mapping), a discard-managed one (a discard listener on the
 * region's manager: populate/discard), or a vIOMMU one (an IOMMU notifier on
 * the region: IOTLB map/unmap). Skipped sections leave nothing; why they
 * were skipped is recomputed on demand (classify()).
 *
 * The record. `rec` holds, per mapping the listener made, [iova, last] ->
 * (target | flags): target is the guest address the mapping shows (the iova
 * itself for a section mapping; the translated address, in the vIOMMU's
 * target AS, for a vIOMMU mapping), so the vaddr can be recomputed from the
 * regions' current host addresses (CPR) and checked (verify). In a
 * discard-managed section (strategies qemu and exact) one entry stands for a
 * RUN of granule chunks (REC_RUN: see run_value()), each chunk one mapping;
 * nmaps counts the mappings rec stands for, and verify, CPR restore and the
 * counts expand the runs. A discard that cuts a run splits it BEFORE the
 * UNMAP (the one record change that allocates), undone if the UNMAP fails.
 *
 * Invariants, true between calls:
 *   - rec == the container's mappings (iova, size, flags; vaddr from the
 *     regions, valid unless vaddr_invalid): every backend call is followed
 *     by the matching record change, and a record insert (the only thing
 *     that can fail for memory) comes BEFORE its MAP, so it is undone
 *     without a backend call;
 *   - rec == what the strategy derives from the model (the sections, the
 *     managers' bitmaps, the vIOMMU translations);
 *   - st.mapped_bytes == the sum of rec's sizes.
 * Every event that fails is undone before it returns (see each function);
 * undoing may issue backend calls, which could fail in their turn: that is
 * the only way rec can stop matching the strategy, and it is reported as
 * -ENOTRECOVERABLE and counted in st.unrecoverable. rec and the container
 * never disagree, whatever fails.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <dmakit/discard.h>
#include <dmakit/listener.h>

#include "alloc.h"
#include "guest_memory_internal.h"
#include "listener_internal.h"
#include "range_table_internal.h"

#define REC_IOMMU 0x1ull /* a vIOMMU mapping: target is a translated address */
#define REC_RO 0x2ull    /* mapped READ only */
#define REC_RUN 0x4ull   /* a run of granule chunks of a discard-managed section */
#define REC_FLAGS 0xfffull
/* A run's value: phase | log2(granularity) << RUN_G_SHIFT | REC_RUN | REC_RO,
 * the phase being (gpa - offset_in_region) mod granularity, a multiple of
 * the host page (so clear of REC_FLAGS). */
#define RUN_G_SHIFT 4

struct dmakit_listener;

struct lsec {
	struct dmakit_section s;
	enum dmakit_section_disposition disp;
	uint64_t iova, last;  /* the range it maps in, inclusive */
	uint64_t granularity; /* discard-managed */
	struct dmakit_listener *l;
	struct dmakit_discard_listener dl;
	struct dmakit_iommu_notifier n;
	struct lsec *next;
};

struct dmakit_listener {
	struct dmakit_memory_listener ml;
	struct dmakit_container *c;
	struct dmakit_address_space *as;
	struct dmakit_listener_config cfg;
	uint32_t dma_max_mappings; /* 0: unchecked */
	bool dma_avail_reported;
	uint32_t dma_avail_at_start;
	uint64_t mappings_at_start; /* in the container when the listener came */
	uint64_t min_iommu_page;
	bool vaddr_invalid;         /* between cpr_save and cpr_restore */
	struct dmakit_range_table *rec;
	uint64_t nmaps;             /* mappings rec stands for (runs expanded) */
	struct lsec *secs;
	struct dmakit_listener_stats st;
};

DMAKIT_EXPORT void dmakit_listener_config_init(struct dmakit_listener_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->strategy = DMAKIT_LISTENER_QEMU;
	cfg->max_memslots = DMAKIT_KVM_X86_MAX_MEMSLOTS;
	cfg->dma_limit_source = DMAKIT_DMA_LIMIT_QUERY;
	cfg->host_page_size = 4096;
}

/* ------------------------------------------------------------------------ */
/* Backend calls and the record                                                */

static uint64_t sec_vaddr(const struct dmakit_section *s, uint64_t gpa)
{
	return s->mr->hva + s->offset_in_region + (gpa - s->gpa);
}

static int be_map(struct dmakit_listener *l, uint64_t iova, uint64_t size, uint64_t vaddr,
		  bool ro)
{
	struct dmakit_vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = DMAKIT_VFIO_DMA_MAP_FLAG_READ | (ro ? 0 : DMAKIT_VFIO_DMA_MAP_FLAG_WRITE),
		.vaddr = vaddr,
		.iova = iova,
		.size = size,
	};
	int ret;

	l->st.map_calls++;
	ret = dmakit_container_map_dma(l->c, &map);
	if (ret < 0)
		l->st.failed_calls++;
	return ret;
}

static int be_unmap(struct dmakit_listener *l, uint64_t iova, uint64_t size)
{
	struct dmakit_vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};
	int ret;

	l->st.unmap_calls++;
	ret = dmakit_container_unmap_dma(l->c, &unmap);
	if (ret < 0)
		l->st.failed_calls++;
	return ret;
}

static uint64_t backend_calls(const struct dmakit_listener *l)
{
	return l->st.map_calls + l->st.unmap_calls;
}

/*
 * Runs. A discard-managed section's populated granules are recorded as runs,
 * one entry per run of consecutive chunks rather than one per chunk: the
 * chunks of a run [start, last] are its pieces between the granularity's
 * boundaries (in region offsets, i.e. gpa == phase mod g), each mapped to
 * the region's hva + offset with the run's flags. Two runs are merged only
 * where they meet on a boundary, so the expansion is exactly the chunks
 * that were mapped.
 */
static uint64_t run_g(uint64_t v)
{
	return 1ull << ((v >> RUN_G_SHIFT) & 63);
}

/* The chunk boundary at or below @x. */
static uint64_t run_adown(uint64_t x, uint64_t v)
{
	return x - ((x - (v & ~REC_FLAGS)) & (run_g(v) - 1));
}

static uint64_t run_value(const struct dmakit_section *s, uint64_t g)
{
	return ((s->gpa - s->offset_in_region) & (g - 1) & ~REC_FLAGS) |
	       ((uint64_t)__builtin_ctzll(g) << RUN_G_SHIFT) | REC_RUN |
	       (s->readonly ? REC_RO : 0);
}

/* Mappings an entry stands for. */
static uint64_t rec_mappings(const struct dmakit_range *r)
{
	if (!(r->value & REC_RUN))
		return 1;
	return (run_adown(r->last, r->value) - run_adown(r->start, r->value)) /
		       run_g(r->value) + 1;
}

/* The mapping of entry @run that starts at @x. */
static void run_chunk(const struct dmakit_range *run, uint64_t x, struct dmakit_range *out)
{
	uint64_t e;

	out->start = x;
	out->value = run->value;
	out->last = run->last;
	if (!(run->value & REC_RUN))
		return;
	e = run_adown(x, run->value) + (run_g(run->value) - 1);
	if (e >= x && e < run->last)
		out->last = e;
}

/* Iteration over the mappings rec stands for, runs expanded. */
struct mcur {
	struct dmakit_range_cursor c;
	struct dmakit_range run;
};

static int m_first(const struct dmakit_listener *l, struct mcur *mc, struct dmakit_range *out)
{
	int ret = dmakit_range_table_seek(l->rec, 0, &mc->c, &mc->run);

	if (ret == 0)
		run_chunk(&mc->run, mc->run.start, out);
	return ret;
}

/* @out holds the previous mapping; it becomes the next one. */
static int m_next(struct mcur *mc, struct dmakit_range *out)
{
	int ret;

	if (out->last < mc->run.last) {
		run_chunk(&mc->run, out->last + 1, out);
		return 0;
	}
	ret = dmakit_range_table_next(&mc->c, &mc->run);
	if (ret == 0)
		run_chunk(&mc->run, mc->run.start, out);
	return ret;
}

static void rec_removed_cb(void *ctx, const struct dmakit_range *r)
{
	struct dmakit_listener *l = ctx;

	l->st.mapped_bytes -= r->last - r->start + 1;
	l->nmaps -= rec_mappings(r);
}

/* Record, then MAP [iova, iova + size) -> vaddr. On failure nothing changed. */
static int map_one(struct dmakit_listener *l, uint64_t iova, uint64_t size, uint64_t vaddr,
		   uint64_t target, uint64_t flags, char *err, size_t errlen)
{
	uint64_t last;
	int ret;

	if (!size || __builtin_add_overflow(iova, size - 1, &last)) {
		dmakit__errf(err, errlen, "mapping [0x%llx, +0x%llx) wraps",
			     (unsigned long long)iova, (unsigned long long)size);
		return -EINVAL;
	}
	ret = dmakit_range_table_insert(l->rec, iova, last, (target & ~REC_FLAGS) | flags);
	if (ret < 0) {
		dmakit__errf(err, errlen, "recording mapping 0x%llx+0x%llx: %s",
			     (unsigned long long)iova, (unsigned long long)size,
			     dmakit_strerror(ret));
		return ret;
	}
	ret = be_map(l, iova, size, vaddr, flags & REC_RO);
	if (ret < 0) {
		dmakit_range_table_remove(l->rec, iova, NULL);
		dmakit__errf(err, errlen, "vfio_container_dma_map(0x%llx, 0x%llx, 0x%llx) = %d (%s)",
			     (unsigned long long)iova, (unsigned long long)size,
			     (unsigned long long)vaddr, ret, dmakit_strerror(ret));
		return ret;
	}
	l->st.mapped_bytes += size;
	l->nmaps++;
	return 0;
}

/*
 * A run that an unmap of [u, v] cuts: its chunks [r1, r2] lie wholly inside
 * (they go), the chunks outside them stay. When chunks stay above r2 the
 * run is split at r2 BEFORE the backend call (the split is the only record
 * change that allocates), into [start, r2] and [r2 + 1, last].
 */
struct run_cut {
	bool on, split;
	struct dmakit_range run;
	uint64_t r1, r2;
};

static void run_cut_plan(struct dmakit_listener *l, uint64_t x, uint64_t u, uint64_t v,
			 struct run_cut *rc)
{
	struct dmakit_range *r = &rc->run;
	uint64_t lo, hi, c, g;

	rc->on = false;
	if (dmakit_range_table_find(l->rec, x, r) < 0 || !(r->value & REC_RUN))
		return;
	g = run_g(r->value);
	lo = r->start > u ? r->start : u;
	hi = r->last < v ? r->last : v;
	if (lo == r->start) {
		rc->r1 = lo;
	} else {
		c = run_adown(lo, r->value);
		rc->r1 = c == lo ? lo : c + g;
	}
	if (hi == r->last) {
		rc->r2 = hi;
	} else if (run_adown(hi + 1, r->value) == hi + 1) {
		rc->r2 = hi;
	} else {
		c = run_adown(hi, r->value);
		if (c <= r->start)
			return;
		rc->r2 = c - 1;
	}
	if (rc->r1 > rc->r2 || rc->r1 > r->last)
		return;
	/* Wholly inside [u, v]: remove_inside takes it as it is. */
	if (rc->r1 == r->start && rc->r2 == r->last)
		return;
	rc->on = true;
	rc->split = rc->r2 < r->last;
}

static void run_cut_undo(struct dmakit_listener *l, struct run_cut *rc)
{
	if (!rc->on || !rc->split)
		return;
	dmakit_range_table_remove(l->rec, rc->r2 + 1, NULL);
	dmakit__range_table_resize(l->rec, rc->run.start, rc->run.start, rc->run.last);
}

static int run_cut_split(struct dmakit_listener *l, struct run_cut *rc)
{
	int ret;

	if (!rc->on || !rc->split)
		return 0;
	dmakit__range_table_resize(l->rec, rc->run.start, rc->run.start, rc->r2);
	ret = dmakit_range_table_insert(l->rec, rc->r2 + 1, rc->run.last, rc->run.value);
	if (ret < 0)
		dmakit__range_table_resize(l->rec, rc->run.start, rc->run.start, rc->run.last);
	return ret;
}

/* After the unmap: [r1, r2] leaves the run's first part. */
static void run_cut_finish(struct dmakit_listener *l, struct run_cut *rc)
{
	struct dmakit_range gone;

	if (!rc->on || rc->r1 == rc->run.start)
		return; /* [start, r2] lies inside: remove_inside takes it */
	gone.start = rc->r1;
	gone.last = rc->r2;
	gone.value = rc->run.value;
	dmakit__range_table_resize(l->rec, rc->run.start, rc->run.start, rc->r1 - 1);
	rec_removed_cb(l, &gone);
}

/* One UNMAP over [iova, iova + size); the record follows on success. */
static int unmap_range(struct dmakit_listener *l, uint64_t iova, uint64_t size,
		       char *err, size_t errlen)
{
	uint64_t last = iova + (size - 1);
	struct run_cut rc[2];
	int ret;

	run_cut_plan(l, iova, iova, last, &rc[0]);
	run_cut_plan(l, last, iova, last, &rc[1]);
	if (rc[1].on && rc[0].on && rc[1].run.start == rc[0].run.start)
		rc[1].on = false;
	ret = run_cut_split(l, &rc[0]);
	if (ret == 0) {
		ret = run_cut_split(l, &rc[1]);
		if (ret < 0)
			run_cut_undo(l, &rc[0]);
	}
	if (ret < 0) {
		dmakit__errf(err, errlen, "recording the unmap of 0x%llx+0x%llx: %s",
			     (unsigned long long)iova, (unsigned long long)size,
			     dmakit_strerror(ret));
		return ret;
	}
	ret = be_unmap(l, iova, size);
	if (ret < 0) {
		run_cut_undo(l, &rc[1]);
		run_cut_undo(l, &rc[0]);
		dmakit__errf(err, errlen, "vfio_container_dma_unmap(0x%llx, 0x%llx) = %d (%s)",
			     (unsigned long long)iova, (unsigned long long)size, ret,
			     dmakit_strerror(ret));
		return ret;
	}
	run_cut_finish(l, &rc[0]);
	run_cut_finish(l, &rc[1]);
	dmakit_range_table_remove_inside(l->rec, iova, last, rec_removed_cb, l);
	return 0;
}

/* Undo failed too: the container still equals rec, not the strategy. */
static int unrecoverable(struct dmakit_listener *l, char *err, size_t errlen)
{
	l->st.unrecoverable++;
	dmakit__err_prefix(err, errlen, "undo failed, mappings no longer follow the model: ");
	return -ENOTRECOVERABLE;
}

static uint64_t rec_count_in(struct dmakit_listener *l, uint64_t first, uint64_t last)
{
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	uint64_t n = 0;
	int ret;

	ret = dmakit_range_table_seek(l->rec, first, &cur, &r);
	while (ret == 0 && r.start <= last) {
		n += rec_mappings(&r);
		ret = dmakit_range_table_next(&cur, &r);
	}
	return n;
}

/* ------------------------------------------------------------------------ */
/* Section rules                                                               */

static bool is_skip(enum dmakit_section_disposition d)
{
	return d < DMAKIT_SECTION_RAM_DEVICE_UNMAPPED;
}

/*
 * QEMU's vfio_listener_skipped_section(), vfio_listener_valid_section() and
 * vfio_get_section_iova_range(), then the path region_add takes.
 */
static enum dmakit_section_disposition classify(const struct dmakit_listener *l,
						const struct dmakit_section *s,
						uint64_t *iova, uint64_t *last)
{
	const struct dmakit_memory_region *mr = s->mr;
	uint64_t mask = l->cfg.host_page_size - 1, a, slast, alast;

	*iova = 0;
	*last = 0;
	if (mr->kind != DMAKIT_MR_RAM && mr->kind != DMAKIT_MR_RAM_DEVICE &&
	    mr->kind != DMAKIT_MR_IOMMU)
		return DMAKIT_SECTION_SKIP_NOT_RAM;
	if (mr->protected_ram)
		return DMAKIT_SECTION_SKIP_PROTECTED;
	if (s->gpa & (1ull << 63))
		return DMAKIT_SECTION_SKIP_BIT63;
	if ((s->gpa & mask) != (s->offset_in_region & mask))
		return mr->known_safe_misalignment ? DMAKIT_SECTION_SKIP_MISALIGNED_SAFE
						   : DMAKIT_SECTION_SKIP_MISALIGNED;
	/* iova rounded up, end rounded down; gpa < 2^63 so neither wraps. */
	a = (s->gpa + mask) & ~mask;
	slast = s->gpa + (s->size - 1);
	if (slast == UINT64_MAX) {
		alast = UINT64_MAX;
	} else {
		uint64_t end = (slast + 1) & ~mask;

		if (end <= a)
			return DMAKIT_SECTION_SKIP_EMPTY;
		alast = end - 1;
	}
	*iova = a;
	*last = alast;
	if (mr->kind == DMAKIT_MR_IOMMU)
		return DMAKIT_SECTION_IOMMU;
	if (mr->dm)
		return DMAKIT_SECTION_DISCARD_MANAGED;
	if (mr->kind == DMAKIT_MR_RAM_DEVICE) {
		if ((a | (alast - a + 1)) & (l->min_iommu_page - 1))
			return DMAKIT_SECTION_SKIP_RAM_DEVICE_ALIGN;
		return DMAKIT_SECTION_RAM_DEVICE;
	}
	return DMAKIT_SECTION_PLAIN;
}

/* ------------------------------------------------------------------------ */
/* The budget                                                                  */

/* Granules [first, last] touches, in units of g: (ALIGN_DOWN(last) -
 * ALIGN_DOWN(first)) / g + 1 == (ROUND_UP(last + 1) - ALIGN_DOWN(first)) / g,
 * without the overflow of last + 1. */
static uint64_t granules(uint64_t first, uint64_t last, uint64_t g)
{
	return (dmakit__align_down(last, g) - dmakit__align_down(first, g)) / g + 1;
}

static void account(const struct lsec *ls, uint64_t override_g,
		    struct dmakit_listener_budget *b)
{
	uint64_t g, k;

	switch (ls->disp) {
	case DMAKIT_SECTION_PLAIN:
	case DMAKIT_SECTION_RAM_DEVICE:
		b->plain_mappings++;
		break;
	case DMAKIT_SECTION_DISCARD_MANAGED:
		g = ls->granularity;
		if (override_g > g && ls->s.mr->dm->kind == DMAKIT_DISCARD_VIRTIO_MEM)
			g = override_g;
		b->rdm_sections++;
		b->rdm_granules_as += granules(ls->s.gpa, ls->s.gpa + (ls->s.size - 1), g);
		k = granules(ls->s.offset_in_region, ls->s.offset_in_region + (ls->s.size - 1), g);
		b->rdm_chunks += k;
		b->rdm_coalesced_peak += (k + 1) / 2;
		break;
	case DMAKIT_SECTION_IOMMU:
		b->iommu_sections++;
		break;
	default:
		break;
	}
}

/* The budget of the layout, with @extra (not yet linked) added, and the
 * virtio-mem granularities raised to @override_g (0: as they are). */
static void compute_budget(const struct dmakit_listener *l, const struct lsec *extra,
			   uint64_t override_g, struct dmakit_listener_budget *b)
{
	const struct lsec *ls;
	uint64_t viommu;

	memset(b, 0, sizeof(*b));
	b->dma_max_mappings = l->dma_max_mappings;
	b->dma_avail_reported = l->dma_avail_reported;
	b->dma_avail_at_start = l->dma_avail_at_start;
	b->max_memslots = l->cfg.max_memslots;
	for (ls = l->secs; ls; ls = ls->next)
		account(ls, override_g, b);
	if (extra)
		account(extra, override_g, b);
	if (b->rdm_sections)
		b->qemu_estimate = b->rdm_granules_as + b->max_memslots - b->rdm_sections;
	viommu = l->cfg.viommu_bound * b->iommu_sections;
	b->exact_peak = b->plain_mappings + b->rdm_chunks + viommu;
	b->coalesce_peak = b->plain_mappings + b->rdm_coalesced_peak + viommu;
	b->live_mappings = l->nmaps;
	b->qemu_check_fails = b->dma_max_mappings && b->rdm_sections &&
			      b->qemu_estimate > b->dma_max_mappings;
	b->exact_check_fails = b->dma_max_mappings && b->exact_peak > b->dma_max_mappings;
}

static uint64_t needed(const struct dmakit_listener *l, const struct dmakit_listener_budget *b)
{
	switch (l->cfg.strategy) {
	case DMAKIT_LISTENER_EXACT:
		return b->exact_peak;
	case DMAKIT_LISTENER_COALESCE:
		return b->coalesce_peak;
	case DMAKIT_LISTENER_QEMU:
	default:
		return b->qemu_estimate;
	}
}

/* The smallest power-of-two virtio-mem block size (>= 1 MiB) with which the
 * layout passes, or 0 if none does (other sections alone are too many). */
static uint64_t fitting_block_size(const struct dmakit_listener *l, const struct lsec *extra)
{
	struct dmakit_listener_budget b;
	uint64_t g;

	for (g = DMAKIT_VIRTIO_MEM_MIN_BLOCK_SIZE; g && g <= (1ull << 62); g <<= 1) {
		compute_budget(l, extra, g, &b);
		if (needed(l, &b) <= l->dma_max_mappings)
			return g;
	}
	return 0;
}

static void format_size(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= DMAKIT_GiB && !(bytes % DMAKIT_GiB))
		snprintf(buf, len, "%lluG", (unsigned long long)(bytes / DMAKIT_GiB));
	else if (bytes >= DMAKIT_MiB && !(bytes % DMAKIT_MiB))
		snprintf(buf, len, "%lluM", (unsigned long long)(bytes / DMAKIT_MiB));
	else
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
}

/* Run the strategy's check for @cand, about to be added. */
static int budget_check(struct dmakit_listener *l, const struct lsec *cand,
			char *err, size_t errlen)
{
	struct dmakit_listener_budget b;
	uint64_t need, fit_g, limit_fit;
	char ways[320], gbuf[32];

	if (!l->dma_max_mappings)
		return 0;
	if (l->cfg.strategy == DMAKIT_LISTENER_QEMU &&
	    cand->disp != DMAKIT_SECTION_DISCARD_MANAGED)
		return 0;
	compute_budget(l, cand, 0, &b);
	need = needed(l, &b);
	if (need <= l->dma_max_mappings)
		return 0;
	l->st.check_refusals++;

	fit_g = fitting_block_size(l, cand);
	if (fit_g)
		format_size(fit_g, gbuf, sizeof(gbuf));
	limit_fit = need + l->mappings_at_start;
	snprintf(ways, sizeof(ways),
		 "Ways out: %s%s%s, or dma_entry_limit=%llu (vfio_iommu_type1 module "
		 "parameter), or an iommufd container (no entry limit)",
		 fit_g ? "virtio-mem block-size=" : "no virtio-mem block-size fits",
		 fit_g ? gbuf : "",
		 fit_g ? " (the smallest power of two that fits)" : "",
		 (unsigned long long)limit_fit);

	if (l->cfg.strategy == DMAKIT_LISTENER_QEMU) {
		dmakit__errf(err, errlen,
			     "vfio_ram_discard_register_listener: possibly running out of DMA "
			     "mappings. E.g., try increasing the 'block-size' of virtio-mem devies. "
			     "Maximum possible DMA mappings: %u, Maximum possible memslots: %u "
			     "(%llu granules in %llu discard-managed sections + %u memslots - %llu = "
			     "%llu > %u). %s",
			     l->dma_max_mappings, l->cfg.max_memslots,
			     (unsigned long long)b.rdm_granules_as,
			     (unsigned long long)b.rdm_sections, l->cfg.max_memslots,
			     (unsigned long long)b.rdm_sections, (unsigned long long)need,
			     l->dma_max_mappings, ways);
	} else {
		dmakit__errf(err, errlen,
			     "running out of DMA mappings: this layout can need %llu mappings at "
			     "once (%llu plain sections + %llu %s of %llu discard-managed sections + "
			     "%llu x %llu vIOMMU) > %u available; QEMU's estimate would be %llu. %s",
			     (unsigned long long)need, (unsigned long long)b.plain_mappings,
			     (unsigned long long)(l->cfg.strategy == DMAKIT_LISTENER_EXACT ?
							  b.rdm_chunks : b.rdm_coalesced_peak),
			     l->cfg.strategy == DMAKIT_LISTENER_EXACT ? "granules" :
									 "coalesced runs",
			     (unsigned long long)b.rdm_sections,
			     (unsigned long long)l->cfg.viommu_bound,
			     (unsigned long long)b.iommu_sections, l->dma_max_mappings,
			     (unsigned long long)b.qemu_estimate, ways);
	}
	return -ENOSPC;
}

/* ------------------------------------------------------------------------ */
/* Coalesce windows                                                            */

static void window_record(struct dmakit_listener *l, bool split, uint64_t bytes, uint64_t ops)
{
	uint64_t pages = bytes / l->cfg.host_page_size;
	struct dmakit_listener_stats *st = &l->st;

	st->window_events++;
	if (split)
		st->window_split_events++;
	else
		st->window_merge_events++;
	st->window_pages_total += pages;
	if (pages > st->window_pages_max)
		st->window_pages_max = pages;
	st->window_ops_total += ops;
	if (ops > st->window_ops_max)
		st->window_ops_max = ops;
	st->last_window_pages = pages;
	st->last_window_ops = ops;
}

/* ------------------------------------------------------------------------ */
/* Discard-managed sections                                                    */

static uint64_t rec_flags(const struct dmakit_section *s)
{
	return s->readonly ? REC_RO : 0;
}

/*
 * QEMU's chunking: one mapping per granule, aligned in region offsets. The
 * record holds the part as one run (merged with the runs it meets on a
 * granule boundary), written before the first MAP and trimmed back if a MAP
 * fails, so the only allocation comes before any backend call.
 */
static int populate_chunks(struct dmakit_listener *l, struct lsec *ls,
			   const struct dmakit_section *part, char *err, size_t errlen)
{
	uint64_t g = ls->granularity, start = part->offset_in_region;
	uint64_t end = part->offset_in_region + part->size;
	uint64_t a = part->gpa, b = part->gpa + (part->size - 1), v = run_value(part, g);
	uint64_t rs, n = 0;
	struct dmakit_range lr, rr;
	bool merged_l;
	int ret;

	merged_l = a > ls->iova && dmakit_range_table_find(l->rec, a - 1, &lr) == 0 &&
		   lr.value == v && lr.start >= ls->iova && run_adown(a, v) == a;
	if (merged_l) {
		rs = lr.start;
		dmakit__range_table_resize(l->rec, rs, rs, b);
	} else {
		rs = a;
		ret = dmakit_range_table_insert(l->rec, a, b, v);
		if (ret < 0) {
			uint64_t base = dmakit__align_down(start, g), next;

			next = base > UINT64_MAX - g || base + g > end ? end : base + g;
			dmakit__errf(err, errlen, "recording mapping 0x%llx+0x%llx: %s",
				     (unsigned long long)a, (unsigned long long)(next - start),
				     dmakit_strerror(ret));
			/* notify_discard(section): one unmap over the whole part. */
			l->st.rollbacks++;
			if (unmap_range(l, part->gpa, part->size, NULL, 0) < 0)
				return unrecoverable(l, err, errlen);
			return ret;
		}
	}

	while (start < end) {
		uint64_t base = dmakit__align_down(start, g), next;
		uint64_t iova = part->gpa + (start - part->offset_in_region);

		next = base > UINT64_MAX - g || base + g > end ? end : base + g;
		ret = be_map(l, iova, next - start, part->mr->hva + start, v & REC_RO);
		if (ret < 0) {
			dmakit__errf(err, errlen,
				     "vfio_container_dma_map(0x%llx, 0x%llx, 0x%llx) = %d (%s)",
				     (unsigned long long)iova, (unsigned long long)(next - start),
				     (unsigned long long)(part->mr->hva + start), ret,
				     dmakit_strerror(ret));
			/* notify_discard(section): one unmap over the whole part,
			 * chunks never mapped included. */
			l->st.rollbacks++;
			if (be_unmap(l, part->gpa, part->size) < 0) {
				/* The record keeps what is mapped: [a, iova). */
				if (iova == a) {
					if (merged_l)
						dmakit__range_table_resize(l->rec, rs, rs, lr.last);
					else
						dmakit_range_table_remove(l->rec, a, NULL);
				} else {
					dmakit__range_table_resize(l->rec, rs, rs, iova - 1);
					l->st.mapped_bytes += iova - a;
					l->nmaps += n;
				}
				return unrecoverable(l, err, errlen);
			}
			if (merged_l)
				dmakit__range_table_resize(l->rec, rs, rs, lr.last);
			else
				dmakit_range_table_remove(l->rec, a, NULL);
			return ret;
		}
		n++;
		start = next;
	}
	l->st.mapped_bytes += part->size;
	l->nmaps += n;
	/* A run right above, meeting this one on a boundary: one run. */
	if (b < ls->last && dmakit_range_table_find(l->rec, b + 1, &rr) == 0 &&
	    rr.value == v && rr.last <= ls->last && run_adown(b + 1, v) == b + 1) {
		dmakit_range_table_remove(l->rec, rr.start, NULL);
		dmakit__range_table_resize(l->rec, rs, rs, rr.last);
	}
	return 0;
}

static int coalesce_populate(struct dmakit_listener *l, struct lsec *ls,
			     const struct dmakit_section *part, char *err, size_t errlen)
{
	uint64_t a = part->gpa, b = part->gpa + (part->size - 1), ns, nl, calls0, moved = 0;
	struct dmakit_range lr = { 0 }, rr = { 0 };
	bool have_l, have_r;
	int ret;

	have_l = a > ls->iova && dmakit_range_table_find(l->rec, a - 1, &lr) == 0 &&
		 lr.start >= ls->iova;
	have_r = b < ls->last && dmakit_range_table_find(l->rec, b + 1, &rr) == 0 &&
		 rr.last <= ls->last;
	ns = have_l ? lr.start : a;
	nl = have_r ? rr.last : b;
	calls0 = backend_calls(l);
	if (have_l || have_r) {
		/* type1 cannot extend a mapping: the neighbours go, for a moment. */
		ret = unmap_range(l, ns, nl - ns + 1, err, errlen);
		if (ret < 0)
			return ret;
		moved = (have_l ? lr.last - lr.start + 1 : 0) + (have_r ? rr.last - rr.start + 1 : 0);
	}
	ret = map_one(l, ns, nl - ns + 1, sec_vaddr(&ls->s, ns), ns, rec_flags(&ls->s),
		      err, errlen);
	if (ret < 0 && moved) {
		int r1 = 0, r2 = 0;

		l->st.rollbacks++;
		if (have_l)
			r1 = map_one(l, lr.start, lr.last - lr.start + 1, sec_vaddr(&ls->s, lr.start),
				     lr.start, lr.value & REC_FLAGS, NULL, 0);
		if (have_r)
			r2 = map_one(l, rr.start, rr.last - rr.start + 1, sec_vaddr(&ls->s, rr.start),
				     rr.start, rr.value & REC_FLAGS, NULL, 0);
		window_record(l, false, moved, backend_calls(l) - calls0);
		if (r1 < 0 || r2 < 0)
			return unrecoverable(l, err, errlen);
		return ret;
	}
	if (ret < 0)
		return ret;
	if (moved)
		window_record(l, false, moved, backend_calls(l) - calls0);
	return 0;
}

static int coalesce_discard(struct dmakit_listener *l, struct lsec *ls,
			    const struct dmakit_section *part, char *err, size_t errlen)
{
	uint64_t a = part->gpa, b = part->gpa + (part->size - 1), ustart, ulast, calls0;
	struct dmakit_range_cursor cur;
	struct dmakit_range r, *orig;
	struct { uint64_t first, last; bool on; } piece[2];
	size_t n = 0, i;
	int ret, p, q;

	ret = dmakit_range_table_seek(l->rec, a, &cur, &r);
	while (ret == 0 && r.start <= b) {
		n++;
		ret = dmakit_range_table_next(&cur, &r);
	}
	if (!n)
		return 0;
	orig = dmakit__malloc(n * sizeof(*orig));
	if (!orig) {
		dmakit__errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	i = 0;
	ret = dmakit_range_table_seek(l->rec, a, &cur, &r);
	while (ret == 0 && i < n) {
		orig[i++] = r;
		ret = dmakit_range_table_next(&cur, &r);
	}
	ustart = orig[0].start < a ? orig[0].start : a;
	ulast = orig[n - 1].last > b ? orig[n - 1].last : b;
	piece[0].on = orig[0].start < a;
	piece[0].first = orig[0].start;
	piece[0].last = a - 1;
	piece[1].on = orig[n - 1].last > b;
	piece[1].first = b + 1;
	piece[1].last = orig[n - 1].last;

	calls0 = backend_calls(l);
	/* One unmap over every mapping the range touches, whole. */
	ret = unmap_range(l, ustart, ulast - ustart + 1, err, errlen);
	if (ret < 0)
		goto out;
	for (p = 0; p < 2; p++) {
		if (!piece[p].on)
			continue;
		ret = map_one(l, piece[p].first, piece[p].last - piece[p].first + 1,
			      sec_vaddr(&ls->s, piece[p].first), piece[p].first,
			      rec_flags(&ls->s), err, errlen);
		if (ret < 0) {
			bool bad = false;

			l->st.rollbacks++;
			for (q = 0; q < p; q++)
				if (piece[q].on &&
				    unmap_range(l, piece[q].first,
						piece[q].last - piece[q].first + 1, NULL, 0) < 0)
					bad = true;
			for (i = 0; i < n && !bad; i++)
				if (map_one(l, orig[i].start, orig[i].last - orig[i].start + 1,
					    sec_vaddr(&ls->s, orig[i].start), orig[i].start,
					    orig[i].value & REC_FLAGS, NULL, 0) < 0)
					bad = true;
			if (piece[0].on || piece[1].on)
				window_record(l, true,
					      (piece[0].on ? piece[0].last - piece[0].first + 1 : 0) +
					      (piece[1].on ? piece[1].last - piece[1].first + 1 : 0),
					      backend_calls(l) - calls0);
			if (bad)
				ret = unrecoverable(l, err, errlen);
			goto out;
		}
	}
	if (piece[0].on || piece[1].on)
		window_record(l, true,
			      (piece[0].on ? piece[0].last - piece[0].first + 1 : 0) +
			      (piece[1].on ? piece[1].last - piece[1].first + 1 : 0),
			      backend_calls(l) - calls0);
	ret = 0;
out:
	dmakit__free(orig);
	return ret;
}

static int dl_populate(struct dmakit_discard_listener *dl, const struct dmakit_section *part,
		       char *err, size_t errlen)
{
	struct lsec *ls = dl->opaque;
	struct dmakit_listener *l = ls->l;

	if (l->vaddr_invalid) {
		dmakit__errf(err, errlen, "CPR in progress: vaddrs are invalidated");
		return -EBUSY;
	}
	if (dmakit_range_table_first_overlap(l->rec, part->gpa, part->gpa + (part->size - 1),
					     NULL) == 0) {
		dmakit__errf(err, errlen, "populate of [0x%llx, +0x%llx): already mapped",
			     (unsigned long long)part->gpa, (unsigned long long)part->size);
		return -EEXIST;
	}
	if (l->cfg.strategy == DMAKIT_LISTENER_COALESCE)
		return coalesce_populate(l, ls, part, err, errlen);
	return populate_chunks(l, ls, part, err, errlen);
}

static int dl_discard(struct dmakit_discard_listener *dl, const struct dmakit_section *part,
		      char *err, size_t errlen)
{
	struct lsec *ls = dl->opaque;
	struct dmakit_listener *l = ls->l;

	if (l->vaddr_invalid) {
		dmakit__errf(err, errlen, "CPR in progress: vaddrs are invalidated");
		return -EBUSY;
	}
	if (l->cfg.strategy == DMAKIT_LISTENER_COALESCE)
		return coalesce_discard(l, ls, part, err, errlen);
	/* vfio_ram_discard_notify_discard(): one unmap over the part. */
	return unmap_range(l, part->gpa, part->size, err, errlen);
}

/* ------------------------------------------------------------------------ */
/* vIOMMU sections                                                             */

static int iommu_notify(struct dmakit_iommu_notifier *n, const struct dmakit_iotlb_entry *e,
			bool is_map, char *err, size_t errlen)
{
	struct lsec *ls = n->opaque;
	struct dmakit_listener *l = ls->l;
	uint64_t iova = e->iova + (ls->s.gpa - ls->s.offset_in_region), size = e->addr_mask + 1;
	uint64_t off, tlast;
	struct dmakit_section ts;
	struct dmakit_memory_region *mr;
	bool ro;

	if (l->vaddr_invalid) {
		dmakit__errf(err, errlen, "CPR in progress: vaddrs are invalidated");
		return -EBUSY;
	}
	if (!is_map)
		return unmap_range(l, iova, size, err, errlen);

	/* vfio_translate_iotlb() / memory_translate_iotlb() */
	if (dmakit_as_find_section(ls->s.mr->iommu_target, e->translated_addr, &ts) < 0 ||
	    (ts.mr->kind != DMAKIT_MR_RAM && ts.mr->kind != DMAKIT_MR_RAM_DEVICE)) {
		dmakit__errf(err, errlen, "iommu map to non memory area 0x%llx",
			     (unsigned long long)e->translated_addr);
		return -EINVAL;
	}
	tlast = e->translated_addr + e->addr_mask;
	if (tlast > ts.gpa + (ts.size - 1)) {
		dmakit__errf(err, errlen, "iommu has granularity incompatible with target AS");
		return -EINVAL;
	}
	mr = ts.mr;
	off = ts.offset_in_region + (e->translated_addr - ts.gpa);
	if (mr->dm && !dmakit_discard_is_populated(mr->dm, off, size)) {
		dmakit__errf(err, errlen, "iommu map to discarded memory (e.g., unplugged via "
			     "virtio-mem): 0x%llx", (unsigned long long)e->translated_addr);
		return -EINVAL;
	}
	ro = !(e->perm & DMAKIT_IOMMU_WO) || ts.readonly;
	return map_one(l, iova, size, mr->hva + off, e->translated_addr,
		       REC_IOMMU | (ro ? REC_RO : 0), err, errlen);
}

/* ------------------------------------------------------------------------ */
/* region_add / region_del                                                     */

static void link_sec(struct dmakit_listener *l, struct lsec *ls)
{
	ls->next = l->secs;
	l->secs = ls;
}

static void unlink_sec(struct dmakit_listener *l, struct lsec *ls)
{
	struct lsec **pp;

	for (pp = &l->secs; *pp; pp = &(*pp)->next) {
		if (*pp == ls) {
			*pp = ls->next;
			return;
		}
	}
}

static struct lsec *find_sec(const struct dmakit_listener *l,
			     const struct dmakit_memory_region *mr, uint64_t gpa)
{
	struct lsec *ls;

	for (ls = l->secs; ls; ls = ls->next)
		if (ls->s.mr == mr && ls->s.gpa == gpa)
			return ls;
	return NULL;
}

static int add_plain(struct dmakit_listener *l, struct lsec *ls, char *err, size_t errlen)
{
	int ret;

	if (l->cfg.strategy != DMAKIT_LISTENER_QEMU) {
		ret = budget_check(l, ls, err, errlen);
		if (ret < 0)
			return ret;
	}
	ret = map_one(l, ls->iova, ls->last - ls->iova + 1, sec_vaddr(&ls->s, ls->iova), ls->iova,
		      rec_flags(&ls->s), err, errlen);
	if (ret < 0) {
		if (ls->disp != DMAKIT_SECTION_RAM_DEVICE)
			return ret;
		/* "PCI peer-to-peer transactions on BARs are not supported":
		 * a warning in QEMU, the section stays unmapped. */
		l->st.ram_device_map_failures++;
		ls->disp = DMAKIT_SECTION_RAM_DEVICE_UNMAPPED;
	}
	link_sec(l, ls);
	return 0;
}

static int add_rdm(struct dmakit_listener *l, struct lsec *ls, char *err, size_t errlen)
{
	struct dmakit_discard_manager *dm = ls->s.mr->dm;
	uint64_t page = l->cfg.host_page_size, g = dm->granularity;
	int ret;

	if ((ls->s.gpa | ls->s.offset_in_region | ls->s.size) & (page - 1)) {
		dmakit__errf(err, errlen, "discard-managed section [0x%llx, +0x%llx) at offset 0x%llx "
			     "is not aligned to the target page (0x%llx)",
			     (unsigned long long)ls->s.gpa, (unsigned long long)ls->s.size,
			     (unsigned long long)ls->s.offset_in_region, (unsigned long long)page);
		return -EINVAL;
	}
	if (!dmakit__is_pow2(g) || g < l->min_iommu_page) {
		dmakit__errf(err, errlen, "granularity 0x%llx is below the minimum IOMMU page 0x%llx",
			     (unsigned long long)g, (unsigned long long)l->min_iommu_page);
		return -EINVAL;
	}
	ls->granularity = g;
	ret = budget_check(l, ls, err, errlen);
	if (ret < 0)
		return ret;
	ls->dl.populate = dl_populate;
	ls->dl.discard = dl_discard;
	ls->dl.section = ls->s;
	ls->dl.opaque = ls;
	link_sec(l, ls);
	ret = dmakit_discard_register_listener(dm, &ls->dl, err, errlen);
	if (ret < 0) {
		unlink_sec(l, ls);
		return ret;
	}
	return 0;
}

static int add_iommu(struct dmakit_listener *l, struct lsec *ls, char *err, size_t errlen)
{
	int ret;

	if (l->cfg.strategy != DMAKIT_LISTENER_QEMU) {
		ret = budget_check(l, ls, err, errlen);
		if (ret < 0)
			return ret;
	}
	ls->n.notify = iommu_notify;
	ls->n.first = ls->s.offset_in_region;
	ls->n.last = ls->s.offset_in_region + (ls->s.size - 1);
	ls->n.opaque = ls;
	ret = dmakit_iommu_register_notifier(ls->s.mr, &ls->n, err, errlen);
	if (ret < 0)
		return ret;
	link_sec(l, ls);
	ret = dmakit_iommu_replay(ls->s.mr, &ls->n, err, errlen);
	if (ret < 0) {
		dmakit_iommu_unregister_notifier(&ls->n);
		unlink_sec(l, ls);
		return ret;
	}
	return 0;
}

static int region_add(struct dmakit_memory_listener *ml, const struct dmakit_section *s,
		      char *err, size_t errlen)
{
	struct dmakit_listener *l = ml->opaque;
	enum dmakit_section_disposition disp;
	uint64_t iova, last;
	struct lsec *ls;
	int ret;

	if (l->vaddr_invalid) {
		dmakit__errf(err, errlen, "CPR in progress: vaddrs are invalidated");
		return -EBUSY;
	}
	disp = classify(l, s, &iova, &last);
	if (is_skip(disp)) {
		l->st.skipped_sections++;
		return 0;
	}
	ls = dmakit__calloc(1, sizeof(*ls));
	if (!ls) {
		dmakit__errf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ls->s = *s;
	ls->disp = disp;
	ls->iova = iova;
	ls->last = last;
	ls->l = l;
	switch (disp) {
	case DMAKIT_SECTION_IOMMU:
		ret = add_iommu(l, ls, err, errlen);
		break;
	case DMAKIT_SECTION_DISCARD_MANAGED:
		ret = add_rdm(l, ls, err, errlen);
		break;
	default:
		ret = add_plain(l, ls, err, errlen);
		break;
	}
	if (ret < 0)
		dmakit__free(ls);
	return ret;
}

static int region_del(struct dmakit_memory_listener *ml, const struct dmakit_section *s,
		      char *err, size_t errlen)
{
	struct dmakit_listener *l = ml->opaque;
	struct lsec *ls = find_sec(l, s->mr, s->gpa);
	int ret;

	if (!ls)
		return 0;
	if (l->vaddr_invalid) {
		dmakit__errf(err, errlen, "CPR in progress: vaddrs are invalidated");
		return -EBUSY;
	}
	switch (ls->disp) {
	case DMAKIT_SECTION_DISCARD_MANAGED:
		/* The manager sends one discard of the whole section. */
		ret = dmakit_discard_unregister_listener(&ls->dl, err, errlen);
		break;
	case DMAKIT_SECTION_IOMMU:
		/* One big unmap flattens every vIOMMU mapping of the section. */
		ret = unmap_range(l, ls->iova, ls->last - ls->iova + 1, err, errlen);
		if (ret == 0)
			dmakit_iommu_unregister_notifier(&ls->n);
		break;
	default:
		ret = unmap_range(l, ls->iova, ls->last - ls->iova + 1, err, errlen);
		break;
	}
	if (ret < 0)
		return ret;
	unlink_sec(l, ls);
	dmakit__free(ls);
	return 0;
}

static const struct dmakit_memory_listener_ops listener_ops = {
	.region_add = region_add,
	.region_del = region_del,
};

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                  */

DMAKIT_EXPORT int dmakit_listener_create(struct dmakit_container *c,
					 struct dmakit_address_space *as,
					 const struct dmakit_listener_config *cfg,
					 struct dmakit_listener **out, char *err, size_t errlen)
{
	struct dmakit_listener_config dflt;
	struct dmakit_container_stats cs;
	struct dmakit_type1_info info;
	struct dmakit_listener *l;
	int ret;

	if (!cfg) {
		dmakit_listener_config_init(&dflt);
		cfg = &dflt;
	}
	if (!c || !as || !out || !dmakit__is_pow2(cfg->host_page_size) ||
	    cfg->host_page_size < 4096 || cfg->strategy > DMAKIT_LISTENER_COALESCE ||
	    cfg->dma_limit_source > DMAKIT_DMA_LIMIT_FIXED) {
		dmakit__errf(err, errlen, "invalid listener configuration");
		return -EINVAL;
	}
	l = dmakit__calloc(1, sizeof(*l));
	if (!l)
		goto nomem;
	l->rec = dmakit_range_table_create();
	if (!l->rec) {
		dmakit__free(l);
		goto nomem;
	}
	l->cfg = *cfg;
	l->c = c;
	l->as = as;

	/* vfio_legacy_setup(): GET_INFO for the page sizes and DMA_AVAIL. */
	ret = dmakit_container_query_info(c, &info);
	if (ret < 0) {
		dmakit__errf(err, errlen, "VFIO_IOMMU_GET_INFO failed: %s", dmakit_strerror(ret));
		goto fail;
	}
	l->min_iommu_page = (info.flags & DMAKIT_VFIO_IOMMU_INFO_PGSIZES) && info.pgsizes ?
				    1ull << __builtin_ctzll(info.pgsizes) : cfg->host_page_size;
	l->dma_avail_reported = info.has_dma_avail;
	l->dma_avail_at_start = info.dma_avail;
	switch (cfg->dma_limit_source) {
	case DMAKIT_DMA_LIMIT_QUERY:
		l->dma_max_mappings = info.has_dma_avail ? info.dma_avail :
							   DMAKIT_QEMU_DEFAULT_DMA_MAX_MAPPINGS;
		break;
	case DMAKIT_DMA_LIMIT_QUERY_ABSENT_UNLIMITED:
		l->dma_max_mappings = info.has_dma_avail ? info.dma_avail : 0;
		break;
	case DMAKIT_DMA_LIMIT_FIXED:
		l->dma_max_mappings = cfg->dma_max_mappings;
		break;
	}
	if (dmakit_container_stats(c, &cs) == 0)
		l->mappings_at_start = cs.mappings;

	l->ml.ops = &listener_ops;
	l->ml.opaque = l;
	ret = dmakit_as_register_listener(as, &l->ml, err, errlen);
	if (ret < 0) {
		dmakit__err_prefix(err, errlen, "memory listener initialization failed: ");
		goto fail;
	}
	*out = l;
	return 0;

nomem:
	dmakit__errf(err, errlen, "out of memory");
	return -ENOMEM;
fail:
	dmakit_range_table_destroy(l->rec);
	dmakit__free(l);
	return ret;
}

DMAKIT_EXPORT void dmakit_listener_destroy(struct dmakit_listener *l)
{
	struct lsec *ls;

	if (!l)
		return;
	/* Mappings with invalidated vaddrs may be unmapped all the same. */
	l->vaddr_invalid = false;
	dmakit_as_unregister_listener(&l->ml);
	/* Sections whose removal was refused: drop them from the managers;
	 * closing the container releases their mappings. */
	while ((ls = l->secs)) {
		l->secs = ls->next;
		if (ls->disp == DMAKIT_SECTION_IOMMU)
			dmakit_iommu_unregister_notifier(&ls->n);
		else if (ls->disp == DMAKIT_SECTION_DISCARD_MANAGED)
			dmakit__dm_drop_listener(&ls->dl);
		dmakit__free(ls);
	}
	dmakit_range_table_destroy(l->rec);
	dmakit_container_close(l->c);
	dmakit__free(l);
}

DMAKIT_EXPORT struct dmakit_container *dmakit_listener_container(struct dmakit_listener *l)
{
	return l->c;
}

DMAKIT_EXPORT int dmakit_listener_budget(const struct dmakit_listener *l,
					 struct dmakit_listener_budget *out)
{
	if (!l || !out)
		return -EINVAL;
	compute_budget(l, NULL, 0, out);
	return 0;
}

DMAKIT_EXPORT int dmakit_listener_stats(const struct dmakit_listener *l,
					struct dmakit_listener_stats *out)
{
	if (!l || !out)
		return -EINVAL;
	*out = l->st;
	out->live_mappings = l->nmaps;
	return 0;
}

DMAKIT_EXPORT int dmakit_listener_section_info(const struct dmakit_listener *l, uint64_t gpa,
					       struct dmakit_listener_section_info *out)
{
	struct dmakit_section s;
	const struct lsec *ls;
	uint64_t iova, last;

	if (!l || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (dmakit_as_find_section(l->as, gpa, &s) < 0 || s.gpa != gpa)
		return -ENOENT;
	ls = find_sec(l, s.mr, gpa);
	if (ls) {
		out->disposition = ls->disp;
		out->iova = ls->iova;
		out->size = ls->last - ls->iova + 1;
		out->granularity = ls->granularity;
		out->mappings = rec_count_in((struct dmakit_listener *)l, ls->iova, ls->last);
		return 0;
	}
	out->disposition = classify(l, &s, &iova, &last);
	out->iova = iova;
	out->size = last ? last - iova + 1 : 0;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* CPR and verification                                                        */

/* The vaddr a recorded mapping must have, from the regions' current hvas. */
static int rec_vaddr(const struct dmakit_listener *l, const struct dmakit_range *r,
		     uint64_t *vaddr)
{
	uint64_t target = r->value & ~REC_FLAGS;
	struct dmakit_section s, ts;

	if (dmakit_as_find_section(l->as, r->start, &s) < 0)
		return -ENOENT;
	if (!(r->value & REC_IOMMU)) {
		*vaddr = sec_vaddr(&s, r->start);
		return 0;
	}
	if (s.mr->kind != DMAKIT_MR_IOMMU ||
	    dmakit_as_find_section(s.mr->iommu_target, target, &ts) < 0)
		return -ENOENT;
	*vaddr = sec_vaddr(&ts, target);
	return 0;
}

DMAKIT_EXPORT int dmakit_listener_cpr_save(struct dmakit_listener *l, char *err, size_t errlen)
{
	struct dmakit_vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR | DMAKIT_VFIO_DMA_UNMAP_FLAG_ALL,
	};
	int ret;

	if (!l)
		return -EINVAL;
	if (l->vaddr_invalid) {
		dmakit__errf(err, errlen, "vaddrs are already invalidated");
		return -EALREADY;
	}
	/* vfio_cpr_supported() */
	if (dmakit_container_check_extension(l->c, DMAKIT_VFIO_UPDATE_VADDR) <= 0 ||
	    dmakit_container_check_extension(l->c, DMAKIT_VFIO_UNMAP_ALL) <= 0) {
		dmakit__errf(err, errlen, "VFIO container does not support VFIO_UPDATE_VADDR "
			     "or VFIO_UNMAP_ALL");
		return -EOPNOTSUPP;
	}
	l->st.vaddr_calls++;
	ret = dmakit_container_unmap_dma(l->c, &unmap);
	if (ret < 0) {
		l->st.failed_calls++;
		dmakit__errf(err, errlen, "VFIO_IOMMU_UNMAP_DMA VADDR|ALL failed: %s",
			     dmakit_strerror(ret));
		return ret;
	}
	l->vaddr_invalid = true;
	return 0;
}

DMAKIT_EXPORT int dmakit_listener_cpr_restore(struct dmakit_listener *l, char *err,
					      size_t errlen)
{
	struct mcur cur;
	struct dmakit_range r;
	uint64_t first = 0, done_last = 0, vaddr;
	bool any = false;
	int ret, it;

	if (!l)
		return -EINVAL;
	if (!l->vaddr_invalid) {
		dmakit__errf(err, errlen, "vaddrs are not invalidated");
		return -EINVAL;
	}
	it = m_first(l, &cur, &r);
	while (it == 0) {
		struct dmakit_vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = DMAKIT_VFIO_DMA_MAP_FLAG_VADDR,
			.iova = r.start,
			.size = r.last - r.start + 1,
		};

		ret = rec_vaddr(l, &r, &vaddr);
		if (ret < 0) {
			dmakit__errf(err, errlen, "no memory behind mapping 0x%llx",
				     (unsigned long long)r.start);
			ret = -EINVAL;
			goto undo;
		}
		map.vaddr = vaddr;
		l->st.vaddr_calls++;
		ret = dmakit_container_map_dma(l->c, &map);
		if (ret < 0) {
			l->st.failed_calls++;
			dmakit__errf(err, errlen, "VFIO_IOMMU_MAP_DMA VADDR (0x%llx, 0x%llx, 0x%llx) "
				     "failed: %s", (unsigned long long)map.iova,
				     (unsigned long long)map.size, (unsigned long long)vaddr,
				     dmakit_strerror(ret));
			goto undo;
		}
		if (!any)
			first = r.start;
		any = true;
		done_last = r.last;
		it = m_next(&cur, &r);
	}
	l->vaddr_invalid = false;
	return 0;

undo:
	if (any) {
		struct dmakit_vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap),
			.flags = DMAKIT_VFIO_DMA_UNMAP_FLAG_VADDR,
			.iova = first,
			.size = done_last - first + 1,
		};

		l->st.rollbacks++;
		l->st.vaddr_calls++;
		if (dmakit_container_unmap_dma(l->c, &unmap) < 0) {
			l->st.failed_calls++;
			return unrecoverable(l, err, errlen);
		}
	}
	return ret;
}

DMAKIT_EXPORT int dmakit_listener_verify(struct dmakit_listener *l, char *err, size_t errlen)
{
	struct mcur cur;
	struct dmakit_range r;
	struct dmakit_mapping m;
	uint64_t addr = 0, vaddr = 0;
	int it, ret;

	if (!l)
		return -EINVAL;
	it = m_first(l, &cur, &r);
	for (;;) {
		ret = dmakit_container_seek_mapping(l->c, addr, &m);
		if (ret == -EOPNOTSUPP)
			return ret;
		if (ret < 0 && ret != -ENOENT)
			return ret;
		if (ret == -ENOENT || it != 0) {
			if (ret == -ENOENT && it != 0)
				return 0;
			if (ret == -ENOENT) {
				dmakit__errf(err, errlen, "recorded 0x%llx+0x%llx is not mapped",
					     (unsigned long long)r.start,
					     (unsigned long long)(r.last - r.start + 1));
			} else {
				dmakit__errf(err, errlen, "0x%llx+0x%llx is mapped but not recorded",
					     (unsigned long long)m.iova, (unsigned long long)m.size);
			}
			return -EUCLEAN;
		}
		if (m.iova != r.start || m.size != r.last - r.start + 1) {
			dmakit__errf(err, errlen, "container has 0x%llx+0x%llx where 0x%llx+0x%llx "
				     "is recorded", (unsigned long long)m.iova,
				     (unsigned long long)m.size, (unsigned long long)r.start,
				     (unsigned long long)(r.last - r.start + 1));
			return -EUCLEAN;
		}
		if (m.flags != (DMAKIT_VFIO_DMA_MAP_FLAG_READ |
				((r.value & REC_RO) ? 0 : DMAKIT_VFIO_DMA_MAP_FLAG_WRITE))) {
			dmakit__errf(err, errlen, "0x%llx has flags 0x%x", (unsigned long long)m.iova,
				     m.flags);
			return -EUCLEAN;
		}
		if (m.vaddr_valid == l->vaddr_invalid) {
			dmakit__errf(err, errlen, "0x%llx: vaddr %svalid", (unsigned long long)m.iova,
				     m.vaddr_valid ? "" : "in");
			return -EUCLEAN;
		}
		if (!l->vaddr_invalid &&
		    (rec_vaddr(l, &r, &vaddr) < 0 || vaddr != m.vaddr)) {
			dmakit__errf(err, errlen, "0x%llx: vaddr 0x%llx, the model says 0x%llx",
				     (unsigned long long)m.iova, (unsigned long long)m.vaddr,
				     (unsigned long long)vaddr);
			return -EUCLEAN;
		}
		if (r.last == UINT64_MAX)
			return 0;
		addr = r.last + 1;
		it = m_next(&cur, &r);
	}
}

void dmakit__listener_set_min_iommu_page(struct dmakit_listener *l, uint64_t page)
{
	l->min_iommu_page = page;
}
