/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the guest memory model (guest_memory.c), the discard
 * managers (discard.c, virtio_mem.c, guest_memfd.c) and the listener
 * (listener.c). Nothing here is exported.
 */
#ifndef DMAKIT_GUEST_MEMORY_INTERNAL_H
#define DMAKIT_GUEST_MEMORY_INTERNAL_H

#include <stdarg.h>

#include <dmakit/discard.h>
#include <dmakit/guest_memory.h>
#include <dmakit/range_table.h>

struct dmakit_memory_region {
	char *name;
	enum dmakit_mr_kind kind;
	uint64_t size;
	uint64_t hva;
	bool readonly;
	bool protected_ram;
	bool known_safe_misalignment;
	struct dmakit_discard_manager *dm; /* at most one */
	unsigned int nr_sections;          /* sections showing it, in any AS */
	/* IOMMU only */
	struct dmakit_address_space *iommu_target;
	bool refuses_map_notifiers;
	struct dmakit_range_table *iotlb;  /* iova -> translated | perm */
	struct dmakit_iommu_notifier *notifiers;
};

/*
 * The common part of every discard manager: a bitmap with one bit per
 * granule of the region (1 = populated), and the listeners.
 */
struct dmakit_discard_manager {
	enum dmakit_discard_kind kind;
	struct dmakit_memory_region *mr;
	uint64_t granularity;   /* bytes, a power of two */
	uint64_t nbits;         /* DIV_ROUND_UP(region size, granularity) */
	uint64_t *bitmap;
	struct dmakit_discard_listener *listeners; /* registration order */
};

/* ------------------------------------------------------------------------ */
/* Messages                                                                    */

/* Write a message into @err (NUL-terminated, truncated); NULL/0 is fine. */
void dmakit__errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Put "<prefix>" in front of what @err holds. */
void dmakit__err_prefix(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------------ */
/* Discard-manager internals (discard.c)                                       */

int dmakit__dm_init(struct dmakit_discard_manager *dm, enum dmakit_discard_kind kind,
		    struct dmakit_memory_region *mr, uint64_t granularity);
void dmakit__dm_fini(struct dmakit_discard_manager *dm);

bool dmakit__bit_test(const struct dmakit_discard_manager *dm, uint64_t bit);
void dmakit__bits_set(struct dmakit_discard_manager *dm, uint64_t first, uint64_t count);
void dmakit__bits_clear(struct dmakit_discard_manager *dm, uint64_t first, uint64_t count);
/* All bits of [first, first + count) set (@want) or clear (!@want). */
bool dmakit__bits_all(const struct dmakit_discard_manager *dm, uint64_t first, uint64_t count,
		      bool want);
uint64_t dmakit__bits_weight(const struct dmakit_discard_manager *dm);

/*
 * Tell every listener whose section meets the region range [offset, offset +
 * size) to populate (discard) its part. On a refusal the listeners already
 * told are told the reverse (a discard; for a discard, the populated runs of
 * their part again, from the bitmap, which the caller has not changed yet),
 * and the refusal is returned.
 */
int dmakit__dm_notify_populate(struct dmakit_discard_manager *dm, uint64_t offset,
			       uint64_t size, char *err, size_t errlen);
int dmakit__dm_notify_discard(struct dmakit_discard_manager *dm, uint64_t offset,
			      uint64_t size, char *err, size_t errlen);
/* Every listener's whole section discarded once (double discard). */
int dmakit__dm_notify_discard_all(struct dmakit_discard_manager *dm, char *err, size_t errlen);

/* Unlink @dl without telling it anything (teardown after a refused removal). */
void dmakit__dm_drop_listener(struct dmakit_discard_listener *dl);

/* The number of sections of @dm's region that listeners listen to. */
unsigned int dmakit__dm_listener_count(const struct dmakit_discard_manager *dm);

/* ------------------------------------------------------------------------ */
/* Small arithmetic                                                            */

static inline bool dmakit__is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static inline uint64_t dmakit__align_down(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}

#endif /* DMAKIT_GUEST_MEMORY_INTERNAL_H */
