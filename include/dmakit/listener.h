/* SPDX-License-Identifier: MIT */
/*
 * dmakit listener: keeps one container's DMA mappings equal to what a
 * strategy says the guest memory model (guest_memory.h, discard.h) needs.
 *
 * A listener owns one container (either backend) and listens to one address
 * space (the device's DMA address space: the guest's system memory, or one
 * holding a vIOMMU region). After every event that completes, the container
 * holds exactly the mappings the strategy derives from the model; after an
 * event that fails, exactly the mappings (and DMA_AVAIL) it held before.
 *
 * Strategy `qemu` (the default) applies QEMU's hw/vfio/listener.c rules:
 *   - skip a section that is neither RAM nor IOMMU, protected RAM, or at a
 *     gpa with bit 63 set (a 64-bit BAR being sized);
 *   - skip a section whose gpa and region offset differ within a host page
 *     ("received unaligned region");
 *   - map [ALIGN_UP(gpa), ALIGN_DOWN(gpa + size)) in host pages; nothing if
 *     that is empty;
 *   - a plain RAM section: ONE mapping, READ only if read-only, else
 *     READ|WRITE;
 *   - a RAM-device section (a BAR): skipped unless its iova and size are
 *     multiples of the container's minimum IOMMU page; a failed map is not
 *     an error (the section is kept unmapped and counted in the stats);
 *   - a discard-managed section: ONE mapping per granule of each populated
 *     run, the chunks aligned to the granularity in REGION offsets; a
 *     populate that fails part-way is undone by ONE unmap over the populated
 *     part of the section; a discard is ONE unmap over it;
 *   - a vIOMMU section: one mapping per IOTLB map event (iova + gpa -
 *     offset_in_region), one unmap per unmap event; the section's removal
 *     unmaps its whole range at once;
 *   - the budget check, each time a discard-managed section is registered:
 *         sum over all discard-managed sections of
 *             (ROUND_UP(gpa + size, g) - ALIGN_DOWN(gpa, g)) / g
 *         + max_memslots - number of discard-managed sections
 *         > dma_max_mappings   => refused (-ENOSPC)
 *     (granules counted in ADDRESS-SPACE coordinates, as QEMU does, with
 *     64-bit arithmetic), skipped when dma_max_mappings is 0. It runs before
 *     the section's populated granules are mapped (QEMU maps first and then
 *     checks; the state after a refusal is the same, without the wasted
 *     calls).
 *
 * Strategy `exact`: the same mappings; the check uses the true peak number
 * of mappings this layout can need, run at every section that maps:
 *     mapped plain sections + every granule chunk of every discard-managed
 *     section + viommu_bound per vIOMMU section   > dma_max_mappings.
 * dmakit_listener_budget() returns both numbers, so a caller sees where the
 * estimate and the truth part.
 *
 * Strategy `coalesce` (opt-in, NEVER the default): in a discard-managed
 * section, each maximal run of populated granules is ONE mapping. Its cost,
 * stated plainly: type1 cannot extend a mapping nor unmap part of one
 * (v2 refuses to bisect, v1 removes it whole), so
 *   - a discard inside a coalesced mapping unmaps the whole mapping and maps
 *     back the parts that stay populated;
 *   - a populate next to a coalesced mapping unmaps the neighbour(s) and maps
 *     the merged run;
 * and during that window memory the guest still owns and a device may be
 * using is NOT MAPPED: DMA to it faults in the IOMMU. The listener counts
 * every window (pages left unmapped, backend calls issued) in its stats.
 * The check uses the peak of this layout: plain sections + ceil(chunks / 2)
 * per discard-managed section (alternate granules populated) + viommu_bound
 * per vIOMMU section.
 *
 * Where dma_max_mappings comes from: the backend's DMA_AVAIL capability,
 * read once at creation with dmakit_container_query_info() (so it is what is
 * available when the listener starts, as QEMU reads it in setup()); when the
 * capability is absent, 65535 as QEMU assumes, or 0 (unchecked: "no
 * limiting", as the maintainers suggested) with
 * DMAKIT_DMA_LIMIT_QUERY_ABSENT_UNLIMITED; or a fixed value
 * (DMAKIT_DMA_LIMIT_FIXED; 0 = unchecked, as for iommufd).
 *
 * Initialisation versus run time. At creation every section of the address
 * space is replayed; the first refusal fails the creation, every mapping
 * made is removed, and the message reads "memory listener initialization
 * failed: Region NAME: ...". After creation a refusal (a hotplugged section,
 * a virtio-mem memslot going active) refuses that change only and leaves
 * the state as it was. QEMU >= 10.2 aborts the process there instead.
 *
 * CPR (cpr-exec / cpr-transfer of a type1 container): cpr_save invalidates
 * every vaddr at once (UNMAP_DMA with VADDR|ALL: the IOMMU keeps mapping,
 * the pages stay pinned); after the regions' new host addresses are set
 * (dmakit_mr_set_hva()), cpr_restore gives every mapping its new vaddr with
 * MAP_DMA VADDR, in the identical chunking (the kernel demands the same
 * iova and size). While invalidated, every event is refused with -EBUSY.
 *
 * Failure atomicity: every failure, of a backend call or of an allocation,
 * is undone before the call returns: the container then holds the same
 * mappings with the same vaddrs and flags, and the same DMA_AVAIL, as before
 * the event. Undoing needs backend calls of its own; if one of those fails
 * too (two failures in one event), the listener reports -ENOTRECOVERABLE
 * and the stats count it.
 *
 * The listener assumes it is the only user of its container: a section
 * removal unmaps the section's whole iova range.
 *
 * Thread safety: none of its own; it runs in the thread that drives the
 * guest memory model (guest_memory.h). Destroy listeners before the address
 * space, the discard managers and the regions they listen to.
 */
