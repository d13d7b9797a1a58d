/* SPDX-License-Identifier: MIT */
/*
 * dmakit guest memory: the part of a VMM's memory model a VFIO listener sees.
 *
 * Model (after QEMU's memory API, reduced to what DMA mapping needs):
 *
 *   - A *memory region* (MR) is a piece of guest memory with its own offsets
 *     0..size-1: RAM (with the host virtual address of its offset 0), RAM of
 *     a device (a mmapped BAR, for peer-to-peer), an IOMMU translation region
 *     (a vIOMMU: its offsets are IOVAs of the guest's I/O page tables), or
 *     anything else (MMIO: never mapped). RAM may be *protected* (QEMU's
 *     RAM_PROTECTED, e.g. SGX EPC) or read-only (a ROM). A RAM region may
 *     carry at most one *discard manager* (include/dmakit/discard.h:
 *     virtio-mem or guest_memfd attributes), which says which of its parts
 *     are populated.
 *
 *   - An *address space* (AS) is a flat list of non-overlapping *sections*.
 *     A section shows the bytes [offset_in_region, offset_in_region + size)
 *     of one MR at guest addresses [gpa, gpa + size). One MR may appear in
 *     several sections (QEMU's aliases: ram-below-4g / ram-above-4g, or the
 *     memslots of a virtio-mem device).
 *
 *   - *Memory listeners* registered on an AS hear of every section added or
 *     removed (region_add / region_del). Registration replays every current
 *     section in ascending gpa order, as memory_listener_register() does.
 *
 *   - The *events* that change the guest's memory: section add and remove
 *     (boot, hotplug, a virtio-mem memslot going active), populate and
 *     discard (told by a discard manager, discard.h), and vIOMMU map and
 *     unmap (dmakit_iommu_notify_map/unmap below).
 *
 * The events are transactions: when any listener refuses one (a failed DMA
 * mapping, a DMA-entry budget check), the listeners already told are told to
 * undo it, in reverse order, the model does not change, and the caller gets
 * -errno and a message. A VMM's answer to the guest (virtio-mem's BUSY, a
 * failed conversion) is built on that.
 *
 * Units: every address, offset and size is in bytes. A range is (start,
 * size); where an inclusive end is needed it is called `last`. Sizes are
 * non-zero and no range wraps past 2^64 - 1.
 *
 * Thread safety: none. One thread drives one guest memory model (QEMU's
 * big lock); the containers below have their own locks.
 *
 * Lifetime: an MR outlives the sections that show it and the discard
 * manager attached to it; an AS outlives its listeners.
 */
#ifndef DMAKIT_GUEST_MEMORY_H
#define DMAKIT_GUEST_MEMORY_H

#include <dmakit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dmakit_memory_region;
struct dmakit_address_space;
struct dmakit_discard_manager;

enum dmakit_mr_kind {
	DMAKIT_MR_MMIO = 0,       /* I/O: neither RAM nor IOMMU; listeners skip it */
	DMAKIT_MR_RAM = 1,        /* guest RAM with a host virtual address */
	DMAKIT_MR_RAM_DEVICE = 2, /* device memory mmapped in the process (a BAR) */
	DMAKIT_MR_IOMMU = 3,      /* a vIOMMU translation region */
};

struct dmakit_mr_config {
	const char *name;          /* for messages; copied; NULL: "(unnamed)" */
	enum dmakit_mr_kind kind;
	uint64_t size;             /* bytes, > 0 */
	uint64_t hva;              /* RAM, RAM_DEVICE: host virtual address of offset 0 */
	bool readonly;             /* a ROM: mapped for device READ only */
	bool protected_ram;        /* RAM_PROTECTED: never DMA-mapped */
	/* A misaligned section of this region is expected (QEMU: the TPM CRB):
	 * still skipped, but counted as traced rather than reported. */
	bool known_safe_misalignment;
	/* IOMMU only: the address space its translations land in (the guest's
	 * system memory). Required for an IOMMU region. */
	struct dmakit_address_space *iommu_target;
	/* IOMMU only: the vIOMMU refuses MAP notifiers, as intel-iommu does
	 * without caching-mode=on; registering a listener on it fails. */
	bool iommu_refuses_map_notifiers;
};

