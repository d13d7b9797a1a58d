/* SPDX-License-Identifier: MIT */
/*
 * Test seam of the listener (not exported from the shared library).
 *
 * The emulated container's smallest IOMMU page is 4 KiB, the host page size,
 * so QEMU's RAM-device rule (skip a BAR section not aligned to the minimum
 * IOMMU page, which only bites where that page is larger than the host's,
 * e.g. 64 KiB SMMU pages) cannot be reached through it. Unit tests set the
 * minimum IOMMU page the listener uses for the sections that come next.
 */
#ifndef DMAKIT_LISTENER_INTERNAL_H
#define DMAKIT_LISTENER_INTERNAL_H

#include <dmakit/listener.h>

/* @page: a power of two; applies to sections added from now on. */
void dmakit__listener_set_min_iommu_page(struct dmakit_listener *l, uint64_t page);

#endif /* DMAKIT_LISTENER_INTERNAL_H */
