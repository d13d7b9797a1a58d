/* SPDX-License-Identifier: MIT */
/*
 * The backend ops table behind struct dmakit_container.
 *
 * A backend is a const table of functions over an opaque state. The container
 * front (container.c) owns the lock and the argument plumbing; a backend only
 * answers ioctls. Every function returns 0 / a non-negative value or -errno.
 */
#ifndef DMAKIT_BACKEND_H
#define DMAKIT_BACKEND_H

#include <dmakit/container.h>

struct dmakit_backend_ops {
	const char *name;
	/* Open per @cfg; on error nothing stays allocated or open. */
	int (*open)(const struct dmakit_container_config *cfg, void **state);
	/* Release every mapping and the state. Cannot fail. */
	void (*close)(void *state);
	/* One container ioctl, with the kernel's request values and structs. */
	int (*ioctl)(void *state, unsigned long request, void *arg);
	/* Declare pinnable process memory (the emulator's pin check). */
	int (*declare_memory)(void *state, uint64_t vaddr, uint64_t size);
	int (*stats)(void *state, struct dmakit_container_stats *out);
	/* The library's safety caps (container.h: max_mappings,
	 * max_bookkeeping_bytes) are the emulated backends' own business: each
	 * applies them after its kernel's checks (dmakit__caps_exceeded()). */
	/* The lowest mapping ending at or above @iova; NULL: -EOPNOTSUPP. */
	int (*seek_mapping)(void *state, uint64_t iova, struct dmakit_mapping *out);
	/* VFIO_GROUP_GET_DEVICE_FD: a new fd or -errno; NULL: -EOPNOTSUPP. */
	int (*device_fd)(void *state, const char *name);
};

/*
 * The library's safety caps (container.h), one rule for every emulated
 * backend: is a container holding @mappings mappings and @bitmap_bytes of
 * dirty bitmaps (the new mapping and its bitmap counted) past
 * @max_mappings or @max_bookkeeping_bytes (0: no cap)?
 */
bool dmakit__caps_exceeded(uint64_t max_mappings, uint64_t max_bookkeeping_bytes,
			   uint64_t mappings, uint64_t bitmap_bytes);

/* The device fd of @name in @c's group (device.c), or -errno. */
int dmakit__container_device_fd(struct dmakit_container *c, const char *name);

extern const struct dmakit_backend_ops dmakit__emu_type1_ops;
extern const struct dmakit_backend_ops dmakit__linux_ops;
extern const struct dmakit_backend_ops dmakit__emu_iommufd_ops;

#endif /* DMAKIT_BACKEND_H */
