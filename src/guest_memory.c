/* SPDX-License-Identifier: MIT */
/*
 * The guest memory model (include/dmakit/guest_memory.h): memory regions,
 * address spaces of sections, memory listeners and vIOMMU regions.
 *
 * Model and invariants, true between calls:
 *   - an address space's sections are kept sorted by gpa in one array and
 *     never overlap; each lies inside its region;
 *   - region->nr_sections counts the sections that show it, in every AS;
 *   - every registered listener has accepted (region_add) every section of
 *     its AS and nothing else;
 *   - an IOMMU region's iotlb holds the guest's translations, which never
 *     overlap, and every notifier has accepted the ones in its range that
 *     were made (or replayed to it) after it registered.
 *
 * Events are all-or-nothing: the array grows BEFORE listeners are told (the
 * only allocation of a section add), a listener's refusal is undone on the
 * listeners already told, in reverse order, and only a fully accepted event
 * changes the model. Undoing can itself be refused (a second failure); the
 * listener then reports it, this layer goes on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <dmakit/guest_memory.h>

#include "alloc.h"
#include "guest_memory_internal.h"

struct dmakit_address_space {
	char *name;
	struct dmakit_section *secs; /* sorted by gpa */
	size_t nr, cap;
	struct dmakit_memory_listener *listeners; /* registration order */
};

/* ------------------------------------------------------------------------ */
/* Messages                                                                    */

void dmakit__errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void dmakit__err_prefix(char *err, size_t errlen, const char *fmt, ...)
{
	char prefix[256];
	size_t plen, old;
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	plen = strlen(prefix);
	if (plen >= errlen)
		plen = errlen - 1;
	old = strnlen(err, errlen - 1);
	if (old > errlen - 1 - plen)
		old = errlen - 1 - plen;
	memmove(err + plen, err, old);
	memcpy(err, prefix, plen);
	err[plen + old] = '\0';
}

static char *dup_name(const char *name, const char *dflt)
{
	const char *src = name ? name : dflt;
	size_t len = strlen(src) + 1;
	char *copy = dmakit__malloc(len);

	if (copy)
		memcpy(copy, src, len);
	return copy;
}

/* ------------------------------------------------------------------------ */
/* Memory regions                                                              */

DMAKIT_EXPORT void dmakit_mr_config_init(struct dmakit_mr_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->kind = DMAKIT_MR_RAM;
}

static bool is_ram_kind(enum dmakit_mr_kind kind)
{
	return kind == DMAKIT_MR_RAM || kind == DMAKIT_MR_RAM_DEVICE;
}

DMAKIT_EXPORT int dmakit_mr_create(const struct dmakit_mr_config *cfg,
				   struct dmakit_memory_region **out)
{
	struct dmakit_memory_region *mr;
	uint64_t hlast;