/** dmakit_mr_config_init() - zero @cfg: RAM, writable, not protected. */
DMAKIT_EXPORT void dmakit_mr_config_init(struct dmakit_mr_config *cfg);

/**
 * dmakit_mr_create() - a new memory region.
 * @returns 0 with *@out set; -EINVAL (size 0, hva + size - 1 wraps for RAM,
 * an IOMMU region without a target, an unknown kind); -ENOMEM.
 */
DMAKIT_EXPORT int dmakit_mr_create(const struct dmakit_mr_config *cfg,
				   struct dmakit_memory_region **out);

/**
 * dmakit_mr_destroy() - free @mr. It must not be shown by any section nor
 * carry a discard manager. @returns 0, or -EBUSY (nothing freed). NULL is 0.
 */
DMAKIT_EXPORT int dmakit_mr_destroy(struct dmakit_memory_region *mr);

/** dmakit_mr_name() - @returns the region's name (owned by the region). */
DMAKIT_EXPORT const char *dmakit_mr_name(const struct dmakit_memory_region *mr);
/** dmakit_mr_kind() - @returns what the region is (DMAKIT_MR_*). */
DMAKIT_EXPORT enum dmakit_mr_kind dmakit_mr_kind(const struct dmakit_memory_region *mr);
/** dmakit_mr_size() - @returns the region's size, bytes. */
DMAKIT_EXPORT uint64_t dmakit_mr_size(const struct dmakit_memory_region *mr);
/** dmakit_mr_hva() - @returns the host virtual address of offset 0 (0 for MMIO
 * and IOMMU regions). */
DMAKIT_EXPORT uint64_t dmakit_mr_hva(const struct dmakit_memory_region *mr);

/**
 * dmakit_mr_set_hva() - the region's memory now lives at @hva in this
 * process (CPR: a new process after cpr-exec/cpr-transfer, or the recovery
 * of the old one). Nothing is told to listeners: the DMA mappings keep the
 * old vaddr until the listener's CPR restore (listener.h).
 * @returns 0, or -EINVAL (not RAM / RAM_DEVICE, or hva + size - 1 wraps).
 */
DMAKIT_EXPORT int dmakit_mr_set_hva(struct dmakit_memory_region *mr, uint64_t hva);

/** dmakit_mr_discard_manager() - @returns the discard manager of @mr, or NULL. */
DMAKIT_EXPORT struct dmakit_discard_manager *
dmakit_mr_discard_manager(const struct dmakit_memory_region *mr);

/* ------------------------------------------------------------------------ */
/* Sections and address spaces                                                */

/* One section: bytes [offset_in_region, offset_in_region + size) of @mr,
 * seen at guest addresses [gpa, gpa + size). */
struct dmakit_section {
	struct dmakit_memory_region *mr;
	uint64_t offset_in_region; /* QEMU: offset_within_region */
	uint64_t gpa;              /* QEMU: offset_within_address_space */
	uint64_t size;             /* bytes, > 0 */
	bool readonly;             /* this view is read-only (or the MR is) */
};

/** dmakit_as_create() - an empty address space. @returns 0, -EINVAL, -ENOMEM. */
DMAKIT_EXPORT int dmakit_as_create(const char *name, struct dmakit_address_space **out);

/**
 * dmakit_as_destroy() - remove every section (listeners are told) and free
 * @as. Listeners should have been unregistered first; any still registered
 * are told of the removals and dropped. Cannot fail. NULL is fine.
 */
DMAKIT_EXPORT void dmakit_as_destroy(struct dmakit_address_space *as);

/**
 * dmakit_as_add_section() - show @s in @as and tell every listener
 * (region_add, in registration order).
 * @s: gpa + size - 1 and offset_in_region + size - 1 must not wrap, and
 * the bytes must lie inside the region; the section's readonly flag is
 * OR-ed with the region's.
 * @err, @errlen: on failure, a message for a person (may be NULL / 0).
 * @returns 0; -EINVAL (bad range); -EEXIST (overlaps a section); -ENOMEM;
 * or what a listener refused it with (-ENOSPC for a DMA-entry budget,
 * the backend's -errno for a failed mapping). On failure no listener keeps
 * anything of it and @as is unchanged.
 */