#ifndef DMAKIT_LISTENER_H
#define DMAKIT_LISTENER_H

#include <dmakit/common.h>
#include <dmakit/container.h>
#include <dmakit/guest_memory.h>

#ifdef __cplusplus
extern "C" {
#endif

enum dmakit_listener_strategy {
	DMAKIT_LISTENER_QEMU = 0,     /* QEMU's rules and check (default) */
	DMAKIT_LISTENER_EXACT = 1,    /* QEMU's mappings, the true peak in the check */
	DMAKIT_LISTENER_COALESCE = 2, /* one mapping per populated run (opt-in) */
};

enum dmakit_dma_limit_source {
	/* DMA_AVAIL from the backend; 65535 if the capability is absent. */
	DMAKIT_DMA_LIMIT_QUERY = 0,
	/* DMA_AVAIL from the backend; unchecked (0) if absent. */
	DMAKIT_DMA_LIMIT_QUERY_ABSENT_UNLIMITED = 1,
	/* config.dma_max_mappings as given; 0: unchecked. */
	DMAKIT_DMA_LIMIT_FIXED = 2,
};

/* QEMU's value when DMA_AVAIL is absent (and vfio-user's default). */
#define DMAKIT_QEMU_DEFAULT_DMA_MAX_MAPPINGS 65535u
/* kvm_get_max_memslots() on x86_64 (KVM_CAP_NR_MEMSLOTS). */
#define DMAKIT_KVM_X86_MAX_MEMSLOTS 32764u
/* QEMU's max_memslots without KVM (TCG). */
#define DMAKIT_TCG_MAX_MEMSLOTS 512u

struct dmakit_listener_config {
	enum dmakit_listener_strategy strategy;
	uint32_t max_memslots;          /* default 32764 (x86 KVM) */
	enum dmakit_dma_limit_source dma_limit_source;
	uint32_t dma_max_mappings;      /* FIXED only */
	uint64_t host_page_size;        /* bytes, a power of two >= 4096; default 4096 */
	/* exact / coalesce: mappings one vIOMMU section may hold at once. */
	uint64_t viommu_bound;          /* default 0 */
};

/** dmakit_listener_config_init() - the defaults: qemu, 32764, QUERY, 4096. */
DMAKIT_EXPORT void dmakit_listener_config_init(struct dmakit_listener_config *cfg);

struct dmakit_listener;

/**
 * dmakit_listener_create() - read the container's page sizes and DMA_AVAIL,
 * register on @as and map what every current section needs.
 * @c: a container with its IOMMU set. On success the listener owns it (and
 * closes it in dmakit_listener_destroy()); on failure the caller keeps it,
 * holding exactly what it held before.
 * @cfg: NULL for the defaults.
 * @returns 0 with *@out set; -EINVAL (bad config); -ENOMEM; the backend's
 * -errno; a section's refusal (-ENOSPC for the budget check), with @err
 * reading "memory listener initialization failed: Region NAME: ...".
 */
DMAKIT_EXPORT int dmakit_listener_create(struct dmakit_container *c,
					 struct dmakit_address_space *as,
					 const struct dmakit_listener_config *cfg,
					 struct dmakit_listener **out, char *err, size_t errlen);

/**
 * dmakit_listener_destroy() - unregister (every section removed: its
 * mappings unmapped; failures ignored) and close the container. NULL is fine.
 */
DMAKIT_EXPORT void dmakit_listener_destroy(struct dmakit_listener *l);

/** dmakit_listener_container() - @returns the container the listener drives
 * (still owned by the listener). */
DMAKIT_EXPORT struct dmakit_container *dmakit_listener_container(struct dmakit_listener *l);

/* The budget of the current layout under both formulas. */
struct dmakit_listener_budget {
	uint32_t dma_max_mappings;    /* what the check compares with; 0: unchecked */
	bool dma_avail_reported;      /* the backend reported DMA_AVAIL */
	uint32_t dma_avail_at_start;  /* what it reported (valid if reported) */
	uint32_t max_memslots;
	uint64_t rdm_sections;        /* discard-managed sections (QEMU's vrdl_count) */
	uint64_t rdm_granules_as;     /* their granules, address-space coordinates */
	uint64_t qemu_estimate;       /* rdm_granules_as + max_memslots - rdm_sections */
	uint64_t plain_mappings;      /* sections mapped whole (RAM, RAM device) */
	uint64_t rdm_chunks;          /* their granule chunks, region coordinates */
	uint64_t rdm_coalesced_peak;  /* sum of ceil(chunks / 2) */
	uint64_t iommu_sections;
	uint64_t exact_peak;          /* plain + rdm_chunks + viommu_bound * iommu */
	uint64_t coalesce_peak;       /* plain + rdm_coalesced_peak + viommu_bound * iommu */
	uint64_t live_mappings;       /* mapped now */
	bool qemu_check_fails;        /* qemu_estimate > dma_max_mappings (checked) */
	bool exact_check_fails;       /* exact_peak > dma_max_mappings (checked) */
};

/** dmakit_listener_budget() - fill @out for the current layout. @returns 0. */
DMAKIT_EXPORT int dmakit_listener_budget(const struct dmakit_listener *l,
					 struct dmakit_listener_budget *out);

struct dmakit_listener_stats {
	uint64_t live_mappings;  /* mappings the listener holds in the container */
	uint64_t mapped_bytes;
	uint64_t map_calls;      /* MAP_DMA issued (including failed ones) */
	uint64_t unmap_calls;    /* UNMAP_DMA issued */
	uint64_t vaddr_calls;    /* CPR: MAP_DMA VADDR and UNMAP_DMA VADDR issued */
	uint64_t failed_calls;   /* backend calls that failed */
	uint64_t rollbacks;      /* events undone after a failure */
	uint64_t unrecoverable;  /* undo that failed too (-ENOTRECOVERABLE) */
	uint64_t check_refusals; /* sections refused by the budget check */
	uint64_t ram_device_map_failures; /* non-fatal BAR map failures */
	uint64_t skipped_sections; /* sections seen and not mapped (any reason) */
	/* coalesce windows: an operation that unmapped memory still populated */
	uint64_t window_events;       /* all windows */
	uint64_t window_split_events; /* discard inside a coalesced mapping */
	uint64_t window_merge_events; /* populate next to a coalesced mapping */
	uint64_t window_pages_total;  /* host pages left unmapped, summed */
	uint64_t window_pages_max;    /* the largest single window, host pages */
	uint64_t window_ops_total;    /* backend calls issued by those operations */
	uint64_t window_ops_max;      /* the most by one operation */
	uint64_t last_window_pages;   /* the most recent window */
	uint64_t last_window_ops;
};

/** dmakit_listener_stats() - fill @out. @returns 0. */
DMAKIT_EXPORT int dmakit_listener_stats(const struct dmakit_listener *l,
					struct dmakit_listener_stats *out);

/* What the listener did with a section (its first matching rule). */
enum dmakit_section_disposition {
	DMAKIT_SECTION_UNKNOWN = 0,          /* no such section */
	DMAKIT_SECTION_SKIP_NOT_RAM,         /* neither RAM nor IOMMU */
	DMAKIT_SECTION_SKIP_PROTECTED,       /* RAM_PROTECTED */
	DMAKIT_SECTION_SKIP_BIT63,           /* gpa has bit 63 set */
	DMAKIT_SECTION_SKIP_MISALIGNED,      /* gpa and offset differ in a host page */
	DMAKIT_SECTION_SKIP_MISALIGNED_SAFE, /* the same, a known-safe region */
	DMAKIT_SECTION_SKIP_EMPTY,           /* nothing left after host-page alignment */
	DMAKIT_SECTION_SKIP_RAM_DEVICE_ALIGN, /* BAR not aligned to the min IOMMU page */
	DMAKIT_SECTION_RAM_DEVICE_UNMAPPED,  /* BAR whose map failed (non-fatal) */
	DMAKIT_SECTION_RAM_DEVICE,           /* BAR: one mapping */
	DMAKIT_SECTION_PLAIN,                /* RAM: one mapping */
	DMAKIT_SECTION_DISCARD_MANAGED,      /* per granule (or per run: coalesce) */
	DMAKIT_SECTION_IOMMU,                /* per IOTLB event */
};

struct dmakit_listener_section_info {
	enum dmakit_section_disposition disposition;
	uint64_t iova;        /* first mapped address (after alignment) */
	uint64_t size;        /* bytes after alignment (0 if skipped before it) */
	uint64_t granularity; /* discard-managed only */
	uint64_t mappings;    /* mappings it holds now */
};

/**
 * dmakit_listener_section_info() - what the listener did with the section of
 * its address space that starts at @gpa.
 * @returns 0 with @out filled, or -ENOENT.
 */
DMAKIT_EXPORT int dmakit_listener_section_info(const struct dmakit_listener *l, uint64_t gpa,
					       struct dmakit_listener_section_info *out);

/**
 * dmakit_listener_cpr_save() - CPR, before the process goes: UNMAP_DMA with
 * VADDR|ALL (iova 0, size 0). Needs VFIO_UPDATE_VADDR and VFIO_UNMAP_ALL.
 * @returns 0; -EOPNOTSUPP (extensions missing); -EALREADY (already saved);
 * the backend's -errno (nothing changed).
 */
DMAKIT_EXPORT int dmakit_listener_cpr_save(struct dmakit_listener *l, char *err,
					   size_t errlen);

/**
 * dmakit_listener_cpr_restore() - CPR, in the new process (or the old one
 * recovering): MAP_DMA with VADDR for every mapping, ascending iova, with
 * the vaddr the regions' host addresses give now.
 * @returns 0; -EINVAL (nothing saved); the backend's -errno: then the
 * mappings already given a vaddr by this call are invalidated again (one
 * UNMAP_DMA VADDR over them), so every mapping is vaddr-invalid as before
 * and the call may be retried. (The kernel keeps the stale vaddr of an
 * invalidated mapping; it is never used nor reported.)
 */
DMAKIT_EXPORT int dmakit_listener_cpr_restore(struct dmakit_listener *l, char *err,
					      size_t errlen);

/**
 * dmakit_listener_verify() - compare the listener's own record of its
 * mappings with the container's (dmakit_container_seek_mapping()): iova,
 * size, vaddr, flags and vaddr validity, and nothing else mapped.
 * @returns 0; -EUCLEAN with the first difference in @err; -EOPNOTSUPP on a
 * backend that cannot list its mappings.
 */
DMAKIT_EXPORT int dmakit_listener_verify(struct dmakit_listener *l, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_LISTENER_H */
