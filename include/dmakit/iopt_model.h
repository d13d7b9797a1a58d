/* SPDX-License-Identifier: MIT */
/*
 * dmakit IO page-table model: what an IOMMU domain's page table costs.
 *
 * The kernel maps each physically contiguous run of a DMA mapping with
 * iommu_map(), which splits the run greedily into the largest IOMMU pages the
 * alignment of iova and physical address allows (dmakit_iommu_pgsize()), and
 * the driver installs one leaf entry (PTE) per page, allocating a 4 KiB table
 * page for every missing table on the way down. Unmapping frees a lower table
 * only when a single unmap_pages call covers the table's whole span, or when a
 * large leaf is installed over an empty lower table.
 *
 * This module replays those rules for one domain and counts: leaves per level
 * and table pages (current and peak). It stores runs, not single PTEs, so a
 * 1 TiB guest of 4 KiB pages costs memory per table page touched, not per PTE.
 *
 * Levels: level 0 leaves are 4 KiB, level 1 leaves 2 MiB, level 2 leaves
 * 1 GiB, level 3 leaves 512 GiB. A table at level L has 512 eight-byte entries
 * and covers 4 KiB << (9 * (L + 1)) bytes of IOVA. The top table (at level
 * `levels - 1`) always exists and is counted.
 *
 * Thread safety: none; owned by one container.
 */
#ifndef DMAKIT_IOPT_MODEL_H
#define DMAKIT_IOPT_MODEL_H

#include <dmakit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DMAKIT_IOPT_MAX_LEVELS 5

struct dmakit_iopt_config {
	uint64_t pgsize_bitmap; /* page sizes the domain supports, e.g. 0x40201000 */
	unsigned int levels;    /* table levels: 3 (39-bit), 4 (48-bit) or 5 (57-bit) */
};

/* The default platform of the emulator: Intel VT-d, 39-bit, 4K|2M|1G. */
#define DMAKIT_IOPT_CONFIG_VTD_39 { .pgsize_bitmap = 0x40201000ull, .levels = 3 }

struct dmakit_iopt_stats {
	uint64_t leaves[DMAKIT_IOPT_MAX_LEVELS]; /* leaf entries now installed, per level */
	uint64_t table_pages;      /* table pages allocated now, the top table included */
	uint64_t table_pages_peak; /* the most table_pages has been */
	uint64_t map_calls;        /* iommu_map() calls made */
	uint64_t unmap_calls;      /* iommu_unmap() calls made */
};

struct dmakit_iopt_model;

/**
 * dmakit_iommu_pgsize() - the kernel's choice of page size for the next step
 * of mapping [iova, iova + size) to physical address @paddr.
 * @count: set to how many pages of the returned size to map in this step.
 * @returns the page size in bytes, or 0 when no supported size fits (the
 * kernel would BUG; callers check alignment first).
 */
DMAKIT_EXPORT uint64_t dmakit_iommu_pgsize(uint64_t pgsize_bitmap, uint64_t iova,
					   uint64_t paddr, uint64_t size,
					   uint64_t *count);

/** @returns a new model with only the top table, or NULL when memory is short. */
DMAKIT_EXPORT struct dmakit_iopt_model *dmakit_iopt_model_create(const struct dmakit_iopt_config *cfg);
DMAKIT_EXPORT void dmakit_iopt_model_destroy(struct dmakit_iopt_model *model);

/**
 * dmakit_iopt_model_map() - iommu_map(): map one physically contiguous run.
 * @returns 0; -EINVAL if iova, paddr or size is not aligned to the smallest
 * page, size is 0 or the range leaves the address width; -EADDRINUSE if a
 * leaf already exists in the range; -ENOMEM. On error nothing changes.
 */
DMAKIT_EXPORT int dmakit_iopt_model_map(struct dmakit_iopt_model *model, uint64_t iova,
					uint64_t paddr, uint64_t size);

/**
 * dmakit_iopt_model_unmap() - iommu_unmap() of [iova, iova + size).
 * @returns the bytes unmapped (0 when misaligned or nothing is mapped at
 * @iova; it stops at the first hole, and may exceed @size when @iova falls in
 * a large leaf, as the drivers do).
 */
DMAKIT_EXPORT uint64_t dmakit_iopt_model_unmap(struct dmakit_iopt_model *model,
					       uint64_t iova, uint64_t size);

DMAKIT_EXPORT void dmakit_iopt_model_stats(const struct dmakit_iopt_model *model,
					   struct dmakit_iopt_stats *out);

/** dmakit_iopt_model_memory() - heap bytes the model itself holds. */
DMAKIT_EXPORT size_t dmakit_iopt_model_memory(const struct dmakit_iopt_model *model);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_IOPT_MODEL_H */