DMAKIT_EXPORT int dmakit_as_add_section(struct dmakit_address_space *as,
					const struct dmakit_section *s,
					char *err, size_t errlen);

/**
 * dmakit_as_del_section() - remove the section that starts at @gpa and tell
 * every listener (region_del, in reverse registration order).
 * @returns 0; -ENOENT (no section starts at @gpa); or a listener's -errno
 * (its unmap failed): then the listeners already told get the section back
 * and @as is unchanged.
 */
DMAKIT_EXPORT int dmakit_as_del_section(struct dmakit_address_space *as, uint64_t gpa,
					char *err, size_t errlen);

/** dmakit_as_section_count() - @returns the number of sections of @as. */
DMAKIT_EXPORT size_t dmakit_as_section_count(const struct dmakit_address_space *as);

/**
 * dmakit_as_section() - the @index-th section in ascending gpa order.
 * @returns 0 with @out filled, or -ENOENT past the end.
 */
DMAKIT_EXPORT int dmakit_as_section(const struct dmakit_address_space *as, size_t index,
				    struct dmakit_section *out);

/**
 * dmakit_as_find_section() - the section that holds guest address @gpa.
 * @returns 0 with @out filled, or -ENOENT.
 */
DMAKIT_EXPORT int dmakit_as_find_section(const struct dmakit_address_space *as, uint64_t gpa,
					 struct dmakit_section *out);

/** dmakit_as_name() - @returns the address space's name (owned by it). */
DMAKIT_EXPORT const char *dmakit_as_name(const struct dmakit_address_space *as);

/* ------------------------------------------------------------------------ */
/* Memory listeners                                                           */

struct dmakit_memory_listener;

struct dmakit_memory_listener_ops {
	/*
	 * A section appeared. Return 0, or -errno with a message in @err to
	 * refuse it; a refusing listener must keep nothing of the section.
	 */
	int (*region_add)(struct dmakit_memory_listener *ml, const struct dmakit_section *s,
			  char *err, size_t errlen);
	/*
	 * A section goes away. Return 0, or -errno to refuse (the listener
	 * keeps the section as it was). During dmakit_as_destroy() and
	 * unregistration a refusal is ignored.
	 */
	int (*region_del)(struct dmakit_memory_listener *ml, const struct dmakit_section *s,
			  char *err, size_t errlen);
};

/* Embedded in the listener's own struct; the fields below `ops` and `opaque`
 * belong to the address space. */
struct dmakit_memory_listener {
	const struct dmakit_memory_listener_ops *ops;
	void *opaque;
	/* private */
	struct dmakit_address_space *as_;
	struct dmakit_memory_listener *next_;
};

/**
 * dmakit_as_register_listener() - add @ml to @as and replay every current
 * section to it (region_add, ascending gpa), as memory_listener_register().
 * @returns 0, or the first refusal: then every section already accepted is
 * removed again (region_del, descending gpa), @ml is not registered, and
 * @err reads "Region NAME: <the listener's message>".
 */
DMAKIT_EXPORT int dmakit_as_register_listener(struct dmakit_address_space *as,
					      struct dmakit_memory_listener *ml,
					      char *err, size_t errlen);

/**
 * dmakit_as_unregister_listener() - remove every section from @ml
 * (region_del, descending gpa; refusals ignored) and drop it from its AS.
 * NULL or an unregistered listener is fine.
 */
DMAKIT_EXPORT void dmakit_as_unregister_listener(struct dmakit_memory_listener *ml);

/* ------------------------------------------------------------------------ */
/* vIOMMU regions                                                             */

/* Access rights of a vIOMMU translation (QEMU's IOMMUAccessFlags). */
#define DMAKIT_IOMMU_NONE 0u
#define DMAKIT_IOMMU_RO   1u /* the device may read */
#define DMAKIT_IOMMU_WO   2u /* the device may write */
#define DMAKIT_IOMMU_RW   3u

/* One IOTLB entry: IOVA [iova, iova + addr_mask] of the IOMMU region maps to
 * [translated_addr, translated_addr + addr_mask] of the target AS. */
