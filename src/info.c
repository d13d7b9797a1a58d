/* SPDX-License-Identifier: MIT */
/*
 * Reading a VFIO_IOMMU_GET_INFO answer: the fixed struct, then a chain of
 * capabilities whose `next` offsets count from the start of the struct.
 * A chain from a real kernel is trusted no more than a file: every offset is
 * bounds-checked and a loop is caught by counting steps.
 */
#include <errno.h>
#include <string.h>

#include <dmakit/container.h>

#include "alloc.h"
#include "info_internal.h"

DMAKIT_EXPORT int dmakit_type1_info_parse(const void *buf, size_t len,
					  struct dmakit_type1_info *out)
{
	const uint8_t *base = buf;
	struct dmakit_vfio_iommu_type1_info info;
	uint32_t off;
	size_t steps = 0;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(info))
		return -EPROTO;
	memcpy(&info, base, sizeof(info));
	out->flags = info.flags;
	out->pgsizes = info.iova_pgsizes;
	if (!(info.flags & DMAKIT_VFIO_IOMMU_INFO_CAPS))
		return 0;

	for (off = info.cap_offset; off; steps++) {
		struct dmakit_vfio_info_cap_header hdr;

		/* Every capability is at least 8 bytes, so a chain longer than
		 * len / 8 steps must loop. */
		if (steps > len / sizeof(hdr) || off < sizeof(info) ||
		    (size_t)off + sizeof(hdr) > len)
			return -EPROTO;
		memcpy(&hdr, base + off, sizeof(hdr));
		switch (hdr.id) {
		case DMAKIT_VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: {
			struct dmakit_vfio_iommu_type1_info_dma_avail cap;

			if ((size_t)off + sizeof(cap) > len)
				return -EPROTO;
			memcpy(&cap, base + off, sizeof(cap));
			out->has_dma_avail = true;
			out->dma_avail = cap.avail;
			break;
		}
		case DMAKIT_VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION: {
			struct dmakit_vfio_iommu_type1_info_cap_migration cap;

			if ((size_t)off + sizeof(cap) > len)
				return -EPROTO;
			memcpy(&cap, base + off, sizeof(cap));
			out->has_migration = true;
			out->migration_flags = cap.flags;
			out->migration_pgsize_bitmap = cap.pgsize_bitmap;
			out->migration_max_dirty_bitmap_size = cap.max_dirty_bitmap_size;
			break;
		}
		case DMAKIT_VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: {
			struct dmakit_vfio_iommu_type1_info_cap_iova_range cap;
			uint32_t i;

			if ((size_t)off + sizeof(cap) > len)
				return -EPROTO;
			memcpy(&cap, base + off, sizeof(cap));
			if ((len - off - sizeof(cap)) / sizeof(struct dmakit_vfio_iova_range) <
			    cap.nr_iovas)
				return -EPROTO;
			out->has_iova_ranges = true;
			out->nr_iova_ranges = cap.nr_iovas;
			for (i = 0; i < cap.nr_iovas && i < DMAKIT_INFO_MAX_RANGES; i++)
				memcpy(&out->iova_ranges[i],
				       base + off + sizeof(cap) + i * sizeof(struct dmakit_vfio_iova_range),
				       sizeof(struct dmakit_vfio_iova_range));
			break;
		}
		default:
			break; /* capabilities this version does not know are skipped */
		}
		off = hdr.next;
	}
	return 0;
}

static int container_ioctl_fn(void *ctx, unsigned long request, void *arg)
{
	return dmakit_container_ioctl(ctx, request, arg);
}

DMAKIT_EXPORT int dmakit_container_query_info(struct dmakit_container *c,
					      struct dmakit_type1_info *out)
{
	return dmakit__type1_query_info(container_ioctl_fn, c, out);
}

int dmakit__type1_query_info(dmakit__ioctl_fn ioctl_fn, void *ctx, struct dmakit_type1_info *out)
{
	uint32_t argsz = sizeof(struct dmakit_vfio_iommu_type1_info);
	struct dmakit_vfio_iommu_type1_info *info = NULL;
	int ret, tries;

	/* The kernel says how large the chain is; a chain that keeps growing
	 * between two calls is given a few chances, then an error. */
	for (tries = 0; tries < 4; tries++) {
		struct dmakit_vfio_iommu_type1_info *grown = dmakit__realloc(info, argsz);

		if (!grown) {
			dmakit__free(info);
			return -ENOMEM;
		}
		info = grown;
		memset(info, 0, argsz);
		info->argsz = argsz;
		ret = ioctl_fn(ctx, DMAKIT_VFIO_IOMMU_GET_INFO, info);
		if (ret < 0)
			goto out;
		if (info->argsz <= argsz) {
			ret = dmakit_type1_info_parse(info, argsz, out);
			goto out;
		}
		argsz = info->argsz;
	}
	ret = -EPROTO;
out:
	dmakit__free(info);
	return ret;
}
