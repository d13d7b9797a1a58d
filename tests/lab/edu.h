/* SPDX-License-Identifier: MIT */
/*
 * QEMU's edu PCI device as the lab's DMA engine: copy between an IOVA and
 * edu's internal buffer, through the IOMMU, using dmakit's device API.
 */
#ifndef DMAKIT_LAB_EDU_H
#define DMAKIT_LAB_EDU_H

#include <dmakit/dmakit.h>

/* Bytes per edu DMA: QEMU 7.2's edu rejects a transfer that ends exactly at
 * the end of its 4 KiB buffer (its range check treats the end as inside),
 * so the lab moves half a page. */
#define EDU_DMA_BYTES 2048u
/* edu's DMA mask is 28 bits: IOVAs must lie below 256 MiB. */
#define EDU_IOVA_LIMIT (256ull << 20)

/* Open the device, check its id register and enable bus mastering.
 * @returns 0 or -errno. */
int edu_open(struct dmakit_container *c, const char *address, struct dmakit_device **out);

/* RAM at @iova -> edu's buffer (EDU_DMA_BYTES). @returns 0 or -errno. */
int edu_read_from(struct dmakit_device *dev, uint64_t iova);

/* edu's buffer -> RAM at @iova (EDU_DMA_BYTES). @returns 0 or -errno. */
int edu_write_to(struct dmakit_device *dev, uint64_t iova);

#endif /* DMAKIT_LAB_EDU_H */