struct dmakit_iotlb_entry {
	uint64_t iova;            /* an offset of the IOMMU region */
	uint64_t translated_addr; /* a gpa of the region's iommu_target */
	uint64_t addr_mask;       /* size - 1; size a power of two */
	uint32_t perm;            /* DMAKIT_IOMMU_*; NONE only in unmaps */
};

struct dmakit_iommu_notifier;

/* Told of map and unmap events that touch [first, last] (inclusive). */
struct dmakit_iommu_notifier {
	/* @is_map: a new translation (@e->perm != NONE) or its removal. Return
	 * 0 or -errno; a refused map must leave nothing behind. */
	int (*notify)(struct dmakit_iommu_notifier *n, const struct dmakit_iotlb_entry *e,
		      bool is_map, char *err, size_t errlen);
	uint64_t first; /* IOVA range of the region this notifier covers */
	uint64_t last;  /* inclusive */
	void *opaque;
	/* private */
	struct dmakit_memory_region *mr_;
	struct dmakit_iommu_notifier *next_;
};

/**
 * dmakit_iommu_register_notifier() - hear the events of IOMMU region @mr
 * that touch [n->first, n->last]. No replay (see dmakit_iommu_replay()).
 * @returns 0; -EINVAL (not an IOMMU region, or first > last); -EPERM with a
 * message when the vIOMMU refuses MAP notifiers (iommu_refuses_map_notifiers).
 */
DMAKIT_EXPORT int dmakit_iommu_register_notifier(struct dmakit_memory_region *mr,
						 struct dmakit_iommu_notifier *n,
						 char *err, size_t errlen);

/** dmakit_iommu_unregister_notifier() - stop telling @n; NULL is fine. */
DMAKIT_EXPORT void dmakit_iommu_unregister_notifier(struct dmakit_iommu_notifier *n);

/**
 * dmakit_iommu_replay() - tell @n of every translation @mr holds inside its
 * range, ascending IOVA (memory_region_iommu_replay()).
 * @returns 0 or @n's first refusal; then the maps already replayed are
 * unmapped again (so @n holds nothing from this call).
 */
DMAKIT_EXPORT int dmakit_iommu_replay(struct dmakit_memory_region *mr,
				      struct dmakit_iommu_notifier *n,
				      char *err, size_t errlen);

/**
 * dmakit_iommu_notify_map() - the guest made a translation: record it in
 * @mr and tell every notifier whose range holds it.
 * @e: iova and translated_addr aligned to addr_mask + 1 (a power of two),
 * perm != NONE, iova + addr_mask within the region, and nothing already
 * translated in [iova, iova + addr_mask].
 * @returns 0; -EINVAL; -EEXIST (already translated); -ENOMEM; or a
 * notifier's refusal: the notifiers already told get the unmap and @mr does
 * not record it.
 */
DMAKIT_EXPORT int dmakit_iommu_notify_map(struct dmakit_memory_region *mr,
					  const struct dmakit_iotlb_entry *e,
					  char *err, size_t errlen);

/**
 * dmakit_iommu_notify_unmap() - the guest removed the translations wholly
 * inside [iova, iova + addr_mask]: tell every notifier, then forget them.
 * @returns 0; -EINVAL; or a notifier's refusal (its unmap failed): then the
 * notifiers already told get the translations back and @mr is unchanged.
 */
DMAKIT_EXPORT int dmakit_iommu_notify_unmap(struct dmakit_memory_region *mr, uint64_t iova,
					    uint64_t addr_mask, char *err, size_t errlen);

/**
 * dmakit_iommu_lookup() - the translation @mr holds for IOVA @iova.
 * @returns 0 with @out filled, or -ENOENT.
 */
DMAKIT_EXPORT int dmakit_iommu_lookup(const struct dmakit_memory_region *mr, uint64_t iova,
				      struct dmakit_iotlb_entry *out);

/** dmakit_iommu_count() - @returns how many translations IOMMU region @mr holds
 * (0 for any other region). */
DMAKIT_EXPORT size_t dmakit_iommu_count(const struct dmakit_memory_region *mr);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_GUEST_MEMORY_H */
