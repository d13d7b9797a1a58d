/* SPDX-License-Identifier: MIT */
/*
 * The container front: picks the backend, owns the lock, and offers the
 * typed wrappers over the one ioctl entry point. Backends know nothing of
 * locking; every call into a backend happens with c->lock held, so calls on
 * one container from several threads are serialised.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <dmakit/container.h>

#include "alloc.h"
#include "backend.h"
#include "fault_internal.h"

struct dmakit_container {
	const struct dmakit_backend_ops *ops;
	void *state;          /* the backend's; protected by lock */
	pthread_mutex_t lock;
};

DMAKIT_EXPORT void dmakit_container_config_init(struct dmakit_container_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->backend = DMAKIT_BACKEND_EMU;
	cfg->iommu_type = DMAKIT_VFIO_TYPE1v2_IOMMU;
	cfg->kernel = DMAKIT_KERNEL_6_1;
	cfg->dma_entry_limit = 65535;
	cfg->memlock_limit = UINT64_MAX;
	cfg->cap_ipc_lock = true;
	cfg->disable_hugepages = false;
	cfg->backing_page_size = 4096;
	cfg->model_page_tables = true;
	cfg->container_path = "/dev/vfio/vfio";
	cfg->group_path = NULL;
	cfg->iova_bits = 39;
	cfg->max_mappings = DMAKIT_DEFAULT_MAX_MAPPINGS;
	cfg->max_bookkeeping_bytes = DMAKIT_DEFAULT_MAX_BOOKKEEPING_BYTES;
}

static const struct dmakit_backend_ops *backend_ops(enum dmakit_backend_kind kind)
{
	switch (kind) {
	case DMAKIT_BACKEND_EMU:
		return &dmakit__emu_type1_ops;
	case DMAKIT_BACKEND_LINUX:
		return &dmakit__linux_ops;
	case DMAKIT_BACKEND_EMU_IOMMUFD:
		return &dmakit__emu_iommufd_ops;
	}
	return NULL;
}

DMAKIT_EXPORT int dmakit_container_open(const struct dmakit_container_config *cfg,
					struct dmakit_container **out)
{
	struct dmakit_container *c;
	int ret;

	if (!cfg || !out)
		return -EINVAL;
	if (cfg->kernel != DMAKIT_KERNEL_6_1 && cfg->kernel != DMAKIT_KERNEL_6_12 &&
	    cfg->kernel != DMAKIT_KERNEL_6_18)
		return -EINVAL;
	c = dmakit__calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ops = backend_ops(cfg->backend);
	if (!c->ops) {
		dmakit__free(c);
		return -EINVAL;
	}
	ret = c->ops->open(cfg, &c->state);
	if (ret < 0) {
		dmakit__free(c);
		return ret;
	}
	pthread_mutex_init(&c->lock, NULL);
	if (cfg->iommu_type) {
		ret = c->ops->ioctl(c->state, DMAKIT_VFIO_SET_IOMMU,
				    (void *)(uintptr_t)cfg->iommu_type);
		if (ret < 0) {
			dmakit_container_close(c);
			return ret;
		}
	}
	*out = c;
	return 0;
}

DMAKIT_EXPORT void dmakit_container_close(struct dmakit_container *c)
{
	if (!c)
		return;
	c->ops->close(c->state);
	pthread_mutex_destroy(&c->lock);
	dmakit__free(c);
}

DMAKIT_EXPORT const char *dmakit_container_backend_name(const struct dmakit_container *c)
{
	return c->ops->name;
}

bool dmakit__caps_exceeded(uint64_t max_mappings, uint64_t max_bookkeeping_bytes,
			   uint64_t mappings, uint64_t bitmap_bytes)
{
	uint64_t bytes;

	if (max_mappings && mappings > max_mappings)
		return true;
	return max_bookkeeping_bytes &&
	       (__builtin_mul_overflow(mappings, (uint64_t)DMAKIT_BOOKKEEPING_BYTES_PER_MAPPING,
				       &bytes) ||
		__builtin_add_overflow(bytes, bitmap_bytes, &bytes) ||
		bytes > max_bookkeeping_bytes);
}

DMAKIT_EXPORT int dmakit_container_ioctl(struct dmakit_container *c, unsigned long request,
					 void *arg)
{
	int ret;

	if (!c)
		return -EBADF;
	ret = dmakit__fault_check(DMAKIT_FAULT_BACKEND_CALL);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&c->lock);
	ret = c->ops->ioctl(c->state, request, arg);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

DMAKIT_EXPORT int dmakit_container_set_iommu(struct dmakit_container *c, uint32_t type)
{
	return dmakit_container_ioctl(c, DMAKIT_VFIO_SET_IOMMU, (void *)(uintptr_t)type);
}

DMAKIT_EXPORT int dmakit_container_check_extension(struct dmakit_container *c, uint32_t ext)
{
	return dmakit_container_ioctl(c, DMAKIT_VFIO_CHECK_EXTENSION, (void *)(uintptr_t)ext);
}

DMAKIT_EXPORT int dmakit_container_map_dma(struct dmakit_container *c,
					   struct dmakit_vfio_iommu_type1_dma_map *map)
{
	return dmakit_container_ioctl(c, DMAKIT_VFIO_IOMMU_MAP_DMA, map);
}

DMAKIT_EXPORT int dmakit_container_unmap_dma(struct dmakit_container *c,
					     struct dmakit_vfio_iommu_type1_dma_unmap *unmap)
{
	return dmakit_container_ioctl(c, DMAKIT_VFIO_IOMMU_UNMAP_DMA, unmap);
}

DMAKIT_EXPORT int dmakit_container_get_info(struct dmakit_container *c,
					    struct dmakit_vfio_iommu_type1_info *info)
{
	return dmakit_container_ioctl(c, DMAKIT_VFIO_IOMMU_GET_INFO, info);
}

DMAKIT_EXPORT int dmakit_container_dirty_pages(struct dmakit_container *c,
					       struct dmakit_vfio_iommu_type1_dirty_bitmap *dirty)
{
	return dmakit_container_ioctl(c, DMAKIT_VFIO_IOMMU_DIRTY_PAGES, dirty);
}

DMAKIT_EXPORT int dmakit_container_declare_memory(struct dmakit_container *c,
						  uint64_t vaddr, uint64_t size)
{
	int ret = 0;

	if (!c)
		return -EBADF;
	pthread_mutex_lock(&c->lock);
	if (c->ops->declare_memory)
		ret = c->ops->declare_memory(c->state, vaddr, size);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

DMAKIT_EXPORT int dmakit_container_stats(struct dmakit_container *c,
					 struct dmakit_container_stats *out)
{
	int ret;

	if (!c || !out)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	ret = c->ops->stats(c->state, out);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

DMAKIT_EXPORT int dmakit_container_seek_mapping(struct dmakit_container *c, uint64_t iova,
						struct dmakit_mapping *out)
{
	int ret = -EOPNOTSUPP;

	if (!c || !out)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	if (c->ops->seek_mapping)
		ret = c->ops->seek_mapping(c->state, iova, out);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int dmakit__container_device_fd(struct dmakit_container *c, const char *name)
{
	int ret = -EOPNOTSUPP;

	pthread_mutex_lock(&c->lock);
	if (c->ops->device_fd)
		ret = c->ops->device_fd(c->state, name);
	pthread_mutex_unlock(&c->lock);
	return ret;
}
