/* SPDX-License-Identifier: MIT */
/*
 * dmakit limit profiles: how an emulated type1 container bounds the kernel
 * memory a process can make it allocate (enum dmakit_limit_policy in
 * container.h). COUNT is the kernel as it is; REPORT_UNLIMITED,
 * ACCOUNT_BYTES and DROP_CAP are PROPOSALS (docs/profiles.md).
 *
 * The numbers here are the emulated platform's (VT-d, 39-bit, 3 table
 * levels, page sizes 4K|2M|1G) and are taken from the IO page-table model
 * (iopt_model.h), not assumed.
 */
#ifndef DMAKIT_PROFILES_H
#define DMAKIT_PROFILES_H

#include <dmakit/common.h>
#include <dmakit/container.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @returns "count", "report-unlimited", "account-bytes", "drop-cap" or "?". */
DMAKIT_EXPORT const char *dmakit_limit_policy_name(enum dmakit_limit_policy p);

/** Parse a name of dmakit_limit_policy_name(). @returns 0 or -EINVAL. */
DMAKIT_EXPORT int dmakit_limit_policy_parse(const char *name, enum dmakit_limit_policy *out);

/**
 * dmakit_profile_table_pages_upper() - IO page-table pages (below the top
 * table) that mapping [iova, iova + size) needs in an empty domain of the
 * emulated platform, with 4 KiB leaves: one table per 2 MiB span and one
 * per 1 GiB span it touches. No mapping can allocate more; sharing tables
 * with neighbours and large leaves allocate fewer. 0 for size 0.
 */
DMAKIT_EXPORT uint64_t dmakit_profile_table_pages_upper(uint64_t iova, uint64_t size);

/* What one mapping can make the kernel allocate, at worst (a 4 KiB mapping
 * alone in its 1 GiB of IOVA, dirty tracking on). */
struct dmakit_profile_mapping_cost {
	uint64_t vfio_dma_bytes;   /* 96 */
	uint64_t table_pages;      /* new table pages, from the IO page-table model */
	uint64_t table_bytes;      /* table_pages * 4096 */
	uint64_t bitmap_bytes;     /* the kernel's dirty bitmap of one page: 16 */
	uint64_t total;
};

/** dmakit_profile_mapping_worst() - fill @out from the IO page-table model.
 * @returns 0 or -ENOMEM. */
DMAKIT_EXPORT int dmakit_profile_mapping_worst(struct dmakit_profile_mapping_cost *out);

/*
 * The largest amount of kernel memory one process can force through one
 * container under a policy, by type1's own rules:
 *   COUNT: dma_entry_limit x the worst cost of one mapping;
 *   ACCOUNT_BYTES: the budget;
 *   REPORT_UNLIMITED, DROP_CAP: type1 sets no bound (`bounded` false); only
 *   the IOVA space does: every 4 KiB page of the platform's valid IOVA
 *   ranges mapped alone (96 + 16 bytes each) plus every table page.
 */
struct dmakit_profile_bound {
	bool bounded;   /* by the container's own rule */
	uint64_t bytes; /* the bound, or the IOVA-space cap when !bounded */
};

DMAKIT_EXPORT int dmakit_profile_force_bound(enum dmakit_limit_policy p,
					     uint32_t dma_entry_limit,
					     uint64_t kernel_budget_bytes,
					     struct dmakit_profile_bound *out);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_PROFILES_H */
