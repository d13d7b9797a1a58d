/* SPDX-License-Identifier: MIT */
/*
 * The container backend "emu-iommufd": a VFIO type1 container answered by
 * iommufd's vfio compat layer (drivers/iommu/iommufd/vfio_compat.c), as when
 * /dev/vfio/vfio is provided by iommufd (CONFIG_IOMMUFD_VFIO_CONTAINER).
 *
 * Open builds what the kernel builds when a group is attached to such a
 * container: a context in MM account mode (the fd is /dev/vfio/vfio), the
 * compat IOAS (IOAS_ALLOC + IOMMU_VFIO_IOAS SET, id 1) and one emulated VT-d
 * device attached to it (an automatic domain, id 2), so maps pin at once, as
 * on type1, and the valid IOVA ranges are the type1 emulator's. Every ioctl
 * then goes to the emulated iommufd (src/emu_iommufd.c), which answers the
 * type1 requests the compat way: DMA_AVAIL U32_MAX, no MIGRATION cap, no
 * dma_entry_limit, UPDATE_VADDR unsupported, v1 unmaps split exactly,
 * DIRTY_PAGES ENOTTY.
 *
 * The library's safety caps (container.h: max_mappings,
 * max_bookkeeping_bytes) are checked here, after the compat layer has
 * answered: a MAP_DMA it accepted past a cap is undone at once (an exact
 * unmap of the one area it made) and answered -ENOMEM, so every errno of
 * the kernel's own checks (EEXIST, EINVAL, EOVERFLOW, ENOMEM for memlock)
 * comes first, and nothing is left changed.
 */
#include <errno.h>
#include <string.h>

#include <dmakit/iommufd.h>

#include "alloc.h"
#include "backend.h"
#include "iommufd_internal.h"

struct compat {
	struct dmakit_iommufd *ctx;
	uint32_t ioas_id;
	uint32_t hwpt_id;
	uint64_t max_mappings;          /* 0: no cap */
	uint64_t max_bookkeeping_bytes; /* 0: no cap */
};

static int compat_open(const struct dmakit_container_config *cfg, void **state)
{
	struct dmakit_iommufd_config icfg;
	struct dmakit_iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct dmakit_iommu_vfio_ioas vio = { .size = sizeof(vio) };
	struct compat *c;
	int ret;

	c = dmakit__calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->max_mappings = cfg->max_mappings;
	c->max_bookkeeping_bytes = cfg->max_bookkeeping_bytes;
	dmakit_iommufd_config_init(&icfg);
	icfg.account_mode = DMAKIT_IOMMUFD_ACCOUNT_MM;
	icfg.memlock_limit = cfg->memlock_limit;
	icfg.cap_ipc_lock = cfg->cap_ipc_lock;
	ret = dmakit_iommufd_open(&icfg, &c->ctx);
	if (ret < 0)
		goto fail;
	ret = dmakit_iommufd_ioctl(c->ctx, DMAKIT_IOMMU_IOAS_ALLOC, &alloc);
	if (ret < 0)
		goto fail;
	c->ioas_id = alloc.out_ioas_id;
	vio.ioas_id = c->ioas_id;
	vio.op = DMAKIT_IOMMU_VFIO_IOAS_SET;
	ret = dmakit_iommufd_ioctl(c->ctx, DMAKIT_IOMMU_VFIO_IOAS, &vio);
	if (ret < 0)
		goto fail;
	ret = dmakit_iommufd_attach_device(c->ctx, c->ioas_id, &c->hwpt_id);
	if (ret < 0)
		goto fail;
	*state = c;
	return 0;
fail:
	dmakit_iommufd_close(c->ctx);
	dmakit__free(c);
	return ret;
}

static void compat_close(void *state)
{
	struct compat *c = state;

	dmakit_iommufd_close(c->ctx);
	dmakit__free(c);
}

static int compat_ioctl(void *state, unsigned long request, void *arg)
{
	struct compat *c = state;
	struct dmakit_vfio_iommu_type1_dma_map *map = arg;
	struct dmakit_iommufd_stats before, after;
	int ret;

	if (request != DMAKIT_VFIO_IOMMU_MAP_DMA || !map ||
	    (!c->max_mappings && !c->max_bookkeeping_bytes))
		return dmakit_iommufd_ioctl(c->ctx, request, arg);
	dmakit_iommufd_stats(c->ctx, &before);
	ret = dmakit_iommufd_ioctl(c->ctx, request, arg);
	if (ret < 0)
		return ret;
	dmakit_iommufd_stats(c->ctx, &after);
	/* No dirty bitmaps: the compat layer has no dirty tracking. */
	if (after.areas > before.areas &&
	    dmakit__caps_exceeded(c->max_mappings, c->max_bookkeeping_bytes, after.areas, 0)) {
		struct dmakit_vfio_iommu_type1_dma_unmap undo = {
			.argsz = sizeof(undo), .iova = map->iova, .size = map->size,
		};

		/* One whole area, just made: the exact unmap cannot fail. */
		dmakit_iommufd_ioctl(c->ctx, DMAKIT_VFIO_IOMMU_UNMAP_DMA, &undo);
		return -ENOMEM;
	}
	return ret;
}

static int compat_declare_memory(void *state, uint64_t vaddr, uint64_t size)
{
	struct compat *c = state;

	return dmakit_iommufd_declare_memory(c->ctx, vaddr, size);
}

static int compat_stats(void *state, struct dmakit_container_stats *out)
{
	struct compat *c = state;
	struct dmakit_iommufd_stats s;
	int ret = dmakit_iommufd_stats(c->ctx, &s);

	if (ret < 0)
		return ret;
	memset(out, 0, sizeof(*out));
	out->exact = s.exact;
	out->mappings = s.areas;
	out->dma_avail = UINT32_MAX;
	out->mapped_bytes = s.mapped_bytes;
	out->locked_bytes = s.mm_locked_bytes + s.user_locked_bytes;
	out->kernel_object_bytes = s.kernel_object_bytes;
	return 0;
}

static int compat_seek_mapping(void *state, uint64_t iova, struct dmakit_mapping *out)
{
	struct compat *c = state;
	struct dmakit_iommufd_area a;
	uint32_t ioas = dmakit__iommufd_compat_ioas(c->ctx);
	int ret;

	if (!ioas)
		return -ENOENT;
	ret = dmakit_iommufd_seek_area(c->ctx, ioas, iova, &a);
	if (ret < 0)
		return ret;
	out->iova = a.iova;
	out->size = a.length;
	out->vaddr = a.user_va;
	out->flags = 0;
	if (a.prot & DMAKIT_IOMMU_IOAS_MAP_READABLE)
		out->flags |= DMAKIT_VFIO_DMA_MAP_FLAG_READ;
	if (a.prot & DMAKIT_IOMMU_IOAS_MAP_WRITEABLE)
		out->flags |= DMAKIT_VFIO_DMA_MAP_FLAG_WRITE;
	out->vaddr_valid = true;
	return 0;
}

const struct dmakit_backend_ops dmakit__emu_iommufd_ops = {
	.name = "emu-iommufd",
	.open = compat_open,
	.close = compat_close,
	.ioctl = compat_ioctl,
	.declare_memory = compat_declare_memory,
	.stats = compat_stats,
	.seek_mapping = compat_seek_mapping,
	.device_fd = NULL,
};