	if (!cfg || !out || !cfg->size)
		return -EINVAL;
	switch (cfg->kind) {
	case DMAKIT_MR_MMIO:
		break;
	case DMAKIT_MR_RAM:
	case DMAKIT_MR_RAM_DEVICE:
		if (__builtin_add_overflow(cfg->hva, cfg->size - 1, &hlast))
			return -EINVAL;
		break;
	case DMAKIT_MR_IOMMU:
		if (!cfg->iommu_target)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	mr = dmakit__calloc(1, sizeof(*mr));
	if (!mr)
		return -ENOMEM;
	mr->name = dup_name(cfg->name, "(unnamed)");
	if (!mr->name)
		goto nomem;
	if (cfg->kind == DMAKIT_MR_IOMMU) {
		mr->iotlb = dmakit_range_table_create();
		if (!mr->iotlb)
			goto nomem;
		mr->iommu_target = cfg->iommu_target;
		mr->refuses_map_notifiers = cfg->iommu_refuses_map_notifiers;
	}
	mr->kind = cfg->kind;
	mr->size = cfg->size;
	mr->hva = is_ram_kind(cfg->kind) ? cfg->hva : 0;
	mr->readonly = cfg->readonly;
	mr->protected_ram = cfg->protected_ram;
	mr->known_safe_misalignment = cfg->known_safe_misalignment;
	*out = mr;
	return 0;

nomem:
	dmakit__free(mr->name);
	dmakit__free(mr);
	return -ENOMEM;
}

DMAKIT_EXPORT int dmakit_mr_destroy(struct dmakit_memory_region *mr)
{
	if (!mr)
		return 0;
	if (mr->nr_sections || mr->dm || mr->notifiers)
		return -EBUSY;
	dmakit_range_table_destroy(mr->iotlb);
	dmakit__free(mr->name);
	dmakit__free(mr);
	return 0;
}

DMAKIT_EXPORT const char *dmakit_mr_name(const struct dmakit_memory_region *mr)
{
	return mr->name;
}

DMAKIT_EXPORT enum dmakit_mr_kind dmakit_mr_kind(const struct dmakit_memory_region *mr)
{
	return mr->kind;
}

DMAKIT_EXPORT uint64_t dmakit_mr_size(const struct dmakit_memory_region *mr)
{
	return mr->size;
}

DMAKIT_EXPORT uint64_t dmakit_mr_hva(const struct dmakit_memory_region *mr)
{
	return mr->hva;
}

DMAKIT_EXPORT int dmakit_mr_set_hva(struct dmakit_memory_region *mr, uint64_t hva)
{
	uint64_t hlast;

	if (!mr || !is_ram_kind(mr->kind) || __builtin_add_overflow(hva, mr->size - 1, &hlast))
		return -EINVAL;
	mr->hva = hva;
	return 0;
}

DMAKIT_EXPORT struct dmakit_discard_manager *
dmakit_mr_discard_manager(const struct dmakit_memory_region *mr)
{
	return mr->dm;
}

/* ------------------------------------------------------------------------ */
/* Address spaces                                                              */

DMAKIT_EXPORT int dmakit_as_create(const char *name, struct dmakit_address_space **out)
{
	struct dmakit_address_space *as;

	if (!out)
		return -EINVAL;
	as = dmakit__calloc(1, sizeof(*as));
	if (!as)
		return -ENOMEM;
	as->name = dup_name(name, "(unnamed)");
	if (!as->name) {
		dmakit__free(as);
		return -ENOMEM;
	}
	*out = as;
	return 0;
}

DMAKIT_EXPORT const char *dmakit_as_name(const struct dmakit_address_space *as)
{
	return as->name;
}

static uint64_t sec_last(const struct dmakit_section *s)
{
	return s->gpa + (s->size - 1);
}

/* Index of the first section whose gpa is > @gpa (binary search). */
static size_t upper_index(const struct dmakit_address_space *as, uint64_t gpa)
{
	size_t lo = 0, hi = as->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (as->secs[mid].gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void remove_section_at(struct dmakit_address_space *as, size_t idx)
{
	as->secs[idx].mr->nr_sections--;
	memmove(&as->secs[idx], &as->secs[idx + 1], (as->nr - idx - 1) * sizeof(as->secs[0]));
	as->nr--;
}

/* The listener before @ml in @as's list, or NULL. */
static struct dmakit_memory_listener *prev_listener(struct dmakit_address_space *as,
						    struct dmakit_memory_listener *ml)
{
	struct dmakit_memory_listener *p;

	for (p = as->listeners; p && p->next_ != ml; p = p->next_)
		;
	return p;
}

DMAKIT_EXPORT int dmakit_as_add_section(struct dmakit_address_space *as,
					const struct dmakit_section *s,
					char *err, size_t errlen)
{
	struct dmakit_memory_listener *ml, *undo;
	struct dmakit_section sec;
	uint64_t last, rlast;
	size_t idx;
	int ret;

	if (!as || !s || !s->mr || !s->size) {
		dmakit__errf(err, errlen, "invalid section");
		return -EINVAL;
	}
	if (__builtin_add_overflow(s->gpa, s->size - 1, &last) ||
	    __builtin_add_overflow(s->offset_in_region, s->size - 1, &rlast) ||
	    rlast >= s->mr->size) {
		dmakit__errf(err, errlen, "section [0x%llx, +0x%llx) at region offset 0x%llx "
			     "wraps or leaves region %s (0x%llx bytes)",
			     (unsigned long long)s->gpa, (unsigned long long)s->size,
			     (unsigned long long)s->offset_in_region, s->mr->name,
			     (unsigned long long)s->mr->size);
		return -EINVAL;
	}
	idx = upper_index(as, s->gpa);
	if ((idx > 0 && sec_last(&as->secs[idx - 1]) >= s->gpa) ||
	    (idx < as->nr && as->secs[idx].gpa <= last)) {
		dmakit__errf(err, errlen, "section at 0x%llx overlaps another in %s",
			     (unsigned long long)s->gpa, as->name);
		return -EEXIST;
	}
	if (as->nr == as->cap) {
		size_t ncap = as->cap ? as->cap * 2 : 8;
		struct dmakit_section *grown = dmakit__realloc(as->secs, ncap * sizeof(*grown));

		if (!grown) {
			dmakit__errf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		as->secs = grown;
		as->cap = ncap;
	}
	sec = *s;
	sec.readonly = s->readonly || s->mr->readonly;

	for (ml = as->listeners; ml; ml = ml->next_) {
		ret = ml->ops->region_add(ml, &sec, err, errlen);
		if (ret < 0) {
			/* Undo on the listeners already told, newest first. */
			for (undo = prev_listener(as, ml); undo; undo = prev_listener(as, undo))
				undo->ops->region_del(undo, &sec, NULL, 0);
			dmakit__err_prefix(err, errlen, "Region %s: ", sec.mr->name);
			return ret;
		}
	}
	memmove(&as->secs[idx + 1], &as->secs[idx], (as->nr - idx) * sizeof(as->secs[0]));
	as->secs[idx] = sec;
	as->nr++;
	sec.mr->nr_sections++;
	return 0;
}

DMAKIT_EXPORT int dmakit_as_del_section(struct dmakit_address_space *as, uint64_t gpa,
					char *err, size_t errlen)
{
	struct dmakit_memory_listener *ml, *undo;
	struct dmakit_section sec;
	size_t idx;
	int ret;

	if (!as)
		return -EINVAL;
	idx = upper_index(as, gpa);
	if (idx == 0 || as->secs[idx - 1].gpa != gpa) {
		dmakit__errf(err, errlen, "no section starts at 0x%llx in %s",
			     (unsigned long long)gpa, as->name);
		return -ENOENT;
	}
	idx--;
	sec = as->secs[idx];
	/* region_del in reverse registration order. */
	for (ml = as->listeners; ml && ml->next_; ml = ml->next_)
		;
	for (; ml; ml = prev_listener(as, ml)) {
		ret = ml->ops->region_del(ml, &sec, err, errlen);
		if (ret < 0) {
			for (undo = ml->next_; undo; undo = undo->next_)
				undo->ops->region_add(undo, &sec, NULL, 0);
			dmakit__err_prefix(err, errlen, "Region %s: ", sec.mr->name);
			return ret;
		}
	}
	remove_section_at(as, idx);
	return 0;
}

DMAKIT_EXPORT size_t dmakit_as_section_count(const struct dmakit_address_space *as)
{
	return as->nr;
}

DMAKIT_EXPORT int dmakit_as_section(const struct dmakit_address_space *as, size_t index,
				    struct dmakit_section *out)
{
	if (index >= as->nr)
		return -ENOENT;
	*out = as->secs[index];
	return 0;
}

DMAKIT_EXPORT int dmakit_as_find_section(const struct dmakit_address_space *as, uint64_t gpa,
					 struct dmakit_section *out)
{
	size_t idx = upper_index(as, gpa);

	if (idx == 0 || sec_last(&as->secs[idx - 1]) < gpa)
		return -ENOENT;
	if (out)
		*out = as->secs[idx - 1];
	return 0;
}

DMAKIT_EXPORT int dmakit_as_register_listener(struct dmakit_address_space *as,
					      struct dmakit_memory_listener *ml,
					      char *err, size_t errlen)
{
	struct dmakit_memory_listener **tail;
	size_t i;
	int ret;

	if (!as || !ml || !ml->ops || ml->as_)
		return -EINVAL;
	for (i = 0; i < as->nr; i++) {
		ret = ml->ops->region_add(ml, &as->secs[i], err, errlen);
		if (ret < 0) {
			size_t j = i;

			dmakit__err_prefix(err, errlen, "Region %s: ", as->secs[i].mr->name);
			while (j-- > 0)
				ml->ops->region_del(ml, &as->secs[j], NULL, 0);
			return ret;
		}
	}
	ml->as_ = as;
	ml->next_ = NULL;
	for (tail = &as->listeners; *tail; tail = &(*tail)->next_)
		;
	*tail = ml;
	return 0;
}

DMAKIT_EXPORT void dmakit_as_unregister_listener(struct dmakit_memory_listener *ml)
{
	struct dmakit_address_space *as;
	struct dmakit_memory_listener **pp;
	size_t i;

	if (!ml || !ml->as_)
		return;
	as = ml->as_;
	for (i = as->nr; i-- > 0;)
		ml->ops->region_del(ml, &as->secs[i], NULL, 0);
	for (pp = &as->listeners; *pp; pp = &(*pp)->next_) {
		if (*pp == ml) {
			*pp = ml->next_;
			break;
		}
	}
	ml->as_ = NULL;
	ml->next_ = NULL;
}

DMAKIT_EXPORT void dmakit_as_destroy(struct dmakit_address_space *as)
{
	if (!as)
		return;
	while (as->listeners)
		dmakit_as_unregister_listener(as->listeners);
	while (as->nr)
		remove_section_at(as, as->nr - 1);
	dmakit__free(as->secs);
	dmakit__free(as->name);
	dmakit__free(as);
}

/* ------------------------------------------------------------------------ */
/* vIOMMU regions                                                              */

#define IOTLB_PERM_MASK 0x3ull

DMAKIT_EXPORT int dmakit_iommu_register_notifier(struct dmakit_memory_region *mr,
						 struct dmakit_iommu_notifier *n,
						 char *err, size_t errlen)
{
	struct dmakit_iommu_notifier **tail;

	if (!mr || !n || !n->notify || mr->kind != DMAKIT_MR_IOMMU || n->first > n->last ||
	    n->mr_)
		return -EINVAL;
	if (mr->refuses_map_notifiers) {
		dmakit__errf(err, errlen, "%s refuses MAP notifiers (intel-iommu: set "
			     "caching-mode=on to enable device assignment)", mr->name);
		return -EPERM;
	}
	n->mr_ = mr;
	n->next_ = NULL;
	for (tail = &mr->notifiers; *tail; tail = &(*tail)->next_)
		;
	*tail = n;
	return 0;
}

DMAKIT_EXPORT void dmakit_iommu_unregister_notifier(struct dmakit_iommu_notifier *n)
{
	struct dmakit_iommu_notifier **pp;

	if (!n || !n->mr_)
		return;
	for (pp = &n->mr_->notifiers; *pp; pp = &(*pp)->next_) {
		if (*pp == n) {
			*pp = n->next_;
			break;
		}
	}
	n->mr_ = NULL;
	n->next_ = NULL;
}

static void entry_of(const struct dmakit_range *r, struct dmakit_iotlb_entry *e)
{
	e->iova = r->start;
	e->addr_mask = r->last - r->start;
	e->translated_addr = r->value & ~IOTLB_PERM_MASK;
	e->perm = (uint32_t)(r->value & IOTLB_PERM_MASK);
}

static bool notifier_meets(const struct dmakit_iommu_notifier *n, uint64_t first, uint64_t last)
{
	return n->first <= last && first <= n->last;
}

/* Unmap, on @n, the translations of @mr it was told of in [first, upto]. */
static void replay_undo(struct dmakit_memory_region *mr, struct dmakit_iommu_notifier *n,
			uint64_t first, uint64_t upto)
{
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	int ret;

	ret = dmakit_range_table_seek(mr->iotlb, first, &cur, &r);
	while (ret == 0 && r.start <= upto) {
		struct dmakit_iotlb_entry e;

		entry_of(&r, &e);
		if (notifier_meets(n, r.start, r.last))
			n->notify(n, &e, false, NULL, 0);
		ret = dmakit_range_table_next(&cur, &r);
	}
}

DMAKIT_EXPORT int dmakit_iommu_replay(struct dmakit_memory_region *mr,
				      struct dmakit_iommu_notifier *n,
				      char *err, size_t errlen)
{
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	bool any = false;
	uint64_t done_upto = 0;
	int ret;

	if (!mr || !n || mr->kind != DMAKIT_MR_IOMMU)
		return -EINVAL;
	ret = dmakit_range_table_seek(mr->iotlb, n->first, &cur, &r);
	while (ret == 0 && r.start <= n->last) {
		struct dmakit_iotlb_entry e;
		int nret;

		entry_of(&r, &e);
		nret = n->notify(n, &e, true, err, errlen);
		if (nret < 0) {
			if (any)
				replay_undo(mr, n, n->first, done_upto);
			return nret;
		}
		any = true;
		done_upto = r.start;
		ret = dmakit_range_table_next(&cur, &r);
	}
	return 0;
}

static int check_iotlb_range(const struct dmakit_memory_region *mr, uint64_t iova,
			     uint64_t addr_mask, char *err, size_t errlen)
{
	uint64_t last;

	if (!mr || mr->kind != DMAKIT_MR_IOMMU || addr_mask < 0xfff ||
	    !dmakit__is_pow2(addr_mask + 1) || (iova & addr_mask) ||
	    __builtin_add_overflow(iova, addr_mask, &last) || last >= mr->size) {
		dmakit__errf(err, errlen, "invalid IOTLB range 0x%llx mask 0x%llx",
			     (unsigned long long)iova, (unsigned long long)addr_mask);
		return -EINVAL;
	}
	return 0;
}

DMAKIT_EXPORT int dmakit_iommu_notify_map(struct dmakit_memory_region *mr,
					  const struct dmakit_iotlb_entry *e,
					  char *err, size_t errlen)
{
	struct dmakit_iommu_notifier *n, *undo;
	uint64_t last;
	int ret;

	if (!e)
		return -EINVAL;
	ret = check_iotlb_range(mr, e->iova, e->addr_mask, err, errlen);
	if (ret < 0)
		return ret;
	if (e->perm == DMAKIT_IOMMU_NONE || (e->perm & ~DMAKIT_IOMMU_RW) ||
	    (e->translated_addr & e->addr_mask)) {
		dmakit__errf(err, errlen, "invalid IOTLB entry (perm %u, translated 0x%llx)",
			     e->perm, (unsigned long long)e->translated_addr);
		return -EINVAL;
	}
	last = e->iova + e->addr_mask;
	if (dmakit_range_table_first_overlap(mr->iotlb, e->iova, last, NULL) == 0) {
		dmakit__errf(err, errlen, "IOVA 0x%llx is already translated",
			     (unsigned long long)e->iova);
		return -EEXIST;
	}
	ret = dmakit_range_table_insert(mr->iotlb, e->iova, last,
					e->translated_addr | (e->perm & IOTLB_PERM_MASK));
	if (ret < 0) {
		dmakit__errf(err, errlen, "out of memory");
		return ret;
	}
	for (n = mr->notifiers; n; n = n->next_) {
		if (!notifier_meets(n, e->iova, last))
			continue;
		ret = n->notify(n, e, true, err, errlen);
		if (ret < 0) {
			for (undo = mr->notifiers; undo != n; undo = undo->next_)
				if (notifier_meets(undo, e->iova, last))
					undo->notify(undo, e, false, NULL, 0);
			dmakit_range_table_remove(mr->iotlb, e->iova, NULL);
			return ret;
		}
	}
	return 0;
}

/* Map again, on @n, the translations of @mr inside [first, last]. */
static void remap_inside(struct dmakit_memory_region *mr, struct dmakit_iommu_notifier *n,
			 uint64_t first, uint64_t last)
{
	struct dmakit_range_cursor cur;
	struct dmakit_range r;
	int ret;

	ret = dmakit_range_table_seek(mr->iotlb, first, &cur, &r);
	while (ret == 0 && r.start <= last) {
		struct dmakit_iotlb_entry e;

		entry_of(&r, &e);
		if (r.start >= first && r.last <= last && notifier_meets(n, r.start, r.last))
			n->notify(n, &e, true, NULL, 0);
		ret = dmakit_range_table_next(&cur, &r);
	}
}

DMAKIT_EXPORT int dmakit_iommu_notify_unmap(struct dmakit_memory_region *mr, uint64_t iova,
					    uint64_t addr_mask, char *err, size_t errlen)
{
	struct dmakit_iommu_notifier *n, *undo;
	struct dmakit_iotlb_entry e = { .iova = iova, .addr_mask = addr_mask,
					.perm = DMAKIT_IOMMU_NONE };
	uint64_t last;
	int ret;

	ret = check_iotlb_range(mr, iova, addr_mask, err, errlen);
	if (ret < 0)
		return ret;
	last = iova + addr_mask;
	for (n = mr->notifiers; n; n = n->next_) {
		if (!notifier_meets(n, iova, last))
			continue;
		ret = n->notify(n, &e, false, err, errlen);
		if (ret < 0) {
			for (undo = mr->notifiers; undo != n; undo = undo->next_)
				if (notifier_meets(undo, iova, last))
					remap_inside(mr, undo, iova, last);
			return ret;
		}
	}
	dmakit_range_table_remove_inside(mr->iotlb, iova, last, NULL, NULL);
	return 0;
}

DMAKIT_EXPORT int dmakit_iommu_lookup(const struct dmakit_memory_region *mr, uint64_t iova,
				      struct dmakit_iotlb_entry *out)
{
	struct dmakit_range r;

	if (!mr || mr->kind != DMAKIT_MR_IOMMU)
		return -EINVAL;
	if (dmakit_range_table_find(mr->iotlb, iova, &r) < 0)
		return -ENOENT;
	if (out)
		entry_of(&r, out);
	return 0;
}

DMAKIT_EXPORT size_t dmakit_iommu_count(const struct dmakit_memory_region *mr)
{
	return mr && mr->iotlb ? dmakit_range_table_count(mr->iotlb) : 0;
}
